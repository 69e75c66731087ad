"""MCP servers in the language server: started at the first run, their tools offered to the model
and called for real, a broken server shown once as a warning, servers kept across runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lsprotocol import types

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.fakes.fixtures import trust
from tests.lsp.client import ALL_FEATURES, session, wait_until

SERVER = Path(__file__).resolve().parents[1] / "fakes" / "mcp_echo_server.py"


async def test_mcp_tools_run_in_the_server_and_a_broken_server_warns_once(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    servers = {
        "echo": {"command": sys.executable, "args": [str(SERVER)]},
        "gone": {"command": str(workspace / "no-such-server")},
    }
    (workspace / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))
    (workspace / ".claw").mkdir(exist_ok=True)
    (workspace / ".claw" / "settings.local.json").write_text(json.dumps({"enableAllProjectMcpServers": True}))
    trust(workspace)
    fake_api.queue(
        reply(tool_use("mcp__echo__echo", {"text": "from the editor"})),
        reply(text("First.")),
        reply(tool_use("mcp__echo__echo", {"text": "second run"})),
        reply(text("Second.")),
    )
    async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
        first = await client.command("claw.ask", {"prompt": "echo"})
        await wait_until(lambda: client.finished(first["runId"]), what="first run end")
        assert fake_api.requests[-1].last_tool_result() == "from the editor"
        tools = {t["name"]: t for t in fake_api.requests[0].body["tools"]}
        assert tools["mcp__echo__echo"]["input_schema"]["required"] == ["text"]
        second = await client.command("claw.ask", {"prompt": "echo again"})
        await wait_until(lambda: client.finished(second["runId"]), what="second run end")
        assert fake_api.requests[-1].last_tool_result() == "second run"
        warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
        assert len(warnings) == 1 and "'gone'" in warnings[0]
