"""Thinking through the language server: the settings reach the request, thought text reaches the
client as `agent_thought_chunk` events, thinking blocks go back unchanged in the tool loop, and a
run cancelled mid-thought leaves nothing the API would refuse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakes.fake_messages_api import FakeMessagesAPI, redacted_thinking, reply, text, thinking, tool_use
from tests.lsp.client import ALL_FEATURES, ClawClient, ask, session, wait_until

SIG = "EqQBCkYIARgCIkBs+u/9Zw=="
DATA = "EmwKAhgBEgy3va3pzix/LafPsn4a=="
SETTINGS = {"model": "claude-sonnet-4-5", "thinking": {"budgetTokens": 4096}, "effort": "high"}


def thoughts(client: ClawClient, run_id: str) -> str:
    """The thought text of a run, as the client received it."""
    return "".join(
        e["update"]["content"]["text"]
        for e in client.events
        if e["runId"] == run_id and e["update"]["sessionUpdate"] == "agent_thought_chunk"
    )


def blocks(body: dict[str, Any], index: int) -> list[dict[str, Any]]:
    return [{k: v for k, v in b.items() if k != "cache_control"} for b in body["messages"][index]["content"]]


async def test_thought_chunks_reach_the_client_and_blocks_go_back_unchanged(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    (workspace / "notes.txt").write_text("forty-two\n")
    turn = [
        thinking("First I read the notes.", signature=SIG),
        redacted_thinking(DATA),
        tool_use("Read", {"file_path": str(workspace / "notes.txt")}, id="toolu_notes"),
    ]
    fake_api.queue(reply(*turn), reply(thinking(" They say forty-two.", signature=SIG), text("42.")))
    async with session(workspace, features=ALL_FEATURES, settings=SETTINGS, env=fake_api.env()) as client:
        run_id = await ask(client, "what do the notes say?")
        assert thoughts(client, run_id) == "First I read the notes. They say forty-two."
        said = "".join(
            e["update"]["content"]["text"]
            for e in client.events
            if e["runId"] == run_id and e["update"]["sessionUpdate"] == "agent_message_chunk"
        )
        assert said == "42."
    first, second = (r.body for r in fake_api.requests)
    # The settings from initializationOptions: budget 4096 (max_tokens stays above it), the beta;
    # Sonnet 4.5 takes no effort, so none is sent.
    for body in (first, second):
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 4096}
        assert body["max_tokens"] > 4096 and "output_config" not in body
    assert all("interleaved-thinking-2025-05-14" in r.headers["anthropic-beta"] for r in fake_api.requests)
    assert blocks(second, 1) == turn
    assert json.dumps(DATA).encode() in fake_api.requests[1].raw


async def test_a_run_cancelled_mid_thought_leaves_no_unsigned_thinking(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(
        reply(thinking("slowly weighing options " * 20, signature=SIG), text("never shown"), delay=0.05),
        reply(text("Fresh start.")),
    )
    async with session(workspace, features=ALL_FEATURES, settings=SETTINGS, env=fake_api.env()) as client:
        started = await client.command("claw.ask", {"prompt": "think hard"})
        run_id = started["runId"]
        await wait_until(lambda: thoughts(client, run_id), what="a thought chunk")
        await client.command("claw.cancel", {"runId": run_id})
        finished = await wait_until(lambda: client.finished(run_id), what="run_finished")
        assert finished["stopReason"] == "cancelled"
        await ask(client, "go on", sessionId=started["sessionId"])
    resumed = fake_api.requests[1].body
    assert resumed["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    sent = [b for m in resumed["messages"] for b in m["content"]]
    assert not [b for b in sent if b["type"] in ("thinking", "redacted_thinking")]
    assert "weighing" not in json.dumps(resumed)
