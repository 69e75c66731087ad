"""The language server object, its lifecycle, settings and document sync.

`ClawLanguageServer` holds all state: the client's capabilities (`ClientInfo`), the settings, the
document tracker the edit engine confirms edits with, the diagnostics seen in code action
contexts, and the run manager. `create_server()` composes the feature modules; `serve_stdio()`
runs it on stdin/stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import gc
import importlib
import json
import logging
import re
import sys
from collections.abc import Coroutine, Generator
from pathlib import Path
from typing import Any, BinaryIO, cast

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
    JsonRpcServerNotInitialized,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from claw_lsp import __version__
from claw_lsp.config import LoadedSettings, Settings, TrustStore, load_settings, untrusted_warning
from claw_lsp.core import startup
from claw_lsp.server.applier import DocumentTracker
from claw_lsp.server.client import ClientInfo
from claw_lsp.server.diagnostics import DiagnosticsCache
from claw_lsp.server.protocol import CONFIG_SECTION, ClientFeatures, json_converter
from claw_lsp.server.runs import RunManager
from claw_lsp.server.sessions import Sessions
from claw_lsp.server.uris import path_of
from claw_lsp.workspace.view import relative_to_folders

logger = logging.getLogger(__name__)


# What `_structure` returns for a message it has already answered (or dropped).
_ANSWERED = object()


def _valid_id(value: Any) -> bool:
    """LSP ids are integers or strings (a JSON true is not an integer)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


class ClawProtocol(LanguageServerProtocol):
    """pygls' protocol with utf-16 positions whenever the client offers them, and JSON-RPC errors
    as the spec says where pygls stays silent or fails: a body that is not JSON (-32700, id null),
    JSON that is not a request object (-32600: an array, a scalar, an id that is neither an integer
    nor a string, a method that is not a string, no `"jsonrpc": "2.0"`), a request whose params
    cannot be read (-32602), before `initialize` (-32002) or after `shutdown` (-32600). A
    notification or response that cannot be read is dropped with one warning line."""

    initialized = False  # `initialize` was answered

    def _refuse(self, msg_id: Any, error: JsonRpcException) -> None:
        # pygls has no public way to answer a request it will not dispatch.
        self._send_response(msg_id, error=error.to_response_error())

    def refuse_unidentified(self, code: int, message: str) -> None:
        """An error response with id null (for a message whose id cannot be known)."""
        self._send_data({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}})

    def structure_message(self, data: dict[str, Any]) -> Any:
        """The JSON reader's object hook, called for every object in a message, nested ones too:
        they stay plain dicts; `handle_message` structures the message itself."""
        return data

    def handle_message(self, message: Any) -> None:
        """Refuse what the spec says to refuse; hand the rest to pygls."""
        if isinstance(message, dict):
            message = self._structure(message)
        elif message is not _ANSWERED and not hasattr(message, "jsonrpc"):
            kind = type(message).__name__
            self.refuse_unidentified(-32600, f"not a JSON-RPC request object: a JSON {kind}")
            return
        if message is _ANSWERED:
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

    def _structure(self, data: dict[str, Any]) -> Any:
        """The message as pygls' types, or _ANSWERED when it was refused or dropped here."""
        has_id, has_method = "id" in data, "method" in data
        msg_id, method = data.get("id"), data.get("method")
        if not has_method and not has_id:  # neither a request nor a response
            self.refuse_unidentified(-32600, "not a JSON-RPC request object: no method")
            return _ANSWERED
        if not has_method:  # a response: nothing to answer, whatever is wrong with it
            if not _valid_id(msg_id) or data.get("jsonrpc") != "2.0":
                logger.warning("ignored a message that is neither a request nor a response: %.200r", data)
                return _ANSWERED
        elif has_id and not _valid_id(msg_id):
            self.refuse_unidentified(-32600, "the id of a request is an integer or a string")
            return _ANSWERED
        else:
            refusal = self._invalid_request(data, method, has_id)
            if refusal is not None:
                if has_id:
                    self._refuse(msg_id, refusal)
                logger.warning("ignored a message that is not a JSON-RPC 2.0 request: %s", refusal.message)
                return _ANSWERED
            if self.get_message_type(method) is None and "params" not in data:
                data = {**data, "params": None}  # pygls' generic request type needs the member
        try:
            message = super().structure_message(data)
        except JsonRpcException as exc:
            if not (has_id and has_method):
                logger.warning("ignored a %s that cannot be read: %.200r",
                               "notification" if has_method else "response", data)  # fmt: skip
                return _ANSWERED
            error = exc.to_response_error()
            error.message = f"{error.message}: the params of {method!r} do not have the LSP shape"
            if not self.initialized and method != types.INITIALIZE:
                error = JsonRpcServerNotInitialized(f"{method}: initialize first").to_response_error()
            # pygls has no public way to answer a request whose params failed to parse.
            self._send_response(cast("str | int", msg_id), error=error)
            return _ANSWERED  # answered: nothing more to do (and no "Error in server" toast)
        if has_id and has_method and not hasattr(message, "id"):
            self._refuse(msg_id, JsonRpcInvalidRequest(f"{method} is a notification: it has no id"))
            return _ANSWERED
        if method == types.CANCEL_REQUEST and not _valid_id(getattr(message.params, "id", None)):
            logger.warning("ignored a $/cancelRequest without a request id: %.200r", data)
            return _ANSWERED
        return message

    def _invalid_request(self, data: dict[str, Any], method: Any, has_id: bool) -> JsonRpcException | None:
        """Why a message with a method is not a request (or notification) to dispatch, if it is not."""
        if data.get("jsonrpc") != "2.0":
            return JsonRpcInvalidRequest('not a JSON-RPC 2.0 request (no "jsonrpc": "2.0")')
        if not isinstance(method, str):
            return JsonRpcInvalidRequest("the method of a request is a string")
        if "result" in data or "error" in data:
            return JsonRpcInvalidRequest("a request has no result or error member")
        known = method in self.fm.builtin_features or method in self.fm.features
        if known or method == types.CANCEL_REQUEST or not has_id:
            return None  # (an unknown notification is ignored by pygls)
        if self._shutdown:
            return JsonRpcInvalidRequest(f"{method}: the server is shutting down")
        if not self.initialized:
            return JsonRpcServerNotInitialized(f"{method}: initialize first")
        return JsonRpcMethodNotFound(f"Method Not Found: {method}")

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        """pygls' handler execution, except that the futures it files under a made-up id (every
        notification, every step of a built-in handler that calls ours, e.g. each claw.* command)
        leave `_request_futures` once done: pygls never removed them, so each kept its result or
        its exception, with the traceback's frames and the request's params, for good."""
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        is_request = isinstance(callback, functools.partial) and callback.func == self._send_handler_result
        future = None if is_request else self._request_futures.get(msg_id)
        if future is not None:

            def forget(done: Any) -> None:
                if self._request_futures.get(msg_id) is done:
                    del self._request_futures[msg_id]

            future.add_done_callback(forget)

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

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """pygls' didChange, except that a change to a document that is not open is ignored with a
        warning (pygls failed with KeyError and told the user "Error in server")."""
        uri = params.text_document.uri
        if uri not in cast("ClawLanguageServer", self._server).tracker:
            logger.warning("ignored a didChange of %.300s, which is not open", uri)
            return
        if (user_handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield user_handler, (params,), None

    # The server's tracker keeps the one copy of each open document (server/document.py: lines,
    # O(change) per didChange); pygls' workspace keeps none (it rebuilt its copy on each change).

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """The user's didOpen handler only (no copy in pygls' workspace)."""
        if (user_handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield user_handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """The user's didClose handler only (pygls' workspace holds no copy to drop)."""
        if (user_handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield user_handler, (params,), None

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
        self._trim: asyncio.TimerHandle | None = None
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

    def trim_memory_soon(self) -> None:
        """Trim the heap shortly (once for a burst of large closes): see `trim_memory`."""
        if self._trim is None:

            def trim() -> None:
                self._trim = None
                trim_memory()

            self._trim = asyncio.get_running_loop().call_later(TRIM_DELAY_S, trim)

    # -- messages ----------------------------------------------------------------------------------

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A body that is not JSON (or not UTF-8, or nested past what the reader takes) is answered
        with a parse error (-32700, id null), as JSON-RPC says; other errors as pygls reports them."""
        if isinstance(error, UNREADABLE):
            cast(ClawProtocol, self.protocol).refuse_unidentified(-32700, f"parse error: {error}")
            return
        super().report_server_error(error, source)

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
        ls.warmup = ls.spawn(asyncio.to_thread(_warm_imports, ls.converter), name="claw-warm-imports")

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
        ls.tracker.apply_changes(uri, params.content_changes, version, ls.client_info.position_encoding)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: ClawLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        """Remember that the buffer matches the disk now."""
        ls.tracker.saved(params.text_document.uri, params.text)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ClawLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        """Forget the closed buffer (and give a large one's memory back to the system)."""
        large = ls.tracker.size(params.text_document.uri) >= LARGE_TEXT
        ls.tracker.closed(params.text_document.uri)
        ls.diagnostics_cache.forget(params.text_document.uri)
        if large:
            ls.trim_memory_soon()

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: ClawLanguageServer, params: None) -> None:
        """Cancel every run (killing its processes), end every session (its background commands
        die with it), then cancel every background task."""
        await ls.runs.shutdown()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ls.sessions.close_all(), timeout=5)
        for task in list(ls.tasks):
            task.cancel()
        if ls.tasks:
            await asyncio.wait(list(ls.tasks), timeout=2)


_WARM_MODULES = ("anthropic", "claw_lsp.compose", "claw_lsp.tools.registry", "claw_lsp.server.event_wire")


def _warm_imports(converter: Any = None) -> str | None:
    """Import the model SDK off the event loop (it costs about a second) and have `converter`
    ready for workspace edits; the default model id. Then what start-up built is frozen and the
    garbage collector is back on (`core/startup.py`)."""
    startup.begin()
    try:
        for name in _WARM_MODULES:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        if converter is not None:
            from claw_lsp.server.applier import warm_converter

            warm_converter(converter)
        try:
            from claw_lsp.providers.anthropic import default_model
        except ImportError:
            return None
        return default_model()
    finally:
        startup.done()


def create_server() -> ClawLanguageServer:
    """A fresh server with every feature group registered."""
    from claw_lsp.server import actions, commands, progress

    server = ClawLanguageServer()
    register(server)
    actions.register(server)
    commands.register(server)
    progress.register(server)
    return server


# A document this large (characters) gives its memory back to the system when it closes.
LARGE_TEXT = 1 << 20
TRIM_DELAY_S = 0.1
# After a message body this large (bytes), the heap is trimmed before the next is read.
LARGE_BODY = 8 << 20


def trim_memory() -> None:
    """Give the heap's free memory back to the system (glibc's malloc_trim; nothing elsewhere).

    Freed memory was not the problem: with twenty 5 MB documents opened, changed and closed,
    everything they used was free (tracemalloc), but glibc kept the freed heap, fragmented
    among the objects allocated meanwhile, so the RSS stayed ~30 MiB per 20 MiB of documents
    above its baseline; malloc_trim returns it."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        gc.collect()
        _malloc_trim(0)


_malloc_trim: Any = None


# A message body above this is refused without being held in memory (read and dropped in chunks).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_HEADER_LINE = 64 * 1024
_OVERSIZED = b'{"jsonrpc": "2.0", "method": "$/claw/oversizedMessage"}'
_CONTENT_LENGTH = re.compile(rb"content-length:[ \t]*(\d{1,18})[ \t]*\r?\n", re.IGNORECASE)
# What the JSON reader raises for a body it cannot read.
UNREADABLE = (json.JSONDecodeError, UnicodeDecodeError, RecursionError)


class _ClientErrorLog(logging.Filter):
    """pygls logs a whole traceback for every error a client's message causes (a body that is not
    JSON, params of the wrong shape, a command refusing its arguments): one line says it; a
    traceback stays for what is a bug here (an internal error)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        client_error = isinstance(exc, UNREADABLE) or (
            isinstance(exc, JsonRpcException) and exc.code != -32603
        )
        if str(record.msg).startswith("Unable to deserialize message"):
            record.msg, record.args = "a message from the client could not be read as LSP", ()
        elif client_error:
            record.msg, record.args = "%s: %s: %.300s", (record.getMessage(), type(exc).__name__, exc)
            record.exc_info, record.exc_text = None, None
        return True


def quiet_client_errors() -> None:
    """Install `_ClientErrorLog` on the pygls loggers that log client errors."""
    for name in ("pygls.server", "pygls.protocol.json_rpc", "pygls.protocol.language_server"):
        logging.getLogger(name).addFilter(_ClientErrorLog())


class BoundedInput:
    """stdin for pygls' reader, with limits: a header line is cut at MAX_HEADER_LINE, and a body
    whose Content-Length exceeds MAX_MESSAGE_BYTES is skipped in 1 MiB chunks (nothing that size is
    allocated) and stands for a notification nobody handles, so the server keeps serving."""

    def __init__(self, raw: BinaryIO, max_body: int = MAX_MESSAGE_BYTES) -> None:
        self.raw = raw
        self.max_body = max_body
        self.large_body = False

    def readline(self) -> bytes:
        if self.large_body:  # the last message was large: it is handled (or being handled) now
            self.large_body = False
            trim_memory()
        line = self.raw.readline(MAX_HEADER_LINE)
        # pygls reads only `Content-Length: N\r\n` exactly; header names are case-insensitive (as
        # in HTTP) and a bare LF ends a line too: anything else desynchronised the stream for good.
        if line[:15].lower() == b"content-length:" and (match := _CONTENT_LENGTH.fullmatch(line)):
            return b"Content-Length: %d\r\n" % int(match.group(1))
        return line

    def read(self, n: int) -> bytes:
        if n <= self.max_body:
            self.large_body = n >= LARGE_BODY
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
    quiet_client_errors()
    server = create_server()
    server.start_io(stdin=cast(BinaryIO, BoundedInput(sys.stdin.buffer)))
    protocol = server.protocol
    if not getattr(protocol, "_shutdown", False):
        sys.exit(1)
