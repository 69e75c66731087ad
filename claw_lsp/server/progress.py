"""What a run shows: its one-line outcome, and its events as the Agent Client Protocol's session
updates (`claw/event`); cancelling a run's `$/progress` cancels the run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from claw_lsp.core.events import RunFinished

if TYPE_CHECKING:
    from claw_lsp.server.app import ClawLanguageServer

__all__ = ["one_line_result", "register"]


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


def register(server: ClawLanguageServer) -> None:
    """Register window/workDoneProgress/cancel: cancelling a run's progress cancels the run."""

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: ClawLanguageServer, params: types.WorkDoneProgressCancelParams) -> None:
        """Cancel the run whose progress the user cancelled."""
        for handle in ls.runs.running():
            if handle.token is not None and handle.token == params.token:
                handle.progress_cancelled()
