"""Every eglot test needs Emacs, eglot and the claw-lsp executable.

Outside CI a missing toolchain skips the suite (with the command that installs it); under CI=true
it FAILS, so a CI image without Emacs cannot pass the eglot suite by skipping it.
"""

from __future__ import annotations

import pytest

from tests.eglot.harness import require_eglot


@pytest.fixture(autouse=True)
def _eglot_toolchain(request: pytest.FixtureRequest) -> None:
    if request.module.__name__.endswith("test_toolchain_gate"):
        return  # it checks this gate itself, in a subprocess without emacs
    require_eglot()
