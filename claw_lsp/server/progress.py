"""What a run shows: its one-line outcome, and its events as the Agent Client Protocol's session
updates (`claw/event`); cancelling a run's `$/progress` cancels the run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import acp.schema as acp
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
from claw_lsp.server.protocol import RunFinishedUpdate, RunStartedUpdate, SessionUpdate

if TYPE_CHECKING:
    from claw_lsp.server.app import ClawLanguageServer


# An edit's diff (old and new text) goes out in its tool_call_update up to this size.
MAX_DIFF_CHARS = 400_000


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


def acp_update(event: BaseModel, context_window: int) -> SessionUpdate | None:
    """The Agent Client Protocol session update for an event (None: not sent)."""
    if isinstance(event, RunStarted):
        return RunStartedUpdate(prompt=event.prompt, model=event.model)
    if isinstance(event, TextDelta):
        return acp.AgentMessageChunk(
            session_update="agent_message_chunk", content=acp.TextContentBlock(type="text", text=event.text)
        )
    if isinstance(event, ThoughtDelta):
        return acp.AgentThoughtChunk(
            session_update="agent_thought_chunk", content=acp.TextContentBlock(type="text", text=event.text)
        )
    if isinstance(event, ToolCallStarted):
        return acp.ToolCallStart(
            session_update="tool_call",
            tool_call_id=event.tool_call_id,
            title=event.title,
            kind=event.kind,
            status="pending",
            raw_input=event.input,
            locations=[acp.ToolCallLocation(path=p) for p in event.locations],
        )
    if isinstance(event, ToolCallUpdated):
        content: (
            list[acp.ContentToolCallContent | acp.FileEditToolCallContent | acp.TerminalToolCallContent]
            | None
        )
        content = None
        if event.output is not None:
            text = acp.TextContentBlock(type="text", text=event.output)
            content = [acp.ContentToolCallContent(type="content", content=text)]
            content += [
                acp.FileEditToolCallContent(
                    type="diff", path=d.path, old_text=d.old_text, new_text=d.new_text
                )
                for d in event.diffs
                if len(d.old_text or "") + len(d.new_text) <= MAX_DIFF_CHARS
            ]
        meta: dict[str, Any] = {}
        if event.review is not None:
            meta["review"] = {
                "decision": event.review.decision,
                "acceptedHunks": event.review.accepted_hunks,
                "rejectedHunks": event.review.rejected_hunks,
                **({"feedback": event.review.feedback} if event.review.feedback else {}),
            }
        if event.denied:
            meta["permission"] = "denied"
        return acp.ToolCallProgress(
            session_update="tool_call_update",
            tool_call_id=event.tool_call_id,
            status=event.status,
            title=event.title or None,
            content=content,
            field_meta={"claw": meta} if meta else None,
        )
    if isinstance(event, PlanUpdated):
        return acp.AgentPlanUpdate(
            session_update="plan",
            entries=[
                acp.PlanEntry(content=e.content, priority="medium", status=e.status) for e in event.entries
            ],
        )
    if isinstance(event, UsageUpdated):
        return acp.UsageUpdate(
            session_update="usage_update",
            used=event.context_tokens or event.total.context_tokens,
            size=context_window,
            cost=acp.Cost(amount=event.cost_usd, currency="USD"),
        )
    if isinstance(event, RunFinished):
        return RunFinishedUpdate(
            stopReason=event.stop_reason,
            result=event.result,
            error=event.error or None,
            usage=event.usage,
            costUsd=event.cost_usd,
        )
    return None


def register(server: ClawLanguageServer) -> None:
    """Register window/workDoneProgress/cancel: cancelling a run's progress cancels the run."""

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: ClawLanguageServer, params: types.WorkDoneProgressCancelParams) -> None:
        """Cancel the run whose progress the user cancelled."""
        for handle in ls.runs.running():
            if handle.token is not None and handle.token == params.token:
                handle.progress_cancelled()
