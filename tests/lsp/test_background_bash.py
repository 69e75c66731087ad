"""Background Bash through the real language server: the command outlives the run that started it,
its output file is readable, the finish notice reaches the model with the next prompt, and nothing
it started survives the server shutting down or being killed with SIGKILL."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

from tests.fakes.fake_messages_api import FakeMessagesAPI, RecordedRequest, reply, text, tool_use
from tests.fakes.procs import is_gone
from tests.lsp.client import ALL_FEATURES, ask, session, wait_until

STARTED = re.compile(r"Command running in background with ID: (\w+)\. Output is being written to: (\S+)")
SETTINGS = {"permissionMode": "bypassPermissions"}


def background(pid_file: Path, then: str = "wait") -> dict[str, object]:
    """A turn that starts a background command with a child that would run for minutes."""
    return reply(
        tool_use(
            "Bash",
            {
                "command": f"sleep 300 & echo $! > {pid_file}; {then}",
                "run_in_background": True,
                "description": "Sleeps",
            },
        )
    )


def child(pid_file: Path) -> int:
    return int(pid_file.read_text())


async def test_background_command_outlives_its_run_and_dies_with_the_server(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    pid_file = workspace / "child.pid"
    gate = workspace / "go"
    task: dict[str, str] = {}

    def read_it(req: RecordedRequest) -> object:
        match = STARTED.search(req.last_tool_result())
        assert match, req.last_tool_result()
        task["id"], task["path"] = match.groups()
        return reply(tool_use("Read", {"file_path": task["path"]}))

    fake_api.queue(
        background(pid_file, then=f"echo waiting; while [ ! -e {gate} ]; do sleep 0.05; done; echo finished"),
        read_it,
        reply(text("it runs")),
        reply(text("it finished")),
        background(workspace / "second.pid"),
        reply(text("left running")),
    )
    async with session(workspace, features=ALL_FEATURES, settings=SETTINGS, env=fake_api.env()) as client:
        await ask(client, "start it")
        # The run is over; the command goes on.
        await wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), what="child started")
        assert not is_gone(child(pid_file))
        read = fake_api.requests[2].tool_results()[-1]
        assert not read.is_error and "waiting" in read.text, read
        gate.touch()
        await wait_until(lambda: "finished" in Path(task["path"]).read_text(), what="command finished")
        await wait_until(lambda: is_gone(child(pid_file)), timeout=5, what="its child stopped with it")
        await ask(client, "anything new?")
        notice = json.dumps(fake_api.requests[3].body["messages"][-1])
        assert f"<task-id>{task['id']}</task-id>" in notice and "<status>completed</status>" in notice
        # One left running when the editor shuts the server down.
        await ask(client, "start another")
        second = workspace / "second.pid"
        await wait_until(lambda: second.exists() and second.read_text().strip(), what="second child")
        assert not is_gone(child(second))
    await wait_until(lambda: is_gone(child(second)), timeout=5, what="background child gone after shutdown")


async def test_no_background_process_survives_the_server_being_killed(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    pid_file = workspace / "child.pid"
    fake_api.queue(background(pid_file), reply(text("left running")))
    async with session(workspace, features=ALL_FEATURES, settings=SETTINGS, env=fake_api.env()) as client:
        await ask(client, "start it")
        await wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), what="child started")
        assert not is_gone(child(pid_file))
        assert client._server is not None  # pygls keeps the server subprocess here
        os.kill(client._server.pid, signal.SIGKILL)
        await wait_until(
            lambda: is_gone(child(pid_file)), timeout=5, what="background child gone after SIGKILL"
        )


async def test_a_cancelled_run_stops_the_background_commands_it_started_and_no_others(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    earlier, started_now = workspace / "earlier.pid", workspace / "now.pid"
    fake_api.queue(
        background(earlier),
        reply(text("started one")),
        background(started_now),
        reply(text("x " * 400), chunk=2, delay=0.05),  # streams until cancelled
    )
    async with session(workspace, features=ALL_FEATURES, settings=SETTINGS, env=fake_api.env()) as client:
        await ask(client, "start one")
        await wait_until(lambda: earlier.exists() and earlier.read_text().strip(), what="first child")
        run = await client.command("claw.ask", {"prompt": "start another and talk"})
        await wait_until(
            lambda: started_now.exists() and started_now.read_text().strip(), what="second child"
        )
        await wait_until(lambda: len(fake_api.requests) >= 4, what="the slow answer")
        await client.command("claw.cancel", {"runId": run["runId"]})
        finished = await wait_until(lambda: client.finished(run["runId"]), what="run end")
        assert finished["stopReason"] == "cancelled"
        await wait_until(
            lambda: is_gone(child(started_now)), timeout=5, what="the cancelled run's command gone"
        )
        assert not is_gone(child(earlier))  # an earlier run's command goes on until the session ends
    await wait_until(lambda: is_gone(child(earlier)), timeout=5, what="the earlier command gone at shutdown")
