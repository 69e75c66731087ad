"""Runs started from the editor: progress, claw/event, results, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text
from tests.lsp.client import ALL_FEATURES, session, wait_until


@pytest.mark.parametrize("client_name", ["visual-studio-code", "neovim"])
async def test_ask_answers_at_once_and_the_run_shows_progress(
    workspace: Path, fake_api: FakeMessagesAPI, client_name: str
) -> None:
    fake_api.queue(reply(text("All good: nothing to change.")))
    async with session(workspace, client_name, features=ALL_FEATURES, env=fake_api.env()) as client:
        result = await client.command("claw.ask", {"prompt": "check the project"})
        assert result["runId"].startswith("r-") and result["sessionId"]
        token = f"claw-{result['runId']}"
        end = await wait_until(lambda: client.progress_end(token), what="progress end")
        assert end.message == "All good: nothing to change."
        begin = client.progress_reports[token][0]
        assert begin.title == "Claw" and begin.cancellable and begin.message == "check the project"
        finished = await wait_until(lambda: client.finished(result["runId"]), what="run_finished")
        assert finished["stopReason"] == "end_turn"
        chunks = [
            e["update"]["content"]["text"]
            for e in client.events
            if e["update"]["sessionUpdate"] == "agent_message_chunk"
        ]
        assert "".join(chunks) == "All good: nothing to change."


async def test_every_event_on_the_wire_is_a_typed_acp_session_update(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    """A run with a tool call, a plan and usage: each `claw/event` parses as the protocol's
    EventParams, and the run events are ACP's own session update kinds (plus claw's run_started and
    run_finished)."""
    from claw_lsp.server.protocol import EventParams, wire
    from tests.fakes.fake_messages_api import tool_use

    (workspace / "notes.txt").write_text("one\n")
    fake_api.queue(
        reply(
            tool_use(
                "TodoWrite",
                {"todos": [{"content": "read notes", "status": "in_progress", "activeForm": "Reading"}]},
            ),
            tool_use("Read", {"file_path": str(workspace / "notes.txt")}),
            stop_reason="tool_use",
        ),
        reply(text("The notes say one.")),
    )
    async with session(workspace, "visual-studio-code", features=ALL_FEATURES, env=fake_api.env()) as client:
        result = await client.command("claw.ask", {"prompt": "read the notes"})
        await wait_until(lambda: client.finished(result["runId"]), what="run_finished")
        events = [e for e in client.events if e["runId"] == result["runId"]]
    kinds = [e["update"]["sessionUpdate"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert {"tool_call", "tool_call_update", "plan", "usage_update", "agent_message_chunk"} <= set(kinds)
    for event in events:
        parsed = EventParams.model_validate(event)
        assert wire(parsed, omit_none=True) == event  # nothing on the wire the models do not know
    outputs = [
        e["update"]["content"][0]
        for e in events
        if e["update"]["sessionUpdate"] == "tool_call_update" and e["update"].get("content")
    ]
    assert all(o["type"] == "content" for o in outputs)
    assert any("one" in o["content"]["text"] for o in outputs)  # the Read's output
