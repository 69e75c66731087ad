"""Before Bash: only files the agent changed in this run are saved (claw/saveDocuments), never a file
that also holds the user's own unsaved typing, never the user's other dirty buffers; the model is told
which files stay unsaved. Production server, fake model, VS Code-like client.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_results, tool_use
from tests.lsp.client import (
    ALL_FEATURES,
    ClawClient,
    ask,
    held,
    session,
    start_run,
    synced,
    wait_run,
    wait_until,
)

BYPASS = {"permissionMode": "bypassPermissions"}


def saves(client: ClawClient) -> list[list[str]]:
    """The URI lists of every claw/saveDocuments request the server sent."""
    return [p["uris"] for m, p in client.custom_requests if m == "claw/saveDocuments"]


async def test_client_that_cannot_save_gets_the_edited_files_named_unsaved_to_the_model(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "s.py"
    path.write_text("VALUE = 1\n")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "= 1", "new_string": "= 2"})),
        reply(tool_use("Bash", {"command": "cat s.py"})),
        reply(text("Done.")),
    )
    async with session(workspace, settings=BYPASS, env=fake_api.env(), editor="vscode") as client:
        doc = client.open(path)
        await ask(client, "bump and show")
        assert doc.text == "VALUE = 2\n"
        assert path.read_text() == "VALUE = 1\n"
        bash = tool_results(fake_api.requests[-1].body)[-1]
        assert "VALUE = 1" in bash.text and "s.py" in bash.text and "unsaved" in bash.text.lower(), bash


async def test_only_files_changed_in_this_run_are_saved_and_other_dirty_buffers_are_never_written(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    earlier, now, other = workspace / "earlier.py", workspace / "now.py", workspace / "other.py"
    for path in (earlier, now, other):
        path.write_text(f"NAME = '{path.stem}'\n")
    fake_api.queue(
        # run 1 changes earlier.py and ends (its change stays unsaved in the editor)
        reply(tool_use("Read", {"file_path": str(earlier)})),
        reply(
            tool_use(
                "Edit", {"file_path": str(earlier), "old_string": "'earlier'", "new_string": "'EARLIER'"}
            )
        ),
        reply(text("Changed earlier.py.")),
        # run 2 changes now.py, then runs Bash
        reply(tool_use("Read", {"file_path": str(now)})),
        reply(tool_use("Edit", {"file_path": str(now), "old_string": "'now'", "new_string": "'NOW'"})),
        reply(tool_use("Bash", {"command": "cat now.py earlier.py other.py"})),
        reply(text("Done.")),
    )
    async with session(
        workspace, features=ALL_FEATURES, settings=BYPASS, env=fake_api.env(), editor="vscode"
    ) as client:
        docs = {p: client.open(p) for p in (earlier, now, other)}
        client.replace_text(docs[other].uri, "'other'", "'mine, unsaved'")  # the user's own dirty buffer
        await ask(client, "change earlier.py")
        await ask(client, "change now.py and show the files")
        assert saves(client) == [[docs[now].uri]]
        assert now.read_text() == "NAME = 'NOW'\n"
        assert earlier.read_text() == "NAME = 'earlier'\n"  # changed in another run: not saved now
        assert other.read_text() == "NAME = 'other'\n"
        assert docs[other].text == "NAME = 'mine, unsaved'\n"
        bash = tool_results(fake_api.requests[-1].body)[-1]
        assert "NAME = 'NOW'" in bash.text


@pytest.mark.parametrize("when", ["before-the-run", "after-the-read"])
async def test_file_with_the_users_own_unsaved_typing_is_not_saved_and_the_model_is_told(
    workspace: Path, fake_api: FakeMessagesAPI, when: str
) -> None:
    path = workspace / "a.py"
    original = "def f():\n    return 1\n\n\ndef g():\n    return 2\n"
    path.write_text(original)
    gate = threading.Event()
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        held(
            reply(
                tool_use(
                    "Edit", {"file_path": str(path), "old_string": "return 2", "new_string": "return 20"}
                )
            ),
            gate,
        ),
        reply(tool_use("Bash", {"command": "cat a.py"})),
        reply(text("Done.")),
    )
    async with session(
        workspace, features=ALL_FEATURES, settings=BYPASS, env=fake_api.env(), editor="vscode"
    ) as client:
        doc = client.open(path)

        def user_types() -> None:
            client.replace_text(doc.uri, "return 1", "return 1  # user's note")

        if when == "before-the-run":
            user_types()
            gate.set()
        run = await start_run(client, "return 20 from g, then show the file")
        if when == "after-the-read":
            await wait_until(lambda: len(fake_api.requests) >= 2, what="the Edit turn")
            user_types()
            await synced(client)
            gate.set()
        await wait_run(client, run)
        assert doc.text == original.replace("return 1", "return 1  # user's note").replace(
            "return 2", "return 20"
        )
        assert all(doc.uri not in uris for uris in saves(client))
        assert path.read_text() == original  # the user's typing is not saved for them
        bash = tool_results(fake_api.requests[-1].body)[-1]
        assert "a.py" in bash.text and "unsaved" in bash.text.lower(), bash
