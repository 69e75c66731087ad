"""Diagnostics: the editor's current diagnostics (from every language server), via the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from claw_lsp.core.events import ToolKind
from claw_lsp.core.tools import ToolContext, ToolError, ToolOutput
from claw_lsp.tools.files import absolute_path, display_path

MAX_DIAGNOSTICS = 200
_SEVERITY = {1: "error", 2: "warning", 3: "info", 4: "hint"}
NO_SOURCE = (
    "No diagnostics source: diagnostics come from the editor through the language server; the CLI "
    "has none. Run the project's linter or type checker with Bash instead."
)


class DiagnosticsInput(BaseModel):
    """Diagnostics' arguments."""

    file_path: str | None = Field(
        default=None,
        description="Absolute path of one file; omit it to get the diagnostics of every file the "
        "editor knows about",
    )


def format_diagnostic(path: Path, diag: dict[str, Any], ctx: ToolContext) -> str:
    """One diagnostic as "path:line:col severity source: message" (1-based line and column)."""
    start = diag.get("range", {}).get("start", {})
    line = int(start.get("line", 0)) + 1
    col = int(start.get("character", 0)) + 1
    severity = _SEVERITY.get(int(diag.get("severity") or 1), "error")
    source = diag.get("source") or ""
    code = diag.get("code")
    if code not in (None, ""):
        source = f"{source}({code})" if source else str(code)
    message = str(diag.get("message", "")).strip().replace("\n", " ")
    where = ctx.workspace.relative(path)
    return (
        f"{where}:{line}:{col} {severity} {source}: {message}"
        if source
        else (f"{where}:{line}:{col} {severity}: {message}")
    )


class Diagnostics:
    """Errors and warnings the editor's language servers report."""

    name: ClassVar[str] = "Diagnostics"
    description: ClassVar[str] = (
        "Returns the current diagnostics (errors, warnings, hints) that the editor's language "
        "servers report, for one file or for every file. Use it after editing to check you did "
        "not break anything (type errors, lint, syntax), and to find the problems the user sees. "
        "Diagnostics reflect the editor's buffers, unsaved changes included. Output lines look "
        "like `path:line:col severity source: message`."
    )
    input_model: ClassVar[type[BaseModel]] = DiagnosticsInput
    kind: ClassVar[ToolKind] = "read"
    read_only: ClassVar[bool] = True
    reviewable: ClassVar[bool] = False

    def title(self, args: DiagnosticsInput, ctx: ToolContext) -> str:
        """The progress title, e.g. "Checking diagnostics" (of one file)."""
        if args.file_path:
            return f"Checking diagnostics of {display_path(args.file_path, ctx)}"
        return "Checking diagnostics"

    def locations(self, args: DiagnosticsInput, ctx: ToolContext) -> list[Path]:
        """The file asked about, when given."""
        return [ctx.workspace.resolve(args.file_path, ctx.state.cwd)] if args.file_path else []

    def subject(self, args: DiagnosticsInput, ctx: ToolContext) -> str | None:
        """The absolute path asked about, if any."""
        return str(ctx.workspace.resolve(args.file_path, ctx.state.cwd)) if args.file_path else None

    async def run(self, args: DiagnosticsInput, ctx: ToolContext) -> ToolOutput:
        """Ask the diagnostics source and format what it reports, errors first."""
        if ctx.diagnostics is None:
            return ToolOutput(NO_SOURCE, is_error=True)
        paths = [absolute_path(args.file_path, ctx)] if args.file_path else None
        try:
            found = await ctx.diagnostics.diagnostics(paths)
        except (OSError, RuntimeError, TimeoutError) as exc:
            raise ToolError(f"Could not get diagnostics from the editor: {exc}") from None
        rows: list[tuple[int, str, int, str]] = []
        for path, diags in found.items():
            for diag in diags:
                severity = int(diag.get("severity") or 1)
                line = int(diag.get("range", {}).get("start", {}).get("line", 0))
                rows.append((severity, str(path), line, format_diagnostic(path, diag, ctx)))
        if not rows:
            scope = ctx.workspace.relative(paths[0]) if paths else "any open file"
            return ToolOutput(f"No diagnostics for {scope}.")
        rows.sort()
        lines = [row[3] for row in rows[:MAX_DIAGNOSTICS]]
        errors = sum(1 for row in rows if row[0] == 1)
        text = "\n".join(lines)
        text += f"\n\n{len(rows)} diagnostic(s), {errors} error(s)."
        if len(rows) > MAX_DIAGNOSTICS:
            text += f" Showing the first {MAX_DIAGNOSTICS}; ask for one file to see the rest."
        return ToolOutput(text)
