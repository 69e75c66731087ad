"""scripts/demo_cli.sh (what `make demo-cli` runs): the scripted agent fixes the sample project."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample_project"


@pytest.mark.skipif(shutil.which("bash") is None, reason="the demo script needs bash")
def test_demo_cli_fixes_stats_and_the_tests_pass(tmp_path: Path) -> None:
    before = (SAMPLE / "stats.py").read_text()
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")}
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo_cli.sh")],
        cwd=tmp_path,
        env={**env, "TMPDIR": str(tmp_path)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "scripted model" in proc.stdout
    shown_before, shown_after = proc.stdout.split("-- stats.py after --")
    assert "return sum(values) / len(values) + 1" in shown_before
    assert "return sum(values) / len(values)\n" in shown_after
    assert "+ 1" not in shown_after
    # The agent read, edited and ran the tests; the script's own final unittest run passed.
    assert "Reading stats.py" in proc.stderr and "Running: python3 -m unittest" in proc.stderr
    assert proc.stderr.rstrip().endswith("OK")
    # It worked on a copy: the sample project itself keeps its bug for the next demo.
    assert (SAMPLE / "stats.py").read_text() == before
    assert list(tmp_path.iterdir()) == []  # the demo cleaned up its temporary copy
