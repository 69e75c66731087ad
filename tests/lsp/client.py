"""A test editor for claw-lsp: a pytest-lsp client that behaves like a real one.

It keeps its own copy of each open document, applies `workspace/applyEdit` with the negotiated
position encoding (refusing stale versions, as VS Code does), sends the resulting `didChange`
like an editor would, and answers the server's questions (`window/showMessageRequest`,
`claw/permission`, `claw/review`, `claw/input`, `claw/diagnostics`, `claw/saveDocuments`) with
answer functions a test sets. Positions are converted here independently of the server's code.

`session(..., editor="neovim" | "vscode" | "eglot")` makes it handle edits like that editor:
Neovim debounces didChange (~150 ms) and answers `applied: true` for a stale versioned edit it
dropped; eglot bumps the version at once, sends didChange 0.5 s later and refuses a stale edit with
an error response; VS Code answers `applied: false`. With any of them a TextDocumentEdit for a file
that is not open lands in a new unsaved buffer, not on disk. `ask` / `start_run` / `wait_run` drive
runs; `tool_results` reads what the model got back; `held` holds a fake-model answer until a test
has done its typing.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import register_lsp_features

from claw_lsp.server.protocol import json_converter

SERVER_CMD = [sys.executable, "-c", "from claw_lsp.server.app import serve_stdio; serve_stdio()"]
ALL_FEATURES = {
    "event": True,
    "input": True,
    "permission": True,
    "review": True,
    "diagnostics": True,
    "saveDocuments": True,
}
_BREAK = re.compile(r"\r\n|\r|\n")


def plain(value: Any) -> Any:
    """Custom-method params arrive as namedtuples: turn them back into dicts and lists."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def line_starts(text: str) -> list[int]:
    """Offsets where each LSP line starts (\\n, \\r\\n and \\r end lines)."""
    return [0] + [m.end() for m in _BREAK.finditer(text)]


def to_offset(text: str, position: types.Position, encoding: str, starts: list[int] | None = None) -> int:
    """The str index of an LSP position (`starts`: the text's `line_starts`, when already known)."""
    if starts is None:
        starts = line_starts(text)
    if position.line >= len(starts):
        return len(text)
    start = starts[position.line]
    end = starts[position.line + 1] if position.line + 1 < len(starts) else len(text)
    line = text[start:end].rstrip("\r\n")
    units = 0
    for index, char in enumerate(line):
        if units >= position.character:
            return start + index
        units += _units(char, encoding)
    return start + len(line)


def to_position(text: str, offset: int, encoding: str) -> types.Position:
    """The LSP position of a str index."""
    starts = line_starts(text)
    line = max(i for i, s in enumerate(starts) if s <= offset)
    return types.Position(line=line, character=_units(text[starts[line] : offset], encoding))


@dataclass
class Doc:
    """The test editor's copy of an open document."""

    uri: str
    text: str
    version: int
    language_id: str = "python"
    # The text the server was last told about (differs while a debounced didChange is pending).
    synced: str | None = None
    flush: asyncio.TimerHandle | None = None
    flushed_at: float = 0.0  # monotonic time of the last didChange sent

    def __post_init__(self) -> None:
        if self.synced is None:
            self.synced = self.text


class ClawClient(LanguageClient):
    """pytest-lsp's client plus an editor's document state and scripted answers."""

    def __init__(self) -> None:
        super().__init__(converter_factory=json_converter)
        self.docs: dict[str, Doc] = {}
        self.encoding = "utf-16"
        self.events: list[dict[str, Any]] = []
        self.applied: list[types.ApplyWorkspaceEditParams] = []
        self.message_requests: list[types.ShowMessageRequestParams] = []
        self.custom_requests: list[tuple[str, dict[str, Any]]] = []
        # Answer functions; a test replaces them.
        self.answer_message: Callable[[types.ShowMessageRequestParams], str | None] = lambda _p: None
        self.answers: dict[str, Callable[[dict[str, Any]], Any]] = {}
        # Called before an edit is applied (e.g. to let the "user" type first).
        self.before_apply: Callable[[types.ApplyWorkspaceEditParams], None] | None = None
        self.refuse_stale = True
        # How a stale versioned edit is refused (when refuse_stale): "refuse" answers applied: false
        # (VS Code); "drop" skips it and still answers applied: true (Neovim); "error" answers with
        # an error response "Edits on `x' require version N, you have M" (Emacs eglot).
        self.stale = "refuse"
        # Seconds a buffer change waits before its didChange goes out (Neovim ~0.15, eglot 0.5); the
        # version is bumped at once. Changes made meanwhile go out together in one didChange.
        self.debounce = 0.0
        # Answer applied: true to every workspace edit and apply nothing (a broken editor).
        self.drop_edits_but_say_applied = False
        # A TextDocumentEdit for a file that is not open loads it into a new, unsaved buffer (as
        # Neovim and VS Code do) instead of being written to disk.
        self.edits_open_closed_files = False
        # Neovim's change tracking: each TextEdit of a workspace edit is its own buffer change (and
        # version); the first change after `debounce` seconds of quiet goes out at once, the rest
        # one debounce later. So one workspace edit can arrive as two didChanges.
        self.split_edit_changes = False
        # VS Code (workspaceEdit.normalizesLineEndings): the line breaks an edit inserts become the
        # document's own (LF while it has none yet).
        self.normalize_line_endings = False
        self.init_result: types.InitializeResult | None = None
        # What "all language servers" report, per URI (LSP Diagnostic dicts), for claw/diagnostics.
        self.editor_diagnostics: dict[str, list[dict[str, Any]]] = {}

    def behave_like(self, editor: str) -> None:
        """Edit handling of a real editor: "vscode", "neovim", "eglot" (or "test": this client's own)."""
        if editor == "vscode":
            self.stale, self.debounce, self.edits_open_closed_files = "refuse", 0.0, True
        elif editor == "neovim":
            self.stale, self.debounce, self.edits_open_closed_files = "drop", 0.15, True
            self.split_edit_changes = True
        elif editor == "eglot":
            self.stale, self.debounce, self.edits_open_closed_files = "error", 0.5, True
        elif editor != "test":
            raise ValueError(f"unknown editor {editor!r}")

    # -- editor actions ------------------------------------------------------------------------------

    def open(self, path: Path, text: str | None = None, language_id: str = "python", version: int = 1) -> Doc:
        """didOpen a file (its disk text unless `text` is given); Neovim opens buffers at version 0."""
        uri = path.as_uri()
        content = path.read_text(encoding="utf-8") if text is None else text
        doc = Doc(uri, content, version, language_id)
        self.docs[uri] = doc
        self.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language_id, version=version, text=content
                )
            )
        )
        return doc

    def replace(self, uri: str, start: int, end: int, new_text: str) -> None:
        """The user types: replace text[start:end] and send an incremental didChange."""
        doc = self.docs[uri]
        rng = types.Range(
            start=to_position(doc.text, start, self.encoding), end=to_position(doc.text, end, self.encoding)
        )
        doc.text = doc.text[:start] + new_text + doc.text[end:]
        doc.version += 1
        self._buffer_changed(doc, [types.TextDocumentContentChangePartial(range=rng, text=new_text)])

    def replace_text(self, uri: str, old: str, new: str) -> None:
        """The user types: the first `old` in the buffer becomes `new` (see `replace`)."""
        start = self.docs[uri].text.index(old)
        self.replace(uri, start, start + len(old), new)

    def flush(self, uri: str) -> None:
        """Send the pending debounced didChange of a buffer now (nothing when none is pending)."""
        doc = self.docs.get(uri)
        if doc is None:
            return
        if doc.flush is not None:
            doc.flush.cancel()
            doc.flush = None
        old = doc.synced or ""
        if old == doc.text:
            return
        prefix = 0
        limit = min(len(old), len(doc.text))
        while prefix < limit and old[prefix] == doc.text[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and old[len(old) - 1 - suffix] == doc.text[len(doc.text) - 1 - suffix]:
            suffix += 1
        rng = types.Range(
            start=to_position(old, prefix, self.encoding),
            end=to_position(old, len(old) - suffix, self.encoding),
        )
        change = types.TextDocumentContentChangePartial(
            range=rng, text=doc.text[prefix : len(doc.text) - suffix]
        )
        self._send_did_change(doc, [change])

    def _buffer_changed(self, doc: Doc, changes: list[types.TextDocumentContentChangeEvent]) -> None:
        """Tell the server about a change: at once (`changes` as they are), or debounced."""
        if self.debounce <= 0 and doc.flush is None:
            self._send_did_change(doc, changes)
            return
        quiet = time.monotonic() - doc.flushed_at > self.debounce
        if self.split_edit_changes and doc.flush is None and quiet:
            self._send_did_change(doc, changes)
            return
        if doc.flush is None:
            doc.flush = asyncio.get_running_loop().call_later(self.debounce, self.flush, doc.uri)

    def _send_did_change(self, doc: Doc, changes: list[types.TextDocumentContentChangeEvent]) -> None:
        doc.synced = doc.text
        doc.flushed_at = time.monotonic()
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
                content_changes=changes,
            )
        )

    def save(self, uri: str) -> None:
        """Write the buffer to disk and send didSave."""
        doc = self.docs[uri]
        self.flush(uri)
        Path(_path(uri)).write_text(doc.text, encoding="utf-8", newline="")
        self.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    async def code_actions(
        self,
        uri: str,
        rng: types.Range,
        diagnostics: list[types.Diagnostic] | None = None,
    ) -> list[types.CodeAction]:
        """textDocument/codeAction, every item a CodeAction."""
        result = await self.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=rng,
                context=types.CodeActionContext(diagnostics=diagnostics or []),
            )
        )
        actions = list(result or [])
        assert all(isinstance(a, types.CodeAction) for a in actions), actions
        return actions  # type: ignore[return-value]

    async def command(self, command: str, *arguments: Any) -> Any:
        """workspace/executeCommand, the result as plain JSON."""
        result = await self.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=list(arguments))
        )
        return plain(result)

    async def run_action(self, action: types.CodeAction) -> Any:
        """Resolve an action when it carries no command, then execute its command."""
        if action.command is None:
            action = await self.code_action_resolve_async(action)
        assert action.command is not None
        return await self.command(action.command.command, *(action.command.arguments or []))

    def finished(self, run_id: str) -> dict[str, Any] | None:
        """The run_finished update of a run (clients that declared `event`)."""
        for event in self.events:
            if event["runId"] == run_id and event["update"]["sessionUpdate"] == "run_finished":
                return event["update"]
        return None

    def progress_end(self, token: str) -> types.WorkDoneProgressEnd | None:
        """The end report of a progress token."""
        for value in self.progress_reports.get(token, []):
            if isinstance(value, types.WorkDoneProgressEnd):
                return value
        return None

    # -- applying edits ------------------------------------------------------------------------------

    def apply_workspace_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        """Apply a workspace edit like an editor: versions checked, didChange sent."""
        self.applied.append(params)
        if self.before_apply is not None:
            self.before_apply(params)
        if self.drop_edits_but_say_applied:
            return types.ApplyWorkspaceEditResult(applied=True)
        edit = params.edit
        operations: list[Any] = list(edit.document_changes or [])
        for uri, edits in (edit.changes or {}).items():
            operations.append(
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                    edits=list(edits),
                )
            )
        dropped: list[Any] = []
        for op in operations:
            if isinstance(op, types.TextDocumentEdit):
                doc = self.docs.get(op.text_document.uri)
                version = op.text_document.version
                if doc is not None and version is not None and version != doc.version and self.refuse_stale:
                    if self.stale == "drop" and version == 0:
                        pass  # Neovim checks versions above 0 only: applied at stale positions
                    elif self.stale == "drop":
                        dropped.append(op)
                    elif self.stale == "error":
                        name = Path(_path(doc.uri)).name
                        raise JsonRpcInternalError(
                            message=f"Edits on `{name}' require version {version}, you have {doc.version}"
                        )
                    else:
                        return types.ApplyWorkspaceEditResult(applied=False, failure_reason="stale version")
        for op in operations:
            if any(op is d for d in dropped):
                continue
            if isinstance(op, types.CreateFile):
                path = Path(_path(op.uri))
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.exists():
                    path.write_text("", encoding="utf-8")
            elif isinstance(op, types.DeleteFile):
                Path(_path(op.uri)).unlink(missing_ok=True)
            elif isinstance(op, types.RenameFile):
                Path(_path(op.old_uri)).rename(_path(op.new_uri))
            elif isinstance(op, types.TextDocumentEdit):
                self._apply_text_edits(op.text_document.uri, list(op.edits))
        return types.ApplyWorkspaceEditResult(applied=True)

    def _apply_text_edits(self, uri: str, edits: list[Any]) -> None:
        doc = self.docs.get(uri)
        if doc is None and self.edits_open_closed_files:  # loaded into a new, unsaved buffer
            path = Path(_path(uri))
            self.open(path, path.read_text(encoding="utf-8") if path.exists() else "")
            doc = self.docs[uri]
        if doc is None:  # not open: change the file on disk
            path = Path(_path(uri))
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            path.write_text(_apply(text, edits, self.encoding), encoding="utf-8", newline="")
            return
        # Every range is against the text before the edit; applied last to first, each one's
        # offsets stay right, so the lines are indexed once.
        starts = line_starts(doc.text)
        spans = [
            (
                to_offset(doc.text, e.range.start, self.encoding, starts),
                to_offset(doc.text, e.range.end, self.encoding, starts),
                e,
            )
            for e in edits
        ]
        spans.sort(key=lambda span: span[0], reverse=True)
        changes = []
        eol = "\r\n" if "\r\n" in doc.text else "\n"
        for start, end, e in spans:
            new_text = re.sub(r"\r\n|\r|\n", eol, e.new_text) if self.normalize_line_endings else e.new_text
            change = types.TextDocumentContentChangePartial(range=e.range, text=new_text)
            doc.text = doc.text[:start] + new_text + doc.text[end:]
            if self.split_edit_changes:
                doc.version += 1
                self._buffer_changed(doc, [change])
            else:
                changes.append(change)
        if not self.split_edit_changes:
            doc.version += 1
            self._buffer_changed(doc, list(changes))


def _apply(text: str, edits: list[Any], encoding: str) -> str:
    starts = line_starts(text)
    spans = sorted(
        (
            (
                to_offset(text, e.range.start, encoding, starts),
                to_offset(text, e.range.end, encoding, starts),
                e.new_text,
            )
            for e in edits
        ),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def _path(uri: str) -> str:
    from pygls.uris import to_fs_path

    path = to_fs_path(uri)
    assert path is not None
    return path


def _code_action_hook(converter: Any) -> Callable[[Any, Any], Any]:
    """lsprotocol reads any item with a `command` key as a Command; a CodeAction's is an object."""

    def hook(obj: Any, _type: Any) -> Any:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    return hook


def make_client() -> ClawClient:
    """A ClawClient with pytest-lsp's default handlers and the editor's."""
    client = ClawClient()
    register_lsp_features(client)
    converter = client.protocol._converter
    converter.register_structure_hook(
        Union[types.Command, types.CodeAction],  # noqa: UP007 - the exact key lsprotocol registers
        _code_action_hook(converter),
    )

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        return client.apply_workspace_edit(params)

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def show_message_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        client.message_requests.append(params)
        title = client.answer_message(params)
        return types.MessageActionItem(title=title) if title is not None else None

    @client.feature("claw/event")
    def claw_event(params: Any) -> None:
        client.events.append(plain(params))

    for method in ("claw/permission", "claw/review", "claw/input", "claw/diagnostics", "claw/saveDocuments"):

        async def handler(params: Any, method: str = method) -> Any:
            data = plain(params)
            client.custom_requests.append((method, data))
            answer = client.answers.get(method)
            if answer is None:
                raise RuntimeError(f"test client has no answer for {method}")
            result = answer(data)
            return await result if inspect.isawaitable(result) else result

        client.feature(method)(handler)

    client.answers["claw/diagnostics"] = lambda p: {
        "items": [{"uri": uri, "diagnostics": client.editor_diagnostics.get(uri, [])} for uri in p["uris"]]
    }

    def save_documents(p: dict[str, Any]) -> dict[str, Any]:
        saved = [uri for uri in p["uris"] if uri in client.docs]
        for uri in saved:
            client.save(uri)
        return {"saved": saved}

    client.answers["claw/saveDocuments"] = save_documents
    return client


def capabilities(name: str, *, encodings: list[str] | None = None) -> types.ClientCapabilities:
    """A real client's capabilities; "generic" is a client with no optional capability at all."""
    if name == "generic":
        caps = types.ClientCapabilities(
            text_document=types.TextDocumentClientCapabilities(
                synchronization=types.TextDocumentSyncClientCapabilities(),
                code_action=types.CodeActionClientCapabilities(
                    code_action_literal_support=types.ClientCodeActionLiteralOptions(
                        code_action_kind=types.ClientCodeActionKindOptions(value_set=["quickfix", "refactor"])
                    )
                ),
            ),
        )
    else:
        caps = client_capabilities(name)
    if encodings is not None:
        caps.general = caps.general or types.GeneralClientCapabilities()
        caps.general.position_encodings = encodings
    return caps


@contextlib.asynccontextmanager
async def session(
    workspace: Path,
    client_name: str = "visual-studio-code",
    *,
    features: dict[str, bool] | None = None,
    settings: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    encodings: list[str] | None = None,
    editor: str | None = None,
) -> AsyncIterator[ClawClient]:
    """A running claw-lsp subprocess, initialized with the workspace; shut down afterwards.

    `editor` ("vscode", "neovim", "eglot") makes the client handle edits like that editor does
    (see `ClawClient.behave_like`); by default it keeps its own simple behaviour.
    """
    client = make_client()
    if editor is not None:
        client.behave_like(editor)
    if configuration is not None:
        client.set_configuration(configuration, section="claw")
    await client.start_io(*SERVER_CMD, env={**os.environ, **(env or {})})
    options: dict[str, Any] = dict(settings or {})
    if features:
        options["clientFeatures"] = features
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(client_name, encodings=encodings),
            client_info=types.ClientInfo(name="Neovim" if client_name == "neovim" else client_name),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)],
            initialization_options=options,
        )
    )
    client.init_result = result
    encoding = result.capabilities.position_encoding or "utf-16"
    client.encoding = str(getattr(encoding, "value", encoding))
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), 15)
        with contextlib.suppress(Exception):
            await client.stop()


async def wait_until(condition: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `condition` until it is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def document_edits(params: types.ApplyWorkspaceEditParams) -> list[types.TextDocumentEdit]:
    """The TextDocumentEdits of a workspace edit."""
    return [op for op in params.edit.document_changes or [] if isinstance(op, types.TextDocumentEdit)]


def run_ended(client: ClawClient, run_id: str) -> str | None:
    """The stop reason the server logged for a run once it ended (every client gets the log)."""
    prefix = f"Claw [{run_id}] "
    for message in client.log_messages:
        if message.message.startswith(prefix):
            reason = message.message[len(prefix) :].split(":", 1)[0]
            if reason.isidentifier():
                return reason
    return None


async def ask(client: ClawClient, prompt: str, timeout: float = 40.0, **args: Any) -> str:
    """claw.ask and wait for the run to end; its run id (the run must stop with end_turn)."""
    return await wait_run(client, await start_run(client, prompt, **args), timeout)


async def start_run(client: ClawClient, prompt: str, **args: Any) -> str:
    """claw.ask; the run id (the run goes on)."""
    started = await client.command("claw.ask", {"prompt": prompt, **args})
    run_id = started["runId"]
    assert run_id, started
    return str(run_id)


async def wait_run(client: ClawClient, run_id: str, timeout: float = 40.0) -> str:
    """Wait for a run to end; it must stop with end_turn. Returns the run id."""
    reason = await wait_until(lambda: run_ended(client, run_id), timeout, what=f"the end of run {run_id}")
    assert reason == "end_turn", [m.message for m in client.log_messages]
    return run_id


def held(response: dict[str, Any], gate: threading.Event, timeout: float = 30.0) -> Callable[[Any], Any]:
    """A fake-model responder that answers `response` only once `gate` is set (from the test)."""

    def respond(_request: Any) -> dict[str, Any]:
        gate.wait(timeout)
        return response

    return respond


async def synced(client: ClawClient) -> None:
    """Flush every pending didChange and wait until the server has handled them (one round trip)."""
    for uri in list(client.docs):
        client.flush(uri)
    await client.command("claw.status")
