"""Commands die with claw even when claw is killed with SIGKILL (tools/reaper.py): the `claw` CLI is
killed -9 while a Bash command (and a background job it started) runs; both are gone within seconds.
A command that finished, and left a job running on purpose, is not touched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text
from tests.fakes.procs import alive
from tests.unit.test_cli import CLAW, popen, script


def _wait(cond, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_running_commands_die_when_claw_is_killed_with_sigkill(workspace: Path) -> None:
    command = "sleep 300 & echo $! > bg.pid; echo $$ > shell.pid; sleep 301"
    turns = script(
        workspace.parent / "turns.jsonl",
        {"content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": command}}]},
        {"content": [{"type": "text", "text": "never reached"}]},
    )
    proc = popen(workspace, "-p", "run it", "--script", turns, "--permission-mode", "bypassPermissions")
    try:
        assert _wait(lambda: (workspace / "bg.pid").exists() and (workspace / "shell.pid").exists(), 30)
        time.sleep(0.2)
        pids = [int((workspace / n).read_text()) for n in ("bg.pid", "shell.pid")]
        assert all(alive(p) for p in pids)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert _wait(lambda: not any(alive(p) for p in pids), 5), f"orphans: {[p for p in pids if alive(p)]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_a_finished_commands_background_job_is_left_alone(workspace: Path) -> None:
    command = "nohup sleep 30 > job.log 2>&1 & echo $! > job.pid"
    turns = script(
        workspace.parent / "turns.jsonl",
        {"content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": command}}]},
        {"content": [{"type": "text", "text": "started"}]},
    )
    done = subprocess.run(
        [
            str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "claw"),
            "-p",
            "start it",
            "--script",
            turns,
            "--permission-mode",
            "bypassPermissions",
            "--output-format",
            "json",
        ],
        cwd=workspace,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert json.loads(done.stdout)["result"] == "started", done.stdout + done.stderr
    pid = int((workspace / "job.pid").read_text())
    try:
        time.sleep(0.5)  # claw has exited: its watcher saw the pipe close
        assert alive(pid)
    finally:
        os.kill(pid, signal.SIGKILL)


def test_a_second_writer_of_a_session_is_refused(workspace: Path) -> None:
    """Two `claw --continue` at once: the second is refused with a clear message (the transcript
    never interleaves); --fork-session continues a copy instead; once the first is done, it works."""
    from tests.unit.test_cli import claw

    first_turns = script(workspace.parent / "first.jsonl", {"content": [{"type": "text", "text": "hi"}]})
    assert claw(workspace, "-p", "start", "--script", first_turns).returncode == 0
    # The scripted model answers turn N of a session with line N of its script.
    slow_turn = {"content": [{"type": "text", "text": "slow"}], "delay_ms": 4000}
    slow = script(workspace.parent / "slow.jsonl", slow_turn, slow_turn)
    fast_turn = {"content": [{"type": "text", "text": "fast"}]}
    fast = script(workspace.parent / "fast.jsonl", *[fast_turn] * 4)
    running = popen(workspace, "--continue", "-p", "first writer", "--script", slow)
    try:
        time.sleep(1.5)  # the first has taken the session
        second = claw(workspace, "--continue", "-p", "second writer", "--script", fast)
        assert second.returncode != 0
        assert "is in use by another claw process" in second.stderr
        forked = claw(workspace, "--continue", "--fork-session", "-p", "on a copy", "--script", fast)
        assert forked.returncode == 0, forked.stderr
    finally:
        _out, err = running.communicate(timeout=30)
    assert running.returncode == 0, err
    third = claw(workspace, "--continue", "-p", "after", "--script", fast)
    assert third.returncode == 0, third.stderr
    assert "fast" in third.stdout


def test_text_shown_before_a_sigkill_is_in_the_transcript(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    """kill -9 in the middle of a streamed answer: what was already shown is in the session (within
    a second), and `--continue` resumes with it as the model's (interrupted) answer."""
    from claw_lsp.agent.session import SessionStore

    words = " ".join(f"word{i:03d}" for i in range(200))
    fake_api.queue(reply(text(words), chunk=8, delay=0.05))  # about 10 s to stream in full
    proc = subprocess.Popen(
        [str(CLAW), "-p", "talk", "--output-format", "text"],
        cwd=workspace, env={**os.environ, **fake_api.env()}, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    shown = b""
    while b"word040" not in shown:
        chunk = proc.stdout.read1(4096)  # type: ignore[attr-defined]
        assert chunk, proc.stderr.read() if proc.stderr else ""
        shown += chunk
    time.sleep(1.0)  # the flush interval is 0.5 s
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    seen = shown.decode()
    session = SessionStore(workspace).latest()
    assert session is not None
    messages = session.load_messages()
    assert messages[-1].role == "assistant"
    kept = messages[-1].text()
    assert kept.startswith("word000") and "word040" in kept
    assert len(kept) >= len(seen.strip()) - 8  # everything shown more than a second before the kill
