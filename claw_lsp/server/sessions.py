"""The sessions the server works on: the workspace's session store, one slot per open session
(its agent, per-session tool state and current run) and which session is active."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from claw_lsp.core.files import ApplyResult, FileChange
from claw_lsp.core.tools import SessionState

if TYPE_CHECKING:
    from claw_lsp.agent.loop import Agent
    from claw_lsp.agent.session import Session, SessionStore
    from claw_lsp.server.app import ClawLanguageServer
    from claw_lsp.server.runs import RunHandle


# Idle sessions kept open besides the active one (each holds its agent and transcript in memory);
# older ones are dropped and reopened from disk on demand.
KEPT_IDLE_SLOTS = 8


class SessionBusy(Exception):
    """A run asked for a session that is running another one."""


class SlotApplier:
    """The ChangeApplier a session's agent holds: it hands each change to the current run's."""

    def __init__(self, slot: SessionSlot) -> None:
        self.slot = slot

    async def apply(self, change: FileChange) -> ApplyResult:
        """Apply through the running run's LspApplier."""
        handle = self.slot.current
        if handle is None or handle.applier is None:
            return ApplyResult(applied=False, message="Not applied: no run is active on this session.")
        return await handle.applier.apply(change)


@dataclass
class SessionSlot:
    """One session the server works on: its agent, per-session tool state and current run."""

    session: Session
    state: SessionState
    agent: Agent | None = None
    generation: int = -1
    current: RunHandle | None = None

    @property
    def busy(self) -> bool:
        """True while a run on this session has not finished."""
        return self.current is not None and not self.current.finished


class Sessions:
    """The workspace's sessions as the server holds them."""

    def __init__(self, ls: ClawLanguageServer) -> None:
        self.ls = ls
        self.slots: dict[str, SessionSlot] = {}
        self.active_session_id: str | None = None
        self._store: SessionStore | None = None

    @property
    def store(self) -> SessionStore:
        """The session store of the workspace root."""
        from claw_lsp.agent.session import SessionStore

        if self._store is None or self._store.workspace_root != self.ls.root.resolve():
            self._store = SessionStore(self.ls.root)
        return self._store

    def provider_and_model(self) -> tuple[str, str]:
        """The provider and model name new sessions are recorded with."""
        from claw_lsp.compose import resolve_provider

        provider, model = resolve_provider(self.ls.settings)
        warmup = self.ls.warmup
        warmed = warmup is not None and warmup.done() and not warmup.cancelled() and not warmup.exception()
        if model is None and provider == "anthropic" and warmed and warmup is not None:
            model = warmup.result()
        return provider, model or "default"

    async def new_session(self, title: str | None = None) -> SessionSlot:
        """Create a session (it becomes the active one)."""
        provider, model = self.provider_and_model()
        session = await asyncio.to_thread(self.store.create, model=model, provider=provider, title=title)
        slot = SessionSlot(session=session, state=SessionState())
        self.slots[session.id] = slot
        self.active_session_id = session.id
        self.prune()
        return slot

    async def open_session(self, session_id: str) -> SessionSlot:
        """The slot of a stored session (opened on first use); raises SessionNotFound."""
        for slot in self.slots.values():
            if slot.session.id == session_id:
                return self._used(slot)
        session = await asyncio.to_thread(self.store.open, session_id)
        if session.id in self.slots:
            return self._used(self.slots[session.id])
        await asyncio.to_thread(session.acquire)  # SessionLocked: another process writes it
        slot = SessionSlot(session=session, state=SessionState())
        self.slots[session.id] = slot
        self.prune()
        return slot

    def _used(self, slot: SessionSlot) -> SessionSlot:
        """Mark `slot` most recently used (the slots dict is kept in order of use)."""
        self.slots[slot.session.id] = self.slots.pop(slot.session.id)
        return slot

    def prune(self) -> None:
        """Drop the least recently used idle slots beyond KEPT_IDLE_SLOTS (never the active or a busy one)."""
        idle = [
            sid
            for sid, slot in self.slots.items()
            if not slot.busy
            and sid != self.active_session_id
            and not (slot.state.background is not None and slot.state.background.running())
        ]
        for sid in idle[: max(0, len(idle) - KEPT_IDLE_SLOTS)]:
            slot = self.slots.pop(sid)
            if slot.agent is not None:  # its SessionEnd hooks
                self.ls.spawn(slot.agent.close("other"), name=f"claw-session-end-{sid}")
            slot.session.close()  # lets go of its writer's lock

    async def close_all(self) -> None:
        """End every open session (SessionEnd hooks, background commands killed): the server exits."""
        for slot in list(self.slots.values()):
            if slot.agent is not None:
                await slot.agent.close("other")
            elif slot.state.background is not None:
                await slot.state.background.close()

    async def slot_for(self, session_id: str | None, title: str) -> SessionSlot:
        """The session a new run goes to: the named one (must be idle), else the active one if
        idle, else a fresh session."""
        if session_id:
            slot = await self.open_session(session_id)
            if slot.busy:
                assert slot.current is not None
                raise SessionBusy(
                    f"Session {slot.session.id} is busy with run {slot.current.run.id}: "
                    "cancel it (claw.cancel) or ask without a sessionId to use a new session."
                )
            return slot
        if self.active_session_id in self.slots and not self.slots[self.active_session_id].busy:
            return self._used(self.slots[self.active_session_id])
        if self.active_session_id is not None and self.active_session_id not in self.slots:
            with contextlib.suppress(Exception):
                slot = await self.open_session(self.active_session_id)
                if not slot.busy:
                    return slot
        active = self.active_session_id
        slot = await self.new_session(title)
        if active is not None:
            self.active_session_id = active  # a busy active session stays the active one
        return slot
