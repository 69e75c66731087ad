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
