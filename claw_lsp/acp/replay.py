"""A stored session's history as `session/update`s, for `session/load`.

The JSONL transcript (`agent/session.py`, written the same by the language server, `claw` and
this front end) holds the messages and the run events in order. Replayed: each prompt as the user
typed it (`user_message_chunk`, from the run's start; a transcript without run events falls back to
its user messages), the model's text and thinking (`agent_message_chunk`, `agent_thought_chunk`),
each tool call with its final status and output (`tool_call`, `tool_call_update`) and the plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import acp.schema as acp
from pydantic import ValidationError

from claw_lsp.core.events import EVENT_ADAPTER, PlanUpdated, RunStarted, ToolCallStarted, ToolCallUpdated
from claw_lsp.core.messages import Message, TextBlock, ThinkingBlock
from claw_lsp.core.updates import AcpUpdate, session_update, text_chunk, thought_chunk

HistoryUpdate = AcpUpdate | acp.UserMessageChunk


def user_chunk(text: str) -> acp.UserMessageChunk:
    """A user_message_chunk of plain text."""
    return acp.UserMessageChunk(
        session_update="user_message_chunk", content=acp.TextContentBlock(type="text", text=text)
    )


def history(stored: Iterable[dict[str, Any]], context_window: int) -> list[HistoryUpdate]:
    """The updates that show a transcript's conversation again."""
    records = list(stored)
    has_runs = any(
        r.get("type") == "event" and (r.get("event") or {}).get("type") == "run_started" for r in records
    )
    updates: list[HistoryUpdate] = []
    finished: set[str] = set()
    for record in records:
        kind = record.get("type")
        if kind == "message":
            try:
                message = Message.model_validate(record["message"])
            except (KeyError, ValidationError):
                continue
            updates += _message_updates(message, has_runs)
        elif kind == "event":
            try:
                event = EVENT_ADAPTER.validate_python(record.get("event"))
            except ValidationError:
                continue
            if isinstance(event, RunStarted):
                updates.append(user_chunk(event.prompt))
            elif isinstance(event, ToolCallStarted | PlanUpdated):
                update = session_update(event, context_window)
                if update is not None:
                    updates.append(update)
            elif isinstance(event, ToolCallUpdated) and event.status in ("completed", "failed"):
                if event.tool_call_id in finished:
                    continue
                finished.add(event.tool_call_id)
                update = session_update(event, context_window)
                if update is not None:
                    updates.append(update)
    return updates


def _message_updates(message: Message, has_runs: bool) -> list[HistoryUpdate]:
    out: list[HistoryUpdate] = []
    if message.role == "assistant":
        for block in message.content:
            if isinstance(block, TextBlock) and block.text:
                out.append(text_chunk(block.text))
            elif isinstance(block, ThinkingBlock) and block.thinking:
                out.append(thought_chunk(block.thinking))
    elif not has_runs and not message.tool_results():
        text = message.text()
        if text.strip():
            out.append(user_chunk(text))
    return out
