"""Agent Skills (Claude Code's `SKILL.md` folders): found, parsed, listed to the model, loaded on demand.

A skill is a folder holding `SKILL.md`: YAML frontmatter (`name`, `description`, `allowed-tools`,
`disable-model-invocation`, `argument-hint`) and a Markdown body of instructions. Folders are read
from the user's `~/.claude/skills/` and `$XDG_CONFIG_HOME/claw/skills/`, and from each workspace
folder's `.claude/skills/` and `.claw/skills/`; on a name clash the user's own skill wins (a
repository cannot shadow it).

The model sees only each skill's name and description (in the `Skill` tool's description); the
body reaches it when the `Skill` tool loads the skill, or when the user types `/name`.
`SkillActivator` does that loading: it expands the arguments, lets read-family tools read the
skill's own folder (even outside the workspace: exactly that folder), and grants the skill's
`allowed-tools` for the rest of the run when the skill is the user's own or the workspace is
trusted (`LoadedSettings.trusted`); a repository's skill in an untrusted folder gets no grants.

These functions read files: the server calls `load_skills` through `asyncio.to_thread`.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from claw_lsp.agent import frontmatter

if TYPE_CHECKING:
    from claw_lsp.agent.permissions import PermissionEngine

Scope = Literal["user", "project"]
# Claude Code's rule for skill names: lowercase letters, digits and hyphens, at most 64 characters.
SKILL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Skill:
    """One skill: its frontmatter, its body and where it lives."""

    name: str
    description: str
    body: str
    path: Path  # the SKILL.md file
    scope: Scope
    allowed_tools: tuple[str, ...] = ()
    disable_model_invocation: bool = False
    argument_hint: str | None = None

    @property
    def folder(self) -> Path:
        """The skill's folder (its other files are readable once it is loaded)."""
        return self.path.parent

    @property
    def location(self) -> str:
        """ "user" or "project", as Claude Code's listing says."""
        return self.scope


@dataclass
class SkillSet:
    """The skills found, by name, and one warning per file that could not be used."""

    skills: dict[str, Skill] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def for_model(self) -> list[Skill]:
        """The skills the model may invoke (not `disable-model-invocation`), by name."""
        return [s for _, s in sorted(self.skills.items()) if not s.disable_model_invocation]


# -- frontmatter ----------------------------------------------------------------------------------


def tool_list(value: Any) -> tuple[str, ...]:
    """`allowed-tools` as rules (`Read, Grep, Bash(git add:*)` or a YAML list)."""
    return tuple(frontmatter.names(value) or ())


def text_field(data: dict[str, Any], key: str) -> str | None:
    """A frontmatter value as one line of text (None when missing or empty)."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = " ".join(str(value).split())
    return text or None


def first_paragraph(body: str) -> str:
    """The first paragraph of a Markdown body that is not a heading (a missing description)."""
    for block in re.split(r"\n\s*\n", body.strip()):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if lines:
            return " ".join(lines)[:300]
    return ""


# -- finding skills -------------------------------------------------------------------------------


def user_dirs(kind: str) -> list[Path]:
    """The user's own folders of `kind` ("skills", "commands"): ~/.claude/<kind>, then
    $XDG_CONFIG_HOME/claw/<kind>."""
    from claw_lsp.config import config_dir

    return [Path.home() / ".claude" / kind, config_dir() / kind]


def project_dirs(folders: Iterable[Path], kind: str) -> list[Path]:
    """Each workspace folder's `.claude/<kind>` and `.claw/<kind>`."""
    return [folder / sub / kind for folder in folders for sub in (".claude", ".claw")]


def parse_skill(path: Path, scope: Scope) -> tuple[Skill | None, str | None]:
    """The skill in `path` (a SKILL.md), or None and the reason it cannot be used."""
    try:
        data, body = frontmatter.read(path)
    except OSError as exc:
        return None, f"{path}: could not be read ({exc.strerror or exc}); skill ignored"
    except frontmatter.FrontmatterError as exc:
        return None, f"{path}: {exc}; skill ignored"
    folder_name = path.parent.name
    name = text_field(data, "name") or folder_name
    if not SKILL_NAME.fullmatch(name):
        if not SKILL_NAME.fullmatch(folder_name):
            return None, f"{path}: {name!r} is not a skill name (lowercase letters, digits, hyphens); ignored"
        name = folder_name
    description = text_field(data, "description") or first_paragraph(body)
    if not description:
        return None, f"{path}: no description (frontmatter `description`); skill ignored"
    disabled = data.get("disable-model-invocation") is True or str(
        data.get("disable-model-invocation", "")
    ).lower() in ("true", "yes")
    skill = Skill(
        name=name,
        description=description,
        body=body.strip("\n"),
        path=path,
        scope=scope,
        allowed_tools=tool_list(data.get("allowed-tools")),
        disable_model_invocation=disabled,
        argument_hint=text_field(data, "argument-hint"),
    )
    return skill, None


def load_skills(folders: list[Path]) -> SkillSet:
    """Every skill of the user's and the workspace's skill folders (the user's win a name clash)."""
    found = SkillSet()
    places: list[tuple[Path, Scope]] = [(d, "user") for d in user_dirs("skills")]
    places += [(d, "project") for d in project_dirs(folders, "skills")]
    for base, scope in places:
        try:
            entries = sorted(os.scandir(base), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            skill_file = Path(entry.path) / "SKILL.md"
            if not entry.is_dir() or not skill_file.is_file():
                continue
            skill, problem = parse_skill(skill_file, scope)
            if problem is not None:
                found.warnings.append(problem)
            if skill is not None and skill.name not in found.skills:
                found.skills[skill.name] = skill
    return found


# -- arguments ------------------------------------------------------------------------------------

_POSITIONAL = re.compile(r"\$(ARGUMENTS|[1-9])(?![A-Za-z0-9_])")


def expand_arguments(body: str, arguments: str) -> str:
    """Claude Code's substitution: `$ARGUMENTS` is the whole argument text, `$1`…`$9` its words
    (shell-quoted words stay whole). A body without placeholders gets the arguments appended as
    `ARGUMENTS: …`."""
    arguments = arguments.strip()
    try:
        words = shlex.split(arguments)
    except ValueError:
        words = arguments.split()
    if not _POSITIONAL.search(body):
        return f"{body}\n\nARGUMENTS: {arguments}" if arguments else body

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "ARGUMENTS":
            return arguments
        index = int(key) - 1
        return words[index] if index < len(words) else ""

    return _POSITIONAL.sub(value, body)


# -- activation -----------------------------------------------------------------------------------


class SkillActivator:
    """Loads skills for the model (the `Skill` tool) and the user (`/name`): the body, the read
    access to the skill's folder and, when its source may widen permissions, its grants."""

    def __init__(self, skills: SkillSet, permissions: PermissionEngine | None, *, trusted: bool) -> None:
        self.skills = skills
        self.permissions = permissions
        self.trusted = trusted

    def listed(self) -> list[Skill]:
        """The skills the model may invoke."""
        return self.skills.for_model()

    def may_grant(self, scope: Scope) -> bool:
        """A skill or command's `allowed-tools` apply when it is the user's own or the folder is
        trusted: a repository's files widen nothing without the user's consent."""
        return scope == "user" or self.trusted

    def find(self, name: str, *, by_model: bool) -> Skill | None:
        """The skill called `name` (a leading `/` ignored); for the model, only listed ones."""
        skill = self.skills.skills.get(name.strip().lstrip("/"))
        if skill is None or (by_model and skill.disable_model_invocation):
            return None
        return skill

    def activate(self, skill: Skill, arguments: str) -> tuple[str, list[str]]:
        """The skill's expanded instructions and the rules granted for this run (maybe none)."""
        granted: list[str] = []
        if self.permissions is not None:
            self.permissions.allow_read_root(skill.folder)
            if skill.allowed_tools and self.may_grant(skill.scope):
                self.permissions.grant(list(skill.allowed_tools))
                granted = list(skill.allowed_tools)
        text = f"Base directory for this skill: {skill.folder}\n\n{expand_arguments(skill.body, arguments)}"
        return text, granted

    def held_back(self, skill: Skill) -> str | None:
        """Why the skill's `allowed-tools` were not granted, when they were not."""
        if skill.allowed_tools and not self.may_grant(skill.scope):
            return (
                f"the skill's allowed-tools ({', '.join(skill.allowed_tools)}) were not granted: this "
                "folder is not trusted, so its tools still ask (trust it with `claw trust`)"
            )
        return None

    def load_for_model(self, name: str, args: str) -> str:
        """The `Skill` tool's text for the skill `name` (LookupError when the model may not use it)."""
        skill = self.find(name, by_model=True)
        if skill is None:
            raise LookupError(name)
        text, _granted = self.activate(skill, args)
        note = self.held_back(skill)
        return f"{text}\n\n(Note: {note}.)" if note else text
