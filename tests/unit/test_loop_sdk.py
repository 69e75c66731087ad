"""The agent loop over the real Anthropic SDK: `build_agent` with provider `anthropic`, the SDK
pointed at the fake Messages API by ANTHROPIC_BASE_URL, real SSE over real HTTP."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.agent.compaction import COMPACTION_SYSTEM, SUMMARY_MARKER
from claw_lsp.agent.loop import INTERRUPTED, Agent
from claw_lsp.agent.session import SessionStore
from claw_lsp.compose import build_agent
from claw_lsp.config import Settings
from claw_lsp.core.events import TextDelta
from claw_lsp.core.messages import Usage
from claw_lsp.providers import pricing
from claw_lsp.providers.anthropic import AnthropicModel
from tests.fakes.fake_messages_api import FakeMessagesAPI, RecordedRequest, reply, text, tool_use
from tests.unit.test_loop import ScriptPrompter, assert_consistent, collect

KEY = "test-key-loop-sdk-0123456789"


@pytest.fixture
async def make_agent(
    fake_api: FakeMessagesAPI, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Agent]]:
    """Agents on new sessions in `workspace`, talking to the fake server; HTTP clients closed after."""
    for name, value in fake_api.env(KEY).items():
        monkeypatch.setenv(name, value)
    made: list[Agent] = []

    def build(**settings: Any) -> Agent:
        settings = {"provider": "anthropic", "permissionMode": "acceptEdits", **settings}
        session = SessionStore(workspace).create(model="claude-sonnet-4-6", provider="anthropic")
        agent = build_agent(
            root=workspace,
            folders=[workspace],
            settings=Settings.model_validate(settings),
            session=session,
            prompter=ScriptPrompter(),
        )
        assert isinstance(agent.model, AnthropicModel)
        made.append(agent)
        return agent

    yield build
    for agent in made:
        await agent.model.aclose()  # type: ignore[attr-defined]
        agent.session.close()


def without_cache_control(value: Any) -> Any:
    """A copy of a JSON value with every `cache_control` key removed."""
    if isinstance(value, dict):
        return {k: without_cache_control(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [without_cache_control(v) for v in value]
    return value


def tool_results(req: RecordedRequest) -> list[dict[str, Any]]:
    """The tool_result blocks of the request's last message."""
    return [b for b in req.body["messages"][-1]["content"] if b["type"] == "tool_result"]


async def test_tool_use_round_trip(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI, workspace: Path
) -> None:
    (workspace / "notes.txt").write_text("the answer is 42\n")
    path = str(workspace / "notes.txt")
    fake_api.queue(
        reply(text("Looking."), tool_use("Read", {"file_path": path}, id="toolu_r1"), chunk=2),
        reply(text("It says: {{tool_result}}"), chunk=3),
    )
    agent = make_agent()
    events, finished = await collect(agent, "what is in notes.txt?")
    assert finished.stop_reason == "end_turn", finished.error
    assert "the answer is 42" in finished.result
    assert finished.turns == 2
    (started,) = [e for e in events if e.type == "tool_call"]
    assert started.name == "Read" and started.input == {"file_path": path}  # 2-char JSON pieces
    chunks = "".join(e.text for e in events if e.type == "agent_message_chunk")
    assert chunks.startswith("Looking.It says:")
    first, second = fake_api.requests
    assert first.body["stream"] is True and first.body["model"] == agent.model.name
    assert [t["name"] for t in first.body["tools"]] == list(agent.tools)
    (result,) = tool_results(second)
    assert result["tool_use_id"] == "toolu_r1" and not result.get("is_error")
    assert_consistent(agent.session.load_messages())


async def test_parallel_reads_answer_every_call_in_order(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI, workspace: Path
) -> None:
    for name in "abc":
        (workspace / f"{name}.txt").write_text(f"content of {name}\n")
    fake_api.queue(
        reply(
            *(tool_use("Read", {"file_path": str(workspace / f"{n}.txt")}, id=f"toolu_{n}") for n in "abc"),
            tool_use("Grep", {"pattern": "content of b", "path": str(workspace)}, id="toolu_g"),
            chunk=4,
        ),
        reply(text("read them all")),
    )
    agent = make_agent()
    _, finished = await collect(agent, "read a, b and c")
    assert finished.stop_reason == "end_turn", finished.error
    results = tool_results(fake_api.requests[1])
    assert [r["tool_use_id"] for r in results] == ["toolu_a", "toolu_b", "toolu_c", "toolu_g"]
    texts = [str(r["content"]) for r in results]
    for name, result in zip("abc", texts, strict=False):
        assert f"content of {name}" in result
    assert "b.txt" in texts[3]


async def test_cancel_mid_stream_stops_within_a_second_and_the_session_goes_on(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("word " * 200), delay=0.05))  # about ten seconds of stream
    agent = make_agent()
    run = agent.start("talk for a while")
    cancelled_at = 0.0
    async for event in run.events():
        if not cancelled_at and isinstance(event, TextDelta):
            cancelled_at = time.monotonic()
            run.cancel()
    finished = await run.wait()
    assert finished.stop_reason == "cancelled"
    assert time.monotonic() - cancelled_at < 1.0
    messages = agent.session.load_messages()
    assert_consistent(messages)
    assert messages[-1].text() == INTERRUPTED
    assert messages[-2].role == "assistant" and messages[-2].text().startswith("word")

    fake_api.queue(reply(text("ok, stopping there")))
    _, again = await collect(agent, "never mind")
    assert again.stop_reason == "end_turn", again.error
    roles = [m["role"] for m in fake_api.requests[-1].body["messages"]]
    assert roles == ["user", "assistant", "user"]  # the interruption and new prompt are merged


async def test_consecutive_requests_share_their_cached_prefix(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI, workspace: Path
) -> None:
    (workspace / "x.py").write_text("x = 1\n")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(workspace / "x.py")})),
        reply(tool_use("LS", {"path": str(workspace)})),
        reply(text("done")),
    )
    agent = make_agent()
    _, finished = await collect(agent, "look around")
    assert finished.stop_reason == "end_turn", finished.error
    bodies = [r.body for r in fake_api.requests]
    assert len(bodies) == 3
    for body in bodies:
        assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
        assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
        assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    for earlier, later in itertools.pairwise(bodies):
        assert later["system"] == earlier["system"] and later["tools"] == earlier["tools"]
        # The earlier request's messages are the later one's prefix, and the later request keeps
        # a breakpoint where the earlier one ended, so it reads what the earlier one wrote.
        n = len(earlier["messages"])
        assert without_cache_control(later["messages"][:n]) == without_cache_control(earlier["messages"])
        assert later["messages"][n - 1]["content"][-1]["cache_control"] == {"type": "ephemeral"}


async def test_usage_and_cost_accumulate_in_run_finished(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI, workspace: Path
) -> None:
    fake_api.queue(
        reply(
            tool_use("LS", {"path": str(workspace)}),
            usage={"input_tokens": 1200, "output_tokens": 80, "cache_creation_input_tokens": 3000},
        ),
        reply(
            text("empty folder"),
            usage={"input_tokens": 40, "output_tokens": 20, "cache_read_input_tokens": 3000},
        ),
    )
    agent = make_agent()
    events, finished = await collect(agent, "what is here?")
    assert finished.stop_reason == "end_turn", finished.error
    expected = Usage(
        input_tokens=1240, output_tokens=100, cache_creation_input_tokens=3000, cache_read_input_tokens=3000
    )
    assert finished.usage == expected
    assert finished.cost_usd == pytest.approx(pricing.cost(agent.model.name, expected), abs=1e-6)
    assert finished.cost_usd > 0
    usages = [e for e in events if e.type == "usage"]
    assert len(usages) == 2 and usages[-1].total == expected
    assert agent.usage == expected


async def test_auto_compaction_makes_a_summary_request_and_the_session_goes_on(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI
) -> None:
    answers = iter(["first answer", "second answer", "third answer", "fourth answer"])

    def model(req: RecordedRequest) -> dict[str, Any]:
        if not req.body.get("tools"):
            return reply(text("<summary>The user shared a long note and asked questions.</summary>"))
        return reply(text(next(answers)))

    fake_api.queue(*[model] * 6)
    agent = make_agent(autoCompactTokens=2000)
    for prompt in ["remember this: " + "lorem ipsum " * 800, "second question", "third question"]:
        _, finished = await collect(agent, prompt)
        assert finished.stop_reason == "end_turn", finished.error
    summaries = [r for r in fake_api.requests if not r.body.get("tools")]
    assert len(summaries) == 1
    (summary_request,) = summaries
    assert summary_request.body["system"][0]["text"] == COMPACTION_SYSTEM
    assert "lorem ipsum" in summary_request.body["messages"][0]["content"][0]["text"]
    after = fake_api.requests[fake_api.requests.index(summary_request) + 1]
    first_message = after.body["messages"][0]["content"][0]["text"]
    assert first_message.startswith(SUMMARY_MARKER) and "long note" in first_message
    assert "lorem ipsum " * 10 not in str(after.body["messages"])
    assert finished.result == "third answer"
    reloaded = agent.session.load_messages()
    assert reloaded[0].text().startswith(SUMMARY_MARKER)
    assert [m.text() for m in reloaded[-4:]] == [
        "second question",
        "second answer",
        "third question",
        "third answer",
    ]
