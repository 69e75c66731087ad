"""Code actions: listed cheaply, one per diagnostic, instruction comments, selection actions."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.client import ALL_FEATURES, session


def rng(line: int, char: int, end_line: int | None = None, end_char: int | None = None) -> types.Range:
    return types.Range(
        start=types.Position(line=line, character=char),
        end=types.Position(
            line=line if end_line is None else end_line, character=char if end_char is None else end_char
        ),
    )


CLIENTS = ["visual-studio-code", "neovim"]


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_fix_with_claw_is_offered_once_per_diagnostic(workspace: Path, client_name: str) -> None:
    path = workspace / "app.py"
    path.write_text("import os\nx = undefined_name\n")
    async with session(workspace, client_name) as client:
        doc = client.open(path)
        diagnostics = [
            types.Diagnostic(
                range=rng(1, 4, 1, 18),
                message="Undefined name `undefined_name`\nmore detail",
                severity=types.DiagnosticSeverity.Error,
                source="ruff",
            ),
            types.Diagnostic(
                range=rng(0, 7, 0, 9),
                message="`os` imported but unused " + "x" * 100,
                severity=types.DiagnosticSeverity.Warning,
                source="ruff",
            ),
        ]
        actions = await client.code_actions(doc.uri, rng(0, 0, 1, 0), diagnostics)
        fixes = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
        assert next(a.title for a in fixes) == "Fix with Claw: Undefined name `undefined_name`"
        assert len(fixes) == 2
        assert len(fixes[1].title) <= len("Fix with Claw: ") + 80 and fixes[1].title.endswith("…")
        assert fixes[0].diagnostics and fixes[0].diagnostics[0].message.startswith("Undefined name")
        # Neovim resolves commands lazily; VS Code gets them at once.
        if client_name == "neovim":
            assert fixes[0].command is None and fixes[0].data
            resolved = await client.code_action_resolve_async(fixes[0])
            command = resolved.command
        else:
            command = fixes[0].command
        assert command is not None and command.command == "claw.ask"
        args = command.arguments[0]
        assert args["action"] == "fix" and args["uri"] == doc.uri and args["diagnostic"]["source"] == "ruff"


@pytest.mark.parametrize(
    ("line", "instruction"),
    [
        ("    # claw: add a docstring", "add a docstring"),
        ("x = 1  // CLAW: rename x to count", "rename x to count"),
        ("-- claw: use a CTE", "use a CTE"),
        ("; claw: sort the keys", "sort the keys"),
        ("/* claw: make this const */", "make this const"),
        ("<!-- claw: add alt text -->", "add alt text"),
        (" * claw: explain the invariant", "explain the invariant"),
    ],
)
async def test_instruction_comment_becomes_an_action(workspace: Path, line: str, instruction: str) -> None:
    path = workspace / "file.txt"
    path.write_text(f"first\n{line}\nlast\n")
    async with session(workspace) as client:
        doc = client.open(path, language_id="plaintext")
        actions = await client.code_actions(doc.uri, rng(1, 2))
        titles = [a.title for a in actions]
        assert f"Claw: {instruction}" in titles
        action = actions[titles.index(f"Claw: {instruction}")]
        assert action.kind == types.CodeActionKind.RefactorRewrite
        assert action.command is not None
        ask = action.command.arguments[0]
        assert ask["action"] == "instruction" and ask["prompt"] == instruction
        assert ask["instruction"]["line"] == 1
        # No instruction on another line: no such action.
        assert not [a for a in await client.code_actions(doc.uri, rng(0, 0)) if a.title.startswith("Claw: ")]


async def test_ask_claw_only_for_clients_with_input(workspace: Path) -> None:
    path = workspace / "a.py"
    path.write_text("print(1)\n")
    async with session(workspace, features=ALL_FEATURES) as client:
        doc = client.open(path)
        assert "Ask Claw…" in [a.title for a in await client.code_actions(doc.uri, rng(0, 0))]
    async with session(workspace, "generic") as client:
        doc = client.open(path)
        assert "Ask Claw…" not in [a.title for a in await client.code_actions(doc.uri, rng(0, 0))]


@pytest.mark.parametrize("client_name", ["visual-studio-code", "neovim", "generic"])
async def test_selection_actions_need_a_selection(workspace: Path, client_name: str) -> None:
    path = workspace / "a.py"
    path.write_text("def f(x):\n    return x * 2\n")
    async with session(workspace, client_name) as client:
        doc = client.open(path)
        empty = [a.title for a in await client.code_actions(doc.uri, rng(0, 3))]
        assert not {"Explain with Claw", "Document with Claw", "Write tests with Claw"} & set(empty)
        selected = await client.code_actions(doc.uri, rng(0, 0, 1, 16))
        titles = [a.title for a in selected]
        for title in ("Explain with Claw", "Document with Claw", "Write tests with Claw"):
            assert title in titles
        explain = selected[titles.index("Explain with Claw")]
        if explain.command is None:
            explain = await client.code_action_resolve_async(explain)
        assert explain.command is not None
        assert explain.command.arguments[0]["action"] == "explain"
        assert explain.command.arguments[0]["range"]["end"] == {"line": 1, "character": 16}


@pytest.mark.parametrize(
    ("client_name", "encoding"), [("visual-studio-code", "utf-16"), ("neovim", "utf-16")]
)
async def test_server_lists_every_command_and_syncs_incrementally(
    workspace: Path, client_name: str, encoding: str
) -> None:
    from claw_lsp.server.protocol import ALL_COMMANDS

    async with session(workspace, client_name) as client:
        assert client.init_result is not None
        caps = client.init_result.capabilities
        assert caps.execute_command_provider is not None
        assert set(caps.execute_command_provider.commands) == set(ALL_COMMANDS)
        sync = caps.text_document_sync
        assert sync.change == types.TextDocumentSyncKind.Incremental
        assert client.encoding == encoding
        assert caps.code_action_provider.resolve_provider is True


async def test_instruction_is_found_on_the_lsp_line_after_edits_near_a_form_feed(workspace: Path) -> None:
    # A form feed is not a line break in LSP (str.splitlines thinks it is): after the user types
    # below it, the server must still see each line where the editor does.
    path = workspace / "app.py"
    path.write_text("a = 1\x0c\n# claw: rename it\nb = 2\n")
    async with session(workspace) as client:
        doc = client.open(path)
        start = doc.text.index("# claw: rename it")
        client.replace(doc.uri, start, start, "# claw: add docs\n")
        titles = [a.title for a in await client.code_actions(doc.uri, rng(1, 0))]
        assert "Claw: add docs" in titles and "Claw: rename it" not in titles
