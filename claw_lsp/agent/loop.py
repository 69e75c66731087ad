"""The agent loop: `Agent.start(prompt)` streams model turns, runs tools, and emits events.

Editor-agnostic: the language server, the CLI and the tests consume the same `Run` event stream.
One run is one asyncio task. It stops on `end_turn`, `maxTurns`, a token or cost budget, an error,
or cancellation; whichever way it stops, the transcript is left consistent (every `tool_use` has its
`tool_result`) so the session resumes cleanly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from claw_lsp.agent.compaction import RunningEstimate, estimate_tokens
from claw_lsp.agent.permissions import authorize, rule_family
from claw_lsp.agent.session import make_title
from claw_lsp.core.events import (
    Notice,
    RunFinished,
    RunStarted,
    StopReason,
    TextDelta,
    ThoughtDelta,
    ToolCallStarted,
    ToolCallUpdated,
    UsageUpdated,
)
from claw_lsp.core.messages import (
    ContentBlock,
    Message,
    TextBlock,
    ToolResultBlock,
    ToolResultContent,
    ToolUseBlock,
    Usage,
)
from claw_lsp.core.permissions import PermissionAnswer, PermissionRequest
from claw_lsp.core.tools import (
    SessionState,
    Tool,
    ToolContext,
    ToolError,
    ToolOutput,
    edits_files,
    tool_schema,
)
from claw_lsp.providers.base import Delta, ModelRequest, ProviderError, ToolSpec

if TYPE_CHECKING:
    from claw_lsp.agent.hooks import HookOutcome, HookRunner, SessionEndReason, SessionStartSource
    from claw_lsp.agent.permissions import PermissionEngine
    from claw_lsp.agent.session import Session
    from claw_lsp.agent.slash import SlashContext
    from claw_lsp.config import Settings
    from claw_lsp.core.permissions import Prompter
    from claw_lsp.core.tools import DiagnosticsSource
    from claw_lsp.providers.base import Model
    from claw_lsp.workspace.view import WorkspaceView

INTERRUPTED = "[Request interrupted by user]"
CANCELLED_TOOL = "Cancelled: the user interrupted the run before this tool finished."
MAX_RESULT_CHARS = 100_000  # a last-resort cap; each tool caps its own output more tightly


class RunStopped(Exception):
    """The run must stop for a reason that is not an error (a limit, a hook)."""

    def __init__(self, stop_reason: StopReason, message: str) -> None:
        super().__init__(message)
        self.stop_reason: StopReason = stop_reason


@dataclass
class AgentHooks:
    """Front-end callbacks into the loop (the language server uses them; the CLI needs none).

    `before_tool(tool, locations)` runs before a permitted tool and may return a note appended to
    the tool's result (e.g. files still unsaved in the editor before Bash). `after_edits(paths)`
    runs after a batch of tool calls that changed files (tools whose kind says they edit) and may
    return text for the model (e.g. new errors the editor reports in those files).
    """

    before_tool: Callable[[Tool, list[Path]], Awaitable[str | None]] | None = None
    after_edits: Callable[[set[Path]], Awaitable[str | None]] | None = None


@dataclass
class _RunTotals:
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    turns: int = 0
    last_context_tokens: int = 0


class Agent:
    """A conversation (one session) that runs prompts with a model and tools."""

    def __init__(
        self,
        *,
        model: Model,
        tools: list[Tool],
        workspace: WorkspaceView,
        settings: Settings,
        session: Session,
        prompter: Prompter,
        permissions: PermissionEngine,
        system_prompt: str,
        hook_runner: HookRunner | None = None,
        diagnostics: DiagnosticsSource | None = None,
        state: SessionState | None = None,
        hooks: AgentHooks | None = None,
        retry_delay: float = 1.0,
        subagent_type: str | None = None,
    ) -> None:
        self.model = model
        self.tools = {tool.name: tool for tool in tools}
        self._specs: tuple[tuple[tuple[str, int, str], ...], list[ToolSpec]] | None = None
        self.history_estimate = RunningEstimate()  # the conversation's size, measured as it grows
        # Other names a tool answers to (`Task` for `Agent`), never shown to the model.
        self._aliases = {a: t.name for t in tools for a in getattr(t, "aliases", ()) if a not in self.tools}
        self.workspace = workspace
        self.settings = settings
        self.session = session
        self.prompter = prompter
        self.permissions = permissions
        self.system_prompt = system_prompt
        self.hook_runner = hook_runner
        self.diagnostics = diagnostics
        self.state = state or SessionState()
        self.hooks = hooks or AgentHooks()
        self.retry_delay = retry_delay
        self.messages: list[Message] = session.load_messages()
        self.usage = Usage()
        self.cost_usd = 0.0
        self.last_context_tokens = 0
        self.current: Run | None = None
        # Context for the model sent with the next request (SessionStart hooks' output).
        self.reminders: list[str] = []
        # Slash commands and skills (set by `compose.build_agent`; None: built-ins only).
        self.slash: SlashContext | None = None
        # Set when this agent is a subagent (the `Agent` tool runs it): its type, e.g. "Explore".
        self.subagent_type = subagent_type

    @property
    def session_id(self) -> str:
        """The id of the session this agent appends to."""
        return self.session.id

    def start(self, prompt: str, context: str | None = None, *, deferred: bool = False) -> Run:
        """Start a run (as a task on the running loop) and return its handle.

        With `deferred`, the caller calls `run.begin()` itself, e.g. once the editor shows the
        run's progress, so that no step happens before anyone can see it.
        """
        if self.current is not None and not self.current.done:
            raise RuntimeError(f"session {self.session_id} is busy with run {self.current.id}")
        run = Run(self, prompt, context)
        self.current = run
        if not deferred:
            run.begin()
        return run

    def tool(self, name: str) -> Tool | None:
        """The tool the model calls `name` (by its name or an alias)."""
        return self.tools.get(name) or self.tools.get(self._aliases.get(name, ""))

    def tool_specs(self) -> list[ToolSpec]:
        """The tools as the model sees them: built once while the tools stay the same (every
        request lists every tool; a schema's copy cost a fifth of a millisecond a tool)."""
        key = tuple((name, id(t), t.description) for name, t in self.tools.items())
        if self._specs is None or self._specs[0] != key:
            specs = [ToolSpec(t.name, t.description, tool_schema(t)) for t in self.tools.values()]
            self._specs = (key, specs)
        return list(self._specs[1])

    def record(self, message: Message) -> None:
        """Append a message to the conversation and the transcript."""
        self.messages.append(message)
        self.session.append_message(message)

    def set_messages(self, messages: list[Message]) -> None:
        """Replace the in-memory conversation (after compaction)."""
        self.messages = messages

    async def begin_session(self, source: SessionStartSource | None = None) -> list[str]:
        """Run the SessionStart hooks: once per session at its first run (`startup`, or `resume`
        when it already had messages), or again for `clear` / `compact`. Their context goes to the
        model with the next request; the notes (non-blocking errors) are returned."""
        if source is None:
            if self.state.started or self.subagent_type is not None:
                return []
            source = "resume" if self.messages else "startup"
        self.state.started = True
        if self.hook_runner is None:
            return []
        outcome = await self.hook_runner.session_start(source, self.model.name)
        if outcome.additional_context:
            self.reminders.append(
                f"<system-reminder>\nSessionStart:{source} hook additional context: "
                f"{outcome.additional_context}\n</system-reminder>"
            )
        return outcome.notes

    async def close(self, reason: SessionEndReason = "other") -> None:
        """End the session: its SessionEnd hooks (when it started), then kill its background
        commands. Front ends call it when the session closes or they exit."""
        try:
            if self.state.started and self.hook_runner is not None:
                self.state.started = False
                await self.hook_runner.session_end(reason)
        finally:
            if self.state.background is not None:
                await self.state.background.close()


class Run:
    """One prompt's run: an asyncio task, its event stream and its outcome."""

    def __init__(self, agent: Agent, prompt: str, context: str | None) -> None:
        self.agent = agent
        self.prompt = prompt
        self.context = context
        self.id = "r-" + uuid.uuid4().hex[:10]
        self.session_id = agent.session_id
        self.totals = _RunTotals()
        self.result: RunFinished | None = None
        self._listeners: list[Callable[[BaseModel], None]] = []
        self._queues: list[asyncio.Queue[BaseModel | None]] = []
        self._task: asyncio.Task[RunFinished] | None = None
        self._cancel_reason: str | None = None
        self._started = time.monotonic()
        self._last_text = ""
        self._pending_results: dict[str, ToolResultBlock] = {}
        self._open_tool_uses: list[ToolUseBlock] = []
        # The files each call of an editing tool touches (tool_use id -> its locations).
        self._edit_locations: dict[str, list[Path]] = {}
        self._running = False
        self._finished = asyncio.Event()
        # PermissionRequest hooks: the input they replaced (tool_use id -> input), and why one
        # stopped the run (its `interrupt`).
        self._permission_input: dict[str, dict[str, Any]] = {}
        self._interrupt: str | None = None

    # -- public handle -------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the run has finished (its RunFinished was emitted)."""
        return self.result is not None

    def subscribe(self, listener: Callable[[BaseModel], None]) -> None:
        """Call `listener` synchronously for every event from now on."""
        self._listeners.append(listener)

    async def events(self) -> AsyncIterator[BaseModel]:
        """Iterate the run's events until (and including) RunFinished."""
        queue: asyncio.Queue[BaseModel | None] = asyncio.Queue()
        self._queues.append(queue)
        if self.result is not None:
            queue.put_nowait(self.result)
            queue.put_nowait(None)
        while True:
            event = await queue.get()
            if event is None:
                return
            yield event

    def use_input(self, tool_call_id: str, tool_input: dict[str, Any]) -> None:
        """Run the tool call `tool_call_id` with `tool_input` instead of the model's (a permission
        answer's or a PermissionRequest hook's `updatedInput`)."""
        self._permission_input[tool_call_id] = tool_input

    def interrupt(self, reason: str) -> None:
        """End the run with `reason` once the tool calls under way are settled (an answer or a
        hook that says "stop here"), unlike `cancel`, which stops at once."""
        self._interrupt = reason

    def cancel(self, reason: str = "cancelled by user") -> None:
        """Ask the run to stop; it finishes with stop reason `cancelled`."""
        if self.done or self._cancel_reason is not None:
            return
        self._cancel_reason = reason
        if self._task is not None and self._running:
            self._task.cancel()

    async def wait(self) -> RunFinished:
        """Wait for the run to finish (begun or not yet) and return its RunFinished event."""
        await self._finished.wait()
        assert self.result is not None
        return self.result

    # -- internals -----------------------------------------------------------------------------

    def begin(self) -> None:
        """Create the run's task (once)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._main(), name=f"claw-run-{self.id}")

    def emit(self, event: BaseModel, *, persist: bool = True) -> None:
        """Send an event to listeners and iterators, and (unless a delta) to the transcript."""
        if persist:
            self.agent.session.append_event(event)
        for listener in list(self._listeners):
            listener(event)
        for queue in self._queues:
            queue.put_nowait(event)

    def _finish(self, event: RunFinished) -> RunFinished:
        self.result = event
        self.emit(event)
        for queue in self._queues:
            queue.put_nowait(None)
        self._finished.set()
        return event

    async def _main(self) -> RunFinished:
        agent = self.agent
        stop_reason: StopReason = "end_turn"
        error: str | None = None
        self.emit(
            RunStarted(run_id=self.id, session_id=self.session_id, model=agent.model.name, prompt=self.prompt)
        )
        self._running = True
        background = agent.state.background
        earlier = background.ids() if background is not None else set()
        try:
            if self._cancel_reason is not None:  # cancelled before the task first ran
                raise asyncio.CancelledError
            await self._conversation()
        except asyncio.CancelledError:
            stop_reason = "cancelled"
        except RunStopped as stop:
            stop_reason = stop.stop_reason
            error = str(stop) if stop.stop_reason in ("error", "budget", "max_turns") else None
            self.emit(Notice(level="warning", message=str(stop)))
            if not self._last_text:
                self._last_text = str(stop)
        except ProviderError as exc:
            stop_reason, error = "error", str(exc)
            self.emit(Notice(level="error", message=str(exc)))
        except Exception as exc:  # a bug must not leave the transcript broken
            stop_reason, error = "error", f"internal error: {type(exc).__name__}: {exc}"
            self.emit(Notice(level="error", message=error))
        finally:
            self._close_open_tool_uses(stop_reason)
        if stop_reason == "cancelled":
            if background is not None:  # a cancel also stops the background commands it started
                stopped = await background.stop_started_since(earlier)
                if stopped:
                    self.emit(Notice(message=f"Stopped the background commands {', '.join(stopped)}."))
            agent.record(Message.user(INTERRUPTED))
        return self._finish(
            RunFinished(
                run_id=self.id,
                session_id=self.session_id,
                stop_reason=stop_reason,
                result=self._last_text,
                error=error,
                turns=self.totals.turns,
                usage=self.totals.usage,
                cost_usd=round(self.totals.cost_usd, 6),
                duration_ms=int((time.monotonic() - self._started) * 1000),
            )
        )

    def _close_open_tool_uses(self, stop_reason: StopReason) -> None:
        """Answer every tool_use of the last assistant message, so the transcript stays valid."""
        if not self._open_tool_uses:
            return
        blocks: list[ContentBlock] = []
        for tool_use in self._open_tool_uses:
            result = self._pending_results.get(tool_use.id)
            if result is None:
                text = CANCELLED_TOOL if stop_reason == "cancelled" else "Not run: the run stopped."
                result = ToolResultBlock(tool_use_id=tool_use.id, content=text, is_error=True)
                self.emit(ToolCallUpdated(tool_call_id=tool_use.id, status="failed", output=text))
            blocks.append(result)
        self._open_tool_uses = []
        self._pending_results = {}
        self.agent.record(Message(role="user", content=blocks))

    async def _conversation(self) -> None:
        agent = self.agent
        prompt = self.prompt
        self._notes(await agent.begin_session())
        from claw_lsp.agent.slash import dispatch

        expanded = await dispatch(self, prompt)
        if expanded is None:  # a slash command answered here (/compact, /cost, /help, ...)
            return
        prompt = expanded
        if agent.hook_runner is not None:
            outcome = await agent.hook_runner.user_prompt_submit(prompt)
            if outcome.blocked:
                raise RunStopped("end_turn", f"A UserPromptSubmit hook blocked the prompt: {outcome.reason}")
            if outcome.additional_context:
                prompt = f"{prompt}\n\n{outcome.additional_context}"
        text = prompt if not self.context else f"{self.context}\n\n{prompt}"
        if not agent.session.title:  # named by what the user asked, never by the context sent along
            agent.session.set_meta(title=make_title(self.prompt))
        agent.record(Message.user(text))
        stop_hook_active = False
        while True:
            self._check_limits()
            await self._maybe_compact()
            self._send_reminders()
            turn_message = await self._model_turn()
            tool_uses = turn_message.tool_uses()
            if not tool_uses:
                if agent.hook_runner is not None:
                    outcome = await self._stop_hooks(stop_hook_active, turn_message.text())
                    self._notes(outcome.notes)
                    if outcome.blocked and outcome.reason and not outcome.stop:
                        stop_hook_active = True
                        agent.record(Message.user(f"A Stop hook asks you to continue: {outcome.reason}"))
                        continue
                return
            self._open_tool_uses = tool_uses
            self._pending_results = {}
            await self._run_tools(tool_uses)
            extra = await self._after_edits()
            blocks: list[ContentBlock] = [self._pending_results[t.id] for t in tool_uses]
            if extra:
                blocks.append(TextBlock(text=extra))
            self._open_tool_uses = []
            self._pending_results = {}
            agent.record(Message(role="user", content=blocks))

    async def _stop_hooks(self, active: bool, last_text: str) -> HookOutcome:
        """The Stop hooks, or a subagent's SubagentStop hooks, when the model wants to end."""
        agent = self.agent
        assert agent.hook_runner is not None
        if agent.subagent_type is None:
            return await agent.hook_runner.stop(active, last_text)
        return await agent.hook_runner.subagent_stop(
            agent_id=agent.session.id,
            agent_type=agent.subagent_type,
            agent_transcript_path=agent.session.path,
            stop_hook_active=active,
            last_assistant_message=last_text,
        )

    def _check_limits(self) -> None:
        settings = self.agent.settings
        if self.totals.turns >= settings.maxTurns:
            raise RunStopped("max_turns", f"Stopped after {self.totals.turns} turns (maxTurns).")
        if (
            settings.maxTokensPerRun is not None
            and self.totals.usage.total_tokens >= settings.maxTokensPerRun
        ):
            raise RunStopped(
                "budget", f"Stopped: the run used {self.totals.usage.total_tokens} tokens (maxTokensPerRun)."
            )
        if settings.maxBudgetUsd is not None and self.totals.cost_usd >= settings.maxBudgetUsd:
            raise RunStopped("budget", f"Stopped: the run cost ${self.totals.cost_usd:.4f} (maxBudgetUsd).")

    def _send_reminders(self) -> None:
        """Hook context and notices of finished background commands go with the next request
        (a user message after the last one; the request merges them)."""
        agent = self.agent
        notes, agent.reminders = agent.reminders, []
        if agent.state.background is not None:
            notes += agent.state.background.notices()
        if notes:
            agent.record(Message(role="user", content=[TextBlock(text=n) for n in notes]))

    def _notes(self, notes: list[str]) -> None:
        """Show hooks' non-blocking errors and system messages to the user."""
        for note in notes:
            self.emit(Notice(level="warning", message=note))

    def _request(self) -> ModelRequest:
        agent = self.agent
        return ModelRequest(
            system=agent.system_prompt,
            messages=normalize_messages(agent.messages),
            tools=agent.tool_specs(),
            max_tokens=agent.settings.maxOutputTokens,
        )

    async def _model_turn(self) -> Message:
        agent = self.agent
        streamed = _StreamedText(agent.session)

        def on_delta(delta: Delta) -> None:
            if delta.kind == "text":
                streamed.add(delta.text)
                self.emit(TextDelta(text=delta.text), persist=False)
            elif delta.kind == "thinking":
                self.emit(ThoughtDelta(text=delta.text), persist=False)

        try:
            return await self._stream_turn(streamed, on_delta)
        finally:
            streamed.stop()

    async def _stream_turn(self, streamed: _StreamedText, on_delta: Callable[[Delta], None]) -> Message:
        agent = self.agent
        try:
            try:
                turn = await agent.model.complete(self._request(), on_delta)
            except ProviderError as exc:
                if exc.kind != "invalid_request" or "too long" not in str(exc).lower():
                    raise
                # The context overflowed before our threshold caught it: compact and retry once.
                self.emit(Notice(message="The conversation is too long for the model; compacting."))
                await self._compact(manual=False)
                streamed.restart()
                turn = await agent.model.complete(self._request(), on_delta)
        except asyncio.CancelledError:
            partial = streamed.text()
            if partial:
                agent.record(Message(role="assistant", content=[TextBlock(text=partial)]))
            raise
        except ProviderError:
            # The stream failed after text was shown (a fault there is never retried): the text
            # stays the model's answer, so a resumed run sees what the user saw. Before, only the
            # checkpoints older than PARTIAL_FLUSH_S survived, none of a fast stream.
            partial = streamed.text()
            if partial.strip():
                agent.record(Message(role="assistant", content=[TextBlock(text=partial)]))
            raise
        self.totals.turns += 1
        self._account(turn.usage, turn.cost_usd)
        message = turn.message
        if not message.content:
            message = Message(role="assistant", content=[TextBlock(text="(no response)")])
        agent.record(message)
        text = message.text()
        if text:
            self._last_text = text
        if turn.stop_reason == "refusal":
            raise RunStopped("refusal", "The model declined to continue.")
        if turn.stop_reason == "max_tokens" and not message.tool_uses():
            raise RunStopped("max_tokens", "The model's answer hit the output token limit.")
        return message

    def _account(self, usage: Usage, cost: float) -> None:
        self.agent.last_context_tokens = usage.context_tokens + usage.output_tokens
        self.count_usage(usage, cost)

    def count_usage(self, usage: Usage, cost: float) -> None:
        """Count a request in the run's and the agent's totals (a subagent's too: it leaves this
        conversation's context size alone)."""
        agent = self.agent
        self.totals.usage = self.totals.usage + usage
        self.totals.cost_usd += cost
        agent.usage = agent.usage + usage
        agent.cost_usd += cost
        self.emit(
            UsageUpdated(
                request=usage,
                total=self.totals.usage,
                cost_usd=round(self.totals.cost_usd, 6),
                context_tokens=agent.last_context_tokens,
            )
        )

    # -- compaction ----------------------------------------------------------------------------

    def _threshold(self) -> int:
        from claw_lsp.agent.compaction import compaction_threshold

        return compaction_threshold(self.agent.model.context_window, self.agent.settings.autoCompactTokens)

    async def _maybe_compact(self) -> None:
        from claw_lsp.agent.compaction import should_compact

        agent = self.agent
        estimate = len(agent.system_prompt) // 4 + agent.history_estimate.tokens(agent.messages)
        estimate = max(agent.last_context_tokens, estimate)
        if should_compact(estimate, self._threshold()):
            await self._compact(manual=False)

    async def _compact(self, *, manual: bool, instructions: str | None = None) -> None:
        from claw_lsp.agent.compaction import compact

        agent = self.agent
        if agent.hook_runner is not None:
            pre = await agent.hook_runner.pre_compact("manual" if manual else "auto", instructions)
            self._notes(pre.notes)
            if pre.blocked:
                self.emit(
                    Notice(level="warning", message=f"A PreCompact hook stopped the compaction: {pre.reason}")
                )
                return
        self.emit(Notice(message="Compacting the conversation…"))
        result = await compact(agent.model, agent.messages, instructions=instructions)
        if result.replaced == 0:
            self.emit(Notice(message="Nothing to compact yet."))
            if manual:
                self._last_text = "Nothing to compact yet."
            return
        self._account(result.usage, result.cost_usd)
        agent.session.append_compaction(result.summary, result.kept)
        agent.set_messages(result.messages)
        agent.last_context_tokens = len(agent.system_prompt) // 4 + estimate_tokens(agent.messages)
        message = f"Compacted {result.replaced} earlier messages into a summary."
        self.emit(Notice(message=message))
        self._notes(await agent.begin_session("compact"))
        self._send_reminders()  # recorded now: after /compact, the next request may be another process's
        if manual:
            self._last_text = message

    # -- tools ---------------------------------------------------------------------------------

    async def _run_tools(self, tool_uses: list[ToolUseBlock]) -> None:
        """Run read-only tools of a batch concurrently and mutating tools in order."""
        index = 0
        while index < len(tool_uses):
            tool = self.agent.tool(tool_uses[index].name)
            if tool is not None and tool.read_only:
                group = []
                while index < len(tool_uses):
                    candidate = self.agent.tool(tool_uses[index].name)
                    if candidate is None or not candidate.read_only:
                        break
                    group.append(tool_uses[index])
                    index += 1
                await asyncio.gather(*(self._call(t) for t in group))
            else:
                await self._call(tool_uses[index])
                index += 1

    def _context(self, tool_use: ToolUseBlock) -> ToolContext:
        agent = self.agent

        def set_title(title: str) -> None:
            self.emit(ToolCallUpdated(tool_call_id=tool_use.id, status="in_progress", title=title))

        return ToolContext(
            workspace=agent.workspace,
            state=agent.state,
            tool_call_id=tool_use.id,
            emit=self.emit,
            diagnostics=agent.diagnostics,
            bash_timeout_ms=agent.settings.bashTimeoutMs,
            set_title=set_title,
            read_denied=agent.permissions.read_denied,
        )

    def _settle(self, tool_use: ToolUseBlock, output: ToolOutput, title: str | None = None) -> None:
        content = output.content
        if len(content) > MAX_RESULT_CHARS:
            cut = len(content) - MAX_RESULT_CHARS
            content = content[:MAX_RESULT_CHARS] + f"\n… [{cut} characters cut]"
        result_content: str | list[ToolResultContent] = content
        if output.images:
            result_content = [TextBlock(text=content), *output.images]
        self._pending_results[tool_use.id] = ToolResultBlock(
            tool_use_id=tool_use.id, content=result_content, is_error=output.is_error
        )
        self.emit(
            ToolCallUpdated(
                tool_call_id=tool_use.id,
                status="failed" if output.is_error else "completed",
                title=title,
                output=content,
                diffs=output.diffs,
                review=output.review,
                denied=output.denied,
            )
        )

    async def _call(self, tool_use: ToolUseBlock) -> None:
        """Validate, authorize, hook and run one tool call; always settles a result."""
        agent = self.agent
        tool = agent.tool(tool_use.name)
        if tool is None:
            self.emit(ToolCallStarted(tool_call_id=tool_use.id, name=tool_use.name, title=tool_use.name))
            known = ", ".join(agent.tools)
            self._settle(tool_use, ToolOutput(f"Unknown tool {tool_use.name!r}. Tools: {known}.", True))
            return
        ctx = self._context(tool_use)
        pre = None
        if agent.hook_runner is not None:  # before validation: its updatedInput is what runs
            pre = await agent.hook_runner.pre_tool_use(tool.name, tool_use.input, tool_use.id)
            self._notes(pre.notes)
            if pre.updated_input is not None:
                tool_use = tool_use.model_copy(update={"input": pre.updated_input})
        try:
            args = tool.input_model.model_validate(tool_use.input)
            # A subject that cannot be worked out (e.g. a '~' path) is refused here, never
            # handed to the permission engine as "no path".
            title = tool.title(args, ctx)
            subject = tool.subject(args, ctx)
            locations = tool.locations(args, ctx)
        except (ValidationError, ToolError, ValueError, OSError) as exc:
            # Also a path the OS cannot take (a NUL byte, too long): this call fails, the run goes on.
            self.emit(
                ToolCallStarted(tool_call_id=tool_use.id, name=tool.name, title=tool.name, kind=tool.kind)
            )
            if isinstance(exc, ValidationError):
                message = f"Invalid input for {tool.name}: {_brief(exc)}"
            elif isinstance(exc, ToolError):
                message = str(exc)
            else:
                message = f"Invalid input for {tool.name}: {exc}"
            self._settle(tool_use, ToolOutput(message, True))
            return
        self.emit(
            ToolCallStarted(
                tool_call_id=tool_use.id,
                name=tool.name,
                title=title,
                kind=tool.kind,
                input=tool_use.input,
                locations=[str(p) for p in locations],
            )
        )
        if edits_files(tool):
            self._edit_locations[tool_use.id] = locations
        refusal = await self._authorize(tool, tool_use, title, subject, ctx, pre=pre)
        if refusal is not None:
            # The title again: the last one shown was "Waiting for permission: …".
            self._settle(tool_use, ToolOutput(refusal, True, denied=True), title=title)
            if self._interrupt is not None:
                raise RunStopped("end_turn", self._interrupt)
            return
        if tool_use.id in self._permission_input:  # a PermissionRequest hook's updatedInput
            tool_use = tool_use.model_copy(update={"input": self._permission_input.pop(tool_use.id)})
            try:
                args = tool.input_model.model_validate(tool_use.input)
            except ValidationError as exc:
                self._settle(tool_use, ToolOutput(f"Invalid input for {tool.name}: {_brief(exc)}", True))
                return
        note = None
        if agent.hooks.before_tool is not None:
            note = await agent.hooks.before_tool(tool, locations)
        self.emit(ToolCallUpdated(tool_call_id=tool_use.id, status="in_progress", title=title))
        try:
            output = await tool.run(args, ctx)
        except ToolError as exc:
            output = ToolOutput(str(exc), True)
        except (OSError, ValueError) as exc:
            output = ToolOutput(f"{tool.name} failed: {exc}", True)
        if pre is not None and pre.additional_context:
            note = "\n\n".join(t for t in (note, pre.additional_context) if t)
        if note:
            output = dataclasses.replace(output, content=f"{output.content}\n\n{note}")
        if agent.hook_runner is not None:
            output = await self._post_tool_use(agent.hook_runner, tool, tool_use, output)
        self._settle(tool_use, output)

    async def _post_tool_use(
        self, runner: HookRunner, tool: Tool, tool_use: ToolUseBlock, output: ToolOutput
    ) -> ToolOutput:
        """PostToolUse hooks after a success, PostToolUseFailure hooks after a failure; what
        they say for the model is added to the result."""
        if output.is_error:
            post = await runner.post_tool_use_failure(tool.name, tool_use.input, tool_use.id, output.content)
            event = "PostToolUseFailure"
        else:
            response = {"content": output.content, "is_error": False}
            post = await runner.post_tool_use(tool.name, tool_use.input, response, tool_use.id)
            event = "PostToolUse"
        self._notes(post.notes)
        extra = f"{event} hook: {post.reason}" if post.blocked and post.reason else post.additional_context
        if extra:
            output = dataclasses.replace(output, content=f"{output.content}\n\n{extra}")
        return output

    async def _authorize(
        self,
        tool: Tool,
        tool_use: ToolUseBlock,
        title: str,
        subject: str | None,
        ctx: ToolContext,
        *,
        pre: HookOutcome | None = None,
    ) -> str | None:
        """Return None when the call may run (marking `ctx.preapproved`), else the refusal
        (`pre`: what the PreToolUse hooks decided)."""
        agent = self.agent
        hook_permission = None
        hook_reason = ""
        if pre is not None:
            if pre.stop:
                self._interrupt = f"A PreToolUse hook stopped the run: {pre.reason}"
            if pre.blocked:
                return f"Blocked by a PreToolUse hook: {pre.reason}"
            hook_permission, hook_reason = pre.permission, pre.reason
        result = await authorize(
            agent.permissions,
            _AnnouncingPrompter(agent.prompter, self, tool_use.id, title),
            tool_call_id=tool_use.id,
            tool_name=tool.name,
            read_only=tool.read_only,
            subject=subject,
            input=tool_use.input,
            family=rule_family(tool),
            kind=tool.kind,
            reviewable=tool.reviewable,
            title=title,
            cwd=agent.state.cwd,
            hook_permission=hook_permission,
            hook_reason=hook_reason,
        )
        ctx.preapproved = result.preapproved
        return None if result.allowed else result.message_for_model

    async def _after_edits(self) -> str | None:
        agent = self.agent
        if agent.hooks.after_edits is None:
            return None
        touched = {
            path
            for t in self._open_tool_uses
            if not self._pending_results[t.id].is_error
            for path in self._edit_locations.get(t.id, [])
        }
        if not touched:
            return None
        return await agent.hooks.after_edits(touched)


# Streamed text is in the transcript within this many seconds of being shown.
PARTIAL_FLUSH_S = 0.5


class _StreamedText:
    """The text of the model turn being streamed, checkpointed into the transcript as
    `partial_text` records at most PARTIAL_FLUSH_S after it arrived: a process killed mid-stream
    loses none of what the user saw (the turn's message, once recorded, supersedes them)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.parts: list[str] = []
        self.saved = 0
        self._timer: asyncio.TimerHandle | None = None

    def add(self, text: str) -> None:
        self.parts.append(text)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(PARTIAL_FLUSH_S, self.flush)

    def flush(self) -> None:
        self._timer = None
        if self.saved < len(self.parts):
            self.session.append({"type": "partial_text", "text": "".join(self.parts[self.saved :])})
            self.saved = len(self.parts)

    def text(self) -> str:
        return "".join(self.parts)

    def restart(self) -> None:
        """The turn is asked again (after a compaction): what streamed so far does not count."""
        self.stop()
        self.parts, self.saved = [], 0

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class _AnnouncingPrompter:
    """Shows "Waiting for permission" on the tool call before the real prompter asks."""

    def __init__(self, inner: Prompter, run: Run, tool_call_id: str, title: str) -> None:
        self.inner, self.run, self.tool_call_id, self.title = inner, run, tool_call_id, title

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        """Let PermissionRequest hooks answer; else emit the pending update and ask (Notification
        hooks hear of the question meanwhile)."""
        runner = self.run.agent.hook_runner
        if runner is not None:
            suggestions = permission_suggestions(request.suggested_rule)
            hooked = await runner.permission_request(request.tool_name, dict(request.input), suggestions)
            self.run._notes(hooked.notes)
            if hooked.permission == "allow":
                if hooked.updated_input is not None:
                    self.run.use_input(self.tool_call_id, hooked.updated_input)
                return PermissionAnswer("allow_once")
            if hooked.permission == "deny":
                reason = hooked.reason or "denied by a PermissionRequest hook"
                if hooked.stop:
                    self.run.interrupt(f"A PermissionRequest hook stopped the run: {reason}")
                return PermissionAnswer(
                    "reject_once", f"Permission denied by a PermissionRequest hook: {reason}"
                )
        self.run.emit(
            ToolCallUpdated(
                tool_call_id=self.tool_call_id,
                status="pending",
                title=f"Waiting for permission: {self.title}",
            )
        )
        if runner is None or not runner.has("Notification"):
            return await self.inner.ask_permission(request)
        notify = runner.notification(
            f"Claw needs your permission to use {request.tool_name}", "permission_prompt"
        )
        # Asked at once, while the Notification hooks run; a cancelled question stops them too.
        told, answer = await asyncio.gather(notify, self.inner.ask_permission(request))
        self.run._notes(told.notes)
        return answer


def permission_suggestions(rule: str | None, destination: str = "localSettings") -> list[dict[str, Any]]:
    """A suggested "always allow" rule as Claude Code's `permission_suggestions` (PermissionUpdate)."""
    if not rule:
        return []
    name, _, rest = rule.partition("(")
    value: dict[str, Any] = {"toolName": name}
    if rest.endswith(")"):
        value["ruleContent"] = rest[:-1]
    return [{"type": "addRules", "rules": [value], "behavior": "allow", "destination": destination}]


def normalize_messages(messages: list[Message]) -> list[Message]:
    """Merge consecutive same-role messages (the API wants alternating roles)."""
    merged: list[Message] = []
    for message in messages:
        if merged and merged[-1].role == message.role:
            previous = merged[-1]
            content = list(previous.content) + list(message.content)
            # tool_result blocks must come first in a user message.
            if message.role == "user":
                content.sort(key=lambda b: 0 if isinstance(b, ToolResultBlock) else 1)
            merged[-1] = Message(role=message.role, content=content)
        else:
            merged.append(message)
    if merged and merged[0].role == "assistant":
        merged.insert(0, Message.user("(continuing an earlier conversation)"))
    return merged


def _brief(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "input"
        parts.append(f"{loc}: {err.get('msg')}")
    return "; ".join(parts)
