"""MCP tools: a real MCP server over stdio (tests/fakes/mcp_echo_server.py, built with the SDK),
the agent calling its tools with scripted model turns, permissions, failures, cancellation, config
layering and the CLI end to end."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.agent.loop import Agent
from claw_lsp.agent.session import SessionStore
from claw_lsp.compose import build_agent
from claw_lsp.config import McpServerConfig, Settings, load_settings
from claw_lsp.providers.scripted import ScriptedModel
from claw_lsp.tools.mcp import McpManager, expand_vars, render_result, tool_name
from tests.fakes.fixtures import trust
from tests.unit.test_cli import claw
from tests.unit.test_loop import ScriptPrompter, assert_consistent, collect

SERVER = Path(__file__).resolve().parents[1] / "fakes" / "mcp_echo_server.py"
ECHO = {"command": sys.executable, "args": [str(SERVER)]}


def call(name: str, **arguments: Any) -> dict[str, Any]:
    """A scripted turn calling one tool."""
    return {"content": [{"type": "tool_use", "name": name, "input": arguments}]}


DONE = {"content": [{"type": "text", "text": "done"}]}
ALLOW = {"allow": ["mcp__echo"]}


def agent_with(
    ws: Path, manager: McpManager, turns: list[dict[str, Any]], prompter: Any = None, **settings: Any
) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(turns, workspace=ws)
    session = SessionStore(ws).create(model="scripted", provider="scripted")
    agent = build_agent(
        root=ws,
        folders=[ws],
        settings=Settings.model_validate(settings),
        session=session,
        prompter=prompter or ScriptPrompter(),
        model=model,
        extra_tools=manager.tools,
    )
    return agent, model


def last_result(agent: Agent) -> Any:
    return agent.messages[-2].tool_results()[0]


@pytest.fixture
async def echo(workspace: Path) -> AsyncIterator[McpManager]:
    """A started manager with the echo server."""
    async with McpManager({"echo": McpServerConfig.model_validate(ECHO)}, cwd=workspace) as manager:
        assert manager.warnings == []
        yield manager


async def test_agent_calls_an_mcp_tool_and_reads_its_text(workspace: Path, echo: McpManager) -> None:
    agent, _ = agent_with(workspace, echo, [call("mcp__echo__echo", text="hello from mcp"), DONE])
    events, finished = await collect(agent, "echo something")
    assert finished.stop_reason == "end_turn"
    result = last_result(agent)
    assert result.text() == "hello from mcp" and not result.is_error
    started = next(e for e in events if e.type == "tool_call")
    assert started.name == "mcp__echo__echo" and "echo" in started.title
    assert_consistent(agent.session.load_messages())


async def test_model_sees_the_servers_input_schema_verbatim(workspace: Path, echo: McpManager) -> None:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    async with (
        stdio_client(StdioServerParameters(**ECHO)) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        listed = {t.name: t for t in (await session.list_tools()).tools}
    agent, model = agent_with(workspace, echo, [DONE])
    await collect(agent, "hi")
    specs = {s.name: s for s in model.requests[0].tools}
    assert specs["mcp__echo__add"].input_schema == listed["add"].input_schema
    assert specs["mcp__echo__echo"].input_schema == listed["echo"].input_schema
    assert specs["mcp__echo__add"].description == "Add two integers."
    assert "mcp__echo__echo" in agent.system_prompt
    assert "Read" in specs and "Bash" in specs  # the built-ins stay


async def test_mutating_tool_asks_in_default_mode(workspace: Path, echo: McpManager) -> None:
    prompter = ScriptPrompter(["allow_once"])
    agent, _ = agent_with(
        workspace, echo, [call("mcp__echo__add", a=2, b=3), DONE], prompter, permissionMode="default"
    )
    _, finished = await collect(agent, "add")
    assert finished.stop_reason == "end_turn"
    assert [r.tool_name for r in prompter.asked] == ["mcp__echo__add"]
    assert prompter.asked[0].suggested_rule == "mcp__echo__add"
    assert last_result(agent).text() == "5"


async def test_denied_mcp_call_does_not_run(workspace: Path, echo: McpManager) -> None:
    prompter = ScriptPrompter(["reject_once"])
    agent, _ = agent_with(
        workspace, echo, [call("mcp__echo__add", a=2, b=3), DONE], prompter, permissionMode="default"
    )
    await collect(agent, "add")
    result = last_result(agent)
    assert result.is_error and "5" not in result.text()


async def test_server_rule_allows_without_asking_and_read_only_hint_is_honoured(
    workspace: Path, echo: McpManager
) -> None:
    prompter = ScriptPrompter()
    turns = [call("mcp__echo__add", a=40, b=2), call("mcp__echo__echo", text="ro"), DONE]
    agent, _ = agent_with(
        workspace,
        echo,
        turns,
        prompter,
        permissionMode="default",
        permissions={"allow": ["mcp__echo"]},
    )
    _, finished = await collect(agent, "add")
    assert finished.stop_reason == "end_turn"
    assert prompter.asked == []
    texts = [r.text() for m in agent.messages for r in m.tool_results()]
    assert texts == ["42", "ro"]
    read_only = {t.name: t.read_only for t in echo.tools}
    assert read_only["mcp__echo__echo"] is True and read_only["mcp__echo__add"] is False


async def test_plan_mode_refuses_a_mutating_mcp_tool(workspace: Path, echo: McpManager) -> None:
    agent, _ = agent_with(workspace, echo, [call("mcp__echo__add", a=1, b=1), DONE], permissionMode="plan")
    await collect(agent, "add")
    result = last_result(agent)
    assert result.is_error and "plan mode" in result.text()


async def test_is_error_result_maps_to_an_error_tool_result(workspace: Path, echo: McpManager) -> None:
    agent, _ = agent_with(
        workspace, echo, [call("mcp__echo__fail", reason="disk on fire"), DONE], permissions=ALLOW
    )
    events, _ = await collect(agent, "fail")
    result = last_result(agent)
    assert result.is_error and "disk on fire" in result.text()
    update = [e for e in events if e.type == "tool_call_update" and e.output is not None][-1]
    assert update.status == "failed"


async def test_invalid_arguments_come_back_from_the_server_as_an_error(
    workspace: Path, echo: McpManager
) -> None:
    agent, _ = agent_with(workspace, echo, [call("mcp__echo__add", a="two", b=3), DONE], permissions=ALLOW)
    await collect(agent, "add")
    assert last_result(agent).is_error


async def test_broken_server_gives_one_warning_and_the_rest_works(workspace: Path) -> None:
    servers = {
        "missing": McpServerConfig(command=str(workspace / "no-such-server")),
        "crashes": McpServerConfig(
            command=sys.executable, args=["-c", "import sys; sys.exit('crashed on purpose')"]
        ),
        "echo": McpServerConfig.model_validate(ECHO),
    }
    async with McpManager(servers, cwd=workspace) as manager:
        assert len(manager.warnings) == 2
        missing, crashes = manager.warnings
        assert "'missing'" in missing and "not found" in missing
        assert "'crashes'" in crashes and "crashed on purpose" in crashes
        assert {t.name for t in manager.tools} >= {"mcp__echo__echo", "mcp__echo__add"}
        assert all(t.name.startswith("mcp__echo__") for t in manager.tools)
        agent, _ = agent_with(workspace, manager, [call("mcp__echo__echo", text="still here"), DONE])
        await collect(agent, "go")
        assert last_result(agent).text() == "still here"


async def test_server_that_never_initializes_is_skipped(workspace: Path) -> None:
    hangs = McpServerConfig(command=sys.executable, args=["-c", "import time; time.sleep(60)"])
    async with McpManager({"hangs": hangs}, cwd=workspace, startup_timeout=0.5) as manager:
        assert manager.tools == []
        assert len(manager.warnings) == 1 and "initialize" in manager.warnings[0]


async def test_cancelling_a_run_keeps_the_connection(workspace: Path, echo: McpManager) -> None:
    agent, _ = agent_with(
        workspace, echo, [call("mcp__echo__slow", seconds=30), call("mcp__echo__echo", text="after"), DONE]
    )
    run = agent.start("slow")
    async for event in run.events():
        if event.type == "tool_call_update" and event.status == "in_progress":
            run.cancel()
    finished = await run.wait()
    assert finished.stop_reason == "cancelled"
    assert_consistent(agent.session.load_messages())
    _, finished = await collect(agent, "again")
    assert finished.stop_reason == "end_turn"
    assert last_result(agent).text() == "after"


async def test_a_call_past_the_timeout_is_an_error_and_the_server_stays(
    workspace: Path, echo: McpManager
) -> None:
    echo.tool_timeout = 0.3
    agent, _ = agent_with(
        workspace, echo, [call("mcp__echo__slow", seconds=30), call("mcp__echo__echo", text="ok"), DONE]
    )
    await collect(agent, "slow")
    results = [r for m in agent.messages for r in m.tool_results()]
    assert results[0].is_error and "timed out" in results[0].text()
    assert results[1].text() == "ok"


async def test_env_vars_expand_and_the_server_runs_in_the_workspace(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAW_TEST_MCP_SECRET", "s3cret")
    monkeypatch.setenv("CLAW_TEST_MCP_PLAIN", "plain")
    server = {**ECHO, "env": {"TOKEN": "${CLAW_TEST_MCP_SECRET}", "PLAIN": "${CLAW_TEST_MCP_PLAIN}"}}

    async def where(config: McpServerConfig, variable: str) -> tuple[str, str]:
        async with McpManager({"echo": config}, cwd=workspace) as manager:
            agent, _ = agent_with(workspace, manager, [call("mcp__echo__where", variable=variable), DONE])
            await collect(agent, "where")
            cwd, _, value = last_result(agent).text().partition("\n")
        return cwd, value

    # The user's own settings may hand a credential to their server.
    from claw_lsp.config import config_dir

    config_dir().mkdir(parents=True)
    (config_dir() / "settings.json").write_text(json.dumps({"mcpServers": {"echo": server}}))
    own = load_settings(workspace).settings.mcpServers["echo"]
    assert own.pass_credentials
    cwd, token = await where(own, "TOKEN")
    assert Path(cwd).resolve() == workspace and token == "s3cret"
    # The same server shipped by the (trusted, approved) workspace gets no credential.
    (config_dir() / "settings.json").unlink()
    (workspace / ".mcp.json").write_text(json.dumps({"mcpServers": {"echo": server}}))
    approve(workspace, "echo")
    trust(workspace)
    shipped = load_settings(workspace).settings.mcpServers["echo"]
    assert not shipped.pass_credentials
    assert (await where(shipped, "TOKEN"))[1] == ""
    assert (await where(shipped, "PLAIN"))[1] == "plain"


def test_tool_names_are_sanitised_for_the_api_and_the_rules() -> None:
    assert tool_name("echo", "echo") == "mcp__echo__echo"
    assert tool_name("my server.io", "get/item") == "mcp__my_server_io__get_item"
    assert tool_name("a__b", "t") == "mcp__a_b__t"
    assert len(tool_name("s", "x" * 100)) == 64


def test_expand_vars() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert expand_vars("${A}-${B:-dflt}-${EMPTY:-e}-${MISSING}", env) == "1-dflt-e-"


def approve(workspace: Path, *names: str) -> None:
    """The user approves the project's .mcp.json servers in their local settings."""
    (workspace / ".claw").mkdir(exist_ok=True)
    (workspace / ".claw" / "settings.local.json").write_text(
        json.dumps({"enabledMcpjsonServers": list(names)})
    )


def test_project_mcp_servers_wait_for_the_users_approval(workspace: Path) -> None:
    trust(workspace)
    (workspace / ".mcp.json").write_text(
        json.dumps(
            {"mcpServers": {"echo": {"command": "x"}, "other": {"command": "y"}, "off": {"command": "z"}}}
        )
    )
    (workspace / ".claw").mkdir()
    # A repository cannot approve its own servers.
    (workspace / ".claw" / "settings.json").write_text(json.dumps({"enableAllProjectMcpServers": True}))
    loaded = load_settings(workspace)
    assert loaded.settings.mcpServers == {}
    assert any("enableAllProjectMcpServers" in w and "ignored" in w for w in loaded.warnings)
    waiting = [w for w in loaded.warnings if "not started" in w]
    assert len(waiting) == 1 and "'echo'" in waiting[0] and "settings.local.json" in waiting[0]
    approve(workspace, "echo")
    assert set(load_settings(workspace).settings.mcpServers) == {"echo"}
    (workspace / ".claw" / "settings.local.json").write_text(
        json.dumps({"enableAllProjectMcpServers": True, "disabledMcpjsonServers": ["off"]})
    )
    assert set(load_settings(workspace).settings.mcpServers) == {"echo", "other"}
    (workspace / ".claw" / "settings.local.json").unlink()
    # The editor's or the command line's options are the user's too.
    assert set(load_settings(workspace, {"enabledMcpjsonServers": ["other"]}).settings.mcpServers) == {
        "other"
    }


def test_mcp_json_and_settings_merge_by_name(workspace: Path) -> None:
    trust(workspace)
    (workspace / ".mcp.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "echo": {"command": "from-mcp-json"},
                    "web": {"type": "http", "url": "http://127.0.0.1:9/mcp"},
                    "broken": {"args": ["no command"]},
                }
            }
        )
    )
    (workspace / ".claw").mkdir()
    (workspace / ".claw" / "settings.json").write_text(
        json.dumps({"mcpServers": {"echo": {"command": "from-settings"}}, "mcpToolTimeoutMs": 5000})
    )
    approve(workspace, "web")
    loaded = load_settings(workspace)
    servers = loaded.settings.mcpServers
    assert servers["echo"].command == "from-settings"
    assert servers["web"].type == "http" and servers["web"].url == "http://127.0.0.1:9/mcp"
    assert servers["echo"].type == "stdio"
    assert "broken" not in servers
    assert [w for w in loaded.warnings if "broken" in w] == [
        ".mcp.json: mcpServers.broken: a stdio server needs a 'command' (or give 'url' for an HTTP server); "
        "ignored"
    ]
    assert loaded.settings.mcpToolTimeoutMs == 5000


def test_cli_runs_an_mcp_tool_end_to_end(workspace: Path, tmp_path: Path) -> None:
    trust(workspace)
    (workspace / ".mcp.json").write_text(
        json.dumps({"mcpServers": {"echo": ECHO, "gone": {"command": str(workspace / "nope")}}})
    )
    script = tmp_path / "turns.jsonl"
    turns = [call("mcp__echo__echo", text="via cli"), call("mcp__echo__add", a=1, b=2), DONE]
    script.write_text("\n".join(json.dumps(t) for t in turns) + "\n")
    (workspace / ".claw").mkdir()
    (workspace / ".claw" / "settings.json").write_text(
        json.dumps({"permissions": {"allow": ["mcp__echo__add"]}})
    )
    approve(workspace, "echo", "gone")
    proc = claw(workspace, "-p", "use mcp", "--script", str(script), "--output-format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["result"] == "done"
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "'gone'" in warnings[0]
    session = SessionStore(workspace).latest()
    assert session is not None
    results = [r for m in session.load_messages() for r in m.tool_results()]
    assert [(r.text(), r.is_error) for r in results] == [("via cli", False), ("3", False)]


async def test_http_server_tools_work(workspace: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the HTTP MCP server did not start"
            await asyncio.sleep(0.1)
        config = McpServerConfig(type="http", url=f"http://127.0.0.1:{port}/mcp")
        async with McpManager({"web": config}, cwd=workspace) as manager:
            assert manager.warnings == []
            agent, _ = agent_with(workspace, manager, [call("mcp__web__echo", text="over http"), DONE])
            await collect(agent, "echo")
            assert last_result(agent).text() == "over http"
    finally:
        proc.terminate()
        proc.wait(10)


def test_non_text_content_is_noted_not_shown() -> None:
    from mcp_types import CallToolResult, EmbeddedResource, ImageContent, TextContent, TextResourceContents

    result = CallToolResult(
        content=[
            TextContent(type="text", text="caption"),
            ImageContent(type="image", data="aGVsbG8=", mime_type="image/png"),
            EmbeddedResource(
                type="resource", resource=TextResourceContents(uri="file:///a.txt", text="inside")
            ),
        ]
    )
    output = render_result(result)
    assert not output.is_error
    assert output.content.splitlines() == [
        "caption",
        "[image image/png, about 6 bytes, not shown]",
        "[resource file:///a.txt]",
        "inside",
    ]
    long = render_result(CallToolResult(content=[TextContent(type="text", text="x" * 50_000)]))
    assert len(long.content) < 31_000 and "characters cut" in long.content


def test_an_mcp_tool_that_takes_a_file_path_and_is_not_read_only_is_an_edit() -> None:
    """Its kind says it edits, so the run's policies (diagnostics, changed files) treat it as one;
    its changes do not go through the view's applier, so it is still asked about."""
    from types import SimpleNamespace

    from claw_lsp.agent.permissions import rule_family
    from claw_lsp.core.tools import SessionState, ToolContext, edits_files
    from claw_lsp.tools.mcp import McpInput, mcp_tool_class
    from claw_lsp.workspace.view import WorkspaceView

    schema = {"type": "object", "properties": {"file_path": {"type": "string"}, "text": {"type": "string"}}}
    writer = SimpleNamespace(name="write", title=None, description="", input_schema=schema, annotations=None)
    reader = SimpleNamespace(
        name="peek", title=None, description="", input_schema=schema,
        annotations=SimpleNamespace(read_only_hint=True),
    )  # fmt: skip
    edit_cls, read_cls = mcp_tool_class("fs", writer, "mcp__fs__write"), mcp_tool_class("fs", reader, "p")
    assert edit_cls.kind == "edit" and edits_files(edit_cls(None))  # type: ignore[arg-type]
    assert not edit_cls.reviewable and rule_family(edit_cls(None)) is None  # type: ignore[arg-type]
    assert read_cls.kind == "other" and not edits_files(read_cls(None))  # type: ignore[arg-type]
    ctx = ToolContext(workspace=WorkspaceView([Path("/w")]), state=SessionState())
    tool = edit_cls(None)  # type: ignore[arg-type]
    assert tool.locations(McpInput({"file_path": "/w/a.txt", "text": "x"}), ctx) == [Path("/w/a.txt")]
