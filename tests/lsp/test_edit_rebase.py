"""When the buffer moved on (the user typed, another run edited, the editor refused a stale version).

Non-overlapping changes are merged (three-way) and the edit applies; overlapping typing makes the
edit "Not applied" with the reason; a stale refusal is retried from the fresh buffer. No user
character is ever lost. Production server, fake model, editor-like client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.fakes.fake_messages_api import (
    FakeMessagesAPI,
    RecordedRequest,
    reply,
    text,
    tool_results,
    tool_use,
)
from tests.lsp.client import (
    ALL_FEATURES,
    ClawClient,
    ask,
    document_edits,
    held,
    session,
    start_run,
    synced,
    wait_run,
    wait_until,
)

MODES = ["default", "acceptEdits", "bypassPermissions"]
BASE = "def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\ndef c():\n    return 3\n"


def once(action: Callable[[], None]) -> Callable[[types.ApplyWorkspaceEditParams], None]:
    """A before_apply hook that runs `action` before the first workspace edit only."""
    done: list[bool] = []

    def hook(_params: types.ApplyWorkspaceEditParams) -> None:
        if not done:
            done.append(True)
            action()

    return hook


def edit(path: Path, old: str, new: str) -> dict[str, Any]:
    return tool_use("Edit", {"file_path": str(path), "old_string": old, "new_string": new})


async def type_while_the_model_thinks(
    client: ClawClient, api: FakeMessagesAPI, requests: int, action: Callable[[], None], gate: threading.Event
) -> None:
    """Once the model was asked `requests` times (its answer held back), the user types; then release."""
    await wait_until(lambda: len(api.requests) >= requests, what=f"model request {requests}")
    action()
    await synced(client)
    gate.set()


def session_for(mode: str, workspace: Path, api: FakeMessagesAPI, **kwargs: Any) -> Any:
    return session(
        workspace,
        kwargs.pop("client_name", "visual-studio-code"),
        features=ALL_FEATURES,
        settings={"permissionMode": mode},
        env=api.env(),
        **kwargs,
    )


@pytest.mark.parametrize("mode", MODES)
async def test_user_typing_since_the_read_is_merged_and_the_edit_applies(
    workspace: Path, fake_api: FakeMessagesAPI, mode: str
) -> None:
    path = workspace / "m.py"
    path.write_text(BASE)
    gate = threading.Event()
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        held(reply(edit(path, "return 2", "return 20")), gate),
        reply(text("Done.")),
    )
    async with session_for(mode, workspace, fake_api, editor="vscode") as client:
        client.answers["claw/review"] = lambda _p: {"decision": "accept"}
        doc = client.open(path)
        run = await start_run(client, "return 20 from b")
        await type_while_the_model_thinks(
            client, fake_api, 2, lambda: client.replace_text(doc.uri, "return 1", "return 10"), gate
        )
        await wait_run(client, run)
        assert doc.text == BASE.replace("return 1", "return 10").replace("return 2", "return 20")
        result = tool_results(fake_api.requests[-1].body)[-1]
        assert not result.is_error and "Not applied" not in result.text, result
        assert "merged" in result.text
        assert path.read_text() == BASE


@pytest.mark.parametrize("mode", MODES)
async def test_overlapping_typing_refuses_the_edit_with_the_reason_and_keeps_every_user_character(
    workspace: Path, fake_api: FakeMessagesAPI, mode: str
) -> None:
    path = workspace / "o.py"
    path.write_text(BASE)
    gate = threading.Event()
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        held(reply(edit(path, "return 2", "return 42")), gate),
        reply(text("It was refused.")),
    )
    mine = BASE.replace("return 2", "return 3  # mine")
    async with session_for(mode, workspace, fake_api, editor="vscode") as client:
        client.answers["claw/review"] = lambda _p: {"decision": "accept"}
        doc = client.open(path)
        run = await start_run(client, "return 42 from b")
        await type_while_the_model_thinks(
            client, fake_api, 2, lambda: client.replace_text(doc.uri, "return 2", "return 3  # mine"), gate
        )
        await wait_run(client, run)
        assert doc.text == mine
        result = tool_results(fake_api.requests[-1].body)[-1]
        assert result.is_error and "Not applied" in result.text, result
        assert "user" in result.text.lower()
        assert client.applied == []


async def test_keystroke_elsewhere_between_two_edits_is_merged_into_the_later_edit(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "k.py"
    path.write_text(BASE)
    gate = threading.Event()
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(edit(path, "return 1", "return 100")),
        held(reply(edit(path, "return 3", "return 300")), gate),
        reply(text("Both done.")),
    )
    async with session_for("acceptEdits", workspace, fake_api, editor="vscode") as client:
        doc = client.open(path)
        run = await start_run(client, "scale a and c")
        await type_while_the_model_thinks(
            client, fake_api, 3, lambda: client.replace_text(doc.uri, "def b():", "def bb():"), gate
        )
        await wait_run(client, run)
        assert doc.text == (
            BASE.replace("return 1", "return 100")
            .replace("def b():", "def bb():")
            .replace("return 3", "return 300")
        )
        first, second = tool_results(fake_api.requests[-1].body)[1:]
        assert not first.is_error and not second.is_error, (first, second)
        assert "Not applied" not in second.text and "merged" in second.text, second


async def test_overlapping_keystroke_between_two_edits_refuses_the_later_edit_with_the_reason(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "k.py"
    path.write_text(BASE)
    gate = threading.Event()
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(edit(path, "return 1", "return 100")),
        held(reply(edit(path, "return 3", "return 300")), gate),
        reply(text("The second was refused.")),
    )
    async with session_for("acceptEdits", workspace, fake_api, editor="vscode") as client:
        doc = client.open(path)
        run = await start_run(client, "scale a and c")
        await type_while_the_model_thinks(
            client, fake_api, 3, lambda: client.replace_text(doc.uri, "return 3", "return 3!"), gate
        )
        await wait_run(client, run)
        assert doc.text == BASE.replace("return 1", "return 100").replace("return 3", "return 3!")
        first, second = tool_results(fake_api.requests[-1].body)[1:]
        assert not first.is_error, first
        assert second.is_error and "Not applied" in second.text and "user" in second.text.lower(), second


async def test_stale_edit_neovim_drops_while_answering_applied_is_retried_on_the_fresh_buffer(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "n.txt"
    original = "one\ntwo\nthree\nfour\nfive\n"
    path.write_text(original)
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(edit(path, "five", "5")),
        reply(text("Done.")),
    )
    async with session(
        workspace, "neovim", settings={"permissionMode": "acceptEdits"}, env=fake_api.env(), editor="neovim"
    ) as client:
        doc = client.open(path)
        # The user types between the server's send and Neovim's apply: the versioned edit is stale.
        client.before_apply = once(lambda: client.replace_text(doc.uri, "one", "ONE"))
        await ask(client, "five as a digit", timeout=60)
        assert doc.text == "ONE\ntwo\nthree\nfour\n5\n"
        assert len(client.applied) >= 2  # the dropped edit, then the retry against the fresh version
        assert document_edits(client.applied[-1])[0].text_document.version == 2
        result = tool_results(fake_api.requests[-1].body)[-1]
        assert not result.is_error and "Not applied" not in result.text, result
        assert "merged" in result.text


async def test_eglot_stale_version_error_is_retried_after_its_late_did_change_and_reported_applied(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "x.py"
    path.write_text(BASE)
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(edit(path, "return 3", "return 33")),
        reply(text("Done.")),
    )
    async with session(
        workspace, "emacs", settings={"permissionMode": "acceptEdits"}, env=fake_api.env(), editor="eglot"
    ) as client:
        doc = client.open(path)
        # eglot bumps the version at the keystroke and sends didChange 0.5 s later: the edit, built
        # for the version the server knows, is answered "Edits on `x.py' require version 1, you have 2".
        client.before_apply = once(lambda: client.replace_text(doc.uri, "return 1", "return 11"))
        await ask(client, "return 33 from c", timeout=60)
        assert doc.text == BASE.replace("return 1", "return 11").replace("return 3", "return 33")
        assert len(client.applied) >= 2
        result = tool_results(fake_api.requests[-1].body)[-1]
        assert not result.is_error and "Not applied" not in result.text, result
        assert "refused" not in result.text and "require version" not in result.text


async def test_two_runs_editing_one_buffer_at_once_are_serialized_and_both_land(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "c.txt"
    original = "".join(f"line {i}\n" for i in range(10))
    path.write_text(original)
    scripts = {
        "FIRST": [
            reply(tool_use("Read", {"file_path": str(path)})),
            reply(edit(path, "line 1\n", "LINE 1\n")),
            reply(text("first done")),
        ],
        "SECOND": [
            reply(tool_use("Read", {"file_path": str(path)})),
            reply(edit(path, "line 8\n", "LINE 8\n")),
            reply(text("second done")),
        ],
    }
    both_read = threading.Barrier(2, timeout=20)

    def route(request: RecordedRequest) -> dict[str, Any]:
        messages = request.body["messages"]
        which = "FIRST" if "FIRST" in str(messages[0]) else "SECOND"
        turn = sum(1 for m in messages if m["role"] == "assistant")
        if turn == 1:
            both_read.wait()  # both runs read the same text before either edits
        return scripts[which][turn]

    fake_api.queue(*[route] * 6)
    async with session(
        workspace, "neovim", settings={"permissionMode": "acceptEdits"}, env=fake_api.env(), editor="neovim"
    ) as client:
        doc = client.open(path)
        one = (await client.command("claw.sessions.new"))["sessionId"]
        two = (await client.command("claw.sessions.new"))["sessionId"]
        runs = [
            await start_run(client, "FIRST: capitalize line 1", sessionId=one),
            await start_run(client, "SECOND: capitalize line 8", sessionId=two),
        ]
        await asyncio.gather(*(wait_run(client, r, 60) for r in runs))
        assert doc.text == original.replace("line 1\n", "LINE 1\n").replace("line 8\n", "LINE 8\n")
        edits = [
            tool_results(r.body)[-1]
            for r in fake_api.requests
            if len(tool_results(r.body)) == 2  # the request answering each run's Edit
        ]
        assert len(edits) == 2
        for result in edits:
            assert not result.is_error and "Not applied" not in result.text, result
        assert sum("merged" in r.text for r in edits) == 1


async def test_user_typing_inside_neovims_debounce_window_still_confirms_the_edit(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "t.txt"
    original = "alpha\nbeta\ngamma\ndelta\n"
    path.write_text(original)
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(edit(path, "delta", "DELTA")),
        reply(text("Done.")),
    )
    async with session(
        workspace, "neovim", settings={"permissionMode": "acceptEdits"}, env=fake_api.env(), editor="neovim"
    ) as client:
        client.debounce = 0.3
        doc = client.open(path)

        def type_soon() -> None:
            # Within the debounce, the user's keystroke lands in the same didChange as the edit.
            asyncio.get_running_loop().call_later(
                0.05, lambda: client.replace_text(doc.uri, "alpha", "alpha!")
            )

        client.before_apply = once(type_soon)
        await ask(client, "shout delta", timeout=60)
        assert doc.text == "alpha!\nbeta\ngamma\nDELTA\n"
        assert len(client.applied) == 1
        result = tool_results(fake_api.requests[-1].body)[-1]
        assert not result.is_error and "Not applied" not in result.text, result


async def test_neovim_buffer_at_version_zero_never_takes_an_edit_at_stale_positions(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    """Neovim opens buffers at version 0 and checks only versions above 0: the server moves the
    buffer past version 0 first, so the user's typing just before the edit lands is never split."""
    path = workspace / "z.py"
    path.write_text(BASE)
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(edit(path, "return 3", "return 300")),
        reply(text("Done.")),
    )
    neovim = {"client_name": "neovim", "editor": "neovim"}
    async with session_for("acceptEdits", workspace, fake_api, **neovim) as client:
        doc = client.open(path, version=0)
        typed: list[bool] = []

        def type_first(params: Any) -> None:
            if not typed:  # the user types at the top just before the first edit arrives
                typed.append(True)
                client.replace_text(doc.uri, "def a():", "# mine\ndef a():")

        client.before_apply = type_first
        await ask(client, "scale c", timeout=60)
        await synced(client)
        sent = [(e.text_document.version, e.edits) for p in client.applied for e in document_edits(p)]
        assert "# mine\ndef a():" in doc.text, (doc.text, sent)
        result = tool_results(fake_api.requests[-1].body)[-1]
        if result.is_error:
            assert doc.text == BASE.replace("def a():", "# mine\ndef a():")
        else:
            want = BASE.replace("def a():", "# mine\ndef a():").replace("return 3", "return 300")
            assert doc.text == want, sent
