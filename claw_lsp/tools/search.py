"""Search tools: Glob, Grep (both run the `rg` binary of the ripgrep package) and LS.

ripgrep respects .gitignore (also outside git repositories, via --no-require-git), searches hidden
files but never `.git/`, and runs as an asyncio subprocess in its own process group that is killed
when the tool is cancelled or times out.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import os
import re
import shutil
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from claw_lsp.core.events import ToolKind
from claw_lsp.core.tools import ToolArgs, ToolContext, ToolError, ToolOutput
from claw_lsp.tools.files import absolute_path
from claw_lsp.workspace import beneath

GLOB_LIMIT = 100
GREP_HEAD_LIMIT = 250
GREP_MAX_CHARS = 30_000
LS_LIMIT = 1000
RG_TIMEOUT_S = 60.0
_RG_COMMON = ["--no-require-git", "--hidden", "--glob", "!.git", "--color", "never"]
_GLOB_CHARS = set("*?[{")
_NO_DENY = ToolContext.__dataclass_fields__["read_denied"].default  # a context without deny rules


def rg_binary() -> str:
    """The ripgrep executable: on PATH, else next to the running Python (the venv's bin)."""
    found = shutil.which("rg")
    if found:
        return found
    candidate = Path(sys.executable).parent / "rg"
    if candidate.exists():
        return str(candidate)
    raise ToolError("ripgrep (rg) is not installed: install the `ripgrep` Python package.")


async def run_rg(
    args: list[str],
    cwd: Path | str,
    keep: int | None = None,
    timeout: float = RG_TIMEOUT_S,
    pass_fds: tuple[int, ...] = (),
) -> tuple[int, list[str], int, str]:
    """Run rg: (exit code, the first `keep` stdout lines, total stdout lines, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        rg_binary(),
        *args,
        cwd=cwd,
        pass_fds=pass_fds,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        limit=4 * 1024 * 1024,
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[str] = []
    total = 0

    async def pump_out() -> None:
        # In 64 KiB reads, not line by line: lines are counted with bytes.count and only the
        # first `keep` are decoded (a line-by-line `async for` cost more than rg's own search).
        nonlocal total
        assert proc.stdout is not None
        pending = b""  # the part of a line not ended yet, while lines are still kept
        ended = True  # whether the output so far ends with a line ending
        while chunk := await proc.stdout.read(1 << 16):
            total += chunk.count(b"\n")
            ended = chunk.endswith(b"\n")
            if keep is not None and len(lines) >= keep:
                continue
            pieces = (pending + chunk).split(b"\n")
            pending = pieces.pop()
            _keep_lines(lines, pieces, keep)
        if not ended:
            total += 1  # a last line without a line ending
            _keep_lines(lines, [pending], keep)

    try:
        err, _ = await asyncio.wait_for(asyncio.gather(proc.stderr.read(), pump_out()), timeout)
        code = await proc.wait()
    except TimeoutError:
        raise ToolError(f"The search took longer than {timeout:.0f} s; narrow the path or pattern.") from None
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await asyncio.shield(proc.wait())
    return code, lines, total, err.decode("utf-8", "replace").strip()


def _keep_lines(lines: list[str], pieces: list[bytes], keep: int | None) -> None:
    """Append decoded lines (without trailing CR/LF) until `keep` are held."""
    if keep is not None:
        pieces = pieces[: max(keep - len(lines), 0)]
    lines.extend(raw.decode("utf-8", "replace").rstrip("\r\n") for raw in pieces)


_PROC_FD = Path("/proc/self/fd")


@contextlib.contextmanager
def pinned(root: Path, folders: list[Path]) -> Iterator[int | None]:
    """`root` (a directory or a file) opened beneath the workspace folder that holds it, so that rg
    searches what was checked even if a symlink is swapped in meanwhile: rg is then pointed at
    `/proc/self/fd/N`, which names the opened directory or file itself. None where /proc is missing."""
    if not _PROC_FD.is_dir():
        yield None
        return
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if root.is_dir() else os.O_NONBLOCK)
    fd = beneath.open_fd(root, flags, folders)
    try:
        yield fd
    finally:
        os.close(fd)


def search_root(raw: str | None, ctx: ToolContext, args: ToolArgs | None = None) -> Path:
    """The directory (or file) a search starts from: `path`, else the shell's cwd or first folder
    (with `args`, resolved once per call, as the permission check saw it)."""
    if raw and args is not None:
        return args.resolved_once("path", lambda: search_root(raw, ctx))
    if raw:
        if raw.startswith("~"):
            raise ToolError(f"path {raw!r} starts with '~', which is not expanded: give an absolute path.")
        return ctx.workspace.resolve(raw, ctx.state.cwd)
    if ctx.state.cwd is not None:
        return ctx.state.cwd
    if ctx.workspace.folders:
        return ctx.workspace.folders[0]
    raise ToolError("No workspace folder: give an absolute path to search.")


def _mtimes(paths: list[Path]) -> dict[Path, float]:
    out: dict[Path, float] = {}
    for p in paths:
        try:
            out[p] = p.stat().st_mtime
        except OSError:
            out[p] = 0.0
    return out


async def newest_first(paths: list[Path]) -> list[Path]:
    """Paths sorted by modification time, newest first (path order breaks ties)."""
    mtimes = await asyncio.to_thread(_mtimes, paths)
    return sorted(paths, key=lambda p: (-mtimes[p], str(p)))


def _split_absolute_pattern(pattern: str) -> tuple[Path, str]:
    """'/ws/src/**/*.py' -> (/ws/src, '**/*.py'): the fixed directory prefix and the rest."""
    parts = Path(pattern).parts
    fixed: list[str] = []
    for part in parts[:-1]:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed), "/".join(parts[len(fixed) :])


_CONTEXT_LINE = re.compile(r"\d+-")


def _renamed(lines: list[str], shown: str, real: str) -> list[str]:
    """rg's lines with the pinned path it was given (`/proc/self/fd/N`) written as the real one."""
    return [real + line[len(shown) :] if line.startswith(shown) else line for line in lines]


def _without_denied(lines: list[str], mode: str, ctx: ToolContext) -> list[str]:
    """rg's output without the files a deny rule forbids reading. In content and count modes each
    line is `path\\0rest` (`--null`); the NUL becomes the usual `:` again."""
    kept = []
    for line in lines:
        if mode == "files_with_matches":
            if not ctx.read_denied(Path(line)):
                kept.append(line)
            continue
        path, nul, rest = line.partition("\0")
        if not nul:
            kept.append(line)  # a `--` separator between context groups
        elif not ctx.read_denied(Path(path)):
            # rg marks a context line `path-12-text` and a match `path:12:text`; keep that.
            sep = "-" if _CONTEXT_LINE.match(rest) else ":"
            kept.append(f"{path}{sep}{rest}")
    return kept


# -- Glob --------------------------------------------------------------------------------------


def _glob_root(args: GlobInput, ctx: ToolContext) -> tuple[Path, str, bool]:
    """Where a Glob searches and with which pattern; True when the call named the place (by `path`
    or an absolute pattern) rather than searching the shell's working directory."""
    if Path(args.pattern).is_absolute() and not args.path:
        root, pattern = _split_absolute_pattern(args.pattern)
        return args.resolved_once("pattern", lambda: ctx.workspace.resolve(root)), pattern, True
    return search_root(args.path, ctx, args), args.pattern, bool(args.path)


class GlobInput(ToolArgs):
    """Glob's arguments."""

    pattern: str = Field(description="The glob pattern to match files against")
    path: str | None = Field(
        default=None,
        description="The directory to search in. If not specified, the current working directory "
        "will be used. IMPORTANT: Omit this field to use the default directory. DO NOT enter "
        '"undefined" or "null" - simply omit it for the default behavior. Must be a valid '
        "directory path if provided.",
    )


class Glob:
    """Find files by name pattern, newest first."""

    name: ClassVar[str] = "Glob"
    description: ClassVar[str] = (
        "- Fast file pattern matching tool that works with any codebase size\n"
        '- Supports glob patterns like "**/*.js" or "src/**/*.ts" (a pattern without a slash, '
        'like "*.py", matches at any depth)\n'
        "- Returns matching file paths sorted by modification time, newest first, at most "
        f"{GLOB_LIMIT}\n"
        "- Files ignored by .gitignore are skipped\n"
        "- Use this tool when you need to find files by name patterns\n"
        "- It is always better to speculatively perform multiple searches in a batch"
    )
    input_model: ClassVar[type[BaseModel]] = GlobInput
    kind: ClassVar[ToolKind] = "search"
    read_only: ClassVar[bool] = True
    reviewable: ClassVar[bool] = False

    def title(self, args: GlobInput, ctx: ToolContext) -> str:
        """The progress title, e.g. "Finding files: **/*.py"."""
        return f"Finding files: {args.pattern}"

    def locations(self, args: GlobInput, ctx: ToolContext) -> list[Path]:
        """The folder searched, when given (by `path` or an absolute pattern)."""
        root, _pattern, explicit = _glob_root(args, ctx)
        return [root] if explicit else []

    def subject(self, args: GlobInput, ctx: ToolContext) -> str | None:
        """The absolute directory searched: `path`, or the fixed prefix of an absolute pattern (so a
        pattern such as `/etc/**` is judged as a read of /etc, outside the workspace)."""
        root, _pattern, explicit = _glob_root(args, ctx)
        return str(root) if explicit else None

    async def run(self, args: GlobInput, ctx: ToolContext) -> ToolOutput:
        """List files matching the pattern, newest first, capped."""
        root, pattern, _explicit = _glob_root(args, ctx)
        if not await asyncio.to_thread(root.is_dir):
            raise ToolError(f"Directory does not exist: {root}")
        with pinned(root, ctx.workspace.folders) as fd:
            cwd = root if fd is None else f"/proc/self/fd/{fd}"
            fds = () if fd is None else (fd,)
            # rg sorts by modification time itself (newest first; ties in rg's order), so no
            # stat of every match here.
            rg_args = ["--files", *_RG_COMMON, "--sortr", "modified", "--glob", pattern]
            code, lines, _, err = await run_rg(rg_args, cwd, pass_fds=fds)
        if code == 2 and not lines:
            raise ToolError(f"Glob failed: {err}")
        if ctx.read_denied is not _NO_DENY:  # deny rules: each match checked (else no Path built)
            lines = [line for line in lines if not ctx.read_denied(root / line)]
        if not lines:
            return ToolOutput("No files found")
        found = lines
        base = str(root)
        text = "\n".join(os.path.join(base, line) for line in found[:GLOB_LIMIT])
        if len(found) > GLOB_LIMIT:
            text += (
                f"\n(Results are truncated: showing the {GLOB_LIMIT} most recently modified of "
                f"{len(found)} files. Use a more specific path or pattern.)"
            )
        return ToolOutput(text)


# -- Grep --------------------------------------------------------------------------------------


class GrepInput(ToolArgs):
    """Grep's arguments (Claude Code's names, including the dashed flags)."""

    model_config = ConfigDict(populate_by_name=True)

    pattern: str = Field(description="The regular expression pattern to search for in file contents")
    path: str | None = Field(
        default=None,
        description="File or directory to search in (rg PATH). Defaults to current working directory.",
    )
    glob: str | None = Field(
        default=None,
        description='Glob pattern to filter files (e.g. "*.js", "*.{ts,tsx}") - maps to rg --glob',
    )
    type: str | None = Field(
        default=None,
        description="File type to search (rg --type). Common types: js, py, rust, go, java, etc. "
        "More efficient than glob for standard file types.",
    )
    output_mode: Literal["content", "files_with_matches", "count"] = Field(
        default="files_with_matches",
        description='Output mode: "content" shows matching lines (supports -A/-B/-C context, -n '
        'line numbers, head_limit), "files_with_matches" shows file paths (supports head_limit), '
        '"count" shows match counts (supports head_limit). Defaults to "files_with_matches".',
    )
    case_insensitive: bool | None = Field(
        default=None, alias="-i", description="Case insensitive search (rg -i)"
    )
    line_numbers: bool | None = Field(
        default=None,
        alias="-n",
        description='Show line numbers in output (rg -n). Requires output_mode: "content", defaults to true.',
    )
    after: int | None = Field(
        default=None,
        ge=0,
        alias="-A",
        description='Number of lines to show after each match (rg -A). Requires output_mode: "content".',
    )
    before: int | None = Field(
        default=None,
        ge=0,
        alias="-B",
        description='Number of lines to show before each match (rg -B). Requires output_mode: "content".',
    )
    context: int | None = Field(
        default=None,
        ge=0,
        alias="-C",
        description="Number of lines to show before and after each match (rg -C). Requires "
        'output_mode: "content".',
    )
    head_limit: int | None = Field(
        default=None,
        ge=1,
        description="Limit output to the first N lines/entries (content: lines; files: paths; "
        f"count: entries). Defaults to {GREP_HEAD_LIMIT}.",
    )
    multiline: bool | None = Field(
        default=None,
        description="Enable multiline mode where . matches newlines and patterns can span lines "
        "(rg -U --multiline-dotall). Default: false.",
    )


class Grep:
    """Search file contents with ripgrep."""

    name: ClassVar[str] = "Grep"
    description: ClassVar[str] = (
        "A powerful search tool built on ripgrep\n\n"
        "Usage:\n"
        "- ALWAYS use Grep for search tasks. NEVER invoke `grep` or `rg` as a Bash command.\n"
        '- Supports full regex syntax (e.g., "log.*Error", "function\\s+\\w+"); Rust regex '
        "flavour, so no look-around or backreferences\n"
        '- Filter files with glob parameter (e.g., "*.js", "**/*.tsx") or type parameter '
        '(e.g., "js", "py", "rust")\n'
        '- Output modes: "content" shows matching lines, "files_with_matches" shows only file '
        'paths (default, newest first), "count" shows match counts\n'
        "- Pattern syntax: literal braces need escaping (use `interface\\{\\}` to find "
        "`interface{}` in Go code)\n"
        "- Multiline matching: by default patterns match within single lines only. For "
        "cross-line patterns use `multiline: true`\n"
        f"- Output is limited to head_limit lines/entries (default {GREP_HEAD_LIMIT}); files "
        "ignored by .gitignore are skipped"
    )
    input_model: ClassVar[type[BaseModel]] = GrepInput
    kind: ClassVar[ToolKind] = "search"
    read_only: ClassVar[bool] = True
    reviewable: ClassVar[bool] = False

    def title(self, args: GrepInput, ctx: ToolContext) -> str:
        """The progress title, e.g. "Searching for: pattern"."""
        return f"Searching for: {args.pattern}"

    def locations(self, args: GrepInput, ctx: ToolContext) -> list[Path]:
        """The folder or file searched, when given."""
        return [search_root(args.path, ctx, args)] if args.path else []

    def subject(self, args: GrepInput, ctx: ToolContext) -> str | None:
        """The absolute file or directory searched."""
        return str(search_root(args.path, ctx, args)) if args.path else None

    async def run(self, args: GrepInput, ctx: ToolContext) -> ToolOutput:
        """Run rg in the requested mode and format its output."""
        root = search_root(args.path, ctx, args)
        if not await asyncio.to_thread(root.exists):
            raise ToolError(f"Path does not exist: {root}")
        limit = args.head_limit or GREP_HEAD_LIMIT
        cmd = [*_RG_COMMON, "--with-filename", "--max-columns", "500", "--max-columns-preview"]
        if args.case_insensitive:
            cmd.append("--ignore-case")
        if args.multiline:
            cmd += ["--multiline", "--multiline-dotall"]
        if args.glob:
            cmd += ["--glob", args.glob]
        if args.type:
            cmd += ["--type", args.type]
        mode = args.output_mode
        if mode == "content":
            cmd += ["--no-heading", "--sort", "path"]
            cmd.append("--no-line-number" if args.line_numbers is False else "--line-number")
            if args.context is not None:
                cmd += ["--context", str(args.context)]
            if args.after is not None:
                cmd += ["--after-context", str(args.after)]
            if args.before is not None:
                cmd += ["--before-context", str(args.before)]
        elif mode == "count":
            cmd += ["--count", "--sort", "path"]
        else:
            cmd.append("--files-with-matches")
        if mode != "files_with_matches":
            cmd.append("--null")  # a NUL after each file name: lines of denied files can be dropped
        cmd += ["--regexp", args.pattern, "--"]
        keep = None if mode == "files_with_matches" else limit
        with pinned(root, ctx.workspace.folders) as fd:
            if fd is None:
                code, lines, total, err = await run_rg(
                    [*cmd, str(root)], root if root.is_dir() else root.parent, keep
                )
            elif root.is_dir():
                # rg runs in the opened directory and searches ".": as safe as naming
                # /proc/self/fd/N, and faster (rg then looks for ignore files up /proc/self/fd).
                where = f"/proc/self/fd/{fd}"
                code, lines, total, err = await run_rg([*cmd, "."], where, keep, pass_fds=(fd,))
                lines = _renamed(lines, "./", os.path.join(str(root), ""))
            else:
                where = f"/proc/self/fd/{fd}"
                code, lines, total, err = await run_rg([*cmd, where], root.parent, keep, pass_fds=(fd,))
                lines = _renamed(lines, where, str(root))
        if code == 2 and not lines:
            raise ToolError(f"Grep failed: {err}")
        warning = f"\n(Some files could not be searched: {err.splitlines()[0]})" if code == 2 and err else ""
        lines = _without_denied(lines, mode, ctx)
        if not lines:
            return ToolOutput("No files found" if mode == "files_with_matches" else "No matches found")
        if mode == "files_with_matches":
            files = await newest_first([Path(line) for line in lines])
            text = f"Found {len(files)} file{'s' if len(files) != 1 else ''}\n"
            text += "\n".join(str(p) for p in files[:limit])
        elif mode == "count":
            text = "\n".join(lines)
            if total <= limit:
                counts = [int(line.rsplit(":", 1)[1]) for line in lines if line.rsplit(":", 1)[-1].isdigit()]
                text += f"\n\nFound {sum(counts)} matching lines across {len(counts)} files."
        else:
            text = "\n".join(lines)
        if total > limit:
            text += (
                f"\n\n(Output limited to the first {limit} of {total} "
                f"{'files' if mode == 'files_with_matches' else 'lines'}; narrow the search or "
                "raise head_limit to see more.)"
            )
        if len(text) > GREP_MAX_CHARS:
            text = (
                text[:GREP_MAX_CHARS] + f"\n\n(Output cut at {GREP_MAX_CHARS} characters; narrow the search.)"
            )
        return ToolOutput(text + warning)


# -- LS ----------------------------------------------------------------------------------------


def _ls_root(args: LSInput, ctx: ToolContext) -> Path:
    """LS's directory, resolved once per call (the permission check and the listing agree)."""
    return args.resolved_once("path", lambda: ctx.workspace.resolve(args.path, ctx.state.cwd))


class LSInput(ToolArgs):
    """LS's arguments."""

    path: str = Field(
        description="The absolute path to the directory to list (must be absolute, not relative)"
    )
    ignore: list[str] | None = Field(default=None, description="List of glob patterns to ignore")


def _ignored(name: str, rel: str, patterns: list[str]) -> bool:
    if name.startswith(".") or name == "__pycache__":
        return True
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in patterns)


def _walk(
    root: Path,
    patterns: list[str],
    cap: int,
    denied: Callable[[Path], bool] = lambda _p: False,
    folders: list[Path] | None = None,
) -> tuple[dict[Path, list[tuple[str, bool]]], bool]:
    """Breadth-first listing: each directory's kept (name, is_dir) entries; True when capped.
    Each directory is opened from its parent's descriptor without following a symlink (the root
    beneath its workspace folder), so a directory swapped for a symlink is not listed."""
    tree: dict[Path, list[tuple[str, bool]]] = {}
    root_fd = beneath.open_fd(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0), folders or [])
    queue: deque[tuple[Path, int]] = deque([(root, root_fd)])
    count = 0
    try:
        while queue:
            directory, fd = queue.popleft()
            try:
                entries = sorted(os.scandir(fd), key=lambda e: e.name)
            except OSError:
                os.close(fd)
                continue
            kept: list[tuple[str, bool]] = []
            tree[directory] = kept
            for entry in entries:
                is_dir = entry.is_dir(follow_symlinks=False)
                path = directory / entry.name
                rel = os.path.relpath(path, root) + ("/" if is_dir else "")
                if _ignored(entry.name, rel, patterns) or denied(path):
                    continue
                if count >= cap:
                    os.close(fd)
                    return tree, True
                kept.append((entry.name, is_dir))
                count += 1
                if is_dir:
                    with contextlib.suppress(OSError):  # gone, or swapped for a symlink: not listed
                        queue.append((path, beneath.open_child_dir(fd, entry.name, path)))
            os.close(fd)
    finally:
        for _, fd in queue:
            os.close(fd)
    return tree, False


def _render(tree: dict[Path, list[tuple[str, bool]]], directory: Path, depth: int, out: list[str]) -> None:
    for name, is_dir in tree.get(directory, []):
        out.append(f"{'  ' * depth}- {name}{'/' if is_dir else ''}")
        if is_dir:
            _render(tree, directory / name, depth + 1, out)


class LS:
    """List a directory tree."""

    name: ClassVar[str] = "LS"
    description: ClassVar[str] = (
        "Lists files and directories in a given path, as a tree. The path parameter must be an "
        "absolute path, not a relative path. You can optionally provide an array of glob patterns "
        "to ignore with the ignore parameter. Hidden files and __pycache__ are not shown, and the "
        f"listing stops after {LS_LIMIT} entries. You should generally prefer the Glob and Grep "
        "tools, if you know which directories to search."
    )
    input_model: ClassVar[type[BaseModel]] = LSInput
    kind: ClassVar[ToolKind] = "search"
    read_only: ClassVar[bool] = True
    reviewable: ClassVar[bool] = False

    def title(self, args: LSInput, ctx: ToolContext) -> str:
        """The progress title, e.g. "Listing src"."""
        shown = ctx.workspace.relative(ctx.workspace.resolve(args.path, ctx.state.cwd)) if args.path else ""
        return f"Listing {shown}"

    def locations(self, args: LSInput, ctx: ToolContext) -> list[Path]:
        """The folder listed."""
        return [_ls_root(args, ctx)] if args.path else []

    def subject(self, args: LSInput, ctx: ToolContext) -> str | None:
        """The absolute directory listed."""
        return str(_ls_root(args, ctx)) if args.path else None

    async def run(self, args: LSInput, ctx: ToolContext) -> ToolOutput:
        """List the directory breadth first, capped."""
        absolute_path(args.path, ctx, what="path")  # a relative path is an error with a hint
        root = _ls_root(args, ctx)
        if not await asyncio.to_thread(root.exists):
            raise ToolError(f"Directory does not exist: {root}")
        if not await asyncio.to_thread(root.is_dir):
            raise ToolError(f"{root} is a file, not a directory; use Read to read it.")
        tree, capped = await asyncio.to_thread(
            _walk, root, args.ignore or [], LS_LIMIT, ctx.read_denied, ctx.workspace.folders
        )
        out = [f"- {root}/"]
        _render(tree, root, 1, out)
        text = "\n".join(out)
        if capped:
            text = (
                f"There are more than {LS_LIMIT} entries under {root}. Use LS with a more specific "
                f"path, or Glob and Grep, to explore further. The first {LS_LIMIT} entries:\n\n{text}"
            )
        return ToolOutput(text)
