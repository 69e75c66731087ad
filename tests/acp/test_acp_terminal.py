"""Bash in the client's terminal (clients that declare `terminal`): the output streams in the
client's terminal and reaches the model capped, the cwd persists, the timeout and cancellation
kill the command, every terminal is released."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import acp.schema as acp
import pytest

from tests.acp.harness import acp_agent
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import wait_until

pytestmark = pytest.mark.asyncio


async def test_bash_runs_in_the_clients_terminal(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(
        reply(tool_use("Bash", {"command": "echo hello && mkdir -p sub && cd sub"}, id="toolu_t1")),
        reply(tool_use("Bash", {"command": "pwd; echo $((6 * 7))"}, id="toolu_t2")),
        reply(
            tool_use("Bash", {"command": "head -c 100000 /dev/zero | tr '\\\\0' x; exit 3"}, id="toolu_t3")
        ),
        reply(text("done")),
    )
    async with acp_agent(workspace, fake_api.env(), terminal=True) as h:
        session_id = await h.new_session(workspace)
        await h.conn.set_session_mode(session_id=session_id, mode_id="bypassPermissions")
        assert (await h.prompt(session_id, "run things")).stop_reason == "end_turn"
        requests = fake_api.wait_for_requests(4)
        assert requests[1].last_tool_result() == "hello"
        assert requests[2].last_tool_result() == f"{workspace}/sub\n42"
        capped = requests[3].tool_results()[-1]
        assert capped.is_error and "characters cut" in capped.text and capped.text.endswith("Exit code 3")
        assert len(capped.text) < 31_000
        # Three terminals, each waited for, read and released; none killed.
        assert [c for c, _t in h.client.terminal_calls] == ["create", "wait", "output", "release"] * 3
        # The tool calls show their terminal while they run and after.
        for call, terminal_id in (("toolu_t1", "term-1"), ("toolu_t2", "term-2")):
            updates = [u for _s, u in h.client.updates if getattr(u, "tool_call_id", None) == call]
            shown = [
                u for u in updates if u.content and isinstance(u.content[0], acp.TerminalToolCallContent)
            ]
            assert shown[0].status == "in_progress" and shown[0].content[0].terminal_id == terminal_id
            assert shown[-1].status == "completed" and len(shown[-1].content) == 2


async def test_the_timeout_kills_the_command(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(tool_use("Bash", {"command": "sleep 30", "timeout": 1000})), reply(text("too slow")))
    async with acp_agent(workspace, fake_api.env(), terminal=True) as h:
        session_id = await h.new_session(workspace)
        started = time.monotonic()
        assert (await h.prompt(session_id, "wait")).stop_reason == "end_turn"
        assert time.monotonic() - started < 10
        result = fake_api.wait_for_requests(2)[1].tool_results()[-1]
        assert result.is_error and "timed out after 1000 ms" in result.text
        assert ("kill", "term-1") in h.client.terminal_calls and (
            "release",
            "term-1",
        ) in h.client.terminal_calls
        assert h.client.terminals["term-1"].process.returncode is not None


async def test_cancel_kills_the_terminal_within_a_second(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(tool_use("Bash", {"command": "sleep 30"})), reply(text("after")))
    async with acp_agent(workspace, fake_api.env(), terminal=True) as h:
        session_id = await h.new_session(workspace)
        await h.conn.set_session_mode(session_id=session_id, mode_id="bypassPermissions")
        prompt = asyncio.ensure_future(h.prompt(session_id, "sleep"))
        await wait_until(lambda: ("wait", "term-1") in h.client.terminal_calls, what="the command to run")
        cancelled_at = time.monotonic()
        await h.conn.cancel(session_id=session_id)
        assert (await asyncio.wait_for(prompt, 5)).stop_reason == "cancelled"
        assert time.monotonic() - cancelled_at < 1.0
        await wait_until(
            lambda: h.client.terminals["term-1"].process.returncode is not None, 2, what="the kill"
        )
        assert ("kill", "term-1") in h.client.terminal_calls
        assert (await h.prompt(session_id, "go on")).stop_reason == "end_turn"
