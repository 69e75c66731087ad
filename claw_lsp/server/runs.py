"""The run lifecycle: agent runs as tracked background tasks, made visible and interactive over LSP.

A `RunHandle` is one run as the server tracks it: its `$/progress` (cancellable; the current step
from tool titles; a one-line result), its `claw/event` notifications (`event_wire.acp_update`), the
log and error messages, its applier and reviewer. `RunManager` starts runs on sessions
(`sessions.Sessions`), cancels them, prunes finished ones, owns the MCP servers' lifetime (they
start at the first run, again when `mcpServers` changes, and stop at shutdown) and gives the loop
its hooks: the diagnostics baseline before edits and the new errors after them
(`diagnostics`), and before a command, saving the files the run changed.

One run per session at a time; runs on different sessions go on side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pydantic import BaseModel

from claw_lsp.core.events import Notice, RunFinished, TextDelta, ToolCallStarted, ToolCallUpdated
from claw_lsp.core.messages import Usage
from claw_lsp.core.tools import EDIT_KINDS, edits_files, runs_commands
from claw_lsp.server.diagnostics import LspDiagnostics, report_new_errors
from claw_lsp.server.instructions import remove_instruction
from claw_lsp.server.progress import one_line_result
from claw_lsp.server.prompter import LspPrompter
from claw_lsp.server.protocol import METHOD_EVENT, REQUEST_TIMEOUT_S, InstructionRef, wire
from claw_lsp.server.sessions import SessionBusy, Sessions, SessionSlot, SlotApplier

if TYPE_CHECKING:
    from claw_lsp.agent.loop import Agent, Run
    from claw_lsp.core.tools import Tool
    from claw_lsp.server.app import ClawLanguageServer
    from claw_lsp.server.applier import LspApplier
    from claw_lsp.server.review import Reviewer
    from claw_lsp.tools.mcp import McpManager

# Finished runs are dropped from `RunManager.runs`; `claw.status` lists the last few of them.
KEPT_FINISHED = 20


@dataclass(frozen=True)
class FinishedRun:
    """What `claw.status` shows of a finished run (the handle itself, with its applier, reviewer
    and diagnostics baseline, is dropped)."""

    run_id: str
    session_id: str
    summary: str
    step: str
    stop_reason: str


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
        from claw_lsp.server.event_wire import EventParams, acp_update  # ACP's models: loaded late

        update = acp_update(event, self.run.agent.model.context_window)
        if update is not None:
            params = EventParams(runId=self.run.id, sessionId=self.run.session_id, update=update)
            self.ls.protocol.notify(METHOD_EVENT, wire(params, omit_none=True))

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
            # pygls keeps every token it ever created (`tokens` is its documented attribute and
            # the only way to forget one): dropped here so that finished runs leave nothing.
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
                await remove_instruction(self.ls, self, *self.instruction)
            except Exception as exc:  # the run's outcome stands; the comment stays for the user
                message = f"Claw: removing the instruction comment failed: {exc!r}"
                self.ls.log(message, types.MessageType.Warning)
        self.finished = True
        self.manager.finished(self)
        line = one_line_result(result)
        if self.token is not None:
            if self.progress_began:
                self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=line))
            self.ls.work_done_progress.tokens.pop(self.token, None)  # see begin_progress
        self.ls.log(f"Claw [{self.run.id}] {result.stop_reason}: {line}")
        if result.error and not self.error_shown:
            self.error_shown = True
            self.ls.show(f"Claw: {result.error.splitlines()[0]}", types.MessageType.Error)
            self.ls.log(f"Claw [{self.run.id}] error: {result.error}", types.MessageType.Error)


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

    def __init__(self, ls: ClawLanguageServer, sessions: Sessions) -> None:
        self.ls = ls
        self.sessions = sessions
        # Runs not yet finished (a finished run is pruned: see `finished`).
        self.runs: dict[str, RunHandle] = {}
        self.recent: deque[FinishedRun] = deque(maxlen=KEPT_FINISHED)
        self.totals = Totals()
        self.mcp: McpManager | None = None
        self._mcp_lock = asyncio.Lock()

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
        slot = await self.sessions.slot_for(session_id, prompt)
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
        if self.sessions.active_session_id is None:
            self.sessions.active_session_id = slot.session.id
        self.ls.spawn(handle.drive(), name=f"claw-run-{run.id}")
        return handle

    def _attach_applier(self, handle: RunHandle) -> None:
        """Give the run its own reviewer and applier (their prompts name the run)."""
        from claw_lsp.server.applier import LspApplier
        from claw_lsp.server.review import Reviewer

        ls = self.ls
        handle.reviewer = Reviewer(
            ls,
            ls.client_info,
            lambda: ls.settings.permissionMode,
            handle.run.id,
            on_step=handle.set_step,
            roots_getter=lambda: ls.folders,
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

    def finished(self, handle: RunHandle) -> None:
        """Count a finished run and let go of it: memory stays flat however many runs there were."""
        assert handle.result is not None
        self.totals.add(handle.result)
        self.runs.pop(handle.run.id, None)
        self.recent.append(
            FinishedRun(
                run_id=handle.run.id,
                session_id=handle.run.session_id,
                summary=handle.summary,
                step=handle.step,
                stop_reason=handle.result.stop_reason,
            )
        )
        if handle.slot.current is handle:
            handle.slot.current = None
        self.ls.sessions.prune()

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
        baseline = handle.baseline if handle is not None else {}
        return await report_new_errors(LspDiagnostics(self.ls), baseline, paths, self.ls.relative)
