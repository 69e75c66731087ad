"""Asks permission questions on the terminal (the CLI's prompter when stdin is a TTY).

The question goes to stderr (stdout may carry JSON output); the answer is read from stdin in a
daemon thread so the event loop keeps running and the run can be cancelled: a thread from
`asyncio.to_thread` would still be blocked in `readline` after Ctrl-C, and `asyncio.run` waits for
such threads before the process can exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Callable
from typing import TextIO, TypeVar

from claw_lsp.agent.permissions import DenyingPrompter
from claw_lsp.core.permissions import PermissionAnswer, PermissionRequest, Prompter


class TerminalPrompter:
    """Prompts `1 allow once / 2 always allow <rule> / 3 deny (with optional feedback)`."""

    def __init__(self, stdin: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.out = stderr or sys.stderr
        self._lock = asyncio.Lock()  # one question at a time

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        """Show the exact command or path and read the user's choice."""
        async with self._lock:
            return await _in_daemon_thread(lambda: self._ask(request))

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _readline(self) -> str | None:
        line = self.stdin.readline()
        return None if line == "" else line.rstrip("\r\n")

    def _ask(self, request: PermissionRequest) -> PermissionAnswer:
        subject = request.subject or ""
        lines = [f"\nclaw wants to use {request.tool_name}: {request.title}"]
        if subject and subject not in request.title:
            lines.append(f"    {subject}")
        options = ["  1) Allow once"]
        if request.suggested_rule:
            options.append(f"  2) Always allow {request.suggested_rule}")
        options.append("  3) Deny (you may add feedback for the model)")
        self._write("\n".join(lines + options) + "\n")
        while True:
            self._write("Choice [1/2/3]: ")
            line = self._readline()
            if line is None:
                return PermissionAnswer("reject_once", "Permission denied: the terminal closed.")
            choice = line.strip().lower()
            if choice in ("1", "y", "yes"):
                return PermissionAnswer("allow_once")
            if choice in ("2", "a", "always") and request.suggested_rule:
                return PermissionAnswer("allow_always")
            if choice in ("3", "n", "no", "d", "deny"):
                self._write("Feedback for the model (Enter to skip): ")
                feedback = self._readline() or ""
                return PermissionAnswer("reject_once", feedback.strip())
            self._write("Please answer 1, 2 or 3.\n" if request.suggested_rule else "Please answer 1 or 3.\n")


def terminal_prompter_or_denying(stdin: TextIO | None = None) -> Prompter:
    """A `TerminalPrompter` when stdin is a TTY, else a `DenyingPrompter` that says why."""
    stream = stdin or sys.stdin
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if interactive:
        return TerminalPrompter(stream)
    return DenyingPrompter("stdin is not a terminal, so no one can be asked (non-interactive run)")


_T = TypeVar("_T")


async def _in_daemon_thread(work: Callable[[], _T]) -> _T:
    """Run blocking `work` in a daemon thread; cancelling the await abandons the thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def settle(result: _T | None, error: BaseException | None) -> None:
        if future.done():  # cancelled meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        result: _T | None = None
        error: BaseException | None = None
        try:
            result = work()
        except Exception as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="claw-terminal-prompt", daemon=True).start()
    return await future
