"""The tool set the agent offers the model, in a stable order."""

from __future__ import annotations

from claw_lsp.core.tools import Tool
from claw_lsp.tools.background import TaskOutput, TaskStop
from claw_lsp.tools.bash import Bash
from claw_lsp.tools.diagnostics import Diagnostics
from claw_lsp.tools.files import Edit, MultiEdit, Read, Write
from claw_lsp.tools.notebook import NotebookEdit
from claw_lsp.tools.search import LS, Glob, Grep
from claw_lsp.tools.todo import TodoWrite
from claw_lsp.tools.web import WebFetch


def default_tools() -> list[Tool]:
    """Every built-in tool, in the order the model sees them."""
    return [
        Read(),
        Write(),
        Edit(),
        MultiEdit(),
        NotebookEdit(),
        Glob(),
        Grep(),
        LS(),
        Bash(),
        TaskOutput(),
        TaskStop(),
        WebFetch(),
        TodoWrite(),
        Diagnostics(),
    ]


def tool_by_name(name: str, tools: list[Tool] | None = None) -> Tool | None:
    """The tool called `name` among `tools` (default: the built-in ones), or None."""
    for tool in tools if tools is not None else default_tools():
        if tool.name == name:
            return tool
    return None
