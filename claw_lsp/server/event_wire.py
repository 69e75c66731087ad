"""`claw/event` on the wire: each run event as the Agent Client Protocol's session update.

Kept apart from `server.protocol` because it holds ACP's models (the `agent-client-protocol`
package, ~0.4 s to import): the server imports this module off the event loop after `initialize`
(`app._warm_imports`) or at the first event, never before answering `initialize`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from claw_lsp.core.events import RunFinished, RunStarted
from claw_lsp.core.updates import AcpUpdate, session_update
from claw_lsp.server.protocol import Payload, RunFinishedUpdate, RunStartedUpdate

# The run events on the wire: the Agent Client Protocol's `session/update` models (from the
# `agent-client-protocol` package) wherever ACP has one, plus claw's run_started / run_finished.
SessionUpdate = Annotated[
    AcpUpdate | RunStartedUpdate | RunFinishedUpdate, Field(discriminator="session_update")
]


class EventParams(Payload):
    """`claw/event` notification params: one session update of one run."""

    runId: str
    sessionId: str
    update: SessionUpdate


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
