"""Markdown files with YAML frontmatter: Claude Code's format for agents, skills and commands.

    ---
    name: reviewer
    description: Reviews a diff
    tools: Read, Grep
    ---
    The body (the agent's system prompt, the skill's instructions, the command's template).

`parse` returns the frontmatter as a dict and the body; a file without frontmatter is all body.
Malformed YAML raises `FrontmatterError` with the line, so the loader can warn and skip the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

_FENCE = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE)
MAX_FILE_BYTES = 256 * 1024


class FrontmatterError(ValueError):
    """The frontmatter is not a YAML mapping."""


def parse(text: str) -> tuple[dict[str, Any], str]:
    """The frontmatter mapping and the body of a Markdown file."""
    text = text.removeprefix("\ufeff")
    m = _FENCE.match(text)
    if m is None:
        return {}, text
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontmatterError(f"bad YAML frontmatter{where}: {problem}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontmatterError("the frontmatter is not a mapping of keys to values")
    return {str(k): v for k, v in data.items()}, text[m.end() :]


def read(path: Path) -> tuple[dict[str, Any], str]:
    """`parse` of a file (UTF-8, at most MAX_FILE_BYTES)."""
    with path.open("rb") as f:
        raw = f.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise FrontmatterError(f"larger than {MAX_FILE_BYTES // 1024} KiB")
    return parse(raw.decode("utf-8", errors="replace"))


def names(value: Any) -> list[str] | None:
    """A tool list as Claude Code writes it: "Read, Grep", "Read Grep" or a YAML list (None: absent).

    A `Bash(git:*)`-style entry stays whole (its parentheses may hold spaces and commas)."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = re.findall(r"[^\s,()]+(?:\([^)]*\))?", str(value))
    return [i.strip() for i in items if i.strip()]
