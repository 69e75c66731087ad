"""Hooks: user commands run at PreToolUse, PostToolUse, UserPromptSubmit and Stop.

Each hook is a shell command that gets one JSON object on stdin in Claude Code's shape
(`session_id`, `transcript_path`, `cwd`, `hook_event_name`, `permission_mode`, plus `tool_name`,
`tool_input`, `tool_use_id`, `tool_response`, `prompt` or `stop_hook_active` by event). It runs in
its own process group and is killed, group and all, on timeout or cancellation.

Exit code 0: success, stdout parsed as JSON when it is JSON (UserPromptSubmit's plain stdout is
extra context). Exit code 2: blocks, stderr goes to the model. Any other code: a non-blocking error,
noted. JSON output honoured: `{"decision": "block", "reason"}`, `{"continue": false, "stopReason"}`,
PreToolUse's `hookSpecificOutput.permissionDecision` (allow / deny / ask) and the legacy
`{"decision": "approve" | "block"}`, and `hookSpecificOutput.additionalContext`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from claw_lsp.config import HookCommand, HookMatcher
from claw_lsp.core.secrets import child_env
from claw_lsp.tools.reaper import REAPER

HookEvent = Literal["PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop"]
HookPermission = Literal["allow", "deny", "ask"]
_OUTPUT_CAP = 10_000
_PERMISSION_ORDER: dict[str | None, int] = {None: 0, "allow": 1, "ask": 2, "deny": 3}


@dataclass
class HookOutcome:
    """What the hooks of one event decided, combined.

    `blocked`: PreToolUse - do not run the tool; PostToolUse - tell the model `reason`;
    UserPromptSubmit - drop the prompt; Stop - do not stop, continue with `reason` for the model.
    `stop`: a hook asked the whole run to end (`continue: false`), `reason` says why.
    """

    blocked: bool = False
    reason: str = ""
    permission: HookPermission | None = None
    additional_context: str = ""
    stop: bool = False
    notes: list[str] = field(default_factory=list)  # non-blocking errors, timeouts, system messages

    def merge(self, other: HookOutcome) -> None:
        """Fold another hook's outcome into this one (deny > ask > allow; texts joined)."""
        self.blocked = self.blocked or other.blocked
        self.stop = self.stop or other.stop
        if _PERMISSION_ORDER[other.permission] > _PERMISSION_ORDER[self.permission]:
            self.permission = other.permission
        self.reason = "\n".join(t for t in (self.reason, other.reason) if t)
        self.additional_context = "\n".join(
            t for t in (self.additional_context, other.additional_context) if t
        )
        self.notes.extend(other.notes)


class HookRunner:
    """Runs the configured hook commands for one session."""

    def __init__(
        self,
        hooks: dict[str, list[HookMatcher]],
        cwd: Path,
        session_id: str,
        transcript_path: Path | str | None,
        *,
        permission_mode: str = "default",
    ) -> None:
        self.hooks = hooks
        self.cwd = Path(cwd)
        self.session_id = session_id
        self.transcript_path = str(transcript_path) if transcript_path is not None else ""
        self.permission_mode = permission_mode

    async def pre_tool_use(self, tool_name: str, tool_input: dict[str, Any], tool_use_id: str) -> HookOutcome:
        """Run PreToolUse hooks for a tool call about to run."""
        payload = {"tool_name": tool_name, "tool_input": tool_input, "tool_use_id": tool_use_id}
        return await self._run("PreToolUse", payload, tool_name)

    async def post_tool_use(
        self, tool_name: str, tool_input: dict[str, Any], tool_response: Any, tool_use_id: str
    ) -> HookOutcome:
        """Run PostToolUse hooks after a tool call finished."""
        payload = {
            "tool_name": tool_name,
            "tool_input": tool_input,
            "tool_response": tool_response,
            "tool_use_id": tool_use_id,
        }
        return await self._run("PostToolUse", payload, tool_name)

    async def user_prompt_submit(self, prompt: str) -> HookOutcome:
        """Run UserPromptSubmit hooks before a prompt reaches the model."""
        return await self._run("UserPromptSubmit", {"prompt": prompt}, None)

    async def stop(self, stop_hook_active: bool = False) -> HookOutcome:
        """Run Stop hooks when the model wants to end its turn."""
        return await self._run("Stop", {"stop_hook_active": stop_hook_active}, None)

    def commands_for(self, event: HookEvent, tool_name: str | None) -> list[HookCommand]:
        """The hook commands configured for an event (and tool name, for the tool events)."""
        found: list[HookCommand] = []
        for matcher in self.hooks.get(event, []):
            if tool_name is not None and matcher.matcher not in ("", "*"):
                try:
                    if re.fullmatch(matcher.matcher, tool_name) is None:
                        continue
                except re.error:
                    continue
            found.extend(h for h in matcher.hooks if h.command.strip())
        return found

    async def _run(self, event: HookEvent, extra: dict[str, Any], tool_name: str | None) -> HookOutcome:
        commands = self.commands_for(event, tool_name)
        outcome = HookOutcome()
        if not commands:
            return outcome
        payload = {
            "session_id": self.session_id,
            "transcript_path": self.transcript_path,
            "cwd": str(self.cwd),
            "hook_event_name": event,
            "permission_mode": self.permission_mode,
            **extra,
        }
        data = json.dumps(payload, default=str).encode()
        results = await asyncio.gather(*(self._run_one(event, hook, data) for hook in commands))
        for result in results:
            outcome.merge(result)
        return outcome

    async def _run_one(self, event: HookEvent, hook: HookCommand, data: bytes) -> HookOutcome:
        env = child_env({"CLAUDE_PROJECT_DIR": str(self.cwd), "CLAW_PROJECT_DIR": str(self.cwd)})
        try:
            proc = await asyncio.create_subprocess_shell(
                hook.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.cwd,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            return HookOutcome(notes=[f"{event} hook `{hook.command}` could not start: {exc}"])
        REAPER.watch(proc.pid)
        try:
            stdout_b, stderr_b = await asyncio.wait_for(proc.communicate(data), timeout=hook.timeout)
        except TimeoutError:
            await _kill_group(proc)
            return HookOutcome(
                notes=[f"{event} hook `{hook.command}` timed out after {hook.timeout:g}s and was killed"]
            )
        except BaseException:
            await _kill_group(proc)
            raise
        finally:
            # The shell may have left background children in its group; they go with it.
            _signal_group(proc, signal.SIGKILL)
            REAPER.release(proc.pid)
        stdout = stdout_b.decode("utf-8", "replace")[:_OUTPUT_CAP]
        stderr = stderr_b.decode("utf-8", "replace")[:_OUTPUT_CAP].strip()
        code = proc.returncode
        if code == 2:
            reason = stderr or f"{event} hook `{hook.command}` exited with status 2"
            outcome = HookOutcome(blocked=True, reason=reason)
            if event == "PreToolUse":
                outcome.permission = "deny"
            return outcome
        if code != 0:
            detail = f": {stderr}" if stderr else ""
            return HookOutcome(notes=[f"{event} hook `{hook.command}` failed (exit {code}){detail}"])
        return _parse_success(event, stdout)


def _parse_success(event: HookEvent, stdout: str) -> HookOutcome:
    """Interpret a successful hook's stdout (JSON when it is JSON)."""
    text = stdout.strip()
    parsed: Any = None
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
    if not isinstance(parsed, dict):
        if event == "UserPromptSubmit" and text:
            return HookOutcome(additional_context=text)
        return HookOutcome()
    outcome = HookOutcome()
    reason = str(parsed.get("reason") or "")
    decision = parsed.get("decision")
    if decision == "block":
        outcome.blocked = True
        outcome.reason = reason or f"blocked by a {event} hook"
        if event == "PreToolUse":
            outcome.permission = "deny"
    elif decision == "approve" and event == "PreToolUse":
        outcome.permission = "allow"
    specific = parsed.get("hookSpecificOutput")
    if isinstance(specific, dict):
        permission = specific.get("permissionDecision")
        if event == "PreToolUse" and permission in ("allow", "deny", "ask"):
            outcome.permission = permission
            why = str(specific.get("permissionDecisionReason") or "")
            if permission == "deny":
                outcome.blocked = True
                outcome.reason = why or reason or "denied by a PreToolUse hook"
            elif why:
                outcome.notes.append(f"PreToolUse hook: {why}")
        context = specific.get("additionalContext")
        if isinstance(context, str) and context:
            outcome.additional_context = context
    if parsed.get("continue") is False:
        outcome.stop = True
        outcome.blocked = event in ("PreToolUse", "UserPromptSubmit")
        outcome.reason = str(parsed.get("stopReason") or reason or f"a {event} hook stopped the run")
    message = parsed.get("systemMessage")
    if isinstance(message, str) and message:
        outcome.notes.append(message)
    return outcome


def _signal_group(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """Kill the hook's whole process group and reap it."""
    _signal_group(proc, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        await asyncio.shield(proc.wait())
