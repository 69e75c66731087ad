"""Hooks run real shell commands: stdin JSON, exit codes, JSON decisions, timeouts."""

from __future__ import annotations

import json
import time
from pathlib import Path

from claw_lsp.agent.hooks import HookRunner
from claw_lsp.config import HookCommand, HookMatcher
from tests.fakes.procs import is_gone


def runner(ws: Path, event: str, command: str, matcher: str = "", timeout: float = 10.0) -> HookRunner:
    hooks = {event: [HookMatcher(matcher=matcher, hooks=[HookCommand(command=command, timeout=timeout)])]}
    return HookRunner(hooks, ws, "sess-1", ws / "t.jsonl", permission_mode="acceptEdits")


async def test_stdin_carries_claude_code_fields(workspace: Path) -> None:
    out = workspace / "stdin.json"
    pre = runner(workspace, "PreToolUse", f"cat > {out}")
    outcome = await pre.pre_tool_use("Edit", {"file_path": "/x"}, "tu_1")
    assert not outcome.blocked and outcome.permission is None
    data = json.loads(out.read_text())
    assert data == {
        "session_id": "sess-1",
        "transcript_path": str(workspace / "t.jsonl"),
        "cwd": str(workspace),
        "hook_event_name": "PreToolUse",
        "permission_mode": "acceptEdits",
        "tool_name": "Edit",
        "tool_input": {"file_path": "/x"},
        "tool_use_id": "tu_1",
    }
    post = runner(workspace, "PostToolUse", f"cat > {out}")
    await post.post_tool_use("Bash", {"command": "ls"}, {"content": "a"}, "tu_2")
    assert json.loads(out.read_text())["tool_response"] == {"content": "a"}
    prompt = runner(workspace, "UserPromptSubmit", f"cat > {out}")
    await prompt.user_prompt_submit("hello")
    assert json.loads(out.read_text())["prompt"] == "hello"


async def test_exit_2_blocks_and_feeds_stderr(workspace: Path) -> None:
    hook = runner(workspace, "PreToolUse", "echo 'no edits to generated files' >&2; exit 2")
    outcome = await hook.pre_tool_use("Edit", {}, "t")
    assert outcome.blocked and outcome.reason == "no edits to generated files"


async def test_other_exit_codes_are_non_blocking_errors(workspace: Path) -> None:
    outcome = await runner(workspace, "PostToolUse", "echo oops >&2; exit 1").post_tool_use(
        "Bash", {}, {}, "t"
    )
    assert not outcome.blocked and "exit 1" in outcome.notes[0] and "oops" in outcome.notes[0]


async def test_matchers_are_regexes_on_tool_names(workspace: Path) -> None:
    hook = runner(workspace, "PreToolUse", "exit 2", matcher="Edit|Write")
    assert (await hook.pre_tool_use("Write", {}, "t")).blocked
    assert not (await hook.pre_tool_use("Bash", {}, "t")).blocked
    assert not (await hook.pre_tool_use("MultiEditX", {}, "t")).blocked
    assert (
        await runner(workspace, "PreToolUse", "exit 2", matcher="*").pre_tool_use("Bash", {}, "t")
    ).blocked


async def test_json_decisions_are_honoured(workspace: Path) -> None:
    block = runner(
        workspace, "PostToolUse", """echo '{"decision": "block", "reason": "run the formatter"}'"""
    )
    outcome = await block.post_tool_use("Edit", {}, {}, "t")
    assert outcome.blocked and outcome.reason == "run the formatter"
    stop = runner(workspace, "Stop", """echo '{"decision": "block", "reason": "tests still fail"}'""")
    outcome = await stop.stop()
    assert outcome.blocked and outcome.reason == "tests still fail"
    halt = runner(workspace, "UserPromptSubmit", """echo '{"continue": false, "stopReason": "frozen"}'""")
    outcome = await halt.user_prompt_submit("x")
    assert outcome.stop and outcome.blocked and outcome.reason == "frozen"
    context = runner(workspace, "UserPromptSubmit", "echo 'branch: main'")
    assert (await context.user_prompt_submit("x")).additional_context == "branch: main"


async def test_pre_tool_use_permission_decisions(workspace: Path) -> None:
    def specific(decision: str) -> str:
        body = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": decision,
                                       "permissionDecisionReason": "policy"}}  # fmt: skip
        return f"echo '{json.dumps(body)}'"

    allow = await runner(workspace, "PreToolUse", specific("allow")).pre_tool_use("Bash", {}, "t")
    assert allow.permission == "allow" and not allow.blocked
    ask = await runner(workspace, "PreToolUse", specific("ask")).pre_tool_use("Bash", {}, "t")
    assert ask.permission == "ask"
    deny = await runner(workspace, "PreToolUse", specific("deny")).pre_tool_use("Bash", {}, "t")
    assert deny.permission == "deny" and deny.blocked and deny.reason == "policy"
    legacy = await runner(workspace, "PreToolUse", """echo '{"decision": "approve"}'""").pre_tool_use(
        "Bash", {}, "t"
    )
    assert legacy.permission == "allow"


async def test_several_hooks_combine_deny_over_allow(workspace: Path) -> None:
    allow = """echo '{"decision": "approve"}'"""
    hooks = {"PreToolUse": [HookMatcher(hooks=[HookCommand(command=allow), HookCommand(command="exit 2")])]}
    outcome = await HookRunner(hooks, workspace, "s", None).pre_tool_use("Bash", {}, "t")
    assert outcome.blocked and outcome.permission == "deny"


async def test_timeout_kills_the_hook_and_its_children(workspace: Path) -> None:
    pidfile = workspace / "child.pid"
    hook = runner(workspace, "PreToolUse", f"sleep 30 & echo $! > {pidfile}; wait", timeout=0.5)
    started = time.monotonic()
    outcome = await hook.pre_tool_use("Bash", {}, "t")
    assert time.monotonic() - started < 5
    assert not outcome.blocked and "timed out" in outcome.notes[0]
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if is_gone(child):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the hook's child survived its timeout")


async def test_no_hooks_configured_is_a_no_op(workspace: Path) -> None:
    outcome = await HookRunner({}, workspace, "s", None).stop()
    assert not outcome.blocked and outcome.notes == []
