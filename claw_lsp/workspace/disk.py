"""The CLI's change applier: commits `FileChange`s straight to disk, atomically.

A modify or create writes a temp file in the target's directory and renames it over the target,
so a reader sees the old file or the new one, never half of one; a failure leaves the original
untouched and no temp file behind. The file's encoding (BOM included) and line endings are
preserved: `FileChange.new_text` already carries the file's own line endings and the encoding comes
from the snapshot the change was computed against. A modify whose base no longer matches the disk
is refused, so the agent never clobbers a change made after it read the file.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

from claw_lsp.core.files import ApplyResult, FileChange
from claw_lsp.workspace import beneath, textio


def atomic_write(path: Path, data: bytes, roots: Sequence[Path] = ()) -> None:
    """Write `data` to `path` through a temp file + rename; parents are created; mode is kept.
    Below one of `roots` the directories are opened beneath it, no symlink followed."""
    beneath.write_atomic(path, data, roots)


class DiskApplier:
    """Applies changes to the files on disk (used when no editor is attached). Files below one of
    `roots` (the workspace folders) are read and written beneath them (`workspace.beneath`)."""

    def __init__(self, roots: Sequence[Path] = ()) -> None:
        self.roots: list[Path] = list(roots)

    async def apply(self, change: FileChange) -> ApplyResult:
        """Apply one change to disk; failures come back as `applied=False` with a reason."""
        try:
            return await asyncio.to_thread(self._apply, change)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return ApplyResult(applied=False, message=f"Could not change {change.path}: {reason}")

    def _apply(self, change: FileChange) -> ApplyResult:
        if change.kind == "create":
            return self._create(change)
        if change.kind == "modify":
            return self._modify(change)
        if change.kind == "delete":
            return self._delete(change)
        return self._rename(change)

    def _create(self, change: FileChange) -> ApplyResult:
        if change.path.exists():
            return ApplyResult(
                applied=False,
                message=f"{change.path} already exists (it was created meanwhile); Read it first.",
            )
        text = change.new_text or ""
        atomic_write(change.path, textio.encode(text, "utf-8"), self.roots)
        return ApplyResult(applied=True, final_text=text)

    def _modify(self, change: FileChange) -> ApplyResult:
        text = change.new_text or ""
        if not change.path.exists():
            return ApplyResult(applied=False, message=f"{change.path} no longer exists on disk.")
        current, encoding = textio.decode(textio.read_regular(change.path, self.roots))
        base = change.base
        if base is not None:
            encoding = base.encoding
            if not base.from_buffer and current != base.text:
                return ApplyResult(
                    applied=False,
                    message=f"{change.path} changed on disk since it was read; Read it again.",
                )
        note = ""
        if not textio.can_encode(text, encoding):
            note = (
                f"Note: {change.path.name} was {encoding}; it is now saved as UTF-8 because the new "
                f"text has characters {encoding} cannot hold."
            )
            encoding = "utf-8"
        atomic_write(change.path, textio.encode(text, encoding), self.roots)
        return ApplyResult(applied=True, message=note, final_text=text)

    def _delete(self, change: FileChange) -> ApplyResult:
        if change.path.is_dir():
            change.path.rmdir()
        else:
            change.path.unlink()
        return ApplyResult(applied=True)

    def _rename(self, change: FileChange) -> ApplyResult:
        target = change.new_path
        if target is None:
            return ApplyResult(applied=False, message="A rename needs a target path.")
        if target.exists():
            return ApplyResult(applied=False, message=f"Cannot rename: {target} already exists.")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(change.path, target)
        return ApplyResult(applied=True)
