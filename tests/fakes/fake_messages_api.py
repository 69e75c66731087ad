"""A fake Anthropic Messages API (and OpenAI chat-completions) server for tests.

A real HTTP server on 127.0.0.1 (random port, background thread) that replays the model's turns a
test states as data. Each scripted response is a dict built with the helpers below:

    api.queue(reply(text("Hello"), tool_use("Read", {"file_path": "/x"})))
    api.queue(reply(thinking("hmm", signature="sig"), redacted_thinking("EncB64"), text("ok")))
    api.queue(http_error(429, retry_after_ms=5), reply(text("ok")))
    api.queue(stream_error("overloaded_error"), dropped(after=2), reply(text("slow"), delay=0.2))
    api.queue(lambda req: reply(text("got " + req.last_tool_result())))

`POST /v1/messages` answers plain JSON, or SSE when the body says `"stream": true`;
`POST /v1/chat/completions` answers in the OpenAI (streaming) shape from the same queue. Every
request (path, headers, body) is recorded in `.requests`. Text, thinking and tool-input JSON are
streamed in pieces of `chunk` characters, so splits land mid-word and mid-JSON-token.

Control endpoints (for a server running as a subprocess): `POST /_fake/queue` appends the JSON
list of responses in the body; `GET /_fake/requests` returns the recorded requests.

Standalone (from the repository root, or with it on PYTHONPATH):
`python -m tests.fakes.fake_messages_api --script turns.json --port-file F [--requests-log R]
[--default-text T]`. The script is a JSON list of responses (or JSONL, one per line), the same
dicts the helpers build, e.g.
    {"content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/a"}}],
     "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5}, "chunk": 5, "delay": 0}
    {"content": [{"type": "text", "text": "The file says {{tool_result}}"}]}
    {"http_status": 429, "error_type": "rate_limit_error", "message": "slow", "retry_after_ms": 5}
    {"content": [], "error_after": 1, "error_type": "overloaded_error"}      (error event in a 200)
    {"content": [], "drop_after": 1}                                          (dropped connection)
`{{tool_result}}` in a text is replaced by the text of the last tool_result in the request. The
port file is written once listening; SIGTERM stops the server. Point the server under test at it
with `FakeMessagesAPI.env()`-style variables: ANTHROPIC_BASE_URL=http://127.0.0.1:PORT and any
ANTHROPIC_API_KEY.
"""

from __future__ import annotations

import argparse
import http.server
import itertools
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Response = dict[str, Any]
Responder = Callable[["RecordedRequest"], Response]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

# ---------------------------------------------------------------------------------------------
# Building scripted responses


def text(value: str) -> dict[str, Any]:
    """A text content block."""
    return {"type": "text", "text": value}


def thinking(value: str, signature: str = "sig-fake") -> dict[str, Any]:
    """A thinking content block (with its signature)."""
    return {"type": "thinking", "thinking": value, "signature": signature}


def redacted_thinking(data: str) -> dict[str, Any]:
    """A redacted_thinking content block (encrypted thinking: streamed whole, no deltas)."""
    return {"type": "redacted_thinking", "data": data}


_ids = itertools.count(1)


def tool_use(name: str, input: dict[str, Any], id: str | None = None) -> dict[str, Any]:
    """A tool_use content block; the id defaults to a fresh `toolu_fake_N`."""
    return {"type": "tool_use", "id": id or f"toolu_fake_{next(_ids)}", "name": name, "input": input}


def reply(
    *blocks: dict[str, Any],
    stop_reason: str | None = None,
    usage: dict[str, int] | None = None,
    chunk: int = 5,
    delay: float = 0.0,
    model: str | None = None,
    error_after: int | None = None,
    error_type: str = "overloaded_error",
    drop_after: int | None = None,
    first_byte_delay: float = 0.0,
    trickle: int | None = None,
    trickle_delay: float = 0.0,
    reasoning_field: str | None = None,
) -> Response:
    """A model turn. stop_reason defaults to tool_use when a tool is called, else end_turn.

    `chunk`: characters per delta; `delay`: seconds between SSE events (slow stream);
    `error_after`/`drop_after`: after that many SSE events send `event: error` / drop the connection
    (`stream_events` lists the events, to find the index of a given delta);
    `first_byte_delay`: seconds before the response starts; `trickle`: write every SSE event in
    pieces of that many bytes, `trickle_delay` seconds apart (bytes trickling in);
    `reasoning_field`: the chat-completions field that carries thinking blocks
    (`reasoning_content`, as DeepSeek and vLLM send, unless set, e.g. to `reasoning`).
    """
    if stop_reason is None:
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    resp: Response = {
        "content": list(blocks),
        "stop_reason": stop_reason,
        "usage": {"input_tokens": 10, "output_tokens": 5, **(usage or {})},
        "chunk": chunk,
        "delay": delay,
    }
    if model:
        resp["model"] = model
    if error_after is not None:
        resp["error_after"] = error_after
        resp["error_type"] = error_type
    if drop_after is not None:
        resp["drop_after"] = drop_after
    if first_byte_delay:
        resp["first_byte_delay"] = first_byte_delay
    if trickle is not None:
        resp["trickle"] = trickle
        resp["trickle_delay"] = trickle_delay
    if reasoning_field is not None:
        resp["reasoning_field"] = reasoning_field
    return resp


def http_error(
    status: int,
    message: str | None = None,
    *,
    error_type: str | None = None,
    retry_after_ms: int | None = None,
    retry_after_s: int | None = None,
) -> Response:
    """An HTTP error response in the API's error shape (429 may carry retry-after-ms, or with
    `retry_after_s` only a `retry-after` header in seconds)."""
    resp: Response = {
        "http_status": status,
        "error_type": error_type or ERROR_TYPES.get(status, "api_error"),
        "message": message or f"fake error {status}",
    }
    if retry_after_ms is not None:
        resp["retry_after_ms"] = retry_after_ms
    if retry_after_s is not None:
        resp["retry_after_s"] = retry_after_s
    return resp


def stream_events(resp: Response, model: str = "claude-fake") -> list[dict[str, Any]]:
    """The SSE events (Anthropic shape) a scripted turn streams, in order: `error_after=N` /
    `drop_after=N` act just before event N of this list."""
    return list(_anthropic_events(resp, _anthropic_message(resp, model)))


def closed_port_url() -> str:
    """The URL of a port on 127.0.0.1 nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def stream_error(error_type: str = "overloaded_error", after: int = 1) -> Response:
    """A 200 stream that sends `event: error` after `after` events (1 = just after message_start)."""
    return reply(error_after=after, error_type=error_type)


def dropped(after: int = 1) -> Response:
    """A 200 stream whose connection is dropped after `after` events."""
    return reply(drop_after=after)


def hung_up() -> Response:
    """The connection closed before any response: no status line, no headers."""
    return {"hang_up": True}


# ---------------------------------------------------------------------------------------------
# Recorded requests


@dataclass
class RecordedRequest:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes = b""

    def last_tool_result(self) -> str:
        """The text of the last tool_result block (Anthropic) or tool message (OpenAI), or ''."""
        for msg in reversed(self.body.get("messages", [])):
            if msg.get("role") == "tool":
                return _content_text(msg.get("content", ""))
            content = msg.get("content")
            if isinstance(content, list):
                for block in reversed(content):
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        return _content_text(block.get("content", ""))
        return ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the request."""
        return {"path": self.path, "headers": self.headers, "body": self.body}

    def tool_results(self) -> list[ToolResult]:
        """Every tool_result block (Anthropic shape) the request carries, in order."""
        return tool_results(self.body)


@dataclass(frozen=True)
class ToolResult:
    """A tool_result block the model got: its text and whether it was flagged as an error."""

    text: str
    is_error: bool
    tool_use_id: str


def tool_results(body: dict[str, Any]) -> list[ToolResult]:
    """Every tool_result in a recorded Messages API request body, in order."""
    found = []
    for message in body.get("messages", []):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                text = _content_text(block.get("content", ""))
                found.append(ToolResult(text, bool(block.get("is_error")), str(block.get("tool_use_id"))))
    return found


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def _substitute(resp: Response, req: RecordedRequest) -> Response:
    """Replace `{{tool_result}}` in text blocks by the request's last tool result."""
    if "content" not in resp:
        return resp
    content = []
    for block in resp["content"]:
        if block.get("type") == "text" and "{{tool_result}}" in block["text"]:
            filled = block["text"].replace("{{tool_result}}", req.last_tool_result())
            content.append({**block, "text": filled})
        else:
            content.append(block)
    return {**resp, "content": content}


# ---------------------------------------------------------------------------------------------
# The server


class FakeMessagesAPI:
    """The fake server: a queue of scripted responses and the record of requests."""

    def __init__(self, port: int = 0, default: Response | None = None) -> None:
        self._lock = threading.Condition()
        self._queue: list[Response | Responder] = []
        self.requests: list[RecordedRequest] = []
        self.default = default
        self._stop = threading.Event()
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.api = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The server's root URL (what ANTHROPIC_BASE_URL takes)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Base URL for the Anthropic SDK (same as `url`)."""
        return self.url

    @property
    def openai_base_url(self) -> str:
        """Base URL for the OpenAI SDK (`url` + /v1)."""
        return self.url + "/v1"

    def env(self, api_key: str = "sk-ant-test-key") -> dict[str, str]:
        """Environment variables pointing the Anthropic SDK (in a subprocess) at this server."""
        return {"ANTHROPIC_BASE_URL": self.url, "ANTHROPIC_API_KEY": api_key}

    def start(self) -> FakeMessagesAPI:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake any slow stream."""
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeMessagesAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def queue(self, *responses: Response | Responder) -> FakeMessagesAPI:
        """Append scripted responses (dicts, or functions of the RecordedRequest returning one)."""
        with self._lock:
            self._queue.extend(responses)
        return self

    @property
    def pending(self) -> int:
        """How many scripted responses are still queued."""
        with self._lock:
            return len(self._queue)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least `n` requests arrived (raises TimeoutError)."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.requests) >= n, timeout=timeout):
                raise TimeoutError(f"expected {n} requests, got {len(self.requests)}")
            return list(self.requests)

    def _next(self, req: RecordedRequest) -> Response:
        with self._lock:
            self.requests.append(req)
            self._lock.notify_all()
            item: Response | Responder | None = self._queue.pop(0) if self._queue else self.default
        if item is None:
            return http_error(400, "fake_messages_api: no scripted response left")
        resp = item(req) if callable(item) else item
        return _substitute(resp, req)

    def sleep(self, seconds: float) -> bool:
        """Wait `seconds` unless the server stops first; False when stopping."""
        return not self._stop.wait(seconds) if seconds > 0 else not self._stop.is_set()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: FakeMessagesAPI


class _Dropped(Exception):
    """The script asked for the connection to drop."""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Each SSE event is its own small write: without TCP_NODELAY, Nagle holds the next one until
    # the client's delayed ACK (40 ms here), as no real streaming API does.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `.requests`, not stderr."""

    # -- plumbing ------------------------------------------------------------------------------
    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", "req_fake")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", "req_fake")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self) -> None:
        """Control endpoint: the recorded requests."""
        api = self.server.api
        if self.path == "/_fake/requests":
            with api._lock:
                self._send_json(200, [r.to_json() for r in api.requests])
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        """Answer /v1/messages, /v1/chat/completions and /_fake/queue."""
        api = self.server.api
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(
                400,
                {"type": "error", "error": {"type": "invalid_request_error", "message": "body is not JSON"}},
            )
            return
        if self.path == "/_fake/queue":
            api.queue(*(body if isinstance(body, list) else [body]))
            self._send_json(200, {"queued": api.pending})
            return
        path = self.path.split("?")[0]
        if path not in ("/v1/messages", "/v1/chat/completions"):
            self._send_json(
                404, {"type": "error", "error": {"type": "not_found_error", "message": f"no route {path}"}}
            )
            return
        req = RecordedRequest(path, {k.lower(): v for k, v in self.headers.items()}, body, raw)
        resp = api._next(req)
        openai = path == "/v1/chat/completions"
        if resp.get("hang_up"):
            self._drop()
            return
        try:
            if "http_status" in resp:
                self._answer_http_error(resp, openai)
            elif openai:
                self._answer_openai(resp, body)
            else:
                self._answer_anthropic(resp, body)
        except (_Dropped, BrokenPipeError, ConnectionResetError):
            self._drop()

    def _answer_http_error(self, resp: Response, openai: bool) -> None:
        headers = {}
        if "retry_after_ms" in resp:
            headers["retry-after-ms"] = str(resp["retry_after_ms"])
            headers["retry-after"] = str(max(1, resp["retry_after_ms"] // 1000))
        if "retry_after_s" in resp:
            headers["retry-after"] = str(resp["retry_after_s"])
        err: dict[str, Any]
        if openai:
            err = {"error": {"message": resp["message"], "type": resp["error_type"], "code": None}}
        else:
            err = {"type": "error", "error": {"type": resp["error_type"], "message": resp["message"]}}
        self._send_json(resp["http_status"], err, headers)

    # -- Anthropic -----------------------------------------------------------------------------
    def _answer_anthropic(self, resp: Response, body: dict[str, Any]) -> None:
        model = resp.get("model") or body.get("model") or "claude-fake"
        message = _anthropic_message(resp, model)
        if not body.get("stream"):
            if "drop_after" in resp:
                raise _Dropped
            if "error_after" in resp:
                self._answer_http_error(http_error(529, "Overloaded", error_type=resp["error_type"]), False)
                return
            self._send_json(200, message)
            return
        if not self.server.api.sleep(resp.get("first_byte_delay", 0.0)):
            raise _Dropped
        self._start_stream()
        self._stream(list(_anthropic_events(resp, message)), resp, _anthropic_sse)

    def _stream(
        self,
        events: list[Any],
        resp: Response,
        encode: Callable[[Any], bytes],
        done: bytes = b"",
    ) -> None:
        api = self.server.api
        for n, event in enumerate(events):
            if n and not api.sleep(resp.get("delay", 0.0)):
                raise _Dropped
            if resp.get("drop_after") == n:
                raise _Dropped
            if resp.get("error_after") == n:
                err_type = resp["error_type"]
                msg = "Overloaded" if err_type == "overloaded_error" else f"fake {err_type}"
                if encode is _anthropic_sse:
                    self._chunk(_sse("error", {"type": "error", "error": {"type": err_type, "message": msg}}))
                else:
                    self._chunk(
                        b"data: "
                        + json.dumps({"error": {"message": msg, "type": err_type}}).encode()
                        + b"\n\n"
                    )
                break
            data = encode(event)
            if resp.get("trickle"):
                size = max(1, int(resp["trickle"]))
                for start in range(0, len(data), size):
                    if start and not api.sleep(resp.get("trickle_delay", 0.0)):
                        raise _Dropped
                    self._chunk(data[start : start + size])
            else:
                self._chunk(data)
        else:
            if done:
                self._chunk(done)
        self._chunk(b"")  # terminating zero-length chunk

    # -- OpenAI --------------------------------------------------------------------------------
    def _answer_openai(self, resp: Response, body: dict[str, Any]) -> None:
        model = resp.get("model") or body.get("model") or "fake-model"
        if not body.get("stream"):
            if "drop_after" in resp:
                raise _Dropped
            self._send_json(200, _openai_completion(resp, model))
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self._start_stream()
        events = list(_openai_chunks(resp, model, include_usage))
        self._stream(
            events, resp, lambda c: b"data: " + json.dumps(c).encode() + b"\n\n", done=b"data: [DONE]\n\n"
        )


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _anthropic_sse(event: dict[str, Any]) -> bytes:
    return _sse(event["type"], event)


def _pieces(s: str, size: int) -> Iterator[str]:
    size = max(1, size)
    for i in range(0, len(s), size):
        yield s[i : i + size]


_msg_ids = itertools.count(1)


def _usage(resp: Response) -> dict[str, int]:
    usage = resp.get("usage") or {}
    return {
        "input_tokens": usage.get("input_tokens", 10),
        "output_tokens": usage.get("output_tokens", 5),
        "cache_creation_input_tokens": usage.get("cache_creation_input_tokens", 0),
        "cache_read_input_tokens": usage.get("cache_read_input_tokens", 0),
    }


def _stop_reason(resp: Response) -> str:
    """The scripted stop_reason, else tool_use when a tool is called, else end_turn."""
    if resp.get("stop_reason"):
        return str(resp["stop_reason"])
    return "tool_use" if any(b["type"] == "tool_use" for b in resp.get("content", [])) else "end_turn"


def _anthropic_message(resp: Response, model: str) -> dict[str, Any]:
    return {
        "id": f"msg_fake_{next(_msg_ids)}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": resp.get("content", []),
        "stop_reason": _stop_reason(resp),
        "stop_sequence": None,
        "usage": _usage(resp),
    }


def _anthropic_events(resp: Response, message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    yield {"type": "message_start", "message": start}
    yield {"type": "ping"}
    size = resp.get("chunk", 5)
    for i, block in enumerate(message["content"]):
        kind = block["type"]
        if kind == "text":
            yield {"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}
            for piece in _pieces(block["text"], size):
                yield {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "text_delta", "text": piece},
                }
        elif kind == "thinking":
            yield {
                "type": "content_block_start",
                "index": i,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            }
            for piece in _pieces(block["thinking"], size):
                yield {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "thinking_delta", "thinking": piece},
                }
            yield {
                "type": "content_block_delta",
                "index": i,
                "delta": {"type": "signature_delta", "signature": block.get("signature", "")},
            }
        elif kind == "redacted_thinking":
            # The API sends the whole block in content_block_start, then content_block_stop.
            yield {"type": "content_block_start", "index": i, "content_block": dict(block)}
        elif kind == "tool_use":
            yield {
                "type": "content_block_start",
                "index": i,
                "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}},
            }
            for piece in _pieces(json.dumps(block["input"]), size):
                yield {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                }
        yield {"type": "content_block_stop", "index": i}
    yield {
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
        "usage": usage,
    }
    yield {"type": "message_stop"}


_FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length", "stop_sequence": "stop"}


def _openai_completion(resp: Response, model: str) -> dict[str, Any]:
    blocks = resp.get("content", [])
    calls = [
        {
            "id": b["id"],
            "type": "function",
            "function": {"name": b["name"], "arguments": json.dumps(b["input"])},
        }
        for b in blocks
        if b["type"] == "tool_use"
    ]
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(b["text"] for b in blocks if b["type"] == "text") or None,
    }
    reasoning = "".join(b["thinking"] for b in blocks if b["type"] == "thinking")
    if reasoning:
        message[resp.get("reasoning_field", "reasoning_content")] = reasoning
    if calls:
        message["tool_calls"] = calls
    usage = _usage(resp)
    return {
        "id": f"chatcmpl-fake-{next(_msg_ids)}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _FINISH.get(_stop_reason(resp), "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["input_tokens"] + usage["output_tokens"],
        },
    }


def _openai_chunks(resp: Response, model: str, include_usage: bool) -> Iterator[dict[str, Any]]:
    cid = f"chatcmpl-fake-{next(_msg_ids)}"

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""})
    size = resp.get("chunk", 5)
    call_index = 0
    for block in resp.get("content", []):
        if block["type"] == "text":
            for piece in _pieces(block["text"], size):
                yield chunk({"content": piece})
        elif block["type"] == "thinking":
            for piece in _pieces(block["thinking"], size):
                yield chunk({resp.get("reasoning_field", "reasoning_content"): piece})
        elif block["type"] == "tool_use":
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": call_index,
                            "id": block["id"],
                            "type": "function",
                            "function": {"name": block["name"], "arguments": ""},
                        }
                    ]
                }
            )
            for piece in _pieces(json.dumps(block["input"]), size):
                yield chunk({"tool_calls": [{"index": call_index, "function": {"arguments": piece}}]})
            call_index += 1
    yield chunk({}, _FINISH.get(_stop_reason(resp), "stop"))
    if include_usage:
        usage = _usage(resp)
        yield {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [],
            "usage": {
                "prompt_tokens": usage["input_tokens"],
                "completion_tokens": usage["output_tokens"],
                "total_tokens": usage["input_tokens"] + usage["output_tokens"],
            },
        }


# ---------------------------------------------------------------------------------------------
# Standalone process


def load_script(path: Path) -> list[Response]:
    """Scripted responses from a JSON list or a JSONL file."""
    data = path.read_text()
    try:
        loaded = json.loads(data)
        return loaded if isinstance(loaded, list) else [loaded]
    except ValueError:
        return [json.loads(line) for line in data.splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> None:
    """Run the fake server until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--script", type=Path, help="JSON list (or JSONL) of scripted responses")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path, help="write the port here once listening")
    parser.add_argument("--requests-log", type=Path, help="append each request as a JSON line")
    parser.add_argument("--default-text", help="answer this text when the script is exhausted")
    args = parser.parse_args(argv)

    default = reply(text(args.default_text)) if args.default_text else None
    api = FakeMessagesAPI(port=args.port, default=default)
    if args.script:
        api.queue(*load_script(args.script))
    if args.requests_log:
        log_path: Path = args.requests_log
        original = api._next

        def logged(req: RecordedRequest) -> Response:
            with log_path.open("a") as f:
                f.write(json.dumps(req.to_json()) + "\n")
            return original(req)

        api._next = logged  # type: ignore[method-assign]
    api.start()
    if args.port_file:
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(str(api.port))
        os.replace(tmp, args.port_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    api.stop()


def standalone_command(
    script: Path, port_file: Path, requests_log: Path | None = None, default_text: str | None = None
) -> list[str]:
    """The command line that runs this fake as its own process (run it from the repository root)."""
    command = [sys.executable, "-m", "tests.fakes.fake_messages_api", "--script", str(script)]
    command += ["--port-file", str(port_file)]
    if requests_log is not None:
        command += ["--requests-log", str(requests_log)]
    if default_text is not None:
        command += ["--default-text", default_text]
    return command


def wait_for_port_file(path: Path, timeout: float = 10.0) -> int:
    """Poll until a standalone server wrote its port file; return the port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return int(path.read_text())
        time.sleep(0.02)
    raise TimeoutError(f"fake API did not write {path}")


if __name__ == "__main__":
    main()
