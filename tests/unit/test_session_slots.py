"""The server's open sessions stay bounded: idle ones beyond KEPT_IDLE_SLOTS are dropped (least
recently used first) and reopen from disk on demand; the active and busy ones are never dropped."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from claw_lsp.config import Settings
from claw_lsp.server.sessions import KEPT_IDLE_SLOTS, Sessions


def _sessions(root: Path, monkeypatch: Any) -> Sessions:
    monkeypatch.setenv("XDG_STATE_HOME", str(root / "state"))
    ls = SimpleNamespace(root=root, settings=Settings(provider="scripted"), warmup=None)
    return Sessions(ls)  # type: ignore[arg-type]


async def test_idle_slots_are_pruned_least_recently_used_first(tmp_path: Path, monkeypatch: Any) -> None:
    sessions = _sessions(tmp_path, monkeypatch)
    created = [(await sessions.new_session(title=f"s{i}")).session.id for i in range(KEPT_IDLE_SLOTS + 5)]
    assert len(sessions.slots) == KEPT_IDLE_SLOTS + 1  # the idle ones kept, plus the active one
    assert sessions.active_session_id == created[-1] and created[-1] in sessions.slots
    assert created[0] not in sessions.slots  # the oldest went first
    # A dropped session reopens from its transcript; using a kept one makes it most recent.
    reopened = await sessions.open_session(created[0])
    assert reopened.session.id == created[0]
    await sessions.open_session(created[6])
    sessions.active_session_id = created[0]
    for i in range(3):
        await sessions.new_session(title=f"more{i}")
    assert created[6] in sessions.slots and created[5] not in sessions.slots


async def test_busy_slots_are_never_pruned(tmp_path: Path, monkeypatch: Any) -> None:
    sessions = _sessions(tmp_path, monkeypatch)
    busy = await sessions.new_session(title="busy")
    busy.current = SimpleNamespace(finished=False, run=SimpleNamespace(id="r-1"))  # type: ignore[assignment]
    for i in range(KEPT_IDLE_SLOTS + 3):
        await sessions.new_session(title=f"s{i}")
    assert busy.session.id in sessions.slots
