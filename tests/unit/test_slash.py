"""Slash commands through the real `claw` CLI and the real SDK against the fake Messages API: a
custom command's expansion is the user message (with `$ARGUMENTS`, `$1`, `@file`, `model`), its
`!` commands go through Bash's permission check, and the built-ins /cost, /model, /clear, /compact
and /help answer locally."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text
from tests.fakes.fixtures import trust
from tests.unit.test_cli import KEY, claw

pytestmark = pytest.mark.usefixtures("home")


def command(base: Path, rel: str, content: str) -> None:
    path = base / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def run(ws: Path, api: FakeMessagesAPI, prompt: str, *extra: str) -> dict:
    proc = claw(ws, "-p", prompt, "--output-format", "json", *extra, env=api.env(KEY))
    assert proc.stdout, proc.stderr
    result: dict = json.loads(proc.stdout.splitlines()[-1])
    return result


def user_text(body: dict) -> str:
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def test_a_project_command_expands_into_the_user_message_with_its_model(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    command(
        workspace / ".claude" / "commands",
        "review.md",
        "---\ndescription: Review a PR\nargument-hint: <pr> <priority>\nmodel: claude-haiku-4-5\n---\n"
        "Review PR #$1 with priority $2. All arguments: $ARGUMENTS. Notes: @notes.md\n",
    )
    (workspace / "notes.md").write_text("NOTES-CONTENT\n")
    fake_api.queue(reply(text("Reviewed.")))
    result = run(workspace, fake_api, '/review 456 "very high"')
    assert result["subtype"] == "success" and result["result"] == "Reviewed.", result
    body = fake_api.requests[0].body
    sent = user_text(body)
    expected = 'Review PR #456 with priority very high. All arguments: 456 "very high". Notes: @notes.md'
    assert sent.startswith(expected)
    assert '<file path="notes.md">\nNOTES-CONTENT' in sent
    assert body["model"] == "claude-haiku-4-5"


def test_namespaced_commands_and_user_commands(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI
) -> None:
    command(workspace / ".claw" / "commands", "frontend/component.md", "Make the component $ARGUMENTS.")
    command(home / ".claude" / "commands", "standup.md", "Summarise yesterday's commits.")
    fake_api.queue(reply(text("a")), reply(text("b")), reply(text("c")))
    run(workspace, fake_api, "/component Button")
    run(workspace, fake_api, "/frontend:component Card")
    run(workspace, fake_api, "/standup")
    sent = [user_text(r.body) for r in fake_api.requests]
    assert sent[:2] == ["Make the component Button.", "Make the component Card."]
    assert sent[2] == "Summarise yesterday's commits."
    # Without placeholders the arguments are appended, as in Claude Code.
    fake_api.queue(reply(text("d")))
    run(workspace, fake_api, "/standup only mine")
    assert user_text(fake_api.requests[-1].body) == "Summarise yesterday's commits.\n\nARGUMENTS: only mine"


BANG = "---\nallowed-tools: Bash(touch:*)\n---\nStatus: !`touch bang-ran.txt`\nGo on.\n"


def test_bang_commands_are_held_back_in_an_untrusted_folder(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    command(workspace / ".claude" / "commands", "go.md", BANG)
    fake_api.queue(reply(text("ok")))
    run(workspace, fake_api, "/go")
    assert not (workspace / "bang-ran.txt").exists()
    assert "did not run" in user_text(fake_api.requests[0].body)


def test_bang_commands_run_with_the_grant_of_a_trusted_folder(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    trust(workspace)
    command(workspace / ".claude" / "commands", "go.md", BANG)
    fake_api.queue(reply(text("ok")))
    run(workspace, fake_api, "/go")
    assert (workspace / "bang-ran.txt").exists()
    assert user_text(fake_api.requests[0].body).startswith("Status: ")
    assert "!`" not in user_text(fake_api.requests[0].body)


def test_builtins_cost_model_help_clear_and_compact(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("Hello there."), usage={"input_tokens": 1200, "output_tokens": 300}))
    first = run(workspace, fake_api, "say hello", "--model", "claude-sonnet-4-5")
    resume = ("--resume", first["session_id"])
    cost = run(workspace, fake_api, "/cost", *resume)
    assert "1200 input, 300 output" in cost["result"] and "Total cost:" in cost["result"]
    assert f"${first['total_cost_usd']:.4f}" in cost["result"]
    shown = run(workspace, fake_api, "/model", *resume, "--model", "claude-sonnet-4-5")
    assert shown["result"] == "Model: claude-sonnet-4-5 (anthropic)"
    helped = run(workspace, fake_api, "/help", *resume)
    for name in ("/compact", "/clear", "/model", "/cost", "/help"):
        assert name in helped["result"]
    assert len(fake_api.requests) == 1  # none of these asked the model
    unknown = run(workspace, fake_api, "/no-such-command", *resume)
    assert "Unknown command: /no-such-command" in unknown["result"]
    fake_api.queue(reply(text("Summary: the user said hello.")))
    compacted = run(workspace, fake_api, "/compact keep the greeting", *resume)
    assert "Compacted" in compacted["result"] or "Nothing to compact" in compacted["result"]
    cleared = run(workspace, fake_api, "/clear", *resume)
    assert "Cleared" in cleared["result"]
    fake_api.queue(reply(text("Fresh start.")))
    run(workspace, fake_api, "what did I ask before?", *resume)
    last = json.dumps(fake_api.requests[-1].body["messages"])
    assert "say hello" not in last and "Hello there." not in last
    assert "what did I ask before?" in last
