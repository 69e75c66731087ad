"""End to end: LspApplier and Reviewer in a real pygls server, driven by a pytest-lsp "editor".

The server is `tests/lsp/edit_test_server.py` over stdio. The client below behaves like an editor:
it keeps its own copy of each open buffer, applies `workspace/applyEdit` with the negotiated
position encoding, sends incremental `didChange`s (optionally debounced like Neovim), drops stale
versioned edits while answering `applied: true` (as Neovim does), performs resource operations on
disk, and answers the review requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls import uris
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from claw_lsp.server.textedit import apply_text_edits, minimal_text_edits

ROOT = Path(__file__).resolve().parents[2]


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


class Editor:
    """The editor half: buffers, edits, debounced didChange, review answers."""

    def __init__(self, client: LanguageClient, encoding: str) -> None:
        self.client = client
        self.encoding = encoding
        self.docs: dict[str, list[Any]] = {}  # uri -> [text, version]
        self.synced: dict[str, str] = {}  # uri -> the text the server was last told about
        self.received: list[types.ApplyWorkspaceEditParams] = []
        self.drop_stale = True  # Neovim: a stale versioned edit is dropped, yet applied: true
        self.drop_all = False  # answer applied: true and apply nothing
        self.debounce = 0.0
        self.before_edit: Callable[[], None] | None = None
        self.review_requests: list[Any] = []
        self.review_answer: Any = {"decision": "accept"}
        self.review_gate: asyncio.Event | None = None
        self.message_requests: list[types.ShowMessageRequestParams] = []
        self.message_answer: str | None = "Apply"
        self.save_requests: list[Any] = []

    def open(self, path: Path, text: str, version: int = 1) -> str:
        """Open a buffer (not necessarily saved to disk)."""
        uri = uris.from_fs_path(str(path))
        assert uri
        self.docs[uri] = [text, version]
        self.synced[uri] = text
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=version, text=text
                )
            )
        )
        return uri

    def type(self, uri: str, new_text: str) -> None:
        """The user changes the buffer (one incremental didChange, sent at once)."""
        self.docs[uri] = [new_text, self.docs[uri][1] + 1]
        self._flush(uri)

    def text(self, uri: str) -> str:
        return str(self.docs[uri][0])

    def _flush(self, uri: str) -> None:
        """Send one didChange from the last synced text to the buffer's text now."""
        if uri not in self.docs:
            return
        new, version = self.docs[uri]
        old = self.synced[uri]
        if old != new:
            self.synced[uri] = new
            self._did_change(uri, old, new, version)

    def _did_change(self, uri: str, old: str, new: str, version: int) -> None:
        changes: list[types.TextDocumentContentChangeEvent] = [
            types.TextDocumentContentChangePartial(range=e.range, text=e.new_text)
            for e in minimal_text_edits(old, new, self.encoding)
        ]
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=changes,
            )
        )

    def _edit_buffer(self, uri: str, edits: Any) -> None:
        old, version = self.docs[uri]
        self.docs[uri] = [apply_text_edits(old, edits, self.encoding), version + 1]
        if self.debounce:
            asyncio.get_running_loop().call_later(self.debounce, self._flush, uri)
        else:
            self._flush(uri)

    def _open_from_disk(self, uri: str) -> None:
        path = Path(uris.to_fs_path(uri) or "")
        self.open(path, path.read_bytes().decode() if path.exists() else "")

    def apply_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        self.received.append(params)
        if self.before_edit is not None:
            hook, self.before_edit = self.before_edit, None
            hook()
        if self.drop_all:
            return types.ApplyWorkspaceEditResult(applied=True)
        edit = params.edit
        for uri, edits in (edit.changes or {}).items():
            if uri not in self.docs:
                self._open_from_disk(uri)
            self._edit_buffer(uri, edits)
        for op in edit.document_changes or []:
            if isinstance(op, types.CreateFile):
                path = Path(uris.to_fs_path(op.uri) or "")
                if path.exists():
                    return types.ApplyWorkspaceEditResult(applied=False, failure_reason="exists")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("")
            elif isinstance(op, types.DeleteFile):
                Path(uris.to_fs_path(op.uri) or "").unlink()
                if op.uri in self.docs:
                    del self.docs[op.uri]
                    self.client.text_document_did_close(
                        types.DidCloseTextDocumentParams(
                            text_document=types.TextDocumentIdentifier(uri=op.uri)
                        )
                    )
            elif isinstance(op, types.RenameFile):
                Path(uris.to_fs_path(op.old_uri) or "").rename(uris.to_fs_path(op.new_uri) or "")
            elif isinstance(op, types.TextDocumentEdit):
                uri = op.text_document.uri
                if uri not in self.docs:
                    self._open_from_disk(uri)
                version = op.text_document.version
                if version is not None and version != self.docs[uri][1]:
                    if self.drop_stale:
                        continue  # Neovim: skipped silently, still answers applied: true
                    return types.ApplyWorkspaceEditResult(applied=False, failure_reason="stale version")
                self._edit_buffer(uri, op.edits)
        return types.ApplyWorkspaceEditResult(applied=True)

    def save(self, uris_: list[str]) -> list[str]:
        for uri in uris_:
            Path(uris.to_fs_path(uri) or "").write_text(self.text(uri), encoding="utf-8", newline="")
            self.client.text_document_did_save(
                types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
        return uris_


@contextlib.asynccontextmanager
async def _session(
    tmp_path: Path, flavour: str, features: dict[str, bool], caps: types.ClientCapabilities | None = None
) -> AsyncIterator[tuple[LanguageClient, Editor]]:
    """A test server with an `Editor` client of the given flavour, shut down on exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLAW_TEST_CONFIRM_TIMEOUT": "1.0"}
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "tests.lsp.edit_test_server"], server_env=env
    )
    client = await config.start()
    assert isinstance(client, LanguageClient)
    capabilities = caps or client_capabilities(flavour)
    encoding = "utf-16"
    if capabilities.general and capabilities.general.position_encodings:
        encoding = str(capabilities.general.position_encodings[0])
    editor = Editor(client, encoding)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def _apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        return editor.apply_edit(params)

    @client.feature("claw/review")
    async def _review(params: Any) -> Any:
        editor.review_requests.append(params)
        if editor.review_gate is not None:
            await editor.review_gate.wait()
        return editor.review_answer

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def _message(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        editor.message_requests.append(params)
        if editor.message_answer is None:
            return None
        return types.MessageActionItem(title=editor.message_answer)

    @client.feature("claw/saveDocuments")
    def _save(params: Any) -> Any:
        editor.save_requests.append(params)
        return {"saved": editor.save(list(_get(params, "uris")))}

    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=uris.from_fs_path(str(tmp_path)),
            workspace_folders=[types.WorkspaceFolder(uri=uris.from_fs_path(str(tmp_path)) or "", name="ws")],
            initialization_options={"clientFeatures": features},
        )
    )
    negotiated = result.capabilities.position_encoding
    assert str(getattr(negotiated, "value", negotiated) or "utf-16") == encoding
    try:
        yield client, editor
    finally:
        await client.shutdown_session()


@pytest_asyncio.fixture
async def vscode(tmp_path: Path) -> AsyncIterator[tuple[LanguageClient, Editor]]:
    async with _session(tmp_path, "visual-studio-code", {"review": True, "saveDocuments": True}) as started:
        yield started


@pytest_asyncio.fixture
async def neovim(tmp_path: Path) -> AsyncIterator[tuple[LanguageClient, Editor]]:
    async with _session(tmp_path, "neovim", {}) as (client, editor):
        editor.debounce = 0.15
        yield client, editor


@pytest_asyncio.fixture
async def vscode_without_resource_operations(
    tmp_path: Path,
) -> AsyncIterator[tuple[LanguageClient, Editor]]:
    """VS Code's capabilities less resource operations: files are created, renamed, deleted on disk."""
    caps = client_capabilities("visual-studio-code")
    assert caps.workspace and caps.workspace.workspace_edit
    caps.workspace.workspace_edit.resource_operations = None
    async with _session(tmp_path, "visual-studio-code", {}, caps) as started:
        yield started


async def _apply(client: LanguageClient, **args: Any) -> dict[str, Any]:
    args.setdefault("mode", "acceptEdits")
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="test.apply", arguments=[args])
    )
    assert result is not None
    return {key: _get(result, key) for key in ("applied", "message", "finalText", "partial")}


def _doc_edits(params: types.ApplyWorkspaceEditParams) -> list[types.TextDocumentEdit]:
    return [op for op in params.edit.document_changes or [] if isinstance(op, types.TextDocumentEdit)]


BIG = "".join(f"row {i} 😀 𝔘 é\r\n" for i in range(2_000))


async def test_edit_to_open_buffer_is_one_small_versioned_annotated_edit_confirmed_by_did_change(
    vscode: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = vscode
    path = tmp_path / "big.py"
    uri = editor.open(path, BIG)
    new = BIG.replace("row 1500 😀 𝔘 é\r\n", "row 1500 😀 𝔘 è!\r\n")
    result = await _apply(client, path=str(path), newText=new, baseText=BIG, baseVersion=1)
    assert result["applied"], result
    assert result["message"] == ""
    assert editor.text(uri) == new
    (params,) = editor.received
    (doc_edit,) = _doc_edits(params)
    assert doc_edit.text_document.version == 1
    (edit,) = doc_edit.edits
    assert isinstance(edit, types.AnnotatedTextEdit)
    assert len(edit.new_text) <= 3
    assert edit.range.start.line == 1500
    assert edit.range.start.character == len("row 1500 😀 𝔘 ".encode("utf-16-le")) // 2
    annotation = (params.edit.change_annotations or {})[edit.annotation_id]
    assert annotation.label.startswith("Claw run r-test")
    assert annotation.needs_confirmation is False
    assert not path.exists()  # nothing written to disk behind the open buffer


async def test_neovim_negotiates_utf8_and_debounced_did_change_still_confirms(
    neovim: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = neovim
    assert editor.encoding == "utf-8"
    path = tmp_path / "a.py"
    base = "x = '😀'\r\ny = '𝔘'\r\n"
    uri = editor.open(path, base)
    new = "x = '😀'\r\ny = '𝔘𝔘'\r\n"
    result = await _apply(client, path=str(path), newText=new, baseText=base, baseVersion=1)
    assert result["applied"], result
    assert editor.text(uri) == new
    (edit,) = _doc_edits(editor.received[0])[0].edits
    assert edit.range.start.character == len("y = '𝔘".encode())  # utf-8 bytes
    assert editor.received[0].edit.change_annotations is None  # Neovim declares no annotations


async def test_edit_is_rebased_when_user_typed_meanwhile(
    vscode: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = vscode
    base = "def a():\n    return 1\n\n\ndef b():\n    return 2\n"
    path = tmp_path / "m.py"
    uri = editor.open(path, base)
    editor.type(uri, base.replace("return 1", "return 10"))
    ours = base.replace("return 2", "return 20")
    result = await _apply(client, path=str(path), newText=ours, baseText=base, baseVersion=1)
    assert result["applied"], result
    assert "merged with their edits" in result["message"]
    assert editor.text(uri) == base.replace("return 1", "return 10").replace("return 2", "return 20")
    assert _doc_edits(editor.received[0])[0].text_document.version == 2


async def test_overlapping_edit_is_refused_and_buffer_untouched(
    vscode: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = vscode
    base = "a = 1\nb = 2\n"
    path = tmp_path / "o.py"
    uri = editor.open(path, base)
    editor.type(uri, "a = 1\nb = 3  # mine\n")
    result = await _apply(client, path=str(path), newText="a = 1\nb = 42\n", baseText=base, baseVersion=1)
    assert not result["applied"]
    assert "the user edited the same lines" in result["message"]
    assert editor.text(uri) == "a = 1\nb = 3  # mine\n"
    assert editor.received == []


async def test_stale_edit_dropped_by_neovim_is_not_counted_and_is_retried_rebased(
    neovim: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = neovim
    base = "one\ntwo\nthree\nfour\nfive\n"
    path = tmp_path / "n.txt"
    uri = editor.open(path, base)
    # The user types between the server's send and Neovim's apply: the versioned edit is stale.
    editor.before_edit = lambda: editor.type(uri, base.replace("one", "ONE"))
    result = await _apply(
        client, path=str(path), newText=base.replace("five", "5"), baseText=base, baseVersion=1
    )
    assert result["applied"], result
    assert len(editor.received) == 2  # the dropped edit, then the retry against the fresh version
    assert _doc_edits(editor.received[1])[0].text_document.version == 2
    assert editor.text(uri) == "ONE\ntwo\nthree\nfour\n5\n"
    assert "merged with their edits" in result["message"]


async def test_edit_answered_applied_but_never_shown_is_reported_not_applied(
    neovim: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = neovim
    path = tmp_path / "d.txt"
    uri = editor.open(path, "keep\n")
    editor.drop_all = True
    result = await _apply(client, path=str(path), newText="changed\n", baseText="keep\n", baseVersion=1)
    assert not result["applied"]
    assert "never showed it" in result["message"]
    assert len(editor.received) == 2
    assert editor.text(uri) == "keep\n"


async def test_file_creation_uses_resource_operations_and_save_documents(
    vscode: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = vscode
    path = tmp_path / "pkg" / "new file é.py"
    result = await _apply(client, path=str(path), kind="create", newText="print('hi')\r\n")
    assert result["applied"], result
    (params,) = editor.received
    ops = params.edit.document_changes or []
    assert isinstance(ops[0], types.CreateFile)
    assert "new%20file%20%C3%A9.py" in ops[0].uri
    assert isinstance(ops[1], types.TextDocumentEdit) and ops[1].text_document.version is None
    uri = ops[0].uri
    assert editor.text(uri) == "print('hi')\r\n"
    assert path.read_text() == ""  # the content is in the editor's buffer, unsaved
    save = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="test.save", arguments=[{}])
    )
    assert list(_get(save, "unsaved")) == []
    assert len(editor.save_requests) == 1
    assert path.read_bytes() == b"print('hi')\r\n"


async def test_file_creation_without_resource_operations_is_written_to_disk(
    vscode_without_resource_operations: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = vscode_without_resource_operations
    path = tmp_path / "made.txt"
    result = await _apply(client, path=str(path), kind="create", newText="hello\n")
    assert result["applied"], result
    assert editor.received == []
    assert path.read_text() == "hello\n"


async def test_generic_client_gets_unsaved_files_listed(tmp_path: Path) -> None:
    async with _session(tmp_path, "visual-studio-code", {}) as (client, editor):
        path = tmp_path / "s.py"
        path.write_text("a\n")
        editor.open(path, "a\n")
        result = await _apply(client, path=str(path), newText="b\n", baseText="a\n", baseVersion=1)
        assert result["applied"]
        save = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="test.save", arguments=[{}])
        )
        assert list(_get(save, "unsaved")) == [str(path)]
        assert path.read_text() == "a\n"


TWO_HUNKS_BASE = "".join(f"line {i}\n" for i in range(1, 31))
TWO_HUNKS_NEW = TWO_HUNKS_BASE.replace("line 3\n", "line three\n").replace("line 25\n", "line 25\nextra\n")


async def test_review_partial_applies_accepted_hunks_and_reports_the_rest(
    vscode: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = vscode
    path = tmp_path / "r.txt"
    uri = editor.open(path, TWO_HUNKS_BASE)
    editor.review_answer = {"decision": "partial", "acceptedHunks": [0], "feedback": "no extra lines"}
    result = await _apply(
        client, path=str(path), newText=TWO_HUNKS_NEW, baseText=TWO_HUNKS_BASE, baseVersion=1, mode="default"
    )
    assert result["applied"] and result["partial"], result
    assert editor.text(uri) == TWO_HUNKS_BASE.replace("line 3\n", "line three\n")
    assert "@@ -23,6 +23,7 @@" in result["message"] and "no extra lines" in result["message"]
    (request,) = editor.review_requests
    assert _get(request, "changeId").startswith("c-")
    assert _get(request, "kind") == "modify"
    assert [_get(h, "header") for h in _get(request, "hunks")] == ["@@ -1,6 +1,6 @@", "@@ -23,6 +23,7 @@"]
    steps = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="test.steps", arguments=[{}])
    )
    assert "Waiting for your review of r.txt" in list(_get(steps, "steps"))


async def test_review_reject_with_feedback_goes_back_to_the_model(
    vscode: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = vscode
    path = tmp_path / "r.txt"
    uri = editor.open(path, TWO_HUNKS_BASE)
    editor.review_answer = {"decision": "reject", "feedback": "use a constant"}
    result = await _apply(
        client, path=str(path), newText=TWO_HUNKS_NEW, baseText=TWO_HUNKS_BASE, baseVersion=1, mode="default"
    )
    assert not result["applied"]
    assert result["message"] == "The user rejected this change. Their feedback: use a constant"
    assert editor.text(uri) == TWO_HUNKS_BASE
    assert editor.received == []


async def test_review_answered_by_commands_per_hunk_first_answer_wins(
    vscode: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = vscode
    path = tmp_path / "r.txt"
    uri = editor.open(path, TWO_HUNKS_BASE)
    editor.review_gate = asyncio.Event()  # the review UI stays open
    task = asyncio.create_task(
        _apply(
            client,
            path=str(path),
            newText=TWO_HUNKS_NEW,
            baseText=TWO_HUNKS_BASE,
            baseVersion=1,
            mode="default",
        )
    )
    for _ in range(200):
        if editor.review_requests:
            break
        await asyncio.sleep(0.02)
    change_id = _get(editor.review_requests[0], "changeId")

    async def command(name: str, **args: Any) -> bool:
        res = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=[{"changeId": change_id, **args}])
        )
        return bool(_get(res, "ok"))

    assert await command("claw.review.reject", hunk=0, feedback="keep line 3")
    assert not task.done()
    assert await command("claw.review.accept", hunk=1)
    result = await task
    assert result["applied"] and result["partial"]
    assert "keep line 3" in result["message"]
    assert editor.text(uri) == TWO_HUNKS_BASE.replace("line 25\n", "line 25\nextra\n")
    assert not await command("claw.review.accept")  # the review is closed
    editor.review_gate.set()


@pytest.mark.parametrize(("answer", "applied"), [("Apply", True), ("Reject", False), (None, False)])
async def test_generic_client_reviews_with_show_message_request(
    tmp_path: Path, answer: str | None, applied: bool
) -> None:
    async with _session(tmp_path, "neovim", {}) as (client, editor):
        editor.message_answer = answer
        path = tmp_path / "src" / "app.py"
        uri = editor.open(path, "a\nb\n")
        result = await _apply(
            client, path=str(path), newText="a\nB\nc\n", baseText="a\nb\n", baseVersion=1, mode="default"
        )
        assert result["applied"] is applied, result
        (request,) = editor.message_requests
        assert request.message == "Claw wants to edit src/app.py (+2 -1)"
        assert [a.title for a in request.actions or []] == ["Apply", "Reject", "Apply all in this run"]
        assert editor.text(uri) == ("a\nB\nc\n" if applied else "a\nb\n")
        if not applied:
            assert result["message"] == "The user rejected this change."


async def test_apply_all_in_this_run_stops_asking(tmp_path: Path) -> None:
    async with _session(tmp_path, "neovim", {}) as (client, editor):
        editor.message_answer = "Apply all in this run"
        one, two = tmp_path / "one.py", tmp_path / "two.py"
        editor.open(one, "1\n")
        editor.open(two, "2\n")
        r1 = await _apply(
            client, path=str(one), newText="11\n", baseText="1\n", baseVersion=1, mode="default"
        )
        r2 = await _apply(
            client, path=str(two), newText="22\n", baseText="2\n", baseVersion=1, mode="default"
        )
        assert r1["applied"] and r2["applied"]
        assert len(editor.message_requests) == 1
        other = await _apply(
            client,
            runId="r-other",
            path=str(one),
            newText="111\n",
            baseText="11\n",
            baseVersion=2,
            mode="default",
        )
        assert other["applied"]
        assert len(editor.message_requests) == 2  # a new run asks again


async def test_concurrent_applies_to_one_buffer_are_serialized_and_rebased(
    neovim: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = neovim
    base = "".join(f"line {i}\n" for i in range(10))
    path = tmp_path / "c.txt"
    uri = editor.open(path, base)
    first = base.replace("line 1\n", "LINE 1\n")
    second = base.replace("line 8\n", "LINE 8\n")
    r1, r2 = await asyncio.gather(
        _apply(client, path=str(path), newText=first, baseText=base, baseVersion=1),
        _apply(client, runId="r-two", path=str(path), newText=second, baseText=base, baseVersion=1),
    )
    assert r1["applied"] and r2["applied"], (r1, r2)
    assert editor.text(uri) == base.replace("line 1\n", "LINE 1\n").replace("line 8\n", "LINE 8\n")
    assert sum("merged" in r["message"] for r in (r1, r2)) == 1


async def test_user_typing_inside_the_debounce_window_still_confirms(
    neovim: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = neovim
    base = "alpha\nbeta\ngamma\ndelta\n"
    path = tmp_path / "t.txt"
    uri = editor.open(path, base)
    editor.debounce = 0.3

    def type_later() -> None:
        # Within Neovim's debounce, the user's keystroke lands in the same didChange as the edit.
        async def later() -> None:
            await asyncio.sleep(0.05)
            text, version = editor.docs[uri]
            editor.docs[uri] = [text.replace("alpha", "alpha!"), version + 1]

        asyncio.get_running_loop().create_task(later())

    editor.before_edit = type_later
    result = await _apply(
        client, path=str(path), newText=base.replace("delta", "DELTA"), baseText=base, baseVersion=1
    )
    assert result["applied"], result
    assert len(editor.received) == 1
    assert result["finalText"] == "alpha!\nbeta\ngamma\nDELTA\n"


async def test_not_open_file_changed_on_disk_is_rebased_then_written(
    vscode_without_resource_operations: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = vscode_without_resource_operations
    base = "a = 1\n\n\nb = 2\n"
    path = tmp_path / "disk.py"
    path.write_text(base.replace("a = 1", "a = 100"))  # changed on disk after the agent read it
    result = await _apply(client, path=str(path), newText=base.replace("b = 2", "b = 200"), baseText=base)
    assert result["applied"] and "merged" in result["message"], result
    assert path.read_text() == "a = 100\n\n\nb = 200\n"
    refused = await _apply(client, path=str(path), newText="a = 5\n\n\nb = 200\n", baseText=base)
    assert not refused["applied"]
    assert path.read_text() == "a = 100\n\n\nb = 200\n"
    assert editor.received == []


async def test_not_open_file_is_changed_through_the_editor_when_it_can(
    vscode: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = vscode
    path = tmp_path / "closed.py"
    path.write_text("x = 1\n")
    result = await _apply(client, path=str(path), newText="x = 2\n", baseText="x = 1\n")
    assert result["applied"], result
    (doc_edit,) = _doc_edits(editor.received[0])
    assert doc_edit.text_document.version is None
    assert editor.text(doc_edit.text_document.uri) == "x = 2\n"


async def test_delete_and_rename_use_resource_operations(
    vscode: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = vscode
    old, new, gone = tmp_path / "old.py", tmp_path / "sub" / "new.py", tmp_path / "gone.py"
    old.write_text("o\n")
    gone.write_text("g\n")
    (tmp_path / "sub").mkdir()
    renamed = await _apply(client, kind="rename", path=str(old), newPath=str(new))
    deleted = await _apply(client, kind="delete", path=str(gone), baseText="g\n")
    assert renamed["applied"] and deleted["applied"], (renamed, deleted)
    assert new.read_text() == "o\n" and not old.exists() and not gone.exists()
    kinds = [type(op).__name__ for p in editor.received for op in p.edit.document_changes or []]
    assert kinds == ["RenameFile", "DeleteFile"]


async def test_open_file_is_not_deleted_behind_an_editor_that_cannot(
    vscode_without_resource_operations: tuple[LanguageClient, Editor], tmp_path: Path
) -> None:
    client, editor = vscode_without_resource_operations
    path = tmp_path / "open.py"
    path.write_text("o\n")
    editor.open(path, "o\n")
    result = await _apply(client, kind="delete", path=str(path), baseText="o\n")
    assert not result["applied"] and "open in the editor" in result["message"]
    assert path.exists()
