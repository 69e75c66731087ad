"""Hostile protocol messages, thousands of them, against the real `claw-lsp` over stdio.

A seeded generator writes raw bytes to the server's stdin: broken framing (bad, missing,
lowercase, negative, too small or too large Content-Length, junk header lines), bodies that are
not JSON or not UTF-8, JSON that is not a request (arrays, scalars, wrong `jsonrpc`, ids and
methods of the wrong type), unknown methods, responses to nothing, duplicate ids, notifications
sent with an id, deeply nested JSON, huge strings, every `claw.*` command with arguments of the
wrong shape, code actions on ranges past the end, didChange with out-of-range ranges, versions
going backwards and unknown URIs.

Each generated case states what a correct server answers: for a request, exactly one response (two
for a duplicated id) with a result or one of the error codes JSON-RPC / LSP assign to that input;
for a body that cannot be parsed, one `-32700` response with id null; for a message that is not a
request object, one `-32600` with id null; for a notification, a response to nothing or a frame
that cannot be read, nothing. Cases go out in batches; after each batch a well-formed request
must still be answered (the server is alive and in sync). At the end: no `-32603` internal error
anywhere, no Python traceback in the server's stderr, no error shown to the user, and the
server's RSS within a bound of its baseline.

`CLAW_HOSTILE_SEED` picks the seed (printed with `-s`); the stress run sends 10,000 cases, the
default run 400.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.lsp.client import SERVER_CMD

SEED = int(os.environ.get("CLAW_HOSTILE_SEED", "20261202"))

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
INTERNAL_ERROR, NOT_INITIALIZED = -32603, -32002
REQUEST_CANCELLED = -32800
RESULT = "result"  # an allowed outcome: a result, not an error

# The server's RSS may grow by this much over the run, at most (MiB). The stress run sends 300 MiB
# in bodies of up to 4 MiB; at its end the server's live Python memory is 3 MiB above its start
# (tracemalloc), yet the RSS stays about 80 MiB up: freed memory Python's arenas and glibc's heap
# keep (fragmentation, not objects). Before the fix of pygls' kept futures the same run leaked the
# params of every claw.* command (RSS +203 MiB and growing with the run).
RSS_GROWTH_LIMIT_MIB = 128


# -- the server over raw stdio ---------------------------------------------------------------------


def id_key(value: Any) -> str:
    """A response id as a dict key (1 and "1" differ; so do true and 1)."""
    return json.dumps(value)


class RawServer:
    """The real server on stdin/stdout; every message it sends is read and kept by a reader task.
    Requests the server sends (progress creation, configuration) are answered with null."""

    def __init__(self, proc: asyncio.subprocess.Process, stderr_path: Path) -> None:
        self.proc = proc
        self.stderr_path = stderr_path
        self.responses: dict[str, list[dict[str, Any]]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.changed = asyncio.Event()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def start(cls, workspace: Path, stderr_path: Path) -> RawServer:
        stderr = stderr_path.open("wb")
        proc = await asyncio.create_subprocess_exec(
            *SERVER_CMD,
            cwd=workspace,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, "CLAW_PROVIDER": "scripted"},
            limit=1 << 26,
        )
        stderr.close()
        return cls(proc, stderr_path)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            length = -1
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value.strip())
            assert length >= 0, "the server sent a frame without Content-Length"
            message = json.loads(await self.proc.stdout.readexactly(length))
            if "method" in message and "id" in message:
                self.write(frame({"jsonrpc": "2.0", "id": message["id"], "result": None}))
            elif "method" in message:
                self.notifications.append(message)
            else:
                self.responses.setdefault(id_key(message.get("id")), []).append(message)
            self.changed.set()

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)

    async def drain(self) -> None:
        assert self.proc.stdin is not None
        await self.proc.stdin.drain()

    async def wait_for(self, cond: Callable[[], bool], timeout: float = 60) -> bool:
        async def waiting() -> None:
            while not cond():
                self.changed.clear()
                await self.changed.wait()

        try:
            await asyncio.wait_for(waiting(), timeout)
        except TimeoutError:
            return cond()
        return True

    async def request(
        self, msg_id: Any, method: str, params: Any = None, timeout: float = 60
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.write(frame(message))
        await self.drain()
        key = id_key(msg_id)
        assert await self.wait_for(lambda: key in self.responses, timeout), f"no answer to {method} #{msg_id}"
        return self.responses[key][0]

    def notify(self, method: str, params: Any) -> None:
        self.write(frame({"jsonrpc": "2.0", "method": method, "params": params}))

    def rss_kib(self, field_name: str = "VmRSS") -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text().splitlines()
        return next(int(line.split()[1]) for line in status if line.startswith(field_name + ":"))

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    async def stop(self) -> int:
        if self.proc.returncode is None:
            try:
                await self.request("shutdown-final", "shutdown", timeout=30)
                self.write(frame({"jsonrpc": "2.0", "method": "exit"}))
                await self.drain()
            except (ConnectionError, AssertionError):
                pass
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self.reader.cancel()
        return self.proc.returncode or 0


def frame(message: Any) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def framed(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def initialize_params(workspace: Path) -> dict[str, Any]:
    return {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}}


# -- what a case expects ---------------------------------------------------------------------------


@dataclass
class Case:
    """Bytes to send and the answers a correct server gives to them."""

    kind: str
    data: bytes
    # id (as id_key) -> (how many responses, allowed outcomes: RESULT and/or error codes)
    expect: dict[str, tuple[int, frozenset[Any]]] = field(default_factory=dict)
    parse_errors: tuple[int, int] = (0, 0)  # -32700 responses with id null: at least, at most
    invalid_requests: tuple[int, int] = (0, 0)  # -32600 responses with id null: at least, at most


def allowed(*outcomes: Any) -> frozenset[Any]:
    return frozenset(outcomes)


class Generator:
    """Seeded hostile cases; ids are unique per generator (strings and numbers mixed)."""

    def __init__(self, rng: random.Random, workspace: Path) -> None:
        self.rng = rng
        self.workspace = workspace
        self.next_id = 1000
        self.open_uris: list[str] = []
        self.versions: dict[str, int] = {}
        self.sessions_made = 0
        self.kinds: list[tuple[Callable[[], Case], int]] = [
            (self.extra_headers, 3),
            (self.header_spelling, 3),
            (self.short_length, 3),
            (self.long_length, 3),
            (self.unreadable_length, 3),
            (self.junk_header_lines, 2),
            (self.invalid_json, 6),
            (self.invalid_utf8, 3),
            (self.not_an_object, 3),
            (self.bad_envelope, 6),
            (self.bad_id, 3),
            (self.bad_method, 3),
            (self.unknown_method, 4),
            (self.response_to_nothing, 4),
            (self.duplicate_ids, 3),
            (self.notification_with_id, 3),
            (self.deep_nesting, 2),
            (self.huge_string, 1),
            (self.claw_command, 16),
            (self.lsp_params, 8),
            (self.code_action, 6),
            (self.document_sync, 10),
            (self.cancel_request, 2),
        ]
        self.weights = [w for _, w in self.kinds]

    def case(self) -> Case:
        ((make, _),) = self.rng.choices(self.kinds, weights=self.weights)
        return make()

    def new_id(self) -> Any:
        self.next_id += 1
        return self.next_id if self.rng.random() < 0.7 else f"h-{self.next_id}"

    # -- building blocks --------------------------------------------------------------------------

    def status_request(self, msg_id: Any) -> dict[str, Any]:
        return {
            "jsonrpc": "2.0",
            "id": msg_id,
            "method": "workspace/executeCommand",
            "params": {"command": "claw.status", "arguments": [{}]},
        }

    def answered(self, msg_id: Any, *outcomes: Any, count: int = 1) -> dict[str, tuple[int, frozenset[Any]]]:
        return {id_key(msg_id): (count, allowed(*outcomes))}

    def any_request(self) -> tuple[dict[str, Any], dict[str, tuple[int, frozenset[Any]]]]:
        """A well-formed request the server answers with a result."""
        msg_id = self.new_id()
        return self.status_request(msg_id), self.answered(msg_id, RESULT)

    def hostile_value(self, depth: int = 0) -> Any:
        r = self.rng.random()
        choices: list[Callable[[], Any]] = [
            lambda: None,
            lambda: self.rng.choice([True, False]),
            lambda: self.rng.choice([0, -1, 1, 2**31, -(2**63), 2**64, 10**30, 7]),
            lambda: self.rng.choice([0.5, -1e308, 1e308, 3.0]),
            lambda: self.text(self.rng.choice([0, 1, 8, 40, 300])),
            lambda: self.rng.choice(
                [
                    "",
                    "\u0000",
                    "\ud800",
                    "../../../../etc/passwd",
                    "file:///dev/zero",
                    "file:///proc/self/mem",
                    "%00",
                    "𝄞" * 5,
                    "\u2028\r\n",
                    "null",
                ]
            ),
        ]
        if depth < 3:
            choices.append(lambda: [self.hostile_value(depth + 1) for _ in range(self.rng.randint(0, 3))])
            choices.append(
                lambda: {
                    self.rng.choice(
                        ["uri", "range", "prompt", "sessionId", "changeId", "runId", "x"]
                    ): self.hostile_value(depth + 1)
                    for _ in range(self.rng.randint(0, 3))
                }
            )
        return choices[int(r * len(choices))]()

    def text(self, n: int) -> str:
        alphabet = string.printable + "éß€𝄞\u0000\u2028\ufeff"
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def position(self) -> Any:
        return {
            "line": self.rng.choice([0, 1, 3, 10**6, 2**31 - 1]),
            "character": self.rng.choice([0, 2, 7, 10**6, 2**31 - 1]),
        }

    def bad_position(self) -> Any:
        return self.rng.choice(
            [
                {"line": -1, "character": 0},
                {"line": 0, "character": -5},
                {"line": "1", "character": 0},
                {"line": 1.5, "character": 0},
                {"line": 2**40, "character": 0},
                {},
                None,
                [0, 0],
                "0:0",
            ]
        )

    def uri(self) -> str:
        r = self.rng.random()
        if self.open_uris and r < 0.5:
            return self.rng.choice(self.open_uris)
        return self.rng.choice(
            [
                (self.workspace / "missing.py").as_uri(),
                (self.workspace / "dir with space" / "ü.py").as_uri(),
                "file:///dev/zero",
                "file:///proc/self/status",
                "untitled:Untitled-1",
                "not a uri",
                "",
                "file://host/share/x.py",
                (self.workspace / "a.py").as_uri() + "%00",
                "file:///" + "a/" * 200 + "x.py",
            ]
        )

    # -- framing ----------------------------------------------------------------------------------

    def extra_headers(self) -> Case:
        request, expect = self.any_request()
        body = json.dumps(request).encode()
        headers = [b"Content-Length: %d\r\n" % len(body)]
        extra = self.rng.choice(
            [
                b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n",
                b"Content-Type: text/plain; charset=latin-1\r\n",
                b"X-Junk: \x01\x02\r\n",
                b"Content-Type:\r\n",
            ]
        )
        headers.insert(self.rng.randint(0, 1), extra)
        return Case("framing/extra header", b"".join(headers) + b"\r\n" + body, expect)

    def header_spelling(self) -> Case:
        """Header names are case-insensitive (as in HTTP); the value may carry spaces; lines may end
        in a bare LF."""
        request, expect = self.any_request()
        body = json.dumps(request).encode()
        name = self.rng.choice([b"content-length", b"CONTENT-LENGTH", b"Content-length", b"Content-Length"])
        value = self.rng.choice([b" %d", b"%d", b"  %d ", b" %d\t"]) % len(body)
        eol = self.rng.choice([b"\r\n", b"\n"])
        return Case("framing/header spelling", name + b":" + value + eol + eol + body, expect)

    def short_length(self) -> Case:
        """A Content-Length shorter than the body: the cut body is not JSON (-32700); the rest of
        the body, up to the line break sent after it, is a junk header line."""
        request, _ = self.any_request()
        body = json.dumps(request).encode()
        cut = self.rng.randint(1, len(body) - 1)
        data = b"Content-Length: %d\r\n\r\n" % cut + body + b"\r\n"
        return Case("framing/short length", data, parse_errors=(1, 1))

    def long_length(self) -> Case:
        """A Content-Length longer than the body: the server reads that many bytes, so the filler
        sent after it belongs to the body, which then is not JSON."""
        request, _ = self.any_request()
        body = json.dumps(request).encode()
        extra = self.rng.randint(1, 64)
        data = b"Content-Length: %d\r\n\r\n" % (len(body) + extra) + body + b"#" * extra + b"\r\n"
        return Case("framing/long length", data, parse_errors=(1, 1))

    def unreadable_length(self) -> Case:
        """No usable Content-Length: nothing can be framed, nothing is answered; the body read as a
        header line ends at the line break sent after it."""
        request, _ = self.any_request()
        body = json.dumps(request).encode()
        value = self.rng.choice(
            [b"-5", b"abc", b"", b"1e3", b"0x10", b"%d" % -len(body), b"0", b"+%d" % len(body)]
        )
        header = self.rng.choice(
            [b"Content-Length: %s\r\n\r\n" % value, b"\r\n", b"Length: %d\r\n\r\n" % len(body)]
        )
        return Case("framing/unreadable length", header + body + b"\r\n", parse_errors=(0, 1))

    def junk_header_lines(self) -> Case:
        request, expect = self.any_request()
        alphabet = bytes(range(32, 127)) + b"\t\x00\x7f\xff\xfe"
        lines = []
        for _ in range(self.rng.randint(1, 4)):
            n = self.rng.choice([0, 5, 80, 70_000])
            junk = bytes(self.rng.choice(alphabet) for _ in range(min(n, 200))) * max(1, n // 200)
            lines.append(junk.replace(b"Content", b"C") + b"\r\n")
        body = json.dumps(request).encode()
        # Junk before the frame starts (a blank line ends nothing while no length was read).
        return Case("framing/junk header lines", b"".join(lines) + framed(body), expect)

    # -- bodies -----------------------------------------------------------------------------------

    def invalid_json(self) -> Case:
        request, _ = self.any_request()
        text = json.dumps(request)
        for _ in range(100):
            how = self.rng.randrange(6)
            if how == 0:
                bad = text[: self.rng.randint(0, len(text) - 1)]
            elif how == 1:
                i = self.rng.randrange(len(text))
                bad = text[:i] + self.rng.choice('{}[],:"\\') + text[i:]
            elif how == 2:
                bad = text + self.rng.choice(["}", "x", "{}", ",", "\x00"])
            elif how == 3:
                bad = self.rng.choice(
                    [
                        "",
                        " ",
                        "{",
                        "}",
                        "[",
                        "nul",
                        "tru",
                        "{'a': 1}",
                        "{a:1}",
                        "NaNx",
                        '{"jsonrpc": "2.0",}',
                        "01",
                    ]
                )
            elif how == 4:
                bad = self.text(self.rng.randint(1, 200))
            else:
                i = self.rng.randrange(len(text))
                bad = text[:i] + text[i + 1 :]
            try:
                json.loads(bad)
            except ValueError:
                if bad.strip():
                    return Case(
                        "body/invalid JSON", framed(bad.encode("utf-8", "surrogatepass")), parse_errors=(1, 1)
                    )
        return self.invalid_json()

    def invalid_utf8(self) -> Case:
        request, _ = self.any_request()
        text = json.dumps({**request, "params": {"command": "claw.status", "arguments": [{"x": "@@"}]}})
        junk = self.rng.choice(
            [b"\xff", b"\xc3\x28", b"\xc0\xaf", b"\xe2\x82", b"\xf8\x88\x80\x80\x80", b"\x80"]
        )
        body = text.encode().replace(b"@@", b"a" + junk + b"b")
        return Case("body/invalid UTF-8", framed(body), parse_errors=(1, 1))

    def not_an_object(self) -> Case:
        request, _ = self.any_request()
        body = self.rng.choice(
            [
                "[]",
                "[1, 2]",
                json.dumps([request]),
                "1",
                '"claw.status"',
                "null",
                "true",
                "[[[]]]",
                json.dumps([request, request]),
                "{}",
                '{"jsonrpc": "2.0"}',
                '{"params": {}}',
            ]
        )
        return Case("body/not an object", framed(body.encode()), invalid_requests=(1, 1))

    # -- the JSON-RPC envelope -----------------------------------------------------------------------

    def bad_envelope(self) -> Case:
        msg_id = self.new_id()
        request = self.status_request(msg_id)
        how = self.rng.randrange(5)
        if how == 0:
            del request["jsonrpc"]
        elif how == 1:
            request["jsonrpc"] = self.rng.choice(["1.0", "2", 2.0, None, "", "2.0 ", ["2.0"]])
        elif how == 2:  # params that are not structured
            request["params"] = self.rng.choice(["claw.status", 5, True, None])
            if request["params"] is None:
                del request["params"]  # executeCommand without params
            return Case(
                "envelope/params not structured",
                frame(request),
                self.answered(msg_id, INVALID_PARAMS, INVALID_REQUEST),
            )
        elif how == 3:  # a request that also carries result/error
            request[self.rng.choice(["result", "error"])] = self.hostile_value()
            return Case(
                "envelope/request with result", frame(request), self.answered(msg_id, INVALID_REQUEST)
            )
        else:  # extra members are ignored
            request[self.rng.choice(["extra", "jsonrpc2", "Id", "METHOD"])] = self.hostile_value()
            return Case("envelope/extra member", frame(request), self.answered(msg_id, RESULT))
        return Case("envelope/jsonrpc", frame(request), self.answered(msg_id, INVALID_REQUEST))

    def bad_id(self) -> Case:
        """An id that is neither an integer nor a string: not a valid request (-32600, id null)."""
        request, _ = self.any_request()
        request["id"] = self.rng.choice([None, True, False, {"a": 1}, [1], [], {}])
        return Case("envelope/bad id", frame(request), invalid_requests=(1, 1))

    def bad_method(self) -> Case:
        msg_id = self.new_id()
        method = self.rng.choice([5, None, [], {}, {"a": 1}, True, 1.5, ["workspace/executeCommand"]])
        request = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": {}}
        return Case("envelope/bad method", frame(request), self.answered(msg_id, INVALID_REQUEST))

    def unknown_method(self) -> Case:
        msg_id = self.new_id()
        method = self.rng.choice(
            [
                "claw/event",
                "claw/input",
                "claw/permission",
                "claw/review",
                "claw/nope",
                "textDocument/hover",
                "textDocument/completion",
                "workspace/symbol",
                "$/unknown",
                "",
                " ",
                "initialize ",
                "Shutdown",
                "exit/",
                "claw.status",
                "textDocument/" + self.text(20),
                self.text(self.rng.randint(1, 60)),
            ]
        )
        params = self.hostile_value()
        request: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if isinstance(params, (dict, list)):
            request["params"] = params
        if self.rng.random() < 0.3:  # the same as a notification: ignored (never "exit")
            del request["id"]
            return Case("method/unknown notification", frame(request))
        return Case("method/unknown", frame(request), self.answered(msg_id, METHOD_NOT_FOUND))

    def response_to_nothing(self) -> Case:
        msg_id = self.rng.choice([self.new_id(), 0, -1, "x", 2**40])
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id}
        how = self.rng.randrange(4)
        if how == 0:
            message["result"] = self.hostile_value()
        elif how == 1:
            message["error"] = {"code": self.rng.choice([-32601, 1, 0]), "message": self.text(10)}
        elif how == 2:
            message["error"] = self.hostile_value()
        else:
            message["result"], message["error"] = None, {"code": 1, "message": "both"}
        return Case("response/to nothing", frame(message))

    def duplicate_ids(self) -> Case:
        msg_id = self.new_id()
        command = self.rng.choice(["claw.status", "claw.sessions.list", "claw.cancel", "claw.review.accept"])
        args: list[Any] = [{"changeId": "c-1"}] if command == "claw.review.accept" else [{}]
        request = {
            "jsonrpc": "2.0",
            "id": msg_id,
            "method": "workspace/executeCommand",
            "params": {"command": command, "arguments": args},
        }
        n = self.rng.randint(2, 3)
        return Case("envelope/duplicate ids", frame(request) * n, self.answered(msg_id, RESULT, count=n))

    def notification_with_id(self) -> Case:
        msg_id = self.new_id()
        uri = (self.workspace / f"n{self.next_id}.py").as_uri()
        method, params = self.rng.choice(
            [
                ("initialized", {}),
                (
                    "textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}},
                ),
                ("textDocument/didClose", {"textDocument": {"uri": uri}}),
                ("textDocument/didSave", {"textDocument": {"uri": uri}}),
                ("workspace/didChangeConfiguration", {"settings": {}}),
                ("$/setTrace", {"value": "off"}),
                ("$/cancelRequest", {"id": 1}),
                ("window/workDoneProgress/cancel", {"token": "t"}),
            ]
        )
        request = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}
        return Case(
            "envelope/notification with id",
            frame(request),
            self.answered(msg_id, INVALID_REQUEST),  # a notification has no id: not a valid request
        )

    def deep_nesting(self) -> Case:
        msg_id = self.new_id()
        depth = self.rng.choice([10, 100, 300, 5_000, 100_000])
        nested = "[" * depth + "]" * depth
        command = self.rng.choice(["claw.status", "claw.cancel", "claw.sessions.resume", "claw.ask"])
        body = (
            f'{{"jsonrpc": "2.0", "id": {json.dumps(msg_id)}, "method": "workspace/executeCommand", '
            f'"params": {{"command": "{command}", "arguments": [{{"x": {nested}, "runId": {nested}}}]}}}}'
        )
        if depth > 900:  # past what a JSON reader nests: a parse error, not a crash
            return Case("body/deep nesting", framed(body.encode()), parse_errors=(1, 1))
        return Case("body/deep nesting", framed(body.encode()), self.answered(msg_id, INVALID_PARAMS, RESULT))

    def huge_string(self) -> Case:
        msg_id = self.new_id()
        size = self.rng.choice([1 << 16, 1 << 20, 4 << 20])
        big = self.rng.choice(["a", "é", "𝄞", "\\n"]) * (size // 4)
        where = self.rng.randrange(4)
        if where == 0:
            request = {"jsonrpc": "2.0", "id": msg_id, "method": big, "params": {}}
            return Case("body/huge method", frame(request), self.answered(msg_id, METHOD_NOT_FOUND))
        if where == 1:
            request = {
                "jsonrpc": "2.0",
                "id": msg_id,
                "method": "workspace/executeCommand",
                "params": {"command": big, "arguments": []},
            }
            return Case(
                "body/huge command", frame(request), self.answered(msg_id, INVALID_PARAMS, METHOD_NOT_FOUND)
            )
        if where == 2:
            request = {
                "jsonrpc": "2.0",
                "id": msg_id,
                "method": "workspace/executeCommand",
                "params": {"command": "claw.sessions.resume", "arguments": [{"sessionId": big}]},
            }
            return Case("body/huge session id", frame(request), self.answered(msg_id, INVALID_PARAMS))
        big = f"{self.next_id}-{big}"  # ids are unique
        request = {
            "jsonrpc": "2.0",
            "id": big,
            "method": "workspace/executeCommand",
            "params": {"command": "claw.status", "arguments": [{}]},
        }
        return Case("body/huge id", frame(request), {id_key(big): (1, allowed(RESULT))})

    # -- commands and LSP params -----------------------------------------------------------------------

    def claw_command(self) -> Case:
        msg_id = self.new_id()
        command = self.rng.choice(
            [
                "claw.ask",
                "claw.cancel",
                "claw.sessions.list",
                "claw.sessions.resume",
                "claw.sessions.new",
                "claw.review.accept",
                "claw.review.reject",
                "claw.status",
                "claw.workspace.trust",
                "claw.nope",
                "claw.",
                "CLAW.STATUS",
            ]
        )
        if command == "claw.sessions.new":
            self.sessions_made += 1
            if self.sessions_made > 20:  # each makes a session: a few are enough
                command = "claw.status"
        r = self.rng.random()
        arguments: Any
        if r < 0.15:
            arguments = self.rng.choice(["x", 5, {}, None, True])
        elif r < 0.35:
            arguments = [self.hostile_value() for _ in range(self.rng.randint(0, 3))]
        else:
            arguments = [
                self.command_object(command),
                *[self.hostile_value() for _ in range(self.rng.randint(0, 1))],
            ]
        params: dict[str, Any] = {"command": command}
        if arguments is not None:
            params["arguments"] = arguments
        request = {"jsonrpc": "2.0", "id": msg_id, "method": "workspace/executeCommand", "params": params}
        if command not in (
            "claw.ask",
            "claw.cancel",
            "claw.sessions.list",
            "claw.sessions.resume",
            "claw.sessions.new",
            "claw.review.accept",
            "claw.review.reject",
            "claw.status",
            "claw.workspace.trust",
        ):
            outcomes = allowed(INVALID_PARAMS, METHOD_NOT_FOUND, INVALID_REQUEST)
        elif command == "claw.ask":
            # Never a prompt the server could run with: a run is not what this suite is about.
            outcomes = allowed(INVALID_PARAMS, INVALID_REQUEST)
        else:
            outcomes = allowed(RESULT, INVALID_PARAMS, INVALID_REQUEST)
        return Case(f"command/{command}", frame(request), self.answered(msg_id, *outcomes))

    def command_object(self, command: str) -> dict[str, Any]:
        fields = {
            "claw.ask": ["uri", "range", "prompt", "sessionId", "action", "diagnostic", "instruction"],
            "claw.cancel": ["runId"],
            "claw.sessions.resume": ["sessionId"],
            "claw.review.accept": ["changeId", "hunk", "feedback"],
            "claw.review.reject": ["changeId", "hunk", "feedback"],
            "claw.workspace.trust": ["trusted"],
        }.get(command, ["x", "sessionId"])
        obj: dict[str, Any] = {}
        for name in self.rng.sample(fields, self.rng.randint(1, len(fields))):
            obj[name] = self.field_value(name)
        if command == "claw.ask":
            # A prompt (or an action that implies one) would start a run: make one field unreadable.
            unreadable = {
                "prompt": [5, [1], {"a": 1}],
                "range": [5, "0:0", [1], {"start": 1}],
                "action": ["bogus-action", 5, ""],
                "instruction": [5, "x", {"line": "x"}],
                "sessionId": [2.5, [1], {"a": 1}],
            }
            name = self.rng.choice(sorted(unreadable))
            obj[name] = self.rng.choice(unreadable[name])
        return obj

    def field_value(self, name: str) -> Any:
        if self.rng.random() < 0.4:
            return self.hostile_value()
        return {
            "uri": self.uri,
            "range": lambda: {
                "start": self.position(),
                "end": self.rng.choice([self.position(), self.bad_position()]),
            },
            "prompt": lambda: self.text(self.rng.choice([0, 10])),
            "sessionId": lambda: self.rng.choice(
                ["", "../../x", "nope", "a" * 300, "\u0000", "s-1", "/etc/passwd"]
            ),
            "action": lambda: self.rng.choice(["fix", "explain", "bogus", ""]),
            "diagnostic": lambda: {"message": self.hostile_value(), "range": self.hostile_value()},
            "instruction": lambda: {"line": self.hostile_value(), "comment": self.hostile_value()},
            "runId": lambda: self.rng.choice(["", "r-0000000000", "x" * 1000]),
            "changeId": lambda: self.rng.choice(["", "c-1", "x" * 1000]),
            "hunk": lambda: self.rng.choice([0, -1, 10**9]),
            "feedback": lambda: self.text(20),
            "trusted": lambda: self.rng.choice([True, False, None, "yes", 1]),
        }.get(name, self.hostile_value)()

    def lsp_params(self) -> Case:
        msg_id = self.new_id()
        method = self.rng.choice(
            ["workspace/executeCommand", "textDocument/codeAction", "codeAction/resolve"]
        )
        params = self.hostile_value()
        if not isinstance(params, (dict, list)):
            params = {"command": params} if method == "workspace/executeCommand" else {"textDocument": params}
        request = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}
        return Case(
            f"params/{method}",
            frame(request),
            self.answered(msg_id, INVALID_PARAMS, METHOD_NOT_FOUND, RESULT),
        )

    def code_action(self) -> Case:
        msg_id = self.new_id()
        start, end = self.position(), self.position()
        diagnostics: list[Any] = []
        for _ in range(self.rng.choice([0, 0, 1, 3, 50])):
            diagnostics.append(
                {
                    "range": {"start": self.position(), "end": self.position()},
                    "message": self.text(self.rng.choice([0, 20])),
                    "severity": self.rng.choice([1, 2, 3, 4]),
                    "source": "hostile",
                }
            )
        bad = self.rng.random() < 0.3
        if bad:
            which = self.rng.randrange(3)
            if which == 0:
                start = self.bad_position()
            elif which == 1:
                diagnostics = [self.hostile_value()]
            else:
                diagnostics = self.rng.choice(["x", 5, {"a": 1}])  # type: ignore[assignment]
        params = {
            "textDocument": {"uri": self.uri()},
            "range": {"start": start, "end": end},
            "context": {"diagnostics": diagnostics, "only": self.rng.choice([None, ["quickfix"], ["x"]])},
        }
        if params["context"]["only"] is None:
            del params["context"]["only"]
        if self.rng.random() < 0.2:
            # resolve a code action whose data is not what the server made
            data = self.command_object("claw.ask") if self.rng.random() < 0.5 else self.hostile_value()
            action = {"title": self.text(10), "kind": "quickfix", "data": {"claw": data}}
            request = {"jsonrpc": "2.0", "id": msg_id, "method": "codeAction/resolve", "params": action}
            return Case("code action/resolve", frame(request), self.answered(msg_id, RESULT, INVALID_PARAMS))
        request = {"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/codeAction", "params": params}
        outcomes = allowed(RESULT, INVALID_PARAMS) if bad else allowed(RESULT)
        return Case("code action", frame(request), self.answered(msg_id, *outcomes))

    def document_sync(self) -> Case:
        """Notifications only: nothing is answered; a codeAction on the document right after must
        be (the tracked text stays usable)."""
        uri = self.uri()
        messages: list[dict[str, Any]] = []
        how = self.rng.randrange(6)
        if how == 0 or not self.open_uris:
            uri = (self.workspace / f"doc{self.rng.randrange(8)}.py").as_uri()
            version = self.rng.choice([0, 1, 5, -3])
            text = self.text(self.rng.choice([0, 50, 2000])) + "\n"
            messages.append(
                {"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}}
            )
            if uri not in self.open_uris:
                self.open_uris.append(uri)
            self.versions[uri] = version
            method = "textDocument/didOpen"
        elif how in (1, 2, 3):
            version = self.versions.get(uri, 0) + self.rng.choice([1, 1, 0, -5])
            self.versions[uri] = version
            changes: list[Any] = []
            for _ in range(self.rng.randint(1, 3)):
                if self.rng.random() < 0.15:
                    changes.append({"text": self.text(30)})  # whole text
                else:
                    changes.append(
                        {
                            "range": {"start": self.position(), "end": self.position()},
                            "text": self.text(self.rng.choice([0, 3, 10])),
                            **(
                                {"rangeLength": self.rng.choice([0, 99999])}
                                if self.rng.random() < 0.3
                                else {}
                            ),
                        }
                    )
            if self.rng.random() < 0.15:
                changes = [{"range": {"start": self.bad_position(), "end": self.position()}, "text": "x"}]
            if self.rng.random() < 0.05:
                changes = self.rng.choice(["x", {"text": "y"}, [None]])  # type: ignore[assignment]
            messages.append({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes})
            method = "textDocument/didChange"
        elif how == 4:
            messages.append(
                {"textDocument": {"uri": uri}, **({"text": self.text(20)} if self.rng.random() < 0.5 else {})}
            )
            method = "textDocument/didSave"
        else:
            messages.append({"textDocument": {"uri": uri}})
            method = "textDocument/didClose"
            if uri in self.open_uris and self.rng.random() < 0.5:
                self.open_uris.remove(uri)
        if self.rng.random() < 0.1:
            messages[0] = (
                self.hostile_value() if self.rng.random() < 0.5 else {"textDocument": self.hostile_value()}
            )
        data = b"".join(frame({"jsonrpc": "2.0", "method": method, "params": p}) for p in messages)
        follow_id = self.new_id()
        follow = {
            "jsonrpc": "2.0",
            "id": follow_id,
            "method": "textDocument/codeAction",
            "params": {
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                "context": {"diagnostics": []},
            },
        }
        return Case(f"sync/{method}", data + frame(follow), self.answered(follow_id, RESULT))

    def cancel_request(self) -> Case:
        params = self.rng.choice(
            [{"id": self.new_id()}, {"id": None}, {}, {"id": {"x": 1}}, "x", None, {"id": 2**70}]
        )
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": "$/cancelRequest"}
        if params is not None:
            message["params"] = params
        return Case("envelope/cancel unknown", frame(message))


# -- running and judging ---------------------------------------------------------------------------


@dataclass
class Tally:
    cases: int = 0
    bytes_sent: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    expect: dict[str, tuple[int, frozenset[Any], str]] = field(default_factory=dict)
    parse_errors: list[int] = field(default_factory=lambda: [0, 0])
    invalid_requests: list[int] = field(default_factory=lambda: [0, 0])
    batches: int = 0

    def add(self, case: Case) -> None:
        self.cases += 1
        self.bytes_sent += len(case.data)
        self.by_kind[case.kind.split("/")[0]] += 1
        for key, (count, outcomes) in case.expect.items():
            assert key not in self.expect, f"id {key} generated twice"
            self.expect[key] = (count, outcomes, case.kind)
        self.parse_errors[0] += case.parse_errors[0]
        self.parse_errors[1] += case.parse_errors[1]
        self.invalid_requests[0] += case.invalid_requests[0]
        self.invalid_requests[1] += case.invalid_requests[1]


def outcome(response: dict[str, Any]) -> Any:
    if "error" in response:
        error = response["error"]
        assert isinstance(error, dict) and isinstance(error.get("code"), int), response
        assert isinstance(error.get("message"), str), response
        return error["code"]
    assert "result" in response, response
    return RESULT


def judge(server: RawServer, tally: Tally, pre_init: set[str]) -> list[str]:
    """Every failure, described (empty: the server did what the spec says)."""
    failures: list[str] = []
    expected_keys = set(tally.expect)
    for key, (count, expected, kind) in tally.expect.items():
        got = server.responses.get(key, [])
        outcomes = expected
        if key in pre_init:  # before initialize: refused, or the error its shape earns
            outcomes = (expected - {RESULT}) | {NOT_INITIALIZED}
        if len(got) != count:
            failures.append(f"{kind}: id {key[:60]}: {len(got)} responses, expected {count}")
            continue
        for response in got:
            code = outcome(response)
            if code not in outcomes:
                failures.append(
                    f"{kind}: id {key[:60]}: got {code} {str(response.get('error'))[:200]}, "
                    f"expected one of {sorted(map(str, outcomes))}"
                )
    null = [outcome(r) for r in server.responses.get("null", [])]
    counts = Counter(null)
    lo, hi = tally.parse_errors
    if not lo <= counts[PARSE_ERROR] <= hi:
        failures.append(f"{counts[PARSE_ERROR]} parse errors (-32700, id null), expected {lo}..{hi}")
    lo, hi = tally.invalid_requests
    if not lo <= counts[INVALID_REQUEST] <= hi:
        failures.append(f"{counts[INVALID_REQUEST]} invalid requests (-32600, id null), expected {lo}..{hi}")
    if set(counts) - {PARSE_ERROR, INVALID_REQUEST}:
        failures.append(f"unexpected id-null responses: {counts}")
    extra = set(server.responses) - expected_keys - {"null"}
    extra = {k for k in extra if not k.startswith('"sync-') and k not in ('"shutdown-final"', '"init"')}
    if extra:
        failures.append(f"responses to ids nobody expected an answer for: {sorted(extra)[:10]}")
    internal = [r for rs in server.responses.values() for r in rs if outcome(r) == INTERNAL_ERROR]
    for response in internal[:10]:
        failures.append(f"internal error: {str(response)[:300]}")
    for note in server.notifications:
        params = note.get("params") or {}
        message = str(params.get("message", "")) if isinstance(params, dict) else ""
        if note.get("method") in ("window/showMessage", "window/logMessage") and params.get("type") == 1:
            failures.append(f"error shown to the user: {message[:300]}")
    return failures


async def run_hostile(workspace: Path, tmp_path: Path, cases: int, seed: int, batch: int = 100) -> Tally:
    rng = random.Random(seed)
    generator = Generator(rng, workspace)
    server = await RawServer.start(workspace, tmp_path / "server.stderr")
    tally = Tally()
    pre_init: set[str] = set()
    failures: list[str] = []
    try:
        # Before initialize: a few batches' worth of cases, every request refused.
        for _ in range(max(10, cases // 50)):
            case = generator.case()
            if case.kind.startswith("sync/"):  # its follow-up codeAction: also refused
                pass
            tally.add(case)
            pre_init.update(case.expect)
            server.write(case.data)
        await server.drain()
        init = await server.request("init", "initialize", initialize_params(workspace))
        assert "result" in init, init
        server.notify("initialized", {})
        await asyncio.sleep(2)  # the SDK warm-up import after initialize is done before the baseline
        await server.request(
            "sync-0", "workspace/executeCommand", {"command": "claw.status", "arguments": [{}]}
        )
        baseline = server.rss_kib()
        sent = tally.cases
        while sent < cases:
            for _ in range(min(batch, cases - sent)):
                case = generator.case()
                tally.add(case)
                server.write(case.data)
                sent += 1
                if len(case.data) > 1 << 16:
                    await server.drain()
            tally.batches += 1
            sync = f"sync-{tally.batches}"
            answer = await server.request(
                sync, "workspace/executeCommand", {"command": "claw.status", "arguments": [{}]}
            )
            assert server.proc.returncode is None, "the server died"
            assert "result" in answer, f"the server stopped answering after batch {tally.batches}: {answer}"
        keys = set(tally.expect)
        await server.wait_for(
            lambda: all(len(server.responses.get(k, [])) >= tally.expect[k][0] for k in keys), timeout=60
        )
        await asyncio.sleep(0.5)  # late duplicates, if any, arrive
        grew_mib = (server.rss_kib() - baseline) / 1024
        peak_mib = server.rss_kib("VmHWM") / 1024
        failures = judge(server, tally, pre_init)
        if grew_mib > RSS_GROWTH_LIMIT_MIB:
            failures.append(f"RSS grew {grew_mib:.0f} MiB over the run (limit {RSS_GROWTH_LIMIT_MIB})")
        print(
            f"\nhostile messages: seed {seed}, {tally.cases} cases ({tally.bytes_sent / 2**20:.1f} MiB) in "
            f"{tally.batches} batches; {len(tally.expect)} requests answered as expected unless listed; "
            f"parse errors {tally.parse_errors}, invalid requests {tally.invalid_requests}; "
            f"RSS +{grew_mib:.1f} MiB (peak {peak_mib:.0f} MiB); by kind {dict(tally.by_kind)}"
        )
    finally:
        code = await server.stop()
    stderr = server.stderr()
    if "Traceback" in stderr:
        at = stderr.index("Traceback")
        failures.append(f"a traceback in the server's stderr:\n{stderr[max(0, at - 300) : at + 3000]}")
    if code != 0:
        failures.append(f"the server exited {code}")
    assert not failures, f"seed {seed}: {len(failures)} failures:\n" + "\n".join(failures[:40])
    return tally


async def test_hostile_messages_fast(workspace: Path, tmp_path: Path) -> None:
    tally = await run_hostile(workspace, tmp_path, cases=400, seed=SEED)
    assert tally.cases >= 400


@pytest.mark.stress
@pytest.mark.timeout(1800)
async def test_hostile_messages_stress(workspace: Path, tmp_path: Path) -> None:
    tally = await run_hostile(workspace, tmp_path, cases=10_000, seed=SEED + 1)
    assert tally.cases >= 10_000


# -- directed regressions: each of these failed before the fix named -------------------------------


STATUS = {"command": "claw.status", "arguments": [{}]}


async def test_what_the_generator_found_is_answered_as_the_spec_says(workspace: Path, tmp_path: Path) -> None:
    """Each exchange here once went wrong: a traceback, an internal error, a wrong or missing
    answer, a stream out of sync for good, an "Error in server" shown to the user."""
    server = await RawServer.start(workspace, tmp_path / "server.stderr")
    try:
        await server.request(1, "initialize", initialize_params(workspace))
        server.notify("initialized", {})

        async def exchange(data: bytes, msg_id: Any) -> dict[str, Any]:
            server.write(data)
            await server.drain()
            key = id_key(msg_id)
            assert await server.wait_for(lambda: key in server.responses, 30), data[:200]
            return server.responses[key][-1]

        nulls = lambda: server.responses.get("null", [])  # noqa: E731
        body = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand", "params": STATUS})
        # A lowercase header name and bare LF line ends (the stream was lost for good before).
        answer = await exchange(b"content-length: %d\n\n%s" % (len(body), body.encode()), 2)
        assert "result" in answer
        # Not JSON, not UTF-8, nested past the reader: -32700 with id null (a traceback before).
        deep = "[" * 100_000 + "]" * 100_000
        for bad in (b"{", b'{"a": "\xff"}', deep.encode()):
            server.write(framed(bad))
        answer = await exchange(
            frame({"jsonrpc": "2.0", "id": 3, "method": "workspace/executeCommand", "params": STATUS}), 3
        )
        assert "result" in answer
        assert [r["error"]["code"] for r in nulls()] == [PARSE_ERROR] * 3
        # Not a request object: -32600 with id null (an AttributeError traceback before).
        for bad in (
            b"[]",
            b"null",
            b"5",
            b"{}",
            json.dumps(
                {"jsonrpc": "2.0", "id": True, "method": "workspace/executeCommand", "params": STATUS}
            ).encode(),
        ):
            server.write(framed(bad))
        await server.request(4, "workspace/executeCommand", STATUS)
        assert [r["error"]["code"] for r in nulls()] == [PARSE_ERROR] * 3 + [INVALID_REQUEST] * 5
        # A method of the wrong type: -32600, not an internal error (unhashable dict).
        answer = await exchange(frame({"jsonrpc": "2.0", "id": 5, "method": {"a": 1}, "params": {}}), 5)
        assert answer["error"]["code"] == INVALID_REQUEST
        # An unknown method without params: -32601, not -32603 (pygls' generic request needed them).
        answer = await exchange(frame({"jsonrpc": "2.0", "id": 6, "method": "claw/nope"}), 6)
        assert answer["error"]["code"] == METHOD_NOT_FOUND
        # A method LSP defines that this server does not serve: -32601, not -32602.
        answer = await exchange(
            frame({"jsonrpc": "2.0", "id": 7, "method": "textDocument/hover", "params": [1]}), 7
        )
        assert answer["error"]["code"] == METHOD_NOT_FOUND
        # A notification sent with an id was run and never answered: now refused.
        answer = await exchange(frame({"jsonrpc": "2.0", "id": 8, "method": "initialized", "params": {}}), 8)
        assert answer["error"]["code"] == INVALID_REQUEST
        # A request carrying an error member was taken for a response (no answer at all).
        answer = await exchange(frame({**json.loads(body), "id": 9, "error": {"code": 1, "message": "x"}}), 9)
        assert answer["error"]["code"] == INVALID_REQUEST
        # Code actions on files that are not open and cannot be read: a missing file, a directory,
        # /dev/zero (read whole before: memory without end), a URI that is no path.
        zero = {"line": 0, "character": 0}
        for n, uri in enumerate(
            [(workspace / "missing.py").as_uri(), workspace.as_uri(), "file:///dev/zero", "not a uri", ""]
        ):
            params = {
                "textDocument": {"uri": uri},
                "range": {"start": zero, "end": zero},
                "context": {"diagnostics": []},
            }
            answer = await exchange(
                frame(
                    {"jsonrpc": "2.0", "id": 100 + n, "method": "textDocument/codeAction", "params": params}
                ),
                100 + n,
            )
            assert "result" in answer, (uri, answer)
        # A session id longer than a file name: not found (-32602), not an internal OSError.
        resume = {"command": "claw.sessions.resume", "arguments": [{"sessionId": "a" * 300}]}
        answer = await exchange(
            frame({"jsonrpc": "2.0", "id": 10, "method": "workspace/executeCommand", "params": resume}), 10
        )
        assert answer["error"]["code"] == INVALID_PARAMS
        # A didChange of a document that is not open (KeyError, "Error in server" before), and one
        # whose range ends before it starts (ValueError from the tracker, shown to the user).
        uri = (workspace / "open.py").as_uri()
        server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": (workspace / "x.py").as_uri(), "version": 2},
                "contentChanges": [{"range": {"start": zero, "end": zero}, "text": "x"}],
            },
        )
        server.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": "a = 1\nb = 2\n"}},
        )
        server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [
                    {
                        "range": {"start": {"line": 1, "character": 3}, "end": {"line": 0, "character": 2}},
                        "text": "x",
                    }
                ],
            },
        )
        # $/cancelRequest with an id that is not one (unhashable dict before).
        server.notify("$/cancelRequest", {"id": {"x": 1}})
        # A code action resolved with data the server did not make.
        action = {"title": "t", "kind": "quickfix", "data": {"claw": {"uri": 5, "range": "x"}}}
        answer = await exchange(
            frame({"jsonrpc": "2.0", "id": 11, "method": "codeAction/resolve", "params": action}), 11
        )
        assert "result" in answer or answer["error"]["code"] == INVALID_PARAMS, answer
        await server.request(12, "workspace/executeCommand", STATUS)
        shown = [n for n in server.notifications if n.get("method") == "window/showMessage"]
        assert not shown, shown
    finally:
        code = await server.stop()
    assert code == 0
    assert "Traceback" not in server.stderr(), server.stderr()
