"""Bad input over the wire gets a clear error and the server keeps serving.

Drives the real server over raw stdio (no client library) so the test can send what no well-behaved
client would: broken JSON, wrong parameter shapes, unknown commands and methods.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from tests.lsp.client import SERVER_CMD


class RawClient:
    """Writes LSP frames to the server's stdin and reads its responses by id."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.messages: list[dict[str, Any]] = []

    def send_bytes(self, body: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(json.dumps(message).encode())

    async def read_message(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        length = 0
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                raise EOFError("server closed stdout")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        return json.loads(await self.proc.stdout.readexactly(length))

    async def response(self, request_id: int) -> dict[str, Any]:
        """Read until the response to `request_id`, answering the server's own requests with null."""
        while True:
            message = await asyncio.wait_for(self.read_message(), 15)
            self.messages.append(message)
            if "method" in message and "id" in message:  # a server -> client request
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
                continue
            if message.get("id") == request_id and "method" not in message:
                return message


async def start(workspace: Path) -> RawClient:
    proc = await asyncio.create_subprocess_exec(
        *SERVER_CMD,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "CLAW_PROVIDER": "scripted"},
    )
    client = RawClient(proc)
    client.send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}},
        }
    )
    answer = await client.response(1)
    assert "result" in answer
    client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    return client


async def stop(client: RawClient) -> None:
    client.send({"jsonrpc": "2.0", "id": 999, "method": "shutdown"})
    await client.response(999)
    client.send({"jsonrpc": "2.0", "method": "exit"})
    await asyncio.wait_for(client.proc.wait(), 10)


async def test_broken_json_then_a_valid_request_still_answers(workspace: Path) -> None:
    client = await start(workspace)
    client.send_bytes(b'{"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand", "params": {')
    client.send({"jsonrpc": "2.0", "id": 3, "method": "workspace/executeCommand",
                 "params": {"command": "claw.status", "arguments": [{}]}})  # fmt: skip
    status = await client.response(3)
    assert "result" in status and status["result"]["permissionMode"] == "default"
    await stop(client)


async def test_wrong_shapes_and_unknown_names_get_errors_not_crashes(workspace: Path) -> None:
    client = await start(workspace)
    client.send({"jsonrpc": "2.0", "id": 4, "method": "workspace/executeCommand",
                 "params": {"command": "claw.nope", "arguments": []}})  # fmt: skip
    unknown = await client.response(4)
    assert "error" in unknown
    resume = {"command": "claw.sessions.resume", "arguments": [{"sessionId": 42}]}
    client.send({"jsonrpc": "2.0", "id": 5, "method": "workspace/executeCommand", "params": resume})
    bad_arg = await client.response(5)
    assert "error" in bad_arg and bad_arg["error"]["message"]
    client.send({"jsonrpc": "2.0", "id": 6, "method": "textDocument/codeAction",
                 "params": {"textDocument": "not an object"}})  # fmt: skip
    bad_params = await client.response(6)
    assert "error" in bad_params
    client.send({"jsonrpc": "2.0", "id": 7, "method": "claw/unknownMethod", "params": {}})
    no_method = await client.response(7)
    assert no_method["error"]["code"] == -32601
    client.send({"jsonrpc": "2.0", "id": 8, "method": "workspace/executeCommand",
                 "params": {"command": "claw.status", "arguments": [{}]}})  # fmt: skip
    assert "result" in await client.response(8)
    assert client.proc.returncode is None
    await stop(client)
