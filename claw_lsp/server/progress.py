"""What a run shows: its one-line outcome, and its events as the Agent Client Protocol's session
updates (`claw/event`); cancelling a run's `$/progress` cancels the run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pydantic import BaseModel

from claw_lsp.core.events import (
    PlanUpdated,
    RunFinished,
    RunStarted,
    TextDelta,
    ThoughtDelta,
    ToolCallStarted,
    ToolCallUpdated,
    UsageUpdated,
)

if TYPE_CHECKING:
    from claw_lsp.server.app import ClawLanguageServer


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
    if isinstance(event, RunStarted):
        return {"sessionUpdate": "run_started", "prompt": event.prompt, "model": event.model}
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


def register(server: ClawLanguageServer) -> None:
    """Register window/workDoneProgress/cancel: cancelling a run's progress cancels the run."""

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: ClawLanguageServer, params: types.WorkDoneProgressCancelParams) -> None:
        """Cancel the run whose progress the user cancelled."""
        for handle in ls.runs.running():
            if handle.token is not None and handle.token == params.token:
                handle.progress_cancelled()
