"""Thinking over ACP: the model's thought text arrives as `agent_thought_chunk` updates (its answer
as `agent_message_chunk`), `session/load` replays it, and the thinking blocks go back unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.acp.harness import acp_agent
from tests.fakes.fake_messages_api import FakeMessagesAPI, redacted_thinking, reply, text, thinking, tool_use

pytestmark = pytest.mark.asyncio

SIG = "EqQBCkYIARgCIkBs+u/9Zw=="
DATA = "EmwKAhgBEgy3va3pzix/LafPsn4a=="


async def test_thought_chunks_reach_the_acp_client_and_blocks_go_back_unchanged(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    (workspace / "notes.txt").write_text("forty-two\n")
    turn = [
        thinking("Read the notes first.", signature=SIG),
        redacted_thinking(DATA),
        tool_use("Read", {"file_path": str(workspace / "notes.txt")}, id="toolu_notes"),
    ]
    fake_api.queue(
        reply(*turn),
        reply(thinking(" Now answer.", signature=SIG), text("They say 42.")),
        reply(text("Still 42.")),
    )
    env = {**fake_api.env(), "CLAW_MODEL": "claude-haiku-4-5"}
    async with acp_agent(workspace, env) as h:
        session_id = await h.new_session(workspace)
        result = await h.prompt(session_id, "what do the notes say?")
        assert result.stop_reason == "end_turn"
        thoughts = "".join(u.content.text for u in h.client.of("agent_thought_chunk", session_id))
        assert thoughts == "Read the notes first. Now answer."
        assert h.client.agent_text(session_id) == "They say 42."
    first, second = (r.body for r in fake_api.requests)
    assert first["thinking"] == {"type": "enabled", "budget_tokens": 31_999}
    assert _without_cache(second["messages"][1]["content"]) == turn
    # Another agent process loads the session: the thought is replayed, the blocks go back as stored.
    async with acp_agent(workspace, env) as h:
        await h.conn.load_session(cwd=str(workspace), session_id=session_id, mcp_servers=[])
        replayed = "".join(u.content.text for u in h.client.of("agent_thought_chunk", session_id))
        assert replayed == "Read the notes first. Now answer."
        assert (await h.prompt(session_id, "sure?")).stop_reason == "end_turn"
    third = fake_api.wait_for_requests(3)[2].body
    assert _without_cache(third["messages"][1]["content"]) == turn
    assert third["messages"][3]["content"][0] == thinking(" Now answer.", signature=SIG)


def _without_cache(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in b.items() if k != "cache_control"} for b in blocks]
