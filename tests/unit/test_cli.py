"""The headless `claw` CLI, run as a subprocess: output formats, sessions, exit codes, permissions,
Ctrl-C, and the real Anthropic SDK talking to the fake Messages API over HTTP."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.agent.session import SessionStore
from claw_lsp.core.messages import Message
from tests.fakes.fake_messages_api import (
    FakeMessagesAPI,
    http_error,
    reply,
    stream_error,
    text,
    tool_use,
)
from tests.unit.test_loop import assert_consistent

ROOT = Path(__file__).resolve().parents[2]
CLAW = ROOT / ".venv" / "bin" / "claw"
KEY = "test-key-cli-0123456789-SECRET"
ACCEPT_EDITS = ("--permission-mode", "acceptEdits")


def claw(
    ws: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `claw ARGS` in `ws` without a terminal (stdin from /dev/null)."""
    return subprocess.run(
        [str(CLAW), *args],
        cwd=ws,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def popen(ws: Path, *args: str) -> subprocess.Popen[str]:
    """Start `claw ARGS` in `ws` without a terminal, with piped output."""
    return subprocess.Popen(
        [str(CLAW), *args],
        cwd=ws,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def claw_json(ws: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `claw ARGS --output-format json`; return its result object."""
    return result_of(claw(ws, *args, "--output-format", "json", env=env))


def script(path: Path, *turns: dict[str, Any]) -> str:
    """Write a scripted-provider JSONL file of model turns; return its path."""
    path.write_text("".join(json.dumps(t) + "\n" for t in turns))
    return str(path)


def said(value: str, **extra: Any) -> dict[str, Any]:
    """A scripted turn that only answers text."""
    return {"content": [{"type": "text", "text": value}], **extra}


def calls(name: str, tool_input: dict[str, Any], value: str = "") -> dict[str, Any]:
    """A scripted turn that calls one tool (after saying `value`, if given)."""
    content: list[dict[str, Any]] = [{"type": "text", "text": value}] if value else []
    content.append({"type": "tool_use", "name": name, "input": tool_input})
    return {"content": content}


def result_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The single JSON object `--output-format json` printed."""
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout
    obj: dict[str, Any] = json.loads(lines[0])
    return obj


def transcript(ws: Path, session_id: str) -> list[Message]:
    """The session's messages as a resumed run would load them."""
    return SessionStore(ws).open(session_id).load_messages()


def transcript_files() -> list[Path]:
    """Every file the CLI wrote under the (test's) state directory."""
    return [p for p in Path(os.environ["XDG_STATE_HOME"]).rglob("*") if p.is_file()]


@pytest.fixture
def buggy(workspace: Path) -> Path:
    """A workspace with a one-line bug in app.py."""
    (workspace / "app.py").write_text("def double(x):\n    return x * 3\n")
    return workspace


def fix_script(tmp_path: Path, ws: Path, final_delay_ms: int = 0) -> str:
    """Read app.py, fix it, say so (after `final_delay_ms`)."""
    return script(
        tmp_path / "fix.jsonl",
        calls("Read", {"file_path": "{{workspace}}/app.py"}, "Let me look at app.py."),
        calls(
            "Edit",
            {"file_path": "{{workspace}}/app.py", "old_string": "x * 3", "new_string": "x * 2"},
        ),
        said("Fixed: double() now multiplies by 2.", delay_ms=final_delay_ms),
    )


# -- output formats ------------------------------------------------------------------------------


def test_text_output_streams_the_answer_and_fixes_the_file(buggy: Path, tmp_path: Path) -> None:
    proc = claw(buggy, "-p", "fix double", "--script", fix_script(tmp_path, buggy), *ACCEPT_EDITS)
    assert proc.returncode == 0, proc.stderr
    assert "Let me look at app.py." in proc.stdout
    assert proc.stdout.rstrip().endswith("Fixed: double() now multiplies by 2.")
    assert (buggy / "app.py").read_text() == "def double(x):\n    return x * 2\n"
    assert proc.stderr == ""


def test_json_output_is_one_result_object(buggy: Path, tmp_path: Path) -> None:
    fix = fix_script(tmp_path, buggy)
    proc = claw(buggy, "-p", "fix double", "--script", fix, *ACCEPT_EDITS, "--output-format", "json")
    assert proc.returncode == 0, proc.stderr
    result = result_of(proc)
    assert result["type"] == "result"
    assert result["subtype"] == "success"
    assert result["is_error"] is False
    assert result["result"] == "Fixed: double() now multiplies by 2."
    assert result["num_turns"] == 3
    assert result["usage"]["input_tokens"] == 30 and result["usage"]["output_tokens"] == 30
    assert result["total_cost_usd"] == 0
    assert [s["session_id"] for s in sessions(buggy)] == [result["session_id"]]


def test_stream_json_prints_claude_code_messages_as_they_happen_and_ends_with_the_result(
    buggy: Path, tmp_path: Path
) -> None:
    # The last turn waits 1.5 s: the earlier messages must be readable before the process ends.
    slow = fix_script(tmp_path, buggy, final_delay_ms=1500)
    proc = popen(buggy, "-p", "fix double", "--script", slow, *ACCEPT_EDITS, "--output-format", "stream-json")
    assert proc.stdout is not None
    early: list[dict[str, Any]] = []
    for line in proc.stdout:
        early.append(json.loads(line))
        if sum(m["type"] == "user" for m in early) == 2:  # both tool results
            break
    assert proc.poll() is None, "the messages came only at the end"
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    messages = early + [json.loads(line) for line in rest.splitlines()]
    kinds = [m["type"] for m in messages]
    assert kinds == ["system", "assistant", "user", "assistant", "user", "assistant", "result"]
    assert messages[0]["subtype"] == "init"
    assert messages[-1]["subtype"] == "success"
    assert {m["session_id"] for m in messages} == {messages[0]["session_id"]}
    read_call = messages[1]["message"]["content"][-1]
    assert read_call["type"] == "tool_use" and read_call["name"] == "Read"
    result_block = messages[2]["message"]["content"][0]
    assert result_block["type"] == "tool_result" and result_block["tool_use_id"] == read_call["id"]


def test_claw_stream_json_prints_claws_own_events_and_ends_with_the_result(
    buggy: Path, tmp_path: Path
) -> None:
    fix = fix_script(tmp_path, buggy)
    proc = claw(
        buggy, "-p", "fix double", "--script", fix, *ACCEPT_EDITS, "--output-format", "claw-stream-json"
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "run_started"
    assert kinds[-1] == "result" and kinds.count("result") == 1
    assert "run_finished" not in kinds
    assert {"tool_call", "tool_call_update", "agent_message_chunk", "usage"} <= set(kinds)
    assert events[-1]["subtype"] == "success"
    assert events[-1]["session_id"] == events[0]["session_id"]


# -- sessions -------------------------------------------------------------------------------------


def sessions(ws: Path) -> list[dict[str, Any]]:
    """`claw sessions --json` in `ws`."""
    proc = claw(ws, "sessions", "--json")
    assert proc.returncode == 0, proc.stderr
    listed: list[dict[str, Any]] = json.loads(proc.stdout)
    return listed


def test_resume_and_continue_carry_on_the_same_session(workspace: Path, tmp_path: Path) -> None:
    turns = script(tmp_path / "t.jsonl", said("first answer"), said("second answer"), said("third answer"))
    sid = claw_json(workspace, "-p", "one", "--script", turns)["session_id"]
    second = claw_json(workspace, "-p", "two", "--resume", sid, "--script", turns)
    assert second["session_id"] == sid
    assert second["result"] == "second answer"  # the scripted model continued after turn 1
    third = claw_json(workspace, "-p", "three", "--continue", "--script", turns)
    assert third["session_id"] == sid and third["result"] == "third answer"
    (listed,) = sessions(workspace)
    assert listed["session_id"] == sid and listed["messages"] == 6
    texts = [m.text() for m in transcript(workspace, sid)]
    assert texts == ["one", "first answer", "two", "second answer", "three", "third answer"]


def test_resume_by_unique_prefix(workspace: Path, tmp_path: Path) -> None:
    turns = script(tmp_path / "t.jsonl", said("a"), said("b"))
    sid = claw_json(workspace, "-p", "one", "--script", turns)["session_id"]
    again = claw_json(workspace, "-p", "two", "-r", sid[:8], "--script", turns)
    assert again["session_id"] == sid and again["result"] == "b"


@pytest.mark.parametrize("flag", [["--resume", "0123abcd"], ["--resume", "no-such-session"], ["--continue"]])
def test_resuming_a_missing_session_is_a_config_error(
    workspace: Path, tmp_path: Path, flag: list[str]
) -> None:
    turns = script(tmp_path / "t.jsonl", said("never"))
    proc = claw(workspace, "-p", "hi", *flag, "--script", turns)
    assert proc.returncode == 1  # Claude Code's exit code for every failure
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("error: ") and ("session" in proc.stderr or "conversation" in proc.stderr)
    assert proc.stdout == ""


def test_sessions_are_listed_newest_first(workspace: Path, tmp_path: Path) -> None:
    empty = claw(workspace, "sessions")
    assert empty.returncode == 0 and "No sessions" in empty.stdout
    turns = script(tmp_path / "t.jsonl", said("ok"))
    ids = [claw_json(workspace, "-p", f"task {n}", "--script", turns)["session_id"] for n in range(3)]
    listed = sessions(workspace)
    assert [s["session_id"] for s in listed] == ids[::-1]
    assert [s["title"] for s in listed] == ["task 2", "task 1", "task 0"]
    assert all(s["scripted"] and s["messages"] == 2 for s in listed)
    plain = claw(workspace, "sessions")
    assert plain.returncode == 0
    lines = plain.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ids[::-1]
    assert all("[scripted]" in line for line in lines)


# -- configuration errors and limits --------------------------------------------------------------


def test_no_api_key_is_one_line_naming_the_variable(workspace: Path) -> None:
    # The autouse fixture removed ANTHROPIC_API_KEY from the environment; this one goes too.
    os.environ.pop("ANTHROPIC_AUTH_TOKEN", None)
    proc = claw(workspace, "-p", "hello")
    assert proc.returncode == 1
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "ANTHROPIC_API_KEY" in proc.stderr
    assert proc.stdout == ""
    assert not transcript_files()


def test_unreadable_script_is_a_config_error(workspace: Path, tmp_path: Path) -> None:
    proc = claw(workspace, "-p", "hi", "--script", str(tmp_path / "missing.jsonl"))
    assert proc.returncode == 1
    assert len(proc.stderr.splitlines()) == 1 and "missing.jsonl" in proc.stderr


def test_no_prompt_is_a_usage_error(workspace: Path) -> None:
    proc = claw(workspace)
    assert proc.returncode == 1
    assert len(proc.stderr.splitlines()) == 1 and "-p" in proc.stderr


def test_max_turns_stops_with_error_max_turns(workspace: Path, tmp_path: Path) -> None:
    turns = script(tmp_path / "t.jsonl", *[calls("LS", {"path": "{{workspace}}"})] * 3)
    proc = claw(workspace, "-p", "loop", "--script", turns, "--max-turns", "1", "--output-format", "json")
    assert proc.returncode == 1
    result = result_of(proc)
    assert result["subtype"] == "error_max_turns"
    assert result["is_error"] is True
    assert result["num_turns"] == 1
    assert_consistent(transcript(workspace, result["session_id"]))


# -- permissions ----------------------------------------------------------------------------------


def test_bash_without_a_terminal_is_denied_and_the_model_is_told_why(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(
        reply(tool_use("Bash", {"command": "touch made-by-bash"})),
        reply(text("The tool said: {{tool_result}}")),
    )
    proc = claw(workspace, "-p", "make a file", "--output-format", "json", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    assert not (workspace / "made-by-bash").exists()
    answer = result_of(proc)["result"]
    assert "denied" in answer.lower()
    assert "without a terminal" in answer  # says nobody could be asked, and how to allow it
    assert "--permission-mode" in answer


def test_bash_runs_with_bypass_permissions(workspace: Path, tmp_path: Path) -> None:
    turns = script(tmp_path / "t.jsonl", calls("Bash", {"command": "touch made-by-bash"}), said("made it"))
    proc = claw(workspace, "-p", "make a file", "--script", turns, "--permission-mode", "bypassPermissions")
    assert proc.returncode == 0, proc.stderr
    assert (workspace / "made-by-bash").exists()


def test_plan_mode_refuses_edits_with_an_explanation(buggy: Path, tmp_path: Path) -> None:
    fix = fix_script(tmp_path, buggy)
    proc = claw(
        buggy, "-p", "fix double", "--script", fix, "--permission-mode", "plan", "--output-format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    assert (buggy / "app.py").read_text() == "def double(x):\n    return x * 3\n"
    messages = transcript(buggy, result_of(proc)["session_id"])
    results = [r for m in messages for r in m.tool_results()]
    read, edit = results
    assert not read.is_error and "x * 3" in read.text()
    assert edit.is_error and "plan" in edit.text().lower()


# -- Ctrl-C ---------------------------------------------------------------------------------------


def test_sigint_during_a_slow_turn_exits_130_and_the_session_resumes(buggy: Path, tmp_path: Path) -> None:
    turns = script(
        tmp_path / "t.jsonl",
        calls("Read", {"file_path": "{{workspace}}/app.py"}),
        said("word " * 400, delay_ms=2000),  # 16 characters every 0.2 s after a 2 s pause
        said("resumed fine"),
    )
    proc = popen(buggy, "-p", "explain", "--script", turns, "--output-format", "claw-stream-json")
    assert proc.stdout is not None and proc.stderr is not None
    session_id = ""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sel.select(timeout=deadline - time.monotonic()):
            event = json.loads(proc.stdout.readline())
            session_id = session_id or event.get("session_id", "")
            if event["type"] == "agent_message_chunk" and event["text"].startswith("word"):
                break
        else:
            pytest.fail("the slow turn never started streaming")
    signalled = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    took = time.monotonic() - signalled
    assert proc.returncode == 130, err
    assert took < 2.0  # "within about a second", with margin for a loaded machine
    result = json.loads(out.splitlines()[-1])
    assert result["type"] == "result" and result["subtype"] == "error_cancelled"
    messages = transcript(buggy, session_id)
    assert_consistent(messages)
    assert messages[-1].text() == "[Request interrupted by user]"
    assert messages[-2].role == "assistant" and messages[-2].text().startswith("word")
    again = claw(buggy, "-p", "go on", "--resume", session_id, "--script", turns, "--output-format", "json")
    assert again.returncode == 0, again.stderr
    assert result_of(again)["result"] == "resumed fine"
    assert_consistent(transcript(buggy, session_id))


# -- the real Anthropic SDK against the fake Messages API -------------------------------------------


def test_real_sdk_run_with_a_tool_call_and_no_key_leak(buggy: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(
        reply(text("Reading it."), tool_use("Read", {"file_path": str(buggy / "app.py")}), chunk=3),
        reply(text("It returns x * 3, see: {{tool_result}}"), chunk=7),
    )
    proc = claw(buggy, "-p", "what does double do?", "--output-format", "json", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    result = result_of(proc)
    assert result["subtype"] == "success" and "return x * 3" in result["result"]
    assert result["usage"]["input_tokens"] == 20 and result["total_cost_usd"] > 0
    first, second = fake_api.requests
    assert first.headers.get("x-api-key") == KEY or first.headers.get("authorization") == f"Bearer {KEY}"
    assert second.body["messages"][0]["content"][0]["text"] == "what does double do?"
    assert second.last_tool_result().endswith("return x * 3")
    # The tool input, streamed 3 characters at a time, was reassembled.
    (use,) = [b for b in second.body["messages"][1]["content"] if b["type"] == "tool_use"]
    assert use["input"] == {"file_path": str(buggy / "app.py")}
    files = transcript_files()
    assert files
    for path in files:
        assert KEY not in path.read_text(errors="replace"), path
    assert KEY not in proc.stderr and KEY not in proc.stdout


def test_real_sdk_resume_sends_the_earlier_conversation(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("Hi, I am Claw.")), reply(text("You said hello.")))
    first = claw_json(workspace, "-p", "hello", env=fake_api.env(KEY))
    second = claw_json(
        workspace, "-p", "what did I say?", "--resume", first["session_id"], env=fake_api.env(KEY)
    )
    assert second["result"] == "You said hello."
    texts = [m["content"][0]["text"] for m in fake_api.requests[1].body["messages"]]
    assert texts == ["hello", "Hi, I am Claw.", "what did I say?"]


def test_in_stream_overload_is_retried_and_the_run_finishes(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(stream_error("overloaded_error"), reply(text("made it")))
    proc = claw(workspace, "-p", "hi", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "made it"
    assert len(fake_api.requests) == 2


def test_persistent_overload_fails_with_one_clear_line(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(*[http_error(529, "Overloaded", retry_after_ms=1)] * 6)
    proc = claw(workspace, "-p", "hi", env=fake_api.env(KEY))
    assert proc.returncode == 1
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "overloaded" in proc.stderr.lower()
    assert KEY not in proc.stderr
    assert 1 < len(fake_api.requests) <= 6  # the SDK retried, then gave up


def test_rejected_key_is_a_config_error_naming_the_variable(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(http_error(401, "invalid x-api-key"))
    proc = claw(workspace, "-p", "hi", env=fake_api.env(KEY))
    assert proc.returncode == 1
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "ANTHROPIC_API_KEY" in proc.stderr and KEY not in proc.stderr


def test_model_flag_beats_claw_model_and_the_prompt_can_come_from_stdin(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("hello from stdin")))
    proc = subprocess.run(
        [str(CLAW), "-p", "-", "--model", "claude-opus-4-1"],
        cwd=workspace,
        env={**os.environ, **fake_api.env(KEY), "CLAW_MODEL": "claude-from-env"},
        input="a prompt on stdin\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello from stdin\n"
    (request,) = fake_api.requests
    assert request.body["model"] == "claude-opus-4-1"
    assert request.body["messages"][0]["content"][0]["text"].strip() == "a prompt on stdin"
