"""The tool set: names, schemas and flags the model sees; TodoWrite and Diagnostics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from claw_lsp.core.events import PlanUpdated
from claw_lsp.core.tools import SessionState, ToolContext, tool_schema
from claw_lsp.tools.diagnostics import Diagnostics, DiagnosticsInput
from claw_lsp.tools.registry import default_tools, tool_by_name
from claw_lsp.tools.todo import TodoWrite, TodoWriteInput
from claw_lsp.workspace.view import WorkspaceView

SCHEMAS = {
    "Read": ({"file_path"}, {"offset", "limit"}),
    "Write": ({"file_path", "content"}, set()),
    "Edit": ({"file_path", "old_string", "new_string"}, {"replace_all"}),
    "MultiEdit": ({"file_path", "edits"}, set()),
    "NotebookEdit": ({"notebook_path", "new_source"}, {"cell_id", "cell_type", "edit_mode"}),
    "Glob": ({"pattern"}, {"path"}),
    "Grep": (
        {"pattern"},
        {"path", "glob", "type", "output_mode", "-i", "-n", "-A", "-B", "-C", "head_limit", "multiline"},
    ),
    "LS": ({"path"}, {"ignore"}),
    "Bash": ({"command"}, {"timeout", "description", "run_in_background"}),
    "TaskOutput": ({"task_id"}, {"block", "timeout"}),
    "TaskStop": (set(), {"task_id", "shell_id"}),
    "WebFetch": ({"url", "prompt"}, set()),
    "TodoWrite": ({"todos"}, set()),
    "Diagnostics": (set(), {"file_path"}),
}


def test_default_tools_have_claude_code_names_and_schemas() -> None:
    tools = default_tools()
    assert [t.name for t in tools] == list(SCHEMAS)
    for tool in tools:
        schema = tool_schema(tool)
        required, optional = SCHEMAS[tool.name]
        assert set(schema.get("required", [])) == required, tool.name
        assert set(schema["properties"]) == required | optional, tool.name
        assert tool.description and tool.kind in {
            "read",
            "search",
            "edit",
            "execute",
            "think",
            "fetch",
            "other",
        }
    read_only = {t.name for t in tools if t.read_only}
    assert read_only == {"Read", "Glob", "Grep", "LS", "TaskOutput", "TaskStop", "TodoWrite", "Diagnostics"}
    assert tool_by_name("Grep") is not None and tool_by_name("Nope") is None


@pytest.fixture
def ctx(workspace: Path) -> ToolContext:
    return ToolContext(workspace=WorkspaceView([workspace]), state=SessionState())


async def test_todowrite_emits_the_plan(ctx: ToolContext) -> None:
    events: list[BaseModel] = []
    ctx.emit = events.append
    todos = [
        {"content": "Run tests", "status": "completed", "activeForm": "Running tests"},
        {"content": "Fix bug", "status": "in_progress", "activeForm": "Fixing bug"},
    ]
    args = TodoWriteInput.model_validate({"todos": todos})
    out = await TodoWrite().run(args, ctx)
    assert not out.is_error and "1/2 completed" in out.content
    (plan,) = events
    assert isinstance(plan, PlanUpdated)
    assert [(e.content, e.status, e.activeForm) for e in plan.entries] == [
        ("Run tests", "completed", "Running tests"),
        ("Fix bug", "in_progress", "Fixing bug"),
    ]
    assert TodoWrite().title(args, ctx) == "Updating the plan: Fixing bug"


async def test_diagnostics_without_a_source_says_so(ctx: ToolContext) -> None:
    out = await Diagnostics().run(DiagnosticsInput(), ctx)
    assert out.is_error and out.content.startswith("No diagnostics source")


class EditorDiagnostics:
    """A DiagnosticsSource as the language server provides it (our own protocol)."""

    def __init__(self, found: dict[Path, list[dict[str, Any]]]) -> None:
        self.found = found
        self.asked: list[list[Path] | None] = []

    async def diagnostics(self, paths: list[Path] | None) -> dict[Path, list[dict[str, Any]]]:
        self.asked.append(paths)
        return {p: d for p, d in self.found.items() if paths is None or p in paths}


async def test_diagnostics_are_formatted_errors_first(ctx: ToolContext, workspace: Path) -> None:
    app = workspace / "app.py"
    source = EditorDiagnostics(
        {
            app: [
                {
                    "range": {"start": {"line": 9, "character": 0}},
                    "severity": 2,
                    "source": "ruff",
                    "code": "F401",
                    "message": "unused import",
                },
                {
                    "range": {"start": {"line": 2, "character": 4}},
                    "severity": 1,
                    "source": "mypy",
                    "message": "bad type",
                },
            ],
            workspace / "ok.py": [],
        }
    )
    ctx.diagnostics = source
    out = await Diagnostics().run(DiagnosticsInput(), ctx)
    assert out.content.splitlines()[:2] == [
        "app.py:3:5 error mypy: bad type",
        "app.py:10:1 warning ruff(F401): unused import",
    ]
    out = await Diagnostics().run(DiagnosticsInput(file_path=str(workspace / "ok.py")), ctx)
    assert out.content == "No diagnostics for ok.py."
    assert source.asked[-1] == [workspace / "ok.py"]
