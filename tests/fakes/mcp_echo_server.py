"""A real MCP server over stdio, built with the official SDK's server API, for the MCP tests.

Tools: `echo` (read-only hint), `add` (two integers), `fail` (answers isError), `slow` (sleeps,
for cancellation) and `where` (the working directory and one environment variable).
Run: `python tests/fakes/mcp_echo_server.py` (stdio) or `... --http PORT` (streamable HTTP at
http://127.0.0.1:PORT/mcp).
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

app = MCPServer("echo")


@app.tool(annotations=ToolAnnotations(read_only_hint=True))
def echo(text: str) -> str:
    """Echo the text back."""
    return text


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@app.tool()
def fail(reason: str = "boom") -> str:
    """Always fails with `reason`."""
    raise ToolError(reason)


@app.tool(annotations=ToolAnnotations(read_only_hint=True))
async def slow(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@app.tool(annotations=ToolAnnotations(read_only_hint=True))
def where(variable: str) -> str:
    """The working directory and the value of an environment variable."""
    return f"{os.getcwd()}\n{os.environ.get(variable, '<unset>')}"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        app.run()
