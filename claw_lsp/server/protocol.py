"""Every `claw.*` command id and `claw/*` method name, with the payload models beside them.

This module is the server's half of docs/protocol.md: the shims and the tests use the same names.
Payloads are pydantic models with the camelCase field names the wire carries; every model ignores
unknown keys so an older server accepts a newer shim's arguments.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from claw_lsp.core.messages import Usage

# Commands (workspace/executeCommand).
CMD_ASK = "claw.ask"
CMD_CANCEL = "claw.cancel"
CMD_SESSIONS_LIST = "claw.sessions.list"
CMD_SESSIONS_RESUME = "claw.sessions.resume"
CMD_SESSIONS_NEW = "claw.sessions.new"
CMD_REVIEW_ACCEPT = "claw.review.accept"
CMD_REVIEW_REJECT = "claw.review.reject"
CMD_STATUS = "claw.status"
CMD_WORKSPACE_TRUST = "claw.workspace.trust"
CMD_COMMANDS_LIST = "claw.commands.list"

ALL_COMMANDS: tuple[str, ...] = (
    CMD_ASK,
    CMD_CANCEL,
    CMD_SESSIONS_LIST,
    CMD_SESSIONS_RESUME,
    CMD_SESSIONS_NEW,
    CMD_REVIEW_ACCEPT,
    CMD_REVIEW_REJECT,
    CMD_STATUS,
    CMD_WORKSPACE_TRUST,
    CMD_COMMANDS_LIST,
)

# Custom server -> client methods, used only when declared in initializationOptions.clientFeatures.
METHOD_EVENT = "claw/event"
METHOD_INPUT = "claw/input"
METHOD_PERMISSION = "claw/permission"
METHOD_REVIEW = "claw/review"
METHOD_DIAGNOSTICS = "claw/diagnostics"
METHOD_SAVE_DOCUMENTS = "claw/saveDocuments"

# The configuration section read with workspace/configuration.
CONFIG_SECTION = "claw"

# How long the server waits for a quick client request (progress create, diagnostics, save).
REQUEST_TIMEOUT_S = 5.0

# Code action ids carried in `AskParams.action`.
AskAction = Literal["fix", "instruction", "ask", "explain", "document", "tests"]


class Payload(BaseModel):
    """Base of every wire payload: unknown keys ignored, names as on the wire."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ClientFeatures(Payload):
    """`initializationOptions.clientFeatures`: the custom methods the client handles."""

    event: bool = False
    input: bool = False
    permission: bool = False
    review: bool = False
    diagnostics: bool = False
    saveDocuments: bool = False


class LspPosition(Payload):
    """An LSP position (in the negotiated encoding)."""

    line: int
    character: int


class LspRange(Payload):
    """An LSP range."""

    start: LspPosition
    end: LspPosition


class InstructionRef(Payload):
    """The instruction comment a `Claw: <instruction>` action came from (removed after the run)."""

    line: int
    comment: str  # the exact comment text, e.g. "# claw: add a docstring"


class AskParams(Payload):
    """`claw.ask` arguments."""

    uri: str | None = None
    range: LspRange | None = None
    prompt: str | None = None
    sessionId: str | None = None
    action: AskAction | None = None
    diagnostic: dict[str, Any] | None = None
    instruction: InstructionRef | None = None


class CancelParams(Payload):
    """`claw.cancel` arguments (no runId: every run)."""

    runId: str | None = None


class SessionParams(Payload):
    """`claw.sessions.resume` arguments."""

    sessionId: str


class ReviewCommandParams(Payload):
    """`claw.review.accept` / `claw.review.reject` arguments."""

    changeId: str
    hunk: int | None = None
    feedback: str | None = None


class AskResult(Payload):
    """`claw.ask` result: answered at once, the run goes on (`dismissed`: the user closed the input)."""

    runId: str | None
    sessionId: str | None
    dismissed: bool = False


class CancelResult(Payload):
    """`claw.cancel` result: the runs that were asked to stop."""

    cancelled: list[str] = Field(default_factory=list)


class SessionEntry(Payload):
    """One stored session in `claw.sessions.list`."""

    sessionId: str
    title: str
    updatedAt: str  # ISO 8601
    messages: int
    active: bool
    running: bool


class SessionsListResult(Payload):
    """`claw.sessions.list` result, newest first."""

    sessions: list[SessionEntry] = Field(default_factory=list)


class SessionIdResult(Payload):
    """`claw.sessions.resume` / `claw.sessions.new` result: the session that is now active."""

    sessionId: str


class OkResult(Payload):
    """`claw.review.accept` / `claw.review.reject` result: whether an open review took the answer."""

    ok: bool


class RunInfo(Payload):
    """One run in `claw.status`."""

    runId: str
    sessionId: str
    prompt: str
    step: str | None = None
    running: bool
    stopReason: str | None = None


class TrustParams(Payload):
    """`claw.workspace.trust` arguments: trust the workspace (true), distrust it (false), forget
    the decision so the next start asks again (null), or only report (key absent)."""

    trusted: bool | None = None


class TrustResult(Payload):
    """`claw.workspace.trust` result: the decision now in force and what it still holds back."""

    folder: str
    trusted: bool | None
    heldBack: list[str] = Field(default_factory=list)


class StatusResult(Payload):
    """`claw.status` result (`usage`/`costUsd`: the active session's; `total*`: since start;
    `trusted` / `heldBack`: the workspace's trust decision and the settings it holds back)."""

    model: str
    provider: str
    permissionMode: str
    sessionId: str | None = None
    runs: list[RunInfo] = Field(default_factory=list)
    usage: Usage
    costUsd: float
    totalUsage: Usage
    totalCostUsd: float
    workspace: str
    trusted: bool | None = None
    heldBack: list[str] = Field(default_factory=list)


class SlashCommandInfo(Payload):
    """One slash command the user can type as `/name args` in a prompt (`claw.commands.list`)."""

    name: str
    description: str
    argumentHint: str | None = None
    kind: Literal["builtin", "command", "skill"]
    scope: Literal["builtin", "user", "project"]
    # A skill the model may also load by itself (its `disable-model-invocation` is not true).
    modelInvocable: bool = False


class CommandsListResult(Payload):
    """`claw.commands.list` result: the built-ins, then the user's and the workspace's commands
    and skills."""

    commands: list[SlashCommandInfo] = Field(default_factory=list)


class InputParams(Payload):
    """`claw/input` request params."""

    title: str
    prompt: str
    placeholder: str | None = None
    value: str | None = None


class InputResult(Payload):
    """`claw/input` result; `value` None when dismissed."""

    value: str | None = None


PermissionOptionKind = Literal["allow_once", "allow_always", "reject_once", "reject_always"]


class PermissionOption(Payload):
    """One of the four ACP permission options."""

    optionId: PermissionOptionKind
    name: str
    kind: PermissionOptionKind


class PermissionToolCall(Payload):
    """The tool call a permission request is about."""

    toolCallId: str
    title: str
    kind: str = "other"
    rawInput: dict[str, Any] = Field(default_factory=dict)


class PermissionParams(Payload):
    """`claw/permission` request params."""

    runId: str
    toolCall: PermissionToolCall
    subject: str | None = None
    options: list[PermissionOption]


class PermissionOutcome(Payload):
    """`{outcome: "selected", optionId}` or `{outcome: "cancelled"}`."""

    outcome: Literal["selected", "cancelled"]
    optionId: str | None = None


class PermissionResult(Payload):
    """`claw/permission` result."""

    outcome: PermissionOutcome
    feedback: str | None = None


class ReviewHunk(Payload):
    """One hunk of a proposed change; line numbers 1-based as in a unified diff."""

    index: int
    oldStart: int
    oldLines: int
    newStart: int
    newLines: int
    header: str
    diff: str


class ReviewParams(Payload):
    """`claw/review` request params: one proposed change, before it lands."""

    runId: str
    changeId: str
    uri: str
    kind: Literal["modify", "create", "delete", "rename"]
    title: str
    oldText: str
    newText: str
    hunks: list[ReviewHunk] = Field(default_factory=list)


class ReviewResult(Payload):
    """`claw/review` result; `partial` applies `acceptedHunks` only."""

    decision: Literal["accept", "reject", "partial"]
    acceptedHunks: list[int] | None = None
    feedback: str | None = None


class UrisParams(Payload):
    """`claw/diagnostics` and `claw/saveDocuments` params."""

    uris: list[str]


class DiagnosticsItem(Payload):
    """The diagnostics of one file, as LSP Diagnostic dicts."""

    uri: str
    diagnostics: list[dict[str, Any]] = Field(default_factory=list)


class DiagnosticsResult(Payload):
    """`claw/diagnostics` result."""

    items: list[DiagnosticsItem] = Field(default_factory=list)


class SaveResult(Payload):
    """`claw/saveDocuments` result."""

    saved: list[str] = Field(default_factory=list)


class RunStartedUpdate(BaseModel):
    """claw's own session update (no ACP equivalent): a run began, with the user's prompt."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    session_update: Literal["run_started"] = Field(default="run_started", alias="sessionUpdate")
    prompt: str
    model: str


class RunFinishedUpdate(BaseModel):
    """claw's own session update (ACP ends a prompt turn with its response instead): a run ended."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    session_update: Literal["run_finished"] = Field(default="run_finished", alias="sessionUpdate")
    stop_reason: str = Field(alias="stopReason")
    result: str = ""
    error: str | None = None
    usage: Usage
    cost_usd: float = Field(alias="costUsd")


# `claw/event`'s params (EventParams, SessionUpdate) are in `server.event_wire`: they hold the
# Agent Client Protocol's models, whose package takes ~0.4 s to import, which `initialize` should not
# wait for. `protocol.EventParams` and `protocol.WIRE_MODELS` still name them (module __getattr__).
_LAZY = ("EventParams", "SessionUpdate")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from claw_lsp.server import event_wire

        return getattr(event_wire, name)
    if name == "WIRE_MODELS":
        return wire_models()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def wire(model: BaseModel, *, omit_none: bool = False) -> dict[str, Any]:
    """A payload as the wire carries it: JSON values, camelCase names (`omit_none`: drop unset keys)."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=omit_none)


# Every payload, by the name the generated TypeScript types use (editors/vscode/src/protocol.generated.ts);
# `wire_models()` adds EventParams.
_WIRE_MODELS: tuple[type[BaseModel], ...] = (
    ClientFeatures,
    AskParams,
    AskResult,
    CancelParams,
    CancelResult,
    SessionsListResult,
    SessionParams,
    SessionIdResult,
    ReviewCommandParams,
    OkResult,
    StatusResult,
    CommandsListResult,
    TrustParams,
    TrustResult,
    InputParams,
    InputResult,
    PermissionParams,
    PermissionResult,
    ReviewParams,
    ReviewResult,
    UrisParams,
    DiagnosticsResult,
    SaveResult,
)


def wire_models() -> tuple[type[BaseModel], ...]:
    """Every wire payload model, `claw/event`'s EventParams last."""
    from claw_lsp.server.event_wire import EventParams

    return (*_WIRE_MODELS, EventParams)


class _NoFieldTitles(GenerateJsonSchema):
    """Titles on models only: a field title would become a TypeScript alias per field."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def json_schema() -> dict[str, Any]:
    """One JSON Schema holding every wire payload under `$defs` (the source of the TypeScript types)."""
    _, defs = models_json_schema(
        [(m, "validation") for m in wire_models()],
        ref_template="#/$defs/{model}",
        by_alias=True,
        schema_generator=_NoFieldTitles,
    )
    for definition in defs["$defs"].values():  # always sent: what a client's switch narrows on
        if "sessionUpdate" in definition.get("properties", {}):
            definition["required"] = sorted({*definition.get("required", []), "sessionUpdate"})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ClawProtocol",
        "description": "Every claw/* request, notification and claw.* command payload (docs/protocol.md).",
        "type": "object",
        "properties": {m.__name__: {"$ref": f"#/$defs/{m.__name__}"} for m in wire_models()},
        **defs,
    }


def json_converter() -> Any:
    """pygls' converter, except that the params and results of methods LSP does not define (the
    `claw/*` answers) stay the JSON the peer sent: pygls' default turns them into namedtuples whose
    fields are renamed when a key is not an identifier (`_meta` -> `_3`, `from` -> `_0`)."""
    from pygls.protocol import (
        JsonRPCNotification,
        JsonRPCRequestMessage,
        JsonRPCResponseMessage,
        default_converter,
    )

    converter = default_converter()
    for message in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(message, lambda obj, cls: cls(**obj))
    return converter


def plain_json(value: Any) -> Any:
    """A client's answer as plain JSON values (pygls may hand back attrs-like objects)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "_asdict"):  # pygls hands custom results over as namedtuples
        return {k: plain_json(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if hasattr(value, "__dict__"):
        return {k: plain_json(v) for k, v in vars(value).items() if not k.startswith("_")}
    return value
