"""Applies the agent's `FileChange`s through the editor: versioned, reviewed, rebased, confirmed.

The heart of "never clobber the user". A change to a file the editor has open becomes a
`workspace/applyEdit` with a `TextDocumentEdit` of minimal `TextEdit`s against the buffer version
the edit was computed for. If the user typed since the agent read the file, the change is rebased
(three-way, `textedit.rebase`) or refused. The change counts as applied only when a `didChange`
shows the expected text (Neovim answers `applied: true` for stale edits it dropped); otherwise it
is retried once from the fresh buffer. Files the editor does not have open are created, renamed,
deleted or changed with resource operations when the client supports them, else written to disk
atomically by `DiskApplier`; nothing is ever written to disk behind an open buffer.

`DocumentTracker` is the server's record of open buffers (fed by didOpen/didChange/didSave/didClose)
and the `BufferSource` the agent's workspace view reads from.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls import uris

from claw_lsp.server.review import ReviewOutcome, display_path
from claw_lsp.server.textedit import apply_hunks, apply_text_edits, minimal_text_edits, rebase
from claw_lsp.workspace import textio
from claw_lsp.workspace.disk import DiskApplier
from claw_lsp.workspace.view import ApplyResult, FileChange, FileSnapshot, OpenBuffer

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

    from claw_lsp.server.review import Reviewer

log = logging.getLogger(__name__)

METHOD_SAVE_DOCUMENTS = "claw/saveDocuments"

REFUSED_OVERLAP = (
    "Not applied: the user edited the same lines since you read the file. Read it again and redo the change."
)
REBASED_NOTE = (
    "The user edited the file meanwhile; your change was merged with their edits (non-overlapping)."
)


def path_to_uri(path: Path) -> str:
    """The file URI of a path (percent-encoded)."""
    uri = uris.from_fs_path(str(path))
    if uri is None:
        raise ValueError(f"not a file path: {path}")
    return str(uri)


def uri_to_path(uri: str) -> Path | None:
    """The filesystem path of a `file:` URI (percent-decoded), None for other schemes."""
    fs = uris.to_fs_path(uri)
    return Path(os.path.normpath(fs)) if fs else None


@dataclass
class ClientInfo:
    """What the client declared it can do, as the applier and the reviewer need it."""

    position_encoding: str = "utf-16"
    document_changes: bool = False
    resource_operations: set[str] = field(default_factory=set)  # "create", "rename", "delete"
    change_annotations: bool = False
    show_document: bool = False
    features: set[str] = field(default_factory=set)  # declared clientFeatures: "review", ...
    name: str = ""

    @property
    def versioned_edits(self) -> bool:
        """True when the client takes `TextDocumentEdit`s (documentChanges).

        Resource operations only exist inside documentChanges, so a client declaring them takes
        TextDocumentEdits too (Neovim 0.11 declares resourceOperations but not documentChanges).
        """
        return self.document_changes or bool(self.resource_operations)

    @classmethod
    def from_initialize(
        cls, params: types.InitializeParams, position_encoding: str | None = None
    ) -> ClientInfo:
        """Read the client's capabilities and `initializationOptions.clientFeatures`.

        Pass the negotiated `position_encoding` (`server.workspace.position_encoding`) when known.
        """
        caps = params.capabilities
        ws_edit = caps.workspace.workspace_edit if caps.workspace else None
        ops = (
            {str(getattr(op, "value", op)) for op in (ws_edit.resource_operations or [])}
            if ws_edit
            else set()
        )
        options = params.initialization_options
        features_raw = options.get("clientFeatures") if isinstance(options, dict) else None
        features = {k for k, v in features_raw.items() if v} if isinstance(features_raw, dict) else set()
        encoding = position_encoding
        if encoding is None:  # what pygls negotiates: the client's first supported preference
            from pygls.capabilities import ServerCapabilitiesBuilder

            encoding = ServerCapabilitiesBuilder.choose_position_encoding(caps)
        return cls(
            position_encoding=str(getattr(encoding, "value", encoding)),
            document_changes=bool(ws_edit and ws_edit.document_changes),
            resource_operations=ops,
            change_annotations=bool(ws_edit and ws_edit.change_annotation_support is not None),
            show_document=bool(
                caps.window and caps.window.show_document and caps.window.show_document.support
            ),
            features=features,
            name=params.client_info.name if params.client_info else "",
        )


@dataclass
class _Doc:
    uri: str
    text: str
    version: int
    dirty: bool = False


@dataclass
class _Waiter:
    predicate: Callable[[str], bool]
    future: asyncio.Future[OpenBuffer | None]


class DocumentTracker:
    """The open buffers, as the editor's didOpen/didChange/didSave/didClose describe them."""

    def __init__(self) -> None:
        self._docs: dict[str, _Doc] = {}  # by uri, as the editor spells it
        self._by_path: dict[str, str] = {}  # normalized and resolved path -> uri
        self._waiters: dict[str, list[_Waiter]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- notifications ---------------------------------------------------------------------------

    def opened(self, uri: str, text: str, version: int) -> None:
        """The editor opened a document."""
        self._docs[uri] = _Doc(uri, text, version)
        for key in self._path_keys(uri):
            self._by_path[key] = uri
        self._notify(uri)

    def changed(self, uri: str, text: str, version: int) -> None:
        """The editor's document changed (its full text after the change)."""
        doc = self._docs.get(uri)
        if doc is None:
            self.opened(uri, text, version)
            self._docs[uri].dirty = True
            return
        doc.dirty = doc.dirty or doc.text != text
        doc.text, doc.version = text, version
        self._notify(uri)

    def apply_changes(
        self,
        uri: str,
        changes: Iterable[types.TextDocumentContentChangeEvent],
        version: int,
        encoding: str,
    ) -> str | None:
        """Apply a didChange's content changes to the tracked text with LSP line rules; the new text.

        Unlike pygls' `TextDocument` (which splits lines with `str.splitlines`, so a form feed or
        U+2028 in a file shifts every later line), lines end only at \\n, \\r\\n and \\r here.
        Returns None when the document is not tracked.
        """
        doc = self._docs.get(uri)
        if doc is None:
            return None
        text = doc.text
        for change in changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                text = apply_text_edits(
                    text, [types.TextEdit(range=change.range, new_text=change.text)], encoding
                )
            else:
                text = change.text
        self.changed(uri, text, version)
        return text

    def saved(self, uri: str, text: str | None = None) -> None:
        """The editor saved a document."""
        doc = self._docs.get(uri)
        if doc is not None:
            doc.dirty = False
            if text is not None:
                doc.text = text

    def closed(self, uri: str) -> None:
        """The editor closed a document."""
        self._docs.pop(uri, None)
        for key, value in list(self._by_path.items()):
            if value == uri:
                del self._by_path[key]
        for waiter in self._waiters.pop(uri, []):
            if not waiter.future.done():
                waiter.future.set_result(None)

    # -- queries ---------------------------------------------------------------------------------

    def get(self, uri: str) -> OpenBuffer | None:
        """The open buffer for a URI."""
        doc = self._docs.get(uri)
        return OpenBuffer(uri=doc.uri, text=doc.text, version=doc.version) if doc else None

    def uri_for(self, path: Path) -> str | None:
        """The URI under which the editor has the path open, if it does."""
        norm = os.path.normpath(str(path))
        uri = self._by_path.get(norm)
        if uri is None:
            with contextlib.suppress(OSError):
                uri = self._by_path.get(str(Path(norm).resolve()))
        return uri

    def open_buffer(self, path: Path) -> OpenBuffer | None:
        """The open buffer for a path (BufferSource), or None when the editor has none."""
        uri = self.uri_for(path)
        return self.get(uri) if uri else None

    def is_dirty(self, uri: str) -> bool:
        """True when the document changed since it was opened or last saved."""
        doc = self._docs.get(uri)
        return bool(doc and doc.dirty)

    def lock(self, uri: str) -> asyncio.Lock:
        """The lock serializing applies to one document (shared by every run)."""
        return self._locks.setdefault(uri, asyncio.Lock())

    async def wait_for(self, uri: str, predicate: Callable[[str], bool], timeout: float) -> OpenBuffer | None:
        """The document once its text satisfies `predicate` (now or a later version); None on timeout."""
        current = self.get(uri)
        if current is not None and predicate(current.text):
            return current
        waiter = _Waiter(predicate, asyncio.get_running_loop().create_future())
        self._waiters.setdefault(uri, []).append(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(uri, [])
            if waiter in waiters:
                waiters.remove(waiter)

    # -- internals -------------------------------------------------------------------------------

    def _path_keys(self, uri: str) -> list[str]:
        path = uri_to_path(uri)
        if path is None:
            return []
        keys = [str(path)]
        with contextlib.suppress(OSError):
            resolved = str(path.resolve())
            if resolved not in keys:
                keys.append(resolved)
        return keys

    def _notify(self, uri: str) -> None:
        doc = self._docs[uri]
        for waiter in list(self._waiters.get(uri, [])):
            if waiter.future.done():
                continue
            try:
                ok = waiter.predicate(doc.text)
            except Exception as exc:  # a broken predicate must not break didChange handling
                waiter.future.set_exception(exc)
                continue
            if ok:
                waiter.future.set_result(OpenBuffer(uri=doc.uri, text=doc.text, version=doc.version))


class _NotApplied(Exception):
    """A change could not be applied; the message is for the model."""


def _read_disk(path: Path) -> tuple[str, str] | None:
    """(text, encoding) of a file on disk, None when it does not exist."""
    try:
        return textio.decode(path.read_bytes())
    except FileNotFoundError:
        return None


class LspApplier:
    """Applies one run's changes through the editor (a `ChangeApplier`)."""

    def __init__(  # noqa: PLR0917 - the server constructs it positionally
        self,
        server: LanguageServer,
        documents: DocumentTracker,
        client: ClientInfo,
        reviewer: Reviewer,
        run_id: str,
        run_label: str,
        on_step: Callable[[str], None] | None = None,
        *,
        confirm_timeout: float = 5.0,
        disk: DiskApplier | None = None,
    ) -> None:
        self.server = server
        self.documents = documents
        self.client = client
        self.reviewer = reviewer
        self.run_id = run_id
        self.run_label = run_label
        self.on_step = on_step or (lambda _text: None)
        self.confirm_timeout = confirm_timeout
        self.disk = disk or DiskApplier()
        self.touched: list[Path] = []
        self._expected_on_disk: dict[Path, str] = {}  # content sent to not-open files via the editor
        self._shown: set[str] = set()
        self._tasks: set[asyncio.Future[Any]] = set()

    @property
    def encoding(self) -> str:
        """The negotiated position encoding."""
        return self.client.position_encoding

    # -- ChangeApplier -----------------------------------------------------------------------------

    async def apply(self, change: FileChange) -> ApplyResult:
        """Review, then apply one change; the result's message tells the model what happened."""
        uri = self.documents.uri_for(change.path) or path_to_uri(change.path)
        async with self.documents.lock(uri):
            try:
                result = await self._apply(change, uri)
            except _NotApplied as exc:
                return ApplyResult(applied=False, message=str(exc))
        target = change.new_path if change.kind == "rename" else change.path
        if result.applied and change.kind != "delete" and target is not None:
            if target not in self.touched:
                self.touched.append(target)
            self._show(target)
        return result

    async def _apply(self, change: FileChange, uri: str) -> ApplyResult:
        buffer = self.documents.get(uri)
        if change.kind in ("create", "modify"):
            if buffer is not None:
                return await self._apply_to_buffer(change, uri, buffer)
            return await self._apply_to_closed(change, uri)
        if change.kind == "delete":
            return await self._delete(change, uri, buffer)
        return await self._rename(change, uri, buffer)

    # -- open buffers ---------------------------------------------------------------------------

    async def _apply_to_buffer(self, change: FileChange, uri: str, buffer: OpenBuffer) -> ApplyResult:
        base = (
            change.base.text if change.base is not None else ("" if change.kind == "create" else buffer.text)
        )
        target = change.new_text or ""
        notes: list[str] = []
        if buffer.text != base:
            merged = rebase(base, target, buffer.text)
            if merged is None:
                return ApplyResult(applied=False, message=REFUSED_OVERLAP)
            if merged != buffer.text:
                notes.append(REBASED_NOTE)
            target = merged
        shown_old = buffer.text
        if target == shown_old:
            return ApplyResult(
                applied=True,
                message=_join([*notes, "No change: the file already has this text."]),
                final_text=target,
            )
        outcome = await self._review(change, shown_old, target)
        if outcome.decision == "partial":
            target = apply_hunks(shown_old, target, outcome.accepted_hunks)
            notes.append(_partial_note(outcome))
        self.on_step(f"Applying edit to {display_path(self.server, change.path)}")
        final, rebased = await self._send_and_confirm(uri, shown_old, target)
        if rebased and REBASED_NOTE not in notes:
            notes.insert(0, REBASED_NOTE)
        return ApplyResult(
            applied=True, message=_join(notes), final_text=final, partial=outcome.decision == "partial"
        )

    async def _send_and_confirm(self, uri: str, from_text: str, target: str) -> tuple[str, bool]:
        """Send `from_text` -> `target` to the buffer and wait for didChange to show it (one retry)."""
        rebased = False
        reason = ""
        for _attempt in range(2):
            current = self.documents.get(uri)
            if current is None:
                raise _NotApplied("Not applied: the file was closed in the editor meanwhile. Try again.")
            if current.text != from_text:
                merged = rebase(from_text, target, current.text)
                if merged is None:
                    raise _NotApplied(REFUSED_OVERLAP)
                rebased = rebased or merged != current.text
                from_text, target = current.text, merged
            if current.text == target:
                return target, rebased
            edits = minimal_text_edits(current.text, target, self.encoding)
            response = await self._send_edit(self._text_document_edit_params(uri, current.version, edits))
            if response.applied:
                shows = functools.partial(_shows, current.text, target)
                confirmed = await self.documents.wait_for(uri, shows, self.confirm_timeout)
                if confirmed is not None:
                    return confirmed.text, rebased
                reason = "the editor answered that it applied the edit, but the buffer never showed it"
            else:
                reason = response.failure_reason or "the editor refused the edit"
            log.info("edit to %s not confirmed (%s); retrying once", uri, reason)
        raise _NotApplied(f"Not applied: {reason}. Read the file again and redo the change.")

    # -- files the editor does not have open ----------------------------------------------------

    def _editor_can(self, op: str) -> bool:
        return op in self.client.resource_operations

    async def _apply_to_closed(self, change: FileChange, uri: str) -> ApplyResult:
        on_disk = await asyncio.to_thread(_read_disk, change.path)
        target = change.new_text or ""
        notes: list[str] = []
        if change.kind == "create" or change.base is None:
            if on_disk is not None and on_disk[0] != target and change.kind == "create":
                return ApplyResult(
                    applied=False,
                    message=f"Not applied: {change.path} already exists (it was created meanwhile); "
                    "Read it first.",
                )
            current = on_disk[0] if on_disk is not None else ""
        else:
            if on_disk is None:
                return ApplyResult(applied=False, message=f"Not applied: {change.path} no longer exists.")
            current = on_disk[0]
            if current != change.base.text:
                merged = rebase(change.base.text, target, current)
                if merged is None:
                    return ApplyResult(applied=False, message=REFUSED_OVERLAP)
                notes.append(REBASED_NOTE)
                target = merged
        exists = on_disk is not None
        if exists and current == target:
            return ApplyResult(
                applied=True, message="No change: the file already has this text.", final_text=target
            )
        outcome = await self._review(change, current, target)
        if outcome.decision == "partial":
            target = apply_hunks(current, target, outcome.accepted_hunks)
            notes.append(_partial_note(outcome))
        if self._editor_can("create") or (exists and self.client.resource_operations):
            await self._edit_closed_through_editor(change.path, uri, current, target, exists)
        else:
            snapshot = FileSnapshot(
                path=change.path,
                text=current,
                version=None,
                mtime_ns=None,
                encoding=on_disk[1] if on_disk else "utf-8",
            )
            write = FileChange(kind="modify", path=change.path, new_text=target, base=snapshot)
            if not exists:
                write = FileChange(kind="create", path=change.path, new_text=target)
            result = await self.disk.apply(write)
            if not result.applied:
                return result
            if result.message:
                notes.append(result.message)
        return ApplyResult(
            applied=True, message=_join(notes), final_text=target, partial=outcome.decision == "partial"
        )

    async def _edit_closed_through_editor(
        self, path: Path, uri: str, current: str, target: str, exists: bool
    ) -> None:
        """Create or change a file the editor has not open with one workspace edit, then confirm."""
        ops: list[Any] = []
        annotation = self.run_id if self.client.change_annotations else None
        if not exists:
            ops.append(
                types.CreateFile(
                    uri=uri,
                    options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False),
                    annotation_id=annotation,
                )
            )
        edits = minimal_text_edits(current, target, self.encoding)
        if edits:
            ops.append(
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                    edits=self._annotate(edits),
                )
            )
        response = await self._send_edit(self._workspace_edit_params(ops))
        if not response.applied:
            raise _NotApplied(f"Not applied: {response.failure_reason or 'the editor refused the edit'}.")
        self._expected_on_disk[path] = target
        if not await self._confirm_file(path, uri, target):
            raise _NotApplied(
                f"Not applied: the editor answered that it applied the edit, but {path} never showed it."
            )

    async def _confirm_file(self, path: Path, uri: str, expected: str | None) -> bool:
        """Wait until the editor's buffer or the disk shows `expected` (None: the file is gone)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.confirm_timeout
        while True:
            if expected is not None:
                buffer = self.documents.get(uri)
                if buffer is not None and buffer.text == expected:
                    return True
            on_disk = await asyncio.to_thread(_read_disk, path)
            if expected is None and on_disk is None:
                return True
            if expected is not None and on_disk is not None and on_disk[0] == expected:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            if expected is not None:
                await self.documents.wait_for(uri, lambda text: text == expected, min(0.1, remaining))
            else:
                await asyncio.sleep(min(0.1, remaining))

    # -- delete and rename ----------------------------------------------------------------------

    async def _delete(self, change: FileChange, uri: str, buffer: OpenBuffer | None) -> ApplyResult:
        if buffer is not None:
            current = buffer.text
        else:
            on_disk = await asyncio.to_thread(_read_disk, change.path)
            if on_disk is None:
                return ApplyResult(applied=False, message=f"Not applied: {change.path} does not exist.")
            current = on_disk[0]
        if change.base is not None and current != change.base.text:
            return ApplyResult(
                applied=False,
                message=f"Not applied: {change.path} changed since you read it. Read it again first.",
            )
        if buffer is not None and not self._editor_can("delete"):
            return ApplyResult(
                applied=False,
                message=f"Not applied: {change.path} is open in the editor, which cannot delete files "
                "for the language server. Ask the user to delete it.",
            )
        await self._review(change, current, "")
        if self._editor_can("delete"):
            op = types.DeleteFile(
                uri=uri,
                options=types.DeleteFileOptions(ignore_if_not_exists=False),
                annotation_id=self.run_id if self.client.change_annotations else None,
            )
            response = await self._send_edit(self._workspace_edit_params([op]))
            if not response.applied or not await self._confirm_file(change.path, uri, None):
                return ApplyResult(
                    applied=False, message=f"Not applied: the editor did not delete {change.path}."
                )
            return ApplyResult(applied=True)
        return await self.disk.apply(change)

    async def _rename(self, change: FileChange, uri: str, buffer: OpenBuffer | None) -> ApplyResult:
        target = change.new_path
        if target is None:
            return ApplyResult(applied=False, message="Not applied: a rename needs a target path.")
        if self.documents.uri_for(target) is not None or await asyncio.to_thread(target.exists):
            return ApplyResult(applied=False, message=f"Not applied: {target} already exists.")
        if buffer is not None and not self._editor_can("rename"):
            return ApplyResult(
                applied=False,
                message=f"Not applied: {change.path} is open in the editor, which cannot rename files "
                "for the language server. Ask the user to rename it.",
            )
        text = buffer.text if buffer is not None else ""
        await self._review(change, text, text)
        if self._editor_can("rename"):
            new_uri = path_to_uri(target)
            op = types.RenameFile(
                old_uri=uri,
                new_uri=new_uri,
                options=types.RenameFileOptions(overwrite=False, ignore_if_exists=False),
                annotation_id=self.run_id if self.client.change_annotations else None,
            )
            response = await self._send_edit(self._workspace_edit_params([op]))
            moved = response.applied and await self._confirm_file(change.path, uri, None)
            if not moved or not await asyncio.to_thread(target.exists):
                return ApplyResult(
                    applied=False, message=f"Not applied: the editor did not rename {change.path}."
                )
            return ApplyResult(applied=True)
        return await self.disk.apply(change)

    # -- saving ---------------------------------------------------------------------------------

    async def save_documents(self, paths: Iterable[Path] | None = None) -> list[Path]:
        """Ask the editor to save the given (default: touched) files; return those still unsaved."""
        candidates = list(self.touched if paths is None else paths)
        unsaved = [p for p in candidates if await self._unsaved(p)]
        if not unsaved or "saveDocuments" not in self.client.features:
            return unsaved
        uris_ = [self.documents.uri_for(p) or path_to_uri(p) for p in unsaved]
        try:
            await self.server.protocol.send_request_async(METHOD_SAVE_DOCUMENTS, {"uris": uris_})
        except Exception as exc:  # the shim failed: report the files as unsaved
            log.warning("claw/saveDocuments failed: %s", exc)
            return unsaved
        return [p for p in unsaved if await self._unsaved(p)]

    async def _unsaved(self, path: Path) -> bool:
        """True when the editor holds text for the path that differs from the disk."""
        buffer = self.documents.open_buffer(path)
        expected = buffer.text if buffer is not None else self._expected_on_disk.get(path)
        if expected is None:
            return False
        on_disk = await asyncio.to_thread(_read_disk, path)
        return on_disk is None or on_disk[0] != expected

    # -- LSP plumbing ---------------------------------------------------------------------------

    async def _review(self, change: FileChange, old_text: str, new_text: str) -> ReviewOutcome:
        """The user's review of the change; raises _NotApplied when they reject it or cannot be asked."""
        try:
            outcome = await self.reviewer.review(change, old_text, new_text)
        except Exception as exc:  # the client could not be asked: do not apply unreviewed
            log.exception("review of %s failed", change.path)
            raise _NotApplied(f"Not applied: the user could not be asked to review it ({exc}).") from exc
        if outcome.decision == "reject":
            raise _NotApplied(_rejection_message(outcome))
        return outcome

    def _annotate(self, edits: list[types.TextEdit]) -> list[types.TextEdit | types.AnnotatedTextEdit]:
        if not self.client.change_annotations:
            return list(edits)
        return [
            types.AnnotatedTextEdit(range=e.range, new_text=e.new_text, annotation_id=self.run_id)
            for e in edits
        ]

    def _workspace_edit_params(self, document_changes: list[Any]) -> types.ApplyWorkspaceEditParams:
        annotations = None
        if self.client.change_annotations:
            annotations = {
                self.run_id: types.ChangeAnnotation(
                    label=self.run_label, needs_confirmation=False, description=f"Claw run {self.run_id}"
                )
            }
        return types.ApplyWorkspaceEditParams(
            edit=types.WorkspaceEdit(document_changes=document_changes, change_annotations=annotations),
            label=self.run_label,
        )

    def _text_document_edit_params(
        self, uri: str, version: int, edits: list[types.TextEdit]
    ) -> types.ApplyWorkspaceEditParams:
        if not self.client.versioned_edits:
            # Without documentChanges support only the unversioned `changes` map is understood.
            return types.ApplyWorkspaceEditParams(
                edit=types.WorkspaceEdit(changes={uri: list(edits)}), label=self.run_label
            )
        document_edit = types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
            edits=self._annotate(edits),
        )
        return self._workspace_edit_params([document_edit])

    async def _send_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        try:
            result = await self.server.workspace_apply_edit_async(params)
        except Exception as exc:  # an error response (eglot refuses edits that way): not applied
            log.info("workspace/applyEdit failed: %s", exc)
            reason = f"the editor refused it ({exc})"
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason=reason)
        if result is None:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="the editor gave no answer")
        return result

    def _show(self, path: Path) -> None:
        """Show an edited file with window/showDocument (takeFocus false), once per file per run."""
        if not self.client.show_document:
            return
        uri = self.documents.uri_for(path) or path_to_uri(path)
        if uri in self._shown:
            return
        self._shown.add(uri)
        # Fire and forget: showing the file is a courtesy and must not hold up the run.
        task = asyncio.ensure_future(
            self.server.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=False))
        )
        self._tasks.add(task)
        task.add_done_callback(self._show_done)

    def _show_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.info("showDocument failed: %s", task.exception())


def _shows(sent_from: str, expected: str, text: str) -> bool:
    """True when `text` contains the edit `sent_from` -> `expected` (possibly plus the user's typing)."""
    if text == expected:
        return True
    return text != sent_from and rebase(sent_from, expected, text) == text


def _join(parts: Iterable[str]) -> str:
    return " ".join(p for p in parts if p)


def _rejection_message(outcome: ReviewOutcome) -> str:
    message = "The user rejected this change."
    if outcome.feedback:
        message += f" Their feedback: {outcome.feedback}"
    return message


def _partial_note(outcome: ReviewOutcome) -> str:
    rejected = [h for h in outcome.hunks if h.index not in outcome.accepted_hunks]
    lines = ["The user applied only part of your change; they rejected these hunks (not applied):"]
    for hunk in rejected:
        diff = hunk.diff if len(hunk.diff) <= 2000 else hunk.diff[:2000] + "…\n"
        lines.append(f"{hunk.header}\n{diff}".rstrip("\n"))
    if outcome.feedback:
        lines.append(f"Their feedback: {outcome.feedback}")
    return "\n".join(lines)
