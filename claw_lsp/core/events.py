"""The events an agent run emits, in order, to every consumer (server, CLI, tests, transcript).

The shapes follow the Agent Client Protocol's session updates where one exists
(`agent_message_chunk`, `agent_thought_chunk`, `tool_call`, `tool_call_update`, `plan`), plus
`usage` and `run_finished`. Each event is a pydantic model with a `type` discriminator so it
serialises to one JSON line for `stream-json` output and transcripts.

A subagent's events reach its parent run's consumers as the same events with `parent_tool_call_id`
set to the `Agent` tool call that runs it (its run start, end and usage stay in its own transcript).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from claw_lsp.core.messages import Usage

StopReason = Literal["end_turn", "max_turns", "budget", "error", "cancelled", "refusal", "max_tokens"]
ToolKind = Literal["read", "edit", "delete", "move", "search", "execute", "think", "fetch", "other"]
ToolStatus = Literal["pending", "in_progress", "completed", "failed"]


class RunStarted(BaseModel):
    """A run began on a session."""

    type: Literal["run_started"] = "run_started"
    run_id: str
    session_id: str
    model: str
    prompt: str


class TextDelta(BaseModel):
    """A piece of the model's visible answer."""

    type: Literal["agent_message_chunk"] = "agent_message_chunk"
    text: str
    parent_tool_call_id: str | None = None


class ThoughtDelta(BaseModel):
    """A piece of the model's thinking."""

    type: Literal["agent_thought_chunk"] = "agent_thought_chunk"
    text: str
    parent_tool_call_id: str | None = None


class ToolCallStarted(BaseModel):
    """The model called a tool; `title` is a human line such as "Reading src/app.py"."""

    type: Literal["tool_call"] = "tool_call"
    tool_call_id: str
    name: str
    title: str
    kind: ToolKind = "other"
    status: ToolStatus = "pending"
    input: dict[str, Any] = Field(default_factory=dict)
    locations: list[str] = Field(default_factory=list)
    parent_tool_call_id: str | None = None


class FileDiff(BaseModel):
    """A change to one file as it landed (`old_text` None: the file was created)."""

    path: str
    old_text: str | None = None
    new_text: str


class ReviewNote(BaseModel):
    """How the user decided a reviewed change (hunk indices as in the review)."""

    decision: Literal["accept", "partial", "reject"]
    accepted_hunks: list[int] = Field(default_factory=list)
    rejected_hunks: list[int] = Field(default_factory=list)
    feedback: str | None = None


class ToolCallUpdated(BaseModel):
    """Progress or the end of a tool call. `output` is set when it finished (completed/failed);
    an edit's end also carries the diff that landed and the user's review, a refused call `denied`."""

    type: Literal["tool_call_update"] = "tool_call_update"
    tool_call_id: str
    status: ToolStatus
    title: str | None = None
    output: str | None = None
    diffs: list[FileDiff] = Field(default_factory=list)
    review: ReviewNote | None = None
    denied: bool = False
    parent_tool_call_id: str | None = None


class PlanEntry(BaseModel):
    """One item of the model's plan (TodoWrite)."""

    content: str
    status: Literal["pending", "in_progress", "completed"] = "pending"
    activeForm: str = ""


class PlanUpdated(BaseModel):
    """The model's whole current plan."""

    type: Literal["plan"] = "plan"
    entries: list[PlanEntry]
    parent_tool_call_id: str | None = None


class UsageUpdated(BaseModel):
    """Usage of the last request and the run's running totals."""

    type: Literal["usage"] = "usage"
    request: Usage
    total: Usage
    cost_usd: float
    context_tokens: int = 0


class Notice(BaseModel):
    """Something the user should know that is not the model's text (a retry, a compaction...)."""

    type: Literal["notice"] = "notice"
    level: Literal["info", "warning", "error"] = "info"
    message: str
    parent_tool_call_id: str | None = None


class RunFinished(BaseModel):
    """The run ended. `result` is the model's last text; `error` is set when it failed."""

    type: Literal["run_finished"] = "run_finished"
    run_id: str
    session_id: str
    stop_reason: StopReason
    result: str = ""
    error: str | None = None
    turns: int = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    duration_ms: int = 0


Event = Annotated[
    RunStarted
    | TextDelta
    | ThoughtDelta
    | ToolCallStarted
    | ToolCallUpdated
    | PlanUpdated
    | UsageUpdated
    | Notice
    | RunFinished,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def event_to_json(event: BaseModel) -> dict[str, Any]:
    """The event as a JSON-ready dict."""
    return event.model_dump(mode="json")
