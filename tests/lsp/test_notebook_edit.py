"""NotebookEdit through the real language server: a notebook open in the editor (as JSON text)
is changed by versioned workspace edits, replace / insert / delete, and stays valid JSON in the
editor's buffer (the disk keeps the old text until the user saves); a closed notebook is written
to disk. The user typing in the notebook meanwhile is merged, never clobbered."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_results, tool_use
from tests.lsp.client import ask, document_edits, held, session, start_run, wait_run, wait_until
from tests.unit.test_notebook import notebook, write_notebook

ACCEPT = {"permissionMode": "acceptEdits"}


def edits(nb: str) -> list[dict[str, object]]:
    """The model's turns: read the notebook, then replace, insert and delete a cell."""
    return [
        reply(tool_use("Read", {"file_path": nb})),
        reply(tool_use("NotebookEdit", {"notebook_path": nb, "cell_id": "plot", "new_source": "2 / 1"})),
        reply(
            tool_use(
                "NotebookEdit",
                {
                    "notebook_path": nb,
                    "cell_id": "intro",
                    "new_source": "## Steps",
                    "cell_type": "markdown",
                    "edit_mode": "insert",
                },
            )
        ),
        reply(
            tool_use(
                "NotebookEdit",
                {"notebook_path": nb, "cell_id": "load", "new_source": "", "edit_mode": "delete"},
            )
        ),
        reply(text("Done.")),
    ]


@pytest.mark.parametrize("client_name", ["visual-studio-code", "neovim"])
async def test_notebook_edits_land_in_the_open_buffer_as_workspace_edits(
    workspace: Path, fake_api: FakeMessagesAPI, client_name: str
) -> None:
    path = workspace / "analysis.ipynb"
    original = write_notebook(path, notebook())
    fake_api.queue(*edits(str(path)))
    async with session(workspace, client_name, settings=ACCEPT, env=fake_api.env()) as client:
        doc = client.open(path, language_id="json")
        await ask(client, "tidy the notebook")
        results = tool_results(fake_api.requests[-1].body)
        assert [r.is_error for r in results] == [False] * 4, results
        assert len(client.applied) == 3
        for params in client.applied:
            (edit,) = document_edits(params)
            assert edit.text_document.uri == path.as_uri() and edit.text_document.version is not None
        data = json.loads(doc.text)
        assert data["cells"][0]["id"] == "intro"
        assert [c["source"] for c in data["cells"]][1:] == [["## Steps"], ["2 / 1"]]
        assert data["cells"][2]["outputs"] == []
        assert doc.text.startswith('{\n "cells": [\n  {\n') and doc.text.endswith("}\n")
        assert path.read_text() == original  # the buffer changed, not the disk behind it


async def test_a_closed_notebook_is_written_to_disk(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    path = workspace / "analysis.ipynb"
    write_notebook(path, notebook())
    fake_api.queue(*edits(str(path)))
    async with session(workspace, settings=ACCEPT, env=fake_api.env()) as client:
        await ask(client, "tidy the notebook")
        assert client.applied == []
        data = json.loads(path.read_text())
        assert [c["source"] for c in data["cells"]][1:] == [["## Steps"], ["2 / 1"]]


async def test_the_users_typing_in_the_notebook_is_kept(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    path = workspace / "analysis.ipynb"
    write_notebook(path, notebook())
    nb = str(path)
    gate = threading.Event()
    fake_api.queue(
        reply(tool_use("Read", {"file_path": nb})),
        held(
            reply(tool_use("NotebookEdit", {"notebook_path": nb, "cell_id": "plot", "new_source": "2 / 1"})),
            gate,
        ),
        reply(text("Done.")),
    )
    async with session(workspace, settings=ACCEPT, env=fake_api.env()) as client:
        doc = client.open(path, language_id="json")
        run_id = await start_run(client, "fix the division")
        await wait_until(lambda: len(fake_api.requests) >= 2, what="the Read result reaching the model")
        client.replace_text(doc.uri, "# Analysis", "# Sales analysis")  # the user types meanwhile
        await client.command("claw.status")
        gate.set()
        await wait_run(client, run_id)
        data = json.loads(doc.text)
        assert data["cells"][0]["source"][0] == "# Sales analysis\n"
        assert data["cells"][2]["source"] == ["2 / 1"]
