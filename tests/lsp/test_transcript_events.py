"""What the front ends' transcripts are built from: each edit's final tool_call_update carries the
diff that landed (ACP `diff` content) and the user's review (`_meta.claw.review`); a refused call
says so (`_meta.claw.permission: "denied"`); a permission request shows the model's own
description and the exact command once; sessions are titled by the user's prompt, never by the
context sent along with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import ALL_FEATURES, ClawClient, session, wait_until

LINES = [f"value_{i:02d} = {i}\n" for i in range(1, 31)]


def _final_update(client: ClawClient, run_id: str, tool_id: str) -> dict[str, Any]:
    updates = [
        e["update"]
        for e in client.events
        if e["runId"] == run_id
        and e["update"]["sessionUpdate"] == "tool_call_update"
        and e["update"]["toolCallId"] == tool_id
        and e["update"]["status"] in ("completed", "failed")
    ]
    assert len(updates) == 1, updates
    return updates[0]


async def test_partial_review_is_in_the_final_update_with_the_diff_that_landed(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "values.py"
    path.write_text("".join(LINES))
    changed = list(LINES)
    changed[1] = "value_02 = 200\n"
    changed[27] = "value_28 = 2800\n"
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)}, id="toolu_read")),
        reply(tool_use("Write", {"file_path": str(path), "content": "".join(changed)}, id="toolu_write")),
        reply(
            tool_use(
                "Edit",
                {"file_path": str(path), "old_string": "value_10 = 10", "new_string": "value_10 = 0"},
                id="toolu_edit",
            )
        ),
        reply(text("Done.")),
    )
    answers = iter(
        [
            {"decision": "partial", "acceptedHunks": [0], "feedback": "Hunk 2: leave 28 alone"},
            {"decision": "reject", "feedback": "not 10 either"},
        ]
    )
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        client.answers["claw/review"] = lambda p: next(answers)
        doc = client.open(path)
        run = await client.command("claw.ask", {"prompt": "change the values", "uri": doc.uri})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        written = _final_update(client, run["runId"], "toolu_write")
        edited = _final_update(client, run["runId"], "toolu_edit")
    assert doc.text.splitlines()[1] == "value_02 = 200" and doc.text.splitlines()[27] == "value_28 = 28"
    assert written["status"] == "completed"
    assert written["_meta"]["claw"]["review"] == {
        "decision": "partial",
        "acceptedHunks": [0],
        "rejectedHunks": [1],
        "feedback": "Hunk 2: leave 28 alone",
    }
    kinds = [c["type"] for c in written["content"]]
    assert kinds == ["content", "diff"]
    diff = written["content"][1]
    assert diff["path"] == str(path) and diff["oldText"] == "".join(LINES)
    assert diff["newText"] == doc.text  # what landed: hunk 1 only
    assert "rejected these hunks" in written["content"][0]["content"]["text"]
    assert edited["status"] == "failed"
    assert edited["_meta"]["claw"]["review"]["decision"] == "reject"
    assert edited["_meta"]["claw"]["review"]["feedback"] == "not 10 either"
    assert [c["type"] for c in edited["content"]] == ["content"]  # nothing landed: no diff


async def test_accept_edits_mode_sends_the_diff_without_a_review(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "new_module.py"
    fake_api.queue(
        reply(tool_use("Write", {"file_path": str(path), "content": "X = 1\n"}, id="toolu_create")),
        reply(text("Created.")),
    )
    options = {"permissionMode": "acceptEdits"}
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env(), settings=options) as client:
        run = await client.command("claw.ask", {"prompt": "create it"})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        created = _final_update(client, run["runId"], "toolu_create")
    assert "_meta" not in created
    assert created["content"][1] == {"type": "diff", "path": str(path), "newText": "X = 1\n"}


async def test_denied_command_says_denied_and_the_prompt_shows_the_description_and_command_once(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(
        reply(
            tool_use(
                "Bash",
                {"command": "python -m pytest -q tests", "description": "Run the test suite"},
                id="toolu_bash",
            )
        ),
        reply(text("Not run.")),
    )
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        client.answers["claw/permission"] = lambda p: {
            "outcome": {"outcome": "selected", "optionId": "reject_once"}
        }
        run = await client.command("claw.ask", {"prompt": "run the tests"})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        denied = _final_update(client, run["runId"], "toolu_bash")
        asked = next(p for m, p in client.custom_requests if m == "claw/permission")
    assert denied["status"] == "failed" and denied["_meta"]["claw"]["permission"] == "denied"
    assert denied["title"] == "Running: python -m pytest -q tests"  # not "Waiting for permission: …"
    assert asked["toolCall"]["title"] == "Run the test suite"
    assert asked["subject"] == "python -m pytest -q tests"


async def test_standard_permission_message_names_the_command_once(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(
        reply(
            tool_use("Bash", {"command": "python -m pytest -q tests", "description": "Run the test suite"})
        ),
        reply(text("Not run.")),
    )
    async with session(workspace, "neovim", env=fake_api.env()) as client:
        client.answer_message = lambda p: "Deny"
        run = await client.command("claw.ask", {"prompt": "run the tests"})
        await wait_until(lambda: client.progress_end(f"claw-{run['runId']}"), what="run end")
        message = client.message_requests[0].message
    assert message.count("python -m pytest -q tests") == 1
    assert "Run the test suite" in message


async def test_a_new_sessions_title_is_the_prompt_not_the_injected_context(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = workspace / "app.py"
    path.write_text("print('hi')\n")
    fake_api.queue(reply(text("It prints hi.")))
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        doc = client.open(path)
        await client.command("claw.sessions.new", {})
        run = await client.command("claw.ask", {"prompt": "what does this do?", "uri": doc.uri})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        listed = await client.command("claw.sessions.list", {})
    first = next(s for s in listed["sessions"] if s["sessionId"] == run["sessionId"])
    assert first["title"] == "what does this do?"
    assert "looking at" in fake_api.requests[0].body["messages"][0]["content"][0]["text"]  # context was sent
