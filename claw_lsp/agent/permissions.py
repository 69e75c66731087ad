"""Permission modes and allow/ask/deny rules; asks the user through a `Prompter`.

(Interface first: the full rule engine lands with the tool suite.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Behavior = Literal["allow", "ask", "deny"]
AnswerKind = Literal["allow_once", "allow_always", "reject_once", "reject_always"]


@dataclass
class Decision:
    """What the engine decided for one tool call, and why (the reason is shown to the model)."""

    behavior: Behavior
    reason: str = ""
    # The rule "Always allow" would add, e.g. "Bash(npm test:*)" or "Edit(src/**)".
    suggested_rule: str | None = None


@dataclass
class PermissionRequest:
    """A question for the user: may this tool call run?"""

    tool_call_id: str
    tool_name: str
    title: str  # e.g. "Run: rm -rf build"
    subject: str | None  # the exact command or path
    suggested_rule: str | None
    input: dict[str, object] = field(default_factory=dict)


@dataclass
class PermissionAnswer:
    """The user's answer; `feedback` goes back to the model on a rejection."""

    outcome: AnswerKind
    feedback: str = ""

    @property
    def allowed(self) -> bool:
        """True for allow_once / allow_always."""
        return self.outcome.startswith("allow")


class Prompter(Protocol):
    """Asks the user (terminal, LSP request, test script)."""

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        """Ask whether a tool call may run."""
        ...


class DenyingPrompter:
    """For non-interactive use: every question is answered with a rejection that says why."""

    def __init__(self, why: str = "no one is there to ask (non-interactive run)") -> None:
        self.why = why

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        """Reject, explaining that nobody could be asked."""
        return PermissionAnswer("reject_once", feedback=f"Permission denied: {self.why}.")
