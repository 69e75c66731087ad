"""The agent loop with scripted model turns: tools, concurrency, limits, cancellation, resume."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from claw_lsp.agent.loop import Agent
from claw_lsp.agent.session import SessionStore
from claw_lsp.compose import build_agent
from claw_lsp.config import Settings
from claw_lsp.core.events import RunFinished
from claw_lsp.core.messages import Message, ToolResultBlock, ToolUseBlock
from claw_lsp.core.permissions import PermissionAnswer, PermissionRequest
from claw_lsp.core.tools import ToolContext, ToolOutput
from claw_lsp.providers.scripted import ScriptedModel


class ScriptPrompter:
    """Answers permission questions from a list, recording them; waits forever when `hang`."""

    def __init__(self, answers: list[str] | None = None, hang: bool = False) -> None:
        self.answers = list(answers or [])
        self.asked: list[PermissionRequest] = []
        self.hang = hang

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        self.asked.append(request)
        if self.hang:
            await asyncio.Event().wait()
        outcome = self.answers.pop(0) if self.answers else "reject_once"
        return PermissionAnswer(outcome, feedback="not now" if outcome.startswith("reject") else "")  # type: ignore[arg-type]


def make_agent(
    ws: Path,
    turns: list[dict[str, Any]],
    prompter: Any = None,
    session_id: str | None = None,
    **settings: Any,
) -> Agent:
    settings.setdefault("permissionMode", "acceptEdits")
    store = SessionStore(ws)
    session = store.open(session_id) if session_id else store.create(model="scripted", provider="scripted")
    model = ScriptedModel(turns, workspace=ws)
    return build_agent(
        root=ws,
        folders=[ws],
        settings=Settings.model_validate(settings),
        session=session,
        prompter=prompter or ScriptPrompter(),
        model=model,
    )


async def collect(agent: Agent, prompt: str) -> tuple[list[Any], RunFinished]:
    run = agent.start(prompt)
    events = [e async for e in run.events()]
    return events, await run.wait()


def assert_consistent(messages: list[Message]) -> None:
    """Every tool_use is answered by a tool_result in the next message."""
    for index, message in enumerate(messages):
        uses = [b.id for b in message.content if isinstance(b, ToolUseBlock)]
        if not uses:
            continue
        assert index + 1 < len(messages), "tool_use at the end of the transcript"
        answered = {b.tool_use_id for b in messages[index + 1].content if isinstance(b, ToolResultBlock)}
        assert set(uses) <= answered


async def test_read_then_edit_then_answer(workspace: Path) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    agent = make_agent(
        workspace,
        [
            {"content": [{"type": "tool_use", "name": "Read", "input": {"file_path": "{{workspace}}/a.py"}}]},
            {
                "content": [
                    {
                        "type": "tool_use",
                        "name": "Edit",
                        "input": {
                            "file_path": "{{workspace}}/a.py",
                            "old_string": "x = 1",
                            "new_string": "x = 2",
                        },
                    }
                ]
            },
            {"content": [{"type": "text", "text": "Done: x is now 2."}]},
        ],
    )
    events, finished = await collect(agent, "set x to 2")
    assert finished.stop_reason == "end_turn"
    assert finished.result == "Done: x is now 2."
    assert finished.turns == 3
    assert (workspace / "a.py").read_text() == "x = 2\n"
    kinds = [e.type for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("tool_call") == 2
    statuses = [e.status for e in events if e.type == "tool_call_update" and e.output is not None]
    assert statuses == ["completed", "completed"]
    assert any(e.type == "agent_message_chunk" for e in events)
    assert any(e.type == "usage" for e in events)
    assert_consistent(agent.session.load_messages())


class BarrierTool:
    """A read-only test tool: each call waits until `expected` calls are running at once."""

    class Input(BaseModel):
        name: str

    name: ClassVar[str] = "Barrier"
    description: ClassVar[str] = "test tool"
    input_model: ClassVar[type[BaseModel]] = Input
    kind: ClassVar[Any] = "read"
    read_only: ClassVar[bool] = True
    reviewable: ClassVar[bool] = False

    def __init__(self, expected: int, log: list[str]) -> None:
        self.expected = expected
        self.running = 0
        self.all_in = asyncio.Event()
        self.log = log

    def title(self, args: Any, ctx: ToolContext) -> str:
        return f"Barrier {args.name}"

    def subject(self, args: Any, ctx: ToolContext) -> str | None:
        return None

    def locations(self, args: Any, ctx: ToolContext) -> list[Path]:
        return []

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        self.running += 1
        self.log.append(f"start {args.name}")
        if self.running >= self.expected:
            self.all_in.set()
        await asyncio.wait_for(self.all_in.wait(), timeout=5)
        self.log.append(f"end {args.name}")
        return ToolOutput(f"ok {args.name}")


class OrderedTool(BarrierTool):
    """A mutating test tool that records its order."""

    name: ClassVar[str] = "Ordered"
    read_only: ClassVar[bool] = False

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        self.log.append(f"start {args.name}")
        await asyncio.sleep(0.01)
        self.log.append(f"end {args.name}")
        return ToolOutput(f"ok {args.name}")


async def test_read_only_tools_run_concurrently_and_mutating_in_order(workspace: Path) -> None:
    log: list[str] = []
    agent = make_agent(
        workspace,
        [
            {
                "content": [
                    {"type": "tool_use", "name": "Barrier", "input": {"name": "a"}},
                    {"type": "tool_use", "name": "Barrier", "input": {"name": "b"}},
                    {"type": "tool_use", "name": "Barrier", "input": {"name": "c"}},
                    {"type": "tool_use", "name": "Ordered", "input": {"name": "m1"}},
                    {"type": "tool_use", "name": "Ordered", "input": {"name": "m2"}},
                ]
            },
            {"content": [{"type": "text", "text": "ok"}]},
        ],
        permissionMode="bypassPermissions",
    )
    barrier = BarrierTool(3, log)
    agent.tools["Barrier"] = barrier
    agent.tools["Ordered"] = OrderedTool(1, log)
    _, finished = await collect(agent, "go")
    assert finished.stop_reason == "end_turn"
    # All three reads started before any ended (they would deadlock if run one by one).
    assert log[:3] == ["start a", "start b", "start c"]
    assert log[-4:] == ["start m1", "end m1", "start m2", "end m2"]
    results = agent.messages[-2].tool_results()
    assert [r.text() for r in results] == ["ok a", "ok b", "ok c", "ok m1", "ok m2"]


async def test_max_turns_stops_the_run(workspace: Path) -> None:
    looping = {"content": [{"type": "tool_use", "name": "LS", "input": {"path": "{{workspace}}"}}]}
    agent = make_agent(workspace, [looping] * 10, maxTurns=3)
    _, finished = await collect(agent, "loop")
    assert finished.stop_reason == "max_turns"
    assert finished.turns == 3
    assert_consistent(agent.session.load_messages())


async def test_token_budget_stops_the_run(workspace: Path) -> None:
    turn = {
        "content": [{"type": "tool_use", "name": "LS", "input": {"path": "{{workspace}}"}}],
        "usage": {"input_tokens": 600, "output_tokens": 100},
    }
    agent = make_agent(workspace, [turn] * 10, maxTokensPerRun=1000)
    _, finished = await collect(agent, "spend")
    assert finished.stop_reason == "budget"
    assert finished.turns == 2


async def test_model_error_ends_the_run_with_a_clear_error(workspace: Path) -> None:
    agent = make_agent(workspace, [{"error": "overloaded"}])
    events, finished = await collect(agent, "hi")
    assert finished.stop_reason == "error"
    assert finished.error and "overloaded" in finished.error
    assert any(e.type == "notice" and e.level == "error" for e in events)


async def test_unknown_tool_and_bad_input_go_back_to_the_model(workspace: Path) -> None:
    agent = make_agent(
        workspace,
        [
            {
                "content": [
                    {"type": "tool_use", "name": "Teleport", "input": {}},
                    {"type": "tool_use", "name": "Read", "input": {"path": "nope"}},
                ]
            },
            {"content": [{"type": "text", "text": "sorry"}]},
        ],
    )
    _, finished = await collect(agent, "x")
    assert finished.stop_reason == "end_turn"
    results = agent.messages[-2].tool_results()
    assert results[0].is_error and "Unknown tool" in results[0].text()
    assert results[1].is_error and "file_path" in results[1].text()


async def _cancel_when(agent: Agent, prompt: str, predicate: Any) -> tuple[RunFinished, float]:
    run = agent.start(prompt)
    cancelled_at = 0.0
    async for event in run.events():
        if cancelled_at == 0.0 and predicate(event):
            cancelled_at = time.monotonic()
            run.cancel()
    finished = await run.wait()
    return finished, time.monotonic() - cancelled_at


async def test_cancel_mid_stream(workspace: Path) -> None:
    agent = make_agent(workspace, [{"content": [{"type": "text", "text": "word " * 400}], "delay_ms": 3000}])
    finished, took = await _cancel_when(agent, "talk", lambda e: e.type == "agent_message_chunk")
    assert finished.stop_reason == "cancelled"
    assert took < 1.0
    messages = agent.session.load_messages()
    assert_consistent(messages)
    assert messages[-1].text() == "[Request interrupted by user]"


async def _cancel_mid_sleep(workspace: Path) -> tuple[Agent, RunFinished, float]:
    """Run an agent whose model calls Bash `sleep 30`; cancel it once the command is running."""
    agent = make_agent(
        workspace,
        [{"content": [{"type": "tool_use", "name": "Bash", "input": {"command": "sleep 30"}}]}],
        permissionMode="bypassPermissions",
    )
    finished, took = await _cancel_when(
        agent, "sleep", lambda e: e.type == "tool_call_update" and e.status == "in_progress"
    )
    return agent, finished, took


async def test_cancel_mid_tool_kills_bash_and_answers_the_tool_use(workspace: Path) -> None:
    agent, finished, took = await _cancel_mid_sleep(workspace)
    assert finished.stop_reason == "cancelled"
    assert took < 1.5
    messages = agent.session.load_messages()
    assert_consistent(messages)
    result = next(b for m in messages for b in m.content if isinstance(b, ToolResultBlock))
    assert result.is_error and "Cancelled" in result.text()


async def test_cancel_while_waiting_for_permission(workspace: Path) -> None:
    agent = make_agent(
        workspace,
        [{"content": [{"type": "tool_use", "name": "Bash", "input": {"command": "touch x"}}]}],
        prompter=ScriptPrompter(hang=True),
        permissionMode="default",
    )
    finished, took = await _cancel_when(
        agent, "touch", lambda e: e.type == "tool_call_update" and e.status == "pending"
    )
    assert finished.stop_reason == "cancelled"
    assert took < 1.0
    assert not (workspace / "x").exists()
    assert_consistent(agent.session.load_messages())


async def test_cancelled_session_resumes_cleanly(workspace: Path) -> None:
    agent, finished, _ = await _cancel_mid_sleep(workspace)
    agent.session.close()
    resumed = make_agent(
        workspace, [{"content": [{"type": "text", "text": "back"}]}], session_id=finished.session_id
    )
    assert_consistent(resumed.messages)
    _, again = await collect(resumed, "continue")
    assert again.stop_reason == "end_turn" and again.result == "back"
    request = resumed.model.requests[0]  # type: ignore[attr-defined]
    roles = [m.role for m in request.messages]
    assert all(a != b for a, b in itertools.pairwise(roles)), roles
    assert request.messages[0].text() == "sleep"


async def test_permission_denied_with_feedback_reaches_the_model(workspace: Path) -> None:
    prompter = ScriptPrompter(["reject_once"])
    agent = make_agent(
        workspace,
        [
            {"content": [{"type": "tool_use", "name": "Bash", "input": {"command": "rm -rf build"}}]},
            {"content": [{"type": "text", "text": "ok, not removing"}]},
        ],
        prompter=prompter,
        permissionMode="default",
    )
    _, finished = await collect(agent, "clean")
    assert finished.stop_reason == "end_turn"
    assert prompter.asked and prompter.asked[0].subject == "rm -rf build"
    result = agent.messages[-2].tool_results()[0]
    assert result.is_error and "not now" in result.text()


async def test_auto_compaction_keeps_a_long_session_going(workspace: Path) -> None:
    (workspace / "big.txt").write_text("lorem ipsum dolor sit amet\n" * 400)
    read = {
        "content": [{"type": "tool_use", "name": "Read", "input": {"file_path": "{{workspace}}/big.txt"}}]
    }
    turns = [read, {"content": [{"type": "text", "text": "read it"}]}] * 4
    agent = make_agent(workspace, turns, autoCompactTokens=4000)
    for index in range(4):
        events, finished = await collect(agent, f"read the file, round {index}")
        assert finished.stop_reason == "end_turn", finished.error
    notices = [e.message for e in events if e.type == "notice"]
    summaries = [m for m in agent.messages if "Summary of the earlier conversation" in m.text()]
    assert len(summaries) <= 1
    assert any("Compacted" in n for n in notices) or summaries
    assert_consistent(agent.session.load_messages())


async def test_manual_compaction(workspace: Path) -> None:
    agent = make_agent(workspace, [{"content": [{"type": "text", "text": f"answer {i}"}]} for i in range(6)])
    for index in range(5):
        await collect(agent, f"question {index}")
    _, finished = await collect(agent, "/compact")
    assert finished.stop_reason == "end_turn"
    assert "Compacted" in finished.result
    reloaded = agent.session.load_messages()
    assert "question 0" in reloaded[0].text()


def hooks(event: str, command: str, matcher: str = "") -> dict[str, Any]:
    return {event: [{"matcher": matcher, "hooks": [{"type": "command", "command": command}]}]}


async def test_pre_tool_use_hook_exit_2_blocks_and_its_stderr_reaches_the_model(workspace: Path) -> None:
    agent = make_agent(
        workspace,
        [
            {"content": [{"type": "tool_use", "name": "Bash", "input": {"command": "touch x"}}]},
            {"content": [{"type": "text", "text": "blocked, fine"}]},
        ],
        permissionMode="bypassPermissions",
        hooks=hooks("PreToolUse", "echo 'no touching in this repo' >&2; exit 2", matcher="Bash"),
    )
    _, finished = await collect(agent, "touch")
    assert finished.stop_reason == "end_turn"
    assert not (workspace / "x").exists()
    result = agent.messages[-2].tool_results()[0]
    assert result.is_error and "no touching in this repo" in result.text()


async def test_user_prompt_submit_hook_block_is_shown_and_nothing_is_sent(workspace: Path) -> None:
    agent = make_agent(
        workspace,
        [{"content": [{"type": "text", "text": "should not be asked"}]}],
        hooks=hooks("UserPromptSubmit", "echo 'prompts about secrets are blocked' >&2; exit 2"),
    )
    events, finished = await collect(agent, "print the secrets")
    assert "prompts about secrets are blocked" in finished.result
    assert any(e.type == "notice" and "secrets are blocked" in e.message for e in events)
    assert agent.model.requests == []  # type: ignore[attr-defined]


async def test_post_tool_use_hook_feedback_is_added_to_the_result(workspace: Path) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    agent = make_agent(
        workspace,
        [
            {"content": [{"type": "tool_use", "name": "Read", "input": {"file_path": "{{workspace}}/a.py"}}]},
            {"content": [{"type": "text", "text": "ok"}]},
        ],
        hooks=hooks("PostToolUse", """echo '{"decision": "block", "reason": "lint says: line too short"}'"""),
    )
    await collect(agent, "read")
    result = agent.messages[-2].tool_results()[0]
    assert "lint says: line too short" in result.text()


async def test_a_path_that_cannot_be_resolved_is_refused_before_anyone_is_asked(workspace: Path) -> None:
    prompter = ScriptPrompter(["allow_once"])
    agent = make_agent(
        workspace,
        [
            {
                "content": [
                    {
                        "type": "tool_use",
                        "name": "Write",
                        "input": {"file_path": "~/notes.txt", "content": "x"},
                    }
                ]
            },
            {"content": [{"type": "text", "text": "ok"}]},
        ],
        prompter=prompter,
        permissionMode="default",
    )
    await collect(agent, "write notes")
    assert prompter.asked == []  # nobody is asked about a write whose path is unknown
    result = agent.messages[-2].tool_results()[0]
    assert result.is_error and "'~'" in result.text()


async def test_a_path_with_a_nul_byte_fails_that_call_only(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.txt").write_text("fine\n")
    agent = make_agent(
        ws,
        [
            {
                "content": [
                    {"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": f"{ws}/a\x00b"}}
                ]
            },
            {
                "content": [
                    {"type": "tool_use", "id": "t2", "name": "Read", "input": {"file_path": f"{ws}/a.txt"}}
                ]
            },
            {"content": [{"type": "text", "text": "read it"}]},
        ],
    )
    events, finished = await collect(agent, "read")
    assert finished.stop_reason == "end_turn" and finished.result == "read it"
    outputs = {e.tool_call_id: e.output for e in events if getattr(e, "output", None)}
    assert "null" in outputs["t1"].lower() or "nul" in outputs["t1"].lower()
    assert "fine" in outputs["t2"]


def test_tool_specs_are_built_once_and_follow_the_tools(workspace: Path) -> None:
    """Every request lists every tool: the specs are kept while the tools stay the same, and
    rebuilt when one is added, removed or replaced (MCP tools come and go)."""
    agent = make_agent(workspace, [])
    first = agent.tool_specs()
    again = agent.tool_specs()
    assert [s.name for s in first] == list(agent.tools)
    assert again == first and all(a is b for a, b in zip(again, first, strict=True))
    again.pop()  # the caller's list is its own
    assert len(agent.tool_specs()) == len(first)
    read = agent.tools.pop("Read")
    assert "Read" not in [s.name for s in agent.tool_specs()]
    agent.tools["Read"] = read
    assert [s.name for s in agent.tool_specs()][-1] == "Read"
    assert agent.tool_specs()[-1].input_schema["required"] == ["file_path"]
