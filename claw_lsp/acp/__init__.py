"""Front end 2: the Agent Client Protocol (Zed, JetBrains, Emacs agent-shell, CodeCompanion...).

`claw-lsp --acp` and `claw acp` speak ACP v1 over stdio with the official `agent-client-protocol`
package: its schema models and its agent-side connection (`acp.run_agent`); `transport.py` only
frames lines and answers input that is not JSON-RPC at all. `agent.py` serves the methods,
`prompter.py` asks permissions, `files.py` reads and writes through the client, `terminal.py` runs
Bash in its terminal, `replay.py` replays stored sessions. docs/acp.md has the coverage table.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from acp.interfaces import Agent

__all__ = ["serve", "serve_stdio"]


async def serve() -> None:
    """Serve one client on stdin/stdout until it closes its end."""
    from acp import run_agent

    from claw_lsp.acp.agent import ClawAcpAgent
    from claw_lsp.acp.transport import StdioTransport

    loop = asyncio.get_running_loop()
    # The protocol owns the real stdout; anything else printing there (a library, a child
    # process inheriting fd 1) goes to stderr instead of corrupting the stream.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    reader = asyncio.StreamReader(limit=1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    write_transport, write_protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, out)
    writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
    agent = ClawAcpAgent()
    try:
        await run_agent(cast("Agent", agent), StdioTransport(reader, writer))
    finally:
        await agent.close()


class _OneLine(logging.Formatter):
    """Log records in one line: a client's bad notification is worth a line, not a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            first = str(exc).splitlines()[0] if str(exc) else ""
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
            record.msg, record.args = f"{record.getMessage()}: {type(exc).__name__}: {first}", None
        return super().format(record)


def serve_stdio() -> int:
    """`claw-lsp --acp` / `claw acp`: run the ACP agent on stdio; the exit status."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine("claw-acp: %(message)s"))
    logging.basicConfig(level=os.environ.get("CLAW_ACP_LOG", "WARNING").upper(), handlers=[handler])
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        return 130
    return 0
