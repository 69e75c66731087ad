"""The CLI on a real terminal (a pseudo-terminal): it asks before running a command, and Ctrl-C
while it waits for the answer ends the run at once."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

CLAW = Path(sys.executable).with_name("claw")


def script(workspace: Path) -> Path:
    path = workspace.parent / "turns.jsonl"
    turns = [
        {"content": [{"type": "tool_use", "name": "Bash", "input": {"command": "touch made.txt"}}]},
        {"content": [{"type": "text", "text": "All done."}]},
    ]
    path.write_text("\n".join(json.dumps(t) for t in turns) + "\n")
    return path


class Terminal:
    """`claw` running with its stdin, stdout and stderr on a pseudo-terminal."""

    def __init__(self, workspace: Path, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [str(CLAW), *args],
            cwd=workspace,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            env={**os.environ, "TERM": "dumb"},
        )
        os.close(slave)
        self.screen = ""

    def read_until(self, needle: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while needle not in self.screen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"never saw {needle!r}; screen:\n{self.screen}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"terminal closed before {needle!r}; screen:\n{self.screen}")
                self.screen += chunk.decode(errors="replace")
        return self.screen

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait(self, timeout: float = 20) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            os.close(self.master)


def test_terminal_asks_and_the_answer_decides(workspace: Path) -> None:
    term = Terminal(workspace, "-p", "make the file", "--script", str(script(workspace)))
    term.read_until("Choice [1/2/3]:")
    assert "touch made.txt" in term.screen
    assert "Always allow Bash(touch:*)" in term.screen
    term.type("1\n")
    term.read_until("All done.")
    assert term.wait() == 0
    assert (workspace / "made.txt").exists()


def test_denial_with_feedback_reaches_the_model(workspace: Path) -> None:
    term = Terminal(
        workspace, "-p", "make the file", "--script", str(script(workspace)), "--output-format", "json"
    )
    term.read_until("Choice [1/2/3]:")
    term.type("3\n")
    term.read_until("Feedback for the model")
    term.type("use a different name\n")
    term.read_until('"type": "result"')
    assert term.wait() == 0
    assert not (workspace / "made.txt").exists()
    transcripts = list((Path(os.environ["XDG_STATE_HOME"]) / "claw" / "projects").rglob("*.jsonl"))
    assert any("use a different name" in p.read_text() for p in transcripts)


def test_ctrl_c_while_waiting_for_an_answer_exits_at_once(workspace: Path) -> None:
    term = Terminal(workspace, "-p", "make the file", "--script", str(script(workspace)))
    term.read_until("Choice [1/2/3]:")
    started = time.monotonic()
    os.killpg(term.proc.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
    code = term.wait(timeout=10)
    assert code == 130
    assert time.monotonic() - started < 3
    assert not (workspace / "made.txt").exists()
