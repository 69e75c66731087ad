"""The agent's edits reach the buffer through review: claw/review or showMessageRequest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.fakes.fixtures import trust
from tests.lsp.client import ALL_FEATURES, session, wait_until

SOURCE = "def double(x):\n    return x * 2\n"


def calc_with_edit_script(workspace: Path, api: FakeMessagesAPI) -> Path:
    """Write calc.py and queue the model's Read, its Edit (x * 2 -> x * 3) and a last word."""
    path = workspace / "calc.py"
    path.write_text(SOURCE)
    api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "x * 2", "new_string": "x * 3"})),
        reply(text("Changed the factor.")),
    )
    return path


@pytest.mark.parametrize("client_name", ["visual-studio-code", "neovim"])
async def test_accepted_review_lands_in_the_buffer(
    workspace: Path, fake_api: FakeMessagesAPI, client_name: str
) -> None:
    path = calc_with_edit_script(workspace, fake_api)
    async with session(workspace, client_name, features=ALL_FEATURES, env=fake_api.env()) as client:
        client.answers["claw/review"] = lambda p: {"decision": "accept"}
        doc = client.open(path)
        run = await client.command("claw.ask", {"prompt": "triple it", "uri": doc.uri})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        assert doc.text == "def double(x):\n    return x * 3\n"
        assert path.read_text() == SOURCE  # nothing written behind the open buffer
        review = next(p for m, p in client.custom_requests if m == "claw/review")
        assert review["runId"] == run["runId"] and review["kind"] == "modify"
        assert "-    return x * 2\n+    return x * 3\n" in review["hunks"][0]["diff"]
        token = f"claw-{run['runId']}"
        messages = [getattr(v, "message", None) for v in client.progress_reports[token]]
        assert "Waiting for your review of calc.py" in messages
        # The run begins only once its progress is shown: even its first, fast step is visible.
        assert messages.index("Reading calc.py") < messages.index("Waiting for your review of calc.py")
        assert [d.uri for d in client.shown_documents] == [doc.uri]
        assert client.shown_documents[0].take_focus is False


async def test_rejected_review_with_feedback_goes_back_to_the_model(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = calc_with_edit_script(workspace, fake_api)
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        client.answers["claw/review"] = lambda p: {"decision": "reject", "feedback": "keep it at two"}
        doc = client.open(path)
        run = await client.command("claw.ask", {"prompt": "triple it"})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        assert doc.text == SOURCE
        last = fake_api.requests[-1].last_tool_result()
        assert "rejected" in last and "keep it at two" in last


@pytest.mark.parametrize("answer", ["Apply", "Reject"])
async def test_review_by_show_message_request(
    workspace: Path, fake_api: FakeMessagesAPI, answer: str
) -> None:
    path = calc_with_edit_script(workspace, fake_api)
    async with session(workspace, "neovim", env=fake_api.env()) as client:
        client.answer_message = lambda p: answer
        doc = client.open(path)
        run = await client.command("claw.ask", {"prompt": "triple it"})
        token = f"claw-{run['runId']}"
        await wait_until(lambda: client.progress_end(token), what="run end")
        asked = client.message_requests[0]
        assert "calc.py" in asked.message
        assert [a.title for a in asked.actions] == ["Apply", "Reject", "Apply all in this run"]
        expected = SOURCE.replace("x * 2", "x * 3") if answer == "Apply" else SOURCE
        assert doc.text == expected


async def test_review_answered_by_command(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    """claw.review.accept answers an open claw/review (e.g. from a code lens)."""
    import asyncio

    path = calc_with_edit_script(workspace, fake_api)
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        never: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        client.answers["claw/review"] = lambda p: never  # the review UI stays open
        doc = client.open(path)
        run = await client.command("claw.ask", {"prompt": "triple it"})
        review = await wait_until(
            lambda: next((p for m, p in client.custom_requests if m == "claw/review"), None), what="review"
        )
        assert await client.command("claw.review.accept", {"changeId": review["changeId"]}) == {"ok": True}
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        assert doc.text == SOURCE.replace("x * 2", "x * 3")
        assert await client.command("claw.review.reject", {"changeId": review["changeId"]}) == {"ok": False}


async def test_an_allow_rule_for_the_file_skips_the_review(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    trust(workspace)
    (workspace / ".claw").mkdir()
    (workspace / ".claw" / "settings.json").write_text('{"permissions": {"allow": ["Edit(calc.py)"]}}')
    path = calc_with_edit_script(workspace, fake_api)
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        doc = client.open(path)
        run = await client.command("claw.ask", {"prompt": "triple it", "uri": doc.uri})
        await wait_until(lambda: client.finished(run["runId"]), what="run end")
        assert doc.text == SOURCE.replace("x * 2", "x * 3")
        assert not [m for m, _ in client.custom_requests if m in ("claw/review", "claw/permission")]
