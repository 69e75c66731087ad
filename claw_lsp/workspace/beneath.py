"""Opening files beneath a workspace folder without following a symlink on the way.

A tool checks a path (resolved, symlinks included) before it reads or writes it; a symlink swapped
in after that check would send the open elsewhere. So a path inside a workspace folder is opened
one component at a time from the folder's own directory descriptor (`openat` with `O_NOFOLLOW`):
a symlink met on the way, which the checked (resolved) path did not have, refuses the open with
`PathSwapped` instead of following it. Writes create their temp file and rename it inside the
parent directory opened that way, so they land exactly where the check said.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | _CLOEXEC


class PathSwapped(OSError):
    """A path component turned into a symlink between the permission check and the open."""


def _root_of(path: Path, roots: Sequence[Path]) -> Path | None:
    for root in sorted(roots, key=lambda r: len(r.parts), reverse=True):
        if path == root or root in path.parents:
            return root
    return None


def _swapped(path: Path, part: str) -> PathSwapped:
    return PathSwapped(
        errno.ELOOP,
        f"{path}: {part!r} became a symlink after the path was checked; not opened "
        "(it would have led somewhere else)",
    )


def _open_step(name: str, flags: int, dir_fd: int, path: Path, mode: int = 0o666) -> int:
    try:
        return os.open(name, flags, mode, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK) and _is_link(name, dir_fd):
            raise _swapped(path, name) from exc
        raise


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def parent_dir(path: Path, roots: Sequence[Path], *, create: bool = False) -> Iterator[int | None]:
    """A descriptor of `path`'s parent directory, opened beneath the root that holds `path`
    (missing directories made on the way when `create`); None when `path` is under no root."""
    path = Path(os.path.abspath(path))
    root = _root_of(path, roots)
    if root is None or path == root:
        yield None
        return
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in path.relative_to(root).parts[:-1]:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
            next_fd = _open_step(part, _DIR_FLAGS, fd, path)
            os.close(fd)
            fd = next_fd
        yield fd
    finally:
        os.close(fd)


def open_fd(path: os.PathLike[str] | str, flags: int, roots: Sequence[Path] = (), mode: int = 0o666) -> int:
    """`os.open(path, flags)`, except that a path below one of `roots` is opened beneath it with no
    symlink followed (`PathSwapped` when one appeared since the path was resolved)."""
    target = Path(os.path.abspath(path))
    with parent_dir(target, roots) as parent:
        if parent is None:
            return os.open(target, flags | _CLOEXEC, mode)
        return _open_step(target.name, flags | getattr(os, "O_NOFOLLOW", 0) | _CLOEXEC, parent, target, mode)


def open_child_dir(dir_fd: int, name: str, path: Path) -> int:
    """The subdirectory `name` of an open directory, opened without following a symlink."""
    return _open_step(name, _DIR_FLAGS, dir_fd, path)


def current_umask() -> int:
    """The process umask (read from /proc when possible, so it is never changed even briefly)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes, roots: Sequence[Path] = ()) -> None:
    """Write `data` to `path` through a temp file renamed over it, both inside the parent directory
    opened beneath its root (parents are created; an existing file's mode is kept)."""
    path = Path(os.path.abspath(path))
    with parent_dir(path, roots, create=True) as parent:
        if parent is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            parent_fd = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC)
        else:
            parent_fd = os.dup(parent)
        try:
            _write_in(parent_fd, path, data)
        finally:
            os.close(parent_fd)


def _write_in(parent: int, path: Path, data: bytes) -> None:
    name = path.name
    try:
        mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~current_umask()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | _CLOEXEC
    for attempt in range(100):
        tmp = f".{name}.{os.getpid()}.{attempt}.claw-tmp"
        try:
            fd = os.open(tmp, flags, 0o600, dir_fd=parent)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(errno.EEXIST, f"no free temp name next to {path}")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=parent)
        raise
