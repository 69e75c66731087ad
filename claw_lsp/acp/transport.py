"""Newline-delimited JSON-RPC over stdio for the `acp` package's connection, answering bad input.

The package's own stdio transport drops a line that is not JSON without a word, and a JSON value
that is not an object stops its receive loop for good (the agent quits). This transport (the
package's `Transport` protocol: decoded messages in, messages out) answers such input the way
JSON-RPC 2.0 says, `-32700` for a line that is not JSON and `-32600` for a message that is not a
request, notification or response, and keeps serving. Everything else (routing, params
validation, `-32601`, `-32602`) is the package's connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

log = logging.getLogger(__name__)

# A line longer than this is read and dropped with a parse error (never held whole).
MAX_LINE_BYTES = 64 * 1024 * 1024


def _error(code: int, message: str, id_: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "error": {"code": code, "message": message}}


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, (str, int)) and not isinstance(value, bool))


class StdioTransport:
    """JSON-RPC messages over an asyncio reader and writer, one JSON object per line."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()
        self._closed = False

    async def send(self, message: dict[str, Any]) -> None:
        """Write one message as one line."""
        data = (json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        async with self._lock:
            if self._closed:
                raise ConnectionError("transport closed")
            self._writer.write(data)
            await self._writer.drain()

    async def receive(self) -> dict[str, Any] | None:
        """The next well-formed message (None at end of input); bad lines are answered here."""
        while True:
            line = await self._read_line()
            if line is None:
                return None
            line = line.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except (ValueError, RecursionError):
                await self._answer(_error(-32700, "Parse error: the message is not JSON"))
                continue
            problem = self._problem(message)
            if problem is None:
                return message
            id_ = message.get("id") if isinstance(message, dict) and _valid_id(message.get("id")) else None
            if isinstance(message, dict) and "method" not in message and "id" in message:
                log.warning("dropped an unreadable response: %s", problem)
                continue
            await self._answer(_error(-32600, f"Invalid request: {problem}", id_))

    @staticmethod
    def _problem(message: Any) -> str | None:
        if not isinstance(message, dict):
            return f"a JSON-RPC message is an object, not {type(message).__name__}"
        if "method" in message:
            if not isinstance(message["method"], str):
                return "'method' must be a string"
            if "id" in message and not _valid_id(message["id"]):
                return "'id' must be a string, a number or null"
            params = message.get("params")
            if params is not None and not isinstance(params, (dict, list)):
                return "'params' must be an object or an array"
            return None
        if "id" in message:
            if not _valid_id(message["id"]):
                return "'id' must be a string, a number or null"
            if "result" not in message and "error" not in message:
                return "a response needs 'result' or 'error'"
            return None
        return "neither a request (method) nor a response (id)"

    async def _answer(self, message: dict[str, Any]) -> None:
        try:
            await self.send(message)
        except (ConnectionError, OSError):
            pass

    async def _read_line(self) -> bytes | None:
        """One line (without its limit: over-long ones are skipped, returned as b"x" to be
        answered as not JSON); None at end of input."""
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                line = await self._reader.readuntil(b"\n")
            except asyncio.LimitOverrunError as exc:
                part = await self._reader.readexactly(exc.consumed)
                size += len(part)
                if size <= MAX_LINE_BYTES:
                    chunks.append(part)
                continue
            except asyncio.IncompleteReadError as exc:
                if not exc.partial and not chunks:
                    return None
                line = exc.partial
            size += len(line)
            if size > MAX_LINE_BYTES:
                return b"x"
            chunks.append(line)
            return b"".join(chunks)

    async def close(self) -> None:
        """Stop writing."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._writer.close()
        except (OSError, RuntimeError):
            pass
