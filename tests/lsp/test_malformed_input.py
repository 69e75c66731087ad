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


async def _raw(workspace: Path) -> RawClient:
    proc = await asyncio.create_subprocess_exec(
        *SERVER_CMD,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "CLAW_PROVIDER": "scripted"},
    )
    return RawClient(proc)


async def start(workspace: Path) -> RawClient:
    """A server that answered `initialize` and got `initialized`."""
    client = await _raw(workspace)
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


STATUS = {"command": "claw.status", "arguments": [{}]}


async def test_json_rpc_errors_as_the_spec_says(workspace: Path) -> None:
    client = await _raw(workspace)
    # Before initialize: ServerNotInitialized, for a well-formed request and a malformed one.
    client.send({"jsonrpc": "2.0", "id": 1, "method": "workspace/executeCommand", "params": STATUS})
    assert (await client.response(1))["error"]["code"] == -32002
    client.send({"jsonrpc": "2.0", "id": 2, "method": "textDocument/codeAction", "params": {}})
    assert (await client.response(2))["error"]["code"] == -32002
    params = {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}}
    client.send({"jsonrpc": "2.0", "id": 3, "method": "initialize", "params": params})
    assert "result" in await client.response(3)
    client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    # Without "jsonrpc": InvalidRequest, and the server goes on.
    client.send({"id": 4, "method": "workspace/executeCommand", "params": STATUS})
    assert (await client.response(4))["error"]["code"] == -32600
    client.send({"jsonrpc": "2.0", "id": 5, "method": "no/suchMethod", "params": {}})
    assert (await client.response(5))["error"]["code"] == -32601
    client.send({"jsonrpc": "2.0", "id": 6, "method": "shutdown"})
    assert (await client.response(6))["result"] is None
    # After shutdown: InvalidRequest; then exit after shutdown exits 0.
    client.send({"jsonrpc": "2.0", "id": 7, "method": "workspace/executeCommand", "params": STATUS})
    assert (await client.response(7))["error"]["code"] == -32600
    client.send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(client.proc.wait(), 10) == 0
    assert not [m for m in client.messages if m.get("method") == "window/showMessage"]  # no "Error in server"


async def test_exit_without_shutdown_exits_1(workspace: Path) -> None:
    client = await start(workspace)
    client.send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(client.proc.wait(), 10) == 1


async def test_an_oversized_message_is_skipped_without_holding_it(workspace: Path) -> None:
    """A 70 MiB body (over the 64 MiB limit) is read past in chunks, never held whole; the next
    request is answered and the server's memory stays small."""
    client = await start(workspace)
    assert client.proc.stdin is not None
    await asyncio.sleep(3)  # the model SDK's warm-up import (in a thread after initialize) is done
    peak_before = _peak_rss_kib(client.proc.pid)
    size = 70 * 1024 * 1024
    client.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % size)
    chunk = b" " * (1 << 20)
    for _ in range(size // len(chunk)):
        client.proc.stdin.write(chunk)
        await client.proc.stdin.drain()
    client.send({"jsonrpc": "2.0", "id": 8, "method": "workspace/executeCommand", "params": STATUS})
    assert "result" in await client.response(8)
    grew = _peak_rss_kib(client.proc.pid) - peak_before
    assert grew < 32 * 1024, f"peak RSS grew {grew} KiB: the 70 MiB body was held in memory"
    await stop(client)


def _peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


async def test_shutdown_with_a_request_still_pending_answers_cleanly(workspace: Path) -> None:
    """`claw.ask` waits for the client's `claw/input` answer, which never comes; `shutdown` still
    answers null (pygls' own shutdown failed with "dictionary changed size during iteration")."""
    client = await _raw(workspace)
    options = {"clientFeatures": {"input": True}, "provider": "scripted"}
    params = {
        "processId": None,
        "rootUri": workspace.as_uri(),
        "capabilities": {},
        "initializationOptions": options,
    }
    client.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
    await client.response(1)
    client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    client.send({"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand",
                 "params": {"command": "claw.ask", "arguments": [{}]}})  # fmt: skip
    while True:  # until the server asks for the prompt (left unanswered)
        message = await asyncio.wait_for(client.read_message(), 15)
        if message.get("method") == "claw/input":
            break
    client.send({"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
    while True:
        message = await asyncio.wait_for(client.read_message(), 15)
        if message.get("id") == 3 and "method" not in message:
            break
    assert message.get("result", "missing") is None, message
    client.send({"jsonrpc": "2.0", "method": "exit"})
    assert await asyncio.wait_for(client.proc.wait(), 10) == 0
