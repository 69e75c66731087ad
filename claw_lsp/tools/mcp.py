"""MCP servers' tools, offered to the model as `mcp__<server>__<tool>`.

Servers are configured as in Claude Code (`.mcp.json` at the workspace root and the `mcpServers`
settings key, merged by `config.load_settings`). An `McpManager` connects to each server once per
process with the official `mcp` SDK (stdio, or streamable HTTP), lists its tools and wraps each in
an `McpTool`: the model sees the server's `inputSchema` verbatim (`json_schema`), any JSON object
passes validation (the server validates), and `annotations.readOnlyHint` decides `read_only`.

Each connection lives in its own asyncio task, because the SDK's transports are anyio context
managers that must be entered and left in one task; tool calls from run tasks only use its
session. Cancelling a run abandons the in-flight call (the SDK tells the server) and keeps the
connection. A server that fails to start or to answer `initialize` in time is skipped with one
warning; it never breaks the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, RootModel

from claw_lsp.core.events import ToolKind
from claw_lsp.core.secrets import child_env
from claw_lsp.core.tools import Tool, ToolContext, ToolError, ToolOutput
from claw_lsp.tools.bash import OutputBuffer

if TYPE_CHECKING:
    from claw_lsp.config import McpServerConfig, Settings

STARTUP_TIMEOUT_S = 10.0
MAX_DESCRIPTION_CHARS = 4000
MAX_NAME_CHARS = 64  # the Messages API's limit for tool names
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class McpInput(RootModel[dict[str, Any]]):
    """Any JSON object: the server validates arguments against its own schema."""


def tool_name(server: str, tool: str) -> str:
    """`mcp__<server>__<tool>` with both parts reduced to [A-Za-z0-9_-] (at most 64 characters).

    Runs of `_` in the server part collapse to one, so the rule `mcp__<server>` still names the
    server (a rule's server part must not contain `__`).
    """
    server_part = re.sub(r"_{2,}", "_", _UNSAFE.sub("_", server)) or "server"
    tool_part = _UNSAFE.sub("_", tool) or "tool"
    return f"mcp__{server_part}__{tool_part}"[:MAX_NAME_CHARS]


def expand_vars(text: str, env: Mapping[str, str] | None = None) -> str:
    """Claude Code's `${VAR}` and `${VAR:-default}` expansion (an unset VAR without default: "")."""
    environ = os.environ if env is None else env

    def replace(match: re.Match[str]) -> str:
        value = environ.get(match.group(1))
        if value is None or (value == "" and match.group(2) is not None):
            return match.group(2) or ""
        return value

    return _VAR.sub(replace, text)


def render_result(result: Any) -> ToolOutput:
    """A CallToolResult as the model reads it: text joined, other content noted, capped."""
    parts: list[str] = []
    for block in result.content or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            size = len(block.data or "") * 3 // 4
            parts.append(f"[{kind} {block.mime_type}, about {size} bytes, not shown]")
        elif kind == "resource":
            resource = block.resource
            text = getattr(resource, "text", None)
            if text is not None:
                parts.append(f"[resource {resource.uri}]\n{text}")
            else:
                parts.append(f"[binary resource {resource.uri} ({resource.mime_type or 'unknown type'})]")
        elif kind == "resource_link":
            parts.append(f"[resource link {block.uri}{': ' + block.name if block.name else ''}]")
        else:
            parts.append(f"[{kind or 'unknown'} content not shown]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    buffer = OutputBuffer()
    buffer.feed("\n".join(parts).encode("utf-8"), final=True)
    text = buffer.text()
    if not text.strip():
        text = "(the tool failed without a message)" if result.is_error else "(no output)"
    return ToolOutput(text, is_error=bool(result.is_error))


class McpTool:
    """One MCP server tool; `mcp_tool_class` makes a subclass per tool with its ClassVars."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    input_model: ClassVar[type[BaseModel]] = McpInput
    kind: ClassVar[ToolKind] = "other"
    read_only: ClassVar[bool] = False
    # The server writes its files itself: nothing goes through the view's applier to review.
    reviewable: ClassVar[bool] = False
    # The argument naming the file a call works on (see `mcp_tool_kind`), if any.
    path_argument: ClassVar[str | None] = None
    # What the model sees instead of input_model's schema (see `tool_schema`).
    json_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    server: ClassVar[str] = ""
    remote_name: ClassVar[str] = ""

    def __init__(self, connection: McpConnection) -> None:
        self.connection = connection

    def title(self, args: McpInput, ctx: ToolContext) -> str:
        """E.g. `echo: echo {"text": "hi"}`."""
        brief = json.dumps(args.root, ensure_ascii=False) if args.root else ""
        if len(brief) > 80:
            brief = brief[:79] + "…"
        return f"{self.server}: {self.remote_name} {brief}".rstrip()

    def locations(self, args: McpInput, ctx: ToolContext) -> list[Path]:
        """The file named by the tool's path argument, when it has one and the call gives it."""
        raw = args.root.get(self.path_argument) if self.path_argument else None
        if not isinstance(raw, str) or not raw:
            return []
        return [ctx.workspace.resolve(raw, ctx.state.cwd)]

    def subject(self, args: McpInput, ctx: ToolContext) -> str | None:
        """MCP tools are matched by name only."""
        return None

    async def run(self, args: McpInput, ctx: ToolContext) -> ToolOutput:
        """Call the tool on its server, bounded by the manager's timeout."""
        return await self.connection.call(self.remote_name, args.root)


PATH_ARGUMENTS = ("file_path", "path")


def mcp_tool_kind(remote: Any, read_only: bool) -> tuple[ToolKind, str | None]:
    """The ACP kind of a listed MCP tool and the argument naming its file.

    MCP has no tool kinds, so the tool's own description of itself decides: a tool that is not
    read-only (`readOnlyHint`) and takes a `file_path` (or `path`) string changes that file, kind
    "edit" (so it gets the diagnostics loop and counts as a change of the run's); any other is
    "other". Its changes never go through the view's applier, so it is still asked about.
    """
    properties = (remote.input_schema or {}).get("properties") or {}
    argument = next(
        (
            a
            for a in PATH_ARGUMENTS
            if isinstance(properties.get(a), dict) and properties[a].get("type") == "string"
        ),
        None,
    )
    return ("edit" if argument and not read_only else "other"), argument


def mcp_tool_class(server: str, remote: Any, name: str) -> type[McpTool]:
    """A McpTool subclass for the listed tool `remote` (an `mcp_types.Tool`)."""
    annotations = remote.annotations
    read_only = bool(annotations is not None and annotations.read_only_hint)
    kind, path_argument = mcp_tool_kind(remote, read_only)
    description = (remote.description or remote.title or "").strip()
    if not description:
        description = f"The tool {remote.name!r} of the MCP server {server!r}."
    if len(description) > MAX_DESCRIPTION_CHARS:
        description = description[: MAX_DESCRIPTION_CHARS - 1] + "…"
    schema = dict(remote.input_schema or {})
    schema.setdefault("type", "object")
    attrs = {
        "name": name,
        "description": description,
        "read_only": read_only,
        "kind": kind,
        "path_argument": path_argument,
        "json_schema": schema,
        "server": server,
        "remote_name": remote.name,
        "__doc__": f"MCP tool {remote.name} of server {server}.",
    }
    return type(f"Mcp_{name}", (McpTool,), attrs)


class McpConnection:
    """One server: a task that owns the SDK session from connect to close."""

    def __init__(self, name: str, config: McpServerConfig, *, cwd: Path, manager: McpManager) -> None:
        self.name = name
        self.config = config
        self.cwd = cwd
        self.manager = manager
        self.session: Any = None
        self.remote_tools: list[Any] = []
        self.error: str | None = None
        self._ready: asyncio.Future[None] | None = None
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._scope: Any = None
        self._errlog: Any = None

    async def start(self, timeout: float) -> str | None:
        """Connect, initialize and list tools within `timeout` s; a warning when that failed."""
        self._ready = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._serve(), name=f"claw-mcp-{self.name}")
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except TimeoutError:
            self.error = f"did not answer initialize within {timeout:g} s"
        except Exception as exc:
            self.error = _describe(exc)
        if self.error is None:
            return None
        self.abort()
        detail = self._stderr_tail()
        where = f" ({self.config.command})" if self.config.type == "stdio" else f" ({self.config.url})"
        return f"MCP server {self.name!r}{where} skipped: {self.error}{': ' + detail if detail else ''}"

    async def _serve(self) -> None:
        import anyio

        assert self._ready is not None
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                async with contextlib.AsyncExitStack() as stack:
                    read, write = await stack.enter_async_context(self._transport())
                    from mcp.client.session import ClientSession
                    from mcp_types import Implementation

                    from claw_lsp import __version__

                    info = Implementation(name="claw", version=__version__)
                    session = await stack.enter_async_context(ClientSession(read, write, client_info=info))
                    await session.initialize()
                    self.remote_tools = await self._list_tools(session)
                    self.session = session
                    if not self._ready.done():
                        self._ready.set_result(None)
                    await self._closing.wait()
        except Exception as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            else:
                self.error = _describe(exc)
        finally:
            self.session = None
            if not self._ready.done():
                self._ready.set_exception(ConnectionError("the connection closed"))
            # Retrieve it so an unawaited failure is not logged as "never retrieved".
            if self._ready.done() and not self._ready.cancelled():
                self._ready.exception()

    def _transport(self) -> contextlib.AbstractAsyncContextManager[Any]:
        config = self.config
        # Credentials expand only for a server the user configured themselves (config.py).
        env = os.environ if config.pass_credentials else child_env()

        def expand(text: str) -> str:
            return expand_vars(text, env)

        if config.type == "http":
            headers = {k: expand(v) for k, v in config.headers.items()}
            return _http_transport(expand(config.url or ""), headers)
        from mcp.client.stdio import StdioServerParameters, stdio_client

        # The server's stderr, for the warning when it fails to start; open as long as it runs.
        self._errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        cwd = Path(expand(config.cwd)) if config.cwd else self.cwd
        params = StdioServerParameters(
            command=expand(config.command or ""),
            args=[expand(a) for a in config.args],
            env={k: expand(v) for k, v in config.env.items()} or None,
            cwd=str(cwd if cwd.is_absolute() else self.cwd / cwd),
        )
        return stdio_client(params, errlog=self._errlog)

    async def _list_tools(self, session: Any) -> list[Any]:
        from mcp_types import PaginatedRequestParams

        tools: list[Any] = []
        cursor: str | None = None
        for _page in range(100):  # a server that pages forever cannot hang startup
            params = PaginatedRequestParams(cursor=cursor) if cursor else None
            listed = await session.list_tools(params=params)
            tools.extend(listed.tools)
            cursor = listed.next_cursor
            if not cursor:
                break
        return tools

    def _stderr_tail(self) -> str:
        if self._errlog is None or self._errlog.closed:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._errlog.seek(0)
            lines = [line.strip() for line in self._errlog.read().splitlines() if line.strip()]
            return " | ".join(lines[-3:])[-300:]
        return ""

    async def call(self, tool: str, arguments: dict[str, Any]) -> ToolOutput:
        """Call `tool`; errors the model should read become ToolError."""
        from mcp.shared.exceptions import MCPError
        from mcp_types import REQUEST_TIMEOUT

        session = self.session
        if session is None:
            raise ToolError(f"The MCP server {self.name!r} is not connected ({self.error or 'closed'}).")
        timeout = self.manager.tool_timeout
        try:
            result = await session.call_tool(tool, arguments, read_timeout_seconds=timeout)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                raise ToolError(f"The MCP tool {tool!r} timed out after {timeout:g} s.") from exc
            message = exc.error.message
            raise ToolError(f"The MCP server {self.name!r} answered with an error: {message}") from exc
        except Exception as exc:  # the SDK raises RuntimeError, ValidationError, anyio errors...
            raise ToolError(f"Calling the MCP tool {tool!r} failed: {_describe(exc)}") from exc
        return render_result(result)

    def abort(self) -> None:
        """Stop the connection task at once (its transport still stops the process)."""
        self._closing.set()
        if self._scope is not None:
            self._scope.cancel()
        elif self._task is not None:
            self._task.cancel()

    async def aclose(self) -> None:
        """Leave the session and stop the server (the SDK bounds every wait)."""
        self._closing.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._errlog is not None:
            self._errlog.close()


@contextlib.asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]) -> Any:
    """Streamable HTTP with the configured headers."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    client = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0))
    async with client, streamable_http_client(url, http_client=client) as streams:
        yield streams


def _describe(exc: BaseException) -> str:
    """One line for an exception, looking inside anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError):
        return f"command not found ({exc.filename or exc})"
    message = str(exc) or type(exc).__name__
    return message.splitlines()[0] if message.strip() else type(exc).__name__


class McpManager:
    """The MCP servers of one process: started once, their tools shared by every agent."""

    def __init__(
        self,
        servers: Mapping[str, McpServerConfig],
        *,
        cwd: Path,
        tool_timeout: float = 60.0,
        startup_timeout: float = STARTUP_TIMEOUT_S,
    ) -> None:
        self.servers = dict(servers)
        self.cwd = cwd
        self.tool_timeout = tool_timeout
        self.startup_timeout = startup_timeout
        self.connections: list[McpConnection] = []
        self.tools: list[Tool] = []
        self.warnings: list[str] = []
        self._started = False
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, root: Path) -> McpManager:
        """A manager for the servers the settings name (none: an empty manager)."""
        return cls(settings.mcpServers, cwd=root, tool_timeout=settings.mcpToolTimeoutMs / 1000)

    async def start(self) -> list[str]:
        """Connect to every server at once; the warnings for servers skipped (once)."""
        async with self._lock:
            if self._started:
                return []
            self._started = True
            if not self.servers:
                return []
            # Importing the SDK takes most of a second: not on the event loop.
            await asyncio.to_thread(_import_sdk)
            self.connections = [
                McpConnection(name, config, cwd=self.cwd, manager=self)
                for name, config in self.servers.items()
            ]
            results = await asyncio.gather(*(c.start(self.startup_timeout) for c in self.connections))
            warnings = [w for w in results if w]
            taken: set[str] = set()
            for connection in self.connections:
                if connection.session is None:
                    continue
                for remote in connection.remote_tools:
                    name = tool_name(connection.name, remote.name)
                    if name in taken:
                        warnings.append(
                            f"MCP server {connection.name!r}: tool {remote.name!r} skipped: "
                            f"the name {name} is taken"
                        )
                        continue
                    taken.add(name)
                    self.tools.append(mcp_tool_class(connection.name, remote, name)(connection))
            self.warnings = warnings
            return list(warnings)

    async def aclose(self) -> None:
        """Close every connection (servers exit when their stdin closes, else are killed)."""
        connections, self.connections = self.connections, []
        self.tools = []
        await asyncio.gather(*(c.aclose() for c in connections))

    async def __aenter__(self) -> McpManager:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _import_sdk() -> None:
    import mcp.client.session
    import mcp.client.stdio  # noqa: F401
