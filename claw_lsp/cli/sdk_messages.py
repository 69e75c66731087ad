"""Claude Code's `-p` output messages, built from claw's runs: what `--output-format stream-json`
prints line by line and `--output-format json` prints once (the `result`).

The shapes are Claude Code 2.1's (`SDKMessage` of the Agent SDKs): `system`/`init`, one
`assistant` message per model message (`message` as the Messages API returned it, with id, model,
content blocks, stop_reason and usage), `user` messages carrying tool results, `stream_event` with
the raw Messages API stream events (`--include-partial-messages`) and the final `result`. Every key
the Python SDK's `message_parser` requires is present; a subagent's messages carry the `Agent` call
that runs it as `parent_tool_use_id`.

`Transcriber` keeps what a result needs across one run (api time, usage per model, permission
denials, the last stop_reason) and turns claw's run events and model turns into these messages.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

if TYPE_CHECKING:
    from claw_lsp.core.events import RunFinished, ToolCallStarted, ToolCallUpdated
    from claw_lsp.core.messages import Usage
    from claw_lsp.providers.base import Delta, ModelTurn

# The Claude Code release whose `-p` contract this module speaks (the SDK reads it from
# `system/init` to decide which features the CLI has).
CLAUDE_CODE_VERSION = "2.1.0"

ResultSubtype = Literal[
    "success",
    "error_max_turns",
    "error_during_execution",
    "error_max_budget_usd",
    "error_max_structured_output_retries",
]


class McpServerStatus(TypedDict):
    """One MCP server as `system/init` and `mcp_status` list it."""

    name: str
    status: str


class InitMessage(TypedDict):
    """`{"type": "system", "subtype": "init", ...}`: the session's set-up, first on the stream."""

    type: Literal["system"]
    subtype: Literal["init"]
    uuid: str
    session_id: str
    cwd: str
    model: str
    tools: list[str]
    mcp_servers: list[McpServerStatus]
    permissionMode: str
    slash_commands: list[str]
    agents: list[str]
    skills: list[str]
    plugins: list[dict[str, Any]]
    apiKeySource: str
    output_style: str
    claude_code_version: str
    claw_version: str


class ApiMessage(TypedDict):
    """A model message in the Messages API's shape."""

    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[dict[str, Any]]
    stop_reason: str | None
    stop_sequence: str | None
    usage: dict[str, Any]


class AssistantMessage(TypedDict):
    """`{"type": "assistant", "message": {...}}`: one model message."""

    type: Literal["assistant"]
    message: ApiMessage
    parent_tool_use_id: str | None
    session_id: str
    uuid: str


class UserMessage(TypedDict):
    """`{"type": "user", "message": {"role": "user", "content": [tool_result]}}`."""

    type: Literal["user"]
    message: dict[str, Any]
    parent_tool_use_id: str | None
    session_id: str
    uuid: str
    tool_use_result: NotRequired[Any]


class StreamEventMessage(TypedDict):
    """`{"type": "stream_event", "event": <a raw Messages API stream event>}`."""

    type: Literal["stream_event"]
    event: dict[str, Any]
    parent_tool_use_id: str | None
    session_id: str
    uuid: str


class PermissionDenial(TypedDict):
    """A tool call the permission rules, the user or a hook refused."""

    tool_name: str
    tool_use_id: str
    tool_input: dict[str, Any]


class ResultMessage(TypedDict):
    """`{"type": "result", ...}`: the end of one prompt's run (what `--output-format json` prints)."""

    type: Literal["result"]
    subtype: ResultSubtype
    is_error: bool
    duration_ms: int
    duration_api_ms: int
    num_turns: int
    result: str
    stop_reason: str | None
    session_id: str
    total_cost_usd: float
    usage: dict[str, Any]
    modelUsage: dict[str, dict[str, Any]]
    permission_denials: list[PermissionDenial]
    errors: list[str]
    terminal_reason: str
    uuid: str
    structured_output: NotRequired[Any]


def new_uuid() -> str:
    """A fresh message uuid."""
    return str(uuid.uuid4())


def api_usage(usage: Usage) -> dict[str, Any]:
    """Usage in the Messages API's shape (Claude Code adds the server-tool counters)."""
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "output_tokens": usage.output_tokens,
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
        "service_tier": "standard",
    }


def init_message(
    *,
    session_id: str,
    cwd: str,
    model: str,
    tools: list[str],
    mcp_servers: list[McpServerStatus],
    permission_mode: str,
    slash_commands: list[str],
    agents: list[str],
    skills: list[str],
    api_key_source: str,
) -> InitMessage:
    """The `system`/`init` message."""
    from claw_lsp import __version__

    return {
        "type": "system",
        "subtype": "init",
        "uuid": new_uuid(),
        "session_id": session_id,
        "cwd": cwd,
        "model": model,
        "tools": tools,
        "mcp_servers": mcp_servers,
        "permissionMode": permission_mode,
        "slash_commands": slash_commands,
        "agents": agents,
        "skills": skills,
        "plugins": [],
        "apiKeySource": api_key_source,
        "output_style": "default",
        "claude_code_version": CLAUDE_CODE_VERSION,
        "claw_version": __version__,
    }


def error_result(message: str, *, session_id: str, duration_ms: int = 0) -> ResultMessage:
    """The `is_error` result of a run that could not start (no API key, unknown session...)."""
    return {
        "type": "result",
        "subtype": "error_during_execution",
        "is_error": True,
        "duration_ms": duration_ms,
        "duration_api_ms": 0,
        "num_turns": 0,
        "result": message,
        "stop_reason": None,
        "session_id": session_id,
        "total_cost_usd": 0.0,
        "usage": api_usage(_zero_usage()),
        "modelUsage": {},
        "permission_denials": [],
        "errors": [message],
        "terminal_reason": "turn_setup_failed",
        "uuid": new_uuid(),
    }


def _zero_usage() -> Usage:
    from claw_lsp.core.messages import Usage

    return Usage()


@dataclass
class _ModelTotals:
    usage: Usage
    cost_usd: float = 0.0
    context_window: int = 0


@dataclass
class _PartialStream:
    """The raw stream events of the model message being streamed (`--include-partial-messages`)."""

    message_id: str
    model: str
    open_index: int | None = None
    open_kind: str = ""
    tool_json: dict[int, list[str]] = field(default_factory=dict)


class Transcriber:
    """Claude Code's messages for one session's runs; keeps what each `result` reports."""

    def __init__(self, session_id: str, *, max_output_tokens: int = 16000) -> None:
        self.session_id = session_id
        self.max_output_tokens = max_output_tokens
        self.reset()

    def reset(self) -> None:
        """Start a new prompt's run (a result reports that run only)."""
        self.api_ms = 0.0
        self.models: dict[str, _ModelTotals] = {}
        self.denials: list[PermissionDenial] = []
        self.stop_reason: str | None = None
        self.in_tools = False
        self.tool_inputs: dict[str, tuple[str, dict[str, Any]]] = {}
        self.partial: dict[str | None, _PartialStream] = {}
        self.structured_output: Any = None

    # -- model turns ---------------------------------------------------------------------------

    def turn(
        self,
        turn: ModelTurn,
        *,
        elapsed_s: float,
        context_window: int,
        parent_tool_use_id: str | None,
    ) -> AssistantMessage:
        """One model message as an `assistant` message (and its time and usage counted)."""
        self.api_ms += elapsed_s * 1000
        totals = self.models.get(turn.model)
        if totals is None:
            totals = self.models[turn.model] = _ModelTotals(_zero_usage(), 0.0, context_window)
        totals.usage = totals.usage + turn.usage
        totals.cost_usd += turn.cost_usd
        partial = self.partial.pop(parent_tool_use_id, None)
        message_id = partial.message_id if partial is not None else "msg_" + uuid.uuid4().hex[:24]
        if parent_tool_use_id is None:
            self.stop_reason = turn.stop_reason
        return {
            "type": "assistant",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": turn.model,
                "content": [_api_block(b) for b in turn.message.to_api()["content"]],
                "stop_reason": turn.stop_reason,
                "stop_sequence": None,
                "usage": api_usage(turn.usage),
            },
            "parent_tool_use_id": parent_tool_use_id,
            "session_id": self.session_id,
            "uuid": new_uuid(),
        }

    def delta(self, delta: Delta, model: str, parent_tool_use_id: str | None) -> list[StreamEventMessage]:
        """The raw stream events a streamed piece stands for (message_start on the first one)."""
        events: list[dict[str, Any]] = []
        stream = self.partial.get(parent_tool_use_id)
        if stream is None:
            stream = _PartialStream("msg_" + uuid.uuid4().hex[:24], model)
            self.partial[parent_tool_use_id] = stream
            events.append(
                {
                    "type": "message_start",
                    "message": {
                        "id": stream.message_id,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": api_usage(_zero_usage()),
                    },
                }
            )
        if delta.kind == "tool_input":  # its block (id, name) is known once the message is whole
            stream.tool_json.setdefault(delta.index, []).append(delta.text)
            return self._wrap(events, parent_tool_use_id)
        if stream.open_index != delta.index:
            events.extend(self._close_block(stream))
            stream.open_index, stream.open_kind = delta.index, delta.kind
            block: dict[str, Any] = (
                {"type": "text", "text": ""}
                if delta.kind == "text"
                else {"type": "thinking", "thinking": "", "signature": ""}
            )
            events.append({"type": "content_block_start", "index": delta.index, "content_block": block})
        body = (
            {"type": "text_delta", "text": delta.text}
            if delta.kind == "text"
            else {"type": "thinking_delta", "thinking": delta.text}
        )
        events.append({"type": "content_block_delta", "index": delta.index, "delta": body})
        return self._wrap(events, parent_tool_use_id)

    def turn_end_events(self, turn: ModelTurn, parent_tool_use_id: str | None) -> list[StreamEventMessage]:
        """The stream events that close a streamed message: its tool_use blocks, message_delta,
        message_stop (nothing when no piece of it streamed)."""
        stream = self.partial.get(parent_tool_use_id)
        if stream is None:
            return []
        events = self._close_block(stream)
        tool_uses = turn.message.tool_uses()
        for k, (index, pieces) in enumerate(sorted(stream.tool_json.items())):
            if k >= len(tool_uses):
                break
            block = tool_uses[k]
            start = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
            events.append({"type": "content_block_start", "index": index, "content_block": start})
            partial_json = {"type": "input_json_delta", "partial_json": "".join(pieces)}
            events.append({"type": "content_block_delta", "index": index, "delta": partial_json})
            events.append({"type": "content_block_stop", "index": index})
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": turn.stop_reason, "stop_sequence": None},
                "usage": api_usage(turn.usage),
            }
        )
        events.append({"type": "message_stop"})
        return self._wrap(events, parent_tool_use_id)

    @staticmethod
    def _close_block(stream: _PartialStream) -> list[dict[str, Any]]:
        if stream.open_index is None:
            return []
        events: list[dict[str, Any]] = []
        if stream.open_kind == "thinking":
            signature = {"type": "signature_delta", "signature": ""}
            events.append({"type": "content_block_delta", "index": stream.open_index, "delta": signature})
        events.append({"type": "content_block_stop", "index": stream.open_index})
        stream.open_index = None
        return events

    def _wrap(self, events: list[dict[str, Any]], parent: str | None) -> list[StreamEventMessage]:
        return [
            {
                "type": "stream_event",
                "event": event,
                "parent_tool_use_id": parent,
                "session_id": self.session_id,
                "uuid": new_uuid(),
            }
            for event in events
        ]

    # -- tool calls ----------------------------------------------------------------------------

    def tool_started(self, event: ToolCallStarted) -> None:
        """Remember a tool call's input (for a denial) and that tools are running."""
        self.tool_inputs[event.tool_call_id] = (event.name, dict(event.input))
        if event.parent_tool_call_id is None:
            self.in_tools = True

    def tool_finished(self, event: ToolCallUpdated) -> UserMessage | None:
        """A finished tool call as the `user` message carrying its tool_result (None: not finished)."""
        if event.status not in ("completed", "failed") or event.output is None:
            return None
        name, tool_input = self.tool_inputs.pop(event.tool_call_id, ("", {}))
        if event.denied:
            self.denials.append(
                {"tool_name": name, "tool_use_id": event.tool_call_id, "tool_input": tool_input}
            )
        if event.parent_tool_call_id is None:
            self.in_tools = False
        is_error = event.status == "failed"
        block = {
            "type": "tool_result",
            "tool_use_id": event.tool_call_id,
            "content": event.output,
            "is_error": is_error,
        }
        return {
            "type": "user",
            "message": {"role": "user", "content": [block]},
            "parent_tool_use_id": event.parent_tool_call_id,
            "session_id": self.session_id,
            "uuid": new_uuid(),
            "tool_use_result": f"Error: {event.output}" if is_error else event.output,
        }

    # -- the end -------------------------------------------------------------------------------

    def result(self, finished: RunFinished, *, errors: list[str] | None = None) -> ResultMessage:
        """The run's `result` message, with Claude Code's subtype, stop_reason and terminal_reason."""
        subtype, terminal = _ends(finished.stop_reason, self.in_tools)
        failed = finished.stop_reason not in ("end_turn", "refusal", "max_tokens")
        text = finished.result if not failed else (finished.error or finished.result)
        if finished.stop_reason == "error" and finished.error:
            text = (
                f"API Error: {finished.error}" if "internal error" not in finished.error else finished.error
            )
        all_errors = list(errors or [])
        if failed and subtype != "success" and finished.error and finished.error not in all_errors:
            all_errors.append(finished.error)
        result: ResultMessage = {
            "type": "result",
            "subtype": subtype,
            "is_error": failed,
            "duration_ms": finished.duration_ms,
            "duration_api_ms": round(self.api_ms),
            "num_turns": finished.turns,
            "result": text,
            "stop_reason": self.stop_reason,
            "session_id": finished.session_id,
            "total_cost_usd": finished.cost_usd,
            "usage": api_usage(finished.usage),
            "modelUsage": {
                name: {
                    "inputTokens": t.usage.input_tokens,
                    "outputTokens": t.usage.output_tokens,
                    "cacheReadInputTokens": t.usage.cache_read_input_tokens,
                    "cacheCreationInputTokens": t.usage.cache_creation_input_tokens,
                    "webSearchRequests": 0,
                    "costUSD": round(t.cost_usd, 6),
                    "contextWindow": t.context_window,
                    "maxOutputTokens": self.max_output_tokens,
                }
                for name, t in self.models.items()
            },
            "permission_denials": list(self.denials),
            "errors": all_errors,
            "terminal_reason": terminal,
            "uuid": new_uuid(),
        }
        if self.structured_output is not None:
            result["structured_output"] = self.structured_output
        return result


def _ends(stop_reason: str, in_tools: bool) -> tuple[ResultSubtype, str]:
    """Claude Code's result subtype and terminal_reason for a claw stop reason."""
    if stop_reason == "max_turns":
        return "error_max_turns", "max_turns"
    if stop_reason == "budget":
        return "error_max_budget_usd", "budget_exhausted"
    if stop_reason == "cancelled":
        return "error_during_execution", "aborted_tools" if in_tools else "aborted_streaming"
    if stop_reason == "error":
        # An API failure is `success` with is_error, as Claude Code reports it.
        return "success", "model_error"
    return "success", "completed"


def _api_block(block: dict[str, Any]) -> dict[str, Any]:
    """A content block as the SDK parses it (thinking always has a signature)."""
    if block.get("type") == "thinking":
        return {
            "type": "thinking",
            "thinking": block.get("thinking", ""),
            "signature": block.get("signature", ""),
        }
    return block


class Clock:
    """Measures one model call's wall time (the result's duration_api_ms)."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the call began."""
        return time.monotonic() - self.started
