"""Files the editor does NOT have open: written to disk (atomically, encoding and line endings kept),
never sent as a TextDocumentEdit (Neovim would load it into a hidden unsaved buffer, VS Code into a
dirty editor), so a following Bash sees the new text. Files deleted or renamed by Bash.

No production tool deletes or renames files through the server (Edit, MultiEdit and Write only
create and modify; deleting and moving is Bash `rm` / `mv`), so no DeleteFile / RenameFile / CreateFile
resource operation is ever sent; the tests check what the user sees on disk instead.
Production server, fake model, clients declaring resource operations (VS Code, Neovim).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_results, tool_use
from tests.lsp.client import ask, held, session, start_run, wait_run, wait_until

BYPASS = {"permissionMode": "bypassPermissions"}
EDITORS = [("visual-studio-code", "vscode"), ("neovim", "neovim")]


@pytest.mark.parametrize(("client_name", "editor"), EDITORS)
async def test_new_file_is_created_on_disk_and_no_workspace_edit_is_sent(
    workspace: Path, fake_api: FakeMessagesAPI, client_name: str, editor: str
) -> None:
    path = workspace / "pkg" / "new file é.py"
    content = "print('hi')\r\nprint('😀')\r\n"
    fake_api.queue(
        reply(tool_use("Write", {"file_path": str(path), "content": content})),
        reply(text("Created.")),
    )
    async with session(workspace, client_name, settings=BYPASS, env=fake_api.env(), editor=editor) as client:
        await ask(client, "make a file")
        assert path.read_bytes() == content.encode()
        assert client.applied == []
        assert client.docs == {}  # no editor buffer was opened for it
        result = tool_results(fake_api.requests[-1].body)[-1]
        assert not result.is_error and "Not applied" not in result.text, result


@pytest.mark.parametrize(
    ("original", "encoded"),
    [
        ("a = 'é'\r\nb = 2\r\n", "utf-8"),
        ("a = 'é'\nb = 2\n", "latin-1"),
        ("a = 'é'\r\nb = 2\r\n", "utf-8-sig"),
    ],
    ids=["crlf", "latin-1", "utf-8-bom"],
)
@pytest.mark.parametrize(("client_name", "editor"), EDITORS)
async def test_edit_to_a_not_open_file_is_written_to_disk_without_a_document_edit_and_bash_sees_it(
    workspace: Path,
    fake_api: FakeMessagesAPI,
    client_name: str,
    editor: str,
    original: str,
    encoded: str,
) -> None:
    path = workspace / "closed.py"
    path.write_bytes(original.encode(encoded))
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(
            tool_use(
                "Edit", {"file_path": str(path), "old_string": "b = 2", "new_string": "b = 'two'\nc = 3"}
            )
        ),
        reply(tool_use("Bash", {"command": f"cat {path.name}"})),
        reply(text("Done.")),
    )
    newline = "\r\n" if "\r\n" in original else "\n"
    expected = original.replace("b = 2", f"b = 'two'{newline}c = 3")
    async with session(workspace, client_name, settings=BYPASS, env=fake_api.env(), editor=editor) as client:
        await ask(client, "change b")
        assert path.read_bytes() == expected.encode(encoded)
        assert client.applied == []  # no TextDocumentEdit, no resource operation
        assert client.docs == {}
        edit_result, bash_result = tool_results(fake_api.requests[-1].body)[1:]
        assert not edit_result.is_error and "Not applied" not in edit_result.text, edit_result
        assert "b = 'two'" in bash_result.text and "c = 3" in bash_result.text, bash_result
        assert "unsaved" not in bash_result.text.lower()


DISK = "a = 1\n\n\nb = 2\n"


@pytest.mark.parametrize(
    ("theirs", "merged"),
    [("a = 100\n\n\nb = 2\n", "a = 100\n\n\nb = 200\n"), ("a = 1\n\n\nb = 5\n", None)],
    ids=["elsewhere-merged", "same-line-refused"],
)
async def test_not_open_file_changed_on_disk_after_the_read_is_merged_or_refused(
    workspace: Path, fake_api: FakeMessagesAPI, theirs: str, merged: str | None
) -> None:
    path = workspace / "disk.py"
    path.write_text(DISK)
    gate = threading.Event()
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        held(
            reply(tool_use("Edit", {"file_path": str(path), "old_string": "b = 2", "new_string": "b = 200"})),
            gate,
        ),
        reply(text("Done.")),
    )
    async with session(workspace, settings=BYPASS, env=fake_api.env(), editor="vscode") as client:
        run = await start_run(client, "b = 200")
        await wait_until(lambda: len(fake_api.requests) >= 2, what="the Edit turn")
        path.write_text(theirs)  # another program changes the file after the agent read it
        gate.set()
        await wait_run(client, run)
        result = tool_results(fake_api.requests[-1].body)[-1]
        assert client.applied == []
        if merged is not None:
            assert path.read_text() == merged
            assert not result.is_error and "merged" in result.text, result
        else:
            assert path.read_text() == theirs  # their change kept, nothing written
            assert result.is_error and "Not applied" in result.text, result


async def test_file_moved_by_bash_is_edited_at_its_new_path_on_disk(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    old, new = workspace / "old.py", workspace / "sub" / "new.py"
    old.write_text("NAME = 'old'\n")
    (workspace / "sub").mkdir()
    fake_api.queue(
        reply(tool_use("Bash", {"command": "mv old.py sub/new.py"})),
        reply(tool_use("Read", {"file_path": str(new)})),
        reply(tool_use("Edit", {"file_path": str(new), "old_string": "'old'", "new_string": "'new'"})),
        reply(tool_use("Read", {"file_path": str(old)})),
        reply(text("Moved and renamed.")),
    )
    async with session(workspace, "neovim", settings=BYPASS, env=fake_api.env(), editor="neovim") as client:
        await ask(client, "move it")
        assert new.read_text() == "NAME = 'new'\n"
        assert not old.exists()
        assert client.applied == []
        results = tool_results(fake_api.requests[-1].body)
        assert not results[2].is_error, results[2]
        assert results[3].is_error  # the old path is gone
