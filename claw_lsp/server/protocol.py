"""Every `claw.*` command id and `claw/*` method name, with the payload models beside them.

This module is the server's half of docs/protocol.md: the shims and the tests use the same names.
Payloads are pydantic models with the camelCase field names the wire carries; every model ignores
unknown keys so an older server accepts a newer shim's arguments.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Commands (workspace/executeCommand).
CMD_ASK = "claw.ask"
CMD_CANCEL = "claw.cancel"
CMD_SESSIONS_LIST = "claw.sessions.list"
CMD_SESSIONS_RESUME = "claw.sessions.resume"
CMD_SESSIONS_NEW = "claw.sessions.new"
CMD_REVIEW_ACCEPT = "claw.review.accept"
CMD_REVIEW_REJECT = "claw.review.reject"
CMD_STATUS = "claw.status"

ALL_COMMANDS: tuple[str, ...] = (
    CMD_ASK,
    CMD_CANCEL,
    CMD_SESSIONS_LIST,
    CMD_SESSIONS_RESUME,
    CMD_SESSIONS_NEW,
    CMD_REVIEW_ACCEPT,
    CMD_REVIEW_REJECT,
    CMD_STATUS,
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


class _Payload(BaseModel):
    """Base of every wire payload: unknown keys ignored, names as on the wire."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ClientFeatures(_Payload):
    """`initializationOptions.clientFeatures`: the custom methods the client handles."""

    event: bool = False
    input: bool = False
    permission: bool = False
    review: bool = False
    diagnostics: bool = False
    saveDocuments: bool = False


class LspPosition(_Payload):
    """An LSP position (in the negotiated encoding)."""

    line: int
    character: int


class LspRange(_Payload):
    """An LSP range."""

    start: LspPosition
    end: LspPosition


class InstructionRef(_Payload):
    """The instruction comment a `Claw: <instruction>` action came from (removed after the run)."""

    line: int
    comment: str  # the exact comment text, e.g. "# claw: add a docstring"


class AskParams(_Payload):
    """`claw.ask` arguments."""

    uri: str | None = None
    range: LspRange | None = None
    prompt: str | None = None
    sessionId: str | None = None
    action: AskAction | None = None
    diagnostic: dict[str, Any] | None = None
    instruction: InstructionRef | None = None


class AskResult(_Payload):
    """`claw.ask` result: answered at once, the run goes on."""

    runId: str
    sessionId: str


class CancelParams(_Payload):
    """`claw.cancel` arguments (no runId: every run)."""

    runId: str | None = None


class SessionParams(_Payload):
    """`claw.sessions.resume` arguments."""

    sessionId: str


class ReviewCommandParams(_Payload):
    """`claw.review.accept` / `claw.review.reject` arguments."""

    changeId: str
    hunk: int | None = None
    feedback: str | None = None


class InputParams(_Payload):
    """`claw/input` request params."""

    title: str
    prompt: str
    placeholder: str | None = None
    value: str | None = None


class InputResult(_Payload):
    """`claw/input` result; `value` None when dismissed."""

    value: str | None = None


class PermissionOption(_Payload):
    """One of the four ACP permission options."""

    optionId: str
    name: str
    kind: Literal["allow_once", "allow_always", "reject_once", "reject_always"]


class PermissionToolCall(_Payload):
    """The tool call a permission request is about."""

    toolCallId: str
    title: str
    kind: str = "other"
    rawInput: dict[str, Any] = Field(default_factory=dict)


class PermissionParams(_Payload):
    """`claw/permission` request params."""

    runId: str
    toolCall: PermissionToolCall
    subject: str | None = None
    options: list[PermissionOption]


class PermissionOutcome(_Payload):
    """`{outcome: "selected", optionId}` or `{outcome: "cancelled"}`."""

    outcome: Literal["selected", "cancelled"]
    optionId: str | None = None


class PermissionResult(_Payload):
    """`claw/permission` result."""

    outcome: PermissionOutcome
    feedback: str | None = None


class UrisParams(_Payload):
    """`claw/diagnostics` and `claw/saveDocuments` params."""

    uris: list[str]


class DiagnosticsItem(_Payload):
    """The diagnostics of one file, as LSP Diagnostic dicts."""

    uri: str
    diagnostics: list[dict[str, Any]] = Field(default_factory=list)


class DiagnosticsResult(_Payload):
    """`claw/diagnostics` result."""

    items: list[DiagnosticsItem] = Field(default_factory=list)


class SaveResult(_Payload):
    """`claw/saveDocuments` result."""

    saved: list[str] = Field(default_factory=list)


class EventParams(_Payload):
    """`claw/event` notification params: one ACP-shaped session update."""

    runId: str
    sessionId: str
    update: dict[str, Any]


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
