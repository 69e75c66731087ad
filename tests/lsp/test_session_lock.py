"""One writer per session across processes: while `claw --continue` writes a session, the editor's
server refuses to run on it, with the reason (its transcript never interleaves)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from claw_lsp.agent.session import SessionStore
from tests.fakes.fake_messages_api import FakeMessagesAPI
from tests.lsp.client import ALL_FEATURES, session
from tests.unit.test_cli import claw, popen, script


async def test_the_server_refuses_a_session_another_process_writes(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    first = script(workspace.parent / "first.jsonl", {"content": [{"type": "text", "text": "hi"}]})
    assert claw(workspace, "-p", "start", "--script", first).returncode == 0
    session_id = SessionStore(workspace).list()[0].session_id
    slow_turn = {"content": [{"type": "text", "text": "slow"}], "delay_ms": 4000}
    slow = script(workspace.parent / "slow.jsonl", slow_turn, slow_turn)
    running = popen(workspace, "--continue", "-p", "busy", "--script", slow)
    try:
        time.sleep(1.5)
        async with session(workspace, features=ALL_FEATURES, env=fake_api.env()) as client:
            with pytest.raises(JsonRpcException, match="in use by another claw process"):
                await client.command("claw.ask", {"prompt": "hello", "sessionId": session_id})
            with pytest.raises(JsonRpcException, match="in use by another claw process"):
                await client.command("claw.sessions.resume", {"sessionId": session_id})
    finally:
        running.communicate(timeout=30)
    assert running.returncode == 0
