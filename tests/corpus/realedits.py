"""A corpus of real edits: the changed files of consecutive releases of real projects.

Two consecutive sdists of a project (fetched once with `pip download --no-deps --no-binary :all:`
into a cache outside the repository: `$CLAW_CORPUS_CACHE`, else `~/.cache/claw-corpus`) give the
file pairs an agent would have to produce. `edit_calls` turns a pair into the tool calls an agent
makes (Claude Code's `Edit`, `MultiEdit`, `Write` inputs), built from a line diff; `apply_calls` is
the reference for what those calls do to a text by the tools' own rules:

- `Edit` / `MultiEdit`: each `old_string` must occur exactly once in the text it applies to (the
  running text, in order); in a file whose dominant line ending is CRLF the strings are matched and
  written with "\\r\\n" (the model writes "\\n"), falling back to the literal strings; in an LF file
  the literal strings are matched first, then their "\\n" forms. An empty `old_string` creates a
  file that does not exist yet.
- `Write`: the content replaces the file; an existing CRLF file keeps "\\r\\n".

Used by tests/unit/test_realedits.py, tests/lsp/test_corpus.py, tests/lsp/test_race.py and the
editor suites.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import os
import random
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Consecutive releases per project (the sdists hold sources, tests and docs).
PROJECTS: dict[str, list[str]] = {
    "click": ["8.1.0", "8.1.1", "8.1.2", "8.1.3", "8.1.4", "8.1.5", "8.1.6", "8.1.7"],
    "attrs": ["21.4.0", "22.1.0", "22.2.0", "23.1.0", "23.2.0"],
    "requests": ["2.27.1", "2.28.0", "2.28.1", "2.28.2", "2.29.0", "2.30.0", "2.31.0"],
}

# A file where more than this share of its lines change is rewritten with Write.
WRITE_SHARE = 0.5

_BREAK = re.compile(r"\r\n|\r|\n")

Call = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class FilePair:
    """One changed text file between two consecutive releases (old == "" for an added file)."""

    project: str
    old_version: str
    new_version: str
    relpath: str
    old: str
    new: str

    @property
    def name(self) -> str:
        """E.g. "click-8.1.6..8.1.7:src/click/core.py"."""
        return f"{self.project}-{self.old_version}..{self.new_version}:{self.relpath}"


# -- the sdists ----------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where sdists are kept: $CLAW_CORPUS_CACHE or ~/.cache/claw-corpus (never in the repo)."""
    configured = os.environ.get("CLAW_CORPUS_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "claw-corpus"


def _find_sdist(folder: Path, project: str, version: str) -> Path | None:
    for name in (project, project.replace("-", "_")):
        for ext in (".tar.gz", ".zip"):
            path = folder / f"{name}-{version}{ext}"
            if path.exists():
                return path
    return None


def sdist(project: str, version: str) -> Path:
    """The sdist of project==version, downloaded into the cache when missing."""
    folder = cache_dir() / "sdists"
    found = _find_sdist(folder, project, version)
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
    subprocess.run([*command, "-d", str(folder), f"{project}=={version}"], check=True)
    found = _find_sdist(folder, project, version)
    if found is None:
        raise FileNotFoundError(f"pip download left no sdist of {project}=={version} in {folder}")
    return found


def _decode(data: bytes) -> str | None:
    """The text of a file, or None when it is binary or not UTF-8 (or starts with a BOM)."""
    if b"\0" in data or data.startswith(b"\xef\xbb\xbf"):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


@functools.cache
def sdist_texts(project: str, version: str) -> dict[str, str]:
    """relpath -> text of every UTF-8 text file in the sdist (the top folder stripped)."""
    path = sdist(project, version)
    files: dict[str, bytes] = {}
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir() and "/" in info.filename:
                    files[info.filename.split("/", 1)[1]] = archive.read(info)
    else:
        with tarfile.open(path) as archive:
            for member in archive.getmembers():
                if member.isfile() and "/" in member.name:
                    handle = archive.extractfile(member)
                    if handle is not None:
                        files[member.name.split("/", 1)[1]] = handle.read()
    texts = {}
    for rel, data in files.items():
        decoded = _decode(data)
        if decoded is not None:
            texts[rel] = decoded
    return texts


@functools.cache
def all_pairs() -> tuple[FilePair, ...]:
    """Every changed or added text file of consecutive releases, in a fixed order."""
    pairs: list[FilePair] = []
    for project, versions in PROJECTS.items():
        for old_version, new_version in itertools.pairwise(versions):
            before = sdist_texts(project, old_version)
            after = sdist_texts(project, new_version)
            for rel in sorted(after):
                old = before.get(rel, "")
                if rel in before and old == after[rel]:
                    continue
                if rel not in before and after[rel] == "":
                    continue
                pairs.append(FilePair(project, old_version, new_version, rel, old, after[rel]))
    return tuple(pairs)


def file_pairs(limit: int | None = None, *, seed: int = 0) -> list[FilePair]:
    """Every file pair (limit None), or a deterministic, varied subset of `limit` pairs.

    The subset mixes projects, sizes and pairs whose changes touch the first or last line (or the
    final newline), picked round-robin from those groups in an order `seed` decides.
    """
    pairs = list(all_pairs())
    if limit is None or limit >= len(pairs):
        return pairs
    rng = random.Random(f"corpus:{seed}")
    groups: dict[tuple[str, bool, int], list[int]] = {}
    for index, pair in enumerate(pairs):
        size = len(pair.new)
        size_class = 0 if size < 2_000 else 1 if size < 20_000 else 2
        groups.setdefault((pair.project, touches_boundary(pair), size_class), []).append(index)
    keys = sorted(groups)
    rng.shuffle(keys)
    for key in keys:
        rng.shuffle(groups[key])
    chosen: list[int] = []
    while len(chosen) < limit:
        for key in keys:
            if groups[key] and len(chosen) < limit:
                chosen.append(groups[key].pop())
    return [pairs[i] for i in sorted(chosen)]


# -- diffs and calls -----------------------------------------------------------------------------


def split_keep(text: str) -> list[str]:
    """Lines with their endings (\\r\\n, \\r or \\n), as LSP counts them."""
    lines: list[str] = []
    start = 0
    for match in _BREAK.finditer(text):
        lines.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


def _hunks(old_lines: list[str], new_lines: list[str]) -> list[tuple[int, int, int, int]]:
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def touches_boundary(pair: FilePair) -> bool:
    """Whether a change touches the file's first or last line (or its final newline)."""
    old_lines, new_lines = split_keep(pair.old), split_keep(pair.new)
    if not old_lines:
        return True
    hunks = _hunks(old_lines, new_lines)
    return bool(hunks) and (hunks[0][0] == 0 or hunks[-1][1] >= len(old_lines))


def newline_of(text: str) -> str:
    """The dominant line ending, as the tools detect it."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf > text.count("\n") - crlf else "\n"


def _to_newline(text: str, newline: str) -> str:
    normalised = text.replace("\r\n", "\n")
    return normalised if newline == "\n" else normalised.replace("\n", newline)


def _find_all(text: str, needle: str) -> list[int]:
    found: list[int] = []
    start = text.find(needle)
    while start != -1:
        found.append(start)
        start = text.find(needle, start + len(needle))
    return found


class CallError(ValueError):
    """A call the tools would refuse (no match, several matches, no change)."""


def _match(text: str, newline: str, old: str, new: str) -> tuple[int, str, str]:
    """Where the tools' rules match `old` in `text`, and the forms of old/new they use."""
    if newline == "\r\n":
        candidates = [(_to_newline(old, "\r\n"), _to_newline(new, "\r\n")), (old, new)]
    else:
        candidates = [(old, new), (_to_newline(old, "\n"), _to_newline(new, "\n"))]
    for old_form, new_form in candidates:
        positions = _find_all(text, old_form)
        if len(positions) == 1:
            return positions[0], old_form, new_form
        if positions:
            raise CallError(f"{len(positions)} matches of old_string")
    raise CallError("old_string not found")


def _replace(text: str, newline: str, old: str, new: str) -> str:
    if old == new:
        raise CallError("old_string and new_string are the same")
    if old == "":
        raise CallError("empty old_string on an existing file")
    start, old_form, new_form = _match(text, newline, old, new)
    return text[:start] + new_form + text[start + len(old_form) :]


def apply_call(text: str, call: Call, *, exists: bool | None = None) -> str:
    """What one call does to `text` (`exists` defaults to: the text is not empty)."""
    name, args = call
    present = bool(text) if exists is None else exists
    if name == "Write":
        content = str(args["content"])
        return _to_newline(content, "\r\n") if present and newline_of(text) == "\r\n" else content
    if name == "Edit":
        edits = [args]
    elif name == "MultiEdit":
        edits = list(args["edits"])
    else:
        raise CallError(f"not an edit tool: {name}")
    if not edits:
        raise CallError("MultiEdit without edits")
    running = text
    todo = edits
    if edits[0]["old_string"] == "" and not present:
        running, todo = edits[0]["new_string"], edits[1:]
        newline = "\n"
    else:
        newline = newline_of(text)
    for op in todo:
        if op.get("replace_all"):
            raise CallError("replace_all is not generated by the corpus")
        running = _replace(running, newline, op["old_string"], op["new_string"])
    return running


def apply_calls(text: str, calls: list[Call]) -> str:
    """The reference: what `calls` do to `text`, in order, by the tools' rules (see the module doc)."""
    exists = bool(text)
    for call in calls:
        text = apply_call(text, call, exists=exists)
        exists = True
    return text


def _model_form(literal: str, newline: str) -> str:
    """How the model writes a literal region: with "\\n" in a CRLF file when that round-trips."""
    if newline == "\r\n":
        plain = literal.replace("\r\n", "\n")
        if _to_newline(plain, "\r\n") == literal:
            return plain
    return literal


def _hunk_edit(
    running: list[str],
    pos: int,
    old_count: int,
    replacement: list[str],
    rng: random.Random,
) -> dict[str, str]:
    """An {old_string, new_string} replacing running[pos:pos+old_count] by `replacement`.

    Context lines are added (after first, then before, alternately) until the old_string matches
    exactly the intended place by the tools' rules.
    """
    text = "".join(running)
    newline = newline_of(text)
    target = "".join(running[:pos] + replacement + running[pos + old_count :])
    before = after = 0
    if old_count == 0 or rng.random() < 0.3:
        after = 1 if pos < len(running) else 0
        before = 0 if after else 1
    strip_end = rng.random() < 0.4
    turn = 0
    while True:
        lo, hi = max(pos - before, 0), min(pos + old_count + after, len(running))
        old_lit = "".join(running[lo:hi])
        new_lit = "".join(running[lo:pos] + replacement + running[pos + old_count : hi])
        old_s, new_s = _model_form(old_lit, newline), _model_form(new_lit, newline)
        if strip_end and old_s.endswith("\n") and new_s.endswith("\n") and len(old_s) > 1:
            old_s, new_s = old_s[:-1], new_s[:-1]
            if old_s.endswith("\r") and new_s.endswith("\r"):
                old_s, new_s = old_s[:-1], new_s[:-1]
        if old_s and old_s != new_s:
            try:
                if _replace(text, newline, old_s, new_s) == target:
                    return {"old_string": old_s, "new_string": new_s}
            except CallError:
                pass
        if lo == 0 and hi == len(running):
            if strip_end:
                strip_end, before, after = False, 0, 0
                continue
            raise CallError("no unique old_string for a hunk")
        grow_after = (turn % 2 == 0 and hi < len(running)) or lo == 0
        if grow_after:
            after += 1
        else:
            before += 1
        turn += 1


def edit_calls(pair: FilePair, file_path: str, *, seed: int = 0) -> list[Call]:
    """The Edit / MultiEdit / Write calls that turn pair.old into pair.new (seed picks the mix)."""
    rng = random.Random(f"calls:{seed}:{pair.name}")
    if pair.old == "":
        return [("Write", {"file_path": file_path, "content": pair.new})]
    old_lines, new_lines = split_keep(pair.old), split_keep(pair.new)
    hunks = _hunks(old_lines, new_lines)
    changed = sum(max(i2 - i1, j2 - j1) for i1, i2, j1, j2 in hunks)
    content = _model_form(pair.new, newline_of(pair.old))
    write: list[Call] = [("Write", {"file_path": file_path, "content": content})]
    share = changed / max(len(old_lines), len(new_lines), 1)
    if share > WRITE_SHARE and apply_calls(pair.old, write) == pair.new:
        return write
    # Each hunk becomes one edit, computed on the running text (earlier hunks applied).
    edits: list[tuple[bool, dict[str, str]]] = []
    for i1, i2, j1, j2 in hunks:
        running = new_lines[:j1] + old_lines[i1:]
        edit = _hunk_edit(running, j1, i2 - i1, new_lines[j1:j2], rng)
        boundary = i1 == 0 or i2 >= len(old_lines)
        edits.append((boundary, edit))
    calls: list[Call] = []
    group: list[dict[str, str]] = []
    group_size = rng.choice([0, 2, 3, 5])  # 0: every hunk its own Edit

    def flush() -> None:
        if len(group) == 1:
            calls.append(("Edit", {"file_path": file_path, **group[0]}))
        elif group:
            calls.append(("MultiEdit", {"file_path": file_path, "edits": list(group)}))
        group.clear()

    for boundary, edit in edits:
        if boundary or group_size == 0:
            flush()
            calls.append(("Edit", {"file_path": file_path, **edit}))
            continue
        group.append(edit)
        if len(group) >= group_size:
            flush()
    flush()
    if apply_calls(pair.old, calls) == pair.new:
        return calls
    if apply_calls(pair.old, write) == pair.new:
        return write
    raise CallError(f"{pair.name}: no calls give the new text")


def call_span(text: str, call: Call) -> tuple[int, int]:
    """The part of `text` a call's old_strings cover (start, end); all of it for a Write.

    For a MultiEdit the spans of its edits (each matched in the running text) are mapped back to
    `text` through the length changes of the edits before them.
    """
    name, args = call
    if name == "Write" or not text:
        return 0, len(text)
    edits = list(args["edits"]) if name == "MultiEdit" else [args]
    newline = newline_of(text)
    running, shift = text, 0
    lo, hi = len(text), 0
    for op in edits:
        start, old_form, new_form = _match(running, newline, op["old_string"], op["new_string"])
        lo = min(lo, max(start - shift, 0))
        hi = max(hi, min(start - shift + len(old_form), len(text)))
        running = running[:start] + new_form + running[start + len(old_form) :]
        shift += len(new_form) - len(old_form)
    return lo, max(lo, hi)


def variant(pair: FilePair, kind: str) -> FilePair:
    """A derived pair for what the releases lack: "crlf" (CRLF line endings in both texts) or
    "astral" (every "a" written as the non-BMP "𝄞", so positions differ in utf-8/16/32).

    The project is named "<project>+<kind>", so the pair's name says it is derived.
    """
    if kind == "crlf":
        old = pair.old.replace("\r\n", "\n").replace("\n", "\r\n")
        new = pair.new.replace("\r\n", "\n").replace("\n", "\r\n")
    elif kind == "astral":
        old, new = pair.old.replace("a", "𝄞"), pair.new.replace("a", "𝄞")
    else:
        raise ValueError(f"unknown variant {kind!r}")
    return FilePair(f"{pair.project}+{kind}", pair.old_version, pair.new_version, pair.relpath, old, new)


def variants(limit: int, *, seed: int = 0) -> list[FilePair]:
    """`limit` CRLF and `limit` astral variants of a varied subset of the corpus."""
    base = file_pairs(limit, seed=seed + 1000)
    return [variant(p, "crlf") for p in base] + [variant(p, "astral") for p in base]
