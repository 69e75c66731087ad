"""The permission question a tool call may raise, its answer, and who is asked (`Prompter`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal, Protocol

AnswerKind = Literal["allow_once", "allow_always", "reject_once", "reject_always"]

# Folders whose files configure tools that run code or hold the agent's own permissions: an edit
# anywhere below one always asks (every mode but bypassPermissions), whatever the allow rules say.
PROTECTED_DIRS = frozenset({".git", ".claw", ".claude", ".vscode", ".idea", ".husky", ".devcontainer"})
# Files that configure shells, editors, git and hooks (they run code when a tool reads them).
PROTECTED_FILES = frozenset(
    {
        ".mcp.json",
        ".bashrc",
        ".bash_profile",
        ".bash_login",
        ".bash_logout",
        ".profile",
        ".zshrc",
        ".zshenv",
        ".zprofile",
        ".zlogin",
        ".envrc",
        ".inputrc",
        ".gitconfig",
        ".gitmodules",
        ".gitattributes",
        ".exrc",
        ".nvimrc",
        ".nvim.lua",
        ".vimrc",
        ".npmrc",
        ".yarnrc",
        ".yarnrc.yml",
        ".pypirc",
        ".pre-commit-config.yaml",
        ".pre-commit-hooks.yaml",
    }
)


def protected_reason(path: PurePath, roots: Sequence[PurePath] = ()) -> str | None:
    """Why an edit of `path` always asks (a protected folder or configuration file), else None.
    Inside one of `roots` (the workspace folders) only the part below the root counts, so a
    workspace that itself lies under, say, `~/.vscode/` is not protected whole."""
    parts = path.parts
    for root in roots:
        if path.is_relative_to(root):
            parts = path.relative_to(root).parts
            break
    for part in parts[:-1]:
        if part in PROTECTED_DIRS:
            return f"{path} is inside {part}/ (configuration that can run code or grant permissions)"
    if path.name in PROTECTED_FILES or path.name in PROTECTED_DIRS:
        return f"{path} is a configuration file that can run code or grant permissions"
    return None


@dataclass
class PermissionRequest:
    """A question for the user: may this tool call run?"""

    tool_call_id: str
    tool_name: str
    title: str  # e.g. "Run: rm -rf build"
    subject: str | None  # the exact command or path
    suggested_rule: str | None
    input: dict[str, object] = field(default_factory=dict)
    kind: str = "other"  # the tool's ACP kind
    # The tool's changes go through the view's applier, which shows them for review.
    reviewable: bool = False

    @property
    def description(self) -> str | None:
        """The model's own words for what the call does (Bash's `description`), when it gave some."""
        value = self.input.get("description")
        return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass
class PermissionAnswer:
    """The user's answer; `feedback` goes back to the model on a rejection."""

    outcome: AnswerKind
    feedback: str = ""

    @property
    def allowed(self) -> bool:
        """True for allow_once / allow_always."""
        return self.outcome.startswith("allow")


class Prompter(Protocol):
    """Asks the user (terminal, LSP request, test script)."""

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        """Ask whether a tool call may run."""
        ...
