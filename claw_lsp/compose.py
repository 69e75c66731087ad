"""The front ends' composition root: an `Agent` from settings (model, tools, workspace view,
permissions, hooks, prompt).

It sits above `agent/` beside the front ends (the CLI and the language server both build agents
here, so a run behaves the same in both); nothing below the front ends imports it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from claw_lsp.agent.loop import Agent, AgentHooks

if TYPE_CHECKING:
    from claw_lsp.agent.permissions import PermissionEngine
    from claw_lsp.agent.session import Session
    from claw_lsp.agent.slash import SlashContext
    from claw_lsp.config import Settings
    from claw_lsp.core.files import BufferSource, ChangeApplier
    from claw_lsp.core.permissions import Prompter
    from claw_lsp.core.tools import DiagnosticsSource, SessionState, Tool
    from claw_lsp.providers.base import Model


def resolve_provider(settings: Settings) -> tuple[str, str | None]:
    """The provider and model to use: CLAW_PROVIDER / CLAW_MODEL override settings."""
    provider = os.environ.get("CLAW_PROVIDER") or settings.provider
    model = os.environ.get("CLAW_MODEL") or settings.model
    return provider, model


def make_settings_model(settings: Settings, root: Path, name: str | None = None) -> Model:
    """Build the model client the settings name (or the model `name` of the same provider)."""
    from claw_lsp.providers import make_model

    provider, model = resolve_provider(settings)
    model = name or model
    if provider == "scripted":
        script = os.environ.get("CLAW_SCRIPT") or settings.scriptPath
        return make_model("scripted", model, script_path=script, workspace=str(root))
    if provider == "openai":
        return make_model("openai", model, base_url=settings.baseUrl, prices=settings.prices)
    return make_model(
        "anthropic", model, prices=settings.prices, thinking=settings.thinking, effort=settings.effort
    )


def model_alias(settings: Settings, wanted: str) -> str | None:
    """The model id for a subagent's `model` ("sonnet", "opus", "haiku" or an id); None: inherit.

    Aliases mean Anthropic's families: with another provider they inherit the parent's model."""
    provider, _ = resolve_provider(settings)
    if wanted not in ("sonnet", "opus", "haiku"):
        return wanted
    if provider != "anthropic":
        return None
    from claw_lsp.providers.anthropic import newest_alias

    return newest_alias(wanted)


def build_agent(
    *,
    root: Path,
    folders: list[Path],
    settings: Settings,
    session: Session,
    prompter: Prompter,
    buffers: BufferSource | None = None,
    applier: ChangeApplier | None = None,
    diagnostics: DiagnosticsSource | None = None,
    state: SessionState | None = None,
    hooks: AgentHooks | None = None,
    model: Model | None = None,
    permissions: PermissionEngine | None = None,
    extra_system: str | None = None,
    extra_tools: list[Tool] | None = None,
    trusted: bool | None = None,
) -> Agent:
    """An agent on `session`, reading through `buffers` and writing through `applier`.

    `extra_tools` (e.g. an `McpManager`'s tools) come after the built-in ones; a name clash with a
    built-in tool drops the extra tool. `trusted`: whether the user trusts the workspace (None: as
    the trust store says), which decides whether its agent files may widen permissions.
    """
    from claw_lsp.agent.agent_tool import agent_tool
    from claw_lsp.agent.hooks import HookRunner
    from claw_lsp.agent.permissions import PermissionEngine
    from claw_lsp.agent.prompts import build_system_prompt
    from claw_lsp.agent.subagents import SubagentRunner, load_agents
    from claw_lsp.config import TrustStore
    from claw_lsp.tools.registry import default_tools
    from claw_lsp.workspace.view import WorkspaceView

    folders = [f.resolve() for f in (folders or [root])]
    model = model or make_settings_model(settings, root)
    workspace = WorkspaceView(folders, buffers=buffers, applier=applier)
    if permissions is None:
        permissions = PermissionEngine(
            settings, folders, local_settings_path=root / ".claw" / "settings.local.json"
        )
    # The view refuses writes outside the workspace unless an explicit allow rule names them.
    workspace.write_allowed = permissions.allows_write_outside
    state = _with_background(state, session, permissions)
    tools = default_tools()
    builtin = {t.name for t in tools}
    tools += [t for t in extra_tools or [] if t.name not in builtin]
    if trusted is None:
        trusted = TrustStore().decision(root) is True
    runner = SubagentRunner(
        load_agents(folders, trusted=trusted),
        model_factory=lambda name: make_settings_model(settings, root, name),
        resolve_model=lambda wanted: model_alias(settings, wanted),
    )
    tools.append(agent_tool(runner, [t.name for t in tools]))
    slash = _slash_context(
        root, folders, settings=settings, model=model, permissions=permissions, trusted=trusted
    )
    if slash.activator.listed():
        from claw_lsp.tools.skill import skill_tool

        tools.append(skill_tool(slash.activator))
    system = build_system_prompt(
        folders,
        model=model.name,
        permission_mode=settings.permissionMode,
        tool_names=[t.name for t in tools],
        extra=extra_system,
        trusted=trusted,
    )
    hook_runner = None
    if settings.hooks:
        hook_runner = HookRunner(
            settings.hooks,
            cwd=root,
            session_id=session.id,
            transcript_path=session.path,
            permission_mode=settings.permissionMode,
        )
    if model.provider == "scripted":
        session.set_meta(scripted=True, provider="scripted")
    agent = Agent(
        model=model,
        tools=list(tools),
        workspace=workspace,
        settings=settings,
        session=session,
        prompter=prompter,
        permissions=permissions,
        system_prompt=system,
        hook_runner=hook_runner,
        diagnostics=diagnostics,
        state=state,
        hooks=hooks,
    )
    runner.attach(agent)
    agent.slash = slash
    return agent


def _with_background(
    state: SessionState | None, session: Session, permissions: PermissionEngine
) -> SessionState:
    """The session's state with its background shells (outliving agent rebuilds), their output
    files readable by `Read` (an exact-path allow rule for this session only, never persisted)."""
    from claw_lsp.core.tools import SessionState
    from claw_lsp.tools.background import BackgroundShells

    state = state if state is not None else SessionState()
    if not isinstance(state.background, BackgroundShells):
        state.background = BackgroundShells(session.path.with_suffix("") / "tasks")

    def allow_read(path: Path) -> None:
        text = str(path)
        if not any(ch in text for ch in "*?[]\\(){}"):
            rule = f"Read(//{text.lstrip('/')})"
            if rule not in permissions.rules["allow"]:
                permissions.rules["allow"].append(rule)

    state.background.on_output_file = allow_read
    for shell in state.background.shells.values():
        allow_read(shell.output_path)
    return state


def _slash_context(
    root: Path,
    folders: list[Path],
    *,
    settings: Settings,
    model: Model,
    permissions: PermissionEngine,
    trusted: bool | None,
) -> SlashContext:
    """The commands and skills of the user and the workspace, and a way to switch models."""
    import copy

    from claw_lsp.agent.skills import SkillActivator
    from claw_lsp.agent.slash import SlashContext, load_catalog
    from claw_lsp.config import TrustStore

    if trusted is None:
        trusted = TrustStore().decision(root) is True
    catalog = load_catalog(folders, trusted=trusted)

    def model_named(name: str) -> Model:
        if model.provider == "scripted":  # the same script goes on, under the new name
            other = copy.copy(model)
            other.name = name
            return other
        return make_settings_model(settings, root, name)

    activator = SkillActivator(catalog.skills, permissions, trusted=trusted)
    return SlashContext(catalog=catalog, activator=activator, model_factory=model_named)
