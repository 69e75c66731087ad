"""Files with and without the client's fs: never clobbering the user's typing, disk edits for a
client without fs, modes, the plan, and prompt content blocks reaching the model."""

from __future__ import annotations

from pathlib import Path

import acp.schema as acp
import pytest

from tests.acp.harness import acp_agent, option
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use

pytestmark = pytest.mark.asyncio


async def test_user_typing_during_the_question_is_never_clobbered(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "a.py"
    path.write_text("x = 1\ny = 1\n", encoding="utf-8")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "x = 1", "new_string": "x = 2"})),
        reply(text("I will read it again.")),
    )
    async with acp_agent(workspace, fake_api.env()) as h:
        allow = option("allow_once")

        def type_then_allow(request: acp.RequestPermissionRequest) -> acp.RequestPermissionResponse:
            h.client.buffers[str(path)] = "x = 1\ny = 99  # typed by the user\n"
            return allow(request)

        h.client.answer = type_then_allow
        session_id = await h.new_session(workspace)
        assert (await h.prompt(session_id, "set x to 2")).stop_reason == "end_turn"
        assert h.client.writes == []
        assert h.client.buffers[str(path)] == "x = 1\ny = 99  # typed by the user\n"
        result = fake_api.wait_for_requests(3)[2].tool_results()[-1]
        assert result.is_error and "changed in the editor since you read it" in result.text


async def test_user_typing_before_the_edit_is_refused_without_asking(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "a.py"
    path.write_text("x = 1\n", encoding="utf-8")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        lambda _req: reply(
            tool_use("Edit", {"file_path": str(path), "old_string": "x = 1", "new_string": "x = 2"})
        ),
        reply(text("ok")),
    )
    async with acp_agent(workspace, fake_api.env()) as h:
        reads = 0

        def on_read(p: str) -> None:
            nonlocal reads
            reads += 1
            if reads == 2:  # before the Edit runs, the user changed the line the model read
                h.client.buffers[p] = "x = 10\n"

        h.client.on_read = on_read
        session_id = await h.new_session(workspace)
        assert (await h.prompt(session_id, "set x")).stop_reason == "end_turn"
        assert h.client.writes == [] and h.client.permissions == []
        assert fake_api.wait_for_requests(3)[2].tool_results()[-1].is_error


async def test_client_without_fs_edits_on_disk(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    path = workspace / "a.py"
    path.write_text("x = 1\n", encoding="utf-8")
    todos = [
        {"content": "Change x", "status": "in_progress", "activeForm": "Changing x"},
        {"content": "Say so", "status": "pending", "activeForm": "Saying so"},
    ]
    fake_api.queue(
        reply(tool_use("TodoWrite", {"todos": todos}), tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "x = 1", "new_string": "x = 5"})),
        reply(text("x is 5")),
    )
    async with acp_agent(workspace, fake_api.env(), fs=False) as h:
        session_id = await h.new_session(workspace)
        await h.conn.set_session_mode(session_id=session_id, mode_id="acceptEdits")
        assert (await h.prompt(session_id, "set x to 5")).stop_reason == "end_turn"
        assert path.read_text(encoding="utf-8") == "x = 5\n"
        assert h.client.reads == [] and h.client.writes == [] and h.client.permissions == []
        modes = h.client.of("current_mode_update", session_id)
        assert [m.current_mode_id for m in modes] == ["acceptEdits"]
        [plan] = h.client.of("plan", session_id)
        assert [(e.content, e.status) for e in plan.entries] == [
            ("Change x", "in_progress"),
            ("Say so", "pending"),
        ]


async def test_modes_are_declared_and_checked(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    from acp.exceptions import RequestError

    async with acp_agent(workspace, fake_api.env()) as h:
        response = await h.conn.new_session(cwd=str(workspace), mcp_servers=[])
        assert response.modes is not None
        assert [m.id for m in response.modes.available_modes] == [
            "default",
            "acceptEdits",
            "plan",
            "bypassPermissions",
        ]
        assert response.modes.current_mode_id == "default"
        with pytest.raises(RequestError) as raised:
            await h.conn.set_session_mode(session_id=response.session_id, mode_id="yolo")
        assert raised.value.code == -32602


async def test_resource_links_and_embedded_resources_reach_the_model(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("seen")))
    async with acp_agent(workspace, fake_api.env()) as h:
        session_id = await h.new_session(workspace)
        uri = (workspace / "b.py").as_uri()
        blocks = [
            acp.TextContentBlock(type="text", text="explain"),
            acp.ResourceContentBlock(type="resource_link", uri=uri, name="b.py"),
            acp.EmbeddedResourceContentBlock(
                type="resource",
                resource=acp.TextResourceContents(uri=uri, text="def answer():\n    return 42\n"),
            ),
        ]
        assert (await h.conn.prompt(session_id=session_id, prompt=blocks)).stop_reason == "end_turn"
        sent = str(fake_api.wait_for_requests(1)[0].body["messages"][-1])
        assert "explain" in sent and uri in sent and "return 42" in sent
