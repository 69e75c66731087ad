"""Issue 9 point 8: under CI=true the eglot suite FAILS when Emacs/eglot is missing; outside CI it
skips. Checked by running the suite's own test module in a pytest subprocess whose PATH has no
`emacs` (this module runs everywhere: the toolchain fixture leaves it alone)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.eglot.harness import REPO

pytestmark = [pytest.mark.eglot]


def run_suite_without_emacs(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"  # a PATH holding no emacs
    bin_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(bin_dir)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/eglot/test_eglot.py"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_missing_emacs_fails_under_ci(tmp_path: Path) -> None:
    result = run_suite_without_emacs(tmp_path, "true")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert re.search(r"\b2 (failed|errors)\b", output), output  # a fixture's pytest.fail is an error
    assert "CI=true and the eglot suite cannot run: emacs missing" in output, output
    assert "skipped" not in output, output


def test_missing_emacs_skips_outside_ci(tmp_path: Path) -> None:
    result = run_suite_without_emacs(tmp_path, None)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "2 skipped" in output, output
