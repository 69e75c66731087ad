"""ACP: the session's `available_commands_update` carries the built-ins, the user's and the
project's commands and the model-invocable skills; a command typed in a prompt is expanded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acp.harness import acp_agent
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text
from tests.lsp.client import wait_until

pytestmark = pytest.mark.asyncio


async def test_available_commands_include_custom_commands_and_skills(
    workspace: Path, tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    home = tmp_path / "home"
    for name, extra in (("pdf", ""), ("deploy", "disable-model-invocation: true\n")):
        folder = home / ".claude" / "skills" / name
        folder.mkdir(parents=True)
        (folder / "SKILL.md").write_text(f"---\ndescription: The {name} skill\n{extra}---\nBody of {name}\n")
    (home / ".claude" / "commands").mkdir(parents=True)
    (home / ".claude" / "commands" / "standup.md").write_text("Summarise my day.")
    (workspace / ".claude" / "commands").mkdir(parents=True)
    (workspace / ".claude" / "commands" / "fix.md").write_text(
        "---\ndescription: Fix an issue\nargument-hint: <issue>\n---\nFix issue $1 now.\n"
    )
    fake_api.queue(reply(text("on it")))
    async with acp_agent(workspace, {**fake_api.env(), "HOME": str(home)}) as h:
        session_id = await h.new_session(workspace)
        updates = await wait_until(lambda: h.client.of("available_commands_update", session_id))
        commands = {c.name: c for c in updates[0].available_commands}
        assert {"compact", "clear", "model", "cost", "help", "standup", "fix", "pdf"} <= set(commands)
        assert "deploy" not in commands  # not model-invocable: not offered, as Claude Code does
        assert commands["fix"].description == "Fix an issue (project)"
        assert commands["fix"].input is not None and commands["fix"].input.root.hint == "<issue>"
        result = await h.prompt(session_id, "/fix 42")
        assert result.stop_reason == "end_turn"
    content = fake_api.requests[0].body["messages"][-1]["content"]
    sent = content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
    assert sent == "Fix issue 42 now."
