"""Permission questions over LSP: claw/permission or showMessageRequest, showing the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import ALL_FEATURES, session, wait_until

COMMAND = "touch made.txt"


def bash_script(api: FakeMessagesAPI) -> None:
    api.queue(reply(tool_use("Bash", {"command": COMMAND})), reply(text("Finished.")))


@pytest.mark.parametrize(("option", "allowed"), [("allow_always", True), ("reject_once", False)])
async def test_claw_permission(
    workspace: Path, fake_api: FakeMessagesAPI, option: str, allowed: bool
) -> None:
    bash_script(fake_api)
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        client.answers["claw/permission"] = lambda p: {
            "outcome": {"outcome": "selected", "optionId": option},
            "feedback": "not now",
        }
        run = await client.command("claw.ask", {"prompt": "make a file"})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        asked = next(p for m, p in client.custom_requests if m == "claw/permission")
        assert asked["subject"] == COMMAND and asked["runId"] == run["runId"]
        assert asked["toolCall"]["kind"] == "execute"
        assert [o["kind"] for o in asked["options"]] == [
            "allow_once",
            "allow_always",
            "reject_once",
            "reject_always",
        ]
        assert asked["options"][1]["name"].startswith("Always allow Bash(")
        assert (workspace / "made.txt").exists() is allowed
        local = workspace / ".claw" / "settings.local.json"
        if allowed:
            rules = json.loads(local.read_text())["permissions"]["allow"]
            assert any(r.startswith("Bash(") for r in rules)
        else:
            assert "not now" in fake_api.requests[-1].last_tool_result()


@pytest.mark.parametrize(("answer", "allowed"), [("Allow once", True), ("Deny", False), (None, False)])
async def test_show_message_request_permission(
    workspace: Path, fake_api: FakeMessagesAPI, answer: str | None, allowed: bool
) -> None:
    bash_script(fake_api)
    async with session(workspace, "neovim", env=fake_api.env()) as client:
        client.answer_message = lambda p: answer
        run = await client.command("claw.ask", {"prompt": "make a file"})
        token = f"claw-{run['runId']}"
        await wait_until(lambda: client.progress_end(token), what="run end")
        asked = client.message_requests[0]
        assert COMMAND in asked.message
        titles = [a.title for a in asked.actions]
        assert (
            titles[0] == "Allow once" and titles[-1] == "Deny" and titles[1].startswith("Always allow Bash(")
        )
        assert (workspace / "made.txt").exists() is allowed
        if not allowed:
            assert "denied" in fake_api.requests[-1].last_tool_result()
