"""Fixtures of the VS Code end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.vscode.harness import build_vsix, require_toolchain


@pytest.fixture(scope="session")
def vsix() -> Path:
    """The extension built once per test session (skipped, or failed under CI=true, without the toolchain)."""
    require_toolchain()
    return build_vsix()
