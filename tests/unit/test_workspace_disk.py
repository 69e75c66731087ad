"""The CLI's disk applier: atomic writes that keep encoding and line endings."""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

import pytest

from claw_lsp.core.files import FileChange
from claw_lsp.workspace import beneath, textio
from claw_lsp.workspace.disk import DiskApplier
from claw_lsp.workspace.view import WorkspaceView
from tests.fakes.races import flipping


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

    def failing_replace(src: object, dst: object, **_dir_fds: object) -> None:
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


def test_symlink_swapped_in_after_the_check_is_not_followed(workspace: Path, tmp_path: Path) -> None:
    """A directory of the checked path replaced by a symlink to the outside: reads and writes
    beneath the workspace refuse it instead of reaching the outside file."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside secret\n")
    inner = workspace / "pkg"
    inner.mkdir()
    (inner / "secret.txt").write_text("inside\n")
    checked = inner / "secret.txt"  # what the permission check saw (resolved, inside)
    inner.rename(workspace / "pkg-moved")
    inner.symlink_to(outside)  # the swap
    with pytest.raises(beneath.PathSwapped, match="became a symlink"):
        textio.read_regular(checked, [workspace])
    with pytest.raises(beneath.PathSwapped):
        beneath.write_atomic(checked, b"overwritten\n", [workspace])
    assert (outside / "secret.txt").read_text() == "outside secret\n"
    # The last component swapped for a symlink: refused too.
    (workspace / "pkg-moved" / "secret.txt").unlink()
    (workspace / "pkg-moved" / "secret.txt").symlink_to(outside / "secret.txt")
    with pytest.raises(beneath.PathSwapped):
        textio.read_regular(workspace / "pkg-moved" / "secret.txt", [workspace])
    # Writing over a symlink replaces the link itself, never the file it points to.
    beneath.write_atomic(workspace / "pkg-moved" / "secret.txt", b"mine\n", [workspace])
    assert (outside / "secret.txt").read_text() == "outside secret\n"
    assert (workspace / "pkg-moved" / "secret.txt").read_text() == "mine\n"
    # Paths under no root open as before; missing parents are created beneath the root.
    assert textio.read_regular(outside / "secret.txt", [workspace]) == b"outside secret\n"
    beneath.write_atomic(workspace / "new" / "deep" / "f.txt", b"x", [workspace])
    assert (workspace / "new" / "deep" / "f.txt").read_bytes() == b"x"


def test_swap_race_never_leaks_the_outside_file(workspace: Path, tmp_path: Path) -> None:
    """A thread flips a directory between a real one and a symlink to the outside while reads of
    the checked path run: every read gives the inside text or is refused, none the outside one
    (a plain open of the same path read the outside file in 354 of 2,000 tries)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_text("OUTSIDE")
    link = workspace / "d"
    link.mkdir()
    (link / "f.txt").write_text("inside")
    seen = {"inside": 0, "refused": 0, "missing": 0}
    with flipping(link, outside):
        for _ in range(50_000):  # until the race was met both ways
            if seen["inside"] >= 50 and seen["refused"] >= 50:
                break
            try:
                data = textio.read_regular(link / "f.txt", [workspace])
            except (beneath.PathSwapped, NotADirectoryError):  # the link was there, then gone again
                seen["refused"] += 1
            except FileNotFoundError:
                seen["missing"] += 1
            else:
                assert data == b"inside", "the outside file was read"
                seen["inside"] += 1
    assert seen["inside"] > 0 and seen["refused"] > 0, seen


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
