"""Compaction: a separate model call summarises older turns; recent turns stay verbatim."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.agent.compaction import (
    SUMMARY_MARKER,
    compact,
    compaction_threshold,
    is_summary,
    should_compact,
    split_point,
)
from claw_lsp.agent.session import SessionStore
from claw_lsp.core.messages import Message, TextBlock, ToolResultBlock, ToolUseBlock, Usage
from claw_lsp.providers.base import Delta, ModelRequest, ModelTurn


class SummaryModel:
    """A tiny real model: answers every request with a canned summary and remembers the requests."""

    name = "summary-model"
    provider = "test"

    def __init__(self, context_window: int = 200_000, reply: str = "<summary>S{n}</summary>") -> None:
        self.context_window = context_window
        self.reply = reply
        self.requests: list[ModelRequest] = []

    async def complete(
        self, request: ModelRequest, on_delta: Callable[[Delta], None] | None = None
    ) -> ModelTurn:
        self.requests.append(request)
        text = self.reply.format(n=len(self.requests))
        return ModelTurn(
            message=Message(role="assistant", content=[TextBlock(text=text)]),
            stop_reason="end_turn",
            usage=Usage(input_tokens=100, output_tokens=10),
            model=self.name,
        )

    def cost(self, usage: Usage) -> float:
        return usage.input_tokens * 1e-6 + usage.output_tokens * 5e-6

    def prompt_text(self, i: int = -1) -> str:
        return self.requests[i].messages[0].text()


def turn(n: int, tools: int = 1, output: str = "") -> list[Message]:
    """One user prompt, `tools` tool round trips, a final answer."""
    msgs = [Message.user(f"prompt {n}")]
    for t in range(tools):
        tid = f"t{n}_{t}"
        msgs.append(Message(role="assistant", content=[ToolUseBlock(id=tid, name="Read", input={"t": t})]))
        msgs.append(
            Message(
                role="user", content=[ToolResultBlock(tool_use_id=tid, content=output or f"result {tid}")]
            )
        )
    msgs.append(Message(role="assistant", content=[TextBlock(text=f"answer {n}")]))
    return msgs


def assert_consistent(messages: list[Message]) -> None:
    """Every tool_use is answered by the next message; no tool_result without its tool_use."""
    for i, m in enumerate(messages):
        if m.role == "user" and m.tool_results():
            prev = messages[i - 1]
            assert i > 0 and prev.role == "assistant"
            assert {r.tool_use_id for r in m.tool_results()} <= {u.id for u in prev.tool_uses()}
        if m.tool_uses():
            nxt = messages[i + 1]
            assert {r.tool_use_id for r in nxt.tool_results()} == {u.id for u in m.tool_uses()}


def test_threshold_defaults_to_window_minus_20k() -> None:
    assert compaction_threshold(200_000, None) == 180_000
    assert compaction_threshold(200_000, 50_000) == 50_000
    assert compaction_threshold(16_000, None) == 8_000  # small windows: never below half
    assert should_compact(180_000, 180_000) and not should_compact(179_999, 180_000)


async def test_recent_turns_kept_verbatim_and_older_summarised() -> None:
    model = SummaryModel()
    msgs = turn(1) + turn(2) + turn(3) + turn(4)
    result = await compact(model, msgs, keep_recent_turns=2)
    kept = turn(3) + turn(4)
    assert result.messages[1:] == kept == result.kept
    assert result.replaced == len(turn(1) + turn(2))
    assert is_summary(result.messages[0]) and result.summary == "S1"
    assert result.messages[0].text().startswith(SUMMARY_MARKER)
    assert result.usage.input_tokens == 100 and result.cost_usd > 0

    request = model.requests[0]
    assert request.purpose == "compaction" and request.tools == [] and request.system
    sent = model.prompt_text()
    assert "prompt 1" in sent and "result t2_0" in sent and "prompt 3" not in sent
    assert_consistent(result.messages)


async def test_too_few_turns_means_nothing_to_compact() -> None:
    model = SummaryModel()
    msgs = turn(1) + turn(2)
    result = await compact(model, msgs, keep_recent_turns=2)
    assert result.replaced == 0 and result.messages == msgs and model.requests == []


def test_split_never_separates_a_tool_pair_or_starts_with_a_result() -> None:
    msgs = turn(1, tools=3) + turn(2, tools=4, output="x" * 4000)
    for budget in (None, 10, 500, 2000, 3000, 5000, 100_000):
        for keep in (1, 2, 3):
            at = split_point(msgs, keep, kept_budget=budget)
            if at == 0:
                continue
            assert not msgs[at].tool_results()
            assert_consistent(msgs[at:])


async def test_one_huge_turn_is_split_inside_at_assistant_boundaries() -> None:
    model = SummaryModel(context_window=8_000)
    msgs = turn(1, tools=8, output="y" * 3000)
    result = await compact(model, msgs, keep_recent_turns=2)
    assert result.replaced > 0
    assert result.messages[1].role == "assistant"  # kept part starts before a tool_use, not a result
    assert_consistent(result.messages)


async def test_summaries_never_nest_after_repeated_compaction(workspace: Path) -> None:
    model = SummaryModel(reply=f"<summary>{SUMMARY_MARKER} S{{n}} notes</summary>")
    session = SessionStore(workspace).create(model=model.name, provider="test")
    messages: list[Message] = []
    n = 0
    for _round in range(3):
        for _ in range(3):
            n += 1
            for m in turn(n):
                messages.append(m)
                session.append_message(m)
        result = await compact(model, messages, keep_recent_turns=2)
        assert result.replaced > 0
        session.append_compaction(result.summary, result.messages)
        messages = result.messages

    assert len(model.requests) == 3
    # The earlier summary went in as plain prior context, without its marker.
    assert "S2 notes" in model.prompt_text(2) and SUMMARY_MARKER not in model.prompt_text(2)
    assert "compacted to save context" not in model.prompt_text(2)
    for context in (messages, session.load_messages()):
        assert sum(is_summary(m) for m in context) == 1
        assert sum(m.text().count(SUMMARY_MARKER) for m in context) == 1
        assert "S3 notes" in context[0].text()
        assert context[1:] == turn(n - 1) + turn(n)
    session.close()


async def test_oldest_long_tool_outputs_are_truncated_to_fit_the_request() -> None:
    model = SummaryModel(context_window=20_000)
    old = turn(1, output="A" * 30_000) + turn(2, output="B" * 30_000)
    msgs = old + turn(3) + turn(4)
    result = await compact(model, msgs, keep_recent_turns=2)
    assert result.replaced == len(old)
    sent = model.prompt_text()
    assert len(sent) < 20_000 * 3
    assert "characters omitted" in sent and "prompt 1" in sent and "prompt 2" in sent


async def test_manual_instructions_reach_the_summariser() -> None:
    model = SummaryModel()
    await compact(model, turn(1) + turn(2) + turn(3), keep_recent_turns=1, instructions="focus on tests")
    assert "focus on tests" in model.prompt_text()


def test_the_running_estimate_measures_only_new_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every turn checks the conversation's size: the running estimate equals `estimate_tokens`
    and measures each appended message once; another or a shortened list is measured afresh."""
    from claw_lsp.agent import compaction as comp

    measured: list[Message] = []
    real_view = comp.api_view

    def counting_view(message: Message) -> Any:
        measured.append(message)
        return real_view(message)

    monkeypatch.setattr(comp, "api_view", counting_view)
    running = comp.RunningEstimate()
    convo: list[Message] = []
    for turn in range(30):
        convo.append(Message.user(f"question {turn} " * 20))
        convo.append(Message(role="assistant", content=[TextBlock(text=f"answer {turn} " * 30)]))
        before = len(measured)
        got = running.tokens(convo)
        assert len(measured) - before == 2  # the two new messages only
        measured_now = len(measured)
        assert got == comp.estimate_tokens(convo)
        del measured[measured_now:]
    assert running.tokens(convo[:10]) == comp.estimate_tokens(convo[:10])  # another list
    assert running.tokens(convo) == comp.estimate_tokens(convo)
    del convo[-3:]  # the same list, shortened
    assert running.tokens(convo) == comp.estimate_tokens(convo)
    convo[-1] = Message.user("replaced " * 50)  # the same length, another last message
    assert running.tokens(convo) == comp.estimate_tokens(convo)
    compacted = [Message.user("summary"), *convo[-4:]]
    assert running.tokens(compacted) == comp.estimate_tokens(compacted)
