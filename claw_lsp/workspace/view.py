"""The file view every tool reads and writes through.

Reads come from the editor's open buffer when the language server has one (unsaved text
included), else from disk. Writes are `FileChange`s handed to a `ChangeApplier`: the CLI's applier
commits them to disk atomically; the language server's turns them into versioned workspace edits.
Every path is resolved (symlinks included) against the workspace folders.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol


class PathOutsideWorkspace(Exception):
    """A path resolves outside every workspace folder."""


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


@dataclass
class ApplyResult:
    """How a change ended. `message` is written for the model (rejections, rebases, feedback)."""

    applied: bool
    message: str = ""
    final_text: str | None = None  # the file's text after the change, when known
    partial: bool = False  # some hunks were rejected


class ChangeApplier(Protocol):
    """Applies changes: to disk (CLI) or as workspace edits (language server)."""

    async def apply(self, change: FileChange) -> ApplyResult:
        """Apply one change, possibly after the user reviewed it."""
        ...


def is_within(path: Path, folder: Path) -> bool:
    """True when `path` is `folder` or lies under it (both already resolved)."""
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def workspace_key(root: Path) -> str:
    """A filesystem-safe key naming a workspace (Claude Code style: path with '/' as '-')."""
    return str(root.resolve()).replace(os.sep, "-").replace(":", "-")
