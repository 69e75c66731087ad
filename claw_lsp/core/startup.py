"""Process set-up for speed: the garbage collector around start-up, and glibc's allocator.

The collector is off while the big imports run, then their objects are frozen (`begin`, `done`).

Importing the model SDK builds about 200,000 long-lived objects (some 3,000 modules, their classes
and pydantic models). The cyclic collector would scan them again and again while they are built (a
third of the import's time: 1.9 s against 1.3 s here), then in every full collection for the rest
of the process: in the language server a full collection took 75-200 ms on this project's 2-core
machines, a pause that lands in whatever request is being answered (after the freeze: 2 ms). So the
collector is off while the start-up imports run; `gc.freeze()` then moves everything alive into
the permanent generation, which later collections skip, and the collector is switched back on.
(CPython's documented use of `gc.freeze`; Instagram's web servers do the same before forking.)

`claw -p` switches it off at the start of the process and on after the run's set-up (peak RSS is
unchanged). The language server switches it off only for its background import of the SDK: off
from the process start, the garbage of the imports before `initialize` (pygls, lsprotocol) stayed,
10 MiB more at `initialize` for 70 ms less to answer it.

The allocator's thresholds are raised at the start of every claw process (`tune_allocator`).
"""

from __future__ import annotations

import gc


def begin() -> None:
    """Switch the cyclic collector off for the start-up imports."""
    gc.disable()


def done() -> None:
    """Freeze what start-up built and switch the collector back on (idempotent)."""
    gc.freeze()
    gc.enable()


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap, not from a mapping of their own (glibc's maximum).
MMAP_THRESHOLD = 32 * 1024 * 1024
# Free memory at the top of the heap kept for reuse, up to this much.
TRIM_THRESHOLD = 64 * 1024 * 1024


def tune_allocator() -> bool:
    """Let big blocks reuse freed heap memory instead of fresh pages (glibc; elsewhere nothing).

    A text of a few megabytes (a 100,000-line file read, edited or copied) is a block glibc maps
    on its own and unmaps when freed, and then trims the heap's top back to the system: the next
    such block page-faults its megabytes in again, zero-filled, about 0.3 ms a megabyte here, a
    third of a Read of such a file and the spread of an Edit's time. With both thresholds raised,
    freed blocks are reused. The language server still gives free memory back (`malloc_trim`)
    after large documents close and large messages; `claw -p` is short-lived. True when set."""
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mapped = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and mapped
