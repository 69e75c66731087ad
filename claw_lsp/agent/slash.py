"""Slash commands: the built-ins (/compact, /clear, /model, /cost, /help), custom commands from
Markdown files and user-invoked skills; `dispatch` turns a prompt that starts with `/` into the
text the model gets (or answers it locally).

Custom commands are Claude Code's: `.claude/commands/*.md` and `.claw/commands/*.md` in each
workspace folder, `~/.claude/commands/` and `$XDG_CONFIG_HOME/claw/commands/` for the user. A file's
name is the command's name; a file in a subfolder (`frontend/component.md`) is `/component`, shown
as "(project:frontend)", and also answers to `/frontend:component`. Frontmatter: `description`,
`argument-hint`, `allowed-tools`, `model`. The body is the prompt, with `$ARGUMENTS` and `$1`…`$9`
substituted, `@path` (a file inside the workspace) included and `` !`command` `` run through the
Bash tool's permission check, its output put in its place.

Every front end's run goes through `Agent.start`, so the CLI, the language server's `claw.ask` and
the ACP front end all dispatch here. A command's `allowed-tools` and `model` hold for its run only;
its grants apply only when the command is the user's own or the workspace is trusted.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from claw_lsp.agent import frontmatter
from claw_lsp.agent.skills import (
    Skill,
    SkillActivator,
    SkillSet,
    expand_arguments,
    load_skills,
    project_dirs,
    text_field,
    tool_list,
    user_dirs,
)
from claw_lsp.core.events import Notice, RunFinished, TextDelta

if TYPE_CHECKING:
    from pydantic import BaseModel

    from claw_lsp.agent.loop import Run
    from claw_lsp.providers.base import Model

CommandKind = Literal["builtin", "command", "skill"]
CommandScope = Literal["builtin", "user", "project"]

BUILTINS: dict[str, tuple[str, str | None]] = {
    "compact": (
        "Clear the conversation but keep a summary of it in context",
        "[instructions for the summary]",
    ),
    "clear": ("Clear the conversation history and free up context", None),
    "model": ("Show or set the model for this session", "[model]"),
    "cost": ("Show the tokens used and the cost of this session", None),
    "help": ("List the available commands", None),
}
_INVOCATION = re.compile(r"\A\s*/([A-Za-z0-9][\w.:-]*)(?:[ \t\r\n]+(.*))?\Z", re.DOTALL)
_BANG = re.compile(r"!`([^`\n]+)`")
_AT_FILE = re.compile(r"(?<![\w`@/])@((?:[\w.~-]+/)*[\w.-]+)")
MAX_INCLUDE_CHARS = 50_000
CLEARED_SUMMARY = "The user cleared the conversation (/clear). Nothing before this point applies."


@dataclass(frozen=True)
class SlashCommand:
    """One command the user can type as `/name`."""

    name: str
    description: str
    kind: CommandKind
    scope: CommandScope
    argument_hint: str | None = None
    body: str = ""
    path: Path | None = None
    allowed_tools: tuple[str, ...] = ()
    model: str | None = None
    namespace: str | None = None
    skill: Skill | None = None

    def to_json(self) -> dict[str, Any]:
        """The command as `claw.commands.list` returns it."""
        return {
            "name": self.name,
            "description": self.description,
            "argumentHint": self.argument_hint,
            "kind": self.kind,
            "scope": self.scope,
            "modelInvocable": self.skill is not None and not self.skill.disable_model_invocation,
        }


@dataclass
class Catalog:
    """Every command there is (built-ins, files, skills), by name, and the skills."""

    commands: list[SlashCommand] = field(default_factory=list)
    aliases: dict[str, SlashCommand] = field(default_factory=dict)
    skills: SkillSet = field(default_factory=SkillSet)
    trusted: bool = False
    warnings: list[str] = field(default_factory=list)

    def find(self, name: str) -> SlashCommand | None:
        """The command called `name` (or by its namespaced alias)."""
        for command in self.commands:
            if command.name == name:
                return command
        return self.aliases.get(name)

    def listing(self) -> list[dict[str, Any]]:
        """Every command as JSON, built-ins first."""
        return [c.to_json() for c in self.commands]


def _builtins() -> list[SlashCommand]:
    return [
        SlashCommand(name=n, description=d, argument_hint=h, kind="builtin", scope="builtin")
        for n, (d, h) in BUILTINS.items()
    ]


def parse_command(path: Path, base: Path, scope: CommandScope) -> tuple[SlashCommand | None, str | None]:
    """The command a Markdown file under `base` defines, or None and why it cannot be used."""
    try:
        data, body = frontmatter.read(path)
    except OSError as exc:
        return None, f"{path}: could not be read ({exc.strerror or exc}); command ignored"
    except frontmatter.FrontmatterError as exc:
        return None, f"{path}: {exc}; command ignored"
    rel = path.relative_to(base).with_suffix("")
    namespace = ":".join(rel.parts[:-1]) or None
    where = f"{scope}:{namespace}" if namespace else scope
    description = text_field(data, "description") or _first_line(body) or "(custom command)"
    return (
        SlashCommand(
            name=rel.name,
            description=f"{description} ({where})",
            kind="command",
            scope=scope,
            argument_hint=text_field(data, "argument-hint"),
            body=body.strip("\n"),
            path=path,
            allowed_tools=tool_list(data.get("allowed-tools")),
            model=text_field(data, "model"),
            namespace=namespace,
        ),
        None,
    )


def _first_line(body: str) -> str:
    for line in body.splitlines():
        text = line.strip().lstrip("#").strip()
        if text:
            return text[:100]
    return ""


def _command_files(base: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(dirpath) / f for f in sorted(filenames) if f.endswith(".md")]
    return found


def load_catalog(folders: Iterable[Path], *, trusted: bool) -> Catalog:
    """The built-ins, the user's and the workspace's commands, and every skill (blocking reads).

    Built-ins cannot be redefined; the user's commands win over the project's on a name clash, and
    a command over a skill of the same name."""
    folders = list(folders)
    catalog = Catalog(commands=_builtins(), trusted=trusted)
    taken = set(BUILTINS)
    places: list[tuple[Path, CommandScope]] = [(d, "user") for d in user_dirs("commands")]
    places += [(d, "project") for d in project_dirs(folders, "commands")]
    for base, scope in places:
        for path in _command_files(base):
            command, problem = parse_command(path, base, scope)
            if problem is not None:
                catalog.warnings.append(problem)
            if command is None:
                continue
            if command.namespace:
                catalog.aliases.setdefault(f"{command.namespace}:{command.name}", command)
            if command.name not in taken:
                taken.add(command.name)
                catalog.commands.append(command)
    catalog.skills = load_skills(folders)
    catalog.warnings += catalog.skills.warnings
    for skill in catalog.skills.skills.values():
        if skill.name in taken:
            continue
        taken.add(skill.name)
        where = skill.scope
        catalog.commands.append(
            SlashCommand(
                name=skill.name,
                description=f"{skill.description} ({where} skill)",
                kind="skill",
                scope=skill.scope,
                argument_hint=skill.argument_hint,
                body=skill.body,
                path=skill.path,
                allowed_tools=skill.allowed_tools,
                skill=skill,
            )
        )
    return catalog


@dataclass
class SlashContext:
    """What the dispatcher needs beside the agent: the catalog, the skills' activator and a way to
    build a client for another model (for `/model` and a command's `model`)."""

    catalog: Catalog
    activator: SkillActivator
    model_factory: Callable[[str], Model] | None = None


def parse_invocation(prompt: str) -> tuple[str, str] | None:
    """`("name", "args")` for a prompt of the form `/name args`; None for any other prompt."""
    match = _INVOCATION.match(prompt)
    if match is None:
        return None
    return match.group(1), (match.group(2) or "").strip()


# -- dispatch ------------------------------------------------------------------------------------


async def dispatch(run: Run, prompt: str) -> str | None:
    """The text the model gets for `prompt`; None when the prompt was a command answered here.

    Called once at the start of every run: the previous run's grants end here."""
    agent = run.agent
    if agent.subagent_type is not None:
        return prompt  # a subagent's prompt comes from the model: never a command, and the
        # parent's grants must not end with it
    ctx = agent.slash
    if ctx is not None:
        agent.permissions.clear_grants()
    parsed = parse_invocation(prompt)
    if parsed is None:
        return prompt
    name, args = parsed
    if name in BUILTINS:
        await _builtin(run, name, args)
        return None
    if ctx is None:  # an agent without commands (a subagent): the text is just a prompt
        return prompt
    command = ctx.catalog.find(name)
    if command is None:
        _say(run, f"Unknown command: /{name}. Type /help for the list.")
        return None
    granted: list[str] = []
    if command.model and ctx.model_factory is not None:
        _use_model_for_run(run, ctx.model_factory, command.model)
    if command.skill is not None:
        text, granted = ctx.activator.activate(command.skill, args)
        note = ctx.activator.held_back(command.skill)
    else:
        text = expand_arguments(command.body, args)
        note = None
        if command.allowed_tools:
            if command.scope != "builtin" and ctx.activator.may_grant(command.scope):
                agent.permissions.grant(list(command.allowed_tools))
                granted = list(command.allowed_tools)
            else:
                note = (
                    f"/{command.name}'s allowed-tools ({', '.join(command.allowed_tools)}) were not "
                    "granted: this folder is not trusted, so those tools still ask"
                )
    if granted:
        run.emit(Notice(message=f"/{command.name} allows for this prompt: {', '.join(granted)}"))
    if note:
        run.emit(Notice(level="warning", message=note))
    text = await _run_bang_commands(run, text)
    return await _include_files(run, text)


def _say(run: Run, text: str) -> None:
    """Show a local command's answer as the run's text (not sent to the model)."""
    run.emit(TextDelta(text=text), persist=False)
    run._last_text = text


def _on_finish(run: Run, action: Callable[[], None]) -> None:
    def listener(event: BaseModel) -> None:
        if isinstance(event, RunFinished):
            action()

    run.subscribe(listener)


def _use_model_for_run(run: Run, factory: Callable[[str], Model], name: str) -> None:
    agent = run.agent
    previous = agent.model
    if previous.name == name:
        return
    agent.model = factory(name)
    run.emit(Notice(message=f"Using the model {name} for this command."))

    def restore() -> None:
        agent.model = previous

    _on_finish(run, restore)


async def _builtin(run: Run, name: str, args: str) -> None:
    agent = run.agent
    if name == "compact":
        await run._compact(manual=True, instructions=args or None)
    elif name == "clear":
        from claw_lsp.agent.compaction import summary_message

        if agent.state.started and agent.hook_runner is not None:  # Claude Code ends the session
            run._notes((await agent.hook_runner.session_end("clear")).notes)
        agent.session.append_compaction(CLEARED_SUMMARY, [])
        agent.set_messages([summary_message(CLEARED_SUMMARY)])
        agent.state.read_files.clear()
        agent.last_context_tokens = 0
        run._notes(await agent.begin_session("clear"))  # ...and starts it again
        run._send_reminders()  # recorded now: the hooks' context outlives this process
        _say(run, "Cleared the conversation: the next prompt starts afresh.")
    elif name == "model":
        ctx = agent.slash
        if not args:
            _say(run, f"Model: {agent.model.name} ({agent.model.provider})")
        elif ctx is None or ctx.model_factory is None:
            _say(run, "This front end cannot switch models.")
        else:
            agent.model = ctx.model_factory(args)
            agent.session.note_provider(agent.model.provider, agent.model.name)
            _say(run, f"Set the model to {agent.model.name}.")
    elif name == "cost":
        _say(run, await asyncio.to_thread(_cost_report, run))
    elif name == "help":
        _say(run, _help(run))


def _cost_report(run: Run) -> str:
    """The session's tokens and cost, summed over its finished runs (this process's and earlier)."""
    totals = {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }
    cost, runs, duration_ms = 0.0, 0, 0
    for record in run.agent.session.records():
        event = record.get("event") if record.get("type") == "event" else None
        if not isinstance(event, dict) or event.get("type") != "run_finished":
            continue
        runs += 1
        cost += float(event.get("cost_usd") or 0.0)
        duration_ms += int(event.get("duration_ms") or 0)
        usage = event.get("usage") or {}
        for key in totals:
            totals[key] += int(usage.get(key) or 0)
    return (
        f"Total cost:            ${cost:.4f}\n"
        f"Total duration:        {duration_ms / 1000:.1f}s over {runs} prompt{'s' if runs != 1 else ''}\n"
        f"Usage ({run.agent.model.name}): {totals['input_tokens']} input, {totals['output_tokens']} output, "
        f"{totals['cache_read_input_tokens']} cache read, {totals['cache_creation_input_tokens']} cache write"
    )


def _help(run: Run) -> str:
    ctx = run.agent.slash
    commands = ctx.catalog.commands if ctx is not None else _builtins()
    lines = ["Commands:"]
    for command in commands:
        hint = f" {command.argument_hint}" if command.argument_hint else ""
        lines.append(f"  /{command.name}{hint}  {command.description}")
    return "\n".join(lines)


async def _run_bang_commands(run: Run, text: str) -> str:
    """Replace each `` !`command` `` with its output, run through the Bash tool and its permission
    check (an allowed-tools grant such as `Bash(git status:*)` lets it run without a question)."""
    from claw_lsp.core.messages import ToolUseBlock

    matches = list(_BANG.finditer(text))
    if not matches or "Bash" not in run.agent.tools:
        return text
    outputs: list[str] = []
    for n, match in enumerate(matches):
        tool_use = ToolUseBlock(id=f"{run.id}-cmd-{n}", name="Bash", input={"command": match.group(1)})
        await run._call(tool_use)
        result = run._pending_results.pop(tool_use.id)
        content = result.content if isinstance(result.content, str) else str(result.content)
        outputs.append(content if not result.is_error else f"[`{match.group(1)}` did not run: {content}]")
    pieces = iter(outputs)
    return _BANG.sub(lambda _m: next(pieces), text)


async def _include_files(run: Run, text: str) -> str:
    """Append the text of each `@path` the command names that is a file inside the workspace."""
    agent = run.agent
    blocks: list[str] = []
    seen: set[Path] = set()
    for match in _AT_FILE.finditer(text):
        raw = match.group(1).rstrip(".,;:")
        if raw.startswith("~"):
            continue
        path = agent.workspace.resolve(raw)
        if path in seen or not agent.workspace.is_inside(path) or agent.permissions.read_denied(path):
            continue
        seen.add(path)
        try:
            if not await asyncio.to_thread(path.is_file) and not await agent.workspace.exists(path):
                continue
            snapshot = await agent.workspace.read(path)
        except (OSError, ValueError):
            continue
        body = snapshot.text
        if len(body) > MAX_INCLUDE_CHARS:
            body = body[:MAX_INCLUDE_CHARS] + f"\n[… cut at {MAX_INCLUDE_CHARS} characters]"
        blocks.append(f'<file path="{agent.workspace.relative(path)}">\n{body}\n</file>')
    return text if not blocks else text + "\n\n" + "\n\n".join(blocks)
