"""The Anthropic provider: one streamed Messages API turn through the official `anthropic` SDK.

- Streaming with `client.messages.stream(...)`: text, thinking and tool-input deltas go to
  `on_delta` as they arrive; the turn is `get_final_message()` converted to our `Message`.
- Prompt caching: `cache_control: ephemeral` on the last tool and on the system block (the stable
  tools+system prefix), and rolling breakpoints on the last block of the newest message and of the
  user message before it, so each request reads the prefix the previous one wrote (4 breakpoints
  at most, as the API allows).
- Retries: the SDK retries HTTP 408/409/429/5xx itself (`max_retries`, honouring retry-after).
  It does not retry an `event: error` inside a 200 stream (e.g. overloaded_error) nor a connection
  dropped mid-stream; we retry those with exponential backoff while no content has been delivered
  (after that a retry would duplicate what the user already saw, so the error goes up).
- Thinking (providers/models.py says what each model takes): the `thinking` / `effort` settings
  become the `thinking` param (a manual budget, or adaptive), `output_config.effort` and the
  interleaved-thinking beta header. Thinking and redacted-thinking blocks come back verbatim
  (signature, data) and go back unchanged; thinking without a signature (another provider's
  reasoning) is never sent. A tool loop whose last assistant turn has no thinking in front (made
  with thinking off, or by another provider) continues without thinking, as the API requires.
- Errors become `ProviderError`s with a one-line message and a `kind`. The API key is never
  logged or put in a message (the SDK reads ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL itself).

The SDK is imported lazily: importing it costs about a second.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any

from claw_lsp.core.messages import (
    WIRE_SEPARATORS,
    ContentBlock,
    Message,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    Usage,
    api_view,
)
from claw_lsp.providers import models, pricing
from claw_lsp.providers.base import Delta, ModelRequest, ModelTurn, ProviderError
from claw_lsp.providers.sdk import SDKModel

log = logging.getLogger(__name__)

EPHEMERAL: dict[str, str] = {"type": "ephemeral"}
FALLBACK_MODEL = "claude-sonnet-4-6"

_FAMILY_ALIAS = r"^claude-{family}-(\d+)(?:-(\d{{1,2}}))?$"


def sdk_models() -> list[str]:
    """The model ids the installed SDK lists (anthropic.types.model_param.ModelParam)."""
    from anthropic.types.model_param import ModelParam

    names: list[str] = []
    for arg in typing.get_args(ModelParam):
        names.extend(a for a in typing.get_args(arg) if isinstance(a, str))
    return names


def deprecated_models() -> dict[str, str]:
    """The SDK's deprecated model ids and their end-of-life dates."""
    from anthropic.resources.messages.messages import DEPRECATED_MODELS

    return dict(DEPRECATED_MODELS)


def newest_alias(family: str) -> str | None:
    """The newest non-deprecated alias of a model family ("sonnet", "opus", "haiku") in the
    installed SDK's model list, e.g. claude-sonnet-4-6; None when the SDK lists none."""
    try:
        names, deprecated = sdk_models(), deprecated_models()
    except ImportError:
        return None
    pattern = re.compile(_FAMILY_ALIAS.format(family=re.escape(family)))
    best: tuple[tuple[int, int], str] | None = None
    for name in names:
        m = pattern.match(name)
        if not m or name in deprecated:
            continue
        version = (int(m.group(1)), int(m.group(2) or 0))
        if best is None or version > best[0]:
            best = (version, name)
    return best[1] if best else None


def default_model() -> str:
    """The newest non-deprecated Sonnet alias in the installed SDK's model list."""
    return newest_alias("sonnet") or FALLBACK_MODEL


def _cacheable(block: dict[str, Any]) -> bool:
    """Whether a content block may carry cache_control (not thinking, not empty text)."""
    if block.get("type") in ("thinking", "redacted_thinking"):
        return False
    return not (block.get("type") == "text" and not block.get("text"))


def _mark_last_block(message: dict[str, Any]) -> dict[str, Any]:
    """The message with a cache breakpoint on its last cacheable block (a copy where it changes:
    the message dicts are shared, see `api_view`)."""
    content = message.get("content")
    if isinstance(content, list):
        for i in range(len(content) - 1, -1, -1):
            if _cacheable(content[i]):
                marked = [*content]
                marked[i] = {**content[i], "cache_control": dict(EPHEMERAL)}
                return {**message, "content": marked}
    return message


def _unsigned_thinking(block: dict[str, Any]) -> bool:
    return block.get("type") == "thinking" and not block.get("signature")


def _api_messages(messages: list[Message]) -> tuple[list[dict[str, Any]], list[str | None]]:
    """The messages as API dicts (shared, built once per message: `api_view`), and each one's
    JSON where it is the shared dict (None where it was changed); thinking blocks without a
    signature (not the API's) left out."""
    out: list[dict[str, Any]] = []
    wires: list[str | None] = []
    for m in messages:
        view = api_view(m)
        data = view.api
        wire: str | None = view.wire
        if m.role == "assistant" and any(_unsigned_thinking(b) for b in data["content"]):
            data = {**data, "content": [b for b in data["content"] if not _unsigned_thinking(b)]}
            wire = None
        out.append(data)
        wires.append(wire)
    return out, wires


def _continues_without_thinking(messages: list[dict[str, Any]]) -> bool:
    """True when the request continues a tool loop whose assistant turn has no thinking in front:
    with thinking on, the API refuses that turn (thinking must stay off until the next prompt)."""
    if len(messages) < 2 or messages[-1]["role"] != "user":
        return False
    if not any(b.get("type") == "tool_result" for b in messages[-1]["content"]):
        return False
    turn = messages[-2]
    if turn["role"] != "assistant" or not any(b.get("type") == "tool_use" for b in turn["content"]):
        return False
    first = turn["content"][0].get("type") if turn["content"] else None
    return first not in ("thinking", "redacted_thinking")


def build_params(
    model: str,
    request: ModelRequest,
    thinking: Mapping[str, Any] | None = None,
    *,
    thinking_setting: object = None,
    effort: str | None = None,
) -> dict[str, Any]:
    """The Messages API parameters for `request`, with prompt-cache breakpoints placed.

    `thinking` is a raw API `thinking` param sent as given; otherwise the `thinking` / `effort`
    settings are planned against the model table (`models.thinking_plan`). The beta headers, if
    any, are in `extra_headers`."""
    return _build(model, request, thinking, thinking_setting=thinking_setting, effort=effort)[0]


def _build(
    model: str,
    request: ModelRequest,
    thinking: Mapping[str, Any] | None = None,
    *,
    thinking_setting: object = None,
    effort: str | None = None,
) -> tuple[dict[str, Any], list[str | None]]:
    """`build_params`, and the JSON of each message that is its shared dict (see `request_body`)."""
    params: dict[str, Any] = {"model": model, "max_tokens": request.max_tokens}
    if request.system:
        params["system"] = [{"type": "text", "text": request.system, "cache_control": dict(EPHEMERAL)}]
    if request.tools:
        tools: list[dict[str, Any]] = [
            {"name": t.name, "description": t.description, "input_schema": t.input_schema}
            for t in request.tools
        ]
        tools[-1]["cache_control"] = dict(EPHEMERAL)
        params["tools"] = tools
    messages, wires = _api_messages(request.messages)
    if messages:
        marked = [len(messages) - 1]
        # The previous request's rolling breakpoint: the user message before the newest one.
        if messages[-1]["role"] == "user":
            earlier = next(
                (i for i in range(len(messages) - 2, -1, -1) if messages[i]["role"] == "user"), None
            )
            if earlier is not None:
                marked.append(earlier)
        for i in marked:
            messages[i] = _mark_last_block(messages[i])
            wires[i] = None
    params["messages"] = messages
    enabled = request.purpose != "compaction" and not _continues_without_thinking(messages)
    if thinking:
        if enabled:
            params["thinking"] = dict(thinking)
        return params, wires
    plan = models.thinking_plan(
        model, request.max_tokens, setting=thinking_setting, effort=effort, enabled=enabled
    )
    params["max_tokens"] = plan.max_tokens
    if plan.thinking is not None:
        params["thinking"] = plan.thinking
    if plan.output_config is not None:
        params["output_config"] = plan.output_config
    if plan.betas:
        params["extra_headers"] = {"anthropic-beta": ",".join(plan.betas)}
    return params, wires


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=WIRE_SEPARATORS, allow_nan=False)


def request_body(params: dict[str, Any], wires: list[str | None]) -> bytes:
    """The JSON body of a streamed Messages API request for `params` (less `extra_headers`: those
    are headers), written as the SDK writes it, with each message's JSON taken from `wires` where
    it is known (`api_view`: made once per message).

    `client.messages.stream(**params)` would copy the params container by container in Python
    and encode them again, the whole history every turn (3-4 ms a turn at 400 messages); this
    costs the new messages and a join. The SDK still sends it (`client.post` with `content`):
    headers, retries, errors and the event stream are its own."""
    parts = []
    for key, value in params.items():
        if key == "extra_headers":
            continue
        if key == "messages":
            text = (
                "["
                + ",".join(w if w is not None else _dumps(m) for m, w in zip(value, wires, strict=True))
                + "]"
            )
        else:
            text = _dumps(value)
        parts.append(f"{_dumps(key)}:{text}")
    parts.append('"stream":true')
    return ("{" + ",".join(parts) + "}").encode("utf-8")


# What `client.messages.stream()` adds to a request's headers (the SDK's own usage telemetry).
_STREAM_HEADERS = {"x-stainless-helper-method": "stream", "x-stainless-stream-helper": "messages"}


def _convert_content(blocks: list[Any]) -> list[ContentBlock]:
    """SDK content blocks -> our blocks (server-side tool blocks are dropped)."""
    out: list[ContentBlock] = []
    for b in blocks:
        if b.type == "text":
            out.append(TextBlock(text=b.text))
        elif b.type == "thinking":
            out.append(ThinkingBlock(thinking=b.thinking, signature=b.signature or ""))
        elif b.type == "redacted_thinking":
            out.append(RedactedThinkingBlock(data=b.data))
        elif b.type == "tool_use":
            out.append(ToolUseBlock(id=b.id, name=b.name, input=dict(b.input or {})))
    return out


def _convert_usage(u: Any) -> Usage:
    return Usage(
        input_tokens=u.input_tokens or 0,
        output_tokens=u.output_tokens or 0,
        cache_creation_input_tokens=getattr(u, "cache_creation_input_tokens", None) or 0,
        cache_read_input_tokens=getattr(u, "cache_read_input_tokens", None) or 0,
    )


class _StreamRetry(Exception):
    """A failure inside a stream that may be retried (nothing delivered yet)."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(str(error))
        self.error = error


class AnthropicModel(SDKModel):
    """A `Model` on `anthropic.AsyncAnthropic` streaming, with prompt caching and retries."""

    provider = "anthropic"

    def __init__(
        self,
        model: str | None = None,
        *,
        stream_retries: int = 3,
        retry_base_delay: float = 1.0,
        thinking: Mapping[str, Any] | bool | None = None,
        effort: str | None = None,
        context_window: int | None = None,
        **options: Any,
    ) -> None:
        """Configure the client; the shared options (key, URL, retries, timeout, prices) go to
        `SDKModel`. `thinking`: the setting (`{"budgetTokens": N}`, True, False; None = the
        model's default) or a raw API `thinking` param (a mapping with `type`); `effort`: the
        effort setting, sent where the model takes it."""
        name = model or default_model()
        window = context_window or models.context_window(name)
        super().__init__(name, context_window=window, **options)
        self.stream_retries = stream_retries
        self.retry_base_delay = retry_base_delay
        raw = thinking if isinstance(thinking, Mapping) and "type" in thinking else None
        self.thinking: Mapping[str, Any] | None = raw
        self.thinking_setting: object = thinking if raw is None else None
        self.effort = effort

    def cost(self, usage: Usage) -> float:
        """The price in USD of `usage` with this model."""
        return pricing.cost(self.name, usage, self.prices)

    def _new_client(self) -> Any:
        import anthropic

        kwargs: dict[str, Any] = {"max_retries": self.max_retries, "timeout": self.timeout}
        if self._api_key:
            kwargs["api_key"] = self._api_key
        if self._base_url:
            kwargs["base_url"] = self._base_url
        client = anthropic.AsyncAnthropic(**kwargs)
        if not (client.api_key or client.auth_token or client.credentials):
            raise ProviderError(
                "No Anthropic API key: set the ANTHROPIC_API_KEY environment variable", kind="auth"
            )
        return client

    def _default_base_url(self) -> str:
        return "the Anthropic API"

    def _known_key(self) -> str | None:
        return self._api_key or (self._client.api_key if self._client is not None else None)

    async def complete(
        self, request: ModelRequest, on_delta: Callable[[Delta], None] | None = None
    ) -> ModelTurn:
        """Stream one assistant turn, forwarding deltas; retry in-stream failures before content."""
        client = self._get_client()
        params, wires = _build(
            self.name, request, self.thinking, thinking_setting=self.thinking_setting, effort=self.effort
        )
        body = request_body(params, wires)
        headers = {**_STREAM_HEADERS, **params.get("extra_headers", {})}
        attempt = 0
        while True:
            try:
                return await self._stream_once(client, body, headers, on_delta)
            except _StreamRetry as retry:
                if attempt >= self.stream_retries:
                    raise retry.error from retry.__cause__
                delay = self.retry_base_delay * (2**attempt) * (1 + 0.25 * random.random())
                attempt += 1
                log.info("%s; retry %d/%d in %.2fs", retry.error, attempt, self.stream_retries, delay)
                await asyncio.sleep(delay)

    async def _stream_once(
        self, client: Any, body: bytes, headers: dict[str, str], on_delta: Callable[[Delta], None] | None
    ) -> ModelTurn:
        import anthropic
        import httpx2
        from anthropic.lib.streaming import AsyncMessageStreamManager
        from anthropic.types import RawMessageStreamEvent

        opened = delivered = False
        request = client.post(
            "/v1/messages",
            cast_to=anthropic.types.Message,
            content=body,
            options={"headers": headers},
            stream=True,
            stream_cls=anthropic.AsyncStream[RawMessageStreamEvent],
        )
        try:
            async with AsyncMessageStreamManager(request) as stream:
                opened = True
                async for event in stream:
                    if event.type != "content_block_delta":
                        continue
                    d = event.delta
                    if d.type == "text_delta":
                        delta = Delta("text", d.text, event.index)
                    elif d.type == "thinking_delta":
                        delta = Delta("thinking", d.thinking, event.index)
                    elif d.type == "input_json_delta":
                        delta = Delta("tool_input", d.partial_json, event.index)
                    else:
                        continue
                    delivered = True
                    if on_delta is not None:
                        on_delta(delta)
                final = await stream.get_final_message()
        except anthropic.APIStatusError as e:
            err = self._status_error(e)
            if e.status_code == 200 and err.retryable and not delivered:
                raise _StreamRetry(err) from e
            raise err from e
        except anthropic.APIConnectionError as e:
            # Before the response, the SDK has already retried (max_retries). After it, a read
            # that fails is the stream's: SDKs from 2.17 wrap it (httpx2's error as the cause).
            err = self._connection_error(e.__cause__ or e)
            if opened and not delivered:
                raise _StreamRetry(err) from e
            raise err from e
        except httpx2.TransportError as e:
            err = self._connection_error(e)
            if not delivered:
                raise _StreamRetry(err) from e
            raise err from e
        usage = _convert_usage(final.usage)
        return ModelTurn(
            message=Message(role="assistant", content=_convert_content(final.content)),
            stop_reason=final.stop_reason or "end_turn",
            usage=usage,
            model=final.model or self.name,
            cost_usd=self.cost(usage),
        )

    def _status_error(self, e: Any) -> ProviderError:
        """An APIStatusError as a one-line ProviderError."""
        status: int = e.status_code
        err_type = getattr(e, "type", None) or ""
        api_msg = getattr(e, "api_message", None) or e.message
        api_msg = self._scrub(str(api_msg))
        if status in (401, 403) or err_type in ("authentication_error", "permission_error"):
            msg = "Anthropic API key rejected: check ANTHROPIC_API_KEY"
            if status == 403 or err_type == "permission_error":
                msg += f" ({api_msg})"
            return ProviderError(msg, kind="auth")
        if status in (400, 404, 413, 422) or err_type in ("invalid_request_error", "not_found_error"):
            return ProviderError(f"Anthropic API rejected the request: {api_msg}", kind="invalid_request")
        if status == 429 or err_type == "rate_limit_error":
            return ProviderError(
                f"Anthropic API rate limit reached: {api_msg}", kind="rate_limit", retryable=True
            )
        if status == 529 or err_type == "overloaded_error":
            return ProviderError(f"Anthropic API is overloaded: {api_msg}", kind="overloaded", retryable=True)
        if status >= 500 or status == 200:
            return ProviderError(
                f"Anthropic API error ({err_type or status}): {api_msg}", kind="server", retryable=True
            )
        return ProviderError(f"Anthropic API error {status}: {api_msg}", kind="other")
