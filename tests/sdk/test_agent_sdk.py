"""The official Claude Agent SDK for Python drives `claw` in place of `claude` (`cli_path`), with
the real Anthropic SDK inside claw talking to the fake Messages API: one-shot `query()`, a
`ClaudeSDKClient` session over several queries, `can_use_tool`, SDK hooks, `interrupt()` and
`set_permission_mode`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ResultMessage,
    SystemMessage,
    TextBlock,
    UserMessage,
    query,
)

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text

ROOT = Path(__file__).resolve().parents[2]
CLAW = ROOT / ".venv" / "bin" / "claw"
KEY = "test-key-sdk-0123456789"


def options(ws: Path, api: FakeMessagesAPI, **extra: Any) -> ClaudeAgentOptions:
    """SDK options that run `claw` in `ws` against the fake API."""
    return ClaudeAgentOptions(cli_path=str(CLAW), cwd=str(ws), env=api.env(KEY), **extra)


async def collect(prompt: str, opts: ClaudeAgentOptions) -> list[Any]:
    """Every message one-shot `query()` yields."""
    return [message async for message in query(prompt=prompt, options=opts)]


async def test_one_shot_query_yields_init_the_answer_and_a_result(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("Hello from claw."), usage={"input_tokens": 12, "output_tokens": 4}))
    messages = await collect("say hello", options(workspace, fake_api, model="claude-sonnet-4-5"))
    init = messages[0]
    assert isinstance(init, SystemMessage) and init.subtype == "init"
    assert init.data["cwd"] == str(workspace)
    assert "Read" in init.data["tools"] and "Edit" in init.data["tools"]
    assert init.data["model"] == "claude-sonnet-4-5"
    (assistant,) = [m for m in messages if isinstance(m, AssistantMessage)]
    assert [b.text for b in assistant.content if isinstance(b, TextBlock)] == ["Hello from claw."]
    assert assistant.model == "claude-sonnet-4-5" and assistant.stop_reason == "end_turn"
    assert assistant.usage is not None and assistant.usage["output_tokens"] == 4
    result = messages[-1]
    assert isinstance(result, ResultMessage)
    assert result.subtype == "success" and result.is_error is False
    assert result.result == "Hello from claw."
    assert result.session_id == init.data["session_id"] == assistant.session_id
    assert result.num_turns == 1 and result.terminal_reason == "completed"
    assert result.usage is not None and result.usage["input_tokens"] == 12
    assert result.model_usage is not None and "claude-sonnet-4-5" in result.model_usage
    # The prompt reached the model as the user's turn, not the SDK's control line.
    (request,) = fake_api.requests
    assert request.body["messages"][0]["content"][0]["text"].strip() == "say hello"
    assert not [m for m in messages if isinstance(m, UserMessage)]
