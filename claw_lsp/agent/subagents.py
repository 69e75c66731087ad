"""Subagents: the agents the `Agent` tool runs, each in its own context with its own tool subset.

Definitions (Claude Code's format, `frontmatter`): built-in `general-purpose` (every tool but
`Agent`) and `Explore` (read-only tools under plan-mode permissions, so even Bash runs read-only
commands only), then the user's `~/.claude/agents/*.md` and `$XDG_CONFIG_HOME/claw/agents/*.md`, then
the workspace's `.claude/agents/*.md` and `.claw/agents/*.md`; a later source wins by `name`, as in
Claude Code (project over user). Frontmatter: `name`, `description` (both required), `tools`,
`disallowedTools`, `model` (`inherit`, `sonnet`, `opus`, `haiku` or a model id), `permissionMode`,
`maxTurns`; the body is the agent's system prompt. A workspace nobody trusted cannot widen
permissions through an agent file: its `permissionMode: acceptEdits | bypassPermissions` is held back
with a warning.

A subagent runs as an `Agent` of its own (`loop.Agent`) on the parent's workspace view (the same
buffers, applier and review), prompter, hooks and permission rules (an "always allow" given to either
holds for both), with its own messages, `SessionState` and transcript beside the parent's
(`SessionStore.create_subagent`). Its events reach the parent run's consumers with
`parent_tool_call_id` set; its usage and cost count in the parent run's totals; cancelling the parent
run cancels it; only its final report returns to the parent, with its id for `resume`.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from pydantic import BaseModel

from claw_lsp.agent import frontmatter
from claw_lsp.config import PermissionMode
from claw_lsp.core.events import (
    Notice,
    PlanUpdated,
    RunFinished,
    TextDelta,
    ThoughtDelta,
    ToolCallStarted,
    ToolCallUpdated,
    UsageUpdated,
)
from claw_lsp.core.tools import SessionState, ToolError, ToolOutput

if TYPE_CHECKING:
    from claw_lsp.agent.loop import Agent, Run
    from claw_lsp.core.tools import Tool, ToolContext
    from claw_lsp.providers.base import Model

log = logging.getLogger(__name__)

AGENT_TOOL = "Agent"
# Older prompts and Claude Code before 2.1 call the tool Task.
AGENT_TOOL_ALIASES = ("Task",)
READ_ONLY_TOOLS = ("Read", "Glob", "Grep", "LS", "Bash", "Diagnostics", "WebFetch", "NotebookRead")
MODEL_ALIASES = ("sonnet", "opus", "haiku")
_WIDENING_MODES = ("acceptEdits", "bypassPermissions")

GENERAL_PURPOSE_PROMPT = """\
You are a subagent of Claw, a coding agent. The parent agent gave you a task: do it with the tools \
you have, thoroughly and on your own (nobody answers questions here), then reply with one final \
report. Only that report reaches the parent, so put in it everything it needs: what you found or \
did, the exact file paths (with line numbers where useful) and any code or command output that \
matters. Do not invent anything you did not see; say what you could not find."""

EXPLORE_PROMPT = """\
You are Explore, a read-only subagent of Claw that searches and reads a codebase fast. You cannot \
change files: use Glob, Grep, LS and Read (and Bash for read-only commands such as git log) to \
answer the parent agent's question. Search broadly first, then read what matters. Reply with one \
final report: the answer, the exact file paths and line numbers, and short code excerpts where \
they help. Say how thorough you were and what you did not check."""


@dataclass
class AgentDefinition:
    """One subagent type."""

    name: str
    description: str
    prompt: str
    tools: list[str] | None = None  # None: every tool the parent has (but Agent)
    disallowed_tools: list[str] = field(default_factory=list)
    model: str | None = None  # None / "inherit": the parent's model
    permission_mode: PermissionMode | None = None
    max_turns: int | None = None
    source: Path | None = None  # None: built in

    def tool_names(self, available: list[str]) -> list[str]:
        """The tools this agent gets out of the parent's `available` ones (never Agent itself)."""
        wanted = available if self.tools is None or "*" in self.tools else _base_names(self.tools)
        denied = set(_base_names(self.disallowed_tools)) | {AGENT_TOOL, *AGENT_TOOL_ALIASES}
        return [name for name in available if name in wanted and name not in denied]


def _base_names(entries: list[str]) -> list[str]:
    """Tool names of `tools:` entries (`Bash(git:*)` gives Bash: the rule part is not a grant)."""
    return [e.split("(", 1)[0].strip() for e in entries]


BUILTIN_AGENTS: tuple[AgentDefinition, ...] = (
    AgentDefinition(
        name="general-purpose",
        description=(
            "General-purpose agent for researching complex questions, searching for code and "
            "executing multi-step tasks. When you are searching for a keyword or file and are not "
            "confident you will find the right match in the first few tries, use this agent."
        ),
        prompt=GENERAL_PURPOSE_PROMPT,
    ),
    AgentDefinition(
        name="Explore",
        description=(
            "Fast read-only agent for exploring codebases: finding files by pattern, searching code "
            "for keywords, answering questions about how the code works. Say how thorough it "
            'should be: "quick", "medium" or "very thorough".'
        ),
        prompt=EXPLORE_PROMPT,
        tools=list(READ_ONLY_TOOLS),
        permission_mode="plan",
    ),
)


@dataclass
class LoadedAgents:
    """The agent types by name, and what was wrong with the files read."""

    agents: dict[str, AgentDefinition]
    warnings: list[str] = field(default_factory=list)
    trusted: bool = False  # the user trusts the workspace (its memory files' external imports load)


def load_agents(folders: list[Path], *, trusted: bool) -> LoadedAgents:
    """Built-in, user and workspace agent definitions (a later source wins by name)."""
    from claw_lsp.agent.skills import project_dirs, user_dirs

    out = LoadedAgents({a.name: a for a in BUILTIN_AGENTS}, trusted=trusted)
    sources = [(d, True) for d in user_dirs("agents")]
    sources += [(d, False) for d in project_dirs(folders, "agents")]
    for directory, own in sources:
        try:
            files = sorted(p for p in directory.glob("*.md") if p.is_file())
        except OSError:
            continue
        for path in files:
            try:
                definition, warnings = parse_agent_file(path, own=own or trusted)
            except (OSError, ValueError) as exc:
                out.warnings.append(f"{path}: not loaded ({exc})")
                continue
            out.warnings.extend(f"{path}: {w}" for w in warnings)
            out.agents[definition.name] = definition
    return out


def parse_agent_file(path: Path, *, own: bool) -> tuple[AgentDefinition, list[str]]:
    """One agent file; `own`: the user's or a trusted workspace's (may widen permissions)."""
    meta, body = frontmatter.read(path)
    return definition_from(meta, body, source=path, own=own)


def definition_from(
    meta: dict[str, Any], body: str, *, source: Path | None, own: bool
) -> tuple[AgentDefinition, list[str]]:
    """An agent definition from its frontmatter keys and prompt (a file's or `--agents` JSON's)."""
    warnings: list[str] = []
    name = str(meta.get("name") or "").strip()
    description = str(meta.get("description") or "").strip()
    if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]*", name):
        raise ValueError("`name` must be set, letters, digits, '-', '_', '.' or ':'")
    if not description:
        raise ValueError("`description` must be set")
    mode = meta.get("permissionMode")
    if mode is not None and mode not in get_args(PermissionMode):
        warnings.append(
            f"permissionMode {mode!r} is not one of {', '.join(get_args(PermissionMode))}: ignored"
        )
        mode = None
    if mode in _WIDENING_MODES and not own:
        warnings.append(
            f"permissionMode {mode!r} held back: the workspace is not trusted (`claw trust` trusts it)"
        )
        mode = None
    turns = meta.get("maxTurns")
    if turns is not None and (not isinstance(turns, int) or isinstance(turns, bool) or turns < 1):
        warnings.append(f"maxTurns {turns!r} is not a positive integer: ignored")
        turns = None
    model = meta.get("model")
    model = str(model).strip() if model not in (None, "") else None
    definition = AgentDefinition(
        name=name,
        description=description,
        prompt=body.strip() or GENERAL_PURPOSE_PROMPT,
        tools=frontmatter.names(meta.get("tools")),
        disallowed_tools=frontmatter.names(meta.get("disallowedTools")) or [],
        model=None if model == "inherit" else model,
        permission_mode=typing.cast("PermissionMode | None", mode),
        max_turns=turns,
        source=source,
    )
    return definition, warnings


# -- running one ----------------------------------------------------------------------------------

_FORWARDED = (TextDelta, ThoughtDelta, ToolCallStarted, ToolCallUpdated, PlanUpdated, Notice)
# Deltas stream to the front ends but are not kept in the parent's transcript (the subagent's has them).
_NOT_KEPT = (TextDelta, ThoughtDelta)

ModelFactory = Callable[[str], "Model"]


def child_mode(parent: PermissionMode, wanted: PermissionMode | None) -> PermissionMode:
    """A subagent's permission mode: its own, except that plan mode is never left and
    bypassPermissions stays (as in Claude Code, the parent's bypass wins)."""
    if parent in ("plan", "bypassPermissions"):
        return "plan" if wanted == "plan" else parent
    return wanted or parent


class SubagentRunner:
    """Runs subagents for one parent `Agent` (`attach`ed once the parent exists)."""

    def __init__(
        self,
        definitions: LoadedAgents,
        *,
        model_factory: ModelFactory | None = None,
        resolve_model: Callable[[str], str | None] | None = None,
    ) -> None:
        self.definitions = definitions
        self.model_factory = model_factory
        self.resolve_model = resolve_model or (lambda name: name)
        self.parent: Agent | None = None

    def attach(self, parent: Agent) -> None:
        """Set the agent whose `Agent` tool calls this runner serves."""
        self.parent = parent

    def definition(self, name: str) -> AgentDefinition:
        """The agent type called `name` (case-insensitive fallback), or a ToolError listing them."""
        found = self.definitions.agents.get(name)
        if found is None:
            lowered = {k.lower(): v for k, v in self.definitions.agents.items()}
            found = lowered.get(name.lower())
        if found is None:
            known = ", ".join(sorted(self.definitions.agents))
            raise ToolError(f"Unknown subagent_type {name!r}. Available agent types: {known}.")
        return found

    def _model(self, definition: AgentDefinition, requested: str | None, parent: Model) -> Model:
        wanted = requested or definition.model
        if not wanted or self.model_factory is None:
            return parent
        name = self.resolve_model(wanted)
        if name is None or name == parent.name:
            return parent
        return self.model_factory(name)

    async def run(
        self,
        *,
        subagent_type: str,
        prompt: str,
        description: str,
        model: str | None,
        resume: str | None,
        ctx: ToolContext,
    ) -> ToolOutput:
        """Run one subagent to its end and return its final report."""
        from claw_lsp.agent.loop import Agent
        from claw_lsp.agent.prompts import build_system_prompt

        parent = self.parent
        if parent is None or parent.current is None:
            raise ToolError("The Agent tool is not available outside a run.")
        parent_run = parent.current
        store = parent.session.store
        if resume:
            try:
                session = store.open_subagent(parent.session, resume)
            except Exception as exc:
                raise ToolError(f"Cannot resume agent {resume!r}: {exc}") from exc
            subagent_type = str(session.meta.get("agent_type") or subagent_type)
        definition = self.definition(subagent_type)
        child_model = self._model(definition, model, parent.model)
        available = list(parent.tools)
        names = definition.tool_names(available)
        tools: list[Tool] = [parent.tools[n] for n in names]
        mode = child_mode(parent.permissions.mode, definition.permission_mode)
        permissions = copy.copy(parent.permissions)  # the same rules and lock: grants hold for both
        permissions.mode = mode
        settings = parent.settings.model_copy(
            update={
                "permissionMode": mode,
                "maxTurns": definition.max_turns or parent.settings.maxTurns,
                "model": child_model.name,
            }
        )
        system = await asyncio.to_thread(
            build_system_prompt,
            list(parent.workspace.folders),
            model=child_model.name,
            permission_mode=mode,
            tool_names=names,
            extra=f"# Your role: {definition.name}\n{definition.prompt}",
            trusted=self.definitions.trusted,
        )
        if not resume:
            session = store.create_subagent(
                parent.session,
                agent_type=definition.name,
                model=child_model.name,
                provider=child_model.provider,
                description=description,
            )
            session.set_meta(parent_tool_call_id=ctx.tool_call_id)
        child = Agent(
            model=child_model,
            tools=tools,
            workspace=parent.workspace,
            settings=settings,
            session=session,
            prompter=parent.prompter,
            permissions=permissions,
            system_prompt=system,
            hook_runner=parent.hook_runner,
            diagnostics=parent.diagnostics,
            # Its own reads (Edit's read-before-write), the parent's background commands.
            state=SessionState(cwd=parent.state.cwd, background=parent.state.background),
            hooks=parent.hooks,
            retry_delay=parent.retry_delay,
            subagent_type=definition.name,
        )
        try:
            result = await self._drive(child, prompt, parent_run, ctx.tool_call_id)
        finally:
            session.close()
            if child_model is not parent.model and hasattr(child_model, "aclose"):
                await child_model.aclose()  # its own HTTP client
        return _report(result, session.id, definition.name)

    async def _drive(self, child: Agent, prompt: str, parent_run: Run, parent_id: str) -> RunFinished:
        spent = [0.0]  # the child's cost so far (UsageUpdated carries the running total)

        def forward(event: BaseModel) -> None:
            if isinstance(event, UsageUpdated):
                parent_run.count_usage(event.request, max(0.0, event.cost_usd - spent[0]))
                spent[0] = max(spent[0], event.cost_usd)
            elif isinstance(event, _FORWARDED):
                nested = event.model_copy(update={"parent_tool_call_id": parent_id})
                parent_run.emit(nested, persist=not isinstance(event, _NOT_KEPT))

        run = child.start(prompt, deferred=True)
        run.subscribe(forward)
        run.begin()
        try:
            return await asyncio.shield(run.wait())
        except asyncio.CancelledError:
            run.cancel("the parent run was cancelled")
            await run.wait()  # the subagent closes its transcript consistently first
            raise


def _report(result: RunFinished, agent_id: str, agent_type: str) -> ToolOutput:
    footer = f"\n\n(agent {agent_type}, id {agent_id}: pass it as `resume` to continue this agent)"
    if result.stop_reason == "end_turn":
        return ToolOutput((result.result or "(the agent gave no report)") + footer)
    if result.stop_reason == "cancelled":
        return ToolOutput("The agent was cancelled before it finished." + footer, is_error=True)
    why = result.error or result.stop_reason
    partial = f"\nIts last text:\n{result.result}" if result.result else ""
    return ToolOutput(f"The agent stopped ({why}).{partial}{footer}", is_error=True)
