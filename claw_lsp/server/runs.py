"""The run manager: agent runs as tracked background tasks, made visible and interactive over LSP.

- events -> `$/progress` (cancellable; the current step from tool titles; a one-line result),
  `claw/event` (ACP session updates, for clients that declared it), `window/logMessage`,
  `window/showMessage` (errors, once per run), `window/showDocument` (edited files, no focus);
- permissions -> `LspPrompter`: `claw/permission` when declared, else `window/showMessageRequest`;
- diagnostics -> `LspDiagnostics`: `claw/diagnostics` when declared, else the diagnostics the
  client sent in code action contexts; the diagnostics loop reports new errors in edited files;
- before `Bash`: ask the shim to save the files the agent changed (`claw/saveDocuments`), or tell
  the model which of them are still unsaved;
- MCP servers start at the first run (once; again when `mcpServers` changes) and stop at shutdown.

One run per session at a time; runs on different sessions go on side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pydantic import BaseModel
from pygls.uris import from_fs_path, to_fs_path

from claw_lsp.core.events import (
    Notice,
    PlanUpdated,
    RunFinished,
    TextDelta,
    ThoughtDelta,
    ToolCallStarted,
    ToolCallUpdated,
    UsageUpdated,
)
from claw_lsp.core.messages import Usage
from claw_lsp.core.permissions import PermissionAnswer, PermissionRequest
from claw_lsp.core.tools import EDIT_KINDS, edits_files, runs_commands
from claw_lsp.server.actions import comment_removal
from claw_lsp.server.protocol import (
    METHOD_DIAGNOSTICS,
    METHOD_EVENT,
    METHOD_PERMISSION,
    DiagnosticsResult,
    InstructionRef,
    PermissionResult,
    UrisParams,
)

if TYPE_CHECKING:
    from claw_lsp.agent.loop import Agent, Run
    from claw_lsp.agent.session import Session, SessionStore
    from claw_lsp.core.files import ApplyResult, FileChange
    from claw_lsp.core.tools import SessionState, Tool
    from claw_lsp.server.app import ClawLanguageServer
    from claw_lsp.server.applier import LspApplier
    from claw_lsp.server.review import Reviewer
    from claw_lsp.tools.mcp import McpManager

SETTLE_QUIET_S = 0.5  # diagnostics count as settled when unchanged this long
SETTLE_POLL_S = 0.1
SETTLE_LIMIT_S = 4.0  # never wait longer than this for diagnostics to settle
REQUEST_TIMEOUT_S = 5.0  # for quick client requests (progress create, diagnostics, save)
MAX_REPORTED_ERRORS = 20


class SessionBusy(Exception):
    """A run asked for a session that is running another one."""


def uri_of(path: Path) -> str:
    """The file URI of a path."""
    return from_fs_path(str(path)) or path.as_uri()


def path_of(uri: str) -> Path | None:
    """The path of a file URI (None for other schemes)."""
    path = to_fs_path(uri)
    return Path(path) if path else None


def _diagnostic_key(diagnostic: dict[str, Any]) -> tuple[str, str, str]:
    """What identifies a diagnostic across edits (its range moves as lines shift)."""
    return (
        str(diagnostic.get("message", "")),
        str(diagnostic.get("source", "")),
        str(diagnostic.get("code", "")),
    )


def _lines_overlap(diagnostic: dict[str, Any], start: int, end: int) -> bool:
    rng = diagnostic.get("range") or {}
    first = int((rng.get("start") or {}).get("line", -1))
    last = int((rng.get("end") or {}).get("line", first))
    return first <= end and last >= start


class DiagnosticsCache:
    """The diagnostics generic clients send in code action contexts, per URI.

    A code action request carries the diagnostics overlapping its range, so each request replaces
    the cached diagnostics on those lines and keeps the rest.
    """

    def __init__(self) -> None:
        self._by_uri: dict[str, list[dict[str, Any]]] = {}

    def record(self, uri: str, range_: types.Range, diagnostics: Any, converter: Any = None) -> None:
        """Store the diagnostics a code action request carried for `range_`."""
        fresh = [d if isinstance(d, dict) else _unstructure(d, converter) for d in diagnostics]
        start, end = range_.start.line, range_.end.line
        kept = [d for d in self._by_uri.get(uri, []) if not _lines_overlap(d, start, end)]
        self._by_uri[uri] = kept + fresh

    def get(self, uri: str) -> list[dict[str, Any]]:
        """The latest known diagnostics of a file."""
        return list(self._by_uri.get(uri, []))

    def uris(self) -> list[str]:
        """Every file with known diagnostics."""
        return list(self._by_uri)

    def forget(self, uri: str) -> None:
        """Drop a closed file's diagnostics."""
        self._by_uri.pop(uri, None)


def _unstructure(value: Any, converter: Any) -> dict[str, Any]:
    if converter is not None:
        data = converter.unstructure(value)
        if isinstance(data, dict):
            return data
    from lsprotocol.converters import get_converter

    result: dict[str, Any] = get_converter().unstructure(value)
    return result


class LspDiagnostics:
    """The editor's diagnostics: `claw/diagnostics` when the shim declared it, else the cache."""

    def __init__(self, ls: ClawLanguageServer) -> None:
        self.ls = ls

    async def diagnostics(self, paths: list[Path] | None) -> dict[Path, list[dict[str, Any]]]:
        """Current diagnostics per file (all known files when `paths` is None)."""
        ls = self.ls
        if paths is None:
            uris = sorted(set(ls.diagnostics_cache.uris()) | set(ls.workspace.text_documents))
        else:
            uris = [uri_of(p) for p in paths]
        by_uri: dict[str, list[dict[str, Any]]] = {}
        if ls.client_features.diagnostics:
            try:
                raw = await asyncio.wait_for(
                    ls.protocol.send_request_async(
                        METHOD_DIAGNOSTICS, UrisParams(uris=uris).model_dump(mode="json")
                    ),
                    REQUEST_TIMEOUT_S,
                )
                result = DiagnosticsResult.model_validate(plain_json(raw) or {})
                by_uri = {item.uri: item.diagnostics for item in result.items}
            except Exception as exc:
                ls.log(f"Claw: claw/diagnostics failed: {exc!r}", types.MessageType.Warning)
                by_uri = {}
        if not by_uri:
            by_uri = {uri: ls.diagnostics_cache.get(uri) for uri in uris}
        out: dict[Path, list[dict[str, Any]]] = {}
        for uri, items in by_uri.items():
            path = path_of(uri)
            if path is not None and (paths is None or items or uri in uris):
                out[path] = items
        return out


def plain_json(value: Any) -> Any:
    """A client's answer as plain JSON values (pygls may hand back attrs-like objects)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "_asdict"):  # pygls hands custom results over as namedtuples
        return {k: plain_json(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if hasattr(value, "__dict__"):
        return {k: plain_json(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value


def new_errors(
    before: dict[Path, list[dict[str, Any]]], after: dict[Path, list[dict[str, Any]]]
) -> dict[Path, list[dict[str, Any]]]:
    """Errors (severity 1 or unset) in `after` that were not in `before`, per file."""
    found: dict[Path, list[dict[str, Any]]] = {}
    for path, items in after.items():
        seen = Counter(_diagnostic_key(d) for d in before.get(path, []))
        for diagnostic in items:
            if diagnostic.get("severity", 1) not in (1, None):
                continue
            key = _diagnostic_key(diagnostic)
            if seen[key] > 0:
                seen[key] -= 1
                continue
            found.setdefault(path, []).append(diagnostic)
    return found


def describe_errors(errors: dict[Path, list[dict[str, Any]]], relative: Any) -> str:
    """The neutral note the model reads about new errors."""
    lines = ["The editor reports these errors in files you changed:"]
    count = 0
    for path, items in sorted(errors.items()):
        for diagnostic in items:
            count += 1
            if count > MAX_REPORTED_ERRORS:
                continue
            line = int(((diagnostic.get("range") or {}).get("start") or {}).get("line", 0)) + 1
            source = f" [{diagnostic['source']}]" if diagnostic.get("source") else ""
            message = str(diagnostic.get("message", "")).strip().replace("\n", " ")
            lines.append(f"- {relative(path)}:{line}: {message}{source}")
    if count > MAX_REPORTED_ERRORS:
        lines.append(f"- ... and {count - MAX_REPORTED_ERRORS} more")
    return "\n".join(lines)


class LspPrompter:
    """Asks permission through `claw/permission` when declared, else `window/showMessageRequest`."""

    def __init__(self, ls: ClawLanguageServer, slot: SessionSlot) -> None:
        self.ls = ls
        self.slot = slot

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        """Ask the user whether a tool call may run, showing the exact command or path."""
        if request.reviewable:
            # The applier shows the concrete change for review before anything lands (or applies
            # it directly in acceptEdits mode): asking here too would ask twice about one edit.
            return PermissionAnswer("allow_once")
        handle = self.slot.current
        if handle is not None:
            handle.set_step(f"Waiting for your permission: {request.title}")
        try:
            if self.ls.client_features.permission:
                return await self._ask_custom(request)
            return await self._ask_standard(request)
        finally:
            if handle is not None:
                handle.set_step(request.title)

    async def _ask_custom(self, request: PermissionRequest) -> PermissionAnswer:
        rule = request.suggested_rule
        options = [
            {"optionId": "allow_once", "name": "Allow once", "kind": "allow_once"},
            {
                "optionId": "allow_always",
                "name": f"Always allow {rule}" if rule else "Always allow",
                "kind": "allow_always",
            },
            {"optionId": "reject_once", "name": "Reject", "kind": "reject_once"},
            {
                "optionId": "reject_always",
                "name": f"Always reject {rule}" if rule else "Always reject",
                "kind": "reject_always",
            },
        ]
        params = {
            "runId": self.slot.current.run.id if self.slot.current else "",
            "toolCall": {
                "toolCallId": request.tool_call_id,
                "title": request.title,
                "kind": request.kind,
                "rawInput": request.input,
            },
            "subject": request.subject,
            "options": options,
        }
        raw = await self.ls.protocol.send_request_async(METHOD_PERMISSION, params)
        try:
            result = PermissionResult.model_validate(plain_json(raw) or {})
        except ValueError:
            return PermissionAnswer("reject_once", feedback="The editor sent an unreadable answer.")
        if result.outcome.outcome != "selected" or result.outcome.optionId not in {
            "allow_once",
            "allow_always",
            "reject_once",
            "reject_always",
        }:
            return PermissionAnswer("reject_once", feedback=result.feedback or "")
        kind = result.outcome.optionId
        if kind in ("allow_always", "reject_always") and not rule:
            kind = "allow_once" if kind == "allow_always" else "reject_once"
        return PermissionAnswer(kind, feedback=result.feedback or "")  # type: ignore[arg-type]

    async def _ask_standard(self, request: PermissionRequest) -> PermissionAnswer:
        rule = request.suggested_rule
        always = f"Always allow {rule}" if rule else None
        titles = ["Allow once", *([always] if always else []), "Deny"]
        subject = request.subject or request.title
        message = f"Claw wants to run {request.tool_name}: {subject}"
        if request.title and request.title not in message:
            message += f"\n({request.title})"
        answer = await self.ls.window_show_message_request_async(
            types.ShowMessageRequestParams(
                type=types.MessageType.Warning,
                message=message,
                actions=[types.MessageActionItem(title=t) for t in titles],
            )
        )
        chosen = answer.title if answer is not None else None
        if chosen == "Allow once":
            return PermissionAnswer("allow_once")
        if always is not None and chosen == always:
            return PermissionAnswer("allow_always")
        reason = "dismissed the question" if chosen is None else "chose Deny"
        return PermissionAnswer("reject_once", feedback=f"(the user {reason})")


class SlotApplier:
    """The ChangeApplier a session's agent holds: it hands each change to the current run's."""

    def __init__(self, slot: SessionSlot) -> None:
        self.slot = slot

    async def apply(self, change: FileChange) -> ApplyResult:
        """Apply through the running run's LspApplier."""
        handle = self.slot.current
        if handle is None or handle.applier is None:
            from claw_lsp.core.files import ApplyResult

            return ApplyResult(applied=False, message="Not applied: no run is active on this session.")
        return await handle.applier.apply(change)


@dataclass
class SessionSlot:
    """One session the server works on: its agent, per-session tool state and current run."""

    session: Session
    state: SessionState
    agent: Agent | None = None
    generation: int = -1
    current: RunHandle | None = None

    @property
    def busy(self) -> bool:
        """True while a run on this session has not finished."""
        return self.current is not None and not self.current.finished


@dataclass
class RunHandle:
    """A run as the server tracks it: progress token, visible step, files shown, outcome."""

    manager: RunManager
    run: Run
    slot: SessionSlot
    summary: str
    instruction: tuple[str, InstructionRef] | None = None
    token: str | None = None
    progress_began: bool = False
    step: str = "Thinking…"
    finished: bool = False
    error_shown: bool = False
    applier: LspApplier | None = None
    reviewer: Reviewer | None = None
    tool_kinds: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    edited: set[Path] = field(default_factory=set)
    baseline: dict[Path, list[dict[str, Any]]] = field(default_factory=dict)
    result: RunFinished | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def ls(self) -> ClawLanguageServer:
        """The server."""
        return self.manager.ls

    def set_step(self, step: str) -> None:
        """Show `step` as the run's current progress message."""
        if step == self.step:
            return
        self.step = step
        if self.progress_began and self.token is not None and not self.finished:
            self.ls.work_done_progress.report(self.token, types.WorkDoneProgressReport(message=step))

    # -- event handling ----------------------------------------------------------------------------

    def on_event(self, event: BaseModel) -> None:
        """Turn one agent event into LSP traffic (synchronously: notifications only)."""
        if isinstance(event, ToolCallStarted):
            self.tool_kinds[event.tool_call_id] = (event.kind, list(event.locations))
            self.set_step(event.title)
        elif isinstance(event, ToolCallUpdated):
            if event.title:
                self.set_step(event.title)
            kind, locations = self.tool_kinds.get(event.tool_call_id, ("other", []))
            if event.status == "completed" and kind in EDIT_KINDS:
                self.edited.update(Path(p) for p in locations)
        elif isinstance(event, TextDelta) and self.step != "Answering":
            self.set_step("Answering")
        elif isinstance(event, Notice):
            level = {"error": types.MessageType.Error, "warning": types.MessageType.Warning}.get(
                event.level, types.MessageType.Info
            )
            self.ls.log(f"Claw [{self.run.id}]: {event.message}", level)
        self._notify(event)

    def _notify(self, event: BaseModel) -> None:
        if not self.ls.client_features.event:
            return
        update = acp_update(event, self.run.agent.model.context_window)
        if update is not None:
            self.ls.protocol.notify(
                METHOD_EVENT, {"runId": self.run.id, "sessionId": self.run.session_id, "update": update}
            )

    # -- lifecycle ---------------------------------------------------------------------------------

    async def begin_progress(self) -> None:
        """Create and begin the run's cancellable progress (only if the client supports it)."""
        ls = self.ls
        if not ls.client_info.work_done_progress:
            return
        token = f"claw-{self.run.id}"
        try:
            await asyncio.wait_for(ls.work_done_progress.create_async(token), REQUEST_TIMEOUT_S)
        except Exception as exc:
            ls.log(f"Claw: could not create progress: {exc!r}", types.MessageType.Warning)
            return
        if self.finished:
            ls.work_done_progress.tokens.pop(token, None)
            return
        self.token = token
        ls.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(title="Claw", message=self.summary, cancellable=True),
        )
        self.progress_began = True
        if self.step != "Thinking…":
            ls.work_done_progress.report(token, types.WorkDoneProgressReport(message=self.step))

    def progress_cancelled(self) -> None:
        """The user cancelled the run's progress in the editor."""
        if not self.finished:
            self.ls.log(f"Claw: run {self.run.id} cancelled from its progress", types.MessageType.Info)
            self.run.cancel("cancelled from the editor's progress")

    async def drive(self) -> None:
        """Show progress, then begin the run (so every step is visible), wait, finish visibly."""
        try:
            await self.begin_progress()
        finally:
            self.run.begin()
        result = await self.run.wait()
        await self.finish(result)

    async def finish(self, result: RunFinished) -> None:
        """Remove a leftover instruction comment; end progress with a one-line result; report errors."""
        self.result = result
        if self.instruction is not None and result.stop_reason == "end_turn" and self.edited:
            # Before the run counts as finished, so a next run starts from the text without it.
            try:
                await self.manager.remove_instruction(self, *self.instruction)
            except Exception as exc:  # the run's outcome stands; the comment stays for the user
                message = f"Claw: removing the instruction comment failed: {exc!r}"
                self.ls.log(message, types.MessageType.Warning)
        self.finished = True
        self.manager.totals.add(result)
        line = one_line_result(result)
        if self.token is not None:
            if self.progress_began:
                self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=line))
            self.ls.work_done_progress.tokens.pop(self.token, None)
        self.ls.log(f"Claw [{self.run.id}] {result.stop_reason}: {line}")
        if result.error and not self.error_shown:
            self.error_shown = True
            self.ls.show(f"Claw: {result.error.splitlines()[0]}", types.MessageType.Error)
            self.ls.log(f"Claw [{self.run.id}] error: {result.error}", types.MessageType.Error)


def one_line_result(result: RunFinished) -> str:
    """The run's outcome in one short line, for the end of its progress."""
    if result.stop_reason == "end_turn":
        text = result.result.strip().splitlines()[0] if result.result.strip() else "Done"
        return text if len(text) <= 100 else text[:99] + "…"
    if result.stop_reason == "cancelled":
        return "Cancelled"
    if result.stop_reason == "error":
        return f"Failed: {(result.error or 'error').splitlines()[0]}"
    return {
        "max_turns": "Stopped: turn limit reached",
        "budget": "Stopped: budget reached",
        "refusal": "The model refused",
        "max_tokens": "Stopped: output token limit reached",
    }.get(result.stop_reason, result.stop_reason)


def acp_update(event: BaseModel, context_window: int) -> dict[str, Any] | None:
    """The Agent Client Protocol session update for an event (None: not sent)."""
    if isinstance(event, TextDelta):
        return {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": event.text}}
    if isinstance(event, ThoughtDelta):
        return {"sessionUpdate": "agent_thought_chunk", "content": {"type": "text", "text": event.text}}
    if isinstance(event, ToolCallStarted):
        return {
            "sessionUpdate": "tool_call",
            "toolCallId": event.tool_call_id,
            "title": event.title,
            "kind": event.kind,
            "status": "pending",
            "rawInput": event.input,
            "locations": [{"path": p} for p in event.locations],
        }
    if isinstance(event, ToolCallUpdated):
        update: dict[str, Any] = {
            "sessionUpdate": "tool_call_update",
            "toolCallId": event.tool_call_id,
            "status": event.status,
        }
        if event.title:
            update["title"] = event.title
        if event.output is not None:
            update["content"] = [{"type": "content", "content": {"type": "text", "text": event.output}}]
        return update
    if isinstance(event, PlanUpdated):
        return {
            "sessionUpdate": "plan",
            "entries": [
                {"content": e.content, "priority": "medium", "status": e.status} for e in event.entries
            ],
        }
    if isinstance(event, UsageUpdated):
        return {
            "sessionUpdate": "usage",
            "used": event.context_tokens or event.total.context_tokens,
            "size": context_window,
            "cost": {"amount": event.cost_usd, "currency": "USD"},
        }
    if isinstance(event, RunFinished):
        update = {
            "sessionUpdate": "run_finished",
            "stopReason": event.stop_reason,
            "result": event.result,
            "usage": event.usage.model_dump(mode="json"),
            "costUsd": event.cost_usd,
        }
        if event.error:
            update["error"] = event.error
        return update
    return None


@dataclass
class Totals:
    """Usage and cost of every run this server finished."""

    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0

    def add(self, result: RunFinished) -> None:
        """Count a finished run."""
        self.usage = self.usage + result.usage
        self.cost_usd += result.cost_usd


class RunManager:
    """Starts runs on sessions, tracks them, cancels them."""

    def __init__(self, ls: ClawLanguageServer) -> None:
        self.ls = ls
        self.slots: dict[str, SessionSlot] = {}
        self.runs: dict[str, RunHandle] = {}
        self.active_session_id: str | None = None
        self.totals = Totals()
        self._store: SessionStore | None = None
        self.mcp: McpManager | None = None
        self._mcp_lock = asyncio.Lock()

    @property
    def store(self) -> SessionStore:
        """The session store of the workspace root."""
        from claw_lsp.agent.session import SessionStore

        if self._store is None or self._store.workspace_root != self.ls.root.resolve():
            self._store = SessionStore(self.ls.root)
        return self._store

    def provider_and_model(self) -> tuple[str, str]:
        """The provider and model name new sessions are recorded with."""
        from claw_lsp.compose import resolve_provider

        provider, model = resolve_provider(self.ls.settings)
        warmup = self.ls.warmup
        warmed = warmup is not None and warmup.done() and not warmup.cancelled() and not warmup.exception()
        if model is None and provider == "anthropic" and warmed and warmup is not None:
            model = warmup.result()
        return provider, model or "default"

    # -- sessions ----------------------------------------------------------------------------------

    async def new_session(self, title: str | None = None) -> SessionSlot:
        """Create a session (it becomes the active one)."""
        from claw_lsp.core.tools import SessionState

        provider, model = self.provider_and_model()
        session = await asyncio.to_thread(self.store.create, model=model, provider=provider, title=title)
        slot = SessionSlot(session=session, state=SessionState())
        self.slots[session.id] = slot
        self.active_session_id = session.id
        return slot

    async def open_session(self, session_id: str) -> SessionSlot:
        """The slot of a stored session (opened on first use); raises SessionNotFound."""
        from claw_lsp.core.tools import SessionState

        for slot in self.slots.values():
            if slot.session.id == session_id:
                return slot
        session = await asyncio.to_thread(self.store.open, session_id)
        if session.id in self.slots:
            return self.slots[session.id]
        slot = SessionSlot(session=session, state=SessionState())
        self.slots[session.id] = slot
        return slot

    async def slot_for(self, session_id: str | None, title: str) -> SessionSlot:
        """The session a new run goes to: the named one (must be idle), else the active one if
        idle, else a fresh session."""
        if session_id:
            slot = await self.open_session(session_id)
            if slot.busy:
                assert slot.current is not None
                raise SessionBusy(
                    f"Session {slot.session.id} is busy with run {slot.current.run.id}: "
                    "cancel it (claw.cancel) or ask without a sessionId to use a new session."
                )
            return slot
        if self.active_session_id in self.slots and not self.slots[self.active_session_id].busy:
            return self.slots[self.active_session_id]
        if self.active_session_id is not None and self.active_session_id not in self.slots:
            with contextlib.suppress(Exception):
                slot = await self.open_session(self.active_session_id)
                if not slot.busy:
                    return slot
        active = self.active_session_id
        slot = await self.new_session(title)
        if active is not None:
            self.active_session_id = active  # a busy active session stays the active one
        return slot

    # -- runs --------------------------------------------------------------------------------------

    async def _agent(self, slot: SessionSlot) -> Agent:
        """The slot's agent, rebuilt when the settings changed."""
        if slot.agent is not None and slot.generation == self.ls.settings_generation:
            return slot.agent
        from claw_lsp.agent.loop import AgentHooks
        from claw_lsp.compose import build_agent

        ls = self.ls
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ls.settings_ready.wait(), REQUEST_TIMEOUT_S * 2)
        if ls.warmup is not None:
            await asyncio.wait([ls.warmup])
        extra_tools = await self.mcp_tools()
        hooks = AgentHooks(
            before_tool=lambda tool, locations: self.before_tool(slot, tool, locations),
            after_edits=lambda paths: self.after_edits(slot, paths),
        )
        agent = await asyncio.to_thread(
            build_agent,
            root=ls.root,
            folders=ls.folders,
            settings=ls.settings,
            session=slot.session,
            prompter=LspPrompter(ls, slot),
            buffers=ls.tracker,
            applier=SlotApplier(slot),
            diagnostics=LspDiagnostics(ls),
            state=slot.state,
            hooks=hooks,
            extra_tools=extra_tools,
        )
        slot.agent = agent
        slot.generation = ls.settings_generation
        return agent

    async def mcp_tools(self) -> list[Tool]:
        """The MCP servers' tools: servers start once (warnings shown once) and restart only when
        `mcpServers` changed and no run is using them."""
        from claw_lsp.tools.mcp import McpManager

        settings = self.ls.settings
        async with self._mcp_lock:
            if self.mcp is not None and self.mcp.servers != settings.mcpServers and not self.running():
                await self.mcp.aclose()
                self.mcp = None
                self.ls.settings_generation += 1  # agents built on the old servers' tools rebuild
            if self.mcp is None:
                self.mcp = McpManager.from_settings(settings, self.ls.root)
                for warning in await self.mcp.start():
                    self.ls.show(f"Claw: {warning}", types.MessageType.Warning)
                    self.ls.log(f"Claw: {warning}", types.MessageType.Warning)
            self.mcp.tool_timeout = settings.mcpToolTimeoutMs / 1000
            return list(self.mcp.tools)

    async def start(
        self,
        prompt: str,
        context: str | None,
        session_id: str | None = None,
        instruction: tuple[str, InstructionRef] | None = None,
    ) -> RunHandle:
        """Start a run and return at once; it goes on as a tracked task."""
        slot = await self.slot_for(session_id, prompt)
        agent = await self._agent(slot)
        if slot.busy:
            raise SessionBusy(f"Session {slot.session.id} is busy.")
        run = agent.start(prompt, context, deferred=True)
        summary = prompt.strip().splitlines()[0] if prompt.strip() else "Claw"
        handle = RunHandle(
            manager=self,
            run=run,
            slot=slot,
            summary=summary if len(summary) <= 80 else summary[:79] + "…",
            instruction=instruction,
        )
        self._attach_applier(handle)
        run.subscribe(handle.on_event)
        slot.current = handle
        self.runs[run.id] = handle
        if self.active_session_id is None:
            self.active_session_id = slot.session.id
        self.ls.spawn(handle.drive(), name=f"claw-run-{run.id}")
        return handle

    def _attach_applier(self, handle: RunHandle) -> None:
        """Give the run its own reviewer and applier (their prompts name the run)."""
        from claw_lsp.server.applier import LspApplier
        from claw_lsp.server.review import Reviewer

        ls = self.ls
        handle.reviewer = Reviewer(
            ls, ls.client_info, lambda: ls.settings.permissionMode, handle.run.id, on_step=handle.set_step
        )
        handle.applier = LspApplier(
            ls,
            ls.tracker,
            ls.client_info,
            handle.reviewer,
            handle.run.id,
            f"Claw: {handle.summary}",
            on_step=handle.set_step,
        )

    def running(self) -> list[RunHandle]:
        """Runs not yet finished."""
        return [h for h in self.runs.values() if not h.finished]

    def cancel(self, run_id: str | None = None) -> list[str]:
        """Cancel one run (or every run); the ids of the runs asked to stop."""
        handles = self.running() if run_id is None else [h for h in self.running() if h.run.id == run_id]
        for handle in handles:
            handle.run.cancel()
        return [h.run.id for h in handles]

    async def shutdown(self) -> None:
        """Cancel every run and wait (bounded) for them to stop and kill their processes."""
        handles = self.running()
        for handle in handles:
            handle.run.cancel("the editor is shutting down")
        if handles:
            await asyncio.wait([asyncio.ensure_future(h.run.wait()) for h in handles], timeout=3)
        if self.mcp is not None:
            mcp, self.mcp = self.mcp, None
            await asyncio.wait([asyncio.ensure_future(mcp.aclose())], timeout=5)

    # -- hooks into the loop -----------------------------------------------------------------------

    async def before_tool(self, slot: SessionSlot, tool: Tool, locations: list[Path]) -> str | None:
        """Baseline diagnostics before a tool edits files; before a tool runs commands, save (or
        list unsaved) the files the run changed."""
        handle = slot.current
        if edits_files(tool) and handle is not None:
            fresh = [p for p in locations if p not in handle.baseline]
            if fresh:
                found = await LspDiagnostics(self.ls).diagnostics(fresh)
                for path in fresh:
                    handle.baseline[path] = found.get(path, [])
            return None
        if not runs_commands(tool):
            return None
        return await self.save_touched(slot)

    async def save_touched(self, slot: SessionSlot) -> str | None:
        """Save the open files this run changed (only theirs); name those left unsaved for the model."""
        handle = slot.current
        if handle is None or handle.applier is None:
            return None
        try:
            unsaved, held = await asyncio.wait_for(handle.applier.save_documents(), REQUEST_TIMEOUT_S)
        except TimeoutError:
            unsaved, held = handle.applier.changed_buffers(), []
        notes = []
        if unsaved:
            names = ", ".join(self.ls.relative(p) for p in unsaved)
            notes.append(
                "Note: these files have unsaved changes in the editor, so the command saw their "
                f"previous contents on disk: {names}"
            )
        if held:
            names = ", ".join(self.ls.relative(p) for p in held)
            notes.append(
                "Note: these files also hold the user's own unsaved edits, so they were not saved and "
                f"the command saw their previous contents on disk: {names}"
            )
        return "\n".join(notes) or None

    async def after_edits(self, slot: SessionSlot, paths: set[Path]) -> str | None:
        """Wait for the editor's diagnostics on `paths` to settle; describe new errors."""
        handle = slot.current
        source = LspDiagnostics(self.ls)
        wanted = sorted(paths)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_LIMIT_S
        last = await source.diagnostics(wanted)
        quiet_since = loop.time()
        while loop.time() < deadline and loop.time() - quiet_since < SETTLE_QUIET_S:
            await asyncio.sleep(SETTLE_POLL_S)
            current = await source.diagnostics(wanted)
            if current != last:
                last, quiet_since = current, loop.time()
        baseline = handle.baseline if handle is not None else {}
        errors = new_errors(baseline, last)
        if handle is not None:
            # What the model has been told about becomes the new baseline.
            for path in wanted:
                handle.baseline[path] = last.get(path, [])
        if not errors:
            return None
        return describe_errors(errors, self.ls.relative)

    # -- instruction comments ----------------------------------------------------------------------

    async def remove_instruction(self, handle: RunHandle, uri: str, ref: InstructionRef) -> None:
        """Remove an instruction comment the run left in place, through the run's applier."""
        from claw_lsp.core.files import FileChange, FileSnapshot
        from claw_lsp.server.textedit import split_lines

        document = self.ls.tracker.get(uri)
        path = path_of(uri)
        if document is None or path is None or handle.applier is None:
            return
        text = document.text
        lines = split_lines(text)
        candidates = [i for i, line in enumerate(lines) if ref.comment in line]
        if not candidates:
            return
        number = min(candidates, key=lambda i: abs(i - ref.line))
        line_start = sum(len(line) for line in lines[:number])
        raw = lines[number]
        body = raw.rstrip("\r\n")
        where = comment_removal(body, ref.comment)
        if where is None:
            return
        start, end, whole = where
        if whole:
            start, end = line_start, line_start + len(raw)
            if raw == body and number > 0:  # last line without a newline: take the one before
                previous = lines[number - 1]
                start -= len(previous) - len(previous.rstrip("\r\n"))
        else:
            start, end = line_start + start, line_start + end
        base = FileSnapshot(path=path, text=text, version=document.version, mtime_ns=None, from_buffer=True)
        change = FileChange(
            kind="modify",
            path=path,
            new_text=text[:start] + text[end:],
            base=base,
            preapproved=True,
            description="Remove the Claw instruction comment",
        )
        if not await handle.applier.apply_own(change):
            self.ls.log("Claw: could not remove the instruction comment", types.MessageType.Warning)
            return
        # Part of the task the model was given: its view of the file includes the removal, so a
        # later edit is not merged as if the user had typed.
        now = self.ls.tracker.get(uri)
        if now is not None and path in handle.slot.state.read_files:
            handle.slot.state.read_files[path] = FileSnapshot(
                path=path, text=now.text, version=now.version, mtime_ns=None, from_buffer=True
            )


def register(server: ClawLanguageServer) -> None:
    """Register window/workDoneProgress/cancel: cancelling a run's progress cancels the run."""

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: ClawLanguageServer, params: types.WorkDoneProgressCancelParams) -> None:
        """Cancel the run whose progress the user cancelled."""
        for handle in ls.runs.running():
            if handle.token is not None and handle.token == params.token:
                handle.progress_cancelled()
