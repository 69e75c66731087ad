"""What a run shows: its one-line outcome, and its events as the Agent Client Protocol's session
updates (`claw/event`); cancelling a run's `$/progress` cancels the run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types
from pydantic import BaseModel

from claw_lsp.core.events import RunFinished, RunStarted
from claw_lsp.core.updates import MAX_DIFF_CHARS, session_update
from claw_lsp.server.protocol import RunFinishedUpdate, RunStartedUpdate, SessionUpdate

if TYPE_CHECKING:
    from claw_lsp.server.app import ClawLanguageServer

__all__ = ["MAX_DIFF_CHARS", "acp_update", "one_line_result", "register"]


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
    """The Agent Client Protocol session update for an event (None: not sent): the shared
    conversion (`core.updates`, which the ACP front end sends too) plus claw's run start and end."""
    if isinstance(event, RunStarted):
        return RunStartedUpdate(prompt=event.prompt, model=event.model)
    if isinstance(event, RunFinished):
        return RunFinishedUpdate(
            stopReason=event.stop_reason,
            result=event.result,
            error=event.error or None,
            usage=event.usage,
            costUsd=event.cost_usd,
        )
    return session_update(event, context_window)


def register(server: ClawLanguageServer) -> None:
    """Register window/workDoneProgress/cancel: cancelling a run's progress cancels the run."""

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: ClawLanguageServer, params: types.WorkDoneProgressCancelParams) -> None:
        """Cancel the run whose progress the user cancelled."""
        for handle in ls.runs.running():
            if handle.token is not None and handle.token == params.token:
                handle.progress_cancelled()
