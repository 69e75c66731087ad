"""Process groups die with us, even when we are killed with SIGKILL.

Each running command (Bash, hooks) is a process group of its own. A small watcher process, started
at the first command, holds the read end of a pipe from us and the list of groups still running:
when we exit in any way (the kernel closes our end of the pipe, SIGKILL included) it kills every
group still on the list. A command that finished is taken off the list first, so a background job
the user started on purpose (`cmd > log 2>&1 &`) is left alone.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading

_WATCHER = r"""
import os, signal, sys
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(s, signal.SIG_IGN)
groups = set()
for line in sys.stdin:
    sign, _, number = line.strip().partition(" ")
    if number.isdigit():
        (groups.add if sign == "+" else groups.discard)(int(number))
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""


class GroupReaper:
    """The watcher of this process's running process groups."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid = 0  # the process that started the watcher (a forked child needs its own)
        self._lock = threading.Lock()

    def _send(self, line: str) -> None:
        with self._lock:
            if self._proc is None or self._pid != os.getpid() or self._proc.poll() is not None:
                self._proc = subprocess.Popen(
                    [sys.executable, "-S", "-c", _WATCHER],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    close_fds=True,
                    env={"PATH": os.environ.get("PATH", "")},
                )
                self._pid = os.getpid()
            assert self._proc.stdin is not None
            with contextlib.suppress(OSError):
                self._proc.stdin.write(line.encode())
                self._proc.stdin.flush()

    def watch(self, pgid: int) -> None:
        """Kill group `pgid` if we die before `release(pgid)`."""
        self._send(f"+ {pgid}\n")

    def release(self, pgid: int) -> None:
        """Group `pgid` finished (or was killed by us): leave it alone from now on."""
        if self._proc is not None:
            self._send(f"- {pgid}\n")


REAPER = GroupReaper()
