"""Path <-> file URI, one way for the whole server (pygls' helpers, which handle Windows drives
and percent-encoding)."""

from __future__ import annotations

import os
from pathlib import Path

from pygls.uris import from_fs_path, to_fs_path


def uri_of(path: Path) -> str:
    """The file URI of a path (percent-encoded)."""
    return from_fs_path(str(path)) or path.as_uri()


def path_of(uri: str) -> Path | None:
    """The filesystem path of a `file:` URI (percent-decoded, normalised), None for other schemes."""
    path = to_fs_path(uri)
    return Path(os.path.normpath(path)) if path else None
