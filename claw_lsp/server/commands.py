"""`workspace/executeCommand` handlers: claw.ask, claw.cancel, sessions, review answers, status.

Every command takes one JSON object argument (or none). `claw.ask` answers at once with the run's
and session's ids; the run goes on as a tracked background task (editors time out long requests).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, TypeVar

from lsprotocol import types
from pydantic import BaseModel, ValidationError
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams, JsonRpcInvalidRequest

from claw_lsp.core.messages import Usage
from claw_lsp.server.actions import truncate
from claw_lsp.server.app import ClawLanguageServer
from claw_lsp.server.protocol import (
    CMD_ASK,
    CMD_CANCEL,
    CMD_COMMANDS_LIST,
    CMD_REVIEW_ACCEPT,
    CMD_REVIEW_REJECT,
    CMD_SESSIONS_LIST,
    CMD_SESSIONS_NEW,
    CMD_SESSIONS_RESUME,
    CMD_STATUS,
    CMD_WORKSPACE_TRUST,
    METHOD_INPUT,
    AskParams,
    AskResult,
    CancelParams,
    CancelResult,
    CommandsListResult,
    InputParams,
    InputResult,
    OkResult,
    ReviewCommandParams,
    RunInfo,
    SessionEntry,
    SessionIdResult,
    SessionParams,
    SessionsListResult,
    StatusResult,
    TrustParams,
    TrustResult,
    plain_json,
    wire,
)
from claw_lsp.server.sessions import SessionBusy
from claw_lsp.server.uris import path_of
from claw_lsp.workspace import textio

M = TypeVar("M", bound=BaseModel)

CONTEXT_LINES = 10  # lines shown around a cursor or diagnostic when nothing is selected

ACTION_PROMPTS = {
    "explain": "Explain what the selected code does and how it works. Do not change any files.",
    "document": (
        "Document the selected code: add docstrings or comments in the file's own style. "
        "Do not change its behaviour."
    ),
    "tests": (
        "Write tests for the selected code, following the project's existing test layout and "
        "framework, and run them if the project has a test command."
    ),
}


def _args(model: type[M], args: tuple[Any, ...]) -> M:
    """The command's single argument object as `model` (InvalidParams when it does not fit)."""
    raw = args[0] if args else {}
    if raw is None:
        raw = {}
    try:
        return model.model_validate(plain_json(raw))
    except ValidationError as exc:
        raise JsonRpcInvalidParams(f"bad arguments: {exc.errors()[0].get('msg', exc)}") from exc


async def _document_text(ls: ClawLanguageServer, uri: str) -> str | None:
    """The buffer's text when open, else the file on disk (read off the event loop)."""
    document = ls.tracker.get(uri)
    if document is not None:
        return document.text
    path = path_of(uri)
    if path is None:
        return None
    try:
        data = await asyncio.to_thread(textio.read_regular, path)
        return textio.decode(data)[0]
    except OSError:
        return None


async def build_prompt(ls: ClawLanguageServer, ask: AskParams, prompt: str) -> tuple[str, str | None]:
    """The prompt the model reads and its context (selection, diagnostic, file path)."""
    from claw_lsp.agent.prompts import selection_context
    from claw_lsp.server.textedit import position_to_offset
    from claw_lsp.workspace.textio import split_lines

    if ask.uri is None:
        return prompt, None
    path = path_of(ask.uri)
    shown = ls.relative(path) if path is not None else ask.uri
    text = await _document_text(ls, ask.uri)
    if text is None or ask.range is None:
        return prompt, f"The user is looking at {shown}." if path is not None else None
    encoding = ls.client_info.position_encoding
    start = types.Position(line=ask.range.start.line, character=ask.range.start.character)
    end = types.Position(line=ask.range.end.line, character=ask.range.end.character)
    lines = split_lines(text, keepends=True)
    if start == end or ask.action == "fix":
        first = max(0, start.line - CONTEXT_LINES)
        last = min(len(lines) - 1, end.line + CONTEXT_LINES)
        selected = "".join(lines[first : last + 1])
        context = selection_context(shown, selected, first + 1, last + 1)
        context = context.replace("The user selected", "Around the cursor: the user is at", 1)
        if start == end and ask.action != "fix":
            context += f"\nThe cursor is on line {start.line + 1}."
    else:
        a, b = position_to_offset(text, start, encoding), position_to_offset(text, end, encoding)
        context = selection_context(shown, text[a:b], start.line + 1, end.line + 1)
    if ask.action == "fix" and ask.diagnostic:
        message = str(ask.diagnostic.get("message", "")).strip()
        source = ask.diagnostic.get("source")
        line = start.line + 1
        prompt = f"Fix this problem the editor reports in {shown} at line {line}: {message}"
        if source:
            prompt += f" (reported by {source})"
    return prompt, context


def _prompt_for(ask: AskParams) -> str | None:
    """The prompt an ask carries, or the one its action implies."""
    if ask.action == "instruction" and ask.prompt and ask.instruction is not None:
        return (
            f"{ask.prompt}\n\nThis instruction comes from the comment `{ask.instruction.comment}` on "
            f"line {ask.instruction.line + 1}. Carry it out, and remove that comment as part of your edit."
        )
    if ask.prompt:
        return ask.prompt
    if ask.action in ACTION_PROMPTS:
        return ACTION_PROMPTS[ask.action]
    if ask.action == "fix" and ask.diagnostic:
        return "Fix the problem the editor reports."
    return None


async def ask_for_prompt(ls: ClawLanguageServer) -> str | None:
    """Ask the user for free text with `claw/input` (None: dismissed)."""
    params = InputParams(title="Ask Claw", prompt="What should Claw do?", placeholder="e.g. add type hints")
    raw = await ls.protocol.send_request_async(METHOD_INPUT, wire(params, omit_none=True))
    try:
        value = InputResult.model_validate(plain_json(raw) or {}).value
    except ValidationError:
        return None
    return value if value and value.strip() else None


def _session_entry(ls: ClawLanguageServer, info: Any) -> SessionEntry:
    slot = ls.sessions.slots.get(info.session_id)
    return SessionEntry(
        sessionId=info.session_id,
        title=info.title,
        updatedAt=info.updated_at.isoformat(),
        messages=info.messages,
        active=info.session_id == ls.sessions.active_session_id,
        running=bool(slot and slot.busy),
    )


def register(server: ClawLanguageServer) -> None:
    """Register every claw.* command."""

    @server.command(CMD_ASK)
    async def ask(ls: ClawLanguageServer, *args: Any) -> dict[str, Any]:
        """Start a run; answer at once with {runId, sessionId}."""
        params = _args(AskParams, args)
        prompt = _prompt_for(params)
        if prompt is None:
            if not ls.client_features.input:
                raise JsonRpcInvalidParams("claw.ask needs a prompt (this client cannot ask for one)")
            prompt = await ask_for_prompt(ls)
            if prompt is None:
                return wire(AskResult(runId=None, sessionId=None, dismissed=True))
        prompt_text, context = await build_prompt(ls, params, prompt)
        instruction = (params.uri, params.instruction) if params.instruction and params.uri else None
        try:
            handle = await ls.runs.start(prompt_text, context, params.sessionId, instruction)
        except SessionBusy as exc:
            raise JsonRpcInvalidRequest(str(exc)) from exc
        except Exception as exc:
            from claw_lsp.agent.session import SessionLocked, SessionNotFound

            if isinstance(exc, SessionLocked):
                raise JsonRpcInvalidRequest(str(exc)) from exc
            if isinstance(exc, SessionNotFound):
                raise JsonRpcInvalidParams(str(exc)) from exc
            ls.show(f"Claw could not start: {exc}", types.MessageType.Error)
            raise JsonRpcInternalError(f"could not start the run: {exc}") from exc
        return wire(AskResult(runId=handle.run.id, sessionId=handle.run.session_id))

    @server.command(CMD_CANCEL)
    def cancel(ls: ClawLanguageServer, *args: Any) -> dict[str, Any]:
        """Cancel one run, or every run when no runId is given."""
        params = _args(CancelParams, args)
        return wire(CancelResult(cancelled=ls.runs.cancel(params.runId)))

    @server.command(CMD_SESSIONS_LIST)
    async def sessions_list(ls: ClawLanguageServer, *args: Any) -> dict[str, Any]:
        """The workspace's sessions, newest first."""
        infos = await asyncio.to_thread(ls.sessions.store.list)
        return wire(SessionsListResult(sessions=[_session_entry(ls, info) for info in infos]))

    @server.command(CMD_SESSIONS_RESUME)
    async def sessions_resume(ls: ClawLanguageServer, *args: Any) -> dict[str, Any]:
        """Make a stored session the active one."""
        from claw_lsp.agent.session import SessionLocked, SessionNotFound

        params = _args(SessionParams, args)
        try:
            slot = await ls.sessions.open_session(params.sessionId)
        except SessionLocked as exc:
            raise JsonRpcInvalidRequest(str(exc)) from exc
        except SessionNotFound as exc:
            raise JsonRpcInvalidParams(str(exc)) from exc
        ls.sessions.active_session_id = slot.session.id
        return wire(SessionIdResult(sessionId=slot.session.id))

    @server.command(CMD_SESSIONS_NEW)
    async def sessions_new(ls: ClawLanguageServer, *args: Any) -> dict[str, Any]:
        """Start a fresh session; it becomes the active one."""
        slot = await ls.sessions.new_session()
        return wire(SessionIdResult(sessionId=slot.session.id))

    def _review(ls: ClawLanguageServer, args: tuple[Any, ...], accept: bool) -> dict[str, Any]:
        params = _args(ReviewCommandParams, args)
        for handle in ls.runs.running():
            reviewer = handle.reviewer
            if reviewer is not None and params.changeId in reviewer.pending:
                ok = reviewer.resolve_from_command(params.changeId, accept, params.hunk, params.feedback)
                return wire(OkResult(ok=ok))
        return wire(OkResult(ok=False))

    @server.command(CMD_REVIEW_ACCEPT)
    def review_accept(ls: ClawLanguageServer, *args: Any) -> dict[str, Any]:
        """Accept an open review (or one hunk of it)."""
        return _review(ls, args, True)

    @server.command(CMD_REVIEW_REJECT)
    def review_reject(ls: ClawLanguageServer, *args: Any) -> dict[str, Any]:
        """Reject an open review (or one hunk of it), with optional feedback for the model."""
        return _review(ls, args, False)

    @server.command(CMD_STATUS)
    async def status(ls: ClawLanguageServer, *args: Any) -> dict[str, Any]:
        """Model, provider, mode, active session, runs, usage and cost (once the settings loaded)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ls.settings_ready.wait(), timeout=10)
        provider, model = ls.sessions.provider_and_model()
        runs = [
            RunInfo(
                runId=f.run_id,
                sessionId=f.session_id,
                prompt=truncate(f.summary),
                step=f.step,
                running=False,
                stopReason=f.stop_reason,
            )
            for f in ls.runs.recent
        ] + [
            RunInfo(
                runId=h.run.id,
                sessionId=h.run.session_id,
                prompt=truncate(h.summary),
                step=h.step,
                running=not h.finished,
                stopReason=h.result.stop_reason if h.result else None,
            )
            for h in ls.runs.runs.values()
        ]
        for h in ls.runs.running():
            agent = h.slot.agent
            if agent is not None:
                model = agent.model.name
        active = ls.sessions.slots.get(ls.sessions.active_session_id or "")
        session_agent = active.agent if active is not None else None
        session_usage = session_agent.usage if session_agent is not None else Usage()
        session_cost = session_agent.cost_usd if session_agent is not None else 0.0
        return wire(
            StatusResult(
                model=model,
                provider=provider,
                permissionMode=ls.settings.permissionMode,
                sessionId=ls.sessions.active_session_id,
                runs=runs,
                usage=session_usage,
                costUsd=round(session_cost, 6),
                totalUsage=ls.runs.totals.usage,
                totalCostUsd=round(ls.runs.totals.cost_usd, 6),
                workspace=str(ls.root),
                trusted=ls.loaded.trusted if ls.loaded is not None else None,
                heldBack=ls.loaded.held_back if ls.loaded is not None else [],
            )
        )

    @server.command(CMD_COMMANDS_LIST)
    async def commands_list(ls: ClawLanguageServer, *args: Any) -> dict[str, Any]:
        """The slash commands a prompt may start with (for completion in the client's input box)."""
        from claw_lsp.agent.slash import load_catalog
        from claw_lsp.config import TrustStore

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ls.settings_ready.wait(), timeout=10)
        trusted = ls.loaded.trusted if ls.loaded is not None else TrustStore().decision(ls.root)
        catalog = await asyncio.to_thread(load_catalog, ls.folders, trusted=bool(trusted))
        return wire(CommandsListResult.model_validate({"commands": catalog.listing()}))

    @server.command(CMD_WORKSPACE_TRUST)
    async def workspace_trust(ls: ClawLanguageServer, *args: Any) -> dict[str, Any]:
        """Trust the workspace, distrust it or forget the decision (`trusted` true / false / null);
        without `trusted`, only report. The settings are reloaded under the new decision."""
        params = _args(TrustParams, args)
        if "trusted" in params.model_fields_set:
            await ls.set_trust(params.trusted)
        loaded = ls.loaded
        return wire(
            TrustResult(
                folder=str(ls.root),
                trusted=loaded.trusted if loaded is not None else None,
                heldBack=loaded.held_back if loaded is not None else [],
            )
        )
