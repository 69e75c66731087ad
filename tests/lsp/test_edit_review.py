"""Reviewing the agent's edits in default mode: claw/review (per hunk, with feedback), review commands,
and window/showMessageRequest for clients without the review feature. Production server, fake model.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_results, tool_use
from tests.lsp.client import ALL_FEATURES, ask, session, start_run, wait_run, wait_until

TWO_HUNKS_BASE = "".join(f"line {i}\n" for i in range(1, 31))
HUNK_0 = ("line 3\n", "line three\n")
HUNK_1 = ("line 25\n", "line 25\nextra\n")
TWO_HUNKS_NEW = TWO_HUNKS_BASE.replace(*HUNK_0).replace(*HUNK_1)


def two_hunk_edit(workspace: Path, api: FakeMessagesAPI) -> Path:
    """r.txt, and a model that reads it and changes it in two far-apart places (one MultiEdit)."""
    path = workspace / "r.txt"
    path.write_text(TWO_HUNKS_BASE)
    api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(
            tool_use(
                "MultiEdit",
                {
                    "file_path": str(path),
                    "edits": [
                        {"old_string": "line 3\n", "new_string": "line three\n"},
                        {"old_string": "line 25\n", "new_string": "line 25\nextra\n"},
                    ],
                },
            )
        ),
        reply(text("Done.")),
    )
    return path


async def test_partial_review_applies_the_accepted_hunk_and_tells_the_model_the_rest(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = two_hunk_edit(workspace, fake_api)
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env(), editor="vscode") as client:
        client.answers["claw/review"] = lambda _p: {
            "decision": "partial",
            "acceptedHunks": [0],
            "feedback": "no extra lines",
        }
        doc = client.open(path)
        run = await ask(client, "tidy r.txt")
        assert doc.text == TWO_HUNKS_BASE.replace(*HUNK_0)
        assert path.read_text() == TWO_HUNKS_BASE
        result = tool_results(fake_api.requests[-1].body)[-1]
        assert not result.is_error, result
        assert "@@ -23,6 +23,7 @@" in result.text and "no extra lines" in result.text
        (review,) = [p for m, p in client.custom_requests if m == "claw/review"]
        assert review["kind"] == "modify" and review["changeId"]
        assert [h["header"] for h in review["hunks"]] == ["@@ -1,6 +1,6 @@", "@@ -23,6 +23,7 @@"]
        messages = [getattr(v, "message", None) for v in client.progress_reports[f"claw-{run}"]]
        assert "Waiting for your review of r.txt" in messages


async def test_rejected_review_leaves_the_buffer_and_gives_the_model_the_feedback(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = two_hunk_edit(workspace, fake_api)
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env(), editor="vscode") as client:
        client.answers["claw/review"] = lambda _p: {"decision": "reject", "feedback": "use a constant"}
        doc = client.open(path)
        await ask(client, "tidy r.txt")
        assert doc.text == TWO_HUNKS_BASE
        assert client.applied == []
        result = tool_results(fake_api.requests[-1].body)[-1]
        assert result.is_error
        assert "The user rejected this change. Their feedback: use a constant" in result.text


async def test_review_answered_by_per_hunk_commands_applies_what_they_accepted_first_answer_wins(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    path = two_hunk_edit(workspace, fake_api)
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env(), editor="vscode") as client:
        still_open = asyncio.Event()  # the review UI stays open; the user answers with commands

        async def review(_params: dict[str, Any]) -> dict[str, Any]:
            await still_open.wait()
            return {"decision": "accept"}

        client.answers["claw/review"] = review
        doc = client.open(path)
        run = await start_run(client, "tidy r.txt")
        request = await wait_until(
            lambda: next((p for m, p in client.custom_requests if m == "claw/review"), None),
            what="the review",
        )
        change = request["changeId"]
        rejected = await client.command(
            "claw.review.reject", {"changeId": change, "hunk": 0, "feedback": "keep line 3"}
        )
        assert rejected["ok"]
        await asyncio.sleep(0.3)
        assert client.applied == []  # one hunk still unanswered: nothing applied yet
        assert (await client.command("claw.review.accept", {"changeId": change, "hunk": 1}))["ok"]
        await wait_run(client, run)
        assert doc.text == TWO_HUNKS_BASE.replace(*HUNK_1)
        result = tool_results(fake_api.requests[-1].body)[-1]
        assert not result.is_error and "keep line 3" in result.text, result
        assert not (await client.command("claw.review.accept", {"changeId": change}))["ok"]  # closed
        still_open.set()
        await asyncio.sleep(0.1)
        assert doc.text == TWO_HUNKS_BASE.replace(*HUNK_1)  # the late answer changes nothing


@pytest.mark.parametrize(("answer", "applied"), [("Apply", True), ("Reject", False), (None, False)])
async def test_client_without_review_feature_reviews_with_show_message_request(
    workspace: Path, fake_api: FakeMessagesAPI, answer: str | None, applied: bool
) -> None:
    path = workspace / "src" / "app.py"
    path.parent.mkdir()
    path.write_text("a\nb\n")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "b\n", "new_string": "B\nc\n"})),
        reply(text("Done.")),
    )
    async with session(workspace, "neovim", env=fake_api.env(), editor="neovim") as client:
        client.answer_message = lambda p: answer if p.message.startswith("Claw wants to") else "Allow once"
        doc = client.open(path)
        await ask(client, "capitalize b")
        (request,) = [r for r in client.message_requests if r.message.startswith("Claw wants to")]
        assert request.message == "Claw wants to edit src/app.py (+2 -1)"
        assert [a.title for a in request.actions or []] == ["Apply", "Reject", "Apply all in this run"]
        assert doc.text == ("a\nB\nc\n" if applied else "a\nb\n")
        result = tool_results(fake_api.requests[-1].body)[-1]
        assert result.is_error is not applied
        if not applied:
            assert "The user rejected this change." in result.text
            assert client.applied == []


async def test_apply_all_in_this_run_stops_asking_until_the_next_run(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    one, two = workspace / "one.py", workspace / "two.py"
    one.write_text("ONE = 1\n")
    two.write_text("TWO = 2\n")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(one)}), tool_use("Read", {"file_path": str(two)})),
        reply(tool_use("Edit", {"file_path": str(one), "old_string": "= 1", "new_string": "= 11"})),
        reply(tool_use("Edit", {"file_path": str(two), "old_string": "= 2", "new_string": "= 22"})),
        reply(text("Both.")),
        reply(tool_use("Edit", {"file_path": str(one), "old_string": "= 11", "new_string": "= 111"})),
        reply(text("Again.")),
    )
    async with session(workspace, "neovim", env=fake_api.env(), editor="neovim") as client:
        client.answer_message = lambda p: (
            "Apply all in this run" if p.message.startswith("Claw wants to") else "Allow once"
        )
        doc_one, doc_two = client.open(one), client.open(two)
        await ask(client, "bump both")
        assert (doc_one.text, doc_two.text) == ("ONE = 11\n", "TWO = 22\n")
        reviews = [r for r in client.message_requests if r.message.startswith("Claw wants to")]
        assert len(reviews) == 1
        await ask(client, "bump one again")
        assert doc_one.text == "ONE = 111\n"
        reviews = [r for r in client.message_requests if r.message.startswith("Claw wants to")]
        assert len(reviews) == 2  # a new run asks again
