"""The system prompt: core instructions, memory files, environment; and the editor's selection block.

Memory files come in Claude Code's order, so later (more specific) ones win: first the user's own
(`~/.claude/CLAUDE.md`, then `$XDG_CONFIG_HOME/claw/CLAW.md`), then the project's, collected from
each workspace root upward (stopping below the home directory and the filesystem root), farthest
directory first; in each directory `CLAUDE.md`, `.claude/CLAUDE.md`, `CLAW.md`, `AGENTS.md`,
`.claw/instructions.md`, and last the user's private `CLAUDE.local.md`. `@path` imports in them are
followed up to depth 5, each file at most once. Every file is capped in size, with a note when cut.

These functions do blocking file and subprocess work: the server calls them via `asyncio.to_thread`.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

MEMORY_NAMES = (
    "CLAUDE.md",
    ".claude/CLAUDE.md",
    "CLAW.md",
    "AGENTS.md",
    ".claw/instructions.md",
    "CLAUDE.local.md",
)
LOCAL_MEMORY_NAME = "CLAUDE.local.md"  # the user's private project instructions (not checked in)
MAX_IMPORT_DEPTH = 5
GIT_TIMEOUT_S = 2.0
GIT_MAX_FILES = 10
SELECTION_MAX_CHARS = 40_000

CORE_INSTRUCTIONS = """\
You are Claw, a coding agent working inside the user's editor. You help with software engineering \
tasks: fixing bugs, adding features, refactoring, explaining and testing code. Use the tools \
available to you; the instructions below and the user's memory files tell you how.

# How to work
- Be concise and direct. Answer in a few lines unless the user asks for detail; no preamble, no \
closing summary of what you just did beyond a short confirmation. Use GitHub-flavoured Markdown.
- Use the tools to find out rather than guessing. Never invent file contents, APIs, paths or \
command output; if you do not know, look it up or say so.
- Read a file before you edit it, and edit with the smallest change that does the job. Follow the \
code's existing style, naming, libraries and patterns; check that a library is already used \
before relying on it.
- File paths given to tools are absolute and must lie inside a workspace folder.
- Your edits land in the user's editor as reviewable changes, in its undo history. The user may \
accept, reject or modify them, and may keep typing while you work: if an edit is refused or \
rebased, re-read the file and adapt.
- Prefer the dedicated tools (Read, Edit, Glob, Grep, LS) to shell commands for reading, searching \
and editing files. Run independent read-only tool calls together.
- After changing code, verify it: run the project's tests, type checker or linter when you can find \
how (README, Makefile, package scripts), and fix what you broke. Never assume a test framework.
- For multi-step work, keep a plan with TodoWrite and mark items done as you go.
- Do only what was asked. Do not commit, push or make other irreversible changes unless asked. \
Never expose secrets or write them into files, logs or commits.
- When you refer to code, cite it as `path:line` so the user can jump to it.
"""

_MODE_NOTES = {
    "default": "File edits and shell commands may need the user's approval; a denied call comes back "
    "as an error with the user's reason: respect it and adapt.",
    "acceptEdits": "File edits are accepted automatically; shell commands may still need approval.",
    "plan": "You are in plan mode: do not modify any file or run commands with side effects. "
    "Investigate with read-only tools, then present a concise, concrete plan and stop.",
    "bypassPermissions": "All tool calls run without asking the user: be especially careful with "
    "destructive commands.",
}


@dataclass
class MemoryFile:
    """One memory file as shown to the model (`text` already carries a note when cut)."""

    path: Path
    text: str
    truncated: bool = False
    imported_from: Path | None = None
    scope: str = "project"  # "project" | "local" (CLAUDE.local.md) | "user"


def _home() -> Path:
    return Path.home().resolve()


def user_memory_path() -> Path:
    """Claw's own user memory file: `$XDG_CONFIG_HOME/claw/CLAW.md` (default `~/.config/...`)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "claw" / "CLAW.md"


def user_memory_paths() -> list[Path]:
    """The user's memory files, in load order: Claude Code's `~/.claude/CLAUDE.md`, then Claw's."""
    return [Path.home() / ".claude" / "CLAUDE.md", user_memory_path()]


def _memory_dirs(root: Path) -> list[Path]:
    """The root and its ancestors below home and the filesystem root, farthest first."""
    root = root.resolve()
    home = _home()
    dirs = [root]
    d = root.parent
    while d not in (d.parent, home):
        dirs.append(d)
        d = d.parent
    return dirs[::-1]


def _read_capped(path: Path, max_bytes: int) -> tuple[str, bool] | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:4096]:
        return None
    if len(data) <= max_bytes:
        return data.decode("utf-8", "replace"), False
    text = data[:max_bytes].decode("utf-8", "ignore")
    shown = len(text.encode("utf-8"))
    return f"{text}\n[truncated: {shown} of {len(data)} bytes shown]", True


_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+).*?\1")
_IMPORT = re.compile(r"(?:^|(?<=\s))@((?:~/|\.{1,2}/|/)?[\w.\-/~]+)")


def find_imports(text: str) -> list[str]:
    """The `@path` imports in a memory file's text, outside code blocks and code spans."""
    found: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        m = _FENCE.match(line)
        if fence is not None:
            if m and m.group("fence")[0] == fence[0] and len(m.group("fence")) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group("fence")
            continue
        for raw in _IMPORT.findall(_INLINE_CODE.sub(" ", line)):
            target = raw.rstrip(".,;:")
            if target and target not in found:
                found.append(target)
    return found


def _resolve_import(target: str, base: Path) -> Path | None:
    path = Path(os.path.expanduser(target)) if target.startswith("~/") else base / target
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return None
    return resolved if resolved.is_file() else None


def _collect(
    path: Path,
    out: list[MemoryFile],
    seen: set[Path],
    *,
    max_bytes: int,
    depth: int,
    imported_from: Path | None,
    scope: str,
    confine: Path | None = None,
) -> None:
    """Add `path` and what it imports to `out`. `confine`: imports must resolve below it (a
    project's memory files are the repository's: they may not pull in `~/.ssh/id_rsa`)."""
    resolved = path.resolve()
    if resolved in seen:
        return
    read = _read_capped(resolved, max_bytes)
    if read is None:
        return
    seen.add(resolved)
    text, truncated = read
    if any(f.text == text for f in out):  # e.g. AGENTS.md copied from CLAUDE.md
        return
    entry = MemoryFile(path, text, truncated, imported_from, scope)
    out.append(entry)
    if depth >= MAX_IMPORT_DEPTH:
        return
    held_back: list[str] = []
    for target in find_imports(text):
        child = _resolve_import(target, resolved.parent)
        if child is not None and confine is not None and not child.is_relative_to(confine):
            held_back.append(target)
            continue
        if child is not None:
            _collect(
                child,
                out,
                seen,
                max_bytes=max_bytes,
                depth=depth + 1,
                imported_from=path,
                scope=scope,
                confine=confine,
            )
    if held_back:
        log.warning("%s: imports outside the project not loaded: %s", path, ", ".join(held_back))
        entry.text += (
            f"\n\n(Not loaded: {', '.join('@' + t for t in held_back)}: outside the project, and the "
            "workspace is not trusted. A project's files import files outside it only once the user "
            "trusts the workspace.)"
        )


def load_memory(
    root: Path,
    *,
    max_bytes_per_file: int = 40_000,
    include_user: bool = True,
    external_imports: bool = False,
) -> list[MemoryFile]:
    """Memory files for a workspace root: user memory, then ancestors' files, the root's last.

    The user's own files import anything. A project file's (CLAUDE.md, CLAUDE.local.md, AGENTS.md
    in the root or an ancestor) `@` imports are loaded only below that file's directory, unless
    `external_imports` (the user trusts the workspace), as Claude Code asks before it loads a
    project's external imports."""
    out: list[MemoryFile] = []
    seen: set[Path] = set()
    if include_user:
        for user in user_memory_paths():
            if user.is_file():
                _collect(
                    user, out, seen, max_bytes=max_bytes_per_file, depth=0, imported_from=None, scope="user"
                )
    for d in _memory_dirs(root):
        for name in MEMORY_NAMES:
            candidate = d / name
            if candidate.is_file():
                _collect(
                    candidate,
                    out,
                    seen,
                    max_bytes=max_bytes_per_file,
                    depth=0,
                    imported_from=None,
                    scope="local" if name == LOCAL_MEMORY_NAME else "project",
                    confine=None if external_imports else d.resolve(),
                )
    return out


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None


def git_summary(root: Path) -> str | None:
    """Branch and a short status summary of the repo at `root`; None when not a repo or no git."""
    proc = _git(root, "status", "--porcelain=v1", "--branch", "--untracked-files=normal")
    if proc is None or proc.returncode != 0:
        return None
    lines = proc.stdout.splitlines()
    branch = "unknown"
    if lines and lines[0].startswith("## "):
        head = lines.pop(0)[3:]
        if head.startswith("No commits yet on "):
            branch = head.removeprefix("No commits yet on ") + " (no commits yet)"
        elif head.startswith("HEAD (no branch)"):
            branch = "detached HEAD"
        else:
            name, _, rest = head.partition("...")
            branch = name
            tracking = re.search(r"\[(.*)\]", rest)
            if tracking:
                branch += f" ({tracking.group(1)})"
    counts: dict[str, int] = {}
    for line in lines:
        code = line[:2]
        if code == "??":
            kind = "untracked"
        elif "U" in code or code in ("AA", "DD"):
            kind = "conflicted"
        elif "A" in code:
            kind = "added"
        elif "D" in code:
            kind = "deleted"
        elif "R" in code:
            kind = "renamed"
        else:
            kind = "modified"
        counts[kind] = counts.get(kind, 0) + 1
    out = [f"Branch: {branch}"]
    if not lines:
        out.append("Status: clean")
        return "\n".join(out)
    out.append("Status: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    out.extend(f"  {line}" for line in lines[:GIT_MAX_FILES])
    if len(lines) > GIT_MAX_FILES:
        out.append(f"  ... and {len(lines) - GIT_MAX_FILES} more")
    return "\n".join(out)


def _fence_for(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def selection_context(
    path_display: str, text: str, start_line: int, end_line: int, language_id: str | None = None
) -> str:
    """The code block for a selection the editor sends with a prompt (lines are 1-based)."""
    note = ""
    if len(text) > SELECTION_MAX_CHARS:
        note = f"\n[selection truncated: {SELECTION_MAX_CHARS} of {len(text)} characters shown]"
        text = text[:SELECTION_MAX_CHARS]
    fence = _fence_for(text)
    where = f"line {start_line}" if start_line == end_line else f"lines {start_line}-{end_line}"
    body = text if text.endswith("\n") else text + "\n"
    return f"The user selected {where} of {path_display}:\n{fence}{language_id or ''}\n{body}{fence}{note}"


def _render_memory(files: list[MemoryFile]) -> str:
    parts = [
        "# Memory\n"
        "The user's instructions from memory files follow. They override the defaults above; "
        "when they conflict, later (nearer) files win."
    ]
    for f in files:
        if f.imported_from is not None:
            label = f"imported from {f.imported_from}"
        elif f.scope == "user":
            label = "user's private global instructions for all projects"
        elif f.scope == "local":
            label = "user's private project instructions, not checked in"
        else:
            label = "project instructions, checked into the codebase"
        parts.append(f"Contents of {f.path} ({label}):\n\n{f.text.strip()}")
    return "\n\n".join(parts)


def _environment(folders: list[Path], model: str, now: datetime) -> str:
    lines = ["# Environment", "<env>"]
    lines.append("Workspace folders: " + ", ".join(str(f) for f in folders))
    lines.append(f"Platform: {platform.system().lower() or 'unknown'}")
    lines.append(f"OS version: {platform.platform(terse=True)}")
    lines.append(f"Today's date: {now.date().isoformat()}")
    lines.append(f"Model: {model}")
    lines.append("</env>")
    for folder in folders[:3]:
        summary = git_summary(folder)
        label = f"Git status of {folder}" if len(folders) > 1 else "Git status"
        if summary is None:
            lines.append(f"{label}: not a git repository")
        else:
            lines.append(f"{label} (a snapshot from the start of the run):\n{summary}")
    return "\n".join(lines)


def build_system_prompt(
    folders: list[Path],
    *,
    model: str,
    permission_mode: str,
    tool_names: list[str],
    extra: str | None = None,
    now: datetime | None = None,
    memory: list[MemoryFile] | None = None,
    trusted: bool = False,
) -> str:
    """The full system prompt: stable instructions first, then memory, then the environment.

    `memory` defaults to `load_memory` of every folder (deduplicated); `trusted`: the user trusts
    the workspace, so its memory files may import files outside it.
    """
    sections = [CORE_INSTRUCTIONS.rstrip()]
    if tool_names:
        sections.append("# Tools\nAvailable tools: " + ", ".join(tool_names) + ".")
    sections.append(
        f"# Permission mode: {permission_mode}\n"
        + _MODE_NOTES.get(permission_mode, "Some tool calls may need the user's approval.")
    )
    if memory is None:
        memory = []
        seen: set[Path] = set()
        for i, folder in enumerate(folders):
            for f in load_memory(folder, include_user=i == 0, external_imports=trusted):
                if f.path.resolve() not in seen:
                    seen.add(f.path.resolve())
                    memory.append(f)
    if memory:
        sections.append(_render_memory(memory))
    if extra:
        sections.append(extra.strip())
    sections.append(_environment(folders, model, now or datetime.now().astimezone()))
    return "\n\n".join(sections) + "\n"
