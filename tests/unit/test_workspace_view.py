"""The workspace view: path resolution and confinement, buffers over disk, paged reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from claw_lsp.core.files import FileChange, OpenBuffer
from claw_lsp.workspace.view import BinaryFileError, PathOutsideWorkspace, WorkspaceView


class Buffers:
    """An in-memory BufferSource: the language server's open documents, as our protocol."""

    def __init__(self, docs: dict[Path, str]) -> None:
        self.docs = docs

    def open_buffer(self, path: Path) -> OpenBuffer | None:
        text = self.docs.get(path)
        return None if text is None else OpenBuffer(uri=path.as_uri(), text=text, version=7)


def test_resolve_relative_against_first_folder_or_cwd(workspace: Path) -> None:
    view = WorkspaceView([workspace])
    assert view.resolve("src/app.py") == workspace / "src/app.py"
    assert view.resolve("app.py", cwd=workspace / "src") == workspace / "src/app.py"
    assert view.resolve("~/x") == workspace / "~" / "x"  # '~' is not expanded
    assert view.resolve(workspace / "a/../b") == workspace / "b"
    assert view.relative(workspace / "src/app.py") == "src/app.py"
    assert view.relative(Path("/etc/hosts")) == "/etc/hosts"


@pytest.mark.parametrize("raw", ["../outside.txt", "/etc/claw-test", "sub/../../x", "link/evil.txt"])
def test_writes_escaping_the_workspace_are_refused(workspace: Path, tmp_path: Path, raw: str) -> None:
    (workspace / "link").symlink_to(tmp_path)  # a symlink inside pointing outside
    view = WorkspaceView([workspace])
    path = view.resolve(raw)
    assert not view.is_inside(path)
    with pytest.raises(PathOutsideWorkspace):
        view.check_write(path)


def test_unresolved_symlink_path_is_judged_by_its_target(workspace: Path, tmp_path: Path) -> None:
    (workspace / "link").symlink_to(tmp_path)
    view = WorkspaceView([workspace])
    with pytest.raises(PathOutsideWorkspace):
        view.check_write(workspace / "link" / "f.txt")
    view.check_write(workspace / "inside.txt")


def test_explicitly_allowed_roots_and_callback_permit_outside_writes(workspace: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    view = WorkspaceView([workspace])
    with pytest.raises(PathOutsideWorkspace):
        view.check_write(other / "a.txt")
    view.allow_write_root(other)
    view.check_write(other / "a.txt")
    view.write_allowed = lambda p: p.name == "ok.txt"
    view.check_write(tmp_path / "ok.txt")
    with pytest.raises(PathOutsideWorkspace):
        view.check_write(tmp_path / "no.txt")


async def test_apply_refuses_outside_paths_before_the_applier(workspace: Path, tmp_path: Path) -> None:
    view = WorkspaceView([workspace])
    target = tmp_path / "escape.txt"
    with pytest.raises(PathOutsideWorkspace):
        await view.apply(FileChange(kind="create", path=target, new_text="x"))
    assert not target.exists()
    inside = workspace / "a.txt"
    inside.write_text("a")
    with pytest.raises(PathOutsideWorkspace):
        await view.apply(FileChange(kind="rename", path=inside, new_path=target))
    assert inside.exists()


async def test_open_buffer_wins_over_disk(workspace: Path) -> None:
    path = workspace / "a.py"
    path.write_text("on disk\n")
    view = WorkspaceView([workspace], buffers=Buffers({path: "unsaved\r\ntext\r\n"}))
    snap = await view.read(path)
    assert snap.text == "unsaved\r\ntext\r\n"
    assert snap.from_buffer and snap.version == 7 and snap.newline == "\r\n"
    lines, total, _ = await view.read_lines(path, 1, 10)
    assert lines == ["unsaved", "text"] and total == 2
    # A buffer for a file not yet on disk exists too.
    new = workspace / "new.py"
    view.buffers = Buffers({new: ""})
    assert await view.exists(new)
    view.buffers = None
    assert not await view.exists(new)
    assert (await view.read(path)).text == "on disk\n"


async def test_read_errors(workspace: Path) -> None:
    view = WorkspaceView([workspace])
    with pytest.raises(FileNotFoundError):
        await view.read(workspace / "missing")
    with pytest.raises(IsADirectoryError):
        await view.read(workspace)
    (workspace / "bin").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(BinaryFileError):
        await view.read(workspace / "bin")


async def test_large_files_are_paged_not_loaded(workspace: Path) -> None:
    path = workspace / "big.log"
    with path.open("w") as f:
        for i in range(1, 50_001):
            f.write(f"line {i}\n")
        f.write("x" * 3_000_000)  # one huge last line without newline
    view = WorkspaceView([workspace])
    view.page_threshold_bytes = 64 * 1024
    lines, total, snapshot = await view.read_lines(path, 49_999, 2)
    assert lines == ["line 49999", "line 50000"]
    assert total == 50_001
    assert snapshot is None
    lines, _, _ = await view.read_lines(path, 50_001, 5)
    assert len(lines) == 1 and 0 < len(lines[0]) <= 1024 * 1024  # cut, not loaded whole
    os.truncate(path, 0)
    path.write_bytes(b"\x00" * 100_000)
    with pytest.raises(BinaryFileError):
        await view.read_lines(path, 1, 5)
