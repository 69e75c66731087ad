"""SessionStart's `clear` and `compact` sources through the real `claw` CLI against the fake
Messages API, as Claude Code fires them: `/clear` ends the session (SessionEnd, reason `clear`) and
starts it again (SessionStart, source `clear`); `/compact` and the automatic compaction start it
again with source `compact`. Each hook's context reaches the model with the next request, even when
that request comes from another `claw -p --resume` process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakes.fake_messages_api import FakeMessagesAPI, RecordedRequest, reply, text
from tests.unit.test_cli import KEY, claw_json
from tests.unit.test_hook_events import by_event, dumping, fired, user_settings

SUMMARY = "<summary>The user asked numbered questions.</summary>"


def hooks_with_context(log: Path, source: str, context: str) -> dict[str, Any]:
    """Every SessionStart / SessionEnd dumped to `log`; SessionStart for `source` also says
    `context` (plain stdout is context for the model, as in Claude Code)."""
    hooks = dumping(log, "SessionStart", "SessionEnd")
    hooks["SessionStart"].append(
        {"matcher": source, "hooks": [{"type": "command", "command": f"echo '{context}'"}]}
    )
    return hooks


def model(req: RecordedRequest) -> dict[str, Any]:
    """Answer a compaction request (no tools) with a summary, any other with its own prompt."""
    if not req.body.get("tools"):
        return reply(text(SUMMARY))
    return reply(text("answer " * 20))


def sent(req: RecordedRequest) -> str:
    return json.dumps(req.body["messages"])


def test_clear_ends_and_starts_the_session_and_its_context_reaches_the_next_prompt(
    workspace: Path, fake_api: FakeMessagesAPI, isolated_state: Path
) -> None:
    log = workspace.parent / "events.jsonl"
    user_settings(isolated_state, hooks=hooks_with_context(log, "clear", "Fresh start: branch main"))
    fake_api.queue(reply(text("first answer")), reply(text("second answer")))
    first = claw_json(workspace, "-p", "question zero", env=fake_api.env(KEY))
    log.unlink()

    cleared = claw_json(workspace, "-p", "/clear", "--resume", first["session_id"], env=fake_api.env(KEY))
    assert cleared["result"].startswith("Cleared the conversation"), cleared
    assert len(fake_api.requests) == 1  # /clear asks the model nothing
    events = [(e["hook_event_name"], e.get("source") or e.get("reason")) for e in fired(log)]
    assert events == [
        ("SessionStart", "resume"),
        ("SessionEnd", "clear"),
        ("SessionStart", "clear"),
        ("SessionEnd", "other"),
    ]
    assert all(e["session_id"] == first["session_id"] for e in fired(log))

    claw_json(workspace, "-p", "question one", "--resume", first["session_id"], env=fake_api.env(KEY))
    after = sent(fake_api.requests[-1])
    assert "SessionStart:clear hook additional context: Fresh start: branch main" in after
    assert "question zero" not in after and "first answer" not in after


def test_slash_compact_starts_the_session_again_with_its_context_for_the_next_prompt(
    workspace: Path, fake_api: FakeMessagesAPI, isolated_state: Path
) -> None:
    log = workspace.parent / "events.jsonl"
    user_settings(isolated_state, hooks=hooks_with_context(log, "compact", "Compacted: reread NOTES.md"))
    fake_api.queue(*[model] * 5)
    first = claw_json(workspace, "-p", "question zero", env=fake_api.env(KEY))
    for n in ("one", "two"):
        claw_json(workspace, "-p", f"question {n}", "--resume", first["session_id"], env=fake_api.env(KEY))
    log.unlink()

    claw_json(workspace, "-p", "/compact", "--resume", first["session_id"], env=fake_api.env(KEY))
    assert [e["source"] for e in by_event(log, "SessionStart")] == ["resume", "compact"]
    assert not fake_api.requests[-1].body.get("tools")  # the last request was the summary's

    claw_json(workspace, "-p", "question three", "--resume", first["session_id"], env=fake_api.env(KEY))
    after = sent(fake_api.requests[-1])
    assert "SessionStart:compact hook additional context: Compacted: reread NOTES.md" in after
    assert "The user asked numbered questions." in after
    assert "question zero" not in after


def test_auto_compaction_starts_the_session_again_with_source_compact(
    workspace: Path, fake_api: FakeMessagesAPI, isolated_state: Path
) -> None:
    log = workspace.parent / "events.jsonl"
    user_settings(
        isolated_state,
        hooks=hooks_with_context(log, "compact", "Compacted: reread NOTES.md"),
        autoCompactTokens=2000,
    )
    fake_api.queue(*[model] * 6)
    first = claw_json(workspace, "-p", "remember this: " + "lorem ipsum " * 800, env=fake_api.env(KEY))
    for prompt in ("second question", "third question"):
        claw_json(workspace, "-p", prompt, "--resume", first["session_id"], env=fake_api.env(KEY))

    summaries = [r for r in fake_api.requests if not r.body.get("tools")]
    assert len(summaries) == 1
    starts = by_event(log, "SessionStart")
    assert [e["source"] for e in starts] == ["startup", "resume", "resume", "compact"]
    after = fake_api.requests[fake_api.requests.index(summaries[0]) + 1]
    assert "SessionStart:compact hook additional context: Compacted: reread NOTES.md" in sent(after)
    assert "lorem ipsum " * 10 not in sent(after)
