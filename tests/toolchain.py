"""The real-editor suites' one rule for a missing toolchain: skip outside CI, fail under CI=true.

A CI whose set-up broke must not go green by skipping the suites that drive real editors.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """Whether the environment says CI (CI=true, as GitHub Actions, GitLab and most others set it)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(problem: str, *, ci_message: str | None = None) -> NoReturn:
    """Skip the test for `problem`, or fail it under CI=true (with `ci_message` when given)."""
    if in_ci():
        message = ci_message or f"CI=true: {problem} (a missing toolchain fails, never skips)"
        pytest.fail(message, pytrace=False)
    pytest.skip(problem)
