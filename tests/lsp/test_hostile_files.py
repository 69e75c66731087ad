"""Files that are not files: a FIFO named as the document of a `claw.ask` (or read by the model)
never blocks the server; it answers, and the model is told the path is not a regular file."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import ALL_FEATURES, session, wait_until


async def test_a_fifo_as_the_document_and_as_a_read(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fifo = workspace / "events.pipe"
    os.mkfifo(fifo)  # nobody writes to it: a plain open() for reading blocks forever
    fake_api.queue(reply(tool_use("Read", {"file_path": str(fifo)})), reply(text("It is a pipe.")))
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        run = await asyncio.wait_for(
            client.command(
                "claw.ask",
                {
                    "prompt": "what is in it?",
                    "uri": fifo.as_uri(),
                    "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                },
            ),
            timeout=10,
        )
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
    assert "not a regular file" in fake_api.requests[-1].last_tool_result()
