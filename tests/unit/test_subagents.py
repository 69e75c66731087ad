"""Subagents: definitions from `.claude/agents`, the `Agent` tool (alias `Task`), each subagent's own
conversation, tool subset, model and transcript, concurrency, resume, permissions and cancel, with the
real CLI and SDK against the fake Messages API."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.agent.subagents import child_mode, load_agents
from claw_lsp.core.events import TextDelta, ToolCallStarted
from claw_lsp.core.updates import session_update
from tests.fakes.fake_messages_api import FakeMessagesAPI, RecordedRequest, reply, text, tool_use
from tests.unit.test_cli import KEY, claw, popen, result_of


def agent_file(folder: Path, name: str, body: str = "You review code.", **meta: Any) -> Path:
    """Write `<folder>/<name>.md` with frontmatter `meta` (name and description by default)."""
    folder.mkdir(parents=True, exist_ok=True)
    fields = {"name": name, "description": f"The {name} agent", **meta}
    lines = "".join(f"{k}: {json.dumps(v) if not isinstance(v, str) else v}\n" for k, v in fields.items())
    path = folder / f"{name}.md"
    path.write_text(f"---\n{lines}---\n{body}\n")
    return path


def tool_names(req: RecordedRequest) -> list[str]:
    return [t["name"] for t in req.body.get("tools", [])]


def first_user_text(req: RecordedRequest) -> str:
    content = req.body["messages"][0]["content"]
    return content if isinstance(content, str) else content[0]["text"]


def subagent_transcripts(state: Path) -> list[Path]:
    return sorted(state.rglob("subagents/agent-*.jsonl"))


# -- definitions ------------------------------------------------------------------------------------


def test_builtin_user_and_project_agents_load_with_project_winning(workspace: Path, home: Path) -> None:
    agent_file(home / ".claude" / "agents", "reviewer", body="USER PROMPT", tools="Read, Grep")
    agent_file(workspace / ".claude" / "agents", "reviewer", body="PROJECT PROMPT", model="haiku")
    agent_file(workspace / ".claw" / "agents", "tester", tools=["Read", "Bash(pytest:*)"], maxTurns=3)
    (workspace / ".claude" / "agents" / "broken.md").write_text("---\nname: [unclosed\n---\nx\n")
    (workspace / ".claude" / "agents" / "nameless.md").write_text("---\ndescription: d\n---\nx\n")
    loaded = load_agents([workspace], trusted=False)
    assert {"general-purpose", "Explore", "reviewer", "tester"} <= set(loaded.agents)
    reviewer = loaded.agents["reviewer"]
    assert reviewer.prompt == "PROJECT PROMPT" and reviewer.model == "haiku" and reviewer.tools is None
    tester = loaded.agents["tester"]
    assert tester.max_turns == 3
    assert tester.tool_names(["Read", "Write", "Bash", "Agent"]) == ["Read", "Bash"]
    assert len(loaded.warnings) == 2
    assert any("broken.md" in w and "YAML" in w for w in loaded.warnings)
    assert any("nameless.md" in w and "name" in w for w in loaded.warnings)
    explore = loaded.agents["Explore"]
    assert "Write" not in explore.tool_names(["Read", "Write", "Edit", "Grep", "Agent"])
    assert explore.permission_mode == "plan"


def test_an_untrusted_workspace_agent_cannot_widen_permissions(workspace: Path, home: Path) -> None:
    agent_file(workspace / ".claude" / "agents", "yolo", permissionMode="bypassPermissions")
    agent_file(home / ".claude" / "agents", "mine", permissionMode="acceptEdits")
    untrusted = load_agents([workspace], trusted=False)
    assert untrusted.agents["yolo"].permission_mode is None
    assert any("held back" in w and "yolo.md" in w for w in untrusted.warnings)
    assert untrusted.agents["mine"].permission_mode == "acceptEdits"  # the user's own file
    trusted = load_agents([workspace], trusted=True)
    assert trusted.agents["yolo"].permission_mode == "bypassPermissions"


def test_a_subagent_never_leaves_plan_mode_and_keeps_a_parents_bypass() -> None:
    assert child_mode("plan", "acceptEdits") == "plan"
    assert child_mode("bypassPermissions", None) == "bypassPermissions"
    assert child_mode("bypassPermissions", "plan") == "plan"
    assert child_mode("default", "acceptEdits") == "acceptEdits"
    assert child_mode("acceptEdits", None) == "acceptEdits"


def test_nested_events_carry_their_parent_tool_call_in_acp_meta() -> None:
    started = session_update(
        ToolCallStarted(tool_call_id="t2", name="Read", title="Reading a", parent_tool_call_id="t1"), 1000
    )
    assert started is not None and started.field_meta == {"claw": {"parentToolCallId": "t1"}}
    chunk = session_update(TextDelta(text="working", parent_tool_call_id="t1"), 1000)
    assert chunk is not None and chunk.session_update == "agent_thought_chunk"  # not the answer
    top = session_update(TextDelta(text="answer"), 1000)
    assert top is not None and top.session_update == "agent_message_chunk" and top.field_meta is None


# -- runs through the CLI and the real SDK ----------------------------------------------------------


def test_explore_runs_its_own_conversation_and_only_its_report_returns(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI, isolated_state: Path
) -> None:
    (workspace / "config.py").write_text("SECRET_DETAIL = 'only the subagent reads this'\n")
    fake_api.queue(
        reply(
            text("Delegating."),
            tool_use(
                "Agent",
                {
                    "description": "find the config",
                    "prompt": "Where is the config defined?",
                    "subagent_type": "Explore",
                },
                id="toolu_parent_1",
            ),
        ),
        reply(tool_use("Read", {"file_path": str(workspace / "config.py")})),
        reply(text("REPORT: config.py line 1 defines SECRET_DETAIL.")),
        reply(text("The config is in config.py.")),
    )
    proc = claw(workspace, "-p", "find the config", "--output-format", "json", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    assert result_of(proc)["result"] == "The config is in config.py."
    parent1, child1, child2, parent2 = fake_api.requests
    # The subagent's requests form their own conversation, with its own prompt and tools.
    assert first_user_text(child1) == "Where is the config defined?"
    assert len(child1.body["messages"]) == 1
    system = "".join(b["text"] for b in child1.body["system"])
    assert "Explore" in system and "read-only" in system
    assert "Agent" in tool_names(parent1) and "Agent" not in tool_names(child1)
    assert {"Read", "Grep", "Glob"} <= set(tool_names(child1))
    assert not {"Write", "Edit", "MultiEdit"} & set(tool_names(child1))
    assert "only the subagent reads this" in child2.last_tool_result()
    # Only the final report returns to the parent.
    result = parent2.last_tool_result()
    assert result.startswith("REPORT: config.py line 1") and "only the subagent reads this" not in result
    assert "pass it as `resume`" in result
    parent_text = json.dumps(parent2.body["messages"])
    assert "only the subagent reads this" not in parent_text
    # Its transcript is kept beside the session's, and is not listed as a session.
    (transcript,) = subagent_transcripts(isolated_state)
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    meta = records[0]
    assert meta["type"] == "meta" and meta["agent_type"] == "Explore"
    assert meta["parent_session_id"] == transcript.parent.parent.name
    assert (transcript.parent.parent.with_suffix(".jsonl")).is_file()
    kinds = [r["type"] for r in records]
    assert kinds.count("message") == 4  # prompt, Read call, its result, the report
    listed = claw(workspace, "sessions", "--json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 1


def test_task_is_an_alias_and_a_custom_agent_gets_its_tools_model_and_prompt(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI
) -> None:
    agent_file(
        home / ".claude" / "agents",
        "reviewer",
        body="You are a meticulous reviewer. Say LGTM or not.",
        tools="Read, Grep",
        model="claude-reviewer-9",
    )
    fake_api.queue(
        reply(
            tool_use(
                "Task", {"description": "review", "prompt": "Review app.py", "subagent_type": "reviewer"}
            )
        ),
        reply(text("LGTM"), tool_use("Grep", {"pattern": "TODO"})),
        reply(text("LGTM, no TODOs")),
        reply(text("The reviewer says LGTM.")),
    )
    proc = claw(workspace, "-p", "review it", "--verbose", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "The reviewer says LGTM."  # the subagent's words are not the answer
    assert "● reviewer: review" in proc.stderr
    _parent1, child, _child2, parent2 = fake_api.requests
    # The subagent's tool call and result, nested under its Agent call.
    assert "\n  ● Searching for: TODO\n    ⎿ No files found\n  ⎿ LGTM, no TODOs" in proc.stderr
    assert child.body["model"] == "claude-reviewer-9"
    assert tool_names(child) == ["Read", "Grep"]
    assert "meticulous reviewer" in "".join(b["text"] for b in child.body["system"])
    assert parent2.last_tool_result().startswith("LGTM, no TODOs")
    assert "reviewer: " in json.dumps(fake_api.requests[0].body["tools"])  # listed to the model


def test_several_subagents_run_concurrently(workspace: Path, home: Path, fake_api: FakeMessagesAPI) -> None:
    both_started = threading.Event()

    def child(label: str) -> Any:
        def respond(req: RecordedRequest) -> dict[str, Any]:
            # Each child's request waits for the other's: run one after the other, they would hang.
            if len(fake_api.requests) >= 3:
                both_started.set()
            assert both_started.wait(10), "the subagents ran one after the other"
            return reply(text(f"report from {first_user_text(req)}"))

        return respond

    calls = [
        tool_use("Agent", {"description": f"task {n}", "prompt": f"task {n}", "subagent_type": "Explore"})
        for n in ("A", "B")
    ]
    fake_api.queue(reply(*calls), child("A"), child("B"), reply(text("both done")))
    proc = claw(workspace, "-p", "two things", "--output-format", "json", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    assert both_started.is_set()
    results = sorted(r.text for r in fake_api.requests[3].tool_results())
    assert results[0].startswith("report from task A") and results[1].startswith("report from task B")


def test_resume_continues_the_same_subagent_conversation(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI
) -> None:
    go = {"description": "count", "prompt": "remember 7", "subagent_type": "general-purpose"}
    fake_api.queue(reply(tool_use("Agent", go)), reply(text("noted 7")), reply(text("ok")))
    first = claw(workspace, "-p", "start", "--output-format", "json", env=fake_api.env(KEY))
    assert first.returncode == 0, first.stderr
    report = fake_api.requests[2].last_tool_result()
    agent_id = report.split("id ", 1)[1].split(":", 1)[0]
    session = result_of(first)["session_id"]

    again = {**go, "prompt": "what number?", "resume": agent_id}
    fake_api.queue(reply(tool_use("Agent", again)), reply(text("it was 7")), reply(text("7")))
    second = claw(
        workspace, "-p", "ask it", "--resume", session, "--output-format", "json", env=fake_api.env(KEY)
    )
    assert second.returncode == 0, second.stderr
    child = fake_api.requests[4]
    said = [m["content"][0]["text"] for m in child.body["messages"]]
    assert said == ["remember 7", "noted 7", "what number?"]
    assert fake_api.requests[5].last_tool_result().startswith("it was 7")


def test_an_unknown_agent_type_is_an_error_the_model_reads(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(
        reply(tool_use("Agent", {"description": "x", "prompt": "x", "subagent_type": "wizard"})),
        reply(text("sorry")),
    )
    proc = claw(workspace, "-p", "go", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    (result,) = fake_api.requests[1].tool_results()
    assert result.is_error and "wizard" in result.text and "Explore" in result.text


def test_a_subagent_asks_like_its_parent_and_explore_cannot_write(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI
) -> None:
    target = workspace / "made.txt"
    fake_api.queue(
        reply(tool_use("Agent", {"description": "w", "prompt": "write", "subagent_type": "general-purpose"})),
        reply(tool_use("Write", {"file_path": str(target), "content": "x"})),
        reply(text("could not write")),
        reply(tool_use("Agent", {"description": "e", "prompt": "touch it", "subagent_type": "Explore"})),
        reply(tool_use("Bash", {"command": f"touch {target}"})),
        reply(text("refused")),
        reply(text("done")),
    )
    # No terminal: a question nobody can answer is a refusal, for the subagent as for the parent.
    proc = claw(workspace, "-p", "go", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    assert not target.exists()
    assert fake_api.requests[2].tool_results()[0].is_error
    bash_result = fake_api.requests[5].tool_results()[0]
    assert bash_result.is_error and "plan" in bash_result.text.lower()


def test_interrupting_the_parent_cancels_the_subagent(
    workspace: Path,
    home: Path,
    fake_api: FakeMessagesAPI,
    isolated_state: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_api.queue(
        reply(tool_use("Agent", {"description": "slow", "prompt": "slow", "subagent_type": "Explore"})),
        reply(text("a " * 400), chunk=2, delay=0.05),  # streams for ~20 s unless cancelled
    )
    for key, value in fake_api.env(KEY).items():
        monkeypatch.setenv(key, value)  # popen() passes os.environ on
    proc = popen(workspace, "-p", "go")
    fake_api.wait_for_requests(2, timeout=20)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode != 0, err
    (transcript,) = subagent_transcripts(isolated_state)
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    finished = [r["event"] for r in records if r["type"] == "event" and r["event"]["type"] == "run_finished"]
    assert finished and finished[-1]["stop_reason"] == "cancelled"
    assert len(fake_api.requests) == 2  # the parent did not go on after the cancel


def test_subagent_stop_hooks_fire_for_the_subagent_and_stop_hooks_for_the_parent(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI, isolated_state: Path
) -> None:
    log = workspace.parent / "hooks.jsonl"
    dump = f"cat >> {log}; echo >> {log}"
    hooks = {
        event: [{"matcher": matcher, "hooks": [{"type": "command", "command": dump}]}]
        for event, matcher in (("SubagentStop", "Explore"), ("Stop", ""))
    }
    user = isolated_state / "XDG_CONFIG_HOME" / "claw"
    user.mkdir(parents=True, exist_ok=True)
    (user / "settings.json").write_text(json.dumps({"hooks": hooks}))
    fake_api.queue(
        reply(tool_use("Agent", {"description": "look", "prompt": "look", "subagent_type": "Explore"})),
        reply(text("seen it")),
        reply(text("all done")),
    )
    proc = claw(workspace, "-p", "go", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    fired = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert [f["hook_event_name"] for f in fired] == ["SubagentStop", "Stop"]
    sub, stop = fired
    assert sub["agent_type"] == "Explore" and sub["last_assistant_message"] == "seen it"
    assert Path(sub["agent_transcript_path"]).is_file() and "subagents" in sub["agent_transcript_path"]
    assert sub["session_id"] == stop["session_id"]  # the parent's session
    assert stop["last_assistant_message"] == "all done"


def test_a_subagent_prompt_is_never_a_slash_command(
    workspace: Path, home: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(
        reply(tool_use("Agent", {"description": "x", "prompt": "/cost please", "subagent_type": "Explore"})),
        reply(text("I was asked about /cost")),
        reply(text("ok")),
    )
    proc = claw(workspace, "-p", "go", env=fake_api.env(KEY))
    assert proc.returncode == 0, proc.stderr
    assert first_user_text(fake_api.requests[1]) == "/cost please"  # reached the model as text
