"""The CLI's disk applier: atomic writes that keep encoding and line endings."""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

import pytest

from claw_lsp.core.files import FileChange
from claw_lsp.workspace.disk import DiskApplier
from claw_lsp.workspace.view import WorkspaceView


async def _modify(view: WorkspaceView, path: Path, old: str, new: str) -> bytes:
    snap = await view.read(path)
    assert old in snap.text
    result = await view.apply(
        FileChange(kind="modify", path=path, new_text=snap.text.replace(old, new), base=snap)
    )
    assert result.applied, result.message
    return path.read_bytes()


@pytest.mark.parametrize(
    ("prefix", "encoding"),
    [(codecs.BOM_UTF8, "utf-8"), (b"", "latin-1"), (codecs.BOM_UTF16_LE, "utf-16-le")],
)
async def test_encoding_and_crlf_preserved_outside_the_edit(
    workspace: Path, prefix: bytes, encoding: str
) -> None:
    path = workspace / "f.txt"
    original = prefix + "première ligne\r\nchange me\r\ndernière\r\n".encode(encoding)
    path.write_bytes(original)
    view = WorkspaceView([workspace])
    data = await _modify(view, path, "change me", "changed")
    assert data == original.replace("change me".encode(encoding), "changed".encode(encoding))


async def test_latin1_file_gets_utf8_when_new_text_needs_it(workspace: Path) -> None:
    path = workspace / "f.txt"
    path.write_bytes("café\n".encode("latin-1"))
    view = WorkspaceView([workspace])
    snap = await view.read(path)
    result = await view.apply(FileChange(kind="modify", path=path, new_text="café €\n", base=snap))
    assert result.applied and "UTF-8" in result.message
    assert path.read_bytes() == "café €\n".encode()


async def test_write_is_atomic_and_leaves_no_temp_file(workspace: Path) -> None:
    path = workspace / "deep" / "er" / "new.txt"
    result = await DiskApplier().apply(FileChange(kind="create", path=path, new_text="hi\n"))
    assert result.applied and path.read_text() == "hi\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["new.txt"]
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode & 0o644 == 0o644  # not mkstemp's 0600


async def test_failed_rename_keeps_original_and_removes_temp(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workspace / "keep.txt"
    path.write_text("original\n")
    path.chmod(0o640)
    view = WorkspaceView([workspace])
    snap = await view.read(path)

    def failing_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)  # simulated disk failure at the rename
    result = await view.apply(FileChange(kind="modify", path=path, new_text="new\n", base=snap))
    monkeypatch.undo()
    assert not result.applied and "No space left" in result.message
    assert path.read_text() == "original\n"
    assert [p.name for p in workspace.iterdir()] == ["keep.txt"]
    # A successful write keeps the file's mode.
    await _modify(view, path, "original", "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


async def test_modify_refused_when_disk_changed_since_read(workspace: Path) -> None:
    path = workspace / "f.txt"
    path.write_text("v1\n")
    view = WorkspaceView([workspace])
    snap = await view.read(path)
    path.write_text("v2 by the user\n")
    result = await view.apply(FileChange(kind="modify", path=path, new_text="agent\n", base=snap))
    assert not result.applied and "Read it again" in result.message
    assert path.read_text() == "v2 by the user\n"


async def test_create_delete_rename(workspace: Path) -> None:
    view = WorkspaceView([workspace])
    a = workspace / "a.txt"
    assert (await view.apply(FileChange(kind="create", path=a, new_text="a"))).applied
    again = await view.apply(FileChange(kind="create", path=a, new_text="b"))
    assert not again.applied and a.read_text() == "a"
    b = workspace / "sub" / "b.txt"
    assert (await view.apply(FileChange(kind="rename", path=a, new_path=b))).applied
    assert not a.exists() and b.read_text() == "a"
    assert (await view.apply(FileChange(kind="delete", path=b))).applied
    assert not b.exists()
    missing = await view.apply(FileChange(kind="delete", path=b))
    assert not missing.applied
