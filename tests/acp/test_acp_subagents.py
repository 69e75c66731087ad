"""A subagent over ACP: its tool calls arrive as tool calls nested under the parent's Agent call
(`_meta.claw.parentToolCallId`), its words as thought chunks, and only the parent's words are the
agent's message."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acp.harness import acp_agent
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use

pytestmark = pytest.mark.asyncio


async def test_a_subagents_updates_are_nested_under_its_agent_call(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    (workspace / "notes.txt").write_text("the answer is 42\n")
    fake_api.queue(
        reply(
            tool_use(
                "Agent",
                {"description": "read notes", "prompt": "What do the notes say?", "subagent_type": "Explore"},
                id="toolu_agent",
            )
        ),
        reply(
            text("Looking."), tool_use("Read", {"file_path": str(workspace / "notes.txt")}, id="toolu_sub")
        ),
        reply(text("The notes say 42.")),
        reply(text("They say 42.")),
    )
    async with acp_agent(workspace, fake_api.env()) as h:
        session_id = await h.new_session(workspace)
        result = await h.prompt(session_id, "what do the notes say?")
        assert result.stop_reason == "end_turn"
        calls = {u.tool_call_id: u for u in h.client.of("tool_call", session_id)}
        assert calls["toolu_agent"].field_meta is None and calls["toolu_agent"].kind == "think"
        assert calls["toolu_sub"].field_meta == {"claw": {"parentToolCallId": "toolu_agent"}}
        assert calls["toolu_sub"].locations[0].path == str(workspace / "notes.txt")
        thoughts = "".join(u.content.text for u in h.client.of("agent_thought_chunk", session_id))
        assert "Looking." in thoughts and "The notes say 42." in thoughts
        assert h.client.agent_text(session_id) == "They say 42."
        final = [u for u in h.client.of("tool_call_update", session_id) if u.tool_call_id == "toolu_agent"]
        assert final[-1].status == "completed"
