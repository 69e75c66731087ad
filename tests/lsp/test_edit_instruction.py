"""The instruction comment (`Claw: <instruction>` code action) is removed through the same versioned,
confirmed edit path as the agent's edits, so the agent's following edit to the file is not refused.
Production server, fake model, clients that handle edits like VS Code, Neovim and eglot.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_results, tool_use
from tests.lsp.client import document_edits, run_ended, session, start_run, wait_run, wait_until

ACCEPT = {"permissionMode": "acceptEdits"}
SOURCE = "import sys\n\n\ndef greet():\n    # claw: say hello\n    pass\n\n\ndef main():\n    greet()\n"


def point(line: int) -> types.Range:
    return types.Range(
        start=types.Position(line=line, character=0), end=types.Position(line=line, character=0)
    )


@pytest.mark.parametrize(
    ("client_name", "editor"),
    [("visual-studio-code", "vscode"), ("neovim", "neovim"), ("emacs", "eglot")],
)
async def test_instruction_comment_removal_is_versioned_and_confirmed_so_the_next_edit_is_not_refused(
    workspace: Path, fake_api: FakeMessagesAPI, client_name: str, editor: str
) -> None:
    path = workspace / "greet.py"
    path.write_text(SOURCE)
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(
            tool_use(
                "Edit", {"file_path": str(path), "old_string": "    pass", "new_string": "    print('hello')"}
            )
        ),
        reply(text("Done.")),
        # the next run: the agent edits the same file again, without reading it again
        reply(
            tool_use(
                "Edit",
                {
                    "file_path": str(path),
                    "old_string": "print('hello')",
                    "new_string": "print('hello', file=sys.stderr)",
                },
            )
        ),
        reply(text("Now on stderr.")),
    )
    async with session(workspace, client_name, settings=ACCEPT, env=fake_api.env(), editor=editor) as client:
        doc = client.open(path)
        action = next(a for a in await client.code_actions(doc.uri, point(4)) if a.title == "Claw: say hello")
        first = await client.run_action(action)
        await wait_until(lambda: run_ended(client, first["runId"]), 40, what="the first run's end")
        await wait_until(lambda: "claw:" not in doc.text, what="the comment removed")
        # The user (or the shim) asks for more at once, while the editor's didChange may still be pending.
        second = await start_run(client, "print to stderr", sessionId=first["sessionId"])
        await wait_run(client, second)
        assert doc.text == SOURCE.replace("    # claw: say hello\n", "").replace(
            "    pass", "    print('hello', file=sys.stderr)"
        )
        results = tool_results(fake_api.requests[-1].body)
        assert results, "the model got no tool_result"
        last = results[-1]
        assert not last.is_error and "Not applied" not in last.text, last
        # Nobody typed: the server's own removal is not reported to the model as the user's edit.
        assert "the user edited" not in last.text.lower() and "merged" not in last.text, last
        # The removal is the one workspace edit that only deletes text.
        removals = [
            p
            for p in client.applied
            if all(getattr(e, "new_text", None) == "" for d in document_edits(p) for e in d.edits)
        ]
        assert removals, client.applied
        (doc_edit,) = document_edits(removals[-1])
        assert doc_edit.text_document.version is not None
        assert path.read_text() == SOURCE
