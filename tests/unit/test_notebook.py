"""Notebooks: Read shows cells with their outputs (as Claude Code does), NotebookEdit replaces,
inserts and deletes cells through the workspace view, keeping the notebook valid JSON in its own
formatting; through `claw -p` the disk applier writes it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.core.tools import SessionState, ToolContext, ToolError
from claw_lsp.tools.files import Read, ReadInput
from claw_lsp.tools.notebook import NotebookEdit, NotebookEditInput
from claw_lsp.workspace.view import WorkspaceView
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_results, tool_use
from tests.unit.test_cli import ACCEPT_EDITS, KEY, claw
from tests.unit.test_read_media import png_bytes

PNG = base64.b64encode(png_bytes()).decode()


def notebook(nbformat_minor: int = 5, ids: bool = True) -> dict[str, Any]:
    """A notebook as Jupyter writes it: sources as lists of lines, outputs of every kind."""
    cells: list[dict[str, Any]] = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Analysis\n", "Loads the data."]},
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "outputs": [
                {"name": "stdout", "output_type": "stream", "text": ["loaded 3 rows\n"]},
                {
                    "data": {"text/plain": ["   a  b\n", "0  1  2"]},
                    "execution_count": 1,
                    "metadata": {},
                    "output_type": "execute_result",
                },
            ],
            "source": ["import pandas as pd\n", "df = pd.read_csv('x.csv')\n", "df.head()"],
        },
        {
            "cell_type": "code",
            "execution_count": 2,
            "metadata": {},
            "outputs": [
                {
                    "ename": "ZeroDivisionError",
                    "evalue": "division by zero",
                    "output_type": "error",
                    "traceback": ["Traceback (most recent call last)", "ZeroDivisionError: division by zero"],
                },
                {
                    "data": {"image/png": PNG + "\n", "text/plain": ["<Figure size 640x480>"]},
                    "metadata": {},
                    "output_type": "display_data",
                },
            ],
            "source": ["1 / 0"],
        },
    ]
    if ids:
        for cell, ident in zip(cells, ["intro", "load", "plot"], strict=True):
            cell["id"] = ident
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3"}, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": nbformat_minor,
    }


def write_notebook(path: Path, data: dict[str, Any]) -> str:
    """Write it as Jupyter does (indent 1, non-ASCII kept, final newline); return the text."""
    content = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    path.write_text(content, encoding="utf-8")
    return content


@pytest.fixture
def ctx(workspace: Path) -> ToolContext:
    return ToolContext(workspace=WorkspaceView([workspace]), state=SessionState())


async def test_read_shows_cells_with_their_outputs_and_images(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "analysis.ipynb"
    write_notebook(path, notebook())
    out = await Read().run(ReadInput(file_path=str(path)), ctx)
    assert (
        '<cell id="intro"><cell_type>markdown</cell_type># Analysis\nLoads the data.</cell id="intro">'
        in (out.content)
    )
    assert (
        '<cell id="load">import pandas as pd\ndf = pd.read_csv(\'x.csv\')\ndf.head()</cell id="load">'
        in out.content
    )
    assert "\nloaded 3 rows\n" in out.content and "   a  b\n0  1  2" in out.content
    assert "ZeroDivisionError: division by zero\nTraceback (most recent call last)" in out.content
    assert "<Figure size 640x480>" in out.content and "[image output 1: attached below]" in out.content
    (image,) = out.images
    assert image.source.media_type == "image/png" and image.source.data == PNG
    assert path in ctx.state.read_files  # NotebookEdit may now change it


async def test_cells_without_ids_are_cell_n_and_other_languages_are_tagged(
    ctx: ToolContext, workspace: Path
) -> None:
    data = notebook(nbformat_minor=4, ids=False)
    data["metadata"]["language_info"]["name"] = "julia"
    path = workspace / "old.ipynb"
    write_notebook(path, data)
    out = await Read().run(ReadInput(file_path=str(path)), ctx)
    assert '<cell id="cell-0"><cell_type>markdown</cell_type>' in out.content
    assert '<cell id="cell-2"><language>julia</language>1 / 0</cell id="cell-2">' in out.content


async def test_large_outputs_are_replaced_by_a_jq_hint(ctx: ToolContext, workspace: Path) -> None:
    data = notebook()
    data["cells"][1]["outputs"][0]["text"] = ["x" * 20_000]
    path = workspace / "big.ipynb"
    write_notebook(path, data)
    out = await Read().run(ReadInput(file_path=str(path)), ctx)
    assert (
        "Outputs are too large to include. Use Bash with: cat <notebook_path> | jq '.cells[1].outputs'"
        in (out.content)
    )
    assert "x" * 1000 not in out.content


async def test_a_notebook_that_is_not_json_is_read_as_text(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "broken.ipynb"
    path.write_text("{not json\n")
    out = await Read().run(ReadInput(file_path=str(path)), ctx)
    assert "     1\t{not json" in out.content


async def edit(ctx: ToolContext, path: Path, **args: Any) -> str:
    out = await NotebookEdit().run(NotebookEditInput(notebook_path=str(path), **args), ctx)
    assert not out.is_error, out.content
    return out.content


async def test_replace_insert_delete_keep_valid_json_in_the_notebooks_format(
    ctx: ToolContext, workspace: Path
) -> None:
    path = workspace / "analysis.ipynb"
    original = write_notebook(path, notebook())
    with pytest.raises(ToolError, match="has not been read yet"):
        await edit(ctx, path, cell_id="load", new_source="x = 1\n")
    await Read().run(ReadInput(file_path=str(path)), ctx)

    message = await edit(
        ctx, path, cell_id="load", new_source="import polars as pl\ndf = pl.read_csv('x.csv')"
    )
    assert message.startswith("Updated cell load with import polars")
    data = json.loads(path.read_text())
    load = data["cells"][1]
    assert load["source"] == ["import polars as pl\n", "df = pl.read_csv('x.csv')"]
    assert load["outputs"] == [] and load["execution_count"] is None
    # Everything else is byte for byte what it was: indent 1, key order, final newline.
    expected = notebook()
    expected["cells"][1].update(source=load["source"], outputs=[], execution_count=None)
    assert path.read_text() == json.dumps(expected, indent=1, ensure_ascii=False) + "\n"

    message = await edit(
        ctx, path, cell_id="intro", new_source="## Método", cell_type="markdown", edit_mode="insert"
    )
    data = json.loads(path.read_text())
    new = data["cells"][1]
    assert new["cell_type"] == "markdown" and new["source"] == ["## Método"]
    assert len(new["id"]) == 8 and message.startswith(f"Inserted cell {new['id']}")
    assert "Método" in path.read_text()  # not \u-escaped, as Jupyter writes it

    await edit(ctx, path, new_source="print('first')", cell_type="code", edit_mode="insert")
    data = json.loads(path.read_text())
    assert data["cells"][0]["source"] == ["print('first')"] and data["cells"][0]["outputs"] == []

    assert await edit(ctx, path, cell_id="plot", new_source="", edit_mode="delete") == "Deleted cell plot"
    data = json.loads(path.read_text())
    assert [c.get("id") for c in data["cells"]][-2:] == [new["id"], "load"]
    assert len(data["cells"]) == 4 and data["nbformat_minor"] == 5
    assert path.read_text() != original and path.read_text().endswith("}\n")

    # A markdown cell turned into code gets code's fields.
    await edit(ctx, path, cell_id="cell-1", new_source="x = 2", cell_type="code")
    cell = json.loads(path.read_text())["cells"][1]
    assert cell["cell_type"] == "code" and cell["outputs"] == [] and cell["execution_count"] is None


async def test_bad_edits_are_explained(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "analysis.ipynb"
    write_notebook(path, notebook())
    await Read().run(ReadInput(file_path=str(path)), ctx)
    with pytest.raises(ToolError, match="cell_type is required"):
        await edit(ctx, path, cell_id="intro", new_source="x", edit_mode="insert")
    with pytest.raises(ToolError, match='Cell with ID "nope" not found'):
        await edit(ctx, path, cell_id="nope", new_source="x")
    with pytest.raises(ToolError, match="Cell with index 9 does not exist"):
        await edit(ctx, path, cell_id="cell-9", new_source="x")
    (workspace / "notes.txt").write_text("x")
    with pytest.raises(ToolError, match=r"must be a Jupyter notebook \(\.ipynb file\)"):
        await edit(ctx, workspace / "notes.txt", cell_id="a", new_source="x")


async def test_an_old_notebook_without_ids_gets_none_on_insert(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "old.ipynb"
    write_notebook(path, notebook(nbformat_minor=4, ids=False))
    await Read().run(ReadInput(file_path=str(path)), ctx)
    await edit(ctx, path, cell_id="cell-0", new_source="y = 1", cell_type="code", edit_mode="insert")
    cell = json.loads(path.read_text())["cells"][1]
    assert "id" not in cell and cell["source"] == ["y = 1"]


def test_cli_notebook_read_and_edits_land_on_disk(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    path = workspace / "analysis.ipynb"
    write_notebook(path, notebook())
    nb = str(path)
    fake_api.queue(
        reply(tool_use("Read", {"file_path": nb})),
        reply(tool_use("NotebookEdit", {"notebook_path": nb, "cell_id": "plot", "new_source": "2 / 1"})),
        reply(
            tool_use(
                "NotebookEdit",
                {
                    "notebook_path": nb,
                    "cell_id": "load",
                    "new_source": "# done",
                    "cell_type": "markdown",
                    "edit_mode": "insert",
                },
            )
        ),
        reply(
            tool_use(
                "NotebookEdit",
                {"notebook_path": nb, "cell_id": "intro", "new_source": "", "edit_mode": "delete"},
            )
        ),
        reply(text("Edited.")),
    )
    proc = claw(workspace, "-p", "fix the notebook", *ACCEPT_EDITS, env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    results = tool_results(fake_api.requests[-1].body)
    assert [r.is_error for r in results] == [False] * 4, results
    assert '<cell id="plot">1 / 0</cell id="plot">' in results[0].text
    # The image output went to the model as an image block.
    read_result = [
        b for b in fake_api.requests[1].body["messages"][-1]["content"] if b["type"] == "tool_result"
    ]
    assert [b["type"] for b in read_result[0]["content"]] == ["text", "image"]
    data = json.loads(path.read_text())
    assert [c["source"] for c in data["cells"]] == [
        ["import pandas as pd\n", "df = pd.read_csv('x.csv')\n", "df.head()"],
        ["# done"],
        ["2 / 1"],
    ]
    assert data["cells"][2]["outputs"] == []
