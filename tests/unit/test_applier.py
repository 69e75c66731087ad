"""DocumentTracker, ClientInfo and the review bookkeeping, without a client (no LSP traffic needed).

The LSP round trips (applyEdit, didChange confirmation, review requests) are covered end to end
in tests/lsp/test_edit_*.py.
"""

from __future__ import annotations

import asyncio
import builtins
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities

from claw_lsp.core.files import FileChange
from claw_lsp.server.applier import DocumentTracker, warm_converter
from claw_lsp.server.client import ClientInfo
from claw_lsp.server.protocol import ClientFeatures, json_converter
from claw_lsp.server.review import Reviewer, _parse_review_result
from claw_lsp.server.textedit import compute_hunks
from claw_lsp.server.uris import path_of, uri_of


def test_uri_and_path_round_trip_with_percent_encoding() -> None:
    path = Path("/tmp/a dir/ünï#1%.py")
    uri = uri_of(path)
    assert uri == "file:///tmp/a%20dir/%C3%BCn%C3%AF%231%25.py"
    assert path_of(uri) == path
    assert path_of("untitled:Untitled-1") is None


def test_tracker_finds_buffers_by_path_whatever_the_uri_spelling(tmp_path: Path) -> None:
    tracker = DocumentTracker()
    real = tmp_path / "real dir"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    target = real / "x.py"
    # The editor opened it through the symlink, with a differently encoded URI.
    tracker.opened(f"file://{tmp_path}/link/x%2Epy", "text", 3)
    buffer = tracker.open_buffer(target)
    assert buffer is not None and buffer.version == 3 and buffer.text == "text"
    assert tracker.uri_for(tmp_path / "link" / "x.py") == f"file://{tmp_path}/link/x%2Epy"
    tracker.closed(f"file://{tmp_path}/link/x%2Epy")
    assert tracker.open_buffer(target) is None


def test_tracker_dirty_until_saved() -> None:
    tracker = DocumentTracker()
    tracker.opened("file:///w/a.py", "a", 1)
    assert not tracker.is_dirty("file:///w/a.py")
    tracker.changed("file:///w/a.py", "b", 2)
    assert tracker.is_dirty("file:///w/a.py")
    tracker.saved("file:///w/a.py")
    assert not tracker.is_dirty("file:///w/a.py")


async def test_wait_for_sees_current_and_later_versions_and_times_out() -> None:
    tracker = DocumentTracker()
    uri = "file:///w/a.py"
    tracker.opened(uri, "one", 1)
    now = await tracker.wait_for(uri, lambda t: t == "one", 0.01)
    assert now is not None and now.version == 1
    waiter = asyncio.create_task(tracker.wait_for(uri, lambda t: t.endswith("three"), 5))
    await asyncio.sleep(0)
    tracker.changed(uri, "two", 2)
    await asyncio.sleep(0)
    assert not waiter.done()
    tracker.changed(uri, "two three", 3)
    got = await waiter
    assert got is not None and got.version == 3
    assert await tracker.wait_for(uri, lambda t: t == "never", 0.01) is None


async def test_wait_for_ends_when_the_document_closes() -> None:
    tracker = DocumentTracker()
    uri = "file:///w/a.py"
    tracker.opened(uri, "one", 1)
    waiter = asyncio.create_task(tracker.wait_for(uri, lambda t: t == "x", 5))
    await asyncio.sleep(0)
    tracker.closed(uri)
    assert await waiter is None


def test_client_info_from_vscode_and_neovim_capabilities() -> None:
    vscode = ClientInfo.from_initialize(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            client_info=types.ClientInfo(name="Visual Studio Code"),
            initialization_options={"clientFeatures": {"review": True, "input": False}},
        )
    )
    assert vscode.position_encoding == "utf-16"
    assert vscode.document_changes and vscode.change_annotations and vscode.show_document
    assert vscode.resource_operations == {"create", "rename", "delete"}
    assert vscode.features == ClientFeatures(review=True)
    neovim = ClientInfo.from_initialize(types.InitializeParams(capabilities=client_capabilities("neovim")))
    assert neovim.position_encoding == "utf-8"
    assert not neovim.document_changes and not neovim.change_annotations
    assert neovim.versioned_edits  # it declares resource operations, which live in documentChanges
    assert neovim.features == ClientFeatures()
    named = ClientInfo.from_initialize(
        types.InitializeParams(
            capabilities=client_capabilities("neovim"), client_info=types.ClientInfo(name="Neovim")
        )
    )
    assert named.final_newline_is_flag and named.versioned_edits
    assert not vscode.final_newline_is_flag
    bare = ClientInfo.from_initialize(types.InitializeParams(capabilities=types.ClientCapabilities()))
    assert bare.position_encoding == "utf-16" and not bare.versioned_edits


def test_review_results_map_to_outcomes() -> None:
    old = "".join(f"{i}\n" for i in range(30))
    new = old.replace("\n2\n", "\ntwo\n").replace("\n25\n", "\ntwenty-five\n")
    hunks = compute_hunks(old, new)
    assert _parse_review_result({"decision": "accept"}, hunks).accepted_hunks == {0, 1}
    partial = _parse_review_result({"decision": "partial", "acceptedHunks": [1], "feedback": " ok "}, hunks)
    assert (partial.decision, partial.accepted_hunks, partial.rejected_hunks) == ("partial", {1}, [0])
    everything = _parse_review_result({"decision": "partial", "acceptedHunks": [0, 1]}, hunks)
    assert everything.decision == "accept"
    assert _parse_review_result(None, hunks).decision == "reject"
    assert _parse_review_result({"decision": "bogus"}, hunks).decision == "reject"


async def test_accept_edits_mode_never_asks() -> None:
    reviewer = Reviewer(None, ClientInfo(features=ClientFeatures(review=True)), lambda: "acceptEdits", "r-1")  # type: ignore[arg-type]
    outcome = await reviewer.review(FileChange(kind="modify", path=Path("/w/a.py")), "a\n", "b\n")
    # Nobody was asked, so no hunks were computed: the whole change lands.
    assert outcome.decision == "accept" and outcome.auto and outcome.hunks == []
    assert not reviewer.resolve_from_command("c-unknown", True)


def test_apply_changes_follows_lsp_line_rules_where_pygls_splitlines_does_not() -> None:
    tracker = DocumentTracker()
    uri = "file:///w/ff.c"
    tracker.opened(uri, "a\x0cb\u2028x\r\nc😀d\n", 1)
    change = types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(line=1, character=3), end=types.Position(line=1, character=4)),
        text="D",
    )
    whole = types.TextDocumentContentChangeWholeDocument(text="replaced\n")
    assert tracker.apply_changes(uri, [change], 2, "utf-16")
    assert (buffer := tracker.get(uri)) is not None and buffer.text == "a\x0cb\u2028x\r\nc😀D\n"
    assert tracker.is_dirty(uri)
    assert tracker.apply_changes(uri, [whole, change], 3, "utf-8")
    buffer = tracker.get(uri)
    assert buffer is not None and buffer.text == "replaced\nD"  # in order
    assert buffer.version == 3
    assert not tracker.apply_changes("file:///w/other", [whole], 1, "utf-8")


def test_a_didchange_that_is_the_edit_sent_takes_the_known_text_without_a_join() -> None:
    """The agent's edit comes back as the editor's didChange: the tracker keeps the text the edit
    was computed to give (the same object, so confirming it is an identity compare), not a join
    of every line. Anything else (other text, another range, a newer version, two changes) is
    applied and joined as usual, and gives the editor's text."""
    from claw_lsp.server.textedit import buffer_edits

    uri = "file:///w/big.py"
    old = "".join(f"value_{i} = {i}\n" for i in range(1000))
    new = old.replace("value_500 =", "renamed_500 =", 1)
    (edit,), expected = buffer_edits(old, new, "utf-16")

    def change(rng: types.Range, text: str) -> types.TextDocumentContentChangePartial:
        return types.TextDocumentContentChangePartial(range=rng, text=text)

    tracker = DocumentTracker()
    tracker.opened(uri, old, 4)
    tracker.expect(uri, 4, [edit], expected)
    tracker.apply_changes(uri, [change(edit.range, edit.new_text)], 5, "utf-16")
    buffer = tracker.get(uri)
    assert buffer is not None and buffer.text is expected and buffer.version == 5

    other = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=5))
    for version, changes in (
        (5, [change(edit.range, "RENAMED")]),  # the editor wrote something else
        (5, [change(other, edit.new_text)]),  # elsewhere
        (4, [change(edit.range, edit.new_text)]),  # against another version than the one sent
        (5, [change(edit.range, edit.new_text), change(other, "x")]),  # more than the edit
    ):
        tracker.opened(uri, old, 5)
        tracker.expect(uri, version, [edit], expected)
        tracker.apply_changes(uri, changes, 6, "utf-16")
        buffer = tracker.get(uri)
        assert buffer is not None and buffer.text is not expected
        assert buffer.text == textedit_apply(old, changes)
    # Closed and opened again (another text, the same length and version): the edit sent to the
    # old text says nothing about the new one.
    other_text = old.replace("value_0 =", "VALUE_0 =", 1)
    tracker.opened(uri, old, 7)
    tracker.expect(uri, 7, [edit], expected)
    tracker.closed(uri)
    tracker.opened(uri, other_text, 7)
    tracker.apply_changes(uri, [change(edit.range, edit.new_text)], 8, "utf-16")
    buffer = tracker.get(uri)
    landed = textedit_apply(other_text, [change(edit.range, edit.new_text)])
    assert buffer is not None and buffer.text == landed and landed != expected


def textedit_apply(text: str, changes: list[types.TextDocumentContentChangePartial]) -> str:
    """The changes of one didChange applied one after the other (LSP's rule for didChange)."""
    from claw_lsp.server.textedit import apply_text_edits

    for c in changes:
        text = apply_text_edits(text, [types.TextEdit(range=c.range, new_text=c.text)], "utf-16")
    return text


def _apply_edit_request() -> types.ApplyWorkspaceEditRequest:
    """A workspace/applyEdit as the applier sends one (annotated, versioned)."""
    at = types.Range(
        start=types.Position(line=50_000, character=0), end=types.Position(line=50_000, character=5)
    )
    edit = types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri="file:///ws/big.py", version=7),
        edits=[types.AnnotatedTextEdit(range=at, new_text="renamed", annotation_id="run-1")],
    )
    annotations = {"run-1": types.ChangeAnnotation(label="Claw", needs_confirmation=False, description="run")}
    params = types.ApplyWorkspaceEditParams(
        edit=types.WorkspaceEdit(document_changes=[edit], change_annotations=annotations), label="Claw"
    )
    return types.ApplyWorkspaceEditRequest(id="1", params=params)


def test_the_apply_edit_converters_are_built_before_the_first_edit(monkeypatch: pytest.MonkeyPatch) -> None:
    """cattrs generates (and compiles) the functions for a message type on its first uses: the
    server has them built at start-up, so the user's first edits do not wait for that."""
    compiled: list[object] = []
    real = builtins.compile

    def counting(*args: Any, **kwargs: Any) -> Any:
        compiled.append(args[1] if len(args) > 1 else kwargs.get("filename"))
        return real(*args, **kwargs)

    response = {"id": "1", "jsonrpc": "2.0", "result": {"applied": True}}
    cold = json_converter()
    monkeypatch.setattr(builtins, "compile", counting)
    cold.unstructure(_apply_edit_request())
    assert compiled, "a fresh converter builds its functions on first use (the test measures that)"
    monkeypatch.setattr(builtins, "compile", real)
    warm = json_converter()
    warm_converter(warm)
    compiled.clear()
    monkeypatch.setattr(builtins, "compile", counting)
    message = warm.unstructure(_apply_edit_request())
    warm.structure(response, types.ApplyWorkspaceEditResponse)
    assert compiled == []
    assert message["params"]["edit"]["documentChanges"][0]["edits"][0]["annotationId"] == "run-1"
