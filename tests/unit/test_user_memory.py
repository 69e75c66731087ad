"""User memory as Claude Code reads it: `~/.claude/CLAUDE.md` (beside Claw's own CLAW.md) and the
project's `.claude/CLAUDE.md` and `CLAUDE.local.md`, in Claude Code's order, in the system prompt
the model receives (HOME is a temp dir in every test here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from claw_lsp.agent.prompts import build_system_prompt, load_memory
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text
from tests.unit.test_cli import KEY, claw


@pytest.fixture
def home(home: Path) -> Path:
    """A temp HOME holding ~/.claude/CLAUDE.md."""
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / "CLAUDE.md").write_text("Always answer in British English.\n")
    return home


def write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def test_claude_code_order_user_then_project_then_local(home: Path, workspace: Path) -> None:
    write(Path(os.environ["XDG_CONFIG_HOME"]) / "claw" / "CLAW.md", "claw user rules")
    write(workspace / "CLAUDE.local.md", "my sandbox is at http://localhost:8000")
    write(workspace / ".claude" / "CLAUDE.md", "dot-claude project rules")
    write(workspace / "CLAUDE.md", "project rules")
    files = load_memory(workspace)
    assert [(f.text.strip(), f.scope) for f in files] == [
        ("Always answer in British English.", "user"),
        ("claw user rules", "user"),
        ("project rules", "project"),
        ("dot-claude project rules", "project"),
        ("my sandbox is at http://localhost:8000", "local"),
    ]
    assert files[0].path == home / ".claude" / "CLAUDE.md"


def test_user_claude_md_and_local_memory_are_in_the_system_prompt(home: Path, workspace: Path) -> None:
    write(workspace / "CLAUDE.local.md", "Use the staging database.")
    prompt = build_system_prompt([workspace], model="m", permission_mode="default", tool_names=["Read"])
    user = (
        f"Contents of {home / '.claude' / 'CLAUDE.md'} (user's private global instructions for all projects)"
    )
    local = (
        f"Contents of {workspace / 'CLAUDE.local.md'} (user's private project instructions, not checked in)"
    )
    assert user in prompt and local in prompt
    assert prompt.index("British English") < prompt.index("staging database")


def test_user_memory_imports_are_followed(home: Path, workspace: Path) -> None:
    write(home / ".claude" / "CLAUDE.md", "See @~/.claude/style.md")
    write(home / ".claude" / "style.md", "Tabs, never spaces.")
    texts = [f.text for f in load_memory(workspace)]
    assert texts[:2] == ["See @~/.claude/style.md", "Tabs, never spaces."]


def test_cli_request_carries_the_users_claude_md(
    home: Path, workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    write(workspace / "CLAUDE.local.md", "Local note: port 8123.")
    fake_api.queue(reply(text("Cheers.")))
    proc = claw(
        workspace, "-p", "hello", "--output-format", "json", env={**fake_api.env(KEY), "HOME": str(home)}
    )
    assert proc.returncode == 0, proc.stderr
    (request,) = fake_api.requests
    system = "".join(b["text"] for b in request.body["system"])
    assert "Always answer in British English." in system and "Local note: port 8123." in system
