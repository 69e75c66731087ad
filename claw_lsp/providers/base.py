"""The provider contract: one streamed model turn in, one assistant message out.

A provider turns a `ModelRequest` (system prompt, transcript, tool specs) into a streamed
assistant turn. While streaming it calls `on_delta` with text/thinking pieces so the user sees the
answer as it arrives; it returns the complete `ModelTurn`. Cancellation is asyncio cancellation of
the awaiting task: a provider must let `CancelledError` through promptly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from claw_lsp.core.messages import Message, Usage

ErrorKind = Literal[
    "auth", "invalid_request", "rate_limit", "overloaded", "server", "connection", "config", "other"
]


class ProviderError(Exception):
    """A model API failure, with a one-line message fit to show a user."""

    def __init__(self, message: str, *, kind: ErrorKind = "other", retryable: bool = False) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.retryable = retryable


@dataclass
class ToolSpec:
    """A tool as the model sees it."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass
class ModelRequest:
    """Everything one model call needs."""

    system: str
    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int = 16000
    # A stable prefix of `system` that changes rarely (cache breakpoint goes after it).
    purpose: Literal["turn", "compaction"] = "turn"


@dataclass
class Delta:
    """A streamed piece of the turn: visible text, thinking, or partial tool input."""

    kind: Literal["text", "thinking", "tool_input"]
    text: str
    index: int = 0


@dataclass
class ModelTurn:
    """A finished assistant turn."""

    message: Message
    stop_reason: str
    usage: Usage
    model: str
    cost_usd: float = 0.0


class Model(Protocol):
    """A model client. `name` is the model id; `context_window` its size in tokens."""

    name: str
    provider: str
    context_window: int

    async def complete(
        self, request: ModelRequest, on_delta: Callable[[Delta], None] | None = None
    ) -> ModelTurn:
        """Stream one assistant turn, calling `on_delta` as pieces arrive; return the whole turn."""
        ...

    def cost(self, usage: Usage) -> float:
        """The price in USD of the given usage with this model."""
        ...
