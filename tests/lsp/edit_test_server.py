"""A tiny pygls server exposing `LspApplier` and `Reviewer` through commands, for the edit tests.

It wires document sync into a `DocumentTracker` the way the real server does and adds:
`test.apply {runId, mode, kind, path, newText?, baseText?, baseVersion?, newPath?}` -> ApplyResult,
`test.save {runId, paths?}` -> `{unsaved}`, `test.steps {runId}` -> `{steps}`, and the real
`claw.review.accept` / `claw.review.reject` commands. Run with `python -m tests.lsp.edit_test_server`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from claw_lsp.server.applier import ClientInfo, DocumentTracker, LspApplier
from claw_lsp.server.review import Reviewer
from claw_lsp.workspace.view import FileChange, FileSnapshot


class _Run:
    """One run's reviewer and applier; `mode` is the permission mode the reviewer reads."""

    def __init__(self, ls: EditTestServer, run_id: str, mode: str) -> None:
        self.mode = mode
        self.steps: list[str] = []
        self.reviewer = Reviewer(ls, ls.client_info, lambda: self.mode, run_id, self.steps.append)
        self.applier = LspApplier(
            ls,
            ls.tracker,
            ls.client_info,
            self.reviewer,
            run_id,
            f"Claw run {run_id}: test",
            self.steps.append,
            confirm_timeout=ls.confirm_timeout,
        )


class EditTestServer(LanguageServer):
    """A language server holding a tracker, the client's info and one applier per run."""

    def __init__(self) -> None:
        super().__init__("claw-edit-test-server", "0")
        self.tracker = DocumentTracker()
        self.client_info = ClientInfo()
        self.runs: dict[str, _Run] = {}
        self.confirm_timeout = float(os.environ.get("CLAW_TEST_CONFIRM_TIMEOUT", "1.5"))

    def run(self, run_id: str, mode: str | None = None) -> _Run:
        """The run's reviewer and applier, created on first use; `mode` updates its mode."""
        if run_id not in self.runs:
            self.runs[run_id] = _Run(self, run_id, mode or "default")
        if mode is not None:
            self.runs[run_id].mode = mode
        return self.runs[run_id]


server = EditTestServer()


@server.feature(types.INITIALIZE)
def initialize(ls: EditTestServer, params: types.InitializeParams) -> None:
    """Record what the client can do."""
    ls.client_info = ClientInfo.from_initialize(params)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: EditTestServer, params: types.DidOpenTextDocumentParams) -> None:
    """Track the opened document."""
    doc = ls.workspace.get_text_document(params.text_document.uri)
    ls.tracker.opened(doc.uri, doc.source, doc.version or 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: EditTestServer, params: types.DidChangeTextDocumentParams) -> None:
    """Track the changed document."""
    doc = ls.workspace.get_text_document(params.text_document.uri)
    ls.tracker.changed(doc.uri, doc.source, doc.version or 0)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: EditTestServer, params: types.DidSaveTextDocumentParams) -> None:
    """Track the saved document."""
    ls.tracker.saved(params.text_document.uri, params.text)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: EditTestServer, params: types.DidCloseTextDocumentParams) -> None:
    """Forget the closed document."""
    ls.tracker.closed(params.text_document.uri)


@server.command("test.apply")
async def apply(ls: EditTestServer, args: dict[str, Any]) -> dict[str, Any]:
    """Apply one FileChange through the run's LspApplier."""
    run = ls.run(args.get("runId", "r-test"), args.get("mode", "default"))
    path = Path(args["path"])
    base = None
    if args.get("baseText") is not None:
        base = FileSnapshot(
            path=path,
            text=args["baseText"],
            version=args.get("baseVersion"),
            mtime_ns=None,
            from_buffer=args.get("baseVersion") is not None,
        )
    change = FileChange(
        kind=args.get("kind", "modify"),
        path=path,
        new_text=args.get("newText"),
        base=base,
        new_path=Path(args["newPath"]) if args.get("newPath") else None,
        description=args.get("description", ""),
    )
    result = await run.applier.apply(change)
    return {
        "applied": result.applied,
        "message": result.message,
        "finalText": result.final_text,
        "partial": result.partial,
    }


@server.command("test.save")
async def save(ls: EditTestServer, args: dict[str, Any]) -> dict[str, Any]:
    """Ask the editor to save the run's touched files; answer those still unsaved."""
    run = ls.run(args.get("runId", "r-test"))
    paths = [Path(p) for p in args["paths"]] if args.get("paths") is not None else None
    return {"unsaved": [str(p) for p in await run.applier.save_documents(paths)]}


@server.command("test.steps")
def steps(ls: EditTestServer, args: dict[str, Any]) -> dict[str, Any]:
    """The progress steps the run reported."""
    run = ls.runs.get(args.get("runId", "r-test"))
    return {"steps": run.steps if run else []}


def _resolve(ls: EditTestServer, args: dict[str, Any], accept: bool) -> dict[str, Any]:
    ok = any(
        run.reviewer.resolve_from_command(args["changeId"], accept, args.get("hunk"), args.get("feedback"))
        for run in ls.runs.values()
    )
    return {"ok": ok}


@server.command("claw.review.accept")
def review_accept(ls: EditTestServer, args: dict[str, Any]) -> dict[str, Any]:
    """Accept an open review (or one hunk of it)."""
    return _resolve(ls, args, True)


@server.command("claw.review.reject")
def review_reject(ls: EditTestServer, args: dict[str, Any]) -> dict[str, Any]:
    """Reject an open review (or one hunk of it)."""
    return _resolve(ls, args, False)


if __name__ == "__main__":
    server.start_io()
