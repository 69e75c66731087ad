"""Process checks shared by the tests that prove a child was killed."""

from __future__ import annotations

from pathlib import Path


def is_gone(pid: int) -> bool:
    """True when `pid` no longer runs.

    A zombie (exited, not yet reaped by whatever adopted it, which in a container may be a PID 1 that
    never reaps) counts as gone: `os.kill(pid, 0)` still succeeds on it.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def alive(pid: int) -> bool:
    return not is_gone(pid)
