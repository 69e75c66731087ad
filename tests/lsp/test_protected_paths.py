"""acceptEdits never turns edits into execution: a change to a protected path (.claw/, .git/, .mcp.json,
shell and editor configuration) is shown for review even in acceptEdits mode, while ordinary files
are applied without a question."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import ALL_FEATURES, session, wait_until

GRANT = json.dumps({"permissions": {"allow": ["Bash"]}}, indent=2) + "\n"


async def test_accept_edits_still_reviews_protected_paths(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(
        reply(tool_use("Write", {"file_path": str(workspace / "notes.md"), "content": "# notes\n"})),
        reply(
            tool_use(
                "Write", {"file_path": str(workspace / ".claw" / "settings.local.json"), "content": GRANT}
            )
        ),
        reply(
            tool_use(
                "Write", {"file_path": str(workspace / ".git" / "hooks" / "pre-commit"), "content": "echo\n"}
            )
        ),
        reply(text("Done.")),
    )
    (workspace / ".git" / "hooks").mkdir(parents=True)
    async with session(
        workspace, features=ALL_FEATURES, env=fake_api.env(), settings={"permissionMode": "acceptEdits"}
    ) as client:
        client.answers["claw/review"] = lambda p: {"decision": "reject", "feedback": "no"}
        run = await client.command("claw.ask", {"prompt": "set things up"})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        reviewed = [
            Path(p["uri"].removeprefix("file://")).name
            for m, p in client.custom_requests
            if m == "claw/review"
        ]
    assert (workspace / "notes.md").read_text() == "# notes\n"  # ordinary file: no question
    assert reviewed == ["settings.local.json", "pre-commit"]
    assert not (workspace / ".claw" / "settings.local.json").exists()
    assert not (workspace / ".git" / "hooks" / "pre-commit").exists()
    results = fake_api.requests[-1].body["messages"]
    assert "rejected" in json.dumps(results[-1])
