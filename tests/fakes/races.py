"""A symlink swap race: a thread flips a directory between itself and a symlink to the outside."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def flipping(link: Path, outside: Path, *, real_for: float = 0.0) -> Iterator[None]:
    """While the block runs, `link` (a real directory) keeps turning into a symlink to `outside`
    and back; `real_for` seconds as the real directory in each round."""
    real = link.with_name(link.name + ".real")
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            link.rename(real)
            link.symlink_to(outside)
            link.unlink()
            real.rename(link)
            if real_for:
                time.sleep(real_for)

    flipper = threading.Thread(target=flip, name="symlink-flipper")
    flipper.start()
    try:
        yield
    finally:
        stop.set()
        flipper.join()
