"""Workspace trust through the language server: the editor is asked once (window/showMessageRequest)
when the folder's own settings would widen what the agent may do; the answer is remembered and
applied; `claw.workspace.trust` changes it later."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types

from claw_lsp.config import TrustStore
from claw_lsp.server.app import DISTRUST_ACTION, TRUST_ACTION
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import ALL_FEATURES, ClawClient, session, wait_until

COMMAND = "touch made.txt"


def bypassing_repo(workspace: Path, api: FakeMessagesAPI) -> None:
    (workspace / ".claw").mkdir()
    (workspace / ".claw" / "settings.json").write_text(
        json.dumps({"permissionMode": "bypassPermissions", "permissions": {"deny": ["Read(./.env)"]}})
    )
    api.queue(reply(tool_use("Bash", {"command": COMMAND})), reply(text("Done.")))


def trust_questions(client: ClawClient) -> list[types.ShowMessageRequestParams]:
    return [p for p in client.message_requests if "Trust this folder?" in p.message]


async def run_once(client: ClawClient) -> None:
    run = await client.command("claw.ask", {"prompt": "make the file"})
    await wait_until(lambda: client.finished(run["runId"]), what="run end")


async def test_trusting_applies_the_folders_mode_and_is_remembered(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    bypassing_repo(workspace, fake_api)
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        client.answer_message = lambda p: TRUST_ACTION if "Trust this folder?" in p.message else None
        await wait_until(lambda: trust_questions(client), what="the trust question")
        (question,) = trust_questions(client)
        assert "permissionMode 'bypassPermissions' (.claw/settings.json)" in question.message
        assert [a.title for a in question.actions or []] == [TRUST_ACTION, DISTRUST_ACTION]
        status = await wait_until_status(client, lambda s: s["trusted"] is True)
        assert status["permissionMode"] == "bypassPermissions" and status["heldBack"] == []
        await run_once(client)
        assert (workspace / "made.txt").exists()  # bypassPermissions: no claw/permission asked
        assert not [m for m, _ in client.custom_requests if m == "claw/permission"]
    assert TrustStore().decision(workspace) is True
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        status = await client.command("claw.status")
        assert status["trusted"] is True and status["permissionMode"] == "bypassPermissions"
        assert trust_questions(client) == []  # asked once per folder


async def test_an_undecided_folder_keeps_the_default_mode_until_trusted_by_command(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    bypassing_repo(workspace, fake_api)
    fake_api.queue(reply(tool_use("Bash", {"command": COMMAND})), reply(text("Done again.")))
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        await wait_until(lambda: trust_questions(client), what="the trust question")  # dismissed
        status = await client.command("claw.status")
        assert status["trusted"] is None and status["permissionMode"] == "default"
        assert status["heldBack"] == ["permissionMode 'bypassPermissions' (.claw/settings.json)"]
        client.answers["claw/permission"] = lambda _p: {
            "outcome": {"outcome": "selected", "optionId": "reject_once"}
        }
        await run_once(client)
        assert not (workspace / "made.txt").exists()
        assert [m for m, _ in client.custom_requests if m == "claw/permission"]  # asked, not bypassed
        report = await client.command("claw.workspace.trust", {})
        assert report == {
            "folder": str(workspace),
            "trusted": None,
            "heldBack": status["heldBack"],
        }
        trusted = await client.command("claw.workspace.trust", {"trusted": True})
        assert trusted["trusted"] is True and trusted["heldBack"] == []
        asked = len(client.custom_requests)
        await run_once(client)
        assert (workspace / "made.txt").exists()
        assert not [m for m, _ in client.custom_requests[asked:] if m == "claw/permission"]
        revoked = await client.command("claw.workspace.trust", {"trusted": False})
        assert revoked["trusted"] is False and revoked["heldBack"]
        assert (await client.command("claw.status"))["permissionMode"] == "default"
        forgotten = await client.command("claw.workspace.trust", {"trusted": None})
        assert forgotten["trusted"] is None
    assert TrustStore().decision(workspace) is None


async def test_dont_trust_is_remembered_and_not_asked_again(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    bypassing_repo(workspace, fake_api)
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        client.answer_message = lambda p: DISTRUST_ACTION if "Trust this folder?" in p.message else None
        await wait_until(lambda: trust_questions(client), what="the trust question")
        await wait_until_status(client, lambda s: s["trusted"] is False)
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        status = await client.command("claw.status")
        assert status["trusted"] is False and status["permissionMode"] == "default"
        assert trust_questions(client) == []


async def test_a_folder_that_ships_nothing_widening_is_never_asked(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    (workspace / ".claw").mkdir()
    (workspace / ".claw" / "settings.json").write_text(json.dumps({"maxTurns": 5, "permissionMode": "plan"}))
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        status = await client.command("claw.status")
        assert status["permissionMode"] == "plan" and status["trusted"] is None and status["heldBack"] == []
        assert trust_questions(client) == []


async def test_bad_trust_arguments_are_invalid_params(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        try:
            await client.command("claw.workspace.trust", {"trusted": "yes please"})
        except Exception as exc:  # pygls raises the JSON-RPC error as an exception
            assert "bad arguments" in str(exc)
        else:
            raise AssertionError("a string for `trusted` was accepted")
        assert TrustStore().decision(workspace) is None


async def wait_until_status(
    client: ClawClient, condition: Callable[[dict[str, Any]], bool], timeout: float = 15.0
) -> dict[str, Any]:
    """Poll claw.status until `condition(status)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        status = await client.command("claw.status")
        if condition(status):
            return status
        assert time.monotonic() < deadline, f"status never matched: {status}"
        await asyncio.sleep(0.1)
