"""Sessions: JSONL transcripts appended as things happen, listed, resumed, forked, recovered."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from claw_lsp.agent.session import (
    INTERRUPTED,
    SessionNotFound,
    SessionStore,
    repair_transcript,
)
from claw_lsp.core.events import ToolCallStarted, UsageUpdated
from claw_lsp.core.messages import Message, TextBlock, ToolResultBlock, ToolUseBlock, Usage


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def assistant(*blocks: object) -> Message:
    return Message(role="assistant", content=list(blocks))  # type: ignore[arg-type]


def tool_turn(n: int) -> list[Message]:
    return [
        assistant(TextBlock(text=f"reading {n}"), ToolUseBlock(id=f"t{n}", name="Read", input={"n": n})),
        Message(role="user", content=[ToolResultBlock(tool_use_id=f"t{n}", content=f"out {n}")]),
    ]


@pytest.fixture
def store(workspace: Path) -> SessionStore:
    return SessionStore(workspace)


def test_store_lives_under_xdg_state_home_keyed_by_workspace(workspace: Path) -> None:
    store = SessionStore(workspace)
    expected = Path(os.environ["XDG_STATE_HOME"]) / "claw" / "projects"
    assert store.dir.parent == expected
    assert str(workspace).replace(os.sep, "-") == store.dir.name
    assert SessionStore(workspace, state_dir=Path("/x")).dir.parent == Path("/x/projects")


def test_round_trip_meta_first_then_messages_and_events(store: SessionStore) -> None:
    s = store.create(model="claude-x", provider="anthropic")
    msgs = [Message.user("fix the bug in app.py"), *tool_turn(1), assistant(TextBlock(text="done"))]
    for m in msgs:
        s.append_message(m)
    s.append_event(ToolCallStarted(tool_call_id="t1", name="Read", title="Reading app.py"))
    s.close()

    records = lines(s.path)
    meta = records[0]
    assert meta["type"] == "meta"
    assert meta["session_id"] == s.id and meta["model"] == "claude-x" and meta["provider"] == "anthropic"
    assert meta["scripted"] is False and meta["version"] == 1 and meta["forked_from"] is None
    assert [r["type"] for r in records].count("message") == 4
    assert records[-1]["type"] == "event" and records[-1]["event"]["type"] == "tool_call"

    reopened = store.open(s.id)
    assert reopened.load_messages() == msgs
    assert reopened.title == "fix the bug in app.py"
    assert reopened.meta["model"] == "claude-x"


def test_each_record_is_on_disk_as_soon_as_it_is_appended(store: SessionStore) -> None:
    s = store.create(model="m", provider="anthropic")
    sizes = [s.path.stat().st_size]
    s.append_message(Message.user("hi"))
    sizes.append(s.path.stat().st_size)
    s.append_event(UsageUpdated(request=Usage(input_tokens=5), total=Usage(input_tokens=5), cost_usd=0.1))
    sizes.append(s.path.stat().st_size)
    assert sizes == sorted(set(sizes))  # strictly growing, without closing the session
    # Another reader sees complete lines right away.
    assert lines(s.path)[-1]["event"]["type"] == "usage"
    s.close()


def test_list_newest_first_open_by_prefix_and_latest(store: SessionStore) -> None:
    assert store.list() == [] and store.latest() is None
    a = store.create(model="m", provider="anthropic")
    a.append_message(Message.user("first task"))
    b = store.create(model="m", provider="anthropic")
    b.append_message(Message.user("second task"))
    os.utime(a.path, ns=(1_000_000_000_000, 1_000_000_000_000))  # a is older
    infos = store.list()
    assert [i.session_id for i in infos] == [b.id, a.id]
    assert infos[0].title == "second task" and infos[0].messages == 1 and infos[0].model == "m"

    latest = store.latest()
    assert latest is not None and latest.id == b.id
    a.append_message(Message.user("more"))  # a becomes the most recently updated
    latest = store.latest()
    assert latest is not None and latest.id == a.id

    assert store.open(a.id[:8]).id == a.id
    with pytest.raises(SessionNotFound):
        store.open("0000-not-there")
    with pytest.raises(SessionNotFound):
        store.open("../etc/passwd")


def test_ambiguous_prefix_is_refused(store: SessionStore) -> None:
    ids = [store.create(model="m", provider="p").id for _ in range(17)]
    firsts = [i[0] for i in ids]
    shared = next(c for c in firsts if firsts.count(c) > 1)  # 17 ids, 16 hex digits: one repeats
    with pytest.raises(SessionNotFound, match="ambiguous"):
        store.open(shared)
    with pytest.raises(SessionNotFound):
        store.open("")


def test_fork_copies_transcript_and_diverges_independently(store: SessionStore) -> None:
    s = store.create(model="m", provider="scripted")
    s.append_message(Message.user("task"))
    s.append_message(assistant(TextBlock(text="ok")))
    f = store.fork(s.id[:6])
    assert f.id != s.id
    assert f.meta["forked_from"] == s.id and f.meta["scripted"] is True
    assert f.load_messages() == s.load_messages()
    f.append_message(Message.user("only in the fork"))
    assert len(f.load_messages()) == 3
    assert len(store.open(s.id).load_messages()) == 2
    assert {i.session_id for i in store.list()} == {s.id, f.id}


def test_torn_last_line_is_recovered_and_appending_continues(
    store: SessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    s = store.create(model="m", provider="anthropic")
    s.append_message(Message.user("task"))
    s.close()
    with s.path.open("a") as f:  # a crash in the middle of writing a record
        f.write('{"type":"message","message":{"role":"assistant","cont')

    resumed = store.open(s.id)
    assert resumed.load_messages() == [Message.user("task")]
    assert "unreadable line" in caplog.text
    resumed.append_message(assistant(TextBlock(text="answer")))
    resumed.close()

    records = lines(s.path)  # every line parses again
    assert [r["type"] for r in records] == ["meta", "meta_update", "message", "message"]
    assert store.open(s.id).load_messages()[-1].text() == "answer"


def test_unanswered_tool_use_gets_an_interrupted_result_on_load(store: SessionStore) -> None:
    s = store.create(model="m", provider="anthropic")
    s.append_message(Message.user("task"))
    s.append_message(
        assistant(ToolUseBlock(id="a", name="Read", input={}), ToolUseBlock(id="b", name="Bash", input={}))
    )
    loaded = s.load_messages()
    last = loaded[-1]
    assert last.role == "user"
    assert [(r.tool_use_id, r.is_error, r.text()) for r in last.tool_results()] == [
        ("a", True, INTERRUPTED),
        ("b", True, INTERRUPTED),
    ]
    # Resuming with a new prompt: the results go in front of it, in the same user message.
    s.append_message(Message.user("continue"))
    loaded = s.load_messages()
    assert len(loaded) == 3
    assert [b.type for b in loaded[-1].content] == ["tool_result", "tool_result", "text"]
    s.close()


def test_repair_keeps_partial_results_and_drops_orphans() -> None:
    msgs = [
        Message.user("task"),
        assistant(ToolUseBlock(id="a", name="Read"), ToolUseBlock(id="b", name="Read")),
        Message(role="user", content=[ToolResultBlock(tool_use_id="a", content="A")]),
        Message(role="user", content=[ToolResultBlock(tool_use_id="zzz", content="orphan")]),
    ]
    fixed = repair_transcript(msgs)
    assert len(fixed) == 3
    assert [(r.tool_use_id, r.is_error) for r in fixed[2].tool_results()] == [("a", False), ("b", True)]
    consistent = [Message.user("task"), *tool_turn(1)]
    assert repair_transcript(consistent) == consistent


def test_scripted_sessions_say_so(store: SessionStore) -> None:
    s = store.create(model="demo", provider="scripted")
    assert lines(s.path)[0]["scripted"] is True and lines(s.path)[0]["provider"] == "scripted"
    other = store.create(model="claude", provider="anthropic")
    other.note_provider("scripted", "demo")
    size = other.path.stat().st_size
    other.set_meta(scripted=True, provider="scripted")  # nothing changed: nothing written
    assert other.path.stat().st_size == size
    assert store.open(other.id).meta["scripted"] is True
    assert {i.session_id: i.scripted for i in store.list()} == {s.id: True, other.id: True}


def test_api_keys_are_scrubbed_from_every_record(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-ant-api03-" + "Q" * 40
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    monkeypatch.setenv("OPENAI_API_KEY", "local-secret-value-123")
    s = store.create(model="m", provider="anthropic")
    s.append_message(Message.user(f"my key is {key}"))
    s.append(
        {"type": "note", "env": {"OPENAI_API_KEY": "local-secret-value-123"}, "other": "sk-proj-" + "z" * 30}
    )
    s.append_event(
        ToolCallStarted(tool_call_id="t", name="Bash", title="echo", input={"command": f"echo {key}"})
    )
    s.close()
    text = s.path.read_text()
    assert key not in text and "local-secret-value-123" not in text and "zzzzzzzzzz" not in text
    assert text.count("[REDACTED]") == 5  # prompt, its title, env value, sk- string, event input


def test_compaction_boundary_starts_the_context(store: SessionStore) -> None:
    s = store.create(model="m", provider="anthropic")
    for m in [Message.user("one"), assistant(TextBlock(text="1")), Message.user("two")]:
        s.append_message(m)
    kept = [Message.user("two")]
    s.append_compaction("the user asked for one", kept)
    s.append_message(assistant(TextBlock(text="2")))
    loaded = store.open(s.id).load_messages()
    assert loaded[0].text().startswith("[Conversation summary]")
    assert "the user asked for one" in loaded[0].text()
    assert loaded[1:] == [Message.user("two"), assistant(TextBlock(text="2"))]
    s.close()


def test_every_credential_value_is_scrubbed(store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "auth-token-value-abcdef")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "x" * 36)
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to scrub without mangling ordinary text
    s = store.create(model="m", provider="anthropic")
    s.append_message(Message.user("auth-token-value-abcdef and ghp_" + "x" * 36 + " and abc"))
    s.close()
    text = s.path.read_text()
    assert "auth-token-value-abcdef" not in text and "ghp_xxxx" not in text
    assert " and abc" in text
