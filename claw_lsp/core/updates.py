"""Run events as the Agent Client Protocol's `session/update` payloads (the `acp` package's models).

Both front ends send these: the language server inside its `claw/event` notifications, the ACP
front end as `session/update` itself. Events with no ACP shape (run start and end, notices) are
left to the front end (None here).

ACP has no nesting, so a subagent's events (`parent_tool_call_id` set) go out with
`_meta.claw.parentToolCallId` naming the parent `Agent` tool call: its tool calls as tool calls, its
text and thinking as thought chunks (they are the subagent's working, not the answer; only its final
report returns, as the parent tool call's output).
"""

from __future__ import annotations

from typing import Any

import acp.schema as acp
from pydantic import BaseModel

from claw_lsp.core.events import (
    PlanUpdated,
    TextDelta,
    ThoughtDelta,
    ToolCallStarted,
    ToolCallUpdated,
    UsageUpdated,
)

# An edit's diff (old and new text) goes out in its tool_call_update up to this size.
MAX_DIFF_CHARS = 400_000

AcpUpdate = (
    acp.AgentMessageChunk
    | acp.AgentThoughtChunk
    | acp.ToolCallStart
    | acp.ToolCallProgress
    | acp.AgentPlanUpdate
    | acp.UsageUpdate
)
ToolContent = acp.ContentToolCallContent | acp.FileEditToolCallContent | acp.TerminalToolCallContent


def text_chunk(text: str) -> acp.AgentMessageChunk:
    """An agent_message_chunk of plain text."""
    return acp.AgentMessageChunk(
        session_update="agent_message_chunk", content=acp.TextContentBlock(type="text", text=text)
    )


def thought_chunk(text: str, parent: str | None = None) -> acp.AgentThoughtChunk:
    """An agent_thought_chunk of plain text (a subagent's: `parent` names its Agent tool call)."""
    return acp.AgentThoughtChunk(
        session_update="agent_thought_chunk",
        content=acp.TextContentBlock(type="text", text=text),
        field_meta=_nested({}, parent),
    )


def _nested(meta: dict[str, Any], parent: str | None) -> dict[str, Any] | None:
    """`_meta` for an update: claw's keys, with the parent tool call of a subagent's event."""
    if parent is not None:
        meta = {**meta, "parentToolCallId": parent}
    return {"claw": meta} if meta else None


def diff_content(path: str, old_text: str | None, new_text: str) -> acp.FileEditToolCallContent | None:
    """A tool call's `diff` content (None when the texts are too large to send)."""
    if len(old_text or "") + len(new_text) > MAX_DIFF_CHARS:
        return None
    return acp.FileEditToolCallContent(type="diff", path=path, old_text=old_text, new_text=new_text)


def session_update(event: BaseModel, context_window: int) -> AcpUpdate | None:
    """The ACP session update for an event (None: the event has no ACP shape)."""
    if isinstance(event, TextDelta):
        if event.parent_tool_call_id is not None:
            return thought_chunk(event.text, event.parent_tool_call_id)
        return text_chunk(event.text)
    if isinstance(event, ThoughtDelta):
        return thought_chunk(event.text, event.parent_tool_call_id)
    if isinstance(event, ToolCallStarted):
        return acp.ToolCallStart(
            session_update="tool_call",
            tool_call_id=event.tool_call_id,
            title=event.title,
            kind=event.kind,
            status="pending",
            raw_input=event.input,
            locations=[acp.ToolCallLocation(path=p) for p in event.locations],
            field_meta=_nested({}, event.parent_tool_call_id),
        )
    if isinstance(event, ToolCallUpdated):
        content: list[ToolContent] | None = None
        if event.output is not None:
            text = acp.TextContentBlock(type="text", text=event.output)
            content = [acp.ContentToolCallContent(type="content", content=text)]
            for d in event.diffs:
                diff = diff_content(d.path, d.old_text, d.new_text)
                if diff is not None:
                    content.append(diff)
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
            field_meta=_nested(meta, event.parent_tool_call_id),
        )
    if isinstance(event, PlanUpdated):
        if event.parent_tool_call_id is not None:
            return None  # a subagent's own plan is not the session's plan
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
    return None
