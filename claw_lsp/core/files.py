"""The file vocabulary every layer shares: buffers, snapshots, proposed changes and their outcome.

`BufferSource` (where open editor buffers come from) and `ChangeApplier` (where changes land: disk
for the CLI, versioned workspace edits for the language server) are the two seams between the
agent's file view and a front end.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from claw_lsp.core.events import ReviewNote


@dataclass
class OpenBuffer:
    """An editor buffer's current state."""

    uri: str
    text: str
    version: int


class BufferSource(Protocol):
    """Where open buffers come from (the language server's document store)."""

    def open_buffer(self, path: Path) -> OpenBuffer | None:
        """The open buffer for the path, or None when the editor has none."""
        ...


@dataclass
class FileSnapshot:
    """A file's content as the agent read it."""

    path: Path
    text: str  # the real text, with the file's own line endings
    version: int | None  # editor buffer version; None when read from disk
    mtime_ns: int | None
    encoding: str = "utf-8"
    newline: str = "\n"  # "\n" or "\r\n": the file's dominant line ending
    from_buffer: bool = False

    @property
    def digest(self) -> str:
        """A content hash, to tell whether the file changed since it was read."""
        return hashlib.sha256(self.text.encode("utf-8", "surrogatepass")).hexdigest()


ChangeKind = Literal["create", "modify", "delete", "rename"]


@dataclass(frozen=True)
class ChangedRegion:
    """Where a new text can differ from the text it was made from: nowhere in the first `start`
    characters of either, nor in the last `suffix`. `start` begins a line (0, or just after a
    "\\n") and `line` is its line number, so a big file's small change costs the change, not a
    scan of the whole text for its differences and line numbers."""

    start: int
    suffix: int
    line: int

    def holds_for(self, old: str, new: str) -> bool:
        """Whether the region is possible for texts of these lengths (a cheap sanity check)."""
        return self.start + self.suffix <= min(len(old), len(new))


@dataclass
class FileChange:
    """One proposed change to one file, computed against the snapshot the agent read."""

    kind: ChangeKind
    path: Path
    new_text: str | None = None  # full new text (create/modify), with the file's line endings
    base: FileSnapshot | None = None  # what the change was computed against (modify/delete)
    new_path: Path | None = None  # rename target
    tool_call_id: str = ""
    description: str = ""  # e.g. "Edit src/app.py"
    preapproved: bool = False  # allowed by a rule or the mode: no review needed
    region: ChangedRegion | None = None  # where new_text can differ from base.text, when known


@dataclass
class ApplyResult:
    """How a change ended. `message` is written for the model (rejections, rebases, feedback)."""

    applied: bool
    message: str = ""
    final_text: str | None = None  # the file's text after the change, when known
    # What the model knows of the file now, when not `final_text`: its own text, when the change was
    # merged with the user's edits it has not seen (a later edit is merged against those again).
    seen_text: str | None = None
    partial: bool = False  # some hunks were rejected
    old_text: str | None = None  # the text the change was applied to (what the diff is against)
    review: ReviewNote | None = None  # how the user decided it, when they were asked


class ChangeApplier(Protocol):
    """Applies changes: to disk (CLI) or as workspace edits (language server)."""

    async def apply(self, change: FileChange) -> ApplyResult:
        """Apply one change, possibly after the user reviewed it."""
        ...
