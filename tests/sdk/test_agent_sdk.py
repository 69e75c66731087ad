"""The official Claude Agent SDK for Python drives `claw` in place of `claude` (`cli_path`), with
the real Anthropic SDK inside claw talking to the fake Messages API: one-shot `query()`, a
`ClaudeSDKClient` session over several queries, `can_use_tool`, SDK hooks, `interrupt()` and
`set_permission_mode`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import (
    AgentDefinition,
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    HookMatcher,
    PermissionResultAllow,
    PermissionResultDeny,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    TextBlock,
    ToolPermissionContext,
    ToolResultBlock,
    UserMessage,
    query,
)

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use

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


async def receive(client: ClaudeSDKClient) -> list[Any]:
    """The messages of one query, through its result."""
    return [message async for message in client.receive_response()]


@pytest.fixture
def buggy(workspace: Path) -> Path:
    """A workspace with a one-line bug in app.py."""
    (workspace / "app.py").write_text("def double(x):\n    return x * 3\n")
    return workspace


def fix_turns(ws: Path) -> list[dict[str, Any]]:
    """The model reads app.py, edits it, then says so."""
    path = str(ws / "app.py")
    return [
        reply(tool_use("Read", {"file_path": path}, id="toolu_read")),
        reply(
            tool_use(
                "Edit",
                {"file_path": path, "old_string": "x * 3", "new_string": "x * 2"},
                id="toolu_edit",
            )
        ),
        reply(text("Done: {{tool_result}}")),
    ]


async def test_client_runs_two_queries_on_one_session(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("First answer.")), reply(text("Second answer.")))
    async with ClaudeSDKClient(options(workspace, fake_api)) as client:
        await client.query("first question")
        first = await receive(client)
        await client.query("second question")
        second = await receive(client)
    assert isinstance(first[-1], ResultMessage) and first[-1].result == "First answer."
    assert isinstance(second[-1], ResultMessage) and second[-1].result == "Second answer."
    assert first[-1].session_id == second[-1].session_id
    # The second request carries the whole conversation: one session, one live process.
    sent = fake_api.requests[1].body["messages"]
    said = [block.get("text", "").strip() for m in sent for block in m["content"]]
    assert said == ["first question", "First answer.", "second question"]


async def test_can_use_tool_allows_an_edit_with_updated_input(buggy: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(*fix_turns(buggy))
    asked: list[tuple[str, dict[str, Any], str | None]] = []

    async def can_use_tool(name: str, tool_input: dict[str, Any], context: ToolPermissionContext) -> Any:
        asked.append((name, dict(tool_input), context.tool_use_id))
        return PermissionResultAllow(updated_input={**tool_input, "new_string": "x + x"})

    async with ClaudeSDKClient(options(buggy, fake_api, can_use_tool=can_use_tool)) as client:
        await client.query("fix double")
        messages = await receive(client)
    # Read needs no question in the workspace; the Edit does, and runs with the host's input.
    assert [(n, i["new_string"], t) for n, i, t in asked] == [("Edit", "x * 2", "toolu_edit")]
    assert (buggy / "app.py").read_text() == "def double(x):\n    return x + x\n"
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.subtype == "success"
    assert result.permission_denials == []
    results = [b for m in messages if isinstance(m, UserMessage) for b in m.content]
    assert [b.tool_use_id for b in results if isinstance(b, ToolResultBlock)] == ["toolu_read", "toolu_edit"]


async def test_can_use_tool_denies_an_edit_and_the_model_hears_why(
    buggy: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(*fix_turns(buggy))

    async def can_use_tool(name: str, tool_input: dict[str, Any], context: ToolPermissionContext) -> Any:
        return PermissionResultDeny(message="Not today: the code is frozen.")

    async with ClaudeSDKClient(options(buggy, fake_api, can_use_tool=can_use_tool)) as client:
        await client.query("fix double")
        messages = await receive(client)
    assert (buggy / "app.py").read_text() == "def double(x):\n    return x * 3\n"
    result = messages[-1]
    assert isinstance(result, ResultMessage)
    assert result.permission_denials == [
        {
            "tool_name": "Edit",
            "tool_use_id": "toolu_edit",
            "tool_input": {"file_path": str(buggy / "app.py"), "old_string": "x * 3", "new_string": "x * 2"},
        }
    ]
    assert "Not today: the code is frozen." in fake_api.requests[2].last_tool_result()
    assert "Not today: the code is frozen." in (result.result or "")


async def test_a_pre_tool_use_sdk_hook_sees_the_call_and_blocks_it(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(
        reply(tool_use("Bash", {"command": "rm -rf build"}, id="toolu_bash")),
        reply(text("The hook said: {{tool_result}}")),
    )
    seen: list[tuple[dict[str, Any], str | None]] = []

    async def guard(hook_input: Any, tool_use_id: str | None, context: Any) -> dict[str, Any]:
        seen.append((dict(hook_input), tool_use_id))
        return {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": "no deleting in tests",
            }
        }

    hooks: dict[Any, list[HookMatcher]] = {"PreToolUse": [HookMatcher(matcher="Bash", hooks=[guard])]}
    opts = options(workspace, fake_api, hooks=hooks, permission_mode="bypassPermissions")
    async with ClaudeSDKClient(opts) as client:
        await client.query("clean up")
        messages = await receive(client)
    ((hook_input, tool_use_id),) = seen
    assert tool_use_id == "toolu_bash"
    assert hook_input["hook_event_name"] == "PreToolUse"
    assert hook_input["tool_name"] == "Bash" and hook_input["tool_input"] == {"command": "rm -rf build"}
    assert hook_input["cwd"] == str(workspace) and hook_input["session_id"] == messages[-1].session_id
    assert "no deleting in tests" in fake_api.requests[1].last_tool_result()
    assert isinstance(messages[-1], ResultMessage) and messages[-1].subtype == "success"


async def test_interrupt_cancels_the_turn_and_the_session_goes_on(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("word " * 200), chunk=5, delay=0.05), reply(text("Still here.")))
    async with ClaudeSDKClient(options(workspace, fake_api, include_partial_messages=True)) as client:
        await client.query("talk slowly")
        streamed: list[Any] = []
        async for message in client.receive_messages():
            streamed.append(message)
            if isinstance(message, StreamEvent) and message.event.get("type") == "content_block_delta":
                break
        started = time.monotonic()
        await client.interrupt()
        rest = await receive(client)
        took = time.monotonic() - started
        await client.query("are you there?")
        after = await receive(client)
    result = rest[-1]
    assert isinstance(result, ResultMessage)
    assert result.is_error and result.subtype == "error_during_execution"
    assert result.terminal_reason == "aborted_streaming"
    assert took < 5, "the interrupt did not stop the slow stream"
    assert isinstance(after[-1], ResultMessage) and after[-1].result == "Still here."
    assert after[-1].session_id == result.session_id
    # The interrupted words stay in the conversation the model sees next.
    sent = fake_api.requests[1].body["messages"]
    assert any("word" in block.get("text", "") for m in sent for block in m["content"])


async def test_set_permission_mode_lets_the_next_edit_through(buggy: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(*fix_turns(buggy), *fix_turns(buggy))
    async with ClaudeSDKClient(options(buggy, fake_api)) as client:
        await client.query("fix double")
        before = await receive(client)
        assert (buggy / "app.py").read_text() == "def double(x):\n    return x * 3\n"
        await client.set_permission_mode("acceptEdits")
        await client.query("fix double, you may now")
        after = await receive(client)
    assert isinstance(before[-1], ResultMessage) and len(before[-1].permission_denials or []) == 1
    assert isinstance(after[-1], ResultMessage) and after[-1].permission_denials == []
    assert (buggy / "app.py").read_text() == "def double(x):\n    return x * 2\n"


async def test_unknown_control_requests_get_an_explicit_error(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("ok")))
    async with ClaudeSDKClient(options(workspace, fake_api)) as client:
        status = await client.get_mcp_status()
        assert status == {"mcpServers": []}
        with pytest.raises(Exception, match="Unsupported control request subtype: 'rewind_files'"):
            await client.rewind_files("some-message-id")
        await client.query("still fine?")
        messages = await receive(client)
    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "ok"


async def test_dont_ask_refuses_without_asking_the_host(buggy: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(*fix_turns(buggy))
    asked: list[str] = []

    async def can_use_tool(name: str, tool_input: dict[str, Any], context: ToolPermissionContext) -> Any:
        asked.append(name)
        return PermissionResultAllow()

    opts = options(buggy, fake_api, can_use_tool=can_use_tool, permission_mode="dontAsk")
    async with ClaudeSDKClient(opts) as client:
        await client.query("fix double")
        messages = await receive(client)
    assert asked == []
    assert (buggy / "app.py").read_text() == "def double(x):\n    return x * 3\n"
    assert isinstance(messages[-1], ResultMessage)
    assert [d["tool_name"] for d in messages[-1].permission_denials or []] == ["Edit"]
    assert isinstance(messages[0], SystemMessage) and messages[0].data["permissionMode"] == "dontAsk"


async def test_agents_and_set_model_from_the_sdk(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(
        reply(tool_use("Agent", {"description": "review", "prompt": "look", "subagent_type": "reviewer"})),
        reply(text("No bugs.")),
        reply(text("Reviewed.")),
        reply(text("Now on the other model.")),
    )
    agents = {
        "reviewer": AgentDefinition(description="Reviews code", prompt="You review code.", tools=["Read"])
    }
    async with ClaudeSDKClient(options(workspace, fake_api, agents=agents)) as client:
        await client.query("review it")
        first = await receive(client)
        await client.set_model("claude-other-model")
        await client.query("again")
        second = await receive(client)
    init = first[0]
    assert isinstance(init, SystemMessage) and "reviewer" in init.data["agents"]
    nested = [m for m in first if isinstance(m, AssistantMessage) and m.parent_tool_use_id is not None]
    assert [b.text for m in nested for b in m.content if isinstance(b, TextBlock)] == ["No bugs."]
    assert "You review code." in str(fake_api.requests[1].body["system"])
    assert isinstance(second[-1], ResultMessage) and second[-1].result == "Now on the other model."
    assert fake_api.requests[-1].body["model"] == "claude-other-model"
