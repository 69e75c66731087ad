"""TodoWrite: the model's plan, emitted as a `plan` event for the editor to show."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from claw_lsp.core.events import PlanEntry, PlanUpdated, ToolKind
from claw_lsp.core.tools import ToolContext, ToolOutput


class TodoItem(BaseModel):
    """One task of the plan."""

    content: str = Field(min_length=1, description="The task, imperative: 'Run the tests'")
    status: Literal["pending", "in_progress", "completed"]
    activeForm: str = Field(  # Claude Code's field name
        min_length=1, description="The task in present continuous form: 'Running the tests'"
    )


class TodoWriteInput(BaseModel):
    """TodoWrite's arguments."""

    todos: list[TodoItem] = Field(description="The updated todo list")


class TodoWrite:
    """Replace the session's task list (the plan the user sees)."""

    name: ClassVar[str] = "TodoWrite"
    description: ClassVar[str] = (
        "Use this tool to create and manage a structured task list for your current coding "
        "session. It helps you track progress and organize complex tasks, and shows the user "
        "your plan and how far along it you are.\n\n"
        "When to use it: complex multi-step tasks (3 or more distinct steps), when the user gives "
        "several tasks, after receiving new instructions (capture the requirements as todos), "
        "when you start a task (mark it in_progress before beginning; ideally only one at a "
        "time) and when you finish one (mark it completed immediately, do not batch).\n"
        "When not to use it: a single straightforward task, trivial tasks, purely "
        "conversational requests.\n\n"
        "Each call sends the whole list. Each todo has `content` (imperative: 'Run tests'), "
        "`activeForm` (present continuous: 'Running tests') and `status` (pending, in_progress, "
        "completed). Only mark a task completed when it is fully done; if tests fail or you are "
        "blocked, keep it in_progress and add a todo for what must be resolved."
    )
    input_model: ClassVar[type[BaseModel]] = TodoWriteInput
    kind: ClassVar[ToolKind] = "think"
    read_only: ClassVar[bool] = True
    reviewable: ClassVar[bool] = False

    def title(self, args: TodoWriteInput, ctx: ToolContext) -> str:
        """The progress title, e.g. "Updating the plan" (with the task in progress, if any)."""
        active = next((t.activeForm for t in args.todos if t.status == "in_progress"), None)
        return f"Updating the plan: {active}" if active else "Updating the plan"

    def locations(self, args: TodoWriteInput, ctx: ToolContext) -> list[Path]:
        """The plan touches no files."""
        return []

    def subject(self, args: TodoWriteInput, ctx: ToolContext) -> str | None:
        """Nothing to match: the plan touches no file or command."""
        return None

    async def run(self, args: TodoWriteInput, ctx: ToolContext) -> ToolOutput:
        """Emit the plan event and confirm."""
        entries = [PlanEntry(content=t.content, status=t.status, activeForm=t.activeForm) for t in args.todos]
        ctx.emit(PlanUpdated(entries=entries))
        done = sum(1 for t in args.todos if t.status == "completed")
        return ToolOutput(
            f"Todos have been modified successfully ({done}/{len(entries)} completed). Ensure that "
            "you continue to use the todo list to track your progress. Please proceed with the "
            "current tasks if applicable."
        )
