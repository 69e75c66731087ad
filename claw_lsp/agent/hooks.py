"""Hooks: user commands run at Claude Code's hook events, with its JSON input and output.

Events run: SessionStart, SessionEnd, UserPromptSubmit, PreToolUse, PermissionRequest, PostToolUse,
PostToolUseFailure, Notification, PreCompact, Stop and SubagentStop. Each hook is a shell command
that gets one JSON object on stdin in Claude Code's shape (`session_id`, `transcript_path`, `cwd`,
`hook_event_name`, `permission_mode`, plus the event's own fields: `source`, `reason`, `prompt`,
`tool_name` / `tool_input` / `tool_use_id`, `tool_response`, `error` / `is_interrupt`,
`permission_suggestions`, `message` / `notification_type`, `trigger` / `custom_instructions`,
`stop_hook_active` / `last_assistant_message`, `agent_id` / `agent_type` / `agent_transcript_path`).
It runs in its own process group and is killed, group and all, on timeout or cancellation.

A matcher selects by the event's subject: the tool name for the tool events (a regex; empty or
`*` = all), the source for SessionStart (`startup|resume|clear|compact`), the reason for
SessionEnd, the trigger for PreCompact (`manual|auto`), the notification type for Notification,
the agent type for SubagentStop; UserPromptSubmit and Stop hooks always run.

Exit code 0: success, stdout parsed as JSON when it is JSON (plain stdout of UserPromptSubmit and
SessionStart is context for the model). Exit code 2: blocks where the event can block (PreToolUse,
PermissionRequest: deny; UserPromptSubmit: the prompt is dropped; Stop / SubagentStop: go on;
PostToolUse / PostToolUseFailure: stderr to the model; PreCompact: no compaction), stderr is the
reason; for SessionStart, SessionEnd and Notification it is only shown. Any other code: a
non-blocking error, noted. JSON output honoured: `{"decision": "block", "reason"}`,
`{"continue": false, "stopReason"}`, `systemMessage`, and `hookSpecificOutput`:
PreToolUse's `permissionDecision` (allow / deny / ask) with `permissionDecisionReason`,
`updatedInput` and `additionalContext` (and the legacy `{"decision": "approve" | "block"}`),
PermissionRequest's `decision` (`{"behavior": "allow", "updatedInput"}` or
`{"behavior": "deny", "message", "interrupt"}`), and `additionalContext` of UserPromptSubmit,
SessionStart, PostToolUse and PostToolUseFailure.
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

HookEvent = Literal[
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "PostToolUseFailure",
    "Notification",
    "UserPromptSubmit",
    "SessionStart",
    "SessionEnd",
    "Stop",
    "SubagentStop",
    "PreCompact",
]
HookPermission = Literal["allow", "deny", "ask"]
SessionStartSource = Literal["startup", "resume", "clear", "compact"]
# Claude Code's EXIT_REASONS.
SessionEndReason = Literal[
    "clear", "resume", "logout", "prompt_input_exit", "other", "bypass_permissions_disabled"
]
_OUTPUT_CAP = 10_000
_PERMISSION_ORDER: dict[str | None, int] = {None: 0, "allow": 1, "ask": 2, "deny": 3}
# Where exit code 2 blocks (elsewhere its stderr is only shown to the user).
_BLOCKING = frozenset(
    {
        "PreToolUse",
        "PermissionRequest",
        "PostToolUse",
        "PostToolUseFailure",
        "UserPromptSubmit",
        "Stop",
        "SubagentStop",
        "PreCompact",
    }
)
# Events whose plain (non-JSON) stdout is context for the model.
_PLAIN_CONTEXT = frozenset({"UserPromptSubmit", "SessionStart"})


@dataclass
class HookOutcome:
    """What the hooks of one event decided, combined.

    `blocked`: PreToolUse / PermissionRequest - do not run the tool; PostToolUse(Failure) - tell
    the model `reason`; UserPromptSubmit - drop the prompt; Stop / SubagentStop - do not stop,
    continue with `reason` for the model; PreCompact - do not compact.
    `stop`: a hook asked the whole run to end (`continue: false`, or PermissionRequest's
    `interrupt`), `reason` says why. `updated_input`: PreToolUse's or PermissionRequest's
    replacement for the tool's input.
    """

    blocked: bool = False
    reason: str = ""
    permission: HookPermission | None = None
    additional_context: str = ""
    stop: bool = False
    updated_input: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)  # non-blocking errors, timeouts, system messages

    def merge(self, other: HookOutcome) -> None:
        """Fold another hook's outcome into this one (deny > ask > allow; texts joined)."""
        self.blocked = self.blocked or other.blocked
        self.stop = self.stop or other.stop
        if _PERMISSION_ORDER[other.permission] > _PERMISSION_ORDER[self.permission]:
            self.permission = other.permission
        if other.updated_input is not None:
            self.updated_input = other.updated_input
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

    # -- session ---------------------------------------------------------------------------------

    async def session_start(self, source: SessionStartSource, model: str | None = None) -> HookOutcome:
        """Run SessionStart hooks (their stdout / additionalContext is context for the model)."""
        extra: dict[str, Any] = {"source": source}
        if model:
            extra["model"] = model
        return await self._run("SessionStart", extra, source)

    async def session_end(self, reason: SessionEndReason = "other") -> HookOutcome:
        """Run SessionEnd hooks (they cannot block)."""
        return await self._run("SessionEnd", {"reason": reason}, reason)

    async def user_prompt_submit(self, prompt: str) -> HookOutcome:
        """Run UserPromptSubmit hooks before a prompt reaches the model."""
        return await self._run("UserPromptSubmit", {"prompt": prompt}, None)

    # -- tools -----------------------------------------------------------------------------------

    async def pre_tool_use(self, tool_name: str, tool_input: dict[str, Any], tool_use_id: str) -> HookOutcome:
        """Run PreToolUse hooks for a tool call about to run."""
        payload = {"tool_name": tool_name, "tool_input": tool_input, "tool_use_id": tool_use_id}
        return await self._run("PreToolUse", payload, tool_name)

    async def permission_request(
        self,
        tool_name: str,
        tool_input: dict[str, Any],
        permission_suggestions: list[dict[str, Any]] | None = None,
    ) -> HookOutcome:
        """Run PermissionRequest hooks when the user is about to be asked about a tool call.

        `permission` is "allow" or "deny" when a hook answered for the user (None: ask).
        """
        payload: dict[str, Any] = {"tool_name": tool_name, "tool_input": tool_input}
        if permission_suggestions:
            payload["permission_suggestions"] = permission_suggestions
        return await self._run("PermissionRequest", payload, tool_name)

    async def post_tool_use(
        self, tool_name: str, tool_input: dict[str, Any], tool_response: Any, tool_use_id: str
    ) -> HookOutcome:
        """Run PostToolUse hooks after a tool call succeeded."""
        payload = {
            "tool_name": tool_name,
            "tool_input": tool_input,
            "tool_response": tool_response,
            "tool_use_id": tool_use_id,
        }
        return await self._run("PostToolUse", payload, tool_name)

    async def post_tool_use_failure(
        self,
        tool_name: str,
        tool_input: dict[str, Any],
        tool_use_id: str,
        error: str,
        *,
        is_interrupt: bool = False,
    ) -> HookOutcome:
        """Run PostToolUseFailure hooks after a tool call failed."""
        payload = {
            "tool_name": tool_name,
            "tool_input": tool_input,
            "tool_use_id": tool_use_id,
            "error": error,
            "is_interrupt": is_interrupt,
        }
        return await self._run("PostToolUseFailure", payload, tool_name)

    # -- the rest --------------------------------------------------------------------------------

    async def notification(
        self, message: str, notification_type: str, title: str | None = None
    ) -> HookOutcome:
        """Run Notification hooks (e.g. `permission_prompt` when a permission question is shown)."""
        payload: dict[str, Any] = {"message": message, "notification_type": notification_type}
        if title:
            payload["title"] = title
        return await self._run("Notification", payload, notification_type)

    async def pre_compact(
        self, trigger: Literal["manual", "auto"], custom_instructions: str | None
    ) -> HookOutcome:
        """Run PreCompact hooks before the conversation is compacted (`blocked`: do not compact)."""
        payload = {"trigger": trigger, "custom_instructions": custom_instructions or ""}
        return await self._run("PreCompact", payload, trigger)

    async def stop(
        self, stop_hook_active: bool = False, last_assistant_message: str | None = None
    ) -> HookOutcome:
        """Run Stop hooks when the model wants to end its turn."""
        payload: dict[str, Any] = {"stop_hook_active": stop_hook_active}
        if last_assistant_message is not None:
            payload["last_assistant_message"] = last_assistant_message
        return await self._run("Stop", payload, None)

    async def subagent_stop(
        self,
        *,
        agent_id: str,
        agent_type: str,
        agent_transcript_path: Path | str,
        stop_hook_active: bool = False,
        last_assistant_message: str | None = None,
    ) -> HookOutcome:
        """Run SubagentStop hooks when a subagent wants to end (`blocked`: it goes on with `reason`)."""
        payload: dict[str, Any] = {
            "stop_hook_active": stop_hook_active,
            "agent_id": agent_id,
            "agent_type": agent_type,
            "agent_transcript_path": str(agent_transcript_path),
        }
        if last_assistant_message is not None:
            payload["last_assistant_message"] = last_assistant_message
        return await self._run("SubagentStop", payload, agent_type)

    def has(self, event: HookEvent) -> bool:
        """True when some hook is configured for the event."""
        return any(m.hooks for m in self.hooks.get(event, []))

    def commands_for(self, event: HookEvent, subject: str | None) -> list[HookCommand]:
        """The hook commands configured for an event whose matchers match `subject` (the tool
        name, source, reason, trigger, notification or agent type; None: every matcher)."""
        found: list[HookCommand] = []
        for matcher in self.hooks.get(event, []):
            if subject is not None and matcher.matcher not in ("", "*"):
                try:
                    if re.fullmatch(matcher.matcher, subject) is None:
                        continue
                except re.error:
                    continue
            found.extend(h for h in matcher.hooks if h.command.strip())
        return found

    def payload(self, event: HookEvent, extra: dict[str, Any]) -> dict[str, Any]:
        """A hook's input: the fields every event has (Claude Code's), then the event's own."""
        return {
            "session_id": self.session_id,
            "transcript_path": self.transcript_path,
            "cwd": str(self.cwd),
            "hook_event_name": event,
            "permission_mode": self.permission_mode,
            **extra,
        }

    async def _run(self, event: HookEvent, extra: dict[str, Any], subject: str | None) -> HookOutcome:
        commands = self.commands_for(event, subject)
        outcome = HookOutcome()
        if not commands:
            return outcome
        data = json.dumps(self.payload(event, extra), default=str).encode()
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
            if event not in _BLOCKING:
                return HookOutcome(notes=[f"{event} hook: {reason}"])
            outcome = HookOutcome(blocked=True, reason=reason)
            if event in ("PreToolUse", "PermissionRequest"):
                outcome.permission = "deny"
            return outcome
        if code != 0:
            detail = f": {stderr}" if stderr else ""
            return HookOutcome(notes=[f"{event} hook `{hook.command}` failed (exit {code}){detail}"])
        return parse_success(event, stdout)


def parse_success(event: HookEvent, stdout: str) -> HookOutcome:
    """Interpret a successful hook's stdout (JSON when it is JSON)."""
    text = stdout.strip()
    parsed: Any = None
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
    if not isinstance(parsed, dict):
        if event in _PLAIN_CONTEXT and text:
            return HookOutcome(additional_context=text)
        return HookOutcome()
    outcome = HookOutcome()
    reason = str(parsed.get("reason") or "")
    decision = parsed.get("decision")
    if decision == "block" and event in _BLOCKING:
        outcome.blocked = True
        outcome.reason = reason or f"blocked by a {event} hook"
        if event in ("PreToolUse", "PermissionRequest"):
            outcome.permission = "deny"
    elif decision == "approve" and event == "PreToolUse":
        outcome.permission = "allow"
    specific = parsed.get("hookSpecificOutput")
    if isinstance(specific, dict) and specific.get("hookEventName", event) == event:
        if event == "PreToolUse":
            _pre_tool_use_output(specific, reason, outcome)
        elif event == "PermissionRequest":
            _permission_request_output(specific, outcome)
        context = specific.get("additionalContext")
        if isinstance(context, str) and context:
            outcome.additional_context = context
    if parsed.get("continue") is False:
        outcome.stop = True
        outcome.blocked = event in ("PreToolUse", "PermissionRequest", "UserPromptSubmit")
        outcome.reason = str(parsed.get("stopReason") or reason or f"a {event} hook stopped the run")
    message = parsed.get("systemMessage")
    if isinstance(message, str) and message:
        outcome.notes.append(message)
    return outcome


def _pre_tool_use_output(specific: dict[str, Any], reason: str, outcome: HookOutcome) -> None:
    """PreToolUse's permissionDecision (+ reason) and updatedInput."""
    permission = specific.get("permissionDecision")
    if permission in ("allow", "deny", "ask"):
        outcome.permission = permission
        why = str(specific.get("permissionDecisionReason") or "")
        if permission == "deny":
            outcome.blocked = True
            outcome.reason = why or reason or "denied by a PreToolUse hook"
        elif why:
            outcome.reason = why
            outcome.notes.append(f"PreToolUse hook: {why}")
    updated = specific.get("updatedInput")
    if isinstance(updated, dict):
        outcome.updated_input = updated


def _permission_request_output(specific: dict[str, Any], outcome: HookOutcome) -> None:
    """PermissionRequest's `decision`: allow (with updatedInput) or deny (message, interrupt)."""
    decision = specific.get("decision")
    if not isinstance(decision, dict):
        return
    behavior = decision.get("behavior")
    if behavior == "allow":
        outcome.permission = "allow"
        updated = decision.get("updatedInput")
        if isinstance(updated, dict):
            outcome.updated_input = updated
    elif behavior == "deny":
        outcome.permission = "deny"
        outcome.blocked = True
        outcome.reason = str(decision.get("message") or "denied by a PermissionRequest hook")
        if decision.get("interrupt") is True:
            outcome.stop = True


def _signal_group(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """Kill the hook's whole process group and reap it."""
    _signal_group(proc, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        await asyncio.shield(proc.wait())
