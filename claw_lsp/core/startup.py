"""The garbage collector around start-up: off while the big imports run, then their objects frozen.

Importing the model SDK builds about 200,000 long-lived objects (some 3,000 modules, their classes
and pydantic models). The cyclic collector would scan them again and again while they are built
(about a tenth of the import's time) and then in every full collection for the rest of the process:
in the language server a full collection took 75-200 ms on this project's 2-core machines, a pause
that lands in whatever request is being answered (after the freeze: 2 ms). So the collector is off
while the start-up imports run; `gc.freeze()` then moves everything alive into the permanent
generation, which later collections skip, and the collector is switched back on. (CPython's
documented use of `gc.freeze`; Instagram's web servers do the same before forking.)

`claw -p` switches it off at the start of the process and on after the run's set-up (peak RSS is
unchanged). The language server switches it off only for its background import of the SDK: off
from the process start, the garbage of the imports before `initialize` (pygls, lsprotocol) stayed,
10 MiB more at `initialize` for 70 ms less to answer it.
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
