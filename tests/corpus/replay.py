"""Helpers for replaying corpus edits through the real server (tests/lsp/test_corpus.py, test_race.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.fakes.fake_messages_api import RecordedRequest
from tests.fakes.fixtures import trust

MODES = ("bypassPermissions", "acceptEdits", "default")
# Long scripted runs: no turn limit in the way, and no auto-compaction (its summary request would
# take the next scripted turn; a Read of a 100 kB file plus many edit snippets reaches the window).
SETTINGS = {"maxTurns": 1000, "autoCompactTokens": 1_000_000_000}


def write_settings(workspace: Path, mode: str) -> None:
    """The workspace's .claw/settings.json with this permission mode."""
    folder = workspace / ".claw"
    folder.mkdir(exist_ok=True)
    (folder / "settings.json").write_text(json.dumps(SETTINGS | {"permissionMode": mode}))
    trust(workspace)  # a folder's own permissionMode applies once the user trusts it


def accept_everything(client: Any) -> None:
    """Answer reviews with accept and permissions with allow once (default mode)."""
    client.answers["claw/review"] = lambda _p: {"decision": "accept"}
    allow = {"outcome": {"outcome": "selected", "optionId": "allow_once"}}
    client.answers["claw/permission"] = lambda _p: allow
    client.answer_message = lambda p: p.actions[0].title if p.actions else None


def tool_results(requests: list[RecordedRequest]) -> dict[str, tuple[str, bool]]:
    """tool_use_id -> (text, is_error) of every tool_result the model was sent."""
    return {r.tool_use_id: (r.text, r.is_error) for request in requests for r in request.tool_results()}


def text_edits_for(applied: list[types.ApplyWorkspaceEditParams], uri: str) -> int:
    """How many TextDocumentEdits (or `changes` entries) the server sent for `uri`."""
    count = 0
    for params in applied:
        for op in params.edit.document_changes or []:
            if isinstance(op, types.TextDocumentEdit) and op.text_document.uri == uri:
                count += 1
        if uri in (params.edit.changes or {}):
            count += 1
    return count


def short(text: str, limit: int = 300) -> str:
    """A text cut for a failure report."""
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more]"


def first_difference(got: str, want: str) -> str:
    """Where two texts first differ, for failure reports."""
    pairs = enumerate(zip(got, want, strict=False))
    index = next((i for i, (a, b) in pairs if a != b), min(len(got), len(want)))
    lo = max(index - 60, 0)
    return (
        f"first difference at {index} (len got {len(got)}, want {len(want)}): "
        f"got {got[lo : index + 60]!r} want {want[lo : index + 60]!r}"
    )
