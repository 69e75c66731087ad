"""Issue 9 point 8: under CI=true the Neovim suite FAILS when Neovim is missing; outside CI it skips.

Runs pytest on the Neovim suites in a subprocess with CLAW_TEST_NVIM pointing at a missing binary
(nothing starts, so this is quick).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
SUITES = [
    "tests/nvim/test_nvim.py::test_nvim",
    "tests/nvim/test_edit_shapes.py::test_append_at_end_default_debounce",
    "tests/nvim/test_corpus_replay.py::test_corpus_replay_fast",
    "tests/nvim/test_race.py::test_races_fast",
]


def _run(ci: str | None, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["CLAW_TEST_NVIM"] = str(tmp_path / "no-such-nvim")
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *SUITES],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_nvim_fails_under_ci(ci: str, tmp_path: Path) -> None:
    result = _run(ci, tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert " skipped" not in out, out
    assert "failed" in out, out


def test_missing_nvim_skips_outside_ci(tmp_path: Path) -> None:
    result = _run(None, tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "skipped" in out and "failed" not in out, out
