"""Runs over ACP: the client's MCP servers join the user's, errors and limits map to ACP's
answers, and the agent exits cleanly (no traceback noise) when the client closes its end."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import acp.schema as acp
import pytest
from acp.exceptions import RequestError

from tests.acp.harness import acp_agent
from tests.fakes.fake_messages_api import FakeMessagesAPI, http_error, reply, text, tool_use

pytestmark = pytest.mark.asyncio

ECHO = Path(__file__).resolve().parents[1] / "fakes" / "mcp_echo_server.py"


async def test_the_clients_mcp_servers_join_the_users(
    workspace: Path, fake_api: FakeMessagesAPI, isolated_state: Path
) -> None:
    user = isolated_state / "XDG_CONFIG_HOME" / "claw"
    user.mkdir(parents=True)
    (user / "settings.json").write_text(
        json.dumps({"mcpServers": {"mine": {"command": sys.executable, "args": [str(ECHO)]}}})
    )
    fake_api.queue(
        reply(tool_use("mcp__editor__echo", {"text": "via the editor's server"})),
        reply(tool_use("mcp__mine__add", {"a": 2, "b": 3})),
        reply(text("both worked")),
    )
    async with acp_agent(workspace, fake_api.env()) as h:
        server = acp.McpServerStdio(name="editor", command=sys.executable, args=[str(ECHO)], env=[])
        response = await h.conn.new_session(cwd=str(workspace), mcp_servers=[server])
        result = await h.prompt(response.session_id, "use the tools", timeout=60)
        assert result.stop_reason == "end_turn"
        requests = fake_api.wait_for_requests(3)
        tools = {t["name"] for t in requests[0].body["tools"]}
        assert {"mcp__editor__echo", "mcp__mine__add"} <= tools
        assert requests[1].last_tool_result() == "via the editor's server"
        assert requests[2].last_tool_result() == "5"


async def test_a_model_error_is_a_json_rpc_error_and_the_session_goes_on(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(http_error(400, message="bad request from the fake"), reply(text("recovered")))
    async with acp_agent(workspace, fake_api.env()) as h:
        session_id = await h.new_session(workspace)
        with pytest.raises(RequestError) as raised:
            await h.prompt(session_id, "fail please")
        assert raised.value.code == -32603 and "bad request from the fake" in str(raised.value)
        assert (await h.prompt(session_id, "again")).stop_reason == "end_turn"
        assert h.client.agent_text(session_id) == "recovered"


async def test_the_turn_limit_is_max_turn_requests(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    (workspace / ".claw").mkdir()
    (workspace / ".claw" / "settings.json").write_text(json.dumps({"maxTurns": 1}))
    fake_api.queue(reply(tool_use("LS", {"path": str(workspace)})), reply(text("never asked")))
    async with acp_agent(workspace, fake_api.env()) as h:
        session_id = await h.new_session(workspace)
        assert (await h.prompt(session_id, "look around")).stop_reason == "max_turn_requests"
        assert len(fake_api.requests) == 1


async def test_the_agent_exits_when_the_client_closes(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    async with acp_agent(workspace, fake_api.env()) as h:
        await h.new_session(workspace)
        h.raw(b'{"jsonrpc": "2.0", "method": "session/cancel", "params": {"nope": 1}}\n')
        h.raw(b"not json\n")
        await asyncio.sleep(0.3)
        assert h.process.stdin is not None
        h.process.stdin.close()
        assert await asyncio.wait_for(h.process.wait(), 5) == 0
        assert "Traceback" not in h.stderr()


async def test_an_untrusted_folders_mode_is_held_back_and_the_user_is_told(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    (workspace / ".claw").mkdir()
    (workspace / ".claw" / "settings.json").write_text(json.dumps({"permissionMode": "bypassPermissions"}))
    fake_api.queue(reply(text("first")), reply(text("second")))
    async with acp_agent(workspace, fake_api.env()) as h:
        response = await h.conn.new_session(cwd=str(workspace), mcp_servers=[])
        assert response.modes is not None and response.modes.current_mode_id == "default"
        await h.prompt(response.session_id, "hello")
        thoughts = [
            u.content.text
            for sid, u in h.client.updates
            if sid == response.session_id and getattr(u, "session_update", "") == "agent_thought_chunk"
        ]
        assert any("not trusted" in t and "bypassPermissions" in t and "claw trust" in t for t in thoughts)
        before = len(h.client.updates)
        await h.prompt(response.session_id, "again")
        again = [
            u
            for _, u in h.client.updates[before:]
            if getattr(u, "session_update", "") == "agent_thought_chunk"
        ]
        assert not again  # told once
