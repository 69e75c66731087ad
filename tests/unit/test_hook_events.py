"""Claude Code's hook events through the real `claw` CLI and the real SDK against the fake Messages
API: hook scripts dump their stdin JSON to a file, and the tests check each event's keys, what a
hook's answer changes (updatedInput, PermissionRequest's decision, context for the model), and that
an untrusted workspace's `.claude/settings.json` hooks stay held back. Then the HookRunner on its own
for the events no CLI run reaches (SubagentStop) and each event's exit-code-2 rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.agent.hooks import HookRunner
from claw_lsp.config import HookCommand, HookMatcher
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.fakes.fixtures import trust
from tests.unit.test_cli import KEY, claw, claw_json

BASE = {"session_id", "transcript_path", "cwd", "hook_event_name", "permission_mode"}


def dumping(log: Path, *events: str, matcher: str = "", then: str = "") -> dict[str, Any]:
    """Hooks that append their stdin JSON (one line each) to `log`, then run `then`."""
    command = f"cat >> {log}; echo >> {log}" + (f"; {then}" if then else "")
    return {e: [{"matcher": matcher, "hooks": [{"type": "command", "command": command}]}] for e in events}


def user_settings(isolated_state: Path, **settings: Any) -> None:
    """The user's own settings file (never held back)."""
    path = isolated_state / "XDG_CONFIG_HOME" / "claw" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))


def fired(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []


def by_event(log: Path, event: str) -> list[dict[str, Any]]:
    return [e for e in fired(log) if e["hook_event_name"] == event]


def test_each_event_fires_with_claude_codes_input_shape(
    workspace: Path, fake_api: FakeMessagesAPI, isolated_state: Path
) -> None:
    log = workspace.parent / "events.jsonl"
    events = ("UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure", "Stop", "SessionEnd")
    hooks = dumping(log, *events)
    hooks["SessionStart"] = dumping(
        log, "SessionStart", matcher="startup|resume", then="echo 'Branch: main'"
    )["SessionStart"]
    user_settings(isolated_state, hooks=hooks, permissions={"allow": ["Bash(echo:*)"]})
    missing = workspace / "missing.txt"
    fake_api.queue(
        reply(tool_use("Bash", {"command": "echo hi"}, id="toolu_bash")),
        reply(tool_use("Read", {"file_path": str(missing)}, id="toolu_read")),
        reply(text("done")),
    )
    result = claw_json(workspace, "-p", "say hi", env=fake_api.env(KEY))
    assert result["subtype"] == "success", result
    session_id = result["session_id"]
    names = [e["hook_event_name"] for e in fired(log)]
    assert names == [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "PreToolUse",
        "PostToolUseFailure",
        "Stop",
        "SessionEnd",
    ]
    for event in fired(log):
        assert set(event) >= BASE, event
        assert event["session_id"] == session_id and event["cwd"] == str(workspace)
        assert (
            event["transcript_path"].endswith(f"{session_id}.jsonl")
            and Path(event["transcript_path"]).exists()
        )
        assert event["permission_mode"] == "default"
    start, prompt, pre, post, _, failure, stop, end = fired(log)
    assert start["source"] == "startup" and start["model"]
    assert prompt["prompt"] == "say hi"
    assert pre["tool_name"] == "Bash" and pre["tool_input"] == {"command": "echo hi"}
    assert pre["tool_use_id"] == "toolu_bash"
    assert post["tool_response"]["content"].strip() == "hi" and post["tool_use_id"] == "toolu_bash"
    assert failure["tool_name"] == "Read" and failure["tool_input"] == {"file_path": str(missing)}
    assert failure["tool_use_id"] == "toolu_read" and "missing.txt" in failure["error"]
    assert failure["is_interrupt"] is False
    assert stop["stop_hook_active"] is False and stop["last_assistant_message"] == "done"
    assert end["reason"] == "other"
    # SessionStart's stdout is context the model gets with its first request.
    first = json.dumps(fake_api.requests[0].body["messages"])
    assert "Branch: main" in first and "say hi" in first

    # Resuming the session starts it again with source "resume".
    log.unlink()
    fake_api.queue(reply(text("again")))
    claw_json(workspace, "-p", "more", "--resume", session_id, env=fake_api.env(KEY))
    assert [e["source"] for e in by_event(log, "SessionStart")] == ["resume"]


def test_pre_tool_use_updated_input_changes_what_runs(
    workspace: Path, fake_api: FakeMessagesAPI, isolated_state: Path
) -> None:
    log = workspace.parent / "events.jsonl"
    answer = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": "rewritten by policy",
            "updatedInput": {"command": "echo rewritten > out.txt"},
            "additionalContext": "The command was rewritten by a hook.",
        }
    }
    hooks = dumping(log, "PostToolUse")
    hooks["PreToolUse"] = [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": f"echo '{json.dumps(answer)}'"}]}
    ]
    user_settings(isolated_state, hooks=hooks)  # no allow rule: the hook's "allow" lets it run
    fake_api.queue(reply(tool_use("Bash", {"command": "echo original > out.txt"})), reply(text("ok")))
    result = claw_json(workspace, "-p", "write", env=fake_api.env(KEY))
    assert result["subtype"] == "success", result
    assert (workspace / "out.txt").read_text() == "rewritten\n"
    assert by_event(log, "PostToolUse")[0]["tool_input"] == {"command": "echo rewritten > out.txt"}
    assert "The command was rewritten by a hook." in fake_api.requests[1].last_tool_result()


@pytest.mark.parametrize("behavior", ["allow", "deny"])
def test_permission_request_hook_answers_the_question(
    workspace: Path, fake_api: FakeMessagesAPI, isolated_state: Path, behavior: str
) -> None:
    log = workspace.parent / "events.jsonl"
    decision: dict[str, Any] = (
        {"behavior": "allow", "updatedInput": {"command": "echo approved > out.txt"}}
        if behavior == "allow"
        else {"behavior": "deny", "message": "no writes on Fridays"}
    )
    answer = json.dumps({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}})
    hooks = dumping(log, "PermissionRequest", "Notification", matcher="", then=f"echo '{answer}'")
    user_settings(isolated_state, hooks=hooks)
    fake_api.queue(reply(tool_use("Bash", {"command": "echo asked > out.txt"})), reply(text("ok")))
    claw_json(workspace, "-p", "write", env=fake_api.env(KEY))
    request = by_event(log, "PermissionRequest")
    assert len(request) == 1 and request[0]["tool_name"] == "Bash"
    assert request[0]["tool_input"] == {"command": "echo asked > out.txt"}
    assert request[0]["permission_suggestions"][0]["type"] == "addRules"
    assert by_event(log, "Notification") == []  # answered by the hook: nobody was asked
    result = fake_api.requests[1].tool_results()[-1]
    if behavior == "allow":
        assert (workspace / "out.txt").read_text() == "approved\n" and not result.is_error
    else:
        assert not (workspace / "out.txt").exists()
        assert result.is_error and "no writes on Fridays" in result.text


def test_notification_fires_when_the_user_is_asked(
    workspace: Path, fake_api: FakeMessagesAPI, isolated_state: Path
) -> None:
    log = workspace.parent / "events.jsonl"
    user_settings(isolated_state, hooks=dumping(log, "PermissionRequest", "Notification"))
    fake_api.queue(reply(tool_use("Bash", {"command": "echo asked > out.txt"})), reply(text("ok")))
    claw_json(workspace, "-p", "write", env=fake_api.env(KEY))  # no terminal: the question is denied
    assert len(by_event(log, "PermissionRequest")) == 1  # it said nothing: the user is asked
    (note,) = by_event(log, "Notification")
    assert note["notification_type"] == "permission_prompt" and "Bash" in note["message"]
    assert not (workspace / "out.txt").exists()


def test_pre_compact_fires_on_slash_compact(
    workspace: Path, fake_api: FakeMessagesAPI, isolated_state: Path
) -> None:
    log = workspace.parent / "events.jsonl"
    user_settings(isolated_state, hooks=dumping(log, "PreCompact", "SessionStart", matcher=""))
    fake_api.queue(*(reply(text(f"answer {n} " * 20)) for n in range(3)))
    first = claw_json(workspace, "-p", "question 0", env=fake_api.env(KEY))
    for n in (1, 2):
        claw_json(workspace, "-p", f"question {n}", "--resume", first["session_id"], env=fake_api.env(KEY))
    log.unlink()
    fake_api.queue(reply(text("Summary: three questions were asked.")))
    claw_json(
        workspace, "-p", "/compact keep the numbers", "--resume", first["session_id"], env=fake_api.env(KEY)
    )
    (pre,) = by_event(log, "PreCompact")
    assert pre["trigger"] == "manual" and pre["custom_instructions"] == "keep the numbers"
    assert [e["source"] for e in by_event(log, "SessionStart")] == ["resume", "compact"]


def test_pre_compact_exit_2_stops_the_compaction(
    workspace: Path, fake_api: FakeMessagesAPI, isolated_state: Path
) -> None:
    hooks = {
        "PreCompact": [
            {"matcher": "manual", "hooks": [{"type": "command", "command": "echo 'not now' >&2; exit 2"}]}
        ]
    }
    user_settings(isolated_state, hooks=hooks)
    fake_api.queue(reply(text("one " * 20)), reply(text("two " * 20)))
    first = claw_json(workspace, "-p", "question 0", env=fake_api.env(KEY))
    claw_json(workspace, "-p", "question 1", "--resume", first["session_id"], env=fake_api.env(KEY))
    proc = claw(workspace, "-p", "/compact", "--resume", first["session_id"], env=fake_api.env(KEY))
    assert "A PreCompact hook stopped the compaction: not now" in proc.stderr + proc.stdout
    assert len(fake_api.requests) == 2  # no summary was asked for


def test_claude_settings_hooks_run_in_a_trusted_workspace_and_are_held_back_otherwise(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    log = workspace.parent / "events.jsonl"
    (workspace / ".claude").mkdir()
    (workspace / ".claude" / "settings.json").write_text(
        json.dumps({"hooks": dumping(log, "SessionStart", "UserPromptSubmit", "SessionEnd")})
    )
    fake_api.queue(reply(text("untrusted")), reply(text("trusted")))
    proc = claw(workspace, "-p", "hi", env=fake_api.env(KEY))
    assert proc.returncode == 0 and proc.stdout.strip() == "untrusted"
    assert "hooks for SessionStart, UserPromptSubmit, SessionEnd (.claude/settings.json)" in proc.stderr
    assert not log.exists()  # held back: nothing a repository ships runs before the user trusts it
    trust(workspace)
    assert claw(workspace, "-p", "hi", env=fake_api.env(KEY)).returncode == 0
    assert [e["hook_event_name"] for e in fired(log)] == ["SessionStart", "UserPromptSubmit", "SessionEnd"]


def test_the_users_claude_code_hooks_come_along(
    workspace: Path, fake_api: FakeMessagesAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    log = workspace.parent / "events.jsonl"
    (home / ".claude" / "settings.json").write_text(
        json.dumps({"hooks": dumping(log, "UserPromptSubmit"), "permissions": {"allow": ["Bash"]}})
    )
    monkeypatch.setenv("HOME", str(home))
    fake_api.queue(reply(tool_use("Bash", {"command": "echo no > out.txt"})), reply(text("ok")))
    assert claw(workspace, "-p", "hi", env=fake_api.env(KEY)).returncode == 0
    assert [e["prompt"] for e in by_event(log, "UserPromptSubmit")] == ["hi"]
    assert not (workspace / "out.txt").exists()  # only its hooks are read, not its permissions


# -- the HookRunner on its own ----------------------------------------------------------------------


def runner(ws: Path, event: str, command: str, matcher: str = "") -> HookRunner:
    hooks = {event: [HookMatcher(matcher=matcher, hooks=[HookCommand(command=command, timeout=10)])]}
    return HookRunner(hooks, ws, "sess-1", ws / "t.jsonl", permission_mode="default")


async def test_subagent_stop_has_claude_codes_input_and_can_keep_the_subagent_going(workspace: Path) -> None:
    out = workspace / "stdin.json"
    answer = json.dumps({"decision": "block", "reason": "also check the tests"})
    hook = runner(workspace, "SubagentStop", f"cat > {out}; echo '{answer}'", matcher="Explore")
    outcome = await hook.subagent_stop(
        agent_id="a0123456789abcdef",
        agent_type="Explore",
        agent_transcript_path=workspace / "agent-a0123456789abcdef.jsonl",
        stop_hook_active=False,
        last_assistant_message="Found it.",
    )
    assert outcome.blocked and outcome.reason == "also check the tests"
    assert json.loads(out.read_text()) == {
        "session_id": "sess-1",
        "transcript_path": str(workspace / "t.jsonl"),
        "cwd": str(workspace),
        "hook_event_name": "SubagentStop",
        "permission_mode": "default",
        "stop_hook_active": False,
        "agent_id": "a0123456789abcdef",
        "agent_type": "Explore",
        "agent_transcript_path": str(workspace / "agent-a0123456789abcdef.jsonl"),
        "last_assistant_message": "Found it.",
    }
    out.unlink()
    other = await hook.subagent_stop(agent_id="a1", agent_type="general-purpose", agent_transcript_path="x")
    assert not other.blocked and not out.exists()  # the matcher is the agent type


async def test_matchers_select_by_source_reason_trigger_and_notification_type(workspace: Path) -> None:
    out = workspace / "stdin.json"
    start = runner(workspace, "SessionStart", f"cat > {out}", matcher="startup|resume")
    await start.session_start("compact")
    assert not out.exists()
    await start.session_start("resume")
    assert json.loads(out.read_text())["source"] == "resume"
    end = runner(workspace, "SessionEnd", f"cat > {out}", matcher="clear")
    await end.session_end("other")
    assert json.loads(out.read_text())["hook_event_name"] == "SessionStart"
    await end.session_end("clear")
    assert json.loads(out.read_text())["reason"] == "clear"
    compact = runner(workspace, "PreCompact", f"cat > {out}", matcher="auto")
    await compact.pre_compact("auto", None)
    assert json.loads(out.read_text())["custom_instructions"] == ""
    note = runner(workspace, "Notification", f"cat > {out}", matcher="idle_prompt")
    await note.notification("Claw needs your permission to use Bash", "permission_prompt")
    assert json.loads(out.read_text())["hook_event_name"] == "PreCompact"


async def test_exit_2_blocks_only_where_the_event_can_block(workspace: Path) -> None:
    for event, call in (
        ("SessionStart", lambda r: r.session_start("startup")),
        ("SessionEnd", lambda r: r.session_end("other")),
        ("Notification", lambda r: r.notification("m", "permission_prompt")),
    ):
        outcome = await call(runner(workspace, event, "echo 'shown only' >&2; exit 2"))
        assert not outcome.blocked and outcome.notes == [f"{event} hook: shown only"], event
    denied = await runner(workspace, "PermissionRequest", "echo nope >&2; exit 2").permission_request(
        "Bash", {}
    )
    assert denied.blocked and denied.permission == "deny" and denied.reason == "nope"
    failed = await runner(workspace, "PostToolUseFailure", "echo 'try -v' >&2; exit 2").post_tool_use_failure(
        "Bash", {}, "t", "boom"
    )
    assert failed.blocked and failed.reason == "try -v"
    compact = await runner(workspace, "PreCompact", "exit 2").pre_compact("manual", "x")
    assert compact.blocked


async def test_permission_request_deny_with_interrupt_stops_the_run(workspace: Path) -> None:
    answer = {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "deny", "message": "stop everything", "interrupt": True},
        }
    }
    outcome = await runner(workspace, "PermissionRequest", f"echo '{json.dumps(answer)}'").permission_request(
        "Bash", {"command": "x"}
    )
    assert outcome.permission == "deny" and outcome.stop and outcome.reason == "stop everything"
    mismatched = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny"}}
    ignored = await runner(
        workspace, "PermissionRequest", f"echo '{json.dumps(mismatched)}'"
    ).permission_request("Bash", {})
    assert ignored.permission is None  # another event's output is not this event's answer
