"""The fake Messages API server itself: wire shapes, faults, recording, standalone process."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_messages_api import (
    FakeMessagesAPI,
    dropped,
    http_error,
    reply,
    standalone_command,
    stream_error,
    text,
    thinking,
    tool_use,
    wait_for_port_file,
)

ROOT = Path(__file__).resolve().parents[2]


def post(url: str, body: Any) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def sse_events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in raw.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "data" in lines and lines["data"] != "[DONE]":
            events.append((lines.get("event", ""), json.loads(lines["data"])))
    return events


def test_plain_json_answer_is_a_whole_message(fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("hi"), tool_use("Read", {"file_path": "/x"}, id="toolu_1")))
    status, _, raw = post(fake_api.url + "/v1/messages", {"model": "m", "messages": []})
    msg = json.loads(raw)
    assert status == 200
    assert msg["content"] == [
        {"type": "text", "text": "hi"},
        {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/x"}},
    ]
    assert msg["stop_reason"] == "tool_use"


def test_stream_sends_the_event_sequence_with_split_deltas(fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(thinking("think"), text("Hello world"), tool_use("Edit", {"a": "bcdef"}), chunk=3))
    status, headers, raw = post(fake_api.url + "/v1/messages", {"model": "m", "stream": True, "messages": []})
    events = sse_events(raw)
    kinds = [e for e, _ in events]
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert kinds[:2] == ["message_start", "ping"]
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 3
    deltas = [d["delta"] for e, d in events if e == "content_block_delta"]
    assert [d["text"] for d in deltas if d["type"] == "text_delta"] == ["Hel", "lo ", "wor", "ld"]
    parts = [d["partial_json"] for d in deltas if d["type"] == "input_json_delta"]
    assert "".join(parts) == '{"a": "bcdef"}' and len(parts) == 5
    assert {"type": "signature_delta", "signature": "sig-fake"} in deltas
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_http_error_carries_retry_after_ms(fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(http_error(429, "slow down", retry_after_ms=20))
    status, headers, raw = post(fake_api.url + "/v1/messages", {"messages": []})
    assert status == 429
    assert headers["retry-after-ms"] == "20"
    assert json.loads(raw)["error"] == {"type": "rate_limit_error", "message": "slow down"}


def test_error_event_inside_a_200_stream(fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(stream_error("overloaded_error"))
    status, _, raw = post(fake_api.url + "/v1/messages", {"stream": True, "messages": []})
    events = sse_events(raw)
    assert status == 200
    assert [e for e, _ in events] == ["message_start", "error"]
    assert events[-1][1]["error"]["type"] == "overloaded_error"


def test_dropped_stream_ends_without_its_terminating_chunk(fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(dropped(after=2))
    conn = http.client.HTTPConnection("127.0.0.1", fake_api.port, timeout=5)
    conn.request("POST", "/v1/messages", body=json.dumps({"stream": True}))
    resp = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead):
        resp.read()
    conn.close()


def test_requests_are_recorded_and_responders_see_them(fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(lambda req: reply(text("echo: " + req.last_tool_result())))
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "42"}]}
                ],
            }
        ]
    }
    _, _, raw = post(fake_api.url + "/v1/messages", body)
    assert json.loads(raw)["content"][0]["text"] == "echo: 42"
    (req,) = fake_api.requests
    assert req.path == "/v1/messages" and req.body == body
    assert req.headers["content-type"] == "application/json"


def test_empty_queue_answers_a_clear_400(fake_api: FakeMessagesAPI) -> None:
    status, _, raw = post(fake_api.url + "/v1/messages", {"messages": []})
    assert status == 400
    assert "no scripted response left" in json.loads(raw)["error"]["message"]


def test_openai_stream_shape(fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("hey"), tool_use("LS", {"path": "/"}, id="call_9"), chunk=4))
    _, _, raw = post(
        fake_api.openai_base_url + "/chat/completions",
        {"stream": True, "stream_options": {"include_usage": True}},
    )
    assert raw.endswith(b"data: [DONE]\n\n")
    chunks = [d for _, d in sse_events(raw)]
    assert chunks[-1]["usage"]["prompt_tokens"] == 10
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "tool_calls"
    calls = [c["choices"][0]["delta"].get("tool_calls") for c in chunks if c["choices"]]
    args = "".join(tc[0]["function"].get("arguments", "") for tc in calls if tc)
    assert json.loads(args) == {"path": "/"}


def test_standalone_process_serves_a_script(tmp_path: Path) -> None:
    script = tmp_path / "turns.json"
    script.write_text(json.dumps([reply(text("from file"))]))
    port_file = tmp_path / "port"
    log = tmp_path / "requests.jsonl"
    proc = subprocess.Popen(
        standalone_command(script, port_file, requests_log=log),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        url = f"http://127.0.0.1:{wait_for_port_file(port_file)}"
        _, _, raw = post(url + "/v1/messages", {"messages": [], "n": 1})
        assert json.loads(raw)["content"][0]["text"] == "from file"
        post(url + "/_fake/queue", [reply(text("queued later"))])
        _, _, raw = post(url + "/v1/messages", {"messages": [], "n": 2})
        assert json.loads(raw)["content"][0]["text"] == "queued later"
        with urllib.request.urlopen(url + "/_fake/requests", timeout=5) as resp:
            assert [r["body"]["n"] for r in json.loads(resp.read())] == [1, 2]
        assert [json.loads(line)["body"]["n"] for line in log.read_text().splitlines()] == [1, 2]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
