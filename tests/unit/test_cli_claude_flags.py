"""`claw` with Claude Code's `-p` command line, run as a subprocess against the fake Messages API:
where the prompt comes from, unknown flags, errors and exit codes, and the flags that shape the
run (system prompt, tools, permissions, sessions, settings, MCP, structured output, agents,
partial messages, the fallback model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.fakes.fake_messages_api import FakeMessagesAPI, http_error, reply, text, tool_use

ROOT = Path(__file__).resolve().parents[2]
CLAW = ROOT / ".venv" / "bin" / "claw"
KEY = "test-key-flags-0123456789"
ECHO_SERVER = ROOT / "tests" / "fakes" / "mcp_echo_server.py"


def run(
    ws: Path, *args: str, api: FakeMessagesAPI | None = None, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`claw ARGS` in `ws` (stdin from `stdin`, else /dev/null), against `api` when given."""
    env = {**os.environ, **(api.env(KEY) if api is not None else {})}
    return subprocess.run(
        [str(CLAW), *args],
        cwd=ws,
        env=env,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def result_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The one JSON line `--output-format json` printed."""
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, (proc.stdout, proc.stderr)
    obj: dict[str, Any] = json.loads(lines[0])
    return obj


def messages_of(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """The JSON lines `--output-format stream-json` printed."""
    return [json.loads(line) for line in proc.stdout.splitlines()]


def prompt_sent(api: FakeMessagesAPI, n: int = 0) -> str:
    """The user's text in request `n`."""
    first = api.requests[n].body["messages"][0]["content"]
    return "".join(b.get("text", "") for b in first).strip()


def system_sent(api: FakeMessagesAPI, n: int = 0) -> str:
    """The system prompt of request `n` as one string."""
    system = api.requests[n].body.get("system", "")
    return system if isinstance(system, str) else "".join(b["text"] for b in system)


def tools_sent(api: FakeMessagesAPI, n: int = 0) -> list[str]:
    """The tool names of request `n`."""
    return [t["name"] for t in api.requests[n].body.get("tools", [])]


# -- where the prompt comes from ------------------------------------------------------------------


def test_print_flag_before_output_format_and_prompt(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("json answer")))
    proc = run(workspace, "-p", "--output-format", "json", "the task", api=fake_api)
    assert proc.returncode == 0, proc.stderr
    result = result_of(proc)
    assert result["type"] == "result" and result["result"] == "json answer"
    for key in ("duration_ms", "duration_api_ms", "num_turns", "total_cost_usd", "usage", "modelUsage"):
        assert key in result
    assert result["permission_denials"] == [] and result["errors"] == []
    assert result["terminal_reason"] == "completed" and result["stop_reason"] == "end_turn"
    assert prompt_sent(fake_api) == "the task"


def test_prompt_before_the_print_flag(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("text answer")))
    proc = run(workspace, "the task", "-p", api=fake_api)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "text answer\n"
    assert prompt_sent(fake_api) == "the task"


def test_prompt_on_stdin(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("piped answer")))
    proc = run(workspace, "-p", api=fake_api, stdin="task from a pipe\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "piped answer\n"
    assert prompt_sent(fake_api) == "task from a pipe"


def test_no_prompt_at_all_is_claude_codes_error(workspace: Path) -> None:
    proc = run(workspace, "-p")
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: Input must be provided either through stdin or as a prompt")


# -- flags claw does not know ---------------------------------------------------------------------


def test_unknown_and_unsupported_flags_are_warned_about_and_ignored(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("fine")))
    proc = run(
        workspace,
        "-p",
        "--frobnicate",
        "--betas",
        "some-beta",
        "--include-hook-events",
        "the task",
        api=fake_api,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "fine\n"
    assert "unknown option '--frobnicate' ignored" in proc.stderr
    assert "--betas is not supported by claw; ignored" in proc.stderr
    assert "--include-hook-events is not supported" in proc.stderr
    assert prompt_sent(fake_api) == "the task"  # the ignored flag's value is not taken as the prompt


def test_a_bad_flag_value_is_one_error_line_and_exit_1(workspace: Path) -> None:
    proc = run(workspace, "-p", "--output-format", "xml", "task")
    assert proc.returncode == 1
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("error: ")
    assert "xml" in proc.stderr


def test_dash_v_is_the_version(workspace: Path) -> None:
    proc = run(workspace, "-v")
    assert proc.returncode == 0 and proc.stdout.strip().endswith("(claw)")


# -- errors and exit codes ------------------------------------------------------------------------


def test_no_api_key_prints_an_is_error_result_and_exits_1(workspace: Path) -> None:
    os.environ.pop("ANTHROPIC_AUTH_TOKEN", None)
    proc = run(workspace, "-p", "--output-format", "json", "hello")
    assert proc.returncode == 1
    result = result_of(proc)
    assert result["type"] == "result" and result["is_error"] is True
    assert "ANTHROPIC_API_KEY" in result["result"]
    assert result["num_turns"] == 0 and "duration_api_ms" in result
    assert len(proc.stderr.splitlines()) == 1 and "ANTHROPIC_API_KEY" in proc.stderr


def test_no_api_key_in_stream_json_is_an_is_error_result_too(workspace: Path) -> None:
    os.environ.pop("ANTHROPIC_AUTH_TOKEN", None)
    proc = run(workspace, "-p", "--output-format", "stream-json", "--verbose", "hello")
    assert proc.returncode == 1
    (result,) = messages_of(proc)
    assert result["type"] == "result" and result["is_error"] is True


def test_a_failed_run_exits_1_with_claude_codes_subtype(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(*[reply(tool_use("LS", {"path": str(workspace)}))] * 3)
    proc = run(workspace, "-p", "--output-format", "json", "--max-turns", "1", "loop", api=fake_api)
    assert proc.returncode == 1
    result = result_of(proc)
    assert result["subtype"] == "error_max_turns" and result["is_error"] is True
    assert result["terminal_reason"] == "max_turns" and result["errors"]


# -- the run's shape ------------------------------------------------------------------------------


def test_system_prompt_replaces_and_append_system_prompt_adds(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("a")), reply(text("b")))
    proc = run(workspace, "-p", "--system-prompt", "You are a pirate.", "hi", api=fake_api)
    assert proc.returncode == 0, proc.stderr
    assert system_sent(fake_api, 0) == "You are a pirate."
    proc = run(workspace, "-p", "--append-system-prompt", "Always answer in French.", "hi", api=fake_api)
    assert proc.returncode == 0, proc.stderr
    system = system_sent(fake_api, 1)
    assert "Always answer in French." in system and system.startswith("You are Claw")


def test_tools_and_disallowed_tools_choose_what_the_model_sees(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("a")), reply(text("b")))
    assert run(workspace, "-p", "--tools", "Read,Grep", "hi", api=fake_api).returncode == 0
    assert tools_sent(fake_api, 0) == ["Read", "Grep"]
    assert run(workspace, "-p", "--disallowedTools", "Bash WebFetch", "hi", api=fake_api).returncode == 0
    seen = tools_sent(fake_api, 1)
    assert "Bash" not in seen and "WebFetch" not in seen and "Read" in seen


def test_allowed_tools_let_a_command_run_without_a_terminal(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(
        reply(tool_use("Bash", {"command": "touch made.txt"})),
        reply(text("ran: {{tool_result}}")),
    )
    proc = run(
        workspace, "-p", "--output-format", "json", "--allowedTools", "Bash(touch:*)", "go", api=fake_api
    )
    assert proc.returncode == 0, proc.stderr
    assert (workspace / "made.txt").exists()
    assert result_of(proc)["permission_denials"] == []


def test_denied_calls_are_listed_in_permission_denials(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(tool_use("Bash", {"command": "touch x"}, id="toolu_x")), reply(text("ok")))
    proc = run(workspace, "-p", "--output-format", "json", "--permission-mode", "dontAsk", "go", api=fake_api)
    assert proc.returncode == 0, proc.stderr
    assert result_of(proc)["permission_denials"] == [
        {"tool_name": "Bash", "tool_use_id": "toolu_x", "tool_input": {"command": "touch x"}}
    ]
    assert "dontAsk" in fake_api.requests[1].last_tool_result()
    assert not (workspace / "x").exists()


def test_settings_flag_brings_rules_and_add_dir_widens_the_workspace(
    workspace: Path, tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("from the added dir\n")
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(other / "notes.txt")})),
        reply(text("read: {{tool_result}}")),
    )
    settings = json.dumps({"permissions": {"deny": ["Bash"]}})
    proc = run(
        workspace,
        "-p",
        "--output-format",
        "json",
        "--settings",
        settings,
        "--add-dir",
        str(other),
        "read it",
        api=fake_api,
    )
    assert proc.returncode == 0, proc.stderr
    assert "from the added dir" in fake_api.requests[1].last_tool_result()


def test_session_id_names_the_session_and_resumes_it(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    sid = str(uuid.uuid4())
    fake_api.queue(reply(text("one")), reply(text("two")))
    first = result_of(
        run(workspace, "-p", "--output-format", "json", "--session-id", sid, "hello", api=fake_api)
    )
    assert first["session_id"] == sid
    second = result_of(
        run(workspace, "-p", "--output-format", "json", "--resume", sid, "again", api=fake_api)
    )
    assert second["session_id"] == sid
    said = [b["text"] for m in fake_api.requests[1].body["messages"] for b in m["content"]]
    assert said == ["hello", "one", "again"]
    bad = run(workspace, "-p", "--session-id", "not-a-uuid", "hi", api=fake_api)
    assert bad.returncode == 1 and "UUID" in bad.stderr


def test_fork_session_continues_a_copy(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("one")), reply(text("two")))
    first = result_of(run(workspace, "-p", "--output-format", "json", "hello", api=fake_api))
    fork = result_of(
        run(workspace, "-p", "--output-format", "json", "-c", "--fork-session", "again", api=fake_api)
    )
    assert fork["session_id"] != first["session_id"]
    assert len(fake_api.requests[1].body["messages"]) == 3


def test_no_session_persistence_leaves_no_transcript(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("ephemeral")))
    proc = run(workspace, "-p", "--no-session-persistence", "hi", api=fake_api)
    assert proc.returncode == 0, proc.stderr
    state = Path(os.environ["XDG_STATE_HOME"])
    assert not [p for p in state.rglob("*.jsonl")]


def test_json_schema_gives_structured_output(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    fake_api.queue(
        reply(tool_use("StructuredOutput", {"answer": "forty-two"})),
        reply(tool_use("StructuredOutput", {"answer": 42})),
        reply(text("Done.")),
    )
    proc = run(
        workspace, "-p", "--output-format", "json", "--json-schema", json.dumps(schema), "q", api=fake_api
    )
    assert proc.returncode == 0, proc.stderr
    assert result_of(proc)["structured_output"] == {"answer": 42}
    assert "StructuredOutput" in tools_sent(fake_api)
    assert "does not match the schema" in fake_api.requests[1].last_tool_result()
    structured = next(t for t in fake_api.requests[0].body["tools"] if t["name"] == "StructuredOutput")
    assert structured["input_schema"] == schema


def test_agents_flag_adds_a_subagent_type(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    agents = {
        "reviewer": {"description": "Reviews code for bugs", "prompt": "You review code.", "tools": ["Read"]}
    }
    fake_api.queue(
        reply(tool_use("Agent", {"description": "review", "prompt": "look", "subagent_type": "reviewer"})),
        reply(text("No bugs.")),
        reply(text("The reviewer says: {{tool_result}}")),
    )
    proc = run(
        workspace,
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--agents",
        json.dumps(agents),
        "go",
        api=fake_api,
    )
    assert proc.returncode == 0, proc.stderr
    messages = messages_of(proc)
    assert "reviewer" in messages[0]["agents"]
    assert "You review code." in system_sent(fake_api, 1)
    assert tools_sent(fake_api, 1) == ["Read"]
    agent_call = messages[1]["message"]["content"][0]["id"]
    nested = [m for m in messages if m["type"] == "assistant" and m["parent_tool_use_id"] == agent_call]
    assert [m["message"]["content"][0]["text"] for m in nested] == ["No bugs."]
    assert messages[-1]["result"].startswith("The reviewer says:")


def test_include_partial_messages_streams_raw_events(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("streamed words"), chunk=4))
    proc = run(
        workspace,
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
        "hi",
        api=fake_api,
    )
    assert proc.returncode == 0, proc.stderr
    events = [m["event"] for m in messages_of(proc) if m["type"] == "stream_event"]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert (
        "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta") == "streamed words"
    )
    assistant = next(m for m in messages_of(proc) if m["type"] == "assistant")
    assert assistant["message"]["id"] == events[0]["message"]["id"]


def test_mcp_config_with_strict_mcp_config(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    (workspace / ".claw").mkdir()
    (workspace / ".claw" / "settings.local.json").write_text(
        json.dumps({"mcpServers": {"other": {"command": "false"}}})
    )
    config = {"mcpServers": {"echo": {"command": sys.executable, "args": [str(ECHO_SERVER)]}}}
    fake_api.queue(
        reply(tool_use("mcp__echo__echo", {"text": "hello over mcp"})),
        reply(text("echoed: {{tool_result}}")),
    )
    proc = run(
        workspace,
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--mcp-config",
        json.dumps(config),
        "--strict-mcp-config",
        "--allowedTools",
        "mcp__echo__echo",
        "echo it",
        api=fake_api,
    )
    assert proc.returncode == 0, proc.stderr
    init = messages_of(proc)[0]
    assert init["mcp_servers"] == [{"name": "echo", "status": "connected"}]
    assert "mcp__echo__echo" in init["tools"]
    assert messages_of(proc)[-1]["result"] == "echoed: hello over mcp"


def test_fallback_model_takes_over_when_the_model_is_overloaded(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    def answer(req: Any) -> dict[str, Any]:
        if req.body["model"] == "claude-main-model":
            return http_error(529, "overloaded", retry_after_ms=1)
        return reply(text("from the fallback"))

    fake_api.queue(*[answer] * 8)
    proc = run(
        workspace,
        "-p",
        "--output-format",
        "json",
        "--model",
        "claude-main-model",
        "--fallback-model",
        "claude-fallback-model",
        "hi",
        api=fake_api,
    )
    assert proc.returncode == 0, proc.stderr
    assert result_of(proc)["result"] == "from the fallback"
    assert fake_api.requests[-1].body["model"] == "claude-fallback-model"
    assert "switching to claude-fallback-model" in proc.stderr


def test_setting_sources_choose_which_settings_files_are_read(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "claw"
    user.mkdir(parents=True)
    (user / "settings.json").write_text(json.dumps({"model": "claude-user-model"}))
    (workspace / ".claw").mkdir()
    (workspace / ".claw" / "settings.json").write_text(json.dumps({"model": "claude-project-model"}))
    fake_api.queue(reply(text("a")), reply(text("b")))
    assert run(workspace, "-p", "hi", api=fake_api).returncode == 0
    assert run(workspace, "-p", "--setting-sources", "user,local", "hi", api=fake_api).returncode == 0
    assert [r.body["model"] for r in fake_api.requests] == ["claude-project-model", "claude-user-model"]
    bad = run(workspace, "-p", "--setting-sources", "user,nowhere", "hi", api=fake_api)
    assert bad.returncode == 1 and "Invalid setting source: nowhere" in bad.stderr
