"""The OpenAI-compatible provider: the real `openai` SDK over real HTTP against the fake server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from claw_lsp.core.messages import Message, TextBlock, ThinkingBlock, ToolResultBlock, ToolUseBlock, Usage
from claw_lsp.providers import make_model
from claw_lsp.providers.base import Delta, ModelRequest, ProviderError, ToolSpec
from claw_lsp.providers.openai_compat import OpenAIModel, to_openai_messages
from tests.fakes.fake_messages_api import FakeMessagesAPI, http_error, reply, text, thinking, tool_use

KEY = "sk-openai-test-SECRET-987"
TOOLS = [ToolSpec("Read", "Read a file", {"type": "object", "properties": {"file_path": {"type": "string"}}})]


@pytest.fixture
async def make(fake_api: FakeMessagesAPI) -> AsyncIterator[Callable[..., OpenAIModel]]:
    """Build models against the fake server; their HTTP clients are closed after."""
    made: list[OpenAIModel] = []

    def build(model: str = "qwen3-coder", **options: Any) -> OpenAIModel:
        options = {"api_key": KEY, "base_url": fake_api.openai_base_url, **options}
        made.append(OpenAIModel(model, **options))
        return made[-1]

    yield build
    for m in made:
        await m.aclose()


async def test_round_trip_with_a_tool_call(
    fake_api: FakeMessagesAPI, make: Callable[..., OpenAIModel]
) -> None:
    model = make()
    args = {"file_path": "/ws/a.py"}
    fake_api.queue(
        reply(
            text("Let me read it."),
            tool_use("Read", args, id="call_1"),
            chunk=3,
            usage={"input_tokens": 30, "output_tokens": 12},
        ),
        reply(text("It says {{tool_result}}.")),
    )
    deltas: list[Delta] = []
    first = Message.user("what is in a.py?")
    turn = await model.complete(ModelRequest(system="sys", messages=[first], tools=TOOLS), deltas.append)

    assert "".join(d.text for d in deltas if d.kind == "text") == "Let me read it."
    assert "".join(d.text for d in deltas if d.kind == "tool_input") == json.dumps(args)
    assert turn.message.content == [
        TextBlock(text="Let me read it."),
        ToolUseBlock(id="call_1", name="Read", input=args),
    ]
    assert turn.stop_reason == "tool_use"
    assert turn.usage == Usage(input_tokens=30, output_tokens=12)
    assert turn.cost_usd == 0.0

    result = Message(role="user", content=[ToolResultBlock(tool_use_id="call_1", content="x = 1")])
    second = await model.complete(
        ModelRequest(system="sys", messages=[first, turn.message, result], tools=TOOLS)
    )
    assert second.message.text() == "It says x = 1."
    assert second.stop_reason == "end_turn"

    body = fake_api.requests[1].body
    assert body["model"] == "qwen3-coder" and body["stream"] is True
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "Read", "description": "Read a file", "parameters": TOOLS[0].input_schema},
        }
    ]
    assert body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "what is in a.py?"},
        {
            "role": "assistant",
            "content": "Let me read it.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "Read", "arguments": json.dumps(args)},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "x = 1"},
    ]
    assert fake_api.requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_reasoning_and_finish_reasons(
    fake_api: FakeMessagesAPI, make: Callable[..., OpenAIModel]
) -> None:
    model = make()
    fake_api.queue(reply(thinking("hmm"), text("cut off"), stop_reason="max_tokens"))
    deltas: list[Delta] = []
    turn = await model.complete(ModelRequest(system="", messages=[Message.user("go")]), deltas.append)
    assert deltas[0].kind == "thinking"
    assert turn.message.content == [ThinkingBlock(thinking="hmm"), TextBlock(text="cut off")]
    assert turn.stop_reason == "max_tokens"
    assert fake_api.requests[0].body["messages"] == [{"role": "user", "content": "go"}]


def test_tool_results_precede_user_text_and_errors_are_marked() -> None:
    msgs = [
        Message(
            role="assistant",
            content=[
                ToolUseBlock(id="c1", name="Bash", input={}),
                ToolUseBlock(id="c2", name="Bash", input={}),
            ],
        ),
        Message(
            role="user",
            content=[
                ToolResultBlock(tool_use_id="c1", content="ok"),
                ToolResultBlock(tool_use_id="c2", content="boom", is_error=True),
                TextBlock(text="also this"),
            ],
        ),
    ]
    out = to_openai_messages("", msgs)
    assert [m["role"] for m in out] == ["assistant", "tool", "tool", "user"]
    assert out[0]["content"] is None
    assert out[2]["content"] == "Error: boom"


async def test_env_base_url_and_key_and_price_override(
    fake_api: FakeMessagesAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_api.openai_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    model = make_model("openai", "llama3", prices={"llama3": {"input": 1.0, "output": 2.0}})
    assert isinstance(model, OpenAIModel)
    fake_api.queue(reply(text("hi"), usage={"input_tokens": 1_000_000, "output_tokens": 1_000_000}))
    turn = await model.complete(ModelRequest(system="", messages=[Message.user("x")]))
    await model.aclose()
    assert turn.cost_usd == pytest.approx(3.0)
    assert fake_api.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_model_is_required() -> None:
    with pytest.raises(ProviderError) as err:
        OpenAIModel(None)
    assert err.value.kind == "config" and "model" in str(err.value)


async def test_errors_are_one_line_and_keyless(
    fake_api: FakeMessagesAPI, make: Callable[..., OpenAIModel]
) -> None:
    model = make(max_retries=0)
    fake_api.queue(http_error(401, f"bad key {KEY}"), http_error(400, "context length exceeded"))
    with pytest.raises(ProviderError) as auth:
        await model.complete(ModelRequest(system="", messages=[Message.user("x")]))
    with pytest.raises(ProviderError) as bad:
        await model.complete(ModelRequest(system="", messages=[Message.user("x")]))
    assert auth.value.kind == "auth" and "OPENAI_API_KEY" in str(auth.value)
    assert bad.value.kind == "invalid_request" and "context length exceeded" in str(bad.value)
    for err in (auth.value, bad.value):
        assert KEY not in str(err) and "\n" not in str(err)
