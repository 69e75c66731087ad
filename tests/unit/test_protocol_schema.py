"""The wire protocol's models are the one source: the committed JSON Schema and the VS Code shim's
generated TypeScript types must be what they give, and payloads round-trip through the models."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from claw_lsp.server import protocol
from tests.toolchain import missing

ROOT = Path(__file__).resolve().parents[2]


def test_schema_and_typescript_types_are_generated_from_the_models() -> None:
    if (
        shutil.which("node") is None
        or not (ROOT / "editors/vscode/node_modules/json-schema-to-typescript").exists()
    ):
        missing("node and editors/vscode/node_modules (make setup)")
    done = subprocess.run(
        [sys.executable, "scripts/gen_protocol.py", "--check"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_every_payload_model_is_in_the_schema() -> None:
    defs = protocol.json_schema()["$defs"]
    for model in protocol.WIRE_MODELS:
        assert model.__name__ in defs
    # The run events are ACP's own session update models wherever ACP has one.
    for name in ("AgentMessageChunk", "ToolCallStart", "ToolCallProgress", "AgentPlanUpdate", "UsageUpdate"):
        assert name in defs, name


@pytest.mark.parametrize(
    "update",
    [
        {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "hi"}},
        {
            "sessionUpdate": "tool_call",
            "toolCallId": "t1",
            "title": "Read a.py",
            "kind": "read",
            "status": "pending",
            "rawInput": {"file_path": "a.py"},
            "locations": [{"path": "/w/a.py"}],
        },
        {
            "sessionUpdate": "tool_call_update",
            "toolCallId": "t1",
            "status": "completed",
            "content": [{"type": "content", "content": {"type": "text", "text": "ok"}}],
        },
        {"sessionUpdate": "plan", "entries": [{"content": "x", "priority": "medium", "status": "pending"}]},
        {
            "sessionUpdate": "usage_update",
            "used": 10,
            "size": 200000,
            "cost": {"amount": 0.1, "currency": "USD"},
        },
        {"sessionUpdate": "run_started", "prompt": "p", "model": "m"},
        {
            "sessionUpdate": "run_finished",
            "stopReason": "end_turn",
            "result": "done",
            "usage": {
                "input_tokens": 1,
                "output_tokens": 2,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
            "costUsd": 0.5,
        },
    ],
)
def test_session_updates_round_trip(update: dict[str, object]) -> None:
    params = protocol.EventParams.model_validate({"runId": "r", "sessionId": "s", "update": update})
    assert protocol.wire(params, omit_none=True) == {"runId": "r", "sessionId": "s", "update": update}


def test_unknown_keys_are_ignored_and_bad_answers_rejected() -> None:
    result = protocol.ReviewResult.model_validate({"decision": "partial", "acceptedHunks": [0], "extra": 1})
    assert result.acceptedHunks == [0]
    with pytest.raises(ValueError):
        protocol.ReviewResult.model_validate({"decision": "maybe"})
