"""Asks the user to review a proposed change before it is applied (`default` permission mode).

Clients that declared `clientFeatures.review` get the `claw/review` request (per-hunk accept /
reject with optional feedback); every other client gets `window/showMessageRequest` with Apply,
Reject and "Apply all in this run". While a review is open, the `claw.review.accept` /
`claw.review.reject` commands answer it too; the first answer wins.

Per-hunk commands accumulate: `{changeId, hunk: k}` decides hunk k, and the review ends once every
hunk is decided; a command without `hunk` decides every hunk still open and ends the review.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lsprotocol import types
from pydantic import ValidationError

from claw_lsp.core.files import FileChange
from claw_lsp.core.permissions import protected_reason
from claw_lsp.server.protocol import METHOD_REVIEW, ReviewParams, ReviewResult, plain_json, wire
from claw_lsp.server.textedit import Hunk, compute_hunks, diff_stats

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

    from claw_lsp.server.client import ClientInfo

log = logging.getLogger(__name__)

AUTO_ACCEPT_MODES = frozenset({"acceptEdits", "bypassPermissions"})
APPLY = "Apply"
REJECT = "Reject"
APPLY_ALL = "Apply all in this run"

Decision = Literal["accept", "reject", "partial"]


@dataclass
class ReviewOutcome:
    """The user's answer: accept, reject, or apply only `accepted_hunks` (indices)."""

    decision: Decision
    accepted_hunks: set[int] = field(default_factory=set)
    feedback: str | None = None
    hunks: list[Hunk] = field(default_factory=list)
    auto: bool = False  # accepted without asking (mode or "Apply all in this run")

    @property
    def rejected_hunks(self) -> list[int]:
        """Indices of the hunks the user did not accept."""
        return [h.index for h in self.hunks if h.index not in self.accepted_hunks]


@dataclass
class _Pending:
    """An open review that commands may still answer."""

    future: asyncio.Future[ReviewOutcome]
    hunks: list[Hunk]
    decided: dict[int, bool] = field(default_factory=dict)
    feedback: list[str] = field(default_factory=list)


def display_path(server: LanguageServer | None, path: Path) -> str:
    """A path as the user reads it: the Claw server's `relative`; as given without one."""
    relative = getattr(server, "relative", None)
    return relative(path) if callable(relative) else str(path)


def _outcome_from(hunks: list[Hunk], accepted: set[int], feedback: str | None) -> ReviewOutcome:
    """The outcome for a set of accepted hunk indices."""
    accepted &= {h.index for h in hunks}
    if hunks and accepted == {h.index for h in hunks}:
        decision: Decision = "accept"
    elif not accepted:
        decision = "reject"
    else:
        decision = "partial"
    if not hunks:  # nothing to show line by line (e.g. an empty file created)
        decision = "accept"
    return ReviewOutcome(decision=decision, accepted_hunks=accepted, feedback=feedback or None, hunks=hunks)


class Reviewer:
    """Reviews the changes of one run with the user, through whatever the client supports."""

    def __init__(
        self,
        server: LanguageServer,
        client: ClientInfo,
        mode_getter: Callable[[], str],
        run_id: str,
        *,
        on_step: Callable[[str], None] | None = None,
        roots_getter: Callable[[], Sequence[Path]] = lambda: (),
    ) -> None:
        self.server = server
        self.client = client
        self.mode_getter = mode_getter
        self.roots_getter = roots_getter  # the workspace folders (protected paths are below them)
        self.run_id = run_id
        self.on_step = on_step or (lambda _text: None)
        self.apply_all = False
        self.pending: dict[str, _Pending] = {}

    async def review(self, change: FileChange, old_text: str, new_text: str) -> ReviewOutcome:
        """Ask the user about `old_text` -> `new_text`; auto-accept in acceptEdits/bypass modes."""
        # acceptEdits and "Apply all in this run" never cover protected paths (.git/, .claw/, …):
        # the permission engine did not preapprove those, so they are reviewed.
        auto = self.apply_all or self.mode_getter() in AUTO_ACCEPT_MODES
        if change.preapproved or (auto and protected_reason(change.path, self.roots_getter()) is None):
            # Nobody is asked, so no hunks: the whole change lands (a diff of a big file saved).
            return ReviewOutcome(decision="accept", auto=True)
        hunks = compute_hunks(old_text, new_text)
        change_id = f"c-{uuid.uuid4().hex[:8]}"
        loop = asyncio.get_running_loop()
        pending = _Pending(future=loop.create_future(), hunks=hunks)
        self.pending[change_id] = pending
        shown = display_path(self.server, change.path)
        self.on_step(f"Waiting for your review of {shown}")
        try:
            if self.client.features.review:
                asker = self._ask_custom(change_id, change, old_text, new_text, hunks)
            else:
                asker = self._ask_message(change, old_text, new_text, hunks)
            ask_task: asyncio.Task[ReviewOutcome] = asyncio.ensure_future(asker)
            # The request is never cancelled (its answer may still come); a late answer is ignored.
            ask_task.add_done_callback(_swallow)
            await asyncio.wait({ask_task, pending.future}, return_when=asyncio.FIRST_COMPLETED)
            if pending.future.done():
                return pending.future.result()
            return ask_task.result()
        finally:
            self.pending.pop(change_id, None)
            if not pending.future.done():
                pending.future.cancel()

    def resolve_from_command(
        self, change_id: str, accept: bool, hunk: int | None = None, feedback: str | None = None
    ) -> bool:
        """Answer an open review from `claw.review.accept` / `.reject`; False when none is open."""
        pending = self.pending.get(change_id)
        if pending is None or pending.future.done():
            return False
        indices = [h.index for h in pending.hunks]
        if hunk is not None and hunk not in indices:
            return False
        if feedback:
            pending.feedback.append(feedback)
        if hunk is None:
            for index in indices:
                pending.decided.setdefault(index, accept)
            if not indices:
                pending.decided[-1] = accept
        else:
            pending.decided[hunk] = accept
        if hunk is None or all(i in pending.decided for i in indices):
            accepted = {i for i, ok in pending.decided.items() if ok and i >= 0}
            text = "\n".join(pending.feedback) or None
            if not indices:
                outcome = ReviewOutcome(decision="accept" if accept else "reject", feedback=text)
            else:
                outcome = _outcome_from(pending.hunks, accepted, text)
            pending.future.set_result(outcome)
        return True

    async def _ask_custom(
        self, change_id: str, change: FileChange, old_text: str, new_text: str, hunks: list[Hunk]
    ) -> ReviewOutcome:
        """Ask with `claw/review`; falls back to showMessageRequest when the request fails."""
        from pygls import uris

        shown = display_path(self.server, change.path)
        params = ReviewParams(
            runId=self.run_id,
            changeId=change_id,
            uri=uris.from_fs_path(str(change.path)) or "",
            kind=change.kind,
            title=_title(change, shown),
            oldText=old_text,
            newText=new_text,
            hunks=[h.to_wire() for h in hunks],
        )
        try:
            result = await self.server.protocol.send_request_async(METHOD_REVIEW, wire(params))
        except Exception as exc:  # the client failed the request: ask the standard way instead
            log.warning("claw/review failed (%s); asking with showMessageRequest", exc)
            return await self._ask_message(change, old_text, new_text, hunks)
        return _parse_review_result(result, hunks)

    async def _ask_message(
        self, change: FileChange, old_text: str, new_text: str, hunks: list[Hunk]
    ) -> ReviewOutcome:
        """Ask with `window/showMessageRequest`: Apply / Reject / Apply all in this run."""
        shown = display_path(self.server, change.path)
        added, removed = diff_stats(old_text, new_text)
        verb = {"create": "create", "delete": "delete", "rename": "rename"}.get(change.kind, "edit")
        target = shown
        if change.kind == "rename" and change.new_path is not None:
            target = f"{shown} to {display_path(self.server, change.new_path)}"
        stats = f" (+{added} -{removed})" if change.kind in ("modify", "create") else ""
        params = types.ShowMessageRequestParams(
            type=types.MessageType.Info,
            message=f"Claw wants to {verb} {target}{stats}",
            actions=[
                types.MessageActionItem(title=APPLY),
                types.MessageActionItem(title=REJECT),
                types.MessageActionItem(title=APPLY_ALL),
            ],
        )
        answer = await self.server.window_show_message_request_async(params)
        title = getattr(answer, "title", None)
        every = {h.index for h in hunks}
        if title == APPLY_ALL:
            self.apply_all = True
            return ReviewOutcome(decision="accept", accepted_hunks=every, hunks=hunks)
        if title == APPLY:
            return ReviewOutcome(decision="accept", accepted_hunks=every, hunks=hunks)
        return ReviewOutcome(decision="reject", hunks=hunks)


def _title(change: FileChange, shown: str) -> str:
    """The review's title, e.g. "Edit src/app.py"."""
    if change.description:
        return change.description
    verb = {"create": "Create", "delete": "Delete", "rename": "Rename"}.get(change.kind, "Edit")
    return f"{verb} {shown}"


def _parse_review_result(result: Any, hunks: list[Hunk]) -> ReviewOutcome:
    """Map a `claw/review` result to an outcome; anything unreadable (or null) is a rejection."""
    try:
        answer = ReviewResult.model_validate(plain_json(result))
    except ValidationError:
        return ReviewOutcome(decision="reject", hunks=hunks)
    feedback = answer.feedback if answer.feedback and answer.feedback.strip() else None
    every = {h.index for h in hunks}
    if answer.decision == "accept":
        return ReviewOutcome(decision="accept", accepted_hunks=every, feedback=feedback, hunks=hunks)
    if answer.decision == "partial":
        return _outcome_from(hunks, set(answer.acceptedHunks or []), feedback)
    return ReviewOutcome(decision="reject", feedback=feedback, hunks=hunks)


def _swallow(task: asyncio.Task[Any]) -> None:
    """Consume a task's late result or error so nothing is logged as never retrieved."""
    if not task.cancelled():
        task.exception()
