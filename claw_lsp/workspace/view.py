"""The file view every tool reads and writes through.

Reads come from the editor's open buffer when the language server has one (unsaved text
included), else from disk. Writes are `FileChange`s handed to a `ChangeApplier`: the CLI's applier
commits them to disk atomically; the language server's turns them into versioned workspace edits.
Every path is resolved (symlinks included) against the workspace folders.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from claw_lsp.core.files import ApplyResult, BufferSource, ChangeApplier, FileChange, FileSnapshot, OpenBuffer
from claw_lsp.workspace import textio


class PathOutsideWorkspace(Exception):
    """A path resolves outside every workspace folder."""


class BinaryFileError(ValueError):
    """The file holds binary data, not text."""


class FileTooLargeError(ValueError):
    """The file is too large to load whole (it can still be read page by page)."""


def relative_to_folders(path: Path, folders: Sequence[Path]) -> str:
    """A path as the user reads it: relative to the folder holding it (after that folder's name
    when there are several), in `/` form; absolute when no folder holds it."""
    for folder in folders:
        if is_within(path, folder):
            rel = path.relative_to(folder)
            return (Path(folder.name) / rel if len(folders) > 1 else rel).as_posix()
    return str(path)


def real_path(path: Path) -> Path:
    """`path` with symlinks resolved. When a component vanishes mid-resolution or links loop (a
    racing rename), the lexical path: it is opened beneath the workspace, so a link is refused."""
    try:
        return path.resolve(strict=False)
    except (OSError, RuntimeError):
        return Path(os.path.normpath(path))


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


# Files larger than this are read page by page (Read) instead of being loaded whole.
PAGE_THRESHOLD_BYTES = 8 * 1024 * 1024
# Files larger than this are never loaded whole (so never edited through the view).
MAX_LOAD_BYTES = 256 * 1024 * 1024
# In a paged read, a single line longer than this is cut (the rest of it is skipped, not loaded).
PAGED_LINE_CHARS = 1024 * 1024


class WorkspaceView:
    """Workspace folders plus the buffer source and change applier every tool goes through."""

    def __init__(
        self,
        folders: list[Path],
        buffers: BufferSource | None = None,
        applier: ChangeApplier | None = None,
    ) -> None:
        from claw_lsp.workspace.disk import DiskApplier

        self.folders: list[Path] = [Path(f).resolve() for f in folders]
        if applier is None:
            applier = DiskApplier(self.folders)
        self.buffers: BufferSource | None = buffers
        self.applier: ChangeApplier = applier
        # Roots outside the folders where writes were explicitly allowed (by permission rules).
        self.extra_write_roots: list[Path] = []
        # Set by the permission engine: may this path outside the folders be written?
        self.write_allowed: Callable[[Path], bool] | None = None
        self.page_threshold_bytes = PAGE_THRESHOLD_BYTES
        self.max_load_bytes = MAX_LOAD_BYTES

    # -- paths ---------------------------------------------------------------------------------

    def resolve(self, raw: str | Path, cwd: Path | None = None) -> Path:
        """An absolute path with symlinks resolved; relative ones (and '~') against cwd/first folder."""
        path = Path(raw)
        if not path.is_absolute():
            base = cwd if cwd is not None else (self.folders[0] if self.folders else Path.cwd())
            path = base / path
        return real_path(path)

    def is_inside(self, path: Path) -> bool:
        """True when the (resolved) path lies within a workspace folder."""
        real = real_path(Path(path))
        return any(is_within(real, folder) for folder in self.folders)

    def relative(self, path: Path) -> str:
        """A path as the user reads it (`relative_to_folders` over the workspace folders)."""
        return relative_to_folders(Path(path), self.folders)

    def allow_write_root(self, path: Path) -> None:
        """Allow writes under `path` even though it lies outside the workspace folders."""
        root = real_path(Path(path))
        if root not in self.extra_write_roots:
            self.extra_write_roots.append(root)

    def check_write(self, path: Path) -> None:
        """Raise PathOutsideWorkspace unless `path` is inside the workspace or explicitly allowed."""
        real = real_path(Path(path))
        if self.is_inside(real) or any(is_within(real, root) for root in self.extra_write_roots):
            return
        if self.write_allowed is not None and self.write_allowed(real):
            return
        folders = ", ".join(str(f) for f in self.folders) or "(none)"
        shown = str(path) if Path(path) == real else f"{path} (which resolves to {real})"
        raise PathOutsideWorkspace(
            f"Refusing to write {shown}: it is outside the workspace folders ({folders}). "
            "Writes outside the workspace need an explicit allow rule."
        )

    # -- reads ---------------------------------------------------------------------------------

    def _buffer(self, path: Path) -> OpenBuffer | None:
        return self.buffers.open_buffer(path) if self.buffers is not None else None

    async def read(self, path: Path) -> FileSnapshot:
        """The file's text: the editor's buffer when open, else disk (raises for binary/dirs)."""
        buffer = self._buffer(path)
        if buffer is not None:
            return FileSnapshot(
                path=path,
                text=buffer.text,
                version=buffer.version,
                mtime_ns=None,
                newline=textio.detect_newline(buffer.text),
                from_buffer=True,
            )
        return await asyncio.to_thread(self._read_disk, path)

    def _read_disk(self, path: Path) -> FileSnapshot:
        with textio.open_regular(path, self.folders) as raw:  # (a directory raises there)
            st = os.fstat(raw.fileno())
            if st.st_size > self.max_load_bytes:
                raise FileTooLargeError(f"{path} is {st.st_size} bytes, too large to load whole")
            data = raw.read()
        return self._snapshot(path, data, st.st_mtime_ns)

    def _snapshot(self, path: Path, data: bytes, mtime_ns: int) -> FileSnapshot:
        if textio.looks_binary(data[: textio.SNIFF_BYTES]):
            raise BinaryFileError(f"{path} appears to be a binary file ({len(data)} bytes)")
        text, encoding = textio.decode(data)
        return FileSnapshot(
            path=path,
            text=text,
            version=None,
            mtime_ns=mtime_ns,
            encoding=encoding,
            newline=textio.detect_newline(text),
        )

    async def read_lines(
        self, path: Path, offset: int, limit: int
    ) -> tuple[list[str], int | None, FileSnapshot | None]:
        """Lines offset..offset+limit-1 (1-based), the total line count and the whole snapshot.

        Buffers and ordinary files are read whole (the snapshot is returned, for Edit's
        preconditions). Files above `page_threshold_bytes` are streamed: only the requested
        lines are kept, the snapshot is None and the total is None when it cannot be counted
        cheaply (UTF-16).
        """
        start = max(offset, 1) - 1
        buffer = self._buffer(path)
        if buffer is None:  # one trip to a worker thread: open, size, read, page and count there
            return await asyncio.to_thread(self._read_lines_disk, path, start, limit)
        snapshot = await self.read(path)
        return _page(snapshot, start, limit)

    def _read_lines_disk(
        self, path: Path, start: int, limit: int
    ) -> tuple[list[str], int | None, FileSnapshot | None]:
        with textio.open_regular(path, self.folders) as raw:  # (a directory raises there)
            st = os.fstat(raw.fileno())
            if st.st_size > self.page_threshold_bytes:
                lines, total = self._read_page(raw, path, start, limit)
                return lines, total, None
            data = raw.read()
        return _page(self._snapshot(path, data, st.st_mtime_ns), start, limit)

    def _read_page(self, raw: BinaryIO, path: Path, start: int, limit: int) -> tuple[list[str], int | None]:
        """The lines wanted of an opened file too large to load whole, streamed; the total
        counted in chunks (None for UTF-16, which cannot be counted that cheaply)."""
        head = raw.read(64 * 1024)
        if textio.looks_binary(head[: textio.SNIFF_BYTES]):
            raise BinaryFileError(f"{path} appears to be a binary file")
        encoding = textio.detect_encoding(head)
        bom = textio.bom_encoding(head)
        raw.seek(2 if bom in ("utf-16-le", "utf-16-be") else 0)
        codec = "utf-8-sig" if bom == "utf-8-sig" else encoding
        text = io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="\n")
        lines: list[str] = []
        index = 0
        while index < start + limit:
            line = _read_long_line(text)
            if line is None:
                break
            if index >= start:
                lines.append(line)
            index += 1
        text.detach()
        if encoding in ("utf-16-le", "utf-16-be"):
            return lines, None
        raw.seek(0)
        return lines, _count_lines(raw)

    async def exists(self, path: Path) -> bool:
        """True when the editor has the path open or it exists on disk."""
        if self._buffer(path) is not None:
            return True
        return await asyncio.to_thread(path.exists)

    # -- writes --------------------------------------------------------------------------------

    async def apply(self, change: FileChange) -> ApplyResult:
        """Check the change's paths may be written, then hand it to the applier."""
        self.check_write(change.path)
        if change.new_path is not None:
            self.check_write(change.new_path)
        return await self.applier.apply(change)


def _page(snapshot: FileSnapshot, start: int, limit: int) -> tuple[list[str], int, FileSnapshot]:
    """The page and the count of a loaded text without splitting it (a 100k-line file's first page
    cost a split of every line before)."""
    text = snapshot.text
    return textio.line_window(text, start, limit), textio.count_lines(text), snapshot


def _read_long_line(text: io.TextIOWrapper) -> str | None:
    """One line without its ending; None at end of file. Over-long lines are cut, not loaded."""
    chunk = text.readline(PAGED_LINE_CHARS)
    if not chunk:
        return None
    line = chunk
    while not chunk.endswith("\n"):
        chunk = text.readline(PAGED_LINE_CHARS)
        if not chunk:
            break
    if line.endswith("\n"):
        line = line[:-1]
    return line[:-1] if line.endswith("\r") else line


def _count_lines(raw: BinaryIO) -> int:
    """Lines in an opened file (a last line without a newline counts), read in chunks."""
    count = 0
    last = b""
    while chunk := raw.read(1024 * 1024):
        count += chunk.count(b"\n")
        last = chunk
    if last and not last.endswith(b"\n"):
        count += 1
    return count
