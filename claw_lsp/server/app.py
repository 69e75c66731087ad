"""The language server object, its lifecycle, settings and document sync.

`ClawLanguageServer` holds all state: the client's capabilities (`ClientInfo`), the settings, the
document tracker the edit engine confirms edits with, the diagnostics seen in code action
contexts, and the run manager. `create_server()` composes the feature modules; `serve_stdio()`
runs it on stdin/stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import sys
from collections.abc import Coroutine, Generator
from pathlib import Path
from typing import Any, BinaryIO, cast

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest, JsonRpcServerNotInitialized
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from claw_lsp import __version__
from claw_lsp.config import LoadedSettings, Settings, TrustStore, load_settings, untrusted_warning
from claw_lsp.server.applier import DocumentTracker
from claw_lsp.server.client import ClientInfo
from claw_lsp.server.diagnostics import DiagnosticsCache
from claw_lsp.server.protocol import CONFIG_SECTION, ClientFeatures, json_converter
from claw_lsp.server.runs import RunManager
from claw_lsp.server.sessions import Sessions
from claw_lsp.server.uris import path_of
from claw_lsp.workspace.view import relative_to_folders

logger = logging.getLogger(__name__)


# What structure_message returns for a request it has already answered with an error.
_ANSWERED = object()


class ClawProtocol(LanguageServerProtocol):
    """pygls' protocol with utf-16 positions whenever the client offers them, and JSON-RPC errors
    as the spec says where pygls stays silent: a request whose params cannot be read (-32602),
    without `"jsonrpc": "2.0"` (-32600), before `initialize` (-32002) or after `shutdown` (-32600)."""

    initialized = False  # `initialize` was answered

    def _refuse(self, msg_id: Any, error: JsonRpcException) -> None:
        # pygls has no public way to answer a request it will not dispatch.
        self._send_response(msg_id, error=error.to_response_error())

    def handle_message(self, message: Any) -> None:
        """Refuse what the spec says to refuse; hand the rest to pygls."""
        if message is _ANSWERED:
            return
        if isinstance(message, dict):  # no "jsonrpc" member: pygls passes the raw object on
            if "id" in message and "method" in message:
                self._refuse(
                    message["id"], JsonRpcInvalidRequest('not a JSON-RPC 2.0 request (no "jsonrpc": "2.0")')
                )
            logger.warning('ignored a message without "jsonrpc": "2.0": %.200r', message)
            return
        method = getattr(message, "method", None)
        msg_id = getattr(message, "id", None)
        is_request = method is not None and msg_id is not None
        if method == types.EXIT:
            return super().handle_message(message)
        if self._shutdown and method is not None:
            if is_request:
                self._refuse(msg_id, JsonRpcInvalidRequest(f"{method}: the server is shutting down"))
            return
        if not self.initialized and method is not None and method != types.INITIALIZE:
            if is_request:
                self._refuse(msg_id, JsonRpcServerNotInitialized(f"{method}: initialize first"))
            return
        return super().handle_message(message)

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Deserialize a message; a request with unreadable params is answered with the error."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "id" in data and "method" in data:
                method = data.get("method")
                error = exc.to_response_error()
                error.message = f"{error.message}: the params of {method!r} do not have the LSP shape"
                if not self.initialized and method != types.INITIALIZE:
                    error = JsonRpcServerNotInitialized(f"{method}: initialize first").to_response_error()
                # pygls has no public way to answer a request whose params failed to parse.
                self._send_response(data["id"], error=error)
                return _ANSWERED  # answered: nothing more to do (and no "Error in server" toast)
            raise

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """pygls' shutdown, iterating over a copy of the pending requests: cancelling one removes it
        from the dict, so pygls' own loop failed with "dictionary changed size during iteration"
        whenever a request was still pending."""
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        """Prefer utf-16 (every client supports it); else the client's first supported encoding."""
        general = params.capabilities.general
        offered = list(general.position_encodings or []) if general else []
        if general is not None and offered and types.PositionEncodingKind.Utf16 in offered:
            offered.remove(types.PositionEncodingKind.Utf16)
            general.position_encodings = [types.PositionEncodingKind.Utf16, *offered]
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        self.initialized = True
        return result


class ClawLanguageServer(LanguageServer):
    """The claw-lsp server: one object holding every piece of state."""

    def __init__(self) -> None:
        converter = json_converter()
        super().__init__(
            "claw-lsp",
            __version__,
            protocol_cls=ClawProtocol,
            converter_factory=lambda: converter,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        # The converter pygls (un)structures LSP messages with, for payloads built outside them.
        self.converter = converter
        self.client_info = ClientInfo()
        self.tracker = DocumentTracker()
        self.diagnostics_cache = DiagnosticsCache()
        self.init_options: dict[str, Any] = {}
        self.config_section: dict[str, Any] = {}
        self.loaded: LoadedSettings | None = None
        self.settings = Settings()
        self.settings_generation = 0
        self._warned: set[str] = set()
        self._trust_asked = False
        self._folders: list[Path] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        # Importing the model SDK in two threads at once breaks it: agents wait for the warm-up.
        self.warmup: asyncio.Task[Any] | None = None
        # Set once the first settings load finished (a claw.ask may arrive before `initialized`).
        self.settings_ready = asyncio.Event()
        self.sessions = Sessions(self)
        self.runs = RunManager(self, self.sessions)

    # -- workspace ---------------------------------------------------------------------------------

    @property
    def folders(self) -> list[Path]:
        """The workspace folders (resolved), first one is the root."""
        folders = []
        with contextlib.suppress(RuntimeError, AttributeError):
            for folder in self.workspace.folders.values():
                path = path_of(folder.uri)
                if path is not None:
                    folders.append(path.resolve())
        if not folders and self._folders:
            return list(self._folders)
        return folders or [Path.cwd().resolve()]

    @property
    def root(self) -> Path:
        """The first workspace folder: sessions and project settings live under it."""
        return self.folders[0]

    def relative(self, path: Path) -> str:
        """A path as the user reads it (`relative_to_folders` over the workspace folders)."""
        return relative_to_folders(path, self.folders)

    @property
    def client_features(self) -> ClientFeatures:
        """The `claw/*` methods the client declared (part of `client_info`)."""
        return self.client_info.features

    # -- background work ---------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "claw") -> asyncio.Task[Any]:
        """Run `coro` as a tracked task (cancelled on shutdown, errors logged)."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=task.exception())
            self.log(
                f"Claw: internal error in {task.get_name()}: {task.exception()!r}", types.MessageType.Error
            )

    # -- messages ----------------------------------------------------------------------------------

    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """window/logMessage."""
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def show(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """window/showMessage."""
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    # -- settings ----------------------------------------------------------------------------------

    async def reload_settings(self) -> None:
        """Re-read settings: files < initializationOptions < workspace/configuration `claw`."""
        overrides = {**self.init_options, **self.config_section}
        loaded = await asyncio.to_thread(load_settings, self.root, overrides)
        self.loaded = loaded
        if loaded.settings != self.settings:
            self.settings_generation += 1
        self.settings = loaded.settings
        fresh = [w for w in loaded.warnings if w not in self._warned]
        if fresh:
            self._warned.update(fresh)
            # The trust question (ask_trust) says what an undecided workspace holds back.
            question = untrusted_warning(loaded.held_back) if loaded.needs_trust else None
            shown = [w for w in fresh if w != question]
            if shown:
                self.show("Claw settings: " + "; ".join(shown), types.MessageType.Warning)
            for warning in fresh:
                self.log(f"Claw settings: {warning}", types.MessageType.Warning)

    # -- workspace trust ---------------------------------------------------------------------------

    async def ask_trust(self) -> None:
        """Ask once (window/showMessageRequest) whether to trust a workspace whose own settings
        widen what the agent may do; remember the answer and apply it. A dismissed question is
        not remembered: the next start asks again."""
        loaded = self.loaded
        if loaded is None or not loaded.needs_trust or self._trust_asked:
            return
        self._trust_asked = True
        message = (
            f"Claw: {self.root} has its own settings that let the agent do more: "
            + "; ".join(loaded.held_back)
            + ". Trust this folder? Its settings, hooks and MCP servers then apply "
            "(Claw: Trust Workspace changes this later)."
        )
        actions = [types.MessageActionItem(title=t) for t in (TRUST_ACTION, DISTRUST_ACTION)]
        question = types.ShowMessageRequestParams(
            type=types.MessageType.Warning, message=message, actions=actions
        )
        try:
            item = await self.window_show_message_request_async(question)
        except Exception as exc:  # a client without the request: the warning was logged
            self.log(f"Claw: could not ask whether to trust {self.root}: {exc!r}", types.MessageType.Warning)
            return
        title = item.get("title") if isinstance(item, dict) else getattr(item, "title", None)
        if title not in (TRUST_ACTION, DISTRUST_ACTION):
            self.show(untrusted_warning(loaded.held_back), types.MessageType.Warning)
            return
        await self.set_trust(title == TRUST_ACTION)

    async def set_trust(self, trusted: bool | None) -> None:
        """Record the user's decision for the workspace root and reload the settings under it."""
        await asyncio.to_thread(TrustStore().decide, self.root, trusted)
        held = list(self.loaded.held_back) if self.loaded is not None else []
        await self.reload_settings()
        if trusted and held:
            self.show(f"Claw: {self.root} is trusted; applied: " + "; ".join(held))
        elif trusted is False:
            self.show(f"Claw: {self.root} is not trusted; its own settings may only narrow what claw does")

    async def pull_configuration(self) -> None:
        """Ask the client for section `claw` (only when it supports workspace/configuration)."""
        if not self.client_info.configuration:
            return
        try:
            result = await asyncio.wait_for(
                self.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section=CONFIG_SECTION)])
                ),
                timeout=5,
            )
        except (TimeoutError, Exception) as exc:
            self.log(f"Claw: workspace/configuration failed: {exc!r}", types.MessageType.Warning)
            return
        section = result[0] if result else None
        self.config_section = dict(section) if isinstance(section, dict) else {}


TRUST_ACTION = "Trust Folder"
DISTRUST_ACTION = "Don't Trust"


def register(server: ClawLanguageServer) -> None:
    """Register lifecycle, settings and document sync handlers."""

    @server.feature(types.INITIALIZE)
    def initialize(ls: ClawLanguageServer, params: types.InitializeParams) -> None:
        """Record the client's capabilities, features and options; warm up the model SDK."""
        options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
        options = dict(options)
        options.pop("clientFeatures", None)
        ls.init_options = options
        ls.client_info = ClientInfo.from_initialize(
            params, ls.workspace.position_encoding or types.PositionEncodingKind.Utf16
        )
        folders = [path_of(f.uri) for f in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [path_of(params.root_uri)]
        ls._folders = [f.resolve() for f in folders if f is not None]
        ls.warmup = ls.spawn(asyncio.to_thread(_warm_imports), name="claw-warm-imports")

    @server.feature(types.INITIALIZED)
    async def initialized(ls: ClawLanguageServer, params: types.InitializedParams) -> None:
        """Load settings (asking the client for section `claw`)."""
        try:
            await ls.pull_configuration()
            await ls.reload_settings()
        finally:
            ls.settings_ready.set()
        if ls.loaded is not None and ls.loaded.needs_trust:
            ls.spawn(ls.ask_trust(), name="claw-ask-trust")

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: ClawLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        """Re-read settings: from the notification when it carries section `claw`, else pull."""
        pushed = params.settings.get(CONFIG_SECTION) if isinstance(params.settings, dict) else None
        if isinstance(pushed, dict):
            ls.config_section = dict(pushed)
        else:
            await ls.pull_configuration()
        await ls.reload_settings()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ClawLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        """Track the opened buffer."""
        document = params.text_document
        ls.tracker.opened(document.uri, document.text, document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ClawLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        """Apply the change to the tracker's copy with LSP line rules (the agent reads that copy)."""
        uri, version = params.text_document.uri, params.text_document.version
        encoding = ls.client_info.position_encoding
        if ls.tracker.apply_changes(uri, params.content_changes, version, encoding) is None:
            ls.tracker.changed(uri, ls.workspace.get_text_document(uri).source, version)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: ClawLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        """Remember that the buffer matches the disk now."""
        ls.tracker.saved(params.text_document.uri, params.text)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ClawLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        """Forget the closed buffer."""
        ls.tracker.closed(params.text_document.uri)
        ls.diagnostics_cache.forget(params.text_document.uri)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: ClawLanguageServer, params: None) -> None:
        """Cancel every run (killing its processes) and every background task."""
        await ls.runs.shutdown()
        for task in list(ls.tasks):
            task.cancel()
        if ls.tasks:
            await asyncio.wait(list(ls.tasks), timeout=2)


def _warm_imports() -> str | None:
    """Import the model SDK off the event loop (it costs about a second); the default model id."""
    for name in ("anthropic", "claw_lsp.compose", "claw_lsp.tools.registry"):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    try:
        from claw_lsp.providers.anthropic import default_model
    except ImportError:
        return None
    return default_model()


def create_server() -> ClawLanguageServer:
    """A fresh server with every feature group registered."""
    from claw_lsp.server import actions, commands, progress

    server = ClawLanguageServer()
    register(server)
    actions.register(server)
    commands.register(server)
    progress.register(server)
    return server


# A message body above this is refused without being held in memory (read and dropped in chunks).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_HEADER_LINE = 64 * 1024
_OVERSIZED = b'{"jsonrpc": "2.0", "method": "$/claw/oversizedMessage"}'


class BoundedInput:
    """stdin for pygls' reader, with limits: a header line is cut at MAX_HEADER_LINE, and a body
    whose Content-Length exceeds MAX_MESSAGE_BYTES is skipped in 1 MiB chunks (nothing that size is
    allocated) and stands for a notification nobody handles, so the server keeps serving."""

    def __init__(self, raw: BinaryIO, max_body: int = MAX_MESSAGE_BYTES) -> None:
        self.raw = raw
        self.max_body = max_body

    def readline(self) -> bytes:
        return self.raw.readline(MAX_HEADER_LINE)

    def read(self, n: int) -> bytes:
        if n <= self.max_body:
            return self.raw.read(n)
        logger.warning("refused a message of %d bytes (the limit is %d)", n, self.max_body)
        remaining = n
        while remaining > 0:
            chunk = self.raw.read(min(remaining, 1 << 20))
            if not chunk:
                return b""
            remaining -= len(chunk)
        return _OVERSIZED


def serve_stdio() -> None:
    """Run the language server on stdin/stdout until the client says exit; the exit status is 1
    when the client did not ask for `shutdown` first (LSP's rule), else 0."""
    server = create_server()
    server.start_io(stdin=cast(BinaryIO, BoundedInput(sys.stdin.buffer)))
    protocol = server.protocol
    if not getattr(protocol, "_shutdown", False):
        sys.exit(1)
