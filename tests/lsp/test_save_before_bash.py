"""Before Bash runs, files the agent changed are saved by the shim, or listed as unsaved for the model."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.fakes.fixtures import trust
from tests.lsp.client import ALL_FEATURES, session, wait_until

SOURCE = "VALUE = 1\n"


def edit_then_bash(api: FakeMessagesAPI, workspace: Path) -> Path:
    """A file, a workspace where tools run without asking, and a model that edits it then runs Bash."""
    path = workspace / "settings.py"
    path.write_text(SOURCE)
    (workspace / ".claw").mkdir()
    (workspace / ".claw" / "settings.json").write_text('{"permissionMode": "bypassPermissions"}')
    trust(workspace)
    api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(
            tool_use("Edit", {"file_path": str(path), "old_string": "VALUE = 1", "new_string": "VALUE = 2"})
        ),
        reply(tool_use("Bash", {"command": f"cat {path.name}"})),
        reply(text("Done.")),
    )
    return path


async def test_shim_saves_the_changed_file_before_bash_runs(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = edit_then_bash(fake_api, workspace)
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        doc = client.open(path)
        run = await client.command("claw.ask", {"prompt": "bump VALUE and show the file", "uri": doc.uri})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        saves = [p for m, p in client.custom_requests if m == "claw/saveDocuments"]
        assert saves and saves[0]["uris"] == [doc.uri]
        # The command saw the saved text: the buffer was written before Bash ran.
        bash_result = fake_api.requests[-1].last_tool_result()
        assert "VALUE = 2" in bash_result
        assert "unsaved" not in bash_result.lower()


async def test_generic_client_is_told_which_files_are_unsaved(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = edit_then_bash(fake_api, workspace)
    async with session(workspace, "neovim", env=fake_api.env()) as client:
        doc = client.open(path)
        run = await client.command("claw.ask", {"prompt": "bump VALUE and show the file", "uri": doc.uri})
        await wait_until(lambda: client.progress_end(f"claw-{run['runId']}"), what="run end")
        assert doc.text == "VALUE = 2\n"
        assert path.read_text() == SOURCE  # nothing written behind the open buffer
        bash_result = fake_api.requests[-1].last_tool_result()
        assert "VALUE = 1" in bash_result  # the command read the disk
        assert "settings.py" in bash_result and "unsaved" in bash_result.lower()
