"""`make demo` (scripts/demo_nvim.sh) without a terminal: the walk-through in real headless Neovim
with the scripted model, checked step by step by the demo itself (code action, inline review of a
two-hunk change with one hunk accepted and one rejected with feedback, the model's reply, the
permission prompt for the test command and its output in the transcript, undo of the whole change).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.nvim.harness import require_nvim

pytestmark = pytest.mark.nvim

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "sample_project"


def test_make_demo_walks_through_review_permission_and_undo(tmp_path: Path) -> None:
    require_nvim()
    before = (SAMPLE / "stats.py").read_text()
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")}
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo_nvim.sh")],
        cwd=tmp_path,
        env={**env, "TMPDIR": str(tmp_path), "CI": "true"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "scripted model" in out  # it says which model it uses
    for step in ("1/5", "2/5", "3/5", "4/5", "5/5"):
        assert f"demo: {step}" in out, out
    assert "ga accept · gr reject · gR reject with feedback" in out  # what each key does
    assert (
        'Claw asks before it runs a command: "Claw wants to: Run the stats tests | python3 -m unittest' in out
    )
    assert "◑ `Editing stats.py (2 edits)` — partly applied: 1 hunk rejected" in out
    assert "│ OK" in out  # the test command's output, in the transcript
    assert "demo: every step worked" in out
    assert (SAMPLE / "stats.py").read_text() == before  # it worked on a copy
