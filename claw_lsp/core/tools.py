"""The tool contract: a pydantic input model (its JSON schema is what the model sees) and `run`.

A tool never talks to the user or the editor directly: it reads and writes through the file view
(`FileView`) in its `ToolContext`, emits events through `ctx.emit`, and returns a `ToolOutput`
(or raises `ToolError`, which becomes an `is_error` result the model reads).

A tool also says what it is: its ACP `kind` ("read", "edit", "execute", ...), the files a call
touches (`locations(args, ctx)`), and whether its changes are `FileChange`s through the view's
`ChangeApplier` (`reviewable`: the applier shows them for review, so no separate permission
question is needed). Every policy that depends on "does this call edit files" (review instead of
a permission question, diagnostics before and after, saving before a command, which files a run
changed) asks the tool, through `edits_files`, `runs_commands`, `reviewable` and `locations`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, PrivateAttr

from claw_lsp.core.events import FileDiff, ReviewNote, ToolKind
from claw_lsp.core.files import ApplyResult, FileChange, FileSnapshot
from claw_lsp.core.messages import ImageBlock

# The kinds whose calls change files: they are reviewed instead of asked about, and the files they
# touch get the diagnostics loop.
EDIT_KINDS: frozenset[str] = frozenset({"edit", "delete", "move"})


class ToolArgs(BaseModel):
    """Base of tool input models: remembers each path argument as it was resolved for the
    permission check, so the tool then works on that very path (resolving it again could land
    elsewhere if a symlink was swapped meanwhile)."""

    _resolved: dict[str, Path] = PrivateAttr(default_factory=dict)

    def resolved_once(self, key: str, resolve: Callable[[], Path]) -> Path:
        """`resolve()` the first time `key` is asked for; the same path every later time."""
        if key not in self._resolved:
            self._resolved[key] = resolve()
        return self._resolved[key]


class ToolError(Exception):
    """A tool failed in a way the model should read and can act on."""


@dataclass
class ToolOutput:
    """What goes back to the model as the tool_result."""

    content: str
    is_error: bool = False
    diffs: list[FileDiff] = field(default_factory=list)  # what an edit changed, for the front ends
    review: ReviewNote | None = None  # the user's decision on a reviewed edit
    denied: bool = False  # refused by the permission engine or the user
    # Images the model sees after `content` in the same tool_result (Read of an image file).
    images: list[ImageBlock] = field(default_factory=list)


class DiagnosticsSource(Protocol):
    """Where the `Diagnostics` tool and the diagnostics loop get the editor's diagnostics."""

    async def diagnostics(self, paths: list[Path] | None) -> dict[Path, list[dict[str, Any]]]:
        """Current diagnostics per file: dicts with range/severity/message/source (LSP shape)."""
        ...


class FileView(Protocol):
    """What a tool may do with the workspace's files (`workspace.view.WorkspaceView` is the one)."""

    folders: list[Path]

    def resolve(self, raw: str | Path, cwd: Path | None = None) -> Path:
        """An absolute path with symlinks resolved; relative ones against cwd/first folder."""
        ...

    def is_inside(self, path: Path) -> bool:
        """True when the path lies within a workspace folder."""
        ...

    def relative(self, path: Path) -> str:
        """A workspace-relative path for display (absolute when outside every folder)."""
        ...

    def check_write(self, path: Path) -> None:
        """Raise unless `path` may be written."""
        ...

    async def read(self, path: Path) -> FileSnapshot:
        """The file's text: the editor's buffer when open, else disk."""
        ...

    async def read_lines(
        self, path: Path, offset: int, limit: int
    ) -> tuple[list[str], int | None, FileSnapshot | None]:
        """A page of lines, the total line count (when known) and the whole snapshot (when loaded)."""
        ...

    async def exists(self, path: Path) -> bool:
        """True when the editor has the path open or it exists on disk."""
        ...

    async def apply(self, change: FileChange) -> ApplyResult:
        """Check the change's paths may be written, then apply it."""
        ...


class BackgroundJobs(Protocol):
    """A session's background commands (`tools.background.BackgroundShells` is the one)."""

    def notices(self) -> list[str]:
        """Notes for the model about commands that finished since it last heard."""
        ...

    def running(self) -> Sequence[object]:
        """The commands still running."""
        ...

    def ids(self) -> set[str]:
        """The ids of every command started so far."""
        ...

    async def stop_started_since(self, known: set[str]) -> list[str]:
        """Kill the commands still running that are not in `known` (those a cancelled run started)."""
        ...

    async def close(self) -> None:
        """Kill every command still running (the session ends)."""
        ...


@dataclass
class SessionState:
    """Per-session state tools share across calls (lives as long as the session's runs)."""

    # Files read in this session: path -> the snapshot the model saw (Edit/Write preconditions).
    read_files: dict[Path, FileSnapshot] = field(default_factory=dict)
    # Bash's working directory, persisted between calls.
    cwd: Path | None = None
    # Paths the agent changed in this session (for saveDocuments before Bash, diagnostics loop).
    touched: set[Path] = field(default_factory=set)
    # Bash's `run_in_background` commands (set by the composer); they die with the session.
    background: BackgroundJobs | None = None
    # SessionStart hooks ran for this session (once per session, however often its agent is rebuilt).
    started: bool = False


@dataclass
class ToolContext:
    """What a running tool may use."""

    workspace: FileView
    state: SessionState
    tool_call_id: str = ""
    emit: Callable[[BaseModel], None] = lambda _event: None
    diagnostics: DiagnosticsSource | None = None
    bash_timeout_ms: int = 120_000
    # Called by a tool to refine the visible step, e.g. "Running: pytest -q".
    set_title: Callable[[str], None] = lambda _title: None
    # True when permission rules or the mode allowed this call without asking: its file changes
    # skip the editor's review (the user already said yes to this kind of change).
    preapproved: bool = False
    # Extra environment for Bash (never API keys).
    env: dict[str, str] = field(default_factory=dict)
    # True for a path a deny rule forbids reading: Grep, Glob and LS leave it out of their output.
    read_denied: Callable[[Path], bool] = lambda _path: False


class Tool(Protocol):
    """A tool the model can call."""

    name: ClassVar[str]
    description: ClassVar[str]
    input_model: ClassVar[type[BaseModel]]
    kind: ClassVar[ToolKind]
    read_only: ClassVar[bool]
    # Its file changes go through the workspace view's ChangeApplier (which can review them).
    reviewable: ClassVar[bool]

    def title(self, args: Any, ctx: ToolContext) -> str:
        """A short human line for progress, e.g. "Reading src/app.py"."""
        ...

    def subject(self, args: Any, ctx: ToolContext) -> str | None:
        """What permission rules match against: the Bash command, or the absolute path."""
        ...

    def locations(self, args: Any, ctx: ToolContext) -> list[Path]:
        """The files (or search roots) a call reads or changes, as absolute paths."""
        ...

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        """Do the work; raise ToolError for failures the model should see."""
        ...


def edits_files(tool: Tool | None) -> bool:
    """True when the tool's calls change files (its kind says so)."""
    return tool is not None and tool.kind in EDIT_KINDS


def runs_commands(tool: Tool | None) -> bool:
    """True when the tool runs commands that see the files on disk (kind "execute")."""
    return tool is not None and tool.kind == "execute"


def tool_schema(tool: Tool) -> dict[str, Any]:
    """The JSON schema the model sees for a tool's input.

    A tool with a `json_schema` attribute (an MCP tool: its server's `inputSchema`) shows it verbatim.
    """
    verbatim = getattr(tool, "json_schema", None)
    if isinstance(verbatim, dict):
        return copy.deepcopy(verbatim)
    return copy.deepcopy(_model_schema(tool.input_model))


@functools.cache
def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """An input model's schema without pydantic's titles, built once per model (pydantic takes a
    millisecond or more per model, and every request lists every tool)."""
    schema = model.model_json_schema(by_alias=True)
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema
