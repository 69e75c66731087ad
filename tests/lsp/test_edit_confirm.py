"""An Edit to an open buffer: one versioned edit of minimal TextEdits, counted only once didChange shows it.

The production server (`claw-lsp`) runs as a subprocess; the fake Messages API plays the model's
Read / Edit / MultiEdit / Write calls; the client handles edits like VS Code, Neovim or eglot do
(`ClawClient.behave_like`). Every test checks what the user sees (the buffer, the disk) and what the
model was told (its tool_result).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_results, tool_use
from tests.lsp.client import ask, document_edits, session

ACCEPT = {"permissionMode": "acceptEdits"}
BIG = "".join(f"row {i} 😀 𝔘 é\r\n" for i in range(2_000))


def applied_ok(api: FakeMessagesAPI) -> None:
    """Every tool_result the model got says the tool worked."""
    results = tool_results(api.requests[-1].body)
    assert results, "the model got no tool_result"
    for result in results:
        assert not result.is_error and "Not applied" not in result.text, result


async def test_edit_to_open_buffer_is_one_small_versioned_annotated_edit_and_disk_is_untouched(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "big.py"
    path.write_bytes(BIG.encode())
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(
            tool_use(
                "Edit",
                {"file_path": str(path), "old_string": "row 1500 😀 𝔘 é", "new_string": "row 1500 😀 𝔘 è!"},
            )
        ),
        reply(text("Done.")),
    )
    async with session(
        workspace, "visual-studio-code", settings=ACCEPT, env=fake_api.env(), editor="vscode"
    ) as client:
        doc = client.open(path, BIG)
        await ask(client, "accent row 1500")
        assert doc.text == BIG.replace("row 1500 😀 𝔘 é\r\n", "row 1500 😀 𝔘 è!\r\n")
        applied_ok(fake_api)
        (params,) = client.applied
        (doc_edit,) = document_edits(params)
        assert doc_edit.text_document.version == 1
        (edit,) = doc_edit.edits
        assert isinstance(edit, types.AnnotatedTextEdit)
        assert len(edit.new_text) <= 3
        assert edit.range.start.line == 1500
        assert edit.range.start.character == len("row 1500 😀 𝔘 ".encode("utf-16-le")) // 2
        annotation = (params.edit.change_annotations or {})[edit.annotation_id]
        assert annotation.label.startswith("Claw")
        assert annotation.needs_confirmation is False
        assert path.read_bytes() == BIG.encode()  # nothing written behind the open buffer


CODE = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(8)) + "VALUE = 8\n"


@pytest.mark.parametrize(
    "original",
    [CODE, CODE.rstrip("\n"), CODE.replace("\n", "\r\n")],
    ids=["final-newline", "no-final-newline", "crlf"],
)
@pytest.mark.parametrize("editor", ["neovim", "vscode"])
async def test_append_at_end_of_file_never_addresses_a_position_past_the_last_line(
    workspace: Path, fake_api: FakeMessagesAPI, original: str, editor: str
) -> None:
    path = workspace / "tail.py"
    path.write_bytes(original.encode())
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(
            tool_use(
                "Edit",
                {
                    "file_path": str(path),
                    "old_string": "VALUE = 8",
                    "new_string": "VALUE = 8\n\n\ndef added():\n    return VALUE",
                },
            )
        ),
        reply(text("Appended.")),
    )
    newline = "\r\n" if "\r\n" in original else "\n"
    expected = original.replace(
        "VALUE = 8", "VALUE = 8\n\n\ndef added():\n    return VALUE".replace("\n", newline)
    )
    client_name = "neovim" if editor == "neovim" else "visual-studio-code"
    async with session(workspace, client_name, settings=ACCEPT, env=fake_api.env(), editor=editor) as client:
        doc = client.open(path, original)
        await ask(client, "append a function")
        assert doc.text == expected
        applied_ok(fake_api)
        last_line = original.count("\n") - (1 if original.endswith("\n") else 0)
        for params in client.applied:
            for doc_edit in document_edits(params):
                for edit in doc_edit.edits:
                    assert edit.range.end.line <= last_line, (edit, last_line)
        assert path.read_bytes() == original.encode()


async def test_neovim_with_utf8_positions_and_debounced_did_change_gets_the_edit_confirmed(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "a.py"
    original = "x = '😀'\r\ny = '𝔘'\r\nz = 3\r\n"
    path.write_bytes(original.encode())
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "y = '𝔘'", "new_string": "y = '𝔘𝔘'"})),
        reply(text("Doubled.")),
    )
    async with session(
        workspace, "neovim", settings=ACCEPT, env=fake_api.env(), encodings=["utf-8"], editor="neovim"
    ) as client:
        assert client.encoding == "utf-8"
        doc = client.open(path, original)
        await ask(client, "double it")
        assert doc.text == "x = '😀'\r\ny = '𝔘𝔘'\r\nz = 3\r\n"
        applied_ok(fake_api)
        (params,) = client.applied
        (edit,) = document_edits(params)[0].edits
        assert edit.range.start.line == 1
        assert edit.range.start.character == len("y = '𝔘".encode())  # utf-8 bytes
        assert params.edit.change_annotations is None  # Neovim declares no change annotations


async def test_edit_the_editor_says_it_applied_but_never_shows_is_reported_not_applied(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "d.py"
    path.write_text("keep = True\n")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "True", "new_string": "False"})),
        reply(text("Tried.")),
    )
    async with session(workspace, "neovim", settings=ACCEPT, env=fake_api.env(), editor="neovim") as client:
        client.drop_edits_but_say_applied = True
        doc = client.open(path)
        await ask(client, "flip it", timeout=60)
        assert doc.text == "keep = True\n"
        assert path.read_text() == "keep = True\n"
        result = tool_results(fake_api.requests[-1].body)[-1]
        # Not told it applied (the target: applied exactly when the buffer holds the text).
        assert result.is_error and "has been updated" not in result.text, result
        assert len(client.applied) >= 1


SOURCE = "".join(f"def step_{i}(x):\n    return x + {i}\n\n\n" for i in range(12))


@pytest.mark.parametrize(
    ("client_name", "editor"),
    [("visual-studio-code", "vscode"), ("neovim", "neovim"), ("emacs", "eglot")],
)
async def test_consecutive_edit_multiedit_write_with_nobody_typing_all_apply_without_blaming_the_user(
    workspace: Path, fake_api: FakeMessagesAPI, client_name: str, editor: str
) -> None:
    path = workspace / "steps.py"
    path.write_text(SOURCE)
    after_edit = SOURCE.replace("return x + 3\n", "return x + 30\n")
    after_multi = after_edit.replace("def step_0(x):", "def step_zero(x):").replace(
        "return x + 11\n", "return x - 11\n"
    )
    written = after_multi + "\n\ndef step_12(x):\n    return x + 12\n"
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "x + 3\n", "new_string": "x + 30\n"})),
        reply(
            tool_use(
                "MultiEdit",
                {
                    "file_path": str(path),
                    "edits": [
                        {"old_string": "def step_0(x):", "new_string": "def step_zero(x):"},
                        {"old_string": "return x + 11", "new_string": "return x - 11"},
                    ],
                },
            )
        ),
        reply(tool_use("Write", {"file_path": str(path), "content": written})),
        reply(text("Three changes.")),
    )
    async with session(workspace, client_name, settings=ACCEPT, env=fake_api.env(), editor=editor) as client:
        doc = client.open(path)
        await ask(client, "rework the steps", timeout=60)
        assert doc.text == written
        results = tool_results(fake_api.requests[-1].body)
        assert len(results) == 4
        for result in results:
            assert not result.is_error, result
            assert "Not applied" not in result.text and "user" not in result.text.lower(), result
        assert path.read_text() == SOURCE


async def test_neovim_reporting_one_edit_in_two_did_changes_is_confirmed_once_and_never_resent(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    """Neovim applies an edit's TextEdits one by one and sends the first at once, the rest a debounce
    later: the first didChange alone is not "dropped", so nothing is sent twice or reported unapplied."""
    source = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(30))
    path = workspace / "many.py"
    path.write_text(source)
    edits = [
        {"old_string": "    return 2\n", "new_string": "    return 2  # two\n"},
        {"old_string": "    return 15\n", "new_string": "    return 15  # fifteen\n"},
        {"old_string": "    return 29\n", "new_string": "    return 29  # last\n"},
    ]
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("MultiEdit", {"file_path": str(path), "edits": edits})),
        reply(
            tool_use(
                "Edit", {"file_path": str(path), "old_string": "def f0():", "new_string": "def f_zero():"}
            )
        ),
        reply(text("Done.")),
    )
    expected = source
    for edit in edits:
        expected = expected.replace(edit["old_string"], edit["new_string"])
    expected = expected.replace("def f0():", "def f_zero():")
    async with session(workspace, "neovim", settings=ACCEPT, env=fake_api.env(), editor="neovim") as client:
        assert client.split_edit_changes
        doc = client.open(path)
        await ask(client, "comment three returns, rename f0", timeout=60)
        assert doc.text == expected
        assert path.read_text() == source
        applied_ok(fake_api)
        assert len(client.applied) == 2, "an edit was sent twice"


async def test_editor_writing_inserted_line_breaks_as_its_own_is_not_blamed_on_the_user(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    """VS Code normalizes the line breaks an edit inserts (an empty document takes LF): the edit
    applied, and the model hears which line breaks the file got, not that the user edited it."""
    path = workspace / "build.txt"
    path.write_text("")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Write", {"file_path": str(path), "content": "[tool]\r\nname = 'x'\r\n"})),
        reply(text("Done.")),
    )
    async with session(
        workspace, "visual-studio-code", settings=ACCEPT, env=fake_api.env(), editor="vscode"
    ) as client:
        client.normalize_line_endings = True
        doc = client.open(path, "")
        await ask(client, "write the build file")
        assert doc.text == "[tool]\nname = 'x'\n"
        assert path.read_text() == ""
        result = tool_results(fake_api.requests[-1].body)[-1]
        assert not result.is_error and "Not applied" not in result.text, result
        assert "user" not in result.text.lower() and "line breaks" in result.text, result
        assert len(client.applied) == 1
