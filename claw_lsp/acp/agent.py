"""The ACP agent: `initialize`, `authenticate`, `session/new|load|list|prompt|cancel|set_mode`.

Each ACP session is one claw session (the same JSONL transcripts as the language server and
`claw`, so a session begun in one editor continues in another), with its own agent built by
`compose.build_agent`, its MCP servers (the client's `mcpServers` joined with the user's
settings') and at most one run at a time. A run's events go out as `session/update`s in order
(`core.updates`, shared with the language server) before the prompt's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast, get_args

import acp.schema as acp
from acp import PROTOCOL_VERSION
from acp.exceptions import RequestError
from pydantic import BaseModel

from claw_lsp import __version__
from claw_lsp.acp.files import AcpApplier, ClientBuffers
from claw_lsp.acp.prompter import AcpPrompter
from claw_lsp.acp.replay import history
from claw_lsp.core.events import Notice, RunFinished, TextDelta
from claw_lsp.core.updates import session_update, text_chunk, thought_chunk

if TYPE_CHECKING:
    from acp.interfaces import Client

    from claw_lsp.agent.loop import Agent, Run
    from claw_lsp.agent.session import Session
    from claw_lsp.config import McpServerConfig, PermissionMode, Settings
    from claw_lsp.core.tools import Tool
    from claw_lsp.providers.base import Model
    from claw_lsp.tools.mcp import McpManager

log = logging.getLogger("claw_lsp.acp")

MODES: dict[str, tuple[str, str]] = {
    "default": ("Default", "Ask before edits, commands and anything outside the rules"),
    "acceptEdits": ("Accept edits", "Apply file edits without asking; still ask for commands"),
    "plan": ("Plan", "Read and plan only: no edits, no commands"),
    "bypassPermissions": ("Bypass permissions", "Run everything without asking (deny rules still hold)"),
}
# Our stop reasons as ACP's (errors are JSON-RPC errors, not stop reasons).
STOP_REASONS: dict[str, acp.StopReason] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "budget": "max_tokens",
    "max_turns": "max_turn_requests",
    "refusal": "refusal",
    "cancelled": "cancelled",
}
AUTH_METHODS = {
    "anthropic-api-key": ("ANTHROPIC_API_KEY", "Anthropic API key"),
    "openai-api-key": ("OPENAI_API_KEY", "OpenAI-compatible API key"),
}
LIST_PAGE = 50


def missing_credentials(provider: str) -> str | None:
    """What to set when the provider's key is missing (None: it is there)."""
    if provider == "anthropic" and not (
        os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
    ):
        return "no API key: set ANTHROPIC_API_KEY in the agent's environment (or OPENAI_API_KEY for openai)"
    if provider == "openai" and not (os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL")):
        return "no API key: set OPENAI_API_KEY in the agent's environment (OPENAI_BASE_URL: a local server)"
    return None


def auth_error(message: str) -> RequestError:
    """ACP's auth_required error, its message naming the variable to set."""
    return RequestError(-32000, message, {"authMethods": list(AUTH_METHODS)})


def prompt_text(blocks: list[Any]) -> tuple[str, str | None]:
    """The prompt as the model gets it: the typed text (resource links as links), and the
    embedded resources as context before it."""
    parts: list[str] = []
    context: list[str] = []
    for block in blocks:
        if isinstance(block, acp.TextContentBlock):
            parts.append(block.text)
        elif isinstance(block, acp.ResourceContentBlock):
            label = block.title or block.name or block.uri
            parts.append(f"[@{label}]({block.uri})")
        elif isinstance(block, acp.EmbeddedResourceContentBlock):
            resource = block.resource
            if isinstance(resource, acp.TextResourceContents):
                context.append(f'<context uri="{resource.uri}">\n{resource.text}\n</context>')
            else:
                context.append(f'<context uri="{resource.uri}">(binary content, not shown)</context>')
        else:
            kind = getattr(block, "type", "content")
            parts.append(f"({kind} content omitted: this agent takes text only)")
    return " ".join(p for p in parts if p).strip() or "", ("\n\n".join(context) or None)


def mcp_configs(servers: list[Any] | None) -> tuple[dict[str, McpServerConfig], list[str]]:
    """The client's MCP servers as our configs; the warnings for those we cannot run."""
    from claw_lsp.config import McpServerConfig

    configs: dict[str, McpServerConfig] = {}
    warnings: list[str] = []
    for server in servers or []:
        if isinstance(server, acp.McpServerStdio):
            configs[server.name] = McpServerConfig(
                type="stdio",
                command=server.command,
                args=list(server.args),
                env={e.name: e.value for e in server.env},
            )
        elif isinstance(server, acp.HttpMcpServer):
            configs[server.name] = McpServerConfig(
                type="http", url=server.url, headers={h.name: h.value for h in server.headers}
            )
        else:
            warnings.append(
                f"MCP server {getattr(server, 'name', '?')!r}: transport not supported (stdio and http are)"
            )
    return configs, warnings


@dataclass
class AcpSession:
    """One ACP session: its claw session, agent, MCP servers and current run."""

    id: str
    root: Path
    session: Session
    agent: Agent
    prompter: AcpPrompter
    mcp: McpManager | None = None
    run: Run | None = None
    warnings: list[str] = field(default_factory=list)
    # Tool call id -> the client terminal its Bash ran in (kept in the call's content).
    terminals: dict[str, str] = field(default_factory=dict)
    # The running prompt's outgoing updates (in order with the run's events).
    updates: asyncio.Queue[BaseModel | None] | None = None

    def announce_terminal(self, tool_call_id: str, terminal_id: str) -> None:
        """Show a Bash call's client terminal in its tool call from now on."""
        self.terminals[tool_call_id] = terminal_id
        if self.updates is not None:
            self.updates.put_nowait(
                acp.ToolCallProgress(
                    session_update="tool_call_update",
                    tool_call_id=tool_call_id,
                    status="in_progress",
                    content=[acp.TerminalToolCallContent(type="terminal", terminal_id=terminal_id)],
                )
            )

    def with_terminal(self, update: BaseModel) -> BaseModel:
        """A finished Bash call's update, its terminal kept beside the text output."""
        if isinstance(update, acp.ToolCallProgress) and update.tool_call_id in self.terminals:
            terminal = acp.TerminalToolCallContent(
                type="terminal", terminal_id=self.terminals[update.tool_call_id]
            )
            if update.status in ("completed", "failed"):
                self.terminals.pop(update.tool_call_id)
            return update.model_copy(update={"content": [terminal, *(update.content or [])]})
        return update

    @property
    def mode(self) -> str:
        """The permission mode now."""
        return self.agent.permissions.mode


class ClawAcpAgent:
    """The `acp` package's Agent interface over claw's agent core."""

    def __init__(self) -> None:
        self.client: Client | None = None
        self.capabilities = acp.ClientCapabilities()
        self.sessions: dict[str, AcpSession] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def on_connect(self, conn: Client) -> None:
        """The connection to the client (its fs, terminal and permission methods)."""
        self.client = conn

    def _conn(self) -> Client:
        if self.client is None:
            raise RequestError.internal_error({"message": "not connected"})
        return self.client

    # -- initialize / authenticate -------------------------------------------------------------

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: acp.ClientCapabilities | None = None,
        client_info: acp.Implementation | None = None,
        **_: Any,
    ) -> acp.InitializeResponse:
        """Our capabilities, declared truthfully."""
        self.capabilities = client_capabilities or acp.ClientCapabilities()
        return acp.InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=acp.AgentCapabilities(
                load_session=True,
                prompt_capabilities=acp.PromptCapabilities(image=False, audio=False, embedded_context=True),
                mcp_capabilities=acp.McpCapabilities(http=True, sse=False),
                session_capabilities=acp.SessionCapabilities(list=acp.SessionListCapabilities()),
            ),
            auth_methods=[
                acp.EnvVarAuthMethod(
                    type="env_var", id=method, name=name, vars=[acp.AuthEnvVar(name=var, label=name)]
                )
                for method, (var, name) in AUTH_METHODS.items()
            ],
            agent_info=acp.Implementation(name="claw-lsp", title="Claw", version=__version__),
        )

    async def authenticate(self, method_id: str, **_: Any) -> acp.AuthenticateResponse:
        """Succeeds when the method's key is in the environment; else says which to set."""
        if method_id not in AUTH_METHODS:
            raise RequestError.invalid_params(
                {"message": f"unknown auth method {method_id!r}", "methods": list(AUTH_METHODS)}
            )
        provider = "anthropic" if method_id == "anthropic-api-key" else "openai"
        missing = missing_credentials(provider)
        if missing:
            raise auth_error(missing)
        return acp.AuthenticateResponse()

    # -- sessions ------------------------------------------------------------------------------

    def _modes(self, current: str) -> acp.SessionModeState:
        return acp.SessionModeState(
            current_mode_id=current,
            available_modes=[acp.SessionMode(id=k, name=n, description=d) for k, (n, d) in MODES.items()],
        )

    @staticmethod
    def _root(cwd: str) -> Path:
        root = Path(cwd)
        if not root.is_absolute() or not root.is_dir():
            raise RequestError.invalid_params({"message": f"cwd {cwd!r} is not an absolute path to a folder"})
        return root.resolve()

    async def _open(self, root: Path, mcp_servers: list[Any] | None, session_id: str | None) -> AcpSession:
        """Settings, model, session (new or stored), MCP servers and agent for one ACP session."""
        from claw_lsp.agent.session import SessionLocked, SessionNotFound, SessionStore
        from claw_lsp.compose import make_settings_model, resolve_provider
        from claw_lsp.config import load_settings
        from claw_lsp.providers.base import ProviderError

        loaded = await asyncio.to_thread(load_settings, root)
        settings: Settings = loaded.settings
        warnings = list(loaded.warnings)
        provider, _ = resolve_provider(settings)
        missing = missing_credentials(provider)
        if missing:
            raise auth_error(missing)
        try:
            model = await asyncio.to_thread(make_settings_model, settings, root)
        except ProviderError as exc:
            raise RequestError.internal_error({"message": str(exc)}) from exc
        store = SessionStore(root)
        try:
            if session_id is None:
                session = await asyncio.to_thread(store.create, model=model.name, provider=model.provider)
            else:
                session = await asyncio.to_thread(store.open, session_id)
            await asyncio.to_thread(session.acquire)
        except SessionNotFound as exc:
            raise RequestError(-32002, f"Resource not found: {exc}", {"sessionId": session_id}) from exc
        except SessionLocked as exc:
            raise RequestError.invalid_request({"message": str(exc)}) from exc
        try:
            state = await self._assemble(
                root, settings, model, session, mcp_servers=mcp_servers, warnings=warnings
            )
        except BaseException:
            session.close()  # lets go of the writer's lock
            raise
        self.sessions[session.id] = state
        return state

    async def _assemble(
        self,
        root: Path,
        settings: Settings,
        model: Model,
        session: Session,
        *,
        mcp_servers: list[Any] | None,
        warnings: list[str],
    ) -> AcpSession:
        """MCP servers, file access, permissions and the agent of one session."""
        from claw_lsp.agent.loop import AgentHooks
        from claw_lsp.compose import build_agent
        from claw_lsp.tools.mcp import McpManager
        from claw_lsp.workspace.disk import DiskApplier

        client = self._conn()
        extra, mcp_warnings = mcp_configs(mcp_servers)
        warnings += mcp_warnings
        servers = {**settings.mcpServers, **extra}
        mcp: McpManager | None = None
        tools: list[Tool] = []
        if servers:
            mcp = McpManager(servers, cwd=root, tool_timeout=settings.mcpToolTimeoutMs / 1000)
            try:
                warnings += await mcp.start()
            except BaseException:
                await mcp.aclose()
                raise
            tools = list(mcp.tools)
        fs = self.capabilities.fs or acp.FileSystemCapabilities()
        buffers = ClientBuffers(client, session.id) if fs.read_text_file else None
        prompter = AcpPrompter(client, session.id)
        holder: list[Agent] = []
        applier = AcpApplier(
            client,
            session.id,
            disk=DiskApplier([root]),
            folders=[root],
            edit_rules=prompter.edit_rules,
            engine=lambda: holder[0].permissions if holder else None,
            buffers=buffers,
            write_through=bool(fs.write_text_file),
        )

        async def before_tool(_tool: Tool, locations: list[Path]) -> str | None:
            if buffers is not None:
                await buffers.prefetch(locations)
            return None

        try:
            agent = await asyncio.to_thread(
                build_agent,
                root=root,
                folders=[root],
                settings=settings,
                session=session,
                prompter=prompter,
                buffers=buffers,
                applier=applier,
                hooks=AgentHooks(before_tool=before_tool),
                model=model,
                extra_tools=tools,
            )
        except BaseException:
            if mcp is not None:
                await mcp.aclose()
            raise
        holder.append(agent)
        if model.provider == "scripted":  # go on with the script where the session left off
            model.position = sum(1 for m in agent.messages if m.role == "assistant")  # type: ignore[attr-defined]
        for warning in warnings:
            log.warning("%s", warning)
        state = AcpSession(
            id=session.id,
            root=root,
            session=session,
            agent=agent,
            prompter=prompter,
            mcp=mcp,
            warnings=warnings,
        )
        if self.capabilities.terminal:  # Bash runs in the client's terminal, same rules
            from claw_lsp.acp.terminal import TerminalBash

            agent.tools["Bash"] = TerminalBash(client, session.id, state.announce_terminal)
        return state

    def _later(self, coro: Any) -> None:
        """Run `coro` after the current answer went out (notifications about a new session)."""

        async def delayed() -> None:
            await asyncio.sleep(0.05)
            await coro

        task = asyncio.get_running_loop().create_task(delayed())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce(self, state: AcpSession) -> None:
        """The slash commands this agent understands: the built-ins, the user's and the project's
        commands, and the skills the model may also invoke (as Claude Code offers them)."""
        slash = state.agent.slash
        listed = slash.catalog.commands if slash is not None else []
        commands = [
            acp.AvailableCommand(
                name=c.name,
                description=c.description,
                input=acp.AvailableCommandInput(root=acp.UnstructuredCommandInput(hint=c.argument_hint))
                if c.argument_hint
                else None,
            )
            for c in listed
            if c.skill is None or not c.skill.disable_model_invocation
        ]
        with contextlib.suppress(Exception):
            await self._conn().session_update(
                session_id=state.id,
                update=acp.AvailableCommandsUpdate(
                    session_update="available_commands_update", available_commands=commands
                ),
            )

    async def new_session(
        self, cwd: str, mcp_servers: list[Any] | None = None, **_: Any
    ) -> acp.NewSessionResponse:
        """A new claw session in `cwd`."""
        state = await self._open(self._root(cwd), mcp_servers, None)
        self._later(self._announce(state))
        return acp.NewSessionResponse(session_id=state.id, modes=self._modes(state.mode))

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: list[Any] | None = None, **_: Any
    ) -> acp.LoadSessionResponse:
        """Continue a stored session: its history is replayed as session/update first."""
        state = self.sessions.get(session_id)
        if state is None:
            state = await self._open(self._root(cwd), mcp_servers, session_id)
            if state.id != session_id:  # opened by a unique prefix: one id from now on
                self.sessions[session_id] = state
        records = await asyncio.to_thread(lambda: list(state.session.records()))
        client = self._conn()
        for update in history(records, state.agent.model.context_window):
            await client.session_update(session_id=session_id, update=update)
        self._later(self._announce(state))
        return acp.LoadSessionResponse(modes=self._modes(state.mode))

    async def list_sessions(
        self, cwd: str | None = None, cursor: str | None = None, **_: Any
    ) -> acp.ListSessionsResponse:
        """The stored sessions of `cwd` (default: the agent's working folder), newest first."""
        from claw_lsp.agent.session import SessionStore

        root = self._root(cwd) if cwd else Path.cwd().resolve()
        try:
            start = int(cursor or 0)
        except ValueError:
            raise RequestError.invalid_params({"message": f"bad cursor {cursor!r}"}) from None
        infos = await asyncio.to_thread(SessionStore(root).list)
        page = infos[start : start + LIST_PAGE]
        return acp.ListSessionsResponse(
            sessions=[
                acp.SessionInfo(
                    session_id=i.session_id,
                    cwd=str(root),
                    title=i.title or None,
                    updated_at=i.updated_at.isoformat(),
                )
                for i in page
            ],
            next_cursor=str(start + LIST_PAGE) if start + LIST_PAGE < len(infos) else None,
        )

    def _session(self, session_id: str) -> AcpSession:
        state = self.sessions.get(session_id)
        if state is None:
            raise RequestError.invalid_params({"message": f"no session {session_id!r} on this connection"})
        return state

    async def set_session_mode(self, session_id: str, mode_id: str, **_: Any) -> acp.SetSessionModeResponse:
        """Switch the session's permission mode."""
        from claw_lsp.config import PermissionMode

        state = self._session(session_id)
        if mode_id not in get_args(PermissionMode):
            raise RequestError.invalid_params({"message": f"unknown mode {mode_id!r}", "modes": list(MODES)})
        state.agent.permissions.set_mode(cast("PermissionMode", mode_id))
        self._later(
            self._conn().session_update(
                session_id=session_id,
                update=acp.CurrentModeUpdate(session_update="current_mode_update", current_mode_id=mode_id),
            )
        )
        return acp.SetSessionModeResponse()

    # -- prompt / cancel -----------------------------------------------------------------------

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> acp.PromptResponse:
        """Run the prompt; stream its events; answer with the stop reason."""
        state = self._session(session_id)
        if state.run is not None and not state.run.done:
            raise RequestError.invalid_request(
                {"message": f"session {session_id} is busy with another prompt"}
            )
        text, context = prompt_text(prompt)
        if not text and not context:
            raise RequestError.invalid_params({"message": "the prompt is empty"})
        client = self._conn()
        window = state.agent.model.context_window
        queue: asyncio.Queue[BaseModel | None] = asyncio.Queue()
        streamed = False

        def on_event(event: BaseModel) -> None:
            nonlocal streamed
            streamed = streamed or isinstance(event, TextDelta)
            update: BaseModel | None
            if isinstance(event, Notice):
                update = thought_chunk(event.message + "\n")
            else:
                update = session_update(event, window)
            if update is not None:
                queue.put_nowait(state.with_terminal(update))

        async def send_updates() -> None:
            while (update := await queue.get()) is not None:
                try:
                    await client.session_update(session_id=session_id, update=update)  # type: ignore[arg-type]
                except ConnectionError:
                    return

        # The settings' warnings (an untrusted folder's held-back settings among them) are shown
        # once, before the first prompt's answer: stderr is not where an ACP user looks.
        for warning in state.warnings:
            queue.put_nowait(thought_chunk(f"Claw settings: {warning}\n"))
        state.warnings = []
        state.updates = queue
        sender = asyncio.get_running_loop().create_task(send_updates())
        run = state.agent.start(text or "(see the context)", context, deferred=True)
        run.subscribe(on_event)
        state.run = run
        run.begin()
        try:
            finished = await asyncio.shield(run.wait())
        except asyncio.CancelledError:  # the connection went away: stop the run, keep it consistent
            run.cancel("the client disconnected")
            raise
        if not streamed and finished.result and finished.stop_reason == "end_turn":
            queue.put_nowait(text_chunk(finished.result))  # e.g. /compact's outcome
        queue.put_nowait(None)
        state.updates = None
        await sender
        return self._answer(finished)

    @staticmethod
    def _answer(finished: RunFinished) -> acp.PromptResponse:
        if finished.stop_reason == "error":
            message = finished.error or "the run failed"
            if "API key" in message or "authentication" in message.lower():
                raise auth_error(message)
            raise RequestError(-32603, message, {"sessionId": finished.session_id, "runId": finished.run_id})
        u = finished.usage
        usage = acp.Usage(
            total_tokens=u.context_tokens + u.output_tokens,
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cached_read_tokens=u.cache_read_input_tokens,
            cached_write_tokens=u.cache_creation_input_tokens,
        )
        return acp.PromptResponse(stop_reason=STOP_REASONS.get(finished.stop_reason, "end_turn"), usage=usage)

    async def cancel(self, session_id: str, **_: Any) -> None:
        """Stop the session's run; it answers its prompt with `cancelled`."""
        state = self.sessions.get(session_id)
        if state is not None and state.run is not None and not state.run.done:
            state.run.cancel("cancelled by the client")

    # -- shutdown ------------------------------------------------------------------------------

    async def close(self) -> None:
        """Cancel every run (bounded wait), stop MCP servers, close transcripts."""
        runs = [s.run for s in self.sessions.values() if s.run is not None and not s.run.done]
        for run in runs:
            run.cancel("the client disconnected")
        if runs:
            await asyncio.wait([asyncio.ensure_future(r.wait()) for r in runs], timeout=3)
        for state in {id(s): s for s in self.sessions.values()}.values():
            # SessionEnd hooks; the session's background commands die with it.
            await asyncio.wait([asyncio.ensure_future(state.agent.close("other"))], timeout=5)
            if state.mcp is not None:
                await asyncio.wait([asyncio.ensure_future(state.mcp.aclose())], timeout=5)
            state.session.close()
        self.sessions.clear()
