"""Cancellation (claw.cancel, progress cancel, shutdown), concurrent runs, didChange storms."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.fakes.procs import is_gone
from tests.lsp.client import ALL_FEATURES, ClawClient, session, wait_until

SLOW = reply(text("word " * 100), chunk=2, delay=0.05)  # ~250 events, >10 s if left alone


def chunks(client: ClawClient, run_id: str) -> int:
    return sum(
        1
        for e in client.events
        if e["runId"] == run_id and e["update"]["sessionUpdate"] == "agent_message_chunk"
    )


async def test_claw_cancel_stops_a_streaming_run(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(SLOW)
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        run = await client.command("claw.ask", {"prompt": "write a lot"})
        await wait_until(lambda: chunks(client, run["runId"]) >= 3, what="streaming")
        assert await client.command("claw.cancel", {"runId": run["runId"]}) == {"cancelled": [run["runId"]]}
        finished = await wait_until(lambda: client.finished(run["runId"]), timeout=5, what="cancelled run")
        assert finished["stopReason"] == "cancelled"
        assert client.progress_end(f"claw-{run['runId']}").message == "Cancelled"


@pytest.mark.parametrize("client_name", ["visual-studio-code", "neovim"])
async def test_cancelling_the_progress_cancels_the_run(
    workspace: Path, fake_api: FakeMessagesAPI, client_name: str
) -> None:
    fake_api.queue(SLOW)
    async with session(workspace, client_name, env=fake_api.env()) as client:
        run = await client.command("claw.ask", {"prompt": "write a lot"})
        token = f"claw-{run['runId']}"
        await wait_until(lambda: client.progress_reports.get(token), what="progress begin")
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        end = await wait_until(lambda: client.progress_end(token), timeout=5, what="progress end")
        assert end.message == "Cancelled"


async def test_shutdown_mid_run_kills_its_processes(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    pid_file = workspace / "pid.txt"
    fake_api.queue(
        reply(tool_use("Bash", {"command": f"echo $$ > {pid_file}; sleep 60"})), reply(text("done"))
    )
    async with session(
        workspace, settings={"permissionMode": "bypassPermissions"}, env=fake_api.env()
    ) as client:
        await client.command("claw.ask", {"prompt": "sleep"})
        await wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), what="bash started")
        pid = int(pid_file.read_text())
        started = time.monotonic()
        await client.shutdown_session()
        assert time.monotonic() - started < 30

    await wait_until(lambda: is_gone(pid), timeout=5, what="bash process gone")


async def test_runs_on_different_sessions_go_on_side_by_side(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("first " * 30), chunk=2, delay=0.03), reply(text("second")))
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        first = await client.command("claw.ask", {"prompt": "one"})
        second = await client.command("claw.ask", {"prompt": "two"})
        assert first["sessionId"] != second["sessionId"]
        # The busy session refuses a second run with a clear error.
        with pytest.raises(JsonRpcException, match="busy"):
            await client.command("claw.ask", {"prompt": "three", "sessionId": first["sessionId"]})
        done_second = await wait_until(lambda: client.finished(second["runId"]), what="second run")
        assert done_second["result"] == "second"
        assert client.finished(first["runId"]) is None  # still streaming
        done_first = await wait_until(lambda: client.finished(first["runId"]), what="first run")
        assert done_first["stopReason"] == "end_turn"
        status = await client.command("claw.status")
        assert status["sessionId"] == first["sessionId"]  # the active session stays the first one
        assert {r["runId"] for r in status["runs"]} == {first["runId"], second["runId"]}
        assert status["totalUsage"]["output_tokens"] == 10  # both runs
        assert status["usage"]["output_tokens"] == 5  # the active session's run


async def test_run_survives_a_did_change_storm_and_code_actions_answer_meanwhile(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "busy.py"
    path.write_text("x = 1\n")
    fake_api.queue(reply(text("streaming " * 40), chunk=2, delay=0.03))
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        doc = client.open(path)
        run = await client.command("claw.ask", {"prompt": "talk"})
        await wait_until(lambda: chunks(client, run["runId"]) >= 2, what="streaming")
        for i in range(300):
            client.replace(doc.uri, len(doc.text), len(doc.text), f"y{i} = {i}\n")
        rng = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
        latencies = []
        for _ in range(5):
            started = time.monotonic()
            await client.code_actions(doc.uri, rng)
            latencies.append(time.monotonic() - started)
        assert client.finished(run["runId"]) is None, "the code actions waited for the run"
        finished = await wait_until(lambda: client.finished(run["runId"]), what="run end")
        assert finished["stopReason"] == "end_turn"
        # The server's copy of the buffer followed every change.
        await client.code_actions(doc.uri, rng)
        assert doc.version == 301
        del latencies
        await asyncio.sleep(0)
