"""Subagents through the language server: their tool calls reach the editor nested under the
parent's `Agent` call (`_meta.claw.parentToolCallId`), their edits go through the same review and
land in the editor's buffer, and `claw.cancel` of the parent run cancels them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import ALL_FEATURES, ClawClient, session, wait_until


def updates(client: ClawClient, run_id: str) -> list[dict[str, Any]]:
    return [e["update"] for e in client.events if e["runId"] == run_id]


def parent_of(update: dict[str, Any]) -> str | None:
    parent: str | None = update.get("_meta", {}).get("claw", {}).get("parentToolCallId")
    return parent


async def test_a_subagents_edit_is_reviewed_and_its_events_are_nested(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "values.py"
    path.write_text("limit = 10\n")
    fake_api.queue(
        reply(
            tool_use(
                "Agent",
                {
                    "description": "raise the limit",
                    "prompt": "Set limit to 20",
                    "subagent_type": "general-purpose",
                },
                id="toolu_agent",
            )
        ),
        reply(text("Reading first."), tool_use("Read", {"file_path": str(path)}, id="toolu_child_read")),
        reply(
            tool_use(
                "Edit",
                {"file_path": str(path), "old_string": "limit = 10", "new_string": "limit = 20"},
                id="toolu_child_edit",
            )
        ),
        reply(text("Changed limit to 20 in values.py.")),
        reply(text("The subagent raised the limit.")),
    )
    reviews: list[dict[str, Any]] = []

    def review(params: dict[str, Any]) -> dict[str, Any]:
        reviews.append(params)
        return {"decision": "accept"}

    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        client.answers["claw/review"] = review
        doc = client.open(path)
        run = await client.command("claw.ask", {"prompt": "raise the limit", "uri": doc.uri})
        finished = await wait_until(lambda: client.finished(run["runId"]), what="run end")
        seen = updates(client, run["runId"])
    assert finished["stopReason"] == "end_turn"
    assert doc.text == "limit = 20\n"  # landed in the editor's buffer, through the review
    assert len(reviews) == 1
    calls = {u["toolCallId"]: u for u in seen if u["sessionUpdate"] == "tool_call"}
    assert parent_of(calls["toolu_agent"]) is None and calls["toolu_agent"]["kind"] == "think"
    assert calls["toolu_agent"]["title"] == "general-purpose: raise the limit"
    assert parent_of(calls["toolu_child_read"]) == "toolu_agent"
    assert parent_of(calls["toolu_child_edit"]) == "toolu_agent"
    child_done = [
        u for u in seen if u["sessionUpdate"] == "tool_call_update" and u["toolCallId"] == "toolu_child_edit"
    ]
    assert child_done and all(parent_of(u) == "toolu_agent" for u in child_done)
    # The subagent's words are its working (thoughts), not the answer; the answer is the parent's.
    answer = "".join(u["content"]["text"] for u in seen if u["sessionUpdate"] == "agent_message_chunk")
    assert answer == "The subagent raised the limit."
    thoughts = [u for u in seen if u["sessionUpdate"] == "agent_thought_chunk" and parent_of(u)]
    assert "Reading first." in "".join(u["content"]["text"] for u in thoughts)
    final = [u for u in seen if u["sessionUpdate"] == "tool_call_update" and u["toolCallId"] == "toolu_agent"]
    assert final[-1]["status"] == "completed"
    assert "Changed limit to 20" in final[-1]["content"][0]["content"]["text"]


async def test_cancelling_the_parent_run_cancels_its_subagent(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(
        reply(
            tool_use(
                "Agent",
                {"description": "slow", "prompt": "slow", "subagent_type": "Explore"},
                id="toolu_agent",
            )
        ),
        reply(text("b " * 400), chunk=2, delay=0.05),
    )
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        run = await client.command("claw.ask", {"prompt": "go"})
        await wait_until(
            lambda: any(
                u.get("sessionUpdate") == "agent_thought_chunk" for u in updates(client, run["runId"])
            ),
            what="the subagent streaming",
        )
        assert await client.command("claw.cancel", {"runId": run["runId"]}) == {"cancelled": [run["runId"]]}
        finished = await wait_until(lambda: client.finished(run["runId"]), what="run end")
        seen = updates(client, run["runId"])
    assert finished["stopReason"] == "cancelled"
    final = [u for u in seen if u["sessionUpdate"] == "tool_call_update" and u["toolCallId"] == "toolu_agent"]
    assert final[-1]["status"] == "failed"
    assert len(fake_api.requests) == 2  # nothing after the cancel
