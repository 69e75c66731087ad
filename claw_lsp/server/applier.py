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
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from claw_lsp.core.events import ReviewNote
from claw_lsp.core.files import ApplyResult, ChangedRegion, FileChange, FileSnapshot, OpenBuffer
from claw_lsp.server.client import ClientInfo
from claw_lsp.server.document import ContentLines, LineDocument
from claw_lsp.server.document import apply_changes as apply_content_changes
from claw_lsp.server.protocol import METHOD_SAVE_DOCUMENTS, UrisParams, wire
from claw_lsp.server.review import ReviewOutcome, display_path
from claw_lsp.server.textedit import (
    apply_hunks,
    buffer_edits,
    final_break,
    holds_change,
    rebase,
)
from claw_lsp.server.uris import path_of, uri_of
from claw_lsp.workspace import textio
from claw_lsp.workspace.disk import DiskApplier

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

    from claw_lsp.server.review import Reviewer

log = logging.getLogger(__name__)


REFUSED_OVERLAP = (
    "Not applied: the user edited the same lines since you read the file. Read it again and redo the change."
)
REBASED_NOTE = (
    "The user edited the file meanwhile; your change was merged with their edits (non-overlapping)."
)


@dataclass
class _Doc:
    uri: str
    lines: LineDocument
    version: int
    dirty: bool = False

    @property
    def text(self) -> str:
        return self.lines.text


@dataclass
class _Waiter:
    predicate: Callable[[OpenBuffer], bool]
    future: asyncio.Future[OpenBuffer | None]


class DocumentTracker:
    """The open buffers, as the editor's didOpen/didChange/didSave/didClose describe them."""

    def __init__(self) -> None:
        self._docs: dict[str, _Doc] = {}  # by uri, as the editor spells it
        self._by_path: dict[str, str] = {}  # normalized and resolved path -> uri
        self._waiters: dict[str, list[_Waiter]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # An edit sent to a document: (version sent against, its one TextEdit, the text it gives).
        self._expected: dict[str, tuple[int, types.TextEdit, str]] = {}

    # -- notifications ---------------------------------------------------------------------------

    def opened(self, uri: str, text: str, version: int) -> None:
        """The editor opened a document."""
        self._expected.pop(uri, None)  # an edit sent to the text before is no guide to this one
        self._docs[uri] = _Doc(uri, LineDocument(text), version)
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
        self._expected.pop(uri, None)
        doc.dirty = doc.dirty or doc.text != text
        doc.lines, doc.version = LineDocument(text), version
        self._notify(uri)

    def apply_changes(
        self,
        uri: str,
        changes: Sequence[types.TextDocumentContentChangeEvent],
        version: int,
        encoding: str,
    ) -> bool:
        """Apply a didChange's content changes to the tracked document with LSP line rules, in
        O(lines the changes touch) (see server/document.py); False when the document is not open.

        Unlike pygls' `TextDocument` (which splits lines with `str.splitlines`, so a form feed or
        U+2028 in a file shifts every later line), lines end only at \\n, \\r\\n and \\r here.
        """
        doc = self._docs.get(uri)
        if doc is None:
            return False
        before = doc.version
        doc.lines, changed = apply_content_changes(doc.lines, changes, encoding)
        expected = self._expected.pop(uri, None)
        if expected is not None and expected[0] == before and len(changes) == 1:
            _sent, edit, text = expected
            change = changes[0]
            if (
                isinstance(change, types.TextDocumentContentChangePartial)
                and change.range == edit.range
                and change.text == edit.new_text
            ):
                # The editor applied exactly the edit sent, to the text it was computed on: the
                # text is the one the edit gives, known already (no join of every line).
                doc.lines.known_text(text)
        doc.version = version
        doc.dirty = doc.dirty or changed
        self._notify(uri)
        return True

    def saved(self, uri: str, text: str | None = None) -> None:
        """The editor saved a document."""
        doc = self._docs.get(uri)
        if doc is not None:
            doc.dirty = False
            if text is not None and text != doc.text:
                doc.lines = LineDocument(text)

    def closed(self, uri: str) -> None:
        """The editor closed a document."""
        self._docs.pop(uri, None)
        self._expected.pop(uri, None)
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

    def __contains__(self, uri: str) -> bool:
        """Whether the editor has the document open (under this spelling of its URI)."""
        return uri in self._docs

    def uris(self) -> list[str]:
        """The URIs of the open documents."""
        return list(self._docs)

    def size(self, uri: str) -> int:
        """The length of an open document's text (0 when it is not open), without joining it."""
        doc = self._docs.get(uri)
        return len(doc.lines) if doc else 0

    def content_lines(self, uri: str) -> ContentLines | None:
        """An open document's lines without their endings (as `split_lines` gives them), read
        one line at a time: no copy of the whole text."""
        doc = self._docs.get(uri)
        return doc.lines.content_lines() if doc else None

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

    def expect(self, uri: str, version: int, edits: Sequence[types.TextEdit], text: str) -> None:
        """An edit is being sent to `uri` at `version` and gives `text`: when the editor's next
        didChange is that one edit, the tracker takes `text` as the document's (a single-edit
        change only: several changes in one didChange apply one after the other, unlike a
        WorkspaceEdit's, so their ranges mean other things)."""
        if len(edits) == 1:
            self._expected[uri] = (version, edits[0], text)
        else:
            self._expected.pop(uri, None)

    def lock(self, uri: str) -> asyncio.Lock:
        """The lock serializing applies to one document (shared by every run)."""
        return self._locks.setdefault(uri, asyncio.Lock())

    async def wait_for(self, uri: str, predicate: Callable[[str], bool], timeout: float) -> OpenBuffer | None:
        """The document once its text satisfies `predicate` (now or a later version); None on timeout."""
        return await self.wait_until(uri, lambda buffer: predicate(buffer.text), timeout)

    async def wait_until(
        self, uri: str, predicate: Callable[[OpenBuffer], bool], timeout: float
    ) -> OpenBuffer | None:
        """The document once it satisfies `predicate` (now or after a later didChange); None on timeout."""
        current = self.get(uri)
        if current is not None and predicate(current):
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
        path = path_of(uri)
        if path is None:
            return []
        keys = [str(path)]
        with contextlib.suppress(OSError):
            resolved = str(path.resolve())
            if resolved not in keys:
                keys.append(resolved)
        return keys

    def _notify(self, uri: str) -> None:
        waiters = self._waiters.get(uri)
        if not waiters:
            return  # the common case (typing): no whole text to build
        doc = self._docs[uri]
        buffer = OpenBuffer(uri=doc.uri, text=doc.text, version=doc.version)
        for waiter in list(waiters):
            if waiter.future.done():
                continue
            try:
                ok = waiter.predicate(buffer)
            except Exception as exc:  # a broken predicate must not break didChange handling
                waiter.future.set_exception(exc)
                continue
            if ok:
                waiter.future.set_result(buffer)


MAX_ATTEMPTS = 3  # sends of one edit: the first, then retries from a fresher buffer


@dataclass
class _BufferEdit:
    """What the agent did to one open buffer in this run: was it clean before, the text it left."""

    clean_before: bool
    last: str


def _snapshot(
    path: Path, text: str, on_disk: tuple[str, str] | None, encoding: str | None = None
) -> FileSnapshot:
    """A snapshot of a file's disk text (the base of a disk write)."""
    return FileSnapshot(
        path=path,
        text=text,
        version=None,
        mtime_ns=None,
        encoding=encoding or (on_disk[1] if on_disk else "utf-8"),
    )


class _NotApplied(Exception):
    """A change could not be applied; the message is for the model (`review`: the user rejected it)."""

    def __init__(self, message: str, review: ReviewNote | None = None) -> None:
        super().__init__(message)
        self.review = review


def _review_note(outcome: ReviewOutcome) -> ReviewNote | None:
    """How the user decided, for the front ends (None when nobody was asked)."""
    if outcome.auto:
        return None
    rejected = outcome.rejected_hunks if outcome.decision != "reject" else [h.index for h in outcome.hunks]
    return ReviewNote(
        decision=outcome.decision,
        accepted_hunks=sorted(outcome.accepted_hunks) if outcome.decision != "reject" else [],
        rejected_hunks=rejected,
        feedback=outcome.feedback,
    )


def _read_disk(path: Path, roots: Sequence[Path] = ()) -> tuple[str, str] | None:
    """(text, encoding) of a file on disk, None when it does not exist (opened beneath `roots`)."""
    try:
        return textio.decode(textio.read_regular(path, roots))
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
        settle: float = 1.0,
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
        self.settle = settle  # quiet time after which a newer buffer without the edit means dropped
        self.disk = disk or DiskApplier(getattr(server, "folders", ()))
        self.touched: list[Path] = []
        self._buffer_edits: dict[str, _BufferEdit] = {}  # open files this run changed, by uri
        self._shown: set[str] = set()
        self._tasks: set[asyncio.Future[Any]] = set()

    @property
    def encoding(self) -> str:
        """The negotiated position encoding."""
        return self.client.position_encoding

    # -- ChangeApplier -----------------------------------------------------------------------------

    async def apply(self, change: FileChange) -> ApplyResult:
        """Review, then apply one change; the result's message tells the model what happened."""
        uri = self.documents.uri_for(change.path) or uri_of(change.path)
        async with self.documents.lock(uri):
            try:
                result = await self._apply(change, uri)
            except _NotApplied as exc:
                return ApplyResult(applied=False, message=str(exc), review=exc.review)
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
        region = change.region  # where target can differ from base (and so from the buffer)
        if buffer.text != base:
            merged = rebase(base, target, buffer.text)
            if merged is None:
                return ApplyResult(applied=False, message=REFUSED_OVERLAP)
            if merged != buffer.text:
                notes.append(REBASED_NOTE)
            target, region = merged, None
        shown_old = buffer.text
        if target == shown_old:
            return ApplyResult(
                applied=True,
                message=_join([*notes, "No change: the file already has this text."]),
                final_text=target,
            )
        outcome = await self._review(change, shown_old, target)
        if outcome.decision == "partial":
            target, region = apply_hunks(shown_old, target, outcome.accepted_hunks), None
            notes.append(_partial_note(outcome))
        self.on_step(f"Applying edit to {display_path(self.server, change.path)}")
        disk_before = None
        if uri not in self._buffer_edits:
            on_disk = await asyncio.to_thread(_read_disk, change.path, self.disk.roots)
            disk_before = on_disk[0] if on_disk is not None else None
        final, rebased = await self._send_and_confirm(uri, shown_old, target, region)
        if rebased and REBASED_NOTE not in notes:
            notes.insert(0, REBASED_NOTE)
        self._note_edited(uri, shown_old, final, disk_before, merged=REBASED_NOTE in notes)
        eol_note = _final_newline_note(final, target) or _line_break_note(final, target)
        if eol_note:
            notes.append(eol_note)
        return _applied(change, outcome, notes, shown_old, final, knows_own_text=not eol_note)

    async def apply_own(self, change: FileChange) -> bool:
        """Apply a change of the server's own (no review) to an open buffer; True when it landed."""
        uri = self.documents.uri_for(change.path)
        if uri is None:
            return False
        async with self.documents.lock(uri):
            buffer = self.documents.get(uri)
            if buffer is None:
                return False
            base = change.base.text if change.base is not None else buffer.text
            target = change.new_text or ""
            if buffer.text != base:
                merged = rebase(base, target, buffer.text)
                if merged is None:
                    return False
                target = merged
            try:
                await self._send_and_confirm(uri, buffer.text, target)
            except _NotApplied as exc:
                log.info("%s: %s", change.description or change.path, exc)
                return False
        return True

    async def _send_and_confirm(
        self, uri: str, from_text: str, target: str, region: ChangedRegion | None = None
    ) -> tuple[str, bool]:
        """Send `from_text` -> `target` to the buffer and wait until a didChange shows it
        (`region`: where `target` can differ from `from_text`, when known).

        The edit is versioned with the buffer's version. When the editor refuses it, or drops it
        while answering `applied: true` (Neovim does for a stale version), the server waits for the
        editor's next didChange and tries again from that text, rebased: a refusal because the
        editor's version moved on (eglot bumps it at once, reports it later) is not the user's doing.
        Returns the buffer's text with the edit and whether it was merged with other changes.
        """
        rebased = moved_on = False
        reason = ""
        for _attempt in range(MAX_ATTEMPTS + int(self.client.is_neovim)):  # + the move off version 0
            current = self.documents.get(uri)
            if current is None:
                raise _NotApplied("Not applied: the file was closed in the editor meanwhile. Try again.")
            if current.text != from_text:
                merged = rebase(from_text, target, current.text)
                if merged is None:
                    raise _NotApplied(REFUSED_OVERLAP)
                rebased = rebased or merged != current.text
                from_text, target, region = current.text, merged, None
            edits, expected = buffer_edits(
                current.text,
                target,
                self.encoding,
                final_newline_is_flag=self.client.final_newline_is_flag,
                region=region,
            )
            if not edits:
                return current.text, rebased
            if current.version == 0 and self.client.is_neovim and not moved_on:
                moved_on = True
                await self._leave_version_zero(uri)
                continue  # recompute against the buffer as it is now
            self.documents.expect(uri, current.version, edits, expected)
            response = await self._send_edit(self._text_document_edit_params(uri, current.version, edits))
            sent = current
            if response.applied:
                seen = await self._wait_shown(uri, sent, expected)
                if seen is not None and self._holds(sent.text, expected, seen.text):
                    # More than the edit in it: the user typed while it landed (merged too).
                    if seen.text == expected:  # (a compare: the common case, no LF copies)
                        return seen.text, rebased
                    same = _lf if self.client.normalizes_line_endings else str
                    return seen.text, rebased or same(seen.text) != same(expected)
                if seen is None:
                    # No word from the editor: sending again could apply the edit twice.
                    raise _NotApplied(
                        "Not confirmed: the editor answered that it applied the edit but did not report "
                        f"the buffer's new text within {self.confirm_timeout:g} s, so the file may or may "
                        "not hold it. Read the file again before changing it further."
                    )
                # A newer version without the edit: the editor dropped it (a stale version).
                reason = "the editor dropped the edit because the buffer had changed"
            else:
                reason = response.failure_reason or "the editor refused the edit"
                # Wait for the buffer the editor has now; a refusal for a stale version means one
                # is on its way (nothing comes when the refusal had another cause).
                newer = await self.documents.wait_until(
                    uri,
                    lambda buffer, sent=sent: buffer.version != sent.version,  # type: ignore[misc]
                    self.confirm_timeout,
                )
                if newer is None:
                    break
            log.info("edit to %s not confirmed (%s); retrying from the current buffer", uri, reason)
        raise _NotApplied(f"Not applied: {reason}. Read the file again and redo the change.")

    async def _leave_version_zero(self, uri: str) -> None:
        """Get a Neovim buffer past version 0 before a real edit is sent to it.

        Neovim checks an edit's version only when it is above 0, so an edit for a buffer at
        version 0 would land at stale positions if the user typed meanwhile. An empty insertion
        changes no text wherever the buffer stands, but moves its version on; the real edit then
        goes out with a version Neovim checks. (It marks the buffer modified a moment early.)
        """
        start = types.Position(line=0, character=0)
        empty = types.TextEdit(range=types.Range(start=start, end=start), new_text="")
        response = await self._send_edit(self._text_document_edit_params(uri, 0, [empty]))
        if response.applied:
            await self.documents.wait_until(uri, lambda b: b.version != 0, self.settle)

    def _holds(self, sent: str, expected: str, text: str) -> bool:
        """True when the buffer's `text` holds the edit `sent` -> `expected`."""
        if holds_change(sent, expected, text):
            return True
        # An editor that normalizes line endings writes the inserted breaks as the document's own.
        return self.client.normalizes_line_endings and holds_change(_lf(sent), _lf(expected), _lf(text))

    async def _wait_shown(self, uri: str, sent: OpenBuffer, expected: str) -> OpenBuffer | None:
        """The buffer once it is `expected`, else the newest buffer once the editor went quiet.

        Neovim applies an edit's TextEdits one by one and may report the first of them at once and
        the rest a debounce later, and the user may type meanwhile: any other text is judged only
        when no further didChange came for `settle` seconds. None: the editor said nothing at all.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.confirm_timeout
        version = sent.version
        latest: OpenBuffer | None = None
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return latest
            wait = remaining if latest is None else min(remaining, self.settle)
            buffer = await self.documents.wait_until(
                uri,
                lambda b, v=version: b.text == expected or b.version > v,  # type: ignore[misc]
                wait,
            )
            if buffer is None:
                return latest  # quiet since `latest` (or nothing at all)
            if buffer.text == expected:
                return buffer
            latest, version = buffer, buffer.version

    # -- files the editor does not have open ----------------------------------------------------

    async def _apply_to_closed(self, change: FileChange, uri: str) -> ApplyResult:
        """Change a file the editor does not have open: on disk, atomically (never a hidden buffer)."""
        on_disk = await asyncio.to_thread(_read_disk, change.path, self.disk.roots)
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
        if self.documents.uri_for(change.path) is not None:
            # The editor opened the file while the user reviewed: go through its buffer instead.
            reopened = await self._apply(
                FileChange(
                    kind="modify",
                    path=change.path,
                    new_text=target,
                    base=_snapshot(change.path, current, on_disk),
                    preapproved=True,
                    description=change.description,
                ),
                self.documents.uri_for(change.path) or uri,
            )
            reopened.review = _review_note(outcome)
            if outcome.decision == "partial":
                reopened.partial = True
                reopened.message = _join([*notes, reopened.message])
            return reopened
        encoding = on_disk[1] if on_disk else (change.base.encoding if change.base else "utf-8")
        write = FileChange(
            kind="modify" if exists else "create",
            path=change.path,
            new_text=target,
            base=_snapshot(change.path, current, on_disk, encoding) if exists else None,
        )
        result = await self.disk.apply(write)
        if not result.applied:
            return result
        if result.message:
            notes.append(result.message)
        return _applied(change, outcome, notes, current if exists else None, target)

    async def _confirm_gone(self, path: Path) -> bool:
        """Wait until the file is gone from disk (a delete or rename by the editor)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.confirm_timeout
        while await asyncio.to_thread(path.exists):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(0.05, remaining))
        return True

    # -- delete and rename ----------------------------------------------------------------------

    async def _delete(self, change: FileChange, uri: str, buffer: OpenBuffer | None) -> ApplyResult:
        if buffer is not None:
            current = buffer.text
        else:
            on_disk = await asyncio.to_thread(_read_disk, change.path, self.disk.roots)
            if on_disk is None:
                return ApplyResult(applied=False, message=f"Not applied: {change.path} does not exist.")
            current = on_disk[0]
        if change.base is not None and current != change.base.text:
            return ApplyResult(
                applied=False,
                message=f"Not applied: {change.path} changed since you read it. Read it again first.",
            )
        if buffer is not None and not self.client.can("delete"):
            return ApplyResult(
                applied=False,
                message=f"Not applied: {change.path} is open in the editor, which cannot delete files "
                "for the language server. Ask the user to delete it.",
            )
        await self._review(change, current, "")
        if buffer is None:
            return await self.disk.apply(change)
        op = types.DeleteFile(
            uri=uri,
            options=types.DeleteFileOptions(ignore_if_not_exists=False),
            annotation_id=self.run_id if self.client.change_annotations else None,
        )
        response = await self._send_edit(self._workspace_edit_params([op]))
        if not response.applied or not await self._confirm_gone(change.path):
            reason = f"Not applied: the editor did not delete {change.path}."
            return ApplyResult(applied=False, message=reason)
        return ApplyResult(applied=True)

    async def _rename(self, change: FileChange, uri: str, buffer: OpenBuffer | None) -> ApplyResult:
        target = change.new_path
        if target is None:
            return ApplyResult(applied=False, message="Not applied: a rename needs a target path.")
        if self.documents.uri_for(target) is not None or await asyncio.to_thread(target.exists):
            return ApplyResult(applied=False, message=f"Not applied: {target} already exists.")
        if buffer is not None and not self.client.can("rename"):
            return ApplyResult(
                applied=False,
                message=f"Not applied: {change.path} is open in the editor, which cannot rename files "
                "for the language server. Ask the user to rename it.",
            )
        text = buffer.text if buffer is not None else ""
        await self._review(change, text, text)
        if buffer is None:
            return await self.disk.apply(change)
        op = types.RenameFile(
            old_uri=uri,
            new_uri=uri_of(target),
            options=types.RenameFileOptions(overwrite=False, ignore_if_exists=False),
            annotation_id=self.run_id if self.client.change_annotations else None,
        )
        response = await self._send_edit(self._workspace_edit_params([op]))
        moved = response.applied and await self._confirm_gone(change.path)
        if not moved or not await asyncio.to_thread(target.exists):
            reason = f"Not applied: the editor did not rename {change.path}."
            return ApplyResult(applied=False, message=reason)
        return ApplyResult(applied=True)

    # -- saving ---------------------------------------------------------------------------------

    def _note_edited(
        self, uri: str, before: str, after: str, disk_before: str | None, *, merged: bool
    ) -> None:
        """Record a confirmed agent edit of an open buffer, for saving before Bash.

        The buffer holds only the agent's unsaved changes while it was saved (matched the disk)
        before the agent's first edit, and every later edit started from the text the previous
        one left, with nothing of the user's merged in.
        """
        record = self._buffer_edits.get(uri)
        if record is None:
            record = self._buffer_edits[uri] = _BufferEdit(clean_before=disk_before == before, last=after)
        elif before != record.last:
            record.clean_before = False
        if merged:
            record.clean_before = False
        record.last = after

    def changed_buffers(self) -> list[Path]:
        """The open files this run changed."""
        return [p for p in (path_of(u) for u in self._buffer_edits) if p is not None]

    async def save_documents(self) -> tuple[list[Path], list[Path]]:
        """Save the open files this run changed, when only the agent's changes are unsaved in them.

        Returns (still unsaved, held back): `held back` are files that also hold the user's own
        unsaved typing (they are never saved silently); `still unsaved` are the agent's files the
        editor could not save (or the client cannot be asked to save).
        """
        saveable: list[tuple[Path, str]] = []
        held: list[Path] = []
        for uri, record in self._buffer_edits.items():
            path = path_of(uri)
            buffer = self.documents.get(uri)
            if path is None or buffer is None:
                continue
            on_disk = await asyncio.to_thread(_read_disk, path, self.disk.roots)
            if on_disk is not None and on_disk[0] == buffer.text:
                continue  # saved already
            if not record.clean_before or buffer.text != record.last:
                held.append(path)
            else:
                saveable.append((path, uri))
        if not saveable:
            return [], held
        if not self.client.features.saveDocuments:
            return [p for p, _u in saveable], held
        try:
            # What the shim says it saved is not trusted: the disk is read back below.
            params = UrisParams(uris=[u for _p, u in saveable])
            await self.server.protocol.send_request_async(METHOD_SAVE_DOCUMENTS, wire(params))
        except Exception as exc:  # the shim failed: report the files as unsaved
            log.warning("claw/saveDocuments failed: %s", exc)
            return [p for p, _u in saveable], held
        unsaved = []
        for path, uri in saveable:
            buffer = self.documents.get(uri)
            on_disk = await asyncio.to_thread(_read_disk, path, self.disk.roots)
            if buffer is not None and (on_disk is None or on_disk[0] != buffer.text):
                unsaved.append(path)
        return unsaved, held

    # -- LSP plumbing ---------------------------------------------------------------------------

    async def _review(self, change: FileChange, old_text: str, new_text: str) -> ReviewOutcome:
        """The user's review of the change; raises _NotApplied when they reject it or cannot be asked."""
        try:
            outcome = await self.reviewer.review(change, old_text, new_text)
        except Exception as exc:  # the client could not be asked: do not apply unreviewed
            log.exception("review of %s failed", change.path)
            raise _NotApplied(f"Not applied: the user could not be asked to review it ({exc}).") from exc
        if outcome.decision == "reject":
            raise _NotApplied(_rejection_message(outcome), _review_note(outcome))
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
        uri = self.documents.uri_for(path) or uri_of(path)
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


def _final_newline_note(final: str, target: str) -> str:
    """A note for the model when the buffer's final newline differs from the one it asked for."""
    if final == target:
        return ""
    if final_break(final) and not final_break(target):
        return (
            "Note: the editor keeps this file's final newline (it is a buffer setting there), so the "
            "file still ends with a final newline."
        )
    if final_break(target) and not final_break(final):
        return (
            "Note: the editor keeps this file without a final newline (a buffer setting there), so "
            "the file still ends without a final newline."
        )
    return ""


def _lf(text: str) -> str:
    """The text with every line break written as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _line_break_note(final: str, target: str) -> str:
    """A note for the model when the editor wrote the line breaks as its own (LF or CRLF)."""
    if final == target or _lf(final) != _lf(target):
        return ""
    kind = "CRLF" if "\r\n" in final else "LF"
    return f"Note: the editor wrote the new line breaks as the document's own ({kind})."


def _applied(
    change: FileChange,
    outcome: ReviewOutcome,
    notes: list[str],
    old: str | None,
    final: str,
    *,
    knows_own_text: bool = True,
) -> ApplyResult:
    """The result of a change that landed (`old` -> `final`), with the notes for the model.

    Merged with edits the model has not seen, it knows its own text (unless the editor changed the
    final newline under it): a later edit of its is merged against the user's again (and refused
    where it overlaps them)."""
    partial = outcome.decision == "partial"
    merged = REBASED_NOTE in notes and not partial and knows_own_text
    return ApplyResult(
        applied=True,
        message=_join(notes),
        final_text=final,
        partial=partial,
        seen_text=change.new_text if merged else None,
        old_text=old,
        review=_review_note(outcome),
    )


def warm_converter(converter: Any) -> None:
    """Have `converter` build its (un)structure functions for the edits this module sends, and
    their answers, before the first edit needs them: cattrs generates and compiles them on first
    use (a `workspace/applyEdit` cost 4 ms the first time and 1 ms the second, 0.01 ms after)."""
    at = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    edits: list[Any] = [
        types.TextEdit(range=at, new_text=""),
        types.AnnotatedTextEdit(range=at, new_text="", annotation_id="warm"),
    ]
    document = types.OptionalVersionedTextDocumentIdentifier(uri="file:///warm", version=1)
    annotations = {"warm": types.ChangeAnnotation(label="warm", needs_confirmation=False, description="")}
    workspace_edits = [
        types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=document, edits=edits)],
            change_annotations=annotations,
        ),
        types.WorkspaceEdit(changes={"file:///warm": [edits[0]]}),
    ]
    response = {"id": "warm", "jsonrpc": "2.0", "result": {"applied": True}}
    for _ in range(2):  # the second use still builds some (unions' dispatch)
        for edit in workspace_edits:
            params = types.ApplyWorkspaceEditParams(edit=edit, label="warm")
            converter.unstructure(types.ApplyWorkspaceEditRequest(id="warm", params=params))
        converter.structure(response, types.ApplyWorkspaceEditResponse)


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
