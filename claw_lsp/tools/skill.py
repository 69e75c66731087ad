"""Skill: Claude Code's tool that loads an Agent Skill's instructions into the conversation.

Input `{skill, args?}` as in Claude Code. The tool's description lists the skills the model may
invoke (name, description, location) in an `<available_skills>` block, as Claude Code's does; a
skill's body reaches the model only as this tool's result. Which skills exist and what loading one
grants is the `SkillSource`'s business (`agent.skills.SkillActivator`): tools import nothing above
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import ClassVar, Protocol

from pydantic import BaseModel, Field

from claw_lsp.core.events import ToolKind
from claw_lsp.core.tools import ToolContext, ToolError, ToolOutput


class ListedSkill(Protocol):
    """What the listing shows of a skill."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def location(self) -> str: ...


class SkillSource(Protocol):
    """The skills the tool can load."""

    def listed(self) -> Sequence[ListedSkill]:
        """The skills the model may invoke."""
        ...

    def load_for_model(self, name: str, args: str) -> str:
        """The skill's instructions (arguments expanded); raises LookupError for an unknown one."""
        ...


class SkillInput(BaseModel):
    """Skill's arguments (Claude Code's schema)."""

    skill: str = Field(description='The skill name. E.g., "commit", "review-pr", or "pdf"')
    args: str | None = Field(default=None, description="Optional arguments for the skill")


_INSTRUCTIONS = """\
Execute a skill within the main conversation

<skills_instructions>
When users ask you to perform tasks, check if any of the available skills below can help complete \
the task more effectively. Skills provide specialized capabilities and domain knowledge.

When users ask you to run a "slash command" or reference "/<something>" (e.g., "/commit", \
"/review-pr"), they are referring to a skill. Use this tool to invoke the corresponding skill.

How to invoke:
- Use this tool with the skill name and optional arguments
- Examples:
  - `skill: "pdf"` - invoke the pdf skill
  - `skill: "commit", args: "-m 'Fix bug'"` - invoke with arguments
  - `skill: "review-pr", args: "123"` - invoke with arguments

Important:
- When a skill is relevant, invoke this tool before working on the task yourself
- Only use skills listed in <available_skills> below
- Do not invoke a skill that is already running (its instructions are in the conversation)
- Do not use this tool for built-in commands (like /help, /clear, /compact, /cost, /model)
- Files the skill's instructions mention are relative to its base directory: read them with Read
</skills_instructions>
"""


def skills_listing(skills: Sequence[ListedSkill]) -> str:
    """The `<available_skills>` block of the tool's description."""
    parts = ["<available_skills>"]
    for skill in skills:
        parts.append(
            "<skill>\n<name>\n"
            + escape(skill.name, quote=False)
            + "\n</name>\n<description>\n"
            + escape(skill.description, quote=False)
            + "\n</description>\n<location>\n"
            + skill.location
            + "\n</location>\n</skill>"
        )
    parts.append("</available_skills>")
    return "\n".join(parts)


class SkillTool:
    """Load a skill's instructions; `skill_tool` makes the class whose description lists them."""

    name: ClassVar[str] = "Skill"
    description: ClassVar[str] = _INSTRUCTIONS
    input_model: ClassVar[type[BaseModel]] = SkillInput
    kind: ClassVar[ToolKind] = "other"
    read_only: ClassVar[bool] = True
    reviewable: ClassVar[bool] = False

    def __init__(self, source: SkillSource) -> None:
        self.source = source

    def title(self, args: SkillInput, ctx: ToolContext) -> str:
        """The progress title, e.g. "Skill: pdf"."""
        return f"Skill: {args.skill.strip().lstrip('/')}"

    def locations(self, args: SkillInput, ctx: ToolContext) -> list[Path]:
        """Loading a skill touches no workspace file."""
        return []

    def subject(self, args: SkillInput, ctx: ToolContext) -> str | None:
        """Rules match the skill's name (`Skill(pdf)`)."""
        return args.skill.strip().lstrip("/")

    async def run(self, args: SkillInput, ctx: ToolContext) -> ToolOutput:
        """The skill's instructions, as the tool result the model reads next."""
        name = args.skill.strip().lstrip("/")
        try:
            text = self.source.load_for_model(name, args.args or "")
        except LookupError:
            known = ", ".join(s.name for s in self.source.listed()) or "none"
            raise ToolError(f"Unknown skill: {name}. Available skills: {known}.") from None
        return ToolOutput(f"Launching skill: {name}\n\n{text}")


def skill_tool(source: SkillSource) -> SkillTool:
    """The Skill tool over `source`, its description listing the skills there are now."""
    listed = source.listed()
    description = _INSTRUCTIONS + "\n" + skills_listing(listed)
    cls = type("Skill", (SkillTool,), {"description": description, "__doc__": SkillTool.__doc__})
    return cls(source)
