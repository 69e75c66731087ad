"""Jupyter notebooks: how Read shows a `.ipynb` file, and the `NotebookEdit` tool.

Read shows a notebook the way Claude Code does: one `<cell id="...">` element per cell (its source,
a `<cell_type>` tag for non-code cells, a `<language>` tag for code in another language than
Python), followed by the cell's outputs (stream text, `text/plain` results, errors with their
traceback; PNG and JPEG outputs as image blocks). A cell without an `id` (nbformat < 4.5) is
called `cell-N` (its 0-based index). Outputs larger than 10,000 characters are replaced by a
hint to read them with Bash and jq.

NotebookEdit (Claude Code's name and schema: `notebook_path`, `cell_id`, `new_source`,
`cell_type`, `edit_mode` replace / insert / delete) changes the notebook's JSON and hands the new
text to the workspace view as one `FileChange`, like Edit: the model must have read the notebook,
the editor reviews the change, and a user's concurrent edit is merged or the change refused.
The file keeps its formatting as far as `json` allows: its indent (Jupyter writes 1), key order,
final newline, line endings and whether sources are stored as a list of lines or one string.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from claw_lsp.core.events import ToolKind
from claw_lsp.core.files import FileChange
from claw_lsp.core.messages import ImageBlock, ImageSource
from claw_lsp.core.tools import ToolArgs, ToolContext, ToolError, ToolOutput
from claw_lsp.tools.files import (
    absolute_path,
    apply_change,
    check_write,
    current_for_write,
    display_path,
    edit_output,
    record_written,
)
from claw_lsp.workspace import textio

LARGE_OUTPUT_THRESHOLD = 10_000  # characters of one cell's outputs shown before the jq hint
# One output's text is cut (head and tail kept) past this many characters.
OUTPUT_TEXT_MAX_CHARS = 30_000
_CELL_INDEX = re.compile(r"^cell-(\d+)$")


class NotebookError(ValueError):
    """The file is not a notebook this module can read or change."""


# -- reading ------------------------------------------------------------------------------------


def parse_notebook(text: str, path: Path) -> dict[str, Any]:
    """The notebook's JSON object; NotebookError when it is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{path} is not valid notebook JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError(f"{path} is not a Jupyter notebook (no 'cells' list).")
    return data


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def _cut(text: str) -> str:
    if len(text) <= OUTPUT_TEXT_MAX_CHARS:
        return text
    half = OUTPUT_TEXT_MAX_CHARS // 2
    return f"{text[:half]}\n... [{len(text) - 2 * half} characters cut] ...\n{text[-half:]}"


def _output(output: Any) -> tuple[str, ImageBlock | None]:
    """One output's text and image (PNG or JPEG), as Claude Code extracts them."""
    if not isinstance(output, dict):
        return "", None
    kind = output.get("output_type")
    if kind == "stream":
        return _cut(_joined(output.get("text"))), None
    if kind in ("execute_result", "display_data"):
        raw_data = output.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        image = None
        png, jpeg = data.get("image/png"), data.get("image/jpeg")
        if isinstance(png, str):
            image = ImageBlock(source=ImageSource(media_type="image/png", data=re.sub(r"\s", "", png)))
        elif isinstance(jpeg, str):
            image = ImageBlock(source=ImageSource(media_type="image/jpeg", data=re.sub(r"\s", "", jpeg)))
        return _cut(_joined(data.get("text/plain"))), image
    if kind == "error":
        traceback = "\n".join(str(line) for line in output.get("traceback") or [])
        return _cut(f"{output.get('ename', '')}: {output.get('evalue', '')}\n{traceback}"), None
    return "", None


def cell_id(cell: dict[str, Any], index: int) -> str:
    """The cell's id, or `cell-N` for a cell without one."""
    value = cell.get("id")
    return value if isinstance(value, str) and value else f"cell-{index}"


def render_notebook(notebook: dict[str, Any]) -> tuple[str, list[ImageBlock]]:
    """The model's view of a notebook: cells with their outputs, and the outputs' images."""
    language = (notebook.get("metadata") or {}).get("language_info", {}).get("name") or "python"
    parts: list[str] = []
    images: list[ImageBlock] = []
    for index, cell in enumerate(notebook["cells"]):
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type", "code")
        ident = cell_id(cell, index)
        meta = ""
        if kind != "code":
            meta += f"<cell_type>{kind}</cell_type>"
        elif language != "python":
            meta += f"<language>{language}</language>"
        parts.append(f'<cell id="{ident}">{meta}{_joined(cell.get("source"))}</cell id="{ident}">')
        if kind != "code" or not cell.get("outputs"):
            continue
        outputs = [_output(o) for o in cell["outputs"]]
        size = sum(len(t) + (len(i.source.data) if i else 0) for t, i in outputs)
        if size > LARGE_OUTPUT_THRESHOLD:
            parts.append(
                "\nOutputs are too large to include. Use Bash with: "
                f"cat <notebook_path> | jq '.cells[{index}].outputs'"
            )
            continue
        for text, image in outputs:
            if text:
                parts.append(f"\n{text}")
            if image is not None:
                images.append(image)
                parts.append(f"\n[image output {len(images)}: attached below]")
    return "\n".join(parts), images


# -- NotebookEdit -------------------------------------------------------------------------------


class NotebookEditInput(ToolArgs):
    """NotebookEdit's arguments (Claude Code's schema)."""

    notebook_path: str = Field(
        description="The absolute path to the Jupyter notebook file to edit (must be absolute, not relative)"
    )
    cell_id: str | None = Field(
        default=None,
        description="The ID of the cell to edit. When inserting a new cell, the new cell will be "
        "inserted after the cell with this ID, or at the beginning if not specified.",
    )
    new_source: str = Field(description="The new source for the cell")
    cell_type: Literal["code", "markdown"] | None = Field(
        default=None,
        description="The type of the cell (code or markdown). If not specified, it defaults to the "
        "current cell type. If using edit_mode=insert, this is required.",
    )
    edit_mode: Literal["replace", "insert", "delete"] | None = Field(
        default=None,
        description="The type of edit to make (replace, insert, delete). Defaults to replace.",
    )


def _find_cell(cells: list[Any], wanted: str) -> int:
    for index, cell in enumerate(cells):
        if isinstance(cell, dict) and cell.get("id") == wanted:
            return index
    m = _CELL_INDEX.match(wanted)
    if m is not None:
        index = int(m.group(1))
        if index < len(cells):
            return index
        raise ToolError(f"Cell with index {index} does not exist in notebook.")
    raise ToolError(f'Cell with ID "{wanted}" not found in notebook.')


def _indent_of(text: str) -> int | None:
    """The indent the notebook's JSON was written with (None: on one line)."""
    m = re.search(r"\n( +)\S", text)
    return len(m.group(1)) if m else None


def _source_value(text: str, as_lines: bool) -> str | list[str]:
    """A cell source in the notebook's style: a list of lines (Jupyter's) or one string."""
    return text.splitlines(keepends=True) if as_lines else text


def _uses_line_lists(cells: list[Any]) -> bool:
    sources = [c.get("source") for c in cells if isinstance(c, dict)]
    return not sources or any(isinstance(s, list) for s in sources)


def _new_cell(kind: str, source: str | list[str], notebook: dict[str, Any]) -> dict[str, Any]:
    """A new cell, keys in nbformat's (sorted) order; with an id from nbformat 4.5 on."""
    cell: dict[str, Any] = {"cell_type": kind}
    if kind == "code":
        cell["execution_count"] = None
    version = (notebook.get("nbformat", 4), notebook.get("nbformat_minor", 0))
    if isinstance(version[0], int) and isinstance(version[1], int) and version >= (4, 5):
        cell["id"] = uuid.uuid4().hex[:8]
    cell["metadata"] = {}
    if kind == "code":
        cell["outputs"] = []
    cell["source"] = source
    return cell


def edit_notebook(notebook: dict[str, Any], args: NotebookEditInput) -> str:
    """Apply one NotebookEdit to the parsed notebook in place; the message for the model."""
    cells: list[Any] = notebook["cells"]
    mode = args.edit_mode or "replace"
    as_lines = _uses_line_lists(cells)
    if mode == "insert":
        if args.cell_type is None:
            raise ToolError("cell_type is required when using edit_mode=insert.")
        at = 0 if args.cell_id is None else _find_cell(cells, args.cell_id) + 1
        cell = _new_cell(args.cell_type, _source_value(args.new_source, as_lines), notebook)
        cells.insert(at, cell)
        return f"Inserted cell {cell_id(cell, at)} with {args.new_source}"
    if args.cell_id is None:
        raise ToolError(f"cell_id must be specified when not inserting a new cell (edit_mode={mode}).")
    index = _find_cell(cells, args.cell_id)
    if mode == "delete":
        del cells[index]
        return f"Deleted cell {args.cell_id}"
    cell = cells[index]
    if not isinstance(cell, dict):
        raise ToolError(f"Cell {args.cell_id} is not a notebook cell object.")
    cell["source"] = _source_value(args.new_source, isinstance(cell.get("source"), list) or as_lines)
    kind = args.cell_type or cell.get("cell_type", "code")
    if kind != cell.get("cell_type"):
        cell["cell_type"] = kind
    if kind == "code":
        cell["execution_count"] = None
        cell["outputs"] = []
    else:
        cell.pop("execution_count", None)
        cell.pop("outputs", None)
    return f"Updated cell {args.cell_id} with {args.new_source}"


def dump_notebook(notebook: dict[str, Any], like: str) -> str:
    """The notebook as JSON text formatted like `like` (its indent, final newline, line endings)."""
    text = json.dumps(notebook, indent=_indent_of(like), ensure_ascii="\\u" in like and like.isascii())
    if like.rstrip(" \t").endswith(("\n", "\r")):
        text += "\n"
    return textio.to_newline(text, textio.detect_newline(like))


class NotebookEdit:
    """Replace, insert or delete one cell of a Jupyter notebook."""

    name: ClassVar[str] = "NotebookEdit"
    description: ClassVar[str] = (
        "Completely replaces the contents of a specific cell in a Jupyter notebook (.ipynb file) "
        "with new source. Jupyter notebooks are interactive documents that combine code, text, "
        "and visualizations, commonly used for data analysis and scientific computing. The "
        "notebook_path parameter must be an absolute path, not a relative path. The cell_id "
        "identifies the cell to edit (as Read shows it: its id, or cell-N for the N-th cell, "
        "0-based). Use edit_mode=insert to add a new cell after the cell with that id (at the "
        "beginning without one; cell_type is required). Use edit_mode=delete to delete the cell. "
        "Read the notebook before editing it."
    )
    input_model: ClassVar[type[BaseModel]] = NotebookEditInput
    kind: ClassVar[ToolKind] = "edit"
    read_only: ClassVar[bool] = False
    reviewable: ClassVar[bool] = True

    def title(self, args: NotebookEditInput, ctx: ToolContext) -> str:
        """The progress title, e.g. "Editing analysis.ipynb (insert)"."""
        return f"Editing {display_path(args.notebook_path, ctx)} ({args.edit_mode or 'replace'})"

    def locations(self, args: NotebookEditInput, ctx: ToolContext) -> list[Path]:
        """The notebook changed."""
        return [absolute_path(args.notebook_path, ctx, what="notebook_path", args=args)]

    def subject(self, args: NotebookEditInput, ctx: ToolContext) -> str | None:
        """The absolute path edited."""
        return str(absolute_path(args.notebook_path, ctx, what="notebook_path", args=args))

    async def run(self, args: NotebookEditInput, ctx: ToolContext) -> ToolOutput:
        """Edit the cell in the notebook's JSON and apply the new text as one change."""
        path = absolute_path(args.notebook_path, ctx, what="notebook_path", args=args)
        if path.suffix.lower() != ".ipynb":
            raise ToolError(
                "File must be a Jupyter notebook (.ipynb file). For editing other file types, use Edit."
            )
        check_write(path, ctx)
        current = await current_for_write(path, ctx)
        try:
            notebook = parse_notebook(current.text, path)
        except NotebookError as exc:
            raise ToolError(str(exc)) from None
        message = edit_notebook(notebook, args)
        new_text = dump_notebook(notebook, current.text)
        change = FileChange(
            kind="modify",
            path=path,
            new_text=new_text,
            base=current,
            tool_call_id=ctx.tool_call_id,
            preapproved=ctx.preapproved,
            description=f"NotebookEdit {ctx.workspace.relative(path)}",
        )
        result = await apply_change(change, ctx)
        if not result.applied:
            return ToolOutput(
                result.message or f"The change to {path} was not applied.",
                is_error=True,
                review=result.review,
            )
        final = result.final_text if result.final_text is not None else new_text
        record_written(path, result.seen_text if result.seen_text is not None else final, current, ctx)
        text = f"{message}\n\n{result.message}" if result.message else message
        return edit_output(text, path, current.text, final, result)
