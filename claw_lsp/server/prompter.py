"""Permission questions over LSP: `claw/permission` when the shim declared it, else
`window/showMessageRequest` (Allow once / Always allow <rule> / Deny)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from claw_lsp.core.permissions import PermissionAnswer, PermissionRequest
from claw_lsp.server.protocol import (
    METHOD_PERMISSION,
    PermissionOption,
    PermissionParams,
    PermissionResult,
    PermissionToolCall,
    plain_json,
    wire,
)

if TYPE_CHECKING:
    from claw_lsp.server.app import ClawLanguageServer
    from claw_lsp.server.sessions import SessionSlot


class LspPrompter:
    """Asks permission through `claw/permission` when declared, else `window/showMessageRequest`."""

    def __init__(self, ls: ClawLanguageServer, slot: SessionSlot) -> None:
        self.ls = ls
        self.slot = slot

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        """Ask the user whether a tool call may run, showing the exact command or path."""
        if request.reviewable:
            # The applier shows the concrete change for review before anything lands (or applies
            # it directly in acceptEdits mode): asking here too would ask twice about one edit.
            return PermissionAnswer("allow_once")
        handle = self.slot.current
        if handle is not None:
            handle.set_step(f"Waiting for your permission: {request.title}")
        try:
            if self.ls.client_features.permission:
                return await self._ask_custom(request)
            return await self._ask_standard(request)
        finally:
            if handle is not None:
                handle.set_step(request.title)

    async def _ask_custom(self, request: PermissionRequest) -> PermissionAnswer:
        rule = request.suggested_rule
        options = [
            PermissionOption(optionId="allow_once", name="Allow once", kind="allow_once"),
            PermissionOption(
                optionId="allow_always",
                name=f"Always allow {rule}" if rule else "Always allow",
                kind="allow_always",
            ),
            PermissionOption(optionId="reject_once", name="Reject", kind="reject_once"),
            PermissionOption(
                optionId="reject_always",
                name=f"Always reject {rule}" if rule else "Always reject",
                kind="reject_always",
            ),
        ]
        params = PermissionParams(
            runId=self.slot.current.run.id if self.slot.current else "",
            toolCall=PermissionToolCall(
                toolCallId=request.tool_call_id,
                title=request.description or request.title,
                kind=request.kind,
                rawInput=request.input,
            ),
            subject=request.subject,
            options=options,
        )
        raw = await self.ls.protocol.send_request_async(METHOD_PERMISSION, wire(params))
        try:
            result = PermissionResult.model_validate(plain_json(raw) or {})
        except ValueError:
            return PermissionAnswer("reject_once", feedback="The editor sent an unreadable answer.")
        if result.outcome.outcome != "selected" or result.outcome.optionId not in {
            "allow_once",
            "allow_always",
            "reject_once",
            "reject_always",
        }:
            return PermissionAnswer("reject_once", feedback=result.feedback or "")
        kind = result.outcome.optionId
        if kind in ("allow_always", "reject_always") and not rule:
            kind = "allow_once" if kind == "allow_always" else "reject_once"
        return PermissionAnswer(kind, feedback=result.feedback or "")  # type: ignore[arg-type]

    async def _ask_standard(self, request: PermissionRequest) -> PermissionAnswer:
        rule = request.suggested_rule
        always = f"Always allow {rule}" if rule else None
        titles = ["Allow once", *([always] if always else []), "Deny"]
        subject = request.subject or request.title
        # The exact command (or path) once, with the model's own description of it when given.
        message = f"Claw wants to run {request.tool_name}: {subject}"
        if request.description:
            message += f"\n{request.description}"
        answer = await self.ls.window_show_message_request_async(
            types.ShowMessageRequestParams(
                type=types.MessageType.Warning,
                message=message,
                actions=[types.MessageActionItem(title=t) for t in titles],
            )
        )
        chosen = answer.title if answer is not None else None
        if chosen == "Allow once":
            return PermissionAnswer("allow_once")
        if always is not None and chosen == always:
            return PermissionAnswer("allow_always")
        reason = "dismissed the question" if chosen is None else "chose Deny"
        return PermissionAnswer("reject_once", feedback=f"(the user {reason})")
