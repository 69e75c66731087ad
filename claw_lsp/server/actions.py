"""Code actions: cheap to list (no model call, no disk walk), each one a `claw.ask` command.

- `Fix with Claw: <message>` (quickfix), one per diagnostic in the request's context;
- `Claw: <instruction>` for `claw: <instruction>` comments on the range / cursor line;
- `Ask Claw…` for clients that declared `clientFeatures.input`;
- `Explain with Claw`, `Document with Claw`, `Write tests with Claw` on a non-empty selection;
- `Claw /<name>: <description>` (kind `refactor.rewrite.claw.command`) on a non-empty selection, for
  the first few of the user's and the project's custom slash commands that take code: their name,
  description or argument-hint mentions code, a selection, a snippet, a function or a file. Each
  runs `/<name>` with the selection as context, as "Explain with Claw" does. Listing them reads only
  the command folders, off the event loop.

Clients that can resolve a code action's `command` lazily get the command in `codeAction/resolve`
(the `data` field carries the `claw.ask` params); every other client gets it directly.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pydantic import ValidationError
from pygls.exceptions import JsonRpcInvalidParams

from claw_lsp.server.protocol import CMD_ASK, AskParams, InstructionRef
from claw_lsp.server.uris import path_of
from claw_lsp.workspace import textio
from claw_lsp.workspace.textio import split_lines

if TYPE_CHECKING:
    from claw_lsp.agent.slash import SlashCommand
    from claw_lsp.server.app import ClawLanguageServer

TITLE_LIMIT = 80

# The comment markers an instruction may follow, in order of precedence (block forms first, so
# `<!--` is not read as `--`), each looked for in at most _MARKER_WINDOW characters before a
# `claw:`: every scan is linear in the line, however long it is.
_MARKERS = (
    ("html", re.compile(r"<!--\s*$")),
    ("block", re.compile(r"/\*+\s*$")),
    ("star", re.compile(r"\*+\s*$")),
    ("line", re.compile(r"(?:#|//|--|;)+\s*$")),
)
_MARKER_WINDOW = 200
_MAX_OCCURRENCES = 4  # `claw:` occurrences tried per line


@dataclass(frozen=True)
class Instruction:
    """A `claw: <instruction>` comment found in a buffer."""

    line: int  # 0-based line number
    text: str  # the instruction itself
    comment: str  # the whole comment as written (what gets removed)


def truncate(text: str, limit: int = TITLE_LIMIT) -> str:
    """The first line of `text`, cut to `limit` characters with an ellipsis."""
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def find_instruction(line_text: str, line: int) -> Instruction | None:
    """The instruction comment on one line, if it holds one: `claw: <text>` right after `#`, `//`,
    `--` or `;`, inside `/* … */` (or on a ` * ` line of a block comment) or `<!-- … -->`."""
    lowered = line_text.lower()
    occurrences: list[int] = []
    at = lowered.find("claw:")
    while at >= 0 and len(occurrences) < _MAX_OCCURRENCES:
        occurrences.append(at)
        at = lowered.find("claw:", at + 1)
    for kind, marker_re in _MARKERS:
        for at in occurrences:
            marker = marker_re.search(line_text, max(0, at - _MARKER_WINDOW), at)
            if marker is None:
                continue
            found = _instruction_at(line_text, line, kind, marker.start(), at + len("claw:"))
            if found is not None:
                return found
    return None


def _instruction_at(line_text: str, line: int, kind: str, begin: int, after: int) -> Instruction | None:
    """The instruction whose comment marker (of `kind`) starts at `begin`, its text at `after`."""
    rest = line_text[after:]
    if kind in ("html", "block"):
        close = "-->" if kind == "html" else "*/"
        end = rest.find(close)
        text = rest if end < 0 else rest[:end]
        if end >= 0 and kind == "block":
            text = text.rstrip("*")  # `**/` closes too
        comment = line_text[begin : len(line_text) if end < 0 else after + end + len(close)]
    elif kind == "star":
        if line_text[:begin].strip():
            return None  # ` * claw:` only as a block comment's own line
        text = rest.rstrip()
        if text.endswith("*/"):
            text = text[:-2].rstrip("*")
        comment = line_text.strip()
    else:
        text = rest
        comment = line_text[begin:]
    text = text.strip()
    if not text:
        return None
    return Instruction(line=line, text=text, comment=comment.rstrip())


def find_instructions(lines: Sequence[str], start: int, end: int) -> list[Instruction]:
    """Instruction comments on lines `start`..`end` (inclusive, clamped to the buffer)."""
    found = []
    for number in range(max(start, 0), min(end, len(lines) - 1) + 1):
        instruction = find_instruction(lines[number], number)
        if instruction is not None:
            found.append(instruction)
    return found


def comment_removal(line_text: str, comment: str) -> tuple[int, int, bool] | None:
    """Where `comment` sits on the line: (start, end) in characters, and whether the whole
    line goes (it holds nothing else). None when the comment is not on the line."""
    start = line_text.find(comment)
    if start < 0:
        return None
    end = start + len(comment)
    rest = line_text[:start] + line_text[end:]
    if not rest.strip():
        return 0, len(line_text), True
    while start > 0 and line_text[start - 1] in " \t":
        start -= 1
    return start, end, False


MAX_FIX_ACTIONS = 20
MAX_COMMAND_ACTIONS = 5
COMMAND_KIND = f"{types.CodeActionKind.RefactorRewrite.value}.claw.command"
_CODE_WORDS = re.compile(
    r"(?<![a-z])(?:code|selection|selected|snippet|function|method|file)s?(?![a-z])", re.IGNORECASE
)

ActionKind = types.CodeActionKind | str


def takes_code(command: SlashCommand) -> bool:
    """Whether a custom command is one to offer on a selection: its name, description or
    argument-hint mentions code (`code`, `selection`, `selected`, `snippet`, `function`, `method`,
    `file`)."""
    words = " ".join((command.name.replace("-", " ").replace("_", " "), command.description))
    return bool(_CODE_WORDS.search(f"{words} {command.argument_hint or ''}"))


def code_commands(commands: Sequence[SlashCommand]) -> list[SlashCommand]:
    """The custom commands offered as code actions: the project's, then the user's, capped."""
    custom = [c for c in commands if c.kind == "command" and takes_code(c)]
    custom.sort(key=lambda c: c.scope != "project")
    return custom[:MAX_COMMAND_ACTIONS]


def _wanted(only: Sequence[ActionKind] | None, kind: ActionKind) -> bool:
    """Whether the client's `only` filter lets actions of `kind` through (LSP's prefix rule)."""
    value = kind.value if isinstance(kind, types.CodeActionKind) else kind
    for k in only or ():
        want = k.value if isinstance(k, types.CodeActionKind) else k
        if value == want or value.startswith(f"{want}."):
            return True
    return not only


def _is_empty(range_: types.Range) -> bool:
    return range_.start == range_.end


def _range_dict(range_: types.Range) -> dict[str, Any]:
    return {
        "start": {"line": range_.start.line, "character": range_.start.character},
        "end": {"line": range_.end.line, "character": range_.end.character},
    }


def diagnostic_dict(diagnostic: types.Diagnostic, converter: Any) -> dict[str, Any]:
    """A diagnostic as the JSON dict the client sent."""
    data: dict[str, Any] = converter.unstructure(diagnostic)
    return data


def build_actions(
    ls: ClawLanguageServer, params: types.CodeActionParams, commands: Sequence[SlashCommand] = ()
) -> list[tuple[str, ActionKind, AskParams, list[types.Diagnostic] | None]]:
    """Every Claw action for the request: (title, kind, claw.ask params, diagnostics); `commands`
    are the custom commands to offer on a selection (see `code_commands`)."""
    uri = params.text_document.uri
    range_ = params.range
    converter = ls.converter
    found: list[tuple[str, ActionKind, AskParams, list[types.Diagnostic] | None]] = []
    only = params.context.only

    def wanted(kind: ActionKind) -> bool:
        return _wanted(only, kind)

    if wanted(types.CodeActionKind.QuickFix):
        # One "Fix with Claw" per diagnostic, for the first few: a request carrying 60,000 (a
        # linter gone wild) got 60,000 actions back, a response of hundreds of MB.
        for diagnostic in params.context.diagnostics[:MAX_FIX_ACTIONS]:
            ask = AskParams.model_validate(
                {
                    "uri": uri,
                    "range": _range_dict(diagnostic.range),
                    "action": "fix",
                    "diagnostic": diagnostic_dict(diagnostic, converter),
                }
            )
            found.append(
                (
                    f"Fix with Claw: {truncate(diagnostic.message)}",
                    types.CodeActionKind.QuickFix,
                    ask,
                    [diagnostic],
                )
            )

    if not _is_empty(range_) and wanted(COMMAND_KIND):
        for command in commands:
            ask = AskParams.model_validate(
                {"uri": uri, "range": _range_dict(range_), "prompt": f"/{command.name}"}
            )
            found.append((truncate(f"Claw /{command.name}: {command.description}"), COMMAND_KIND, ask, None))

    if not wanted(types.CodeActionKind.RefactorRewrite):
        return found

    # The tracker's copy follows LSP's line rules (pygls' own would split at form feeds, U+2028).
    # Read line by line from the tracker: no copy of a big buffer.
    open_lines = ls.tracker.content_lines(uri)
    lines: Sequence[str] = open_lines if open_lines is not None else split_lines(_disk_text(uri))
    for instruction in find_instructions(lines, range_.start.line, range_.end.line):
        ask = AskParams.model_validate(
            {
                "uri": uri,
                "range": _range_dict(range_),
                "action": "instruction",
                "prompt": instruction.text,
                "instruction": InstructionRef(line=instruction.line, comment=instruction.comment),
            }
        )
        found.append((f"Claw: {truncate(instruction.text)}", types.CodeActionKind.RefactorRewrite, ask, None))

    if ls.client_features.input:
        ask = AskParams.model_validate({"uri": uri, "range": _range_dict(range_), "action": "ask"})
        found.append(("Ask Claw…", types.CodeActionKind.RefactorRewrite, ask, None))

    if not _is_empty(range_):
        for title, action in (
            ("Explain with Claw", "explain"),
            ("Document with Claw", "document"),
            ("Write tests with Claw", "tests"),
        ):
            ask = AskParams.model_validate({"uri": uri, "range": _range_dict(range_), "action": action})
            found.append((title, types.CodeActionKind.RefactorRewrite, ask, None))
    return found


def _disk_text(uri: str) -> str:
    """A file that is not open, as on disk; "" when the URI names no readable regular file (a
    missing file, a directory, a device such as /dev/zero, a URI that is not a file)."""
    path = path_of(uri)
    if path is None or not path.is_absolute():
        return ""
    try:
        return textio.decode(textio.read_regular(path))[0]
    except (OSError, ValueError):
        return ""


def ask_command(title: str, ask: AskParams) -> types.Command:
    """The `claw.ask` command a code action runs."""
    return types.Command(
        title=title, command=CMD_ASK, arguments=[ask.model_dump(mode="json", exclude_none=True)]
    )


def register(server: ClawLanguageServer) -> None:
    """Register textDocument/codeAction and codeAction/resolve."""

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[
                types.CodeActionKind.QuickFix,
                types.CodeActionKind.RefactorRewrite,
                COMMAND_KIND,
            ],
            resolve_provider=True,
        ),
    )
    async def code_action(ls: ClawLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        """List Claw's code actions for the range; remember the diagnostics the client sent."""
        from claw_lsp.agent.slash import load_catalog

        ls.diagnostics_cache.record(
            params.text_document.uri, params.range, params.context.diagnostics, ls.converter
        )
        commands: list[SlashCommand] = []
        if not _is_empty(params.range) and _wanted(params.context.only, COMMAND_KIND):
            # Trust only decides a command's grants when it runs; listing needs none.
            catalog = await asyncio.to_thread(load_catalog, ls.folders, trusted=False)
            commands = code_commands(catalog.commands)
        lazy = ls.client_info.resolves_command
        actions = []
        for title, kind, ask, diagnostics in build_actions(ls, params, commands):
            action = types.CodeAction(title=title, kind=kind, diagnostics=diagnostics)
            if lazy:
                action.data = {"claw": ask.model_dump(mode="json", exclude_none=True)}
            else:
                action.command = ask_command(title, ask)
            actions.append(action)
        return actions

    @server.feature(types.CODE_ACTION_RESOLVE)
    def code_action_resolve(ls: ClawLanguageServer, action: types.CodeAction) -> types.CodeAction:
        """Fill in the `claw.ask` command of an action listed without one."""
        data = action.data if isinstance(action.data, dict) else {}
        if action.command is None and isinstance(data.get("claw"), dict):
            try:
                ask = AskParams.model_validate(data["claw"])
            except ValidationError as exc:  # data the server did not make
                reason = exc.errors()[0].get("msg", exc)
                raise JsonRpcInvalidParams(f"not a Claw code action: {reason}") from exc
            action.command = ask_command(action.title, ask)
        return action
