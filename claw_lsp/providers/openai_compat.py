"""The OpenAI-compatible provider: chat-completions streaming through the `openai` SDK.

For any endpoint that speaks the chat-completions API (Ollama, vLLM, llama.cpp server, OpenRouter,
OpenAI). Our Anthropic-shaped transcript is translated both ways: `tool_use` blocks become
assistant `tool_calls`, `tool_result` blocks become `role: "tool"` messages; streamed tool-call
arguments are assembled per call index; `finish_reason` maps to our stop reasons. Reasoning text
that servers stream as `reasoning_content` / `reasoning` becomes thinking deltas (not replayed).

Honours OPENAI_API_KEY and OPENAI_BASE_URL (the SDK reads them) and a `base_url` option. Local
servers need no key, so a placeholder is sent when none is set. The price is 0 unless the `prices`
setting names the model. The SDK is imported lazily.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from claw_lsp.core.messages import (
    ContentBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
)
from claw_lsp.providers import pricing
from claw_lsp.providers.base import Delta, ModelRequest, ModelTurn, ProviderError
from claw_lsp.providers.sdk import SDKModel

DEFAULT_CONTEXT_WINDOW = 128_000
NO_KEY = "sk-no-key-set"
FINISH_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


def _image_parts(block: ToolResultBlock) -> list[dict[str, Any]]:
    """A tool result's images as chat-completions `image_url` parts (data URLs)."""
    return [
        {
            "type": "image_url",
            "image_url": {"url": f"data:{image.source.media_type};base64,{image.source.data}"},
        }
        for image in block.images()
    ]


def to_openai_messages(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    """Our transcript as chat-completions messages."""
    out: list[dict[str, Any]] = []
    if system:
        out.append({"role": "system", "content": system})
    for msg in messages:
        if msg.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": msg.text() or None}
            calls = [
                {
                    "id": b.id,
                    "type": "function",
                    "function": {"name": b.name, "arguments": json.dumps(b.input)},
                }
                for b in msg.tool_uses()
            ]
            if calls:
                entry["tool_calls"] = calls
            elif entry["content"] is None:
                entry["content"] = ""
            out.append(entry)
            continue
        # Tool results must directly follow the assistant message that asked for them.
        images: list[dict[str, Any]] = []
        for block in msg.content:
            if isinstance(block, ToolResultBlock):
                content = block.text()
                if block.is_error and not content.startswith("Error"):
                    content = f"Error: {content}"
                out.append({"role": "tool", "tool_call_id": block.tool_use_id, "content": content})
                images += _image_parts(block)
        text = msg.text()
        if images:  # tool messages carry text only: their images follow in a user message
            parts = [{"type": "text", "text": "The images the tool results above refer to:"}, *images]
            if text:
                parts.append({"type": "text", "text": text})
            out.append({"role": "user", "content": parts})
        elif text:
            out.append({"role": "user", "content": text})
    return out


@dataclass
class _Call:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def block(self, index: int) -> ToolUseBlock:
        raw = "".join(self.arguments)
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except ValueError:
            parsed = {"__invalid_json__": raw}
        if not isinstance(parsed, dict):
            parsed = {"__invalid_json__": raw}
        return ToolUseBlock(id=self.id or f"call_{index}", name=self.name, input=parsed)


class OpenAIModel(SDKModel):
    """A `Model` on `openai.AsyncOpenAI` chat-completions streaming."""

    provider = "openai"

    def __init__(
        self, model: str | None = None, *, context_window: int | None = None, **options: Any
    ) -> None:
        """Configure the client; the shared options (key, URL, retries, timeout, prices) go to
        `SDKModel`."""
        if not model:
            raise ProviderError(
                "The openai provider needs a model name: set `model` in settings or CLAW_MODEL",
                kind="config",
            )
        super().__init__(model, context_window=context_window or DEFAULT_CONTEXT_WINDOW, **options)

    def cost(self, usage: Usage) -> float:
        """0, unless the `prices` setting gives this model a price."""
        if self.prices and self.name in self.prices:
            return pricing.cost(self.name, usage, self.prices)
        return 0.0

    def _default_base_url(self) -> str:
        return os.environ.get("OPENAI_BASE_URL") or "the OpenAI API"

    def _new_client(self) -> Any:
        import openai

        return openai.AsyncOpenAI(
            api_key=self._api_key or os.environ.get("OPENAI_API_KEY") or NO_KEY,
            base_url=self._base_url or None,
            max_retries=self.max_retries,
            timeout=self.timeout,
        )

    def _known_key(self) -> str | None:
        return self._api_key or os.environ.get("OPENAI_API_KEY")

    async def complete(
        self, request: ModelRequest, on_delta: Callable[[Delta], None] | None = None
    ) -> ModelTurn:
        """Stream one assistant turn, forwarding text/thinking/tool-argument deltas."""
        import httpx2
        import openai

        client = self._get_client()
        params: dict[str, Any] = {
            "model": self.name,
            "messages": to_openai_messages(request.system, request.messages),
            "max_tokens": request.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
                }
                for t in request.tools
            ]
        text: list[str] = []
        reasoning: list[str] = []
        calls: dict[int, _Call] = {}
        finish: str | None = None
        usage = Usage()
        model_name = self.name

        def emit(delta: Delta) -> None:
            if on_delta is not None:
                on_delta(delta)

        try:
            stream = await client.chat.completions.create(**params)
            async for chunk in stream:
                model_name = chunk.model or model_name
                if chunk.usage is not None:
                    usage = _convert_usage(chunk.usage)
                for choice in chunk.choices:
                    d = choice.delta
                    thought = getattr(d, "reasoning_content", None) or getattr(d, "reasoning", None)
                    if isinstance(thought, str) and thought:
                        reasoning.append(thought)
                        emit(Delta("thinking", thought, 0))
                    if d.content:
                        text.append(d.content)
                        emit(Delta("text", d.content, 1))
                    for tc in d.tool_calls or []:
                        call = calls.setdefault(tc.index, _Call())
                        if tc.id:
                            call.id = tc.id
                        if tc.function is not None:
                            if tc.function.name:
                                call.name += tc.function.name
                            if tc.function.arguments:
                                call.arguments.append(tc.function.arguments)
                                emit(Delta("tool_input", tc.function.arguments, 2 + tc.index))
                    if choice.finish_reason:
                        finish = choice.finish_reason
        except openai.APIStatusError as e:
            raise self._status_error(e) from e
        except openai.APIConnectionError as e:
            raise self._connection_error(e.__cause__ or e) from e
        except httpx2.TransportError as e:
            raise self._connection_error(e) from e
        except openai.APIError as e:
            raise ProviderError(
                f"OpenAI-compatible API error: {e.message}", kind="server", retryable=True
            ) from e

        content: list[ContentBlock] = []
        if reasoning:
            content.append(ThinkingBlock(thinking="".join(reasoning)))
        if text:
            content.append(TextBlock(text="".join(text)))
        content.extend(calls[i].block(i) for i in sorted(calls))
        stop = FINISH_REASONS.get(finish or "stop", "end_turn")
        if calls and stop == "end_turn":
            stop = "tool_use"  # some servers say "stop" even when they called tools
        return ModelTurn(
            message=Message(role="assistant", content=content),
            stop_reason=stop,
            usage=usage,
            model=model_name,
            cost_usd=self.cost(usage),
        )

    def _status_error(self, e: Any) -> ProviderError:
        """An APIStatusError as a one-line ProviderError."""
        body = e.body
        api_msg = None
        if isinstance(body, dict):
            api_msg = body.get("message") or (body.get("error") or {}).get("message")
        api_msg = self._scrub(str(api_msg or e.message))
        status: int = e.status_code
        if status in (401, 403):
            return ProviderError(
                f"OpenAI-compatible API key rejected at {self.base_url}: check OPENAI_API_KEY", kind="auth"
            )
        if status in (400, 404, 413, 422):
            return ProviderError(
                f"OpenAI-compatible API rejected the request: {api_msg}", kind="invalid_request"
            )
        if status == 429:
            return ProviderError(
                f"OpenAI-compatible API rate limit reached: {api_msg}", kind="rate_limit", retryable=True
            )
        if status >= 500:
            return ProviderError(
                f"OpenAI-compatible API error {status}: {api_msg}", kind="server", retryable=True
            )
        return ProviderError(f"OpenAI-compatible API error {status}: {api_msg}", kind="other")


def _convert_usage(u: Any) -> Usage:
    prompt = u.prompt_tokens or 0
    details = getattr(u, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
    return Usage(
        input_tokens=max(0, prompt - cached),
        output_tokens=u.completion_tokens or 0,
        cache_read_input_tokens=cached,
    )
