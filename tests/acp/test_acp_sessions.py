"""session/load replays a stored session (recorded by an earlier ACP session, or by the language
server) as session/update notifications, and the conversation goes on from it."""

from __future__ import annotations

from pathlib import Path

import acp.schema as acp
import pytest

from tests.acp.harness import acp_agent
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import session as lsp_session
from tests.lsp.client import wait_run

pytestmark = pytest.mark.asyncio


def _replayed(updates: list[tuple[str, object]], session_id: str) -> list[tuple[str, str]]:
    out = []
    for sid, update in updates:
        if sid != session_id:
            continue
        kind = update.session_update  # type: ignore[attr-defined]
        if kind in ("user_message_chunk", "agent_message_chunk"):
            out.append((kind, update.content.text))  # type: ignore[attr-defined]
        elif kind == "tool_call":
            out.append((kind, update.title))  # type: ignore[attr-defined]
        elif kind == "tool_call_update":
            out.append((kind, update.status))  # type: ignore[attr-defined]
    return out


async def test_load_a_session_recorded_by_acp(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    path = workspace / "notes.txt"
    path.write_text("remember the milk\n", encoding="utf-8")
    fake_api.queue(
        reply(text("Reading."), tool_use("Read", {"file_path": str(path)})),
        reply(text("It says milk.")),
        reply(text("Still milk.")),
    )
    async with acp_agent(workspace, fake_api.env()) as h:
        session_id = await h.new_session(workspace)
        assert (await h.prompt(session_id, "what do my notes say?")).stop_reason == "end_turn"
    async with acp_agent(workspace, fake_api.env()) as h:
        listed = await h.conn.list_sessions(cwd=str(workspace))
        assert [s.session_id for s in listed.sessions] == [session_id]
        assert listed.sessions[0].title == "what do my notes say?"
        loaded = await h.conn.load_session(cwd=str(workspace), session_id=session_id, mcp_servers=[])
        assert loaded.modes is not None and loaded.modes.current_mode_id == "default"
        replay = _replayed(h.client.updates, session_id)
        assert replay == [
            ("user_message_chunk", "what do my notes say?"),
            ("agent_message_chunk", "Reading."),
            ("tool_call", "Reading notes.txt"),
            ("tool_call_update", "completed"),
            ("agent_message_chunk", "It says milk."),
        ]
        output = next(u for _s, u in h.client.updates if getattr(u, "status", None) == "completed")
        assert "remember the milk" in output.content[0].content.text
        # It goes on: the model gets the whole earlier conversation.
        assert (await h.prompt(session_id, "and now?")).stop_reason == "end_turn"
        body = fake_api.wait_for_requests(3)[2].body
        assert "what do my notes say?" in str(body["messages"]) and "It says milk." in str(body["messages"])


async def test_load_a_session_recorded_by_the_language_server(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("Hello from the editor.")), reply(text("Hello from Zed.")))
    async with lsp_session(workspace, env=fake_api.env()) as client:
        started = await client.command("claw.ask", {"prompt": "say hello"})
        await wait_run(client, started["runId"])
        session_id = started["sessionId"]
    async with acp_agent(workspace, fake_api.env()) as h:
        await h.conn.load_session(cwd=str(workspace), session_id=session_id, mcp_servers=[])
        assert _replayed(h.client.updates, session_id) == [
            ("user_message_chunk", "say hello"),
            ("agent_message_chunk", "Hello from the editor."),
        ]
        assert (await h.prompt(session_id, "and again")).stop_reason == "end_turn"
        assert h.client.agent_text(session_id).endswith("Hello from Zed.")
        body = fake_api.wait_for_requests(2)[1].body
        assert "Hello from the editor." in str(body["messages"])


async def test_unknown_session_is_an_error(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    from acp.exceptions import RequestError

    async with acp_agent(workspace, fake_api.env()) as h:
        with pytest.raises(RequestError) as raised:
            await h.conn.load_session(cwd=str(workspace), session_id="0123abcd", mcp_servers=[])
        assert raised.value.code == -32002
        assert isinstance(await h.conn.list_sessions(cwd=str(workspace)), acp.ListSessionsResponse)
