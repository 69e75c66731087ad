"""Files through the ACP client: reads of its buffers (`fs/read_text_file`, unsaved text
included) and writes through it (`fs/write_text_file`), never clobbering what the user typed.

`ClientBuffers` is the session's `BufferSource`. The view asks for a buffer synchronously, so the
texts are fetched just before each file tool runs (the loop's `before_tool` hook, with the call's
own locations); the view then reads exactly what the editor holds at that moment.

`AcpApplier` is the session's `ChangeApplier`. A change no rule or mode allowed is asked about
with its diff (`session/request_permission`, the edit's tool call carrying `diff` content; the
four option kinds, an "always" answer written as a rule). Before writing it re-reads the file
through the client: when the text is no longer the one the change was computed against (the user
typed meanwhile), the change is refused and the model told to read the file again. Without the
client's `fs` capabilities (and for deletes and renames, which ACP has no method for) changes go
to disk through the workspace's `DiskApplier`, which keeps the same rule against the disk.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import acp.schema as acp
from acp.exceptions import RequestError

from claw_lsp.acp.prompter import answer_from, permission_options
from claw_lsp.core.events import ReviewNote
from claw_lsp.core.files import ApplyResult, ChangeApplier, FileChange, OpenBuffer
from claw_lsp.core.updates import diff_content
from claw_lsp.workspace import textio
from claw_lsp.workspace.view import PAGE_THRESHOLD_BYTES, relative_to_folders

if TYPE_CHECKING:
    from acp.interfaces import Client

    from claw_lsp.agent.permissions import PermissionEngine


def _readable_file(path: Path) -> bool:
    """A regular text file small enough to take whole from the client (larger ones are paged
    from disk by Read)."""
    try:
        st = os.stat(path)
        if not os.path.isfile(path) or st.st_size > PAGE_THRESHOLD_BYTES:
            return False
        with open(path, "rb") as f:
            return not textio.looks_binary(f.read(textio.SNIFF_BYTES))
    except OSError:
        return False


class ClientBuffers:
    """The client's view of the files the current tool call touches."""

    def __init__(self, client: Client, session_id: str) -> None:
        self.client = client
        self.session_id = session_id
        self._buffers: dict[Path, OpenBuffer] = {}
        self._version = 0

    def open_buffer(self, path: Path) -> OpenBuffer | None:
        """The text the client gave for `path` before this tool call (None: read from disk)."""
        return self._buffers.get(path)

    async def read(self, path: Path) -> str | None:
        """The file's text as the client holds it; None when the client cannot give it."""
        try:
            response = await self.client.read_text_file(session_id=self.session_id, path=str(path))
        except (RequestError, ConnectionError):
            return None
        return response.content

    async def prefetch(self, paths: list[Path]) -> None:
        """Take the current text of each regular file in `paths` from the client."""
        for path in paths:
            self._buffers.pop(path, None)
            if not await asyncio.to_thread(_readable_file, path):
                continue
            text = await self.read(path)
            if text is not None:
                self.remember(path, text)

    def remember(self, path: Path, text: str) -> None:
        """Record `text` as the client's buffer of `path` (after a write through the client)."""
        self._version += 1
        self._buffers[path] = OpenBuffer(uri=path.as_uri(), text=text, version=self._version)


class AcpApplier:
    """Asks about a change with its diff, then writes it through the client (or to disk)."""

    def __init__(
        self,
        client: Client,
        session_id: str,
        *,
        disk: ChangeApplier,
        folders: list[Path],
        edit_rules: dict[str, str | None],
        engine: Callable[[], PermissionEngine | None],
        buffers: ClientBuffers | None = None,
        write_through: bool = False,
    ) -> None:
        self.client = client
        self.session_id = session_id
        self.disk = disk
        self.folders = folders
        self.edit_rules = edit_rules
        self.engine = engine
        self.buffers = buffers
        self.write_through = write_through

    def _shown(self, path: Path) -> str:
        return relative_to_folders(path, self.folders)

    async def _current(self, path: Path) -> str | None:
        """The file's text now: the client's buffer when it reads files, else disk; None: missing."""
        if self.buffers is not None and await asyncio.to_thread(_readable_file, path):
            text = await self.buffers.read(path)
            if text is not None:
                return text
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError:
            return None
        return textio.decode(data)[0]

    def _moved_on(self, change: FileChange, current: str | None) -> ApplyResult | None:
        """A refusal when the file is not what the change was computed against."""
        shown = self._shown(change.path)
        if change.kind == "create" and current is not None:
            return ApplyResult(
                applied=False,
                message=f"Not applied: {shown} already exists (it was created meanwhile); Read it first.",
            )
        if change.kind in ("modify", "delete", "rename") and change.base is not None:
            if current is None:
                return ApplyResult(applied=False, message=f"Not applied: {shown} no longer exists.")
            if current != change.base.text:
                return ApplyResult(
                    applied=False,
                    message=(
                        f"Not applied: {shown} changed in the editor since you read it (the user edited "
                        "it). Read it again, then make the change against its current text."
                    ),
                )
        return None

    async def apply(self, change: FileChange) -> ApplyResult:
        """Ask (unless preapproved), re-check the file, write; the outcome for the model."""
        current = await self._current(change.path)
        refused = self._moved_on(change, current)
        if refused is not None:
            return refused
        review: ReviewNote | None = None
        if not change.preapproved:
            outcome = await self._ask(change, current)
            if outcome is not None:
                return outcome
            review = ReviewNote(decision="accept")
        if not self.write_through or change.kind not in ("create", "modify"):
            result = await self.disk.apply(change)
            result.review = result.review or review
            return result
        now = await self._current(change.path)  # the user may have typed while we asked
        refused = self._moved_on(change, now)
        if refused is not None:
            return refused
        text = change.new_text or ""
        try:
            await self.client.write_text_file(session_id=self.session_id, path=str(change.path), content=text)
        except RequestError as exc:
            return ApplyResult(
                applied=False,
                message=f"Not applied: the editor refused to write {self._shown(change.path)}: {exc}",
            )
        if self.buffers is not None:
            self.buffers.remember(change.path, text)
        return ApplyResult(applied=True, final_text=text, old_text=now, review=review)

    async def _ask(self, change: FileChange, current: str | None) -> ApplyResult | None:
        """Ask about the change; None when allowed, else the refusal for the model."""
        rule = self.edit_rules.pop(change.tool_call_id, None)
        shown = self._shown(change.path)
        content: list[Any] = []
        if change.kind in ("create", "modify"):
            diff = diff_content(
                str(change.path), current if change.kind == "modify" else None, change.new_text or ""
            )
            if diff is not None:
                content.append(diff)
        verb = {"create": "Create", "modify": "Edit", "delete": "Delete", "rename": "Rename"}[change.kind]
        title = f"{verb} {change.path}"
        if change.kind == "rename" and change.new_path is not None:
            title += f" to {change.new_path}"
        tool_call = acp.ToolCallUpdate(
            tool_call_id=change.tool_call_id or f"change-{shown}",
            title=title,
            kind="delete" if change.kind == "delete" else "move" if change.kind == "rename" else "edit",
            status="pending",
            content=content or None,
            locations=[acp.ToolCallLocation(path=str(change.path))],
        )
        response = await self.client.request_permission(
            session_id=self.session_id, tool_call=tool_call, options=permission_options(rule)
        )
        answer = answer_from(response, rule)
        engine = self.engine()
        if rule and engine is not None and answer.outcome in ("allow_always", "reject_always"):
            engine.add_rule("allow" if answer.outcome == "allow_always" else "deny", rule)
        if answer.allowed:
            return None
        return ApplyResult(
            applied=False,
            message=f"The user rejected this change to {shown}; it was not applied.",
            review=ReviewNote(decision="reject"),
        )
