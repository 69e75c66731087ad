"""File tools: Read, Write, Edit, MultiEdit (Claude Code's names, schemas and preconditions).

Every read goes through the workspace view (editor buffer first, then disk); every write is a
`FileChange` handed to `ctx.workspace.apply`, computed against a fresh read of the file that must
equal what the model last read. Edits written with "\\n" land in the file's own line-ending style.
"""

from __future__ import annotations

import asyncio
import base64
import difflib
import itertools
import os
import re
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from claw_lsp.core.events import FileDiff, ToolKind
from claw_lsp.core.files import ApplyResult, ChangedRegion, FileChange, FileSnapshot
from claw_lsp.core.messages import ImageBlock, ImageSource
from claw_lsp.core.tools import ToolArgs, ToolContext, ToolError, ToolOutput
from claw_lsp.workspace import textio
from claw_lsp.workspace.view import BinaryFileError, FileTooLargeError, PathOutsideWorkspace

MAX_LINES = 2000
# Read shows these as image blocks. The API refuses an image over 5 MB base64-encoded, so the
# file may hold at most 3/4 of that; larger ones are refused with a hint (no resizing here).
IMAGE_MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
MAX_IMAGE_BASE64 = 5 * 1024 * 1024
MAX_IMAGE_BYTES = MAX_IMAGE_BASE64 // 4 * 3
MAX_NOTEBOOK_CHARS = 100_000  # a notebook shown larger than this is refused with a jq hint
MAX_LINE_CHARS = 2000
# Lines of context shown around an edit in the confirmation snippet, and the snippet's cap.
SNIPPET_CONTEXT = 4
SNIPPET_MAX_LINES = 40
_LINE_PREFIX = re.compile(r"^\s*\d+\t", re.MULTILINE)


# -- shared helpers ----------------------------------------------------------------------------


def absolute_path(raw: str, ctx: ToolContext, what: str = "file_path", args: ToolArgs | None = None) -> Path:
    """The resolved path of an absolute path argument; a ToolError (with a hint) otherwise. With
    `args`, resolved once per call: the permission check and the tool see the same path."""
    if args is not None:
        return args.resolved_once(f"{what}\0{raw}", lambda: absolute_path(raw, ctx, what))
    if not raw:
        raise ToolError(f"{what} is empty: give the absolute path of a file in the workspace.")
    if raw.startswith("~"):
        raise ToolError(
            f"{what} {raw!r} starts with '~', which is not expanded: give the full absolute path."
        )
    if not Path(raw).is_absolute():
        suggestion = ctx.workspace.resolve(raw, ctx.state.cwd)
        raise ToolError(
            f"{what} must be an absolute path, but {raw!r} is relative. Did you mean {suggestion}?"
        )
    return ctx.workspace.resolve(raw)


def display_path(raw: str, ctx: ToolContext) -> str:
    """A short workspace-relative form of a path argument, for titles."""
    if not raw:
        return ""
    return ctx.workspace.relative(ctx.workspace.resolve(raw, ctx.state.cwd))


def _similar_names(path: Path) -> str:
    parent = path.parent
    if not parent.is_dir():
        return f" The directory {parent} does not exist either."
    try:
        names = [p.name for p in parent.iterdir()]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(str(parent / name) for name in close) + "?"


async def not_found_message(path: Path) -> str:
    """'File does not exist' with the closest names in its directory."""
    hint = await asyncio.to_thread(_similar_names, path)
    return f"File does not exist: {path}.{hint}"


def format_numbered(lines: list[str], first: int) -> tuple[str, int]:
    """`cat -n` style text (right-aligned number, tab, line) and how many lines were cut."""
    if not lines or max(map(len, lines)) <= MAX_LINE_CHARS:  # the common case, formatted in C
        return "\n".join(map("{:>6}\t{}".format, itertools.count(first), lines)), 0
    out: list[str] = []
    cut = 0
    for number, line in enumerate(lines, start=first):
        shown = line
        if len(line) > MAX_LINE_CHARS:
            cut += 1
            extra = len(line) - MAX_LINE_CHARS
            shown = f"{line[:MAX_LINE_CHARS]}... [line truncated: {extra} more characters]"
        out.append(f"{number:>6}\t{shown}")
    return "\n".join(out), cut


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _find_all(text: str, needle: str) -> list[int]:
    found: list[int] = []
    start = text.find(needle)
    while start != -1:
        found.append(start)
        start = text.find(needle, start + len(needle))
    return found


def _list_lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:20])
    return shown + (f" and {len(numbers) - 20} more" if len(numbers) > 20 else "")


def _near_misses(text: str, old: str) -> str:
    """Where the first line of old_string appears when indentation is ignored."""
    first = next((line.strip() for line in old.split("\n") if line.strip()), "")
    if not first:
        return ""
    hits = [i + 1 for i, line in enumerate(textio.split_lines(text)) if first in line.strip()]
    if not hits:
        return ""
    return (
        f" Its first line appears (maybe with different whitespace or following lines) at line(s) "
        f"{_list_lines(hits)}; Read those lines again and copy the text exactly."
    )


def replace_text(text: str, newline: str, old: str, new: str, replace_all: bool) -> str:
    """`text` with `old` replaced by `new` (exactly once unless replace_all); ToolError otherwise.

    The model writes "\\n": in a CRLF file old/new are matched and written with "\\r\\n" (falling
    back to the literal strings, for files with mixed endings).
    """
    return replace_spans(text, newline, old, new, replace_all)[0]


def replace_spans(text: str, newline: str, old: str, new: str, replace_all: bool) -> tuple[str, int, int]:
    """`replace_text`, and where the result can differ from `text`: not in the first `start`
    characters nor in the last `suffix` of either (the first match's offset, the length after the
    last)."""
    if newline == "\r\n":
        candidates = [(textio.to_newline(old, "\r\n"), textio.to_newline(new, "\r\n")), (old, new)]
    else:
        candidates = [(old, new), (textio.to_newline(old, "\n"), textio.to_newline(new, "\n"))]
    positions: list[int] = []
    old_form, new_form = candidates[0]
    for old_form, new_form in candidates:  # noqa: B007 - the matching pair is used below
        positions = _find_all(text, old_form)
        if positions:
            break
    if not positions:
        hint = _near_misses(text, old)
        if _LINE_PREFIX.search(old):
            hint += " Do not include the line-number prefixes that Read shows."
        raise ToolError(
            "String to replace not found in file (0 matches). old_string must match the file "
            f"exactly, including whitespace and indentation.{hint}"
        )
    if len(positions) > 1 and not replace_all:
        lines = [_line_of(text, p) for p in positions]
        raise ToolError(
            f"Found {len(positions)} matches of old_string, at lines {_list_lines(lines)}, but "
            "replace_all is false. Add more surrounding context to make it unique, or set "
            "replace_all to true to replace every occurrence."
        )
    suffix = len(text) - positions[-1] - len(old_form)
    if replace_all:
        return text.replace(old_form, new_form), positions[0], suffix
    # The one match is where it was found: joined around it (0.2 ms for 6 MB, where replace()
    # searches again and takes 1.4 ms; with the allocator tuned, see core/startup.py, the slices
    # reuse freed memory instead of page-faulting theirs in).
    at = positions[0]
    return "".join((text[:at], new_form, text[at + len(old_form) :])), at, suffix


def changed_region(base: str, start: int, suffix: int) -> ChangedRegion | None:
    """The `ChangedRegion` of a change to `base` that leaves its first `start` characters and its
    last `suffix` alone: from the start of the line holding `start`, with that line's number (one
    count of line breaks, shared by the edits sent and the snippet shown). None when that line
    follows a lone "\\r" (a "\\n" inserted after it would join the two into one line break)."""
    line_begin = textio.line_start(base, start)
    if line_begin > 0 and base[line_begin - 1] == "\r":
        return None
    return ChangedRegion(line_begin, suffix, textio.count_breaks(base, line_begin))


def edit_snippet(before: str, after: str, region: ChangedRegion | None = None) -> str:
    """`cat -n` lines of `after` around the region that differs from `before` (in a big file this
    costs the comparison and the lines shown, not a split of the whole text; with the `region`
    the change was made in, only that region is compared and no line breaks are counted before
    it)."""
    if region is None or not region.holds_for(before, after):
        region = ChangedRegion(0, 0, 0)
    same_start = region.start
    prefix, suffix = textio.differing_window(before, after, same=(same_start, region.suffix))
    # Lines by LSP's rules (a lone "\r" ends one too): the line holding the first changed
    # character and the one holding the last. (`same_start` starts a line in both texts.)
    pos = textio.line_start(after, prefix)
    first = region.line + textio.count_breaks(after, pos, same_start)
    change_end = max(prefix, len(after) - suffix)
    last_start = textio.line_start(after, change_end - 1) if change_end > prefix else pos
    last = first + textio.count_breaks(after, last_start, pos)
    start = max(first - SNIPPET_CONTEXT, 0)
    end = min(last + SNIPPET_CONTEXT + 1, start + SNIPPET_MAX_LINES)
    for _ in range(first - start):  # back from line `first` to line `start`
        pos = textio.line_start(after, pos - 1)
    body, _ = format_numbered(textio.line_window(after, 0, end - start, pos), start + 1)
    return body


async def current_for_write(path: Path, ctx: ToolContext) -> FileSnapshot:
    """The text the model last saw of a file it read in this session (the base of its change).

    The file must still exist and be editable. When it changed since (the user typed, a command
    rewrote it), the change is still computed against what the model saw: the applier merges it
    three-way with the newer text, or refuses it when the two overlap.
    """
    seen = ctx.state.read_files.get(path)
    if seen is None:
        if not await ctx.workspace.exists(path):
            raise ToolError(await not_found_message(path))
        raise ToolError(f"File has not been read yet: Read {path} first before writing to it.")
    try:
        current = await ctx.workspace.read(path)
    except FileNotFoundError:
        raise ToolError(f"{path} no longer exists; it was deleted after you read it.") from None
    except (BinaryFileError, FileTooLargeError, IsADirectoryError) as exc:
        raise ToolError(f"Cannot edit {path}: {exc}") from None
    if current.text == seen.text:  # (a compare, not two sha256 of the whole text)
        return current
    return FileSnapshot(
        path=path,
        text=seen.text,
        version=seen.version,
        mtime_ns=seen.mtime_ns,
        encoding=current.encoding,
        newline=seen.newline,
        from_buffer=current.from_buffer,
    )


async def apply_change(change: FileChange, ctx: ToolContext) -> ApplyResult:
    """Hand a change to the workspace; a refused path becomes a ToolError."""
    try:
        return await ctx.workspace.apply(change)
    except PathOutsideWorkspace as exc:
        raise ToolError(str(exc)) from None


def record_written(path: Path, text: str, like: FileSnapshot | None, ctx: ToolContext) -> None:
    """Remember the text now in the file as what the model has seen, and that it touched it."""
    ctx.state.read_files[path] = FileSnapshot(
        path=path,
        text=text,
        version=None,
        mtime_ns=None,
        encoding=like.encoding if like else "utf-8",
        newline=textio.detect_newline(text),
        from_buffer=like.from_buffer if like else False,
    )
    ctx.state.touched.add(path)


def check_write(path: Path, ctx: ToolContext) -> None:
    """Refuse early (before any read) a path the workspace will not write."""
    try:
        ctx.workspace.check_write(path)
    except PathOutsideWorkspace as exc:
        raise ToolError(str(exc)) from None


def _with_message(text: str, result: ApplyResult) -> str:
    return f"{text}\n\n{result.message}" if result.message else text


# -- Read --------------------------------------------------------------------------------------


def sniff_image(head: bytes) -> str | None:
    """The media type the file's first bytes announce (PNG, JPEG, GIF, WebP), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _read_image_bytes(path: Path, roots: list[Path]) -> tuple[bytes, int]:
    """At most MAX_IMAGE_BYTES + 1 bytes of the file, and its size."""
    with textio.open_regular(path, roots) as handle:
        size = os.fstat(handle.fileno()).st_size
        return handle.read(MAX_IMAGE_BYTES + 1), size


async def _read_image(path: Path, ctx: ToolContext) -> ToolOutput:
    """An image file as an image block (its type judged by its bytes, not its name)."""
    data, size = await asyncio.to_thread(_read_image_bytes, path, list(ctx.workspace.folders))
    if len(data) > MAX_IMAGE_BYTES:
        raise ToolError(
            f"Cannot read {path}: the image is {size} bytes, more than the {MAX_IMAGE_BYTES} bytes "
            f"(5 MB once base64-encoded) the model accepts. Make a smaller copy first, e.g. with "
            f"Bash: `convert {path} -resize 50% /tmp/smaller{path.suffix}`."
        )
    if not data:
        return ToolOutput(f"(The file {path} exists but is empty.)")
    media_type = sniff_image(data[:16])
    if media_type is None:
        raise ToolError(
            f"Cannot read {path}: its content is not a PNG, JPEG, GIF or WebP image despite its name."
        )
    kind = media_type.split("/")[1].upper()
    image = ImageBlock(
        source=ImageSource(media_type=media_type, data=base64.b64encode(data).decode("ascii"))  # type: ignore[arg-type]
    )
    return ToolOutput(f"Image file {path} ({kind}, {len(data)} bytes), shown below.", images=[image])


async def _read_notebook(path: Path, ctx: ToolContext) -> ToolOutput | None:
    """A notebook's cells and outputs; None when the file is not notebook JSON (read as text)."""
    from claw_lsp.tools.notebook import NotebookError, parse_notebook, render_notebook

    snapshot = await ctx.workspace.read(path)
    try:
        notebook = parse_notebook(snapshot.text, path)
    except NotebookError:
        return None
    body, images = render_notebook(notebook)
    if len(body) > MAX_NOTEBOOK_CHARS:
        raise ToolError(
            f"Notebook content ({len(body)} characters) exceeds the {MAX_NOTEBOOK_CHARS} characters "
            f"Read shows. Use Bash with jq to read parts of it, e.g. `jq '.cells[:10]' {path}` or "
            f"`jq '.cells[3].source' {path}`."
        )
    shown: list[ImageBlock] = []
    total = 0
    for image in images:
        total += len(image.source.data)
        if total > MAX_IMAGE_BASE64:
            body += f"\n\n({len(images) - len(shown)} image output(s) left out: too large together.)"
            break
        shown.append(image)
    ctx.state.read_files[path] = snapshot
    if not body:
        return ToolOutput(f"(The notebook {path} has no cells.)")
    return ToolOutput(body, images=shown)


class ReadInput(ToolArgs):
    """Read's arguments."""

    file_path: str = Field(description="The absolute path to the file to read")
    offset: int | None = Field(
        default=None,
        ge=0,
        description="The line number to start reading from. Only provide if the file is too "
        "large to read at once",
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        description="The number of lines to read. Only provide if the file is too large to read at once.",
    )


class Read:
    """Read a text file with line numbers."""

    name: ClassVar[str] = "Read"
    description: ClassVar[str] = (
        "Reads a file from the workspace. The editor's unsaved buffer is read when the file is "
        "open there.\n\n"
        "Usage:\n"
        "- The file_path parameter must be an absolute path, not a relative path\n"
        f"- By default, it reads up to {MAX_LINES} lines starting from the beginning of the file\n"
        "- You can optionally specify a line offset and limit (especially handy for long files), "
        "but it's recommended to read the whole file by not providing these parameters\n"
        f"- Any lines longer than {MAX_LINE_CHARS} characters will be truncated\n"
        "- Results are returned using cat -n format, with line numbers starting at 1\n"
        "- Images (PNG, JPG, GIF, WebP, up to 3.75 MB) are shown to you as images\n"
        "- Jupyter notebooks (.ipynb) are shown as their cells with their outputs\n"
        "- Other binary files cannot be read; use LS to list directories\n"
        "- You must Read a file before you Edit or overwrite it, and Read it again if it changed\n"
        "- It is always better to speculatively read multiple potentially useful files in a batch"
    )
    input_model: ClassVar[type[BaseModel]] = ReadInput
    kind: ClassVar[ToolKind] = "read"
    read_only: ClassVar[bool] = True
    reviewable: ClassVar[bool] = False

    def title(self, args: ReadInput, ctx: ToolContext) -> str:
        """The progress title, e.g. "Reading src/app.py"."""
        return f"Reading {display_path(args.file_path, ctx)}"

    def locations(self, args: ReadInput, ctx: ToolContext) -> list[Path]:
        """The file read."""
        return [absolute_path(args.file_path, ctx, args=args)]

    def subject(self, args: ReadInput, ctx: ToolContext) -> str | None:
        """The absolute path read."""
        return str(absolute_path(args.file_path, ctx, args=args))

    async def run(self, args: ReadInput, ctx: ToolContext) -> ToolOutput:
        """Read the requested lines and record what the model saw."""
        path = absolute_path(args.file_path, ctx, args=args)
        first = max(args.offset or 1, 1)
        limit = args.limit or MAX_LINES
        suffix = path.suffix.lower()
        try:
            if suffix in IMAGE_MEDIA_TYPES:
                return await _read_image(path, ctx)
            if suffix == ".ipynb":
                shown = await _read_notebook(path, ctx)
                if shown is not None:
                    return shown
            lines, total, snapshot = await ctx.workspace.read_lines(path, first, limit)
        except FileNotFoundError:
            raise ToolError(await not_found_message(path)) from None
        except IsADirectoryError:
            raise ToolError(f"{path} is a directory, not a file. Use LS to list it.") from None
        except BinaryFileError:
            raise ToolError(
                f"Cannot read {path}: it appears to be a binary file. Read shows text files only; "
                "use Bash (e.g. `file`, `xxd | head`) to inspect binary data."
            ) from None
        except (FileTooLargeError, OSError) as exc:
            raise ToolError(f"Cannot read {path}: {exc}") from None
        if snapshot is not None:
            ctx.state.read_files[path] = snapshot
        if total == 0:
            return ToolOutput(f"(The file {path} exists but is empty.)")
        if not lines:
            return ToolOutput(
                f"(The file {path} has {total} lines; offset {first} is past its end.)",
                is_error=True,
            )
        body, cut = format_numbered(lines, first)
        last = first + len(lines) - 1
        notes: list[str] = []
        if total is None:
            notes.append(
                f"Showing lines {first}-{last}; the file is large and its length was not counted. "
                f"Use offset={last + 1} to read more."
            )
        elif first > 1 or last < total:
            more = f" Use offset={last + 1} to read more." if last < total else ""
            notes.append(f"Showing lines {first}-{last} of {total}.{more}")
        if cut:
            notes.append(f"{cut} line(s) longer than {MAX_LINE_CHARS} characters were truncated.")
        if snapshot is None:
            notes.append(
                "This file is too large to load whole, so it is read page by page; Edit and Write "
                "cannot change it (use Bash for that)."
            )
        if notes:
            body += "\n\n(" + " ".join(notes) + ")"
        return ToolOutput(body)


# -- Edit / MultiEdit --------------------------------------------------------------------------


class EditInput(ToolArgs):
    """Edit's arguments."""

    file_path: str = Field(description="The absolute path to the file to modify")
    old_string: str = Field(description="The text to replace")
    new_string: str = Field(description="The text to replace it with (must be different from old_string)")
    replace_all: bool = Field(
        default=False, description="Replace all occurrences of old_string (default false)"
    )


class EditOperation(BaseModel):
    """One edit of a MultiEdit."""

    old_string: str = Field(description="The text to replace")
    new_string: str = Field(description="The text to replace it with")
    replace_all: bool = Field(
        default=False, description="Replace all occurrences of old_string (default false)."
    )


class MultiEditInput(ToolArgs):
    """MultiEdit's arguments."""

    file_path: str = Field(description="The absolute path to the file to modify")
    edits: list[EditOperation] = Field(
        min_length=1, description="Array of edit operations to perform sequentially on the file"
    )


async def _edit(
    tool: str, raw_path: str, edits: list[EditOperation], ctx: ToolContext, args: ToolArgs
) -> ToolOutput:
    """Apply edits in order to the running text of one file, as one change (all or none)."""
    path = absolute_path(raw_path, ctx, args=args)
    check_write(path, ctx)
    for i, op in enumerate(edits):
        if op.old_string == op.new_string:
            which = f"Edit {i + 1}: " if len(edits) > 1 else ""
            raise ToolError(f"{which}No changes to make: old_string and new_string are exactly the same.")
    creating = edits[0].old_string == "" and not await ctx.workspace.exists(path)
    current: FileSnapshot | None = None
    if creating:
        before, newline, todo = "", "\n", edits[1:]
        running = edits[0].new_string
    else:
        current = await current_for_write(path, ctx)
        before, newline, todo = current.text, current.newline, edits
        running = before
    offset = len(edits) - len(todo)
    # Where the running text can differ from `before`: not in its first `same_start` characters
    # nor in its last `same_suffix` (each replacement narrows both to what it left alone).
    same_start, same_suffix = len(before), len(before)
    for i, op in enumerate(todo, start=offset):
        try:
            if op.old_string == "":
                raise ToolError(
                    "old_string is empty but the file exists. Give the text to replace, or use "
                    "Write to replace the whole file."
                )
            running, at, suffix = replace_spans(
                running, newline, op.old_string, op.new_string, op.replace_all
            )
            same_start, same_suffix = min(same_start, at), min(same_suffix, suffix)
        except ToolError as exc:
            if len(edits) == 1:
                raise
            raise ToolError(
                f"Edit {i + 1} of {len(edits)} failed: {exc} None of the edits were applied."
            ) from None
    rel = ctx.workspace.relative(path)
    region = None if creating else changed_region(before, same_start, same_suffix)
    change = FileChange(
        kind="create" if creating else "modify",
        path=path,
        new_text=running,
        base=current,
        tool_call_id=ctx.tool_call_id,
        preapproved=ctx.preapproved,
        description=f"{tool} {rel}",
        region=region,
    )
    result = await apply_change(change, ctx)
    if not result.applied:
        message = result.message or f"The change to {path} was not applied."
        return ToolOutput(message, is_error=True, review=result.review)
    final = result.final_text if result.final_text is not None else running
    record_written(path, result.seen_text if result.seen_text is not None else final, current, ctx)
    if creating:
        text = f"File created successfully at: {path}"
    else:
        snippet = edit_snippet(before, final, region if final == running else None)
        text = (
            f"The file {path} has been updated. Here's the result of running `cat -n` on a "
            f"snippet of the edited file:\n{snippet}"
        )
    return edit_output(_with_message(text, result), path, None if creating else before, final, result)


def edit_output(text: str, path: Path, before: str | None, final: str, result: ApplyResult) -> ToolOutput:
    """The tool_result of an applied change, with the diff that landed and the user's review."""
    old = result.old_text if result.old_text is not None else before
    diffs = [] if old == final else [FileDiff(path=str(path), old_text=old, new_text=final)]
    return ToolOutput(text, diffs=diffs, review=result.review)


class Edit:
    """Exact string replacement in one file."""

    name: ClassVar[str] = "Edit"
    description: ClassVar[str] = (
        "Performs exact string replacements in files.\n\n"
        "Usage:\n"
        "- You must use your Read tool at least once in the conversation before editing. This "
        "tool will error if you attempt an edit without reading the file, or if the file changed "
        "since you read it (Read it again then).\n"
        "- When editing text from Read tool output, preserve the exact indentation (tabs/spaces) "
        "as it appears AFTER the line number prefix. The line number prefix format is: spaces + "
        "line number + tab. Everything after that tab is the actual file content to match. Never "
        "include any part of the line number prefix in old_string or new_string.\n"
        "- Write line endings as \\n; files with CRLF endings keep them.\n"
        "- The edit will FAIL if old_string is not unique in the file. Either provide a larger "
        "string with more surrounding context to make it unique or use replace_all to change "
        "every instance of old_string.\n"
        "- Use replace_all for replacing and renaming strings across the file.\n"
        "- An empty old_string creates a new file holding new_string (the file must not exist)."
    )
    input_model: ClassVar[type[BaseModel]] = EditInput
    kind: ClassVar[ToolKind] = "edit"
    read_only: ClassVar[bool] = False
    reviewable: ClassVar[bool] = True

    def title(self, args: EditInput, ctx: ToolContext) -> str:
        """The progress title, e.g. "Editing src/app.py"."""
        return f"Editing {display_path(args.file_path, ctx)}"

    def locations(self, args: EditInput, ctx: ToolContext) -> list[Path]:
        """The file changed."""
        return [absolute_path(args.file_path, ctx, args=args)]

    def subject(self, args: EditInput, ctx: ToolContext) -> str | None:
        """The absolute path edited."""
        return str(absolute_path(args.file_path, ctx, args=args))

    async def run(self, args: EditInput, ctx: ToolContext) -> ToolOutput:
        """Replace old_string by new_string and apply the change."""
        op = EditOperation(
            old_string=args.old_string, new_string=args.new_string, replace_all=args.replace_all
        )
        return await _edit(self.name, args.file_path, [op], ctx, args)


class MultiEdit:
    """Several exact replacements in one file, applied together or not at all."""

    name: ClassVar[str] = "MultiEdit"
    description: ClassVar[str] = (
        "Makes multiple edits to a single file in one operation. Prefer it over Edit when you "
        "need several changes in the same file.\n\n"
        "- The same rules as Edit apply to each edit (Read the file first; old_string must match "
        "exactly and be unique unless replace_all is true; never include line-number prefixes).\n"
        "- Edits are applied in sequence, each to the result of the previous one, so plan them so "
        "an earlier edit does not change the text a later one looks for.\n"
        "- The operation is atomic: if any edit fails, none of them are applied.\n"
        "- To create a new file, give a first edit with an empty old_string and the file's "
        "contents as new_string."
    )
    input_model: ClassVar[type[BaseModel]] = MultiEditInput
    kind: ClassVar[ToolKind] = "edit"
    read_only: ClassVar[bool] = False
    reviewable: ClassVar[bool] = True

    def title(self, args: MultiEditInput, ctx: ToolContext) -> str:
        """The progress title, e.g. "Editing src/app.py (3 edits)"."""
        return f"Editing {display_path(args.file_path, ctx)} ({len(args.edits)} edits)"

    def locations(self, args: MultiEditInput, ctx: ToolContext) -> list[Path]:
        """The file changed."""
        return [absolute_path(args.file_path, ctx, args=args)]

    def subject(self, args: MultiEditInput, ctx: ToolContext) -> str | None:
        """The absolute path edited."""
        return str(absolute_path(args.file_path, ctx, args=args))

    async def run(self, args: MultiEditInput, ctx: ToolContext) -> ToolOutput:
        """Apply every edit to the running text, then the whole change at once."""
        return await _edit(self.name, args.file_path, args.edits, ctx, args)


# -- Write -------------------------------------------------------------------------------------


class WriteInput(ToolArgs):
    """Write's arguments."""

    file_path: str = Field(
        description="The absolute path to the file to write (must be absolute, not relative)"
    )
    content: str = Field(description="The content to write to the file")


class Write:
    """Create a file or replace its whole content."""

    name: ClassVar[str] = "Write"
    description: ClassVar[str] = (
        "Writes a file to the workspace.\n\n"
        "Usage:\n"
        "- This tool will overwrite the existing file if there is one at the provided path.\n"
        "- If this is an existing file, you MUST use the Read tool first to read the file's "
        "contents. This tool will fail if you did not read the file first.\n"
        "- Missing parent directories are created.\n"
        "- ALWAYS prefer editing existing files with Edit/MultiEdit. NEVER write new files unless "
        "they're needed for the task.\n"
        "- NEVER proactively create documentation files (*.md) or README files unless asked."
    )
    input_model: ClassVar[type[BaseModel]] = WriteInput
    kind: ClassVar[ToolKind] = "edit"
    read_only: ClassVar[bool] = False
    reviewable: ClassVar[bool] = True

    def title(self, args: WriteInput, ctx: ToolContext) -> str:
        """The progress title, e.g. "Writing src/app.py"."""
        return f"Writing {display_path(args.file_path, ctx)}"

    def locations(self, args: WriteInput, ctx: ToolContext) -> list[Path]:
        """The file changed."""
        return [absolute_path(args.file_path, ctx, args=args)]

    def subject(self, args: WriteInput, ctx: ToolContext) -> str | None:
        """The absolute path written."""
        return str(absolute_path(args.file_path, ctx, args=args))

    async def run(self, args: WriteInput, ctx: ToolContext) -> ToolOutput:
        """Create the file, or overwrite it after checking the model read its current text."""
        path = absolute_path(args.file_path, ctx, args=args)
        check_write(path, ctx)
        rel = ctx.workspace.relative(path)
        current: FileSnapshot | None = None
        if await ctx.workspace.exists(path):
            if await asyncio.to_thread(path.is_dir):
                raise ToolError(f"{path} is a directory; give a file path.")
            current = await current_for_write(path, ctx)
            text = args.content
            if current.newline == "\r\n":
                text = textio.to_newline(text, "\r\n")
            change = FileChange(
                kind="modify",
                path=path,
                new_text=text,
                base=current,
                tool_call_id=ctx.tool_call_id,
                preapproved=ctx.preapproved,
                description=f"Write {rel}",
            )
        else:
            text = args.content
            change = FileChange(
                kind="create",
                path=path,
                new_text=text,
                tool_call_id=ctx.tool_call_id,
                preapproved=ctx.preapproved,
                description=f"Create {rel}",
            )
        result = await apply_change(change, ctx)
        if not result.applied:
            return ToolOutput(
                result.message or f"{path} was not written.", is_error=True, review=result.review
            )
        final = result.final_text if result.final_text is not None else text
        record_written(path, result.seen_text if result.seen_text is not None else final, current, ctx)
        before = current.text if current is not None else None
        if current is None:
            message = _with_message(f"File created successfully at: {path}", result)
        else:
            message = _with_message(f"The file {path} has been overwritten.", result)
        return edit_output(message, path, before, final, result)
