"""`claw-lsp --acp` end to end: the package's client side against the real agent subprocess and
the fake Messages API (prompt -> Read -> permission -> Edit through fs/write_text_file -> answer)."""

from __future__ import annotations

import json
from pathlib import Path

import acp.schema as acp
import pytest

from tests.acp.harness import acp_agent, option
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use

pytestmark = pytest.mark.asyncio


async def test_initialize_declares_what_reaches_the_model(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    async with acp_agent(workspace, fake_api.env()) as h:
        assert h.init is not None
        caps = h.init.agent_capabilities
        assert h.init.protocol_version == 1
        assert caps is not None and caps.load_session is True
        assert caps.prompt_capabilities is not None
        assert caps.prompt_capabilities.embedded_context is True
        assert caps.prompt_capabilities.image is False and caps.prompt_capabilities.audio is False
        assert caps.mcp_capabilities is not None
        assert caps.mcp_capabilities.http is True and caps.mcp_capabilities.sse is False
        assert caps.session_capabilities is not None and caps.session_capabilities.list is not None
        names = {v.name for m in h.init.auth_methods or [] for v in getattr(m, "vars", [])}
        assert {"ANTHROPIC_API_KEY", "OPENAI_API_KEY"} <= names
        session_id = await h.new_session(workspace)
        listed = await h.conn.list_sessions(cwd=str(workspace))
        assert session_id in [s.session_id for s in listed.sessions]


async def test_read_permission_edit_through_the_client(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    path = workspace / "a.py"
    path.write_text("x = 1\n", encoding="utf-8")
    fake_api.queue(
        reply(text("Let me look."), tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "x = 1", "new_string": "x = 2"})),
        reply(text("Done: x is 2.")),
    )
    async with acp_agent(workspace, fake_api.env()) as h:
        # The editor holds an unsaved line the disk does not have.
        h.client.buffers[str(path)] = "x = 1\n# unsaved\n"
        session_id = await h.new_session(workspace)
        result = await h.prompt(session_id, "set x to 2")
        assert result.stop_reason == "end_turn"
        assert result.usage is not None and result.usage.output_tokens == 15
        # The model read the editor's buffer, unsaved line included.
        requests = fake_api.wait_for_requests(3)
        assert "# unsaved" in requests[1].last_tool_result()
        # The edit was asked about with its diff, the exact path in the title, four option kinds.
        assert len(h.client.permissions) == 1
        asked = h.client.permissions[0]
        assert str(path) in (asked.tool_call.title or "")
        diffs = [c for c in asked.tool_call.content or [] if isinstance(c, acp.FileEditToolCallContent)]
        assert (
            diffs and diffs[0].old_text == "x = 1\n# unsaved\n" and diffs[0].new_text == "x = 2\n# unsaved\n"
        )
        assert {o.kind for o in asked.options} == {
            "allow_once",
            "allow_always",
            "reject_once",
            "reject_always",
        }
        # Written through the client, not behind its buffer.
        assert h.client.writes == [(str(path), "x = 2\n# unsaved\n")]
        assert path.read_text(encoding="utf-8") == "x = 1\n"
        # The stream: text, tool calls with kind/locations, final statuses with diff content.
        starts = h.client.of("tool_call", session_id)
        assert [(s.kind, [loc.path for loc in s.locations or []]) for s in starts] == [
            ("read", [str(path)]),
            ("edit", [str(path)]),
        ]
        finals = [
            u for u in h.client.of("tool_call_update", session_id) if u.status in ("completed", "failed")
        ]
        assert [u.status for u in finals] == ["completed", "completed"]
        edit_diffs = [c for c in finals[1].content or [] if isinstance(c, acp.FileEditToolCallContent)]
        assert edit_diffs and edit_diffs[0].new_text == "x = 2\n# unsaved\n"
        assert h.client.agent_text(session_id) == "Let me look.Done: x is 2."
        assert h.client.of("usage_update", session_id)
        assert h.client.of("available_commands_update", session_id)[0].available_commands[0].name == "compact"


async def test_bash_permission_always_writes_a_rule(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(
        reply(tool_use("Bash", {"command": "touch made.txt", "description": "make a file"})),
        reply(tool_use("Bash", {"command": "touch made.txt"})),
        reply(text("made")),
    )
    async with acp_agent(workspace, fake_api.env()) as h:
        h.client.answer = option("allow_always")
        session_id = await h.new_session(workspace)
        result = await h.prompt(session_id, "make a file twice")
        assert result.stop_reason == "end_turn"
        assert len(h.client.permissions) == 1  # the second call is covered by the rule
        asked = h.client.permissions[0]
        assert asked.tool_call.title == "Bash: touch made.txt"
        assert asked.tool_call.kind == "execute"
        rule = next(o.name for o in asked.options if o.kind == "allow_always").removeprefix("Always allow ")
        local = json.loads((workspace / ".claw" / "settings.local.json").read_text())
        assert local["permissions"]["allow"] == [rule]
        assert (workspace / "made.txt").exists()


async def test_rejected_edit_is_not_written(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    path = workspace / "a.py"
    path.write_text("x = 1\n", encoding="utf-8")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "x = 1", "new_string": "x = 3"})),
        reply(text("ok, left it")),
    )
    async with acp_agent(workspace, fake_api.env()) as h:
        h.client.answer = option("reject_once")
        session_id = await h.new_session(workspace)
        assert (await h.prompt(session_id, "set x to 3")).stop_reason == "end_turn"
        assert h.client.writes == []
        assert "rejected" in fake_api.wait_for_requests(3)[2].last_tool_result()
        assert path.read_text(encoding="utf-8") == "x = 1\n"
