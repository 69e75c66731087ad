"""Instruction comments, generic clients, encodings, races, diagnostics, sessions, settings."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import ALL_FEATURES, session, wait_until

ACCEPT = {"permissionMode": "acceptEdits"}


def point(line: int, char: int) -> types.Range:
    return types.Range(
        start=types.Position(line=line, character=char), end=types.Position(line=line, character=char)
    )


async def test_instruction_comment_is_removed_when_the_model_leaves_it(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "greet.py"
    path.write_text("def greet():\n    # claw: say hello\n    pass\n")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(
            tool_use(
                "Edit", {"file_path": str(path), "old_string": "    pass", "new_string": "    print('hello')"}
            )
        ),
        reply(text("Done.")),
    )
    async with session(workspace, "neovim", settings=ACCEPT, env=fake_api.env()) as client:
        doc = client.open(path)
        action = next(
            a for a in await client.code_actions(doc.uri, point(1, 0)) if a.title == "Claw: say hello"
        )
        run = await client.run_action(action)
        await wait_until(lambda: fake_api.requests, what="the first model request")
        prompt = fake_api.requests[0].body["messages"][0]
        assert "remove that comment" in str(prompt)
        await wait_until(lambda: client.progress_end(f"claw-{run['runId']}"), what="run end")
        await wait_until(lambda: "claw:" not in doc.text, what="comment removed")
        assert doc.text == "def greet():\n    print('hello')\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
async def test_edits_in_each_encoding_with_crlf_and_astral_text(
    workspace: Path, fake_api: FakeMessagesAPI, encoding: str
) -> None:
    path = workspace / "emoji.py"
    original = 'a = "😀😀"  # smile\r\nb = "𝄞 music"\r\nc = 3\r\n'
    path.write_bytes(original.encode())
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "music", "new_string": "🎵 tune"})),
        reply(text("ok")),
    )
    async with session(
        workspace, "neovim", settings=ACCEPT, env=fake_api.env(), encodings=[encoding]
    ) as client:
        assert client.encoding == encoding
        doc = client.open(path, original)
        run = await client.command("claw.ask", {"prompt": "retune"})
        await wait_until(lambda: client.progress_end(f"claw-{run['runId']}"), what="run end")
        assert doc.text == 'a = "😀😀"  # smile\r\nb = "𝄞 🎵 tune"\r\nc = 3\r\n'


async def test_user_typed_meanwhile_non_overlapping_edit_is_rebased(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "race.py"
    path.write_text("one = 1\ntwo = 2\nthree = 3\n")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(
            tool_use("Edit", {"file_path": str(path), "old_string": "three = 3", "new_string": "three = 33"})
        ),
        reply(text("ok")),
    )
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        doc = client.open(path)

        def user_types_then_accepts(_params: dict) -> dict:
            client.replace(doc.uri, 0, 3, "uno")  # the user edits line 1 during the review
            return {"decision": "accept"}

        client.answers["claw/review"] = user_types_then_accepts
        run = await client.command("claw.ask", {"prompt": "bump three"})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        assert doc.text == "uno = 1\ntwo = 2\nthree = 33\n"
        assert "merged" in fake_api.requests[-1].last_tool_result()


async def test_generic_client_without_optional_capabilities_creates_a_file(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    new_file = workspace / "pkg" / "new.py"
    fake_api.queue(
        reply(tool_use("Write", {"file_path": str(new_file), "content": "print('new')\n"})),
        reply(text("Created it.")),
    )
    async with session(workspace, "generic", settings=ACCEPT, env=fake_api.env()) as client:
        run = await client.command("claw.ask", {"prompt": "make a file"})
        assert run["runId"]
        await wait_until(new_file.exists, what="file created")
        await wait_until(
            lambda: any("end_turn" in m.message for m in client.log_messages), what="run end logged"
        )
        assert new_file.read_text() == "print('new')\n"
        assert client.progress_reports == {}  # no progress for a client that cannot show it
        assert client.events == []


async def test_new_errors_after_an_edit_go_back_to_the_model(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "typed.py"
    path.write_text("x: int = 1\n")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "= 1", "new_string": "= 'one'"})),
        reply(text("ok")),
    )
    async with session(workspace, features=ALL_FEATURES, settings=ACCEPT, env=fake_api.env()) as client:
        doc = client.open(path)
        old = {
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}},
            "message": "old warning kept",
            "severity": 1,
            "source": "pyright",
        }
        client.editor_diagnostics[doc.uri] = [old]

        def on_apply(_params: types.ApplyWorkspaceEditParams) -> None:
            bad = {
                "range": {"start": {"line": 0, "character": 9}, "end": {"line": 0, "character": 14}},
                "message": 'Type "str" is not assignable to "int"',
                "severity": 1,
                "source": "pyright",
            }
            client.editor_diagnostics[doc.uri] = [old, bad]

        client.before_apply = on_apply
        run = await client.command("claw.ask", {"prompt": "use a string"})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        result = str(fake_api.requests[2].body["messages"][-1]["content"])
        assert "The editor reports these errors in files you changed:" in result
        assert 'typed.py:1: Type "str" is not assignable to "int" [pyright]' in result
        assert "old warning kept" not in result


async def test_sessions_new_list_resume_and_input(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("hi")))
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        client.answers["claw/input"] = lambda p: {"value": "say hi"}
        first = (await client.command("claw.sessions.new"))["sessionId"]
        run = await client.command("claw.ask", {})
        assert run["sessionId"] == first
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        assert fake_api.requests[0].body["messages"][0]["content"][0]["text"].startswith("say hi")
        second = (await client.command("claw.sessions.new"))["sessionId"]
        listed = (await client.command("claw.sessions.list"))["sessions"]
        assert {s["sessionId"] for s in listed} >= {first, second}
        assert next(s for s in listed if s["sessionId"] == second)["active"]
        assert await client.command("claw.sessions.resume", {"sessionId": first}) == {"sessionId": first}
        assert (await client.command("claw.status"))["sessionId"] == first
        client.answers["claw/input"] = lambda p: {"value": None}
        assert (await client.command("claw.ask", {}))["runId"] is None


async def test_bad_settings_warn_once_with_key_and_reason(workspace: Path) -> None:
    async with session(
        workspace, settings={"maxTurns": 0}, configuration={"permissionMode": "yolo"}
    ) as client:
        await wait_until(lambda: client.messages, what="warning")
        await client.command("claw.status")
        warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
        assert len(warnings) == 1
        assert "maxTurns" in warnings[0] and "permissionMode" in warnings[0]
        client.set_configuration({"permissionMode": "yolo"}, section="claw")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        status = await client.command("claw.status")
        assert status["permissionMode"] == "default"
        client.set_configuration({"permissionMode": "acceptEdits"}, section="claw")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        await wait_until(lambda: True)
        await asyncio.sleep(0.3)
        assert (await client.command("claw.status"))["permissionMode"] == "acceptEdits"
        assert len([m for m in client.messages if m.type == types.MessageType.Warning]) == 1


async def test_status_names_the_default_model_not_a_placeholder(workspace: Path) -> None:
    async with session(workspace) as client:
        status = await wait_until_status_model(client)
        assert status["provider"] == "anthropic"
        assert status["model"].startswith("claude-sonnet"), status["model"]


async def wait_until_status_model(client: Any) -> dict[str, Any]:
    """claw.status once the server has resolved the default model (after its SDK warm-up)."""
    status: dict[str, Any] = {}

    async def resolved() -> bool:
        status.update(await client.command("claw.status"))
        return status["model"] != "default"

    for _ in range(100):
        if await resolved():
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"the model stayed {status.get('model')!r}")


async def test_status_reports_the_active_sessions_cost_and_the_servers_total(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("hello"), usage={"input_tokens": 1000, "output_tokens": 500}))
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        run = await client.command("claw.ask", {"prompt": "hi"})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        first = await client.command("claw.status")
        assert first["costUsd"] > 0 and first["costUsd"] == first["totalCostUsd"]
        assert first["usage"]["input_tokens"] == 1000
        await client.command("claw.sessions.new")
        second = await client.command("claw.status")
        assert second["costUsd"] == 0 and second["usage"]["input_tokens"] == 0
        assert second["totalCostUsd"] == first["totalCostUsd"]
