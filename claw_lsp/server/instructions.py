"""Instruction comments (`claw: <instruction>`): after a successful run that changed files, a
comment the model left in place is removed with one versioned edit through the run's applier."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from claw_lsp.core.files import FileChange, FileSnapshot
from claw_lsp.server.actions import comment_removal
from claw_lsp.server.protocol import InstructionRef
from claw_lsp.server.uris import path_of
from claw_lsp.workspace.textio import split_lines

if TYPE_CHECKING:
    from claw_lsp.server.app import ClawLanguageServer
    from claw_lsp.server.runs import RunHandle


async def remove_instruction(
    ls: ClawLanguageServer, handle: RunHandle, uri: str, ref: InstructionRef
) -> None:
    """Remove an instruction comment the run left in place, through the run's applier."""
    document = ls.tracker.get(uri)
    path = path_of(uri)
    if document is None or path is None or handle.applier is None:
        return
    text = document.text
    lines = split_lines(text, keepends=True)
    candidates = [i for i, line in enumerate(lines) if ref.comment in line]
    if not candidates:
        return
    number = min(candidates, key=lambda i: abs(i - ref.line))
    line_start = sum(len(line) for line in lines[:number])
    raw = lines[number]
    body = raw.rstrip("\r\n")
    where = comment_removal(body, ref.comment)
    if where is None:
        return
    start, end, whole = where
    if whole:
        start, end = line_start, line_start + len(raw)
        if raw == body and number > 0:  # last line without a newline: take the one before
            previous = lines[number - 1]
            start -= len(previous) - len(previous.rstrip("\r\n"))
    else:
        start, end = line_start + start, line_start + end
    base = FileSnapshot(path=path, text=text, version=document.version, mtime_ns=None, from_buffer=True)
    change = FileChange(
        kind="modify",
        path=path,
        new_text=text[:start] + text[end:],
        base=base,
        preapproved=True,
        description="Remove the Claw instruction comment",
    )
    if not await handle.applier.apply_own(change):
        ls.log("Claw: could not remove the instruction comment", types.MessageType.Warning)
        return
    # Part of the task the model was given: its view of the file includes the removal, so a
    # later edit is not merged as if the user had typed.
    now = ls.tracker.get(uri)
    if now is not None and path in handle.slot.state.read_files:
        handle.slot.state.read_files[path] = FileSnapshot(
            path=path, text=now.text, version=now.version, mtime_ns=None, from_buffer=True
        )
