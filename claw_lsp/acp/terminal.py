"""Bash in the client's terminal (`terminal/*`), for clients that declare the `terminal` capability.

The tool is claw's Bash (same input, title, permission subject and kind, so the same rules and
questions), run through `terminal/create` instead of a local child process: the client shows its
output live (the tool call carries the terminal as `terminal` content, during the run and after
it). The same rules hold as for the local Bash: the timeout (the call's `timeout` or
`bashTimeoutMs`, at most 10 minutes) and cancellation kill the command (`terminal/kill`), the
output the model reads is capped (head and tail kept), the working directory persists between
calls through the same side file, and every terminal is released when its call ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from acp.exceptions import RequestError

from claw_lsp.core.tools import ToolContext, ToolError, ToolOutput
from claw_lsp.tools.bash import MAX_OUTPUT_CHARS, Bash, BashInput, OutputBuffer

if TYPE_CHECKING:
    from acp.interfaces import Client

# The same protocol as the local Bash's script: $1 the command, $2 the side file for the final cwd.
SCRIPT = (
    "__claw_cmd=$1; __claw_cwd_file=$2; set --\n"
    'eval "$__claw_cmd"\n'
    "__claw_status=$?\n"
    'pwd -P >| "$__claw_cwd_file" 2>/dev/null\n'
    "exit $__claw_status\n"
)
# What the client keeps of the output (it drops the oldest beyond this); the model reads less.
OUTPUT_BYTE_LIMIT = 1_000_000
# How long a kill or release may take when the call is cancelled or ends.
CLEANUP_S = 1.0


class TerminalBash(Bash):
    """Claw's Bash, run in the ACP client's terminal."""

    def __init__(self, client: Client, session_id: str, announce: Callable[[str, str], None]) -> None:
        self.client = client
        self.session_id = session_id
        self.announce = announce  # (tool call id, terminal id): show the terminal in the tool call

    async def _cleanup(self, terminal_id: str, *, kill: bool) -> None:
        async def steps() -> None:
            if kill:
                with contextlib.suppress(RequestError, ConnectionError):
                    await self.client.kill_terminal(session_id=self.session_id, terminal_id=terminal_id)
            with contextlib.suppress(RequestError, ConnectionError):
                await self.client.release_terminal(session_id=self.session_id, terminal_id=terminal_id)

        task = asyncio.ensure_future(steps())
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), CLEANUP_S)

    async def run(self, args: BashInput, ctx: ToolContext) -> ToolOutput:
        """Run the command in a client terminal; kill it on timeout or cancellation. A background
        command runs locally (the client's terminal lives only as long as the tool call)."""
        if args.run_in_background:
            return await self.run_background(args, ctx)
        timeout_ms, cwd, notes, marker = self._prepare(args, ctx)
        marker_name = str(marker)
        timed_out = False
        try:
            try:
                created = await self.client.create_terminal(
                    session_id=self.session_id,
                    command="bash",
                    args=["-c", SCRIPT, "bash", args.command, marker_name],
                    cwd=str(cwd),
                    output_byte_limit=OUTPUT_BYTE_LIMIT,
                )
            except RequestError as exc:
                raise ToolError(f"The editor could not start a terminal: {exc}") from None
            terminal_id = created.terminal_id
            self.announce(ctx.tool_call_id, terminal_id)
            try:
                try:
                    await asyncio.wait_for(
                        self.client.wait_for_terminal_exit(
                            session_id=self.session_id, terminal_id=terminal_id
                        ),
                        timeout_ms / 1000,
                    )
                except TimeoutError:
                    timed_out = True
                    with contextlib.suppress(RequestError, ConnectionError):
                        await self.client.kill_terminal(session_id=self.session_id, terminal_id=terminal_id)
                result = await self.client.terminal_output(
                    session_id=self.session_id, terminal_id=terminal_id
                )
            except BaseException:
                # Cancelled (or the client failed): the command must not outlive the call.
                await self._cleanup(terminal_id, kill=True)
                raise
            await self._cleanup(terminal_id, kill=False)
            cwd_note = "" if timed_out else await asyncio.to_thread(self._record_cwd, marker, ctx)
        finally:
            marker.unlink(missing_ok=True)
        return self._output(result, timed_out, timeout_ms, [notes, cwd_note])

    @staticmethod
    def _output(result: Any, timed_out: bool, timeout_ms: int, notes: list[str]) -> ToolOutput:
        buffer = OutputBuffer(MAX_OUTPUT_CHARS)
        buffer.feed(result.output.encode("utf-8", "surrogatepass"), final=True)
        text = buffer.text().rstrip("\n")
        if result.truncated:
            text = "... [earlier output cut by the terminal] ...\n" + text
        parts = [text] if text else []
        status = result.exit_status
        is_error = False
        if timed_out:
            is_error = True
            parts.append(f"Command timed out after {timeout_ms} ms; it was killed.")
        elif status is not None and status.signal:
            is_error = True
            parts.append(f"Killed by signal {status.signal}")
        elif status is not None and status.exit_code:
            is_error = True
            parts.append(f"Exit code {status.exit_code}")
        parts += [n for n in notes if n]
        if not parts:
            return ToolOutput("(no output)")
        return ToolOutput("\n\n".join(parts), is_error=is_error)
