"""Claude Code's hook events through the real language server: a hook script dumps its stdin JSON
and the test checks the events of a run (SessionStart, UserPromptSubmit, PreToolUse, PostToolUse,
Stop) and SessionEnd at shutdown, with Claude Code's keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import ALL_FEATURES, ask, session

EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd")
BASE = {"session_id", "transcript_path", "cwd", "hook_event_name", "permission_mode"}


def fired(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []


async def test_hook_events_fire_with_claude_codes_input_through_the_server(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    log = workspace.parent / "events.jsonl"
    command = f"cat >> {log}; echo >> {log}"
    hooks = {e: [{"matcher": "", "hooks": [{"type": "command", "command": command}]}] for e in EVENTS}
    hooks["SessionStart"][0]["hooks"][0]["command"] += "; echo 'Context from the SessionStart hook'"
    settings = {"permissionMode": "bypassPermissions", "hooks": hooks}
    fake_api.queue(reply(tool_use("Bash", {"command": "echo from-bash"}, id="toolu_1")), reply(text("done")))
    async with session(workspace, features=ALL_FEATURES, settings=settings, env=fake_api.env()) as client:
        await ask(client, "run it")
        assert [e["hook_event_name"] for e in fired(log)] == list(EVENTS[:-1])
    events = fired(log)
    assert [e["hook_event_name"] for e in events] == list(EVENTS)  # SessionEnd at shutdown
    assert len({e["session_id"] for e in events}) == 1
    for event in events:
        assert set(event) >= BASE and event["cwd"] == str(workspace)
        assert event["permission_mode"] == "bypassPermissions"
        assert event["transcript_path"].endswith(f"{event['session_id']}.jsonl")
    start, prompt, pre, post, stop, end = events
    assert start["source"] == "startup"
    assert prompt["prompt"] == "run it"
    assert pre["tool_name"] == "Bash" and pre["tool_input"] == {"command": "echo from-bash"}
    assert pre["tool_use_id"] == "toolu_1" == post["tool_use_id"]
    assert "from-bash" in post["tool_response"]["content"]
    assert stop["stop_hook_active"] is False and stop["last_assistant_message"] == "done"
    assert end["reason"] == "other"
    assert "Context from the SessionStart hook" in json.dumps(fake_api.requests[0].body["messages"])
