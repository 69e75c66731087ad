"""Permission questions as `session/request_permission` with ACP's four option kinds.

A tool call that runs (Bash, MCP, a read outside the workspace...) is asked about here, with the
exact command or path in the title. A call whose changes go through the session's applier (Edit,
Write, ...) is not: the applier asks once the change is known, with its diff in the tool call's
content (`files.AcpApplier`), so one edit is asked about once, as in the language server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast, get_args

import acp.schema as acp

from claw_lsp.core.permissions import AnswerKind, PermissionAnswer, PermissionRequest

if TYPE_CHECKING:
    from acp.interfaces import Client

ANSWER_KINDS: tuple[AnswerKind, ...] = ("allow_once", "allow_always", "reject_once", "reject_always")


def permission_options(rule: str | None) -> list[acp.PermissionOption]:
    """The options offered: allow / reject once, and with a rule to remember, always."""
    options = [acp.PermissionOption(option_id="allow_once", name="Allow once", kind="allow_once")]
    if rule:
        options.append(
            acp.PermissionOption(option_id="allow_always", name=f"Always allow {rule}", kind="allow_always")
        )
    options.append(acp.PermissionOption(option_id="reject_once", name="Reject", kind="reject_once"))
    if rule:
        options.append(
            acp.PermissionOption(
                option_id="reject_always", name=f"Always reject {rule}", kind="reject_always"
            )
        )
    return options


def answer_from(response: acp.RequestPermissionResponse, rule: str | None) -> PermissionAnswer:
    """Our answer for the client's: a cancelled question or an unknown option is a rejection."""
    outcome = response.outcome
    if not isinstance(outcome, acp.AllowedOutcome) or outcome.option_id not in ANSWER_KINDS:
        return PermissionAnswer("reject_once", feedback="(the question was cancelled)")
    kind: AnswerKind = outcome.option_id
    if not rule and kind in ("allow_always", "reject_always"):
        kind = "allow_once" if kind == "allow_always" else "reject_once"
    return PermissionAnswer(kind)


def tool_kind(kind: str) -> acp.ToolKind:
    """An ACP tool kind ("other" for one ACP does not know)."""
    return cast("acp.ToolKind", kind) if kind in get_args(acp.ToolKind) else "other"


def request_title(request: PermissionRequest) -> str:
    """The question's title: the tool and the exact command or path it acts on."""
    if request.subject:
        return f"{request.tool_name}: {request.subject}"
    return request.title


class AcpPrompter:
    """Asks the ACP client; edit-tool questions are left to the applier (see the module doc)."""

    def __init__(self, client: Client, session_id: str) -> None:
        self.client = client
        self.session_id = session_id
        # The rule an "always" answer writes, per tool call whose change the applier asks about.
        self.edit_rules: dict[str, str | None] = {}

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        """Send `session/request_permission` and wait for the user's choice."""
        if request.reviewable:
            self.edit_rules[request.tool_call_id] = request.suggested_rule
            return PermissionAnswer("allow_once")
        content: list[Any] = []
        if request.description:
            block = acp.TextContentBlock(type="text", text=request.description)
            content.append(acp.ContentToolCallContent(type="content", content=block))
        tool_call = acp.ToolCallUpdate(
            tool_call_id=request.tool_call_id,
            title=request_title(request),
            kind=tool_kind(request.kind),
            status="pending",
            raw_input=request.input,
            content=content or None,
        )
        response = await self.client.request_permission(
            session_id=self.session_id,
            tool_call=tool_call,
            options=permission_options(request.suggested_rule),
        )
        return answer_from(response, request.suggested_rule)
