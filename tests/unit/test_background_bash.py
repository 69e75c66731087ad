"""Background Bash through the real `claw` CLI and the real SDK against the fake Messages API:
`run_in_background` returns at once with an id, the output file is readable, TaskOutput / TaskStop
(and the old BashOutput / KillShell names) work, the finish notice reaches the model, and no process
outlives the CLI (normal exit, SIGTERM, SIGKILL)."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.core.tools import SessionState, ToolContext, tool_schema
from claw_lsp.tools.background import BackgroundShells, TaskOutput, TaskStop
from claw_lsp.tools.bash import Bash, BashInput
from claw_lsp.workspace.view import WorkspaceView
from tests.fakes.fake_messages_api import FakeMessagesAPI, RecordedRequest, reply, text, tool_use
from tests.fakes.procs import is_gone
from tests.unit.test_cli import KEY, claw, popen

STARTED = re.compile(r"Command running in background with ID: (\w+)\. Output is being written to: (\S+)")


@pytest.fixture
def bash_allowed(isolated_state: Path) -> None:
    """The user's own settings allow Bash (the CLI has no terminal to ask on); nothing else."""
    settings = isolated_state / "XDG_CONFIG_HOME" / "claw" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"permissions": {"allow": ["Bash"]}}))


def started(req: RecordedRequest) -> tuple[str, str]:
    """The id and output file a background Bash call answered with."""
    match = STARTED.search(req.last_tool_result())
    assert match, req.last_tool_result()
    return match.group(1), match.group(2)


def then(make: Any) -> Any:
    """A responder that builds its reply from the background task the last result named."""
    return lambda req: make(*started(req))


def last_user_text(req: RecordedRequest) -> str:
    content = req.body["messages"][-1]["content"]
    return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_schemas_are_claude_codes() -> None:
    assert set(tool_schema(Bash())["properties"]) == {
        "command",
        "timeout",
        "description",
        "run_in_background",
    }
    assert set(tool_schema(TaskOutput())["properties"]) == {"task_id", "block", "timeout"}
    assert tool_schema(TaskOutput())["required"] == ["task_id"]
    assert set(tool_schema(TaskStop())["properties"]) == {"task_id", "shell_id"}
    assert TaskOutput.aliases == ("BashOutput",) and TaskStop.aliases == ("KillShell",)


def test_background_bash_returns_at_once_and_its_output_is_readable(
    workspace: Path, fake_api: FakeMessagesAPI, bash_allowed: None
) -> None:
    gate = workspace / "go"
    command = f"echo started; while [ ! -e {gate} ]; do sleep 0.05; done; echo finished"
    task: dict[str, str] = {}

    def peek(req: RecordedRequest) -> Any:
        task["id"], task["path"] = started(req)
        return reply(tool_use("TaskOutput", {"task_id": task["id"], "block": False}))

    def open_gate_and_wait(_req: RecordedRequest) -> Any:
        gate.touch()
        return reply(tool_use("TaskOutput", {"task_id": task["id"]}))  # block: true by default

    fake_api.queue(
        reply(tool_use("Bash", {"command": command, "run_in_background": True, "description": "Waits"})),
        peek,
        open_gate_and_wait,
        # The old name and key: BashOutput{bash_id} answers at once.
        lambda _req: reply(tool_use("BashOutput", {"bash_id": task["id"]})),
        lambda _req: reply(tool_use("Read", {"file_path": task["path"]})),
        reply(text("all done")),
    )
    proc = claw(workspace, "-p", "run it in the background", "--output-format", "json", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    requests = fake_api.requests
    assert len(requests) == 6
    assert Path(task["path"]).name == f"{task['id']}.output"
    assert not Path(task["path"]).is_relative_to(workspace)  # beside the session's transcript
    # The call came back while the command was still running (it waits for the gate).
    running = requests[2].last_tool_result()
    assert (
        "<status>running</status>" in running and "<retrieval_status>not_ready</retrieval_status>" in running
    )
    assert "started" in running and "finished" not in running
    done = requests[3].last_tool_result()
    assert "<status>completed</status>" in done and "<exit_code>0</exit_code>" in done and "finished" in done
    assert "<status>completed</status>" in requests[4].last_tool_result()
    # Read of exactly that file is allowed though it lies outside the workspace (no question).
    read = requests[5].tool_results()[-1]
    assert not read.is_error and "finished" in read.text, read


def test_finish_notice_reaches_the_model_on_the_next_request(
    workspace: Path, fake_api: FakeMessagesAPI, bash_allowed: None
) -> None:
    gate = workspace / "go"
    command = f"while [ ! -e {gate} ]; do sleep 0.05; done; echo built"
    fake_api.queue(
        reply(tool_use("Bash", {"command": command, "run_in_background": True, "description": "Builds"})),
        # Meanwhile in the foreground: open the gate and wait until the build wrote its output.
        then(
            lambda _tid, path: reply(
                tool_use(
                    "Bash",
                    {"command": f"touch {gate}; until grep -q built {path}; do sleep 0.05; done; sleep 0.5"},
                )
            )
        ),
        reply(text("the build finished")),
    )
    proc = claw(workspace, "-p", "build in the background", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    _, second, third = fake_api.requests
    shell_id, output = started(second)
    assert "task-notification" not in json.dumps(second.body)
    notice = last_user_text(third)
    assert f"<task-id>{shell_id}</task-id>" in notice and "<status>completed</status>" in notice
    assert (
        f"<output-file>{output}</output-file>" in notice and 'Background command "Builds" completed' in notice
    )


@pytest.mark.parametrize("tool", ["TaskStop", "KillShell"])
def test_stop_kills_the_command_and_everything_it_started(
    workspace: Path, fake_api: FakeMessagesAPI, bash_allowed: None, tool: str
) -> None:
    pid_file = workspace / "child.pid"
    command = f"sleep 300 & echo $! > {pid_file}; wait"
    key = "task_id" if tool == "TaskStop" else "shell_id"
    fake_api.queue(
        reply(tool_use("Bash", {"command": command, "run_in_background": True})),
        then(
            lambda tid, _path: (
                wait_for(lambda: pid_file.exists() and pid_file.read_text().strip()),
                reply(tool_use(tool, {key: tid})),
            )[1]
        ),
        reply(text("stopped")),
    )
    proc = claw(workspace, "-p", "start then stop", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    result = fake_api.requests[2].tool_results()[-1]
    assert not result.is_error and "Successfully stopped task" in result.text, result
    assert is_gone(int(pid_file.read_text()))
    # A stopped command is not announced as finished.
    assert "task-notification" not in json.dumps(fake_api.requests[2].body)


def test_no_background_process_survives_the_cli_exiting(
    workspace: Path, fake_api: FakeMessagesAPI, bash_allowed: None
) -> None:
    pid_file = workspace / "child.pid"
    fake_api.queue(
        reply(
            tool_use(
                "Bash", {"command": f"sleep 300 & echo $! > {pid_file}; wait", "run_in_background": True}
            )
        ),
        lambda _req: (
            wait_for(lambda: pid_file.exists() and pid_file.read_text().strip()),
            reply(text("bye")),
        )[1],
    )
    proc = claw(workspace, "-p", "leave it running", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    pid = int(pid_file.read_text())
    wait_for(lambda: is_gone(pid), timeout=5)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_no_background_process_survives_the_cli_being_killed(
    workspace: Path, fake_api: FakeMessagesAPI, bash_allowed: None, sig: signal.Signals
) -> None:
    pid_file = workspace / "child.pid"
    release = threading.Event()
    fake_api.queue(
        reply(
            tool_use(
                "Bash", {"command": f"sleep 300 & echo $! > {pid_file}; wait", "run_in_background": True}
            )
        ),
        lambda _req: (release.wait(30), reply(text("late")))[1],  # the run is busy asking the model
    )
    os.environ.update(fake_api.env(KEY))
    try:
        proc = popen(workspace, "-p", "leave it running")
    finally:
        for name in fake_api.env(KEY):
            os.environ.pop(name, None)
    try:
        wait_for(
            lambda: pid_file.exists() and pid_file.read_text().strip() and len(fake_api.requests) >= 2, 30
        )
        pid = int(pid_file.read_text())
        assert not is_gone(pid)
        proc.send_signal(sig)
        proc.wait(timeout=20)
        wait_for(lambda: is_gone(pid), timeout=5)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


async def test_the_acp_terminal_bash_runs_background_commands_locally(
    workspace: Path, tmp_path: Path
) -> None:
    from claw_lsp.acp.terminal import TerminalBash

    state = SessionState(background=BackgroundShells(tmp_path / "tasks"))
    ctx = ToolContext(workspace=WorkspaceView([workspace]), state=state)
    tool = TerminalBash(client=None, session_id="s", announce=lambda *_: None)  # type: ignore[arg-type]
    output = await tool.run(BashInput(command="echo local", run_in_background=True), ctx)
    shell_id = STARTED.search(output.content).group(1)  # type: ignore[union-attr]
    assert await state.background.wait(state.background.get(shell_id), 10)  # type: ignore[union-attr]
    assert "local" in (tmp_path / "tasks" / f"{shell_id}.output").read_text()
    await state.background.close()
