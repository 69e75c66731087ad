"""Bad input is answered with JSON-RPC errors while the agent keeps serving; a missing API key
is an auth error that names the variable to set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from acp.exceptions import RequestError

from tests.acp.harness import acp_agent
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text
from tests.lsp.client import wait_until

pytestmark = pytest.mark.asyncio


def _line(message: object) -> bytes:
    return (json.dumps(message) + "\n").encode()


async def test_bad_input_is_answered_and_the_agent_keeps_serving(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.queue(reply(text("still here")))
    async with acp_agent(workspace, fake_api.env()) as h:
        session_id = await h.new_session(workspace)
        cases: list[tuple[bytes, object, int]] = [
            (b"this is not json\n", None, -32700),
            (b'{"jsonrpc": "2.0", "id": 7, "method": \n', None, -32700),  # torn
            (b"\xff\xfe not utf-8\n", None, -32700),
            (b"[1, 2, 3]\n", None, -32600),
            (b'"just a string"\n', None, -32600),
            (_line({"jsonrpc": "2.0", "id": "m1", "method": 5}), "m1", -32600),
            (_line({"jsonrpc": "2.0", "id": {"no": 1}, "method": "initialize"}), None, -32600),
            (_line({"jsonrpc": "2.0", "id": "u1", "method": "no/such/method", "params": {}}), "u1", -32601),
            (_line({"jsonrpc": "2.0", "id": "u2", "method": "_claw/unknown", "params": {}}), "u2", -32601),
            (
                _line({"jsonrpc": "2.0", "id": "p1", "method": "session/prompt", "params": {"sessionId": 5}}),
                "p1",
                -32602,
            ),
            (_line({"jsonrpc": "2.0", "id": "p2", "method": "session/new", "params": [1]}), "p2", -32602),
            (_line({"jsonrpc": "2.0", "id": "p3", "method": "initialize"}), "p3", -32602),
            (
                _line(
                    {"jsonrpc": "2.0", "id": "p4", "method": "session/set_mode", "params": {"sessionId": "x"}}
                ),
                "p4",
                -32602,
            ),
        ]
        for data, id_, code in cases:
            before = len(h.responses(id_))
            h.raw(data)
            answers = await wait_until(
                lambda id_=id_, n=before: h.responses(id_)[n:], 10, what=f"an answer to {data!r}"
            )
            assert answers[0]["error"]["code"] == code, (data, answers)
        # Notifications that make no sense get no answer and do no harm.
        h.raw(_line({"jsonrpc": "2.0", "method": "session/cancel", "params": {"nope": 1}}))
        h.raw(_line({"jsonrpc": "2.0", "method": "no/such/notification"}))
        # A prompt for a session this connection does not know.
        with pytest.raises(RequestError) as raised:
            await h.prompt("not-a-session", "hi")
        assert raised.value.code == -32602
        # Still serving.
        assert (await h.prompt(session_id, "are you there?")).stop_reason == "end_turn"
        assert h.client.agent_text(session_id) == "still here"
        assert h.process.returncode is None


async def test_missing_api_key_names_the_variable(workspace: Path) -> None:
    async with acp_agent(workspace, None) as h:  # no ANTHROPIC_API_KEY in the agent's environment
        with pytest.raises(RequestError) as raised:
            await h.new_session(workspace)
        assert raised.value.code == -32000 and "ANTHROPIC_API_KEY" in str(raised.value)
        with pytest.raises(RequestError) as raised:
            await h.conn.authenticate(method_id="anthropic-api-key")
        assert raised.value.code == -32000 and "ANTHROPIC_API_KEY" in str(raised.value)
        with pytest.raises(RequestError) as raised:
            await h.conn.authenticate(method_id="openai-api-key")
        assert "OPENAI_API_KEY" in str(raised.value)


async def test_authenticate_succeeds_with_a_key(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    async with acp_agent(workspace, fake_api.env()) as h:
        await h.conn.authenticate(method_id="anthropic-api-key")
        with pytest.raises(RequestError) as raised:
            await h.conn.authenticate(method_id="magic")
        assert raised.value.code == -32602
