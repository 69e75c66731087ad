"""Agent (alias Task): run a subagent on a task and return its final report (`agent.subagents`)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from claw_lsp.agent.subagents import AGENT_TOOL, AGENT_TOOL_ALIASES, AgentDefinition, SubagentRunner
from claw_lsp.core.events import ToolKind
from claw_lsp.core.tools import ToolContext, ToolOutput


class AgentInput(BaseModel):
    """Agent's arguments (Claude Code's schema)."""

    description: str = Field(description="A short (3-5 word) description of the task")
    prompt: str = Field(description="The task for the agent to perform")
    subagent_type: str = Field(description="The type of specialized agent to use for this task")
    model: Literal["sonnet", "opus", "haiku"] | None = Field(
        default=None,
        description=(
            "Optional model to use for this agent. If not specified, inherits from the agent "
            "definition or the parent. Prefer haiku for quick, straightforward tasks."
        ),
    )
    resume: str | None = Field(
        default=None,
        description=(
            "Optional agent ID to resume from. If provided, the agent continues from its previous "
            "transcript with this prompt."
        ),
    )


DESCRIPTION = """\
Launch a new agent to handle complex, multi-step tasks autonomously. Each agent type has its own \
tools and instructions, and works in its own context: only its final report comes back to you.

Available agent types and the tools they have access to:
{agents}

When using the Agent tool, set `subagent_type` to one of the types above.

Usage notes:
- Launch several agents at once when the tasks are independent: put several Agent calls in one \
message and they run concurrently.
- The agent's report is not shown to the user: summarise what matters from it in your answer.
- Each call starts a fresh agent that knows only your prompt (unless you pass `resume` with the id \
a report ends with): write a detailed, self-contained task, and say exactly what the agent should \
report back.
- Say whether the agent should write code or only research, since it cannot know what you intend.
- Do not use an agent to read one file you know the path of, or to search for one class name: \
Read or Grep does that faster."""


def describe(definitions: list[AgentDefinition], available: list[str]) -> str:
    """The tool description listing the agent types."""
    lines = []
    for d in definitions:
        names = d.tool_names(available)
        tools = "*" if d.tools is None and not d.disallowed_tools else ", ".join(names)
        lines.append(f"- {d.name}: {d.description} (Tools: {tools})")
    return DESCRIPTION.format(agents="\n".join(lines))


class AgentTool:
    """Runs one subagent per call through the session's `SubagentRunner`."""

    name: ClassVar[str] = AGENT_TOOL
    aliases: ClassVar[tuple[str, ...]] = AGENT_TOOL_ALIASES
    description: ClassVar[str] = DESCRIPTION  # `agent_tool` makes a subclass listing the agent types
    input_model: ClassVar[type[BaseModel]] = AgentInput
    kind: ClassVar[ToolKind] = "think"
    # It asks for nothing itself (each of the subagent's tool calls is checked on its own), and
    # several Agent calls of one turn run concurrently, as read-only tools do.
    read_only: ClassVar[bool] = True
    reviewable: ClassVar[bool] = False

    def __init__(self, runner: SubagentRunner) -> None:
        self.runner = runner

    def title(self, args: AgentInput, ctx: ToolContext) -> str:
        """E.g. "Explore: find the config loader"."""
        return f"{args.subagent_type}: {args.description}"

    def subject(self, args: AgentInput, ctx: ToolContext) -> str | None:
        """The agent type: `Agent(Explore)` rules match it."""
        return args.subagent_type

    def locations(self, args: AgentInput, ctx: ToolContext) -> list[Path]:
        """The subagent's own tool calls say which files they touch."""
        return []

    async def run(self, args: AgentInput, ctx: ToolContext) -> ToolOutput:
        """Run the subagent to its end; its final report is the result."""
        return await self.runner.run(
            subagent_type=args.subagent_type,
            prompt=args.prompt,
            description=args.description,
            model=args.model,
            resume=args.resume,
            ctx=ctx,
        )


def agent_tool(runner: SubagentRunner, available: list[str]) -> AgentTool:
    """The Agent tool of one session, describing its agent types with the tools each gets out of
    `available` (a subclass per session: the description is a class attribute of every tool)."""
    text = describe(list(runner.definitions.agents.values()), available)
    cls = type("AgentTool", (AgentTool,), {"description": text, "__doc__": AgentTool.__doc__})
    return cls(runner)
