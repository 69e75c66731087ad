"""The Anthropic provider: the real `anthropic` SDK over real HTTP against the fake Messages API."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from claw_lsp.core.messages import (
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
)
from claw_lsp.providers import anthropic as anthropic_provider
from claw_lsp.providers import make_model, pricing
from claw_lsp.providers.anthropic import (
    AnthropicModel,
    build_params,
    default_model,
    deprecated_models,
    sdk_models,
)
from claw_lsp.providers.base import Delta, ModelRequest, ProviderError, ToolSpec
from tests.fakes.fake_messages_api import (
    FakeMessagesAPI,
    dropped,
    http_error,
    hung_up,
    reply,
    stream_error,
    text,
    thinking,
    tool_use,
)

KEY = "sk-ant-test-SECRET-0123456789"
TOOLS = [
    ToolSpec("Read", "Read a file", {"type": "object", "properties": {"file_path": {"type": "string"}}}),
    ToolSpec("Bash", "Run a command", {"type": "object", "properties": {"command": {"type": "string"}}}),
]


@pytest.fixture
async def make(fake_api: FakeMessagesAPI) -> AsyncIterator[Callable[..., AnthropicModel]]:
    """Build models against the fake server (fast retries); their HTTP clients are closed after."""
    made: list[AnthropicModel] = []

    def build(model: str | None = "claude-sonnet-4-6", **options: Any) -> AnthropicModel:
        options = {"api_key": KEY, "base_url": fake_api.url, "retry_base_delay": 0.01, **options}
        made.append(AnthropicModel(model, **options))
        return made[-1]

    yield build
    for m in made:
        await m.aclose()


@pytest.fixture
def model(make: Callable[..., AnthropicModel]) -> AnthropicModel:
    return make()


def request(*messages: Message, tools: list[ToolSpec] | None = None) -> ModelRequest:
    return ModelRequest(
        system="You are Claw.", messages=list(messages) or [Message.user("hi")], tools=tools or []
    )


async def test_text_streams_as_deltas(fake_api: FakeMessagesAPI, model: AnthropicModel) -> None:
    fake_api.queue(reply(text("Hello there, world"), chunk=4))
    deltas: list[Delta] = []
    turn = await model.complete(request(), deltas.append)
    assert [d.text for d in deltas] == ["Hell", "o th", "ere,", " wor", "ld"]
    assert {d.kind for d in deltas} == {"text"}
    assert turn.message == Message(role="assistant", content=[TextBlock(text="Hello there, world")])
    assert turn.stop_reason == "end_turn"
    assert turn.model == "claude-sonnet-4-6"
    body = fake_api.requests[0].body
    assert body["stream"] is True and body["model"] == "claude-sonnet-4-6"


async def test_tool_input_split_mid_token_is_reassembled(
    fake_api: FakeMessagesAPI, model: AnthropicModel
) -> None:
    args = {"file_path": "/work/some dir/ünïcode.py", "offset": 120, "limit": [1, 2.5, None, True]}
    fake_api.queue(reply(text("Reading."), tool_use("Read", args, id="toolu_42"), chunk=3))
    deltas: list[Delta] = []
    turn = await model.complete(request(tools=TOOLS), deltas.append)
    pieces = [d.text for d in deltas if d.kind == "tool_input"]
    assert "".join(pieces) == json.dumps(args)
    prefixes = ["".join(pieces[: i + 1]) for i in range(len(pieces) - 1)]
    assert any(p.count('"') % 2 == 1 for p in prefixes)  # some splits land inside a string token
    assert turn.message.tool_uses() == [ToolUseBlock(id="toolu_42", name="Read", input=args)]
    assert turn.stop_reason == "tool_use"


async def test_thinking_is_streamed_and_kept_with_its_signature(
    fake_api: FakeMessagesAPI, make: Callable[..., AnthropicModel]
) -> None:
    model = make(thinking={"type": "enabled", "budget_tokens": 2048})
    fake_api.queue(reply(thinking("Let me think.", signature="sig-123"), text("Done.")), reply(text("again")))
    deltas: list[Delta] = []
    turn = await model.complete(request(), deltas.append)
    assert "".join(d.text for d in deltas if d.kind == "thinking") == "Let me think."
    assert turn.message.content[0] == ThinkingBlock(thinking="Let me think.", signature="sig-123")
    assert fake_api.requests[0].body["thinking"] == {"type": "enabled", "budget_tokens": 2048}

    await model.complete(request(Message.user("hi"), turn.message, Message.user("more")))
    sent = fake_api.requests[1].body["messages"][1]["content"][0]
    assert sent == {"type": "thinking", "thinking": "Let me think.", "signature": "sig-123"}


def _breakpoints(body: dict[str, Any]) -> list[str]:
    """Where cache_control markers are, as readable paths."""
    found = [f"tools[{i}]" for i, t in enumerate(body.get("tools", [])) if "cache_control" in t]
    found += [f"system[{i}]" for i, b in enumerate(body.get("system", [])) if "cache_control" in b]
    for i, m in enumerate(body["messages"]):
        found += [f"messages[{i}][{j}]" for j, b in enumerate(m["content"]) if "cache_control" in b]
    return found


def _strip_cache(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_cache(v) for k, v in obj.items() if k != "cache_control"}
    if isinstance(obj, list):
        return [_strip_cache(v) for v in obj]
    return obj


async def test_cache_breakpoints_on_tools_system_and_newest_message_share_a_prefix(
    fake_api: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake_api.queue(reply(tool_use("Read", {"file_path": "/a"}, id="toolu_1")), reply(text("ok")))
    first = Message.user("read /a")
    turn = await model.complete(request(first, tools=TOOLS))
    result = Message(role="user", content=[ToolResultBlock(tool_use_id="toolu_1", content="A")])
    await model.complete(request(first, turn.message, result, tools=TOOLS))

    b1, b2 = (r.body for r in fake_api.requests)
    assert b1["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert b1["system"] == [{"type": "text", "text": "You are Claw.", "cache_control": {"type": "ephemeral"}}]
    assert _breakpoints(b1) == ["tools[1]", "system[0]", "messages[0][0]"]
    assert _breakpoints(b2) == ["tools[1]", "system[0]", "messages[0][0]", "messages[2][0]"]
    # The second request starts with exactly the first one (tools, system, messages so far).
    assert b2["tools"] == b1["tools"] and b2["system"] == b1["system"]
    assert b2["messages"][: len(b1["messages"])] == b1["messages"]
    assert _strip_cache(b2["messages"][1]) == turn.message.to_api()


def test_breakpoint_skips_thinking_and_empty_text_and_caps_at_four() -> None:
    msgs = [
        Message.user("a"),
        Message(role="assistant", content=[TextBlock(text="b")]),
        Message.user("c"),
        Message(
            role="assistant", content=[TextBlock(text="x"), TextBlock(text=""), ThinkingBlock(thinking="t")]
        ),
    ]
    body = build_params("m", ModelRequest(system="s", messages=msgs, tools=TOOLS))
    assert _breakpoints(body) == ["tools[1]", "system[0]", "messages[3][0]"]
    long = [
        Message.user(str(i)) if i % 2 == 0 else Message(role="assistant", content=[TextBlock(text="r")])
        for i in range(9)
    ]
    assert len(_breakpoints(build_params("m", ModelRequest(system="s", messages=long, tools=TOOLS)))) == 4


def test_requests_reuse_each_messages_dict_and_never_carry_an_old_breakpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each message's API dict is built once and shared by every later request (a request costs
    what is new in it); the breakpoints go on copies, so a block marked in one request is unmarked
    in the next, and the shared dicts never change."""
    from claw_lsp.core import messages as core_messages

    convo = [Message.user("start")]
    bodies = []
    for turn in range(4):
        convo.append(Message(role="assistant", content=[TextBlock(text=f"answer {turn}")]))
        convo.append(Message.user(f"next {turn}"))
        bodies.append(build_params("m", ModelRequest(system="s", messages=list(convo), tools=TOOLS)))
    for body in bodies:
        assert len(_breakpoints(body)) == 4  # tools, system, the last two user messages
    # The first request's newest message is an older one in the last request: unmarked there.
    assert "cache_control" in bodies[0]["messages"][-1]["content"][-1]
    assert "cache_control" not in bodies[-1]["messages"][2]["content"][-1]
    shared = core_messages.api_view(convo[1]).api
    assert bodies[-1]["messages"][1] is shared and shared == convo[1].to_api()
    views = [core_messages.api_view(m).api for m in convo]
    assert all("cache_control" not in block for view in views for block in view["content"])
    # A changed message is a new object: its own view, not the old one's.
    changed = convo[1].model_copy(update={"content": [TextBlock(text="other")]})
    assert core_messages.api_view(changed).api["content"][0]["text"] == "other"
    # The views are bounded by their JSON size: the least recently used go first.
    monkeypatch.setattr(core_messages, "_VIEW_CHARS", 400)
    many = [Message.user("x" * 50) for _ in range(40)]
    for m in many:
        core_messages.api_view(m)
    assert core_messages._view_chars <= 400 and id(many[-1]) in core_messages._VIEWS
    assert id(many[0]) not in core_messages._VIEWS
    assert core_messages._view_chars == sum(v.chars for _, v in core_messages._VIEWS.values())


async def test_usage_includes_cache_fields_and_cost(fake_api: FakeMessagesAPI, model: AnthropicModel) -> None:
    usage = {
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_creation_input_tokens": 1000,
        "cache_read_input_tokens": 2000,
    }
    fake_api.queue(reply(text("x"), usage=usage))
    turn = await model.complete(request())
    assert turn.usage == Usage(**usage)
    expected = (100 * 3 + 50 * 15 + 1000 * 3.75 + 2000 * 0.3) / 1e6
    assert turn.cost_usd == pytest.approx(expected)
    assert model.cost(turn.usage) == pytest.approx(expected)


def test_pricing_table_families_and_overrides() -> None:
    u = Usage(
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_creation_input_tokens=1_000_000,
        cache_read_input_tokens=1_000_000,
    )
    assert pricing.cost("claude-sonnet-5-5", u) == pytest.approx(3 + 15 + 3.75 + 0.3)
    assert pricing.cost("claude-haiku-4-5-20251001", u) == pytest.approx(1 + 5 + 1.25 + 0.1)
    assert pricing.cost("claude-opus-4-8", u) == pytest.approx(5 + 25 + 6.25 + 0.5)
    assert pricing.cost("claude-opus-4-1-20250805", u) == pytest.approx(15 + 75 + 18.75 + 1.5)
    assert pricing.price_for("claude-sonnet-9-9") == pricing.SONNET  # family fallback
    assert pricing.price_for("claude-haiku-7") == pricing.HAIKU
    for name in sdk_models():
        assert pricing.price_for(name).input > 0
    over = {"claude-sonnet-4-6": {"input": 2.0, "output": 10.0}}
    assert pricing.cost("claude-sonnet-4-6", u, over) == pytest.approx(2 + 10 + 2.5 + 0.2)
    model = AnthropicModel("claude-sonnet-4-6", api_key=KEY, prices=over)
    assert model.cost(Usage(output_tokens=1_000_000)) == pytest.approx(10.0)


async def test_rate_limit_is_retried_by_the_sdk(fake_api: FakeMessagesAPI, model: AnthropicModel) -> None:
    fake_api.queue(http_error(429, retry_after_ms=5), reply(text("after 429")))
    turn = await model.complete(request())
    assert turn.message.text() == "after 429"
    assert [r.headers["x-stainless-retry-count"] for r in fake_api.requests] == ["0", "1"]


async def test_overloaded_and_server_errors_are_retried(
    fake_api: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake_api.queue(http_error(529, retry_after_ms=5), http_error(500, retry_after_ms=5), reply(text("ok")))
    turn = await model.complete(request())
    assert turn.message.text() == "ok"
    assert len(fake_api.requests) == 3


async def test_rate_limit_exhausted_is_a_rate_limit_error(
    fake_api: FakeMessagesAPI, make: Callable[..., AnthropicModel]
) -> None:
    model = make(max_retries=1)
    fake_api.queue(
        http_error(429, "Number of requests too high", retry_after_ms=5),
        http_error(429, "Number of requests too high", retry_after_ms=5),
    )
    with pytest.raises(ProviderError) as err:
        await model.complete(request())
    assert err.value.kind == "rate_limit" and err.value.retryable
    assert "Number of requests too high" in str(err.value)


async def test_error_event_in_stream_is_retried_with_backoff(
    fake_api: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake_api.queue(stream_error("overloaded_error"), stream_error("api_error"), reply(text("third time")))
    turn = await model.complete(request())
    assert turn.message.text() == "third time"
    assert len(fake_api.requests) == 3


async def test_error_event_in_stream_exhausted_is_overloaded(
    fake_api: FakeMessagesAPI, make: Callable[..., AnthropicModel]
) -> None:
    model = make(stream_retries=2)
    fake_api.queue(*[stream_error("overloaded_error")] * 3, reply(text("never")))
    with pytest.raises(ProviderError) as err:
        await model.complete(request())
    assert err.value.kind == "overloaded"
    assert str(err.value) == "Anthropic API is overloaded: Overloaded"
    assert len(fake_api.requests) == 3


async def test_dropped_connection_before_content_is_retried(
    fake_api: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake_api.queue(dropped(after=2), reply(text("reconnected")))
    assert (await model.complete(request())).message.text() == "reconnected"


async def test_dropped_stream_before_any_event_is_retried(
    fake_api: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake_api.queue(dropped(after=0), reply(text("second stream")))
    assert (await model.complete(request())).message.text() == "second stream"
    assert len(fake_api.requests) == 2


async def test_hang_up_before_the_response_is_retried_by_the_sdk_alone(
    fake_api: FakeMessagesAPI, make: Callable[..., AnthropicModel]
) -> None:
    """No response at all: the SDK's own retries (max_retries) are the only ones; the stream's
    retries (for a stream that breaks after its 200) do not multiply them."""
    model = make(max_retries=1, stream_retries=3)
    fake_api.queue(*[hung_up()] * 8)
    with pytest.raises(ProviderError) as err:
        await model.complete(request())
    assert err.value.kind == "connection" and err.value.retryable
    assert fake_api.url in str(err.value)
    assert len(fake_api.requests) == 2


async def test_dropped_connection_after_content_is_a_connection_error(
    fake_api: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake_api.queue(reply(text("partial answer here"), chunk=4, drop_after=5), reply(text("unused")))
    deltas: list[Delta] = []
    with pytest.raises(ProviderError) as err:
        await model.complete(request(), deltas.append)
    assert err.value.kind == "connection" and err.value.retryable
    assert fake_api.url in str(err.value)
    assert "".join(d.text for d in deltas) == "partial "  # delivered once, not replayed
    assert len(fake_api.requests) == 1


async def test_bad_key_gives_a_clear_auth_message(fake_api: FakeMessagesAPI, model: AnthropicModel) -> None:
    fake_api.queue(http_error(401, "invalid x-api-key"))
    with pytest.raises(ProviderError) as err:
        await model.complete(request())
    assert err.value.kind == "auth"
    assert str(err.value) == "Anthropic API key rejected: check ANTHROPIC_API_KEY"


async def test_invalid_request_includes_the_api_message(
    fake_api: FakeMessagesAPI, model: AnthropicModel
) -> None:
    fake_api.queue(http_error(400, "messages.0.content: tool_result block(s) provided without tool_use"))
    with pytest.raises(ProviderError) as err:
        await model.complete(request())
    assert err.value.kind == "invalid_request"
    assert "tool_result block(s) provided without tool_use" in str(err.value)
    assert "\n" not in str(err.value)


async def test_missing_key_names_the_variable(
    fake_api: FakeMessagesAPI, make: Callable[..., AnthropicModel]
) -> None:
    model = make(api_key=None)
    with pytest.raises(ProviderError) as err:
        await model.complete(request())
    assert err.value.kind == "auth"
    assert "ANTHROPIC_API_KEY" in str(err.value)
    assert fake_api.requests == []


async def test_key_and_base_url_come_from_the_environment(
    fake_api: FakeMessagesAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.url)
    model = make_model("anthropic", None)
    assert isinstance(model, AnthropicModel)
    fake_api.queue(reply(text("env")))
    assert (await model.complete(request())).message.text() == "env"
    await model.aclose()
    req = fake_api.requests[0]
    assert req.body["model"] == default_model() == model.name
    assert KEY in (req.headers.get("x-api-key", "") + req.headers.get("authorization", ""))


async def test_the_key_never_appears_in_errors_or_logs(
    fake_api: FakeMessagesAPI, model: AnthropicModel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_api.queue(
        http_error(401, f"bad key {KEY}"),
        http_error(403, f"no access for {KEY}"),
        http_error(400, KEY),
        *[stream_error()] * 4,
        reply(text("abc"), drop_after=4),
    )
    messages = []
    for _ in range(5):
        with pytest.raises(ProviderError) as err:
            await model.complete(request())
        messages.append(str(err.value))
    assert len(set(messages)) == 5
    for text_seen in [*messages, caplog.text]:
        assert KEY not in text_seen


async def test_cancellation_mid_stream_is_prompt(fake_api: FakeMessagesAPI, model: AnthropicModel) -> None:
    fake_api.queue(reply(text("slow " * 40), chunk=2, delay=0.2))
    started = asyncio.Event()
    task = asyncio.create_task(model.complete(request(), lambda d: started.set()))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1.0)
    assert task in done and task.cancelled()
    # The connection was closed: the next request works.
    fake_api.queue(reply(text("next")))
    assert (await model.complete(request())).message.text() == "next"


def test_default_model_is_the_newest_non_deprecated_sonnet() -> None:
    name = default_model()
    assert re.fullmatch(r"claude-sonnet-\d+(-\d+)?", name)
    assert name in sdk_models() and name not in deprecated_models()

    def version(n: str) -> tuple[int, ...]:
        return tuple(int(x) for x in n.removeprefix("claude-sonnet-").split("-"))

    others = [
        n
        for n in sdk_models()
        if re.fullmatch(r"claude-sonnet-\d+(-\d{1,2})?", n) and n not in deprecated_models()
    ]
    assert all(version(name) >= version(n) for n in others)
    model = AnthropicModel(api_key=KEY)
    assert model.name == name and model.context_window == 200_000


def _history(turns: int) -> list[Message]:
    """A tool loop `turns` long: text and a tool call, then its result (some of it not ASCII)."""
    messages = [Message.user("look around — résumé ✓")]
    for i in range(turns):
        messages.append(
            Message(
                role="assistant",
                content=[
                    TextBlock(text=f"Step {i} 😀"),
                    ToolUseBlock(id=f"toolu_{i}", name="Read", input={"n": i}),
                ],
            )
        )
        messages.append(
            Message(role="user", content=[ToolResultBlock(tool_use_id=f"toolu_{i}", content="x\n" * i)])
        )
    return messages


async def test_the_sdk_sends_the_body_as_built_without_copying_the_history_container_by_container(
    fake_api: FakeMessagesAPI, model: AnthropicModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The body is written from each message's JSON, made once per message (`request_body`),
    and sent by the SDK as is: on the wire it is exactly the params built, and the SDK's own
    copy of the params (made container by container, in Python) no longer grows with the
    history."""
    from anthropic._utils import _prepare

    copied: list[int] = []
    real = _prepare.copy_mapping

    def counting(mapping: Any, *args: Any, **kwargs: Any) -> Any:
        copied.append(1)
        return real(mapping, *args, **kwargs)

    monkeypatch.setattr(_prepare, "copy_mapping", counting)
    counts = []
    for turns in (2, 60):
        fake_api.queue(reply(text("ok")))
        sent = request(*_history(turns), tools=TOOLS)
        copied.clear()
        await model.complete(sent)
        counts.append(len(copied))
        built = build_params(model.name, sent, model.thinking, thinking_setting=model.thinking_setting)
        built.pop("extra_headers", None)
        assert json.loads(fake_api.requests[-1].raw) == {**json.loads(json.dumps(built)), "stream": True}
    assert counts[0] == counts[1] and counts[1] < 10, counts  # the params dict and a few small ones


def test_the_request_body_is_the_params_whichever_messages_were_changed() -> None:
    """Messages sent as built (their JSON made once) and messages changed for the request (the
    breakpoints, a thinking block without a signature dropped) give the params' JSON exactly."""
    convo = _history(3)
    convo[3] = Message(
        role="assistant",
        content=[ThinkingBlock(thinking="unsigned"), ToolUseBlock(id="toolu_1", name="Read", input={"n": 1})],
    )
    sent = request(*convo, tools=TOOLS)
    params, wires = anthropic_provider._build(
        "claude-sonnet-4-5", sent, {"type": "enabled", "budget_tokens": 2048}
    )
    assert wires.count(None) >= 3  # the two breakpoints and the dropped thinking block
    assert any(w is not None for w in wires)
    body = json.loads(anthropic_provider.request_body({**params, "extra_headers": {"x": "y"}}, wires))
    assert body == {**json.loads(json.dumps(params)), "stream": True}
    assert all(b.get("type") != "thinking" for m in body["messages"] for b in m["content"])
