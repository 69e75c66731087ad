"""Emacs eglot, a generic LSP client, drives the real `claw-lsp` server through standard LSP alone.

Debian's emacs-nox + elpa-eglot (Emacs 28, eglot 1.9; `scripts/setup-eglot.sh` installs them) run
tests/eglot/driver.el in `emacs --batch`: it opens a Python file, starts eglot with
`.venv/bin/claw-lsp`, picks `Claw: <instruction>` from eglot's own code action menu (which runs
`workspace/executeCommand`), answers any `window/showMessageRequest` through `completing-read`, and
waits until the buffer (not the disk) holds the agent's edit. The model is the fake Messages API.
The driver exits 0 and prints PASS, else a distinct code per failed check plus diagnostics.

By hand: write a scenario JSON as below, then
`CLAW_EGLOT_SCENARIO=scenario.json ANTHROPIC_BASE_URL=... emacs --batch -l tests/eglot/driver.el`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.fakes.fixtures import trust

# Missing Emacs/eglot skips outside CI and fails under CI=true (tests/eglot/conftest.py).
pytestmark = [pytest.mark.eglot]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SERVER = REPO / ".venv" / "bin" / "claw-lsp"
DRIVER = HERE / "driver.el"

ORIGINAL = "def average(xs):\n    # claw: return 0.0 for an empty list\n    return sum(xs) / len(xs)\n"
INSTRUCTION = "return 0.0 for an empty list"
FINAL_TEXT = "Handled the empty list."
EXPECTED = "def average(xs):\n    if not xs:\n        return 0.0\n    return sum(xs) / len(xs)\n"


def run_driver(workspace: Path, fake_api: FakeMessagesAPI, answer: str | None) -> None:
    """Run the driver on workspace/app.py; fail with its output unless it passes."""
    scenario = {
        "workspace": str(workspace),
        "file": "app.py",
        "line": 2,
        "action": f"Claw: {INSTRUCTION}",
        "comment": f"# claw: {INSTRUCTION}",
        "expected": EXPECTED,
        "answer": answer,
        "result": FINAL_TEXT,
        "server": str(SERVER),
        "timeout": 20,
    }
    scenario_file = workspace.parent / "scenario.json"
    scenario_file.write_text(json.dumps(scenario), encoding="utf-8")
    home = workspace.parent / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, **fake_api.env(), "CLAW_EGLOT_SCENARIO": str(scenario_file), "HOME": str(home)}
    result = subprocess.run(
        ["emacs", "--batch", "-l", str(DRIVER)],
        cwd=workspace,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    output = f"exit {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 0, output
    assert "[eglot-driver] PASS" in result.stderr, output


def setup_workspace(workspace: Path, mode: str) -> Path:
    (workspace / ".claw").mkdir()
    (workspace / ".claw" / "settings.json").write_text(json.dumps({"permissionMode": mode}))
    trust(workspace)
    path = workspace / "app.py"
    path.write_text(ORIGINAL, encoding="utf-8")
    return path


def test_code_action_edits_the_buffer_in_accept_edits_mode(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    """acceptEdits: the edit lands without a question; the server removes the instruction comment
    itself (the model's edit leaves it) with a second workspace/applyEdit."""
    assert SERVER.exists(), "the claw-lsp executable is missing: run make setup"
    path = setup_workspace(workspace, "acceptEdits")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(
            tool_use(
                "Edit",
                {
                    "file_path": str(path),
                    "old_string": "    return sum(xs) / len(xs)",
                    "new_string": "    if not xs:\n        return 0.0\n    return sum(xs) / len(xs)",
                },
            )
        ),
        reply(text(FINAL_TEXT)),
    )
    run_driver(workspace, fake_api, answer=None)
    assert fake_api.pending == 0
    assert INSTRUCTION in json.dumps(fake_api.requests[0].body)


def test_review_comes_as_show_message_request_in_default_mode(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    """default: the review of the edit is a window/showMessageRequest; eglot's answer "Apply"
    (through completing-read) lets the edit land, comment removal included."""
    assert SERVER.exists(), "the claw-lsp executable is missing: run make setup"
    path = setup_workspace(workspace, "default")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(
            tool_use(
                "Edit",
                {
                    "file_path": str(path),
                    "old_string": "    # claw: return 0.0 for an empty list\n    return sum(xs) / len(xs)",
                    "new_string": "    if not xs:\n        return 0.0\n    return sum(xs) / len(xs)",
                },
            )
        ),
        reply(text(FINAL_TEXT)),
    )
    run_driver(workspace, fake_api, answer="Apply")
    assert fake_api.pending == 0
