"""A test ACP client for `claw-lsp --acp`, built on the `acp` package's own client side.

`acp_agent(workspace, ...)` spawns the real agent as a subprocess (`python -m claw_lsp --acp`)
with the package's `spawn_agent_process` and yields a `Harness`: the package's
`ClientSideConnection` (`.conn`) plus `TestClient`, an editor that records every
`session/update`, answers `session/request_permission` with a function the test sets, and serves
`fs/read_text_file` / `fs/write_text_file` from its own buffers (unsaved text) over the disk,
as an editor does. `raw(...)` writes raw bytes to the agent's stdin (bad-input tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import acp.schema as acp
from acp import PROTOCOL_VERSION, spawn_agent_process
from acp.client.connection import ClientSideConnection
from acp.connection import StreamDirection, StreamEvent
from acp.exceptions import RequestError

AGENT_CMD = [sys.executable, "-m", "claw_lsp", "--acp"]
REPO = Path(__file__).resolve().parents[2]


def option(kind: str) -> Callable[[acp.RequestPermissionRequest], acp.RequestPermissionResponse]:
    """An answer function choosing the option of `kind` (allow_once, reject_always, ...)."""

    def answer(request: acp.RequestPermissionRequest) -> acp.RequestPermissionResponse:
        chosen = next(o for o in request.options if o.kind == kind)
        return acp.RequestPermissionResponse(
            outcome=acp.AllowedOutcome(outcome="selected", option_id=chosen.option_id)
        )

    return answer


class TestClient:
    """An ACP client (editor) for tests."""

    __test__ = False

    def __init__(self, fs: bool = True, terminal: bool = False) -> None:
        self.fs = fs
        self.terminal = terminal
        # Terminals the agent created, and the terminal calls in order.
        self.terminals: dict[str, Terminal] = {}
        self.terminal_calls: list[tuple[str, str]] = []
        self.updates: list[tuple[str, Any]] = []
        self.permissions: list[acp.RequestPermissionRequest] = []
        self.answer: Callable[[acp.RequestPermissionRequest], Any] = option("allow_once")
        # Unsaved editor buffers by absolute path (else reads go to disk).
        self.buffers: dict[str, str] = {}
        self.reads: list[str] = []
        self.writes: list[tuple[str, str]] = []
        # Called on each fs/read_text_file before it answers (lets a test "type" meanwhile).
        self.on_read: Callable[[str], None] | None = None
        self.permission_asked = asyncio.Event()

    # -- Client interface ------------------------------------------------------------------------

    async def request_permission(
        self, session_id: str, tool_call: acp.ToolCallUpdate, options: list[acp.PermissionOption], **_: Any
    ) -> acp.RequestPermissionResponse:
        request = acp.RequestPermissionRequest(session_id=session_id, tool_call=tool_call, options=options)
        self.permissions.append(request)
        self.permission_asked.set()
        answer = self.answer(request)
        if asyncio.iscoroutine(answer):
            answer = await answer
        return answer  # type: ignore[no-any-return]

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append((session_id, update))

    async def read_text_file(
        self, session_id: str, path: str, line: int | None = None, limit: int | None = None, **_: Any
    ) -> acp.ReadTextFileResponse:
        self.reads.append(path)
        if self.on_read is not None:
            self.on_read(path)
        if path in self.buffers:
            return acp.ReadTextFileResponse(content=self.buffers[path])
        try:
            return acp.ReadTextFileResponse(content=Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise RequestError.resource_not_found(path) from exc

    async def write_text_file(
        self, session_id: str, path: str, content: str, **_: Any
    ) -> acp.WriteTextFileResponse:
        self.writes.append((path, content))
        self.buffers[path] = content  # lands in the buffer, unsaved (as Zed's does before it saves)
        return acp.WriteTextFileResponse()

    async def create_terminal(
        self,
        session_id: str,
        command: str,
        args: list[str] | None = None,
        env: list[acp.EnvVariable] | None = None,
        cwd: str | None = None,
        output_byte_limit: int | None = None,
        **_: Any,
    ) -> acp.CreateTerminalResponse:
        process = await asyncio.create_subprocess_exec(
            command,
            *(args or []),
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        terminal_id = f"term-{len(self.terminals) + 1}"
        terminal = Terminal(process, limit=output_byte_limit)
        terminal.pump = asyncio.ensure_future(terminal.read())
        self.terminals[terminal_id] = terminal
        self.terminal_calls.append(("create", terminal_id))
        return acp.CreateTerminalResponse(terminal_id=terminal_id)

    async def terminal_output(
        self, session_id: str, terminal_id: str, **_: Any
    ) -> acp.TerminalOutputResponse:
        self.terminal_calls.append(("output", terminal_id))
        terminal = self.terminals[terminal_id]
        if terminal.process.returncode is not None and terminal.pump is not None:
            await asyncio.wait([terminal.pump], timeout=2)
        return acp.TerminalOutputResponse(
            output=terminal.output.decode(errors="replace"),
            truncated=terminal.truncated,
            exit_status=terminal.status(),
        )

    async def wait_for_terminal_exit(
        self, session_id: str, terminal_id: str, **_: Any
    ) -> acp.WaitForTerminalExitResponse:
        self.terminal_calls.append(("wait", terminal_id))
        terminal = self.terminals[terminal_id]
        await terminal.process.wait()
        status = terminal.status()
        assert status is not None
        return acp.WaitForTerminalExitResponse(exit_code=status.exit_code, signal=status.signal)

    async def kill_terminal(self, session_id: str, terminal_id: str, **_: Any) -> acp.KillTerminalResponse:
        self.terminal_calls.append(("kill", terminal_id))
        self.terminals[terminal_id].kill()
        return acp.KillTerminalResponse()

    async def release_terminal(
        self, session_id: str, terminal_id: str, **_: Any
    ) -> acp.ReleaseTerminalResponse:
        self.terminal_calls.append(("release", terminal_id))
        self.terminals[terminal_id].kill()
        return acp.ReleaseTerminalResponse()

    # -- helpers ---------------------------------------------------------------------------------

    def kinds(self, session_id: str | None = None) -> list[str]:
        """The session_update kinds received, in order."""
        return [u.session_update for s, u in self.updates if session_id is None or s == session_id]

    def of(self, kind: str, session_id: str | None = None) -> list[Any]:
        """The updates of one kind."""
        return [
            u for s, u in self.updates if u.session_update == kind and (session_id is None or s == session_id)
        ]

    def agent_text(self, session_id: str | None = None) -> str:
        """The agent's streamed answer text."""
        return "".join(u.content.text for u in self.of("agent_message_chunk", session_id))


class Terminal:
    """A command the test client runs for the agent (in its own process group)."""

    def __init__(self, process: asyncio.subprocess.Process, limit: int | None) -> None:
        self.process = process
        self.limit = limit
        self.output = b""
        self.truncated = False
        self.pump: asyncio.Future[None] | None = None

    async def read(self) -> None:
        assert self.process.stdout is not None
        while chunk := await self.process.stdout.read(65536):
            self.output += chunk
            if self.limit is not None and len(self.output) > self.limit:
                self.output = self.output[-self.limit :]
                self.truncated = True

    def status(self) -> acp.TerminalExitStatus | None:
        code = self.process.returncode
        if code is None:
            return None
        if code < 0:
            return acp.TerminalExitStatus(signal=signal.Signals(-code).name)
        return acp.TerminalExitStatus(exit_code=code)

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Harness:
    """A running agent subprocess and the test client talking to it."""

    conn: ClientSideConnection
    client: TestClient
    process: asyncio.subprocess.Process
    stderr_path: Path
    init: acp.InitializeResponse | None = None
    # Every message the agent sent, as it arrived.
    incoming: list[dict[str, Any]] = field(default_factory=list)

    def responses(self, id_: Any) -> list[dict[str, Any]]:
        """The responses the agent sent with this id (None: the id-less error answers)."""
        return [m for m in self.incoming if "method" not in m and m.get("id", "absent") == id_]

    async def new_session(self, cwd: Path, **kwargs: Any) -> str:
        """session/new in `cwd`; the session id."""
        response = await self.conn.new_session(cwd=str(cwd), mcp_servers=[], **kwargs)
        return response.session_id

    async def prompt(self, session_id: str, text: str, timeout: float = 40.0) -> acp.PromptResponse:
        """session/prompt with one text block."""
        return await asyncio.wait_for(
            self.conn.prompt(session_id=session_id, prompt=[acp.TextContentBlock(type="text", text=text)]),
            timeout,
        )

    def raw(self, data: bytes) -> None:
        """Write raw bytes to the agent's stdin."""
        assert self.process.stdin is not None
        self.process.stdin.write(data)

    def stderr(self) -> str:
        """What the agent wrote on stderr so far."""
        return self.stderr_path.read_text(errors="replace")


def agent_env(api_env: dict[str, str] | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The agent's environment: this test's (isolated state dirs) plus the fake API's."""
    env = {**os.environ, **(api_env or {}), **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


@contextlib.asynccontextmanager
async def acp_agent(
    workspace: Path,
    api_env: dict[str, str] | None,
    *,
    fs: bool = True,
    terminal: bool = False,
    initialize: bool = True,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Harness]:
    """`claw-lsp --acp` as a subprocess, connected and (unless told not to) initialized."""
    client = TestClient(fs=fs, terminal=terminal)
    incoming: list[dict[str, Any]] = []

    def observe(event: StreamEvent) -> None:
        if event.direction == StreamDirection.INCOMING:
            incoming.append(event.message)

    stderr_path = workspace.parent / f"acp-stderr-{time.monotonic_ns()}.log"
    with stderr_path.open("wb") as stderr:
        async with spawn_agent_process(
            client,
            *AGENT_CMD,
            env=agent_env(api_env, env),
            cwd=workspace,
            transport_kwargs={"stderr": stderr.fileno(), "limit": 50 * 1024 * 1024},
            observers=[observe],
        ) as (conn, process):
            harness = Harness(
                conn=conn, client=client, process=process, stderr_path=stderr_path, incoming=incoming
            )
            if initialize:
                harness.init = await asyncio.wait_for(
                    conn.initialize(
                        protocol_version=PROTOCOL_VERSION,
                        client_capabilities=acp.ClientCapabilities(
                            fs=acp.FileSystemCapabilities(read_text_file=fs, write_text_file=fs),
                            terminal=terminal,
                        ),
                        client_info=acp.Implementation(name="claw-test-client", version="1"),
                    ),
                    30,
                )
            yield harness
