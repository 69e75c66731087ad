"""Settings: pydantic models, the layered loading and workspace trust.

Layers: defaults < .mcp.json (mcpServers) < ~/.claude/settings.json (hooks) <
~/.config/claw/settings.json < .claude/settings.json and .claude/settings.local.json (permissions,
hooks) < .claw/settings.json < .claw/settings.local.json < LSP / CLI options.

Bad values fall back to their defaults with one clear warning naming the key, the file and why.

Everything under the workspace folder is what a repository can ship, `.claw/settings.local.json`
included (a clone may hold one). Until the user trusts the folder (`TrustStore`), those files may
narrow what the agent does (deny and ask rules, plan mode, limits) but not widen it: allow rules,
acceptEdits / bypassPermissions, hooks, MCP servers, the approval of `.mcp.json` servers and
`baseUrl` (where the API key is sent) are held back and listed in `LoadedSettings.held_back`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

PermissionMode = Literal["default", "acceptEdits", "plan", "bypassPermissions"]


class PermissionRules(BaseModel):
    """allow / ask / deny rule lists, e.g. `Bash(npm test:*)`, `Read(./.env)`, `Edit(src/**)`."""

    model_config = ConfigDict(extra="ignore")

    allow: list[str] = Field(default_factory=list)
    ask: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)


class HookCommand(BaseModel):
    """One configured hook command."""

    type: Literal["command"] = "command"
    command: str
    timeout: float = 60.0  # seconds, as in Claude Code


class HookMatcher(BaseModel):
    """Hooks that run for tools whose name matches `matcher` (regex; empty or '*' = all)."""

    matcher: str = ""
    hooks: list[HookCommand] = Field(default_factory=list)


class McpServerConfig(BaseModel):
    """One MCP server, as in Claude Code's `.mcp.json`: a command over stdio, or a URL over HTTP.

    `${VAR}` in its command, args, env, url and headers expands credentials (`ANTHROPIC_*`, tokens)
    only when the server comes from the user's own settings (`pass_credentials`); from a file in
    the workspace they expand to nothing."""

    model_config = ConfigDict(extra="ignore")
    _pass_credentials: bool = PrivateAttr(default=False)

    @property
    def pass_credentials(self) -> bool:
        """True when the user's own settings (not the workspace's files) configured the server."""
        return self._pass_credentials

    type: Literal["stdio", "http"] | None = None
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_transport(self) -> McpServerConfig:
        """stdio needs a command; http needs a url; no type means whichever is given."""
        kind = self.type or ("http" if self.url and not self.command else "stdio")
        if kind == "stdio" and not self.command:
            raise ValueError("a stdio server needs a 'command' (or give 'url' for an HTTP server)")
        if kind == "http" and not self.url:
            raise ValueError("an http server needs a 'url'")
        self.type = kind
        return self


class Settings(BaseModel):
    """All settings keys (the public contract names them in camelCase)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    provider: Literal["anthropic", "openai", "scripted"] = "anthropic"
    model: str | None = None
    permissionMode: PermissionMode = "default"
    permissions: PermissionRules = Field(default_factory=PermissionRules)
    maxTurns: int = Field(default=50, ge=1)
    bashTimeoutMs: int = Field(default=120_000, ge=1000, le=600_000)
    autoCompactTokens: int | None = Field(default=None, ge=1000)
    maxBudgetUsd: float | None = Field(default=None, gt=0)
    maxTokensPerRun: int | None = Field(default=None, ge=1)
    maxOutputTokens: int = Field(default=16000, ge=256)
    # Extended thinking: {"budgetTokens": N} (N >= 1024), true, or false; None = the model's default.
    thinking: dict[str, int] | bool | None = None
    # output_config.effort, sent only to models that take it (providers/models.py).
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None
    # Per-model price overrides: {"model-id": {"input": 3.0, "output": 15.0, ...}} in USD per MTok.
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    hooks: dict[str, list[HookMatcher]] = Field(default_factory=dict)
    # scripted provider: path of the JSONL file of model turns.
    scriptPath: str | None = None
    # openai provider: base URL override (else OPENAI_BASE_URL).
    baseUrl: str | None = None
    # MCP servers by name (.mcp.json's servers, then settings layers; a later layer wins by name).
    mcpServers: dict[str, McpServerConfig] = Field(default_factory=dict)
    mcpToolTimeoutMs: int = Field(default=60_000, ge=1000, le=3_600_000)
    # Approval of the project's .mcp.json servers (Claude Code's keys). Honoured only from the user's
    # settings, .claw/settings.local.json and LSP/CLI options: never from files a repository ships.
    enableAllProjectMcpServers: bool = False
    enabledMcpjsonServers: list[str] = Field(default_factory=list)
    disabledMcpjsonServers: list[str] = Field(default_factory=list)

    @field_validator("thinking", mode="before")
    @classmethod
    def _check_thinking(cls, value: Any) -> Any:
        """`{"budgetTokens": N}` with a whole N of at least 1024, true or false."""
        if value is None or isinstance(value, bool):
            return value
        budget = value.get("budgetTokens") if isinstance(value, dict) else None
        if not isinstance(value, dict) or set(value) != {"budgetTokens"}:
            raise ValueError('expected {"budgetTokens": N}, true or false')
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1024:
            raise ValueError("budgetTokens must be a whole number of at least 1024")
        return {"budgetTokens": budget}

    def merged(self, overrides: dict[str, Any]) -> Settings:
        """A copy with `overrides` (already-validated keys) applied on top."""
        data = self.model_dump()
        data.update(overrides)
        return Settings.model_validate(data)


# -- directories ----------------------------------------------------------------------------------


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var, "")
    base = Path(value) if value and os.path.isabs(value) else Path.home() / default
    return base / "claw"


def config_dir() -> Path:
    """Where user settings live: $XDG_CONFIG_HOME/claw (default ~/.config/claw)."""
    return _xdg("XDG_CONFIG_HOME", ".config")


def state_dir() -> Path:
    """Where sessions and other state live: $XDG_STATE_HOME/claw (default ~/.local/state/claw)."""
    return _xdg("XDG_STATE_HOME", ".local/state")


# -- layered loading ------------------------------------------------------------------------------

_RULE_KINDS = ("allow", "ask", "deny")
# The hook events claw runs (agent/hooks.py), in Claude Code's names.
_HOOK_EVENTS = (
    "SessionStart",
    "SessionEnd",
    "UserPromptSubmit",
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "PostToolUseFailure",
    "Notification",
    "PreCompact",
    "Stop",
    "SubagentStop",
)
_SECRET_KEY = re.compile(r"(api[_-]?key|secret|token|password|auth)", re.IGNORECASE)
_RULE_SYNTAX = re.compile(r"\s*[A-Za-z0-9_\-*.]+\s*(\(.*\))?\s*", re.DOTALL)


@dataclass
class LoadedSettings:
    """The effective settings, the warnings to show the user once, and the files that were read.

    `trusted` is the workspace's trust decision (None: never asked); `held_back` describes each
    widening setting of the workspace's own files that was not applied because it is not trusted.
    """

    settings: Settings
    warnings: list[str] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)
    trusted: bool | None = None
    held_back: list[str] = field(default_factory=list)

    @property
    def needs_trust(self) -> bool:
        """True when the workspace ships settings that wait for a trust decision never made."""
        return bool(self.held_back) and self.trusted is None


# Every settings file (Claude Code's --setting-sources names).
SETTING_SOURCES = frozenset({"user", "project", "local"})


def load_settings(
    workspace_root: Path | None,
    overrides: dict[str, Any] | None = None,
    *,
    home_config: Path | None = None,
    trusted: bool | None = None,
    sources: frozenset[str] = SETTING_SOURCES,
) -> LoadedSettings:
    """Merge every settings layer; bad values fall back with one warning each. Never raises.

    `trusted` defaults to the user's decision for `workspace_root` in the `TrustStore`. `sources`
    (Claude Code's `--setting-sources`): which files to read, `user` (your settings files),
    `project` (.mcp.json, .claude/settings.json, .claw/settings.json), `local` (the
    settings.local.json files).
    """
    if trusted is None and workspace_root is not None:
        trusted = TrustStore().decision(workspace_root)
    loader = _Loader(workspace_root, trusted=bool(trusted))
    project = workspace_root if "project" in sources else None
    local = workspace_root if "local" in sources else None
    if project is not None:
        loader.file_layer(project / ".mcp.json", only="mcpServers", project=True)
        loader.project_mcp = set(loader.mcp)
    user_file = home_config if home_config is not None else config_dir() / "settings.json"
    if home_config is None and "user" in sources:  # the user's own Claude Code hooks come along
        claude_user = Path.home() / ".claude" / "settings.json"
        loader.own_labels.add(loader.label(claude_user))
        loader.file_layer(claude_user, only="hooks", trusted=True)
    loader.own_labels.add(loader.label(user_file))
    if "user" in sources:
        loader.file_layer(user_file, trusted=True)
    for root, name in ((project, "settings.json"), (local, "settings.local.json")):
        if root is not None:
            loader.file_layer(root / ".claude" / name, only=("permissions", "hooks"), project=True)
    if project is not None:
        loader.file_layer(project / ".claw" / "settings.json", project=True)
    if local is not None:
        # The user's own file for this project once the folder is trusted; before, just another
        # file the clone may have shipped.
        loader.file_layer(local / ".claw" / "settings.local.json", trusted=bool(trusted), project=True)
    env = {
        key: os.environ[var]
        for key, var in (("model", "CLAW_MODEL"), ("provider", "CLAW_PROVIDER"))
        if os.environ.get(var)
    }
    loader.layer(env, "environment", secrets_ok=True, warn_unknown=False)
    if os.environ.get("MAX_THINKING_TOKENS"):  # Claude Code's variable: a budget, 0 = no thinking
        raw = os.environ["MAX_THINKING_TOKENS"].strip()
        budget: int | str = int(raw) if raw.isdigit() else raw
        thinking = {"budgetTokens": budget} if budget != 0 else False
        loader.layer({"thinking": thinking}, "MAX_THINKING_TOKENS", warn_unknown=False)
    if overrides:
        given = {k: v for k, v in overrides.items() if v is not None}
        loader.layer(given, "options", warn_unknown=False, trusted=True)
    result = loader.result()
    result.trusted = trusted
    if result.held_back:
        result.warnings.append(untrusted_warning(result.held_back))
    return result


def untrusted_warning(held_back: list[str]) -> str:
    """The one warning that says what an untrusted workspace's settings did not get to do."""
    return (
        "this folder is not trusted, so its own settings were not applied: "
        + "; ".join(held_back)
        + ". Trust it to apply them (`claw trust`, or the editor's Claw: Trust Workspace)"
    )


class _Loader:
    """Accumulates validated values layer by layer."""

    def __init__(self, root: Path | None, *, trusted: bool = False) -> None:
        self.root = root
        self.workspace_trusted = trusted
        self.held_back: list[str] = []
        # The layers the user wrote themselves (their settings file, explicit options).
        self.own_labels: set[str] = {"options"}
        self.values: dict[str, Any] = {}
        self.rules: dict[str, list[str]] = {kind: [] for kind in _RULE_KINDS}
        self.hooks: dict[str, list[HookMatcher]] = {}
        self.mcp: dict[str, McpServerConfig] = {}
        # Servers that came from the project's .mcp.json (and no settings layer redefined).
        self.project_mcp: set[str] = set()
        self.warnings: list[str] = []
        self.sources: list[Path] = []

    def label(self, path: Path) -> str:
        if self.root is not None:
            try:
                return path.relative_to(self.root).as_posix()
            except ValueError:
                pass
        home = Path.home()
        try:
            return "~/" + path.relative_to(home).as_posix()
        except ValueError:
            return str(path)

    def warn(self, where: str, message: str) -> None:
        text = f"{where}: {message}"
        if text not in self.warnings:
            self.warnings.append(text)

    def file_layer(
        self,
        path: Path,
        *,
        only: str | tuple[str, ...] | None = None,
        trusted: bool = False,
        project: bool = False,
    ) -> None:
        label = self.label(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            self.warn(label, f"could not be read ({exc}); file ignored")
            return
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            self.warn(
                label, f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); file ignored"
            )
            return
        if not isinstance(data, dict):
            self.warn(label, "does not hold a JSON object; file ignored")
            return
        self.sources.append(path)
        if only is not None:
            keys = (only,) if isinstance(only, str) else only
            data = {k: data[k] for k in keys if k in data}
        if project and not self.workspace_trusted:
            data = self.hold_back(data, label)
        self.layer(data, label, trusted=trusted)

    def hold_back(self, data: dict[str, Any], label: str) -> dict[str, Any]:
        """`data` without what an untrusted workspace may not set (each recorded in `held_back`)."""
        kept = dict(data)
        mode = kept.get("permissionMode")
        if isinstance(mode, str) and mode not in _NARROWING_MODES:
            self.held_back.append(f"permissionMode {mode!r} ({label})")
            del kept["permissionMode"]
        permissions = kept.get("permissions")
        if isinstance(permissions, dict) and permissions.get("allow"):
            allow = permissions["allow"]
            shown = ", ".join(str(r) for r in allow) if isinstance(allow, list) else repr(allow)
            self.held_back.append(f"allow rules {shown} ({label})")
            kept["permissions"] = {k: v for k, v in permissions.items() if k != "allow"}
        if kept.get("hooks"):
            hooks = kept.pop("hooks")
            events = ", ".join(hooks) if isinstance(hooks, dict) else "?"
            self.held_back.append(f"hooks for {events} ({label})")
        if kept.get("mcpServers"):
            servers = kept.pop("mcpServers")
            names = ", ".join(repr(n) for n in servers) if isinstance(servers, dict) else "?"
            self.held_back.append(f"MCP servers {names} ({label})")
        if kept.get("baseUrl"):
            self.held_back.append(f"baseUrl {kept.pop('baseUrl')!r} ({label})")
        for key in _APPROVAL_KEYS & kept.keys():
            if kept[key]:
                self.held_back.append(f"{key} ({label})")
            del kept[key]
        return kept

    def layer(
        self,
        data: dict[str, Any],
        label: str,
        *,
        secrets_ok: bool = False,
        warn_unknown: bool = True,
        trusted: bool = False,
    ) -> None:
        fields = Settings.model_fields
        for key, value in data.items():
            if key in _APPROVAL_KEYS and not trusted:
                self.warn(
                    label,
                    f"{key}: approving the project's MCP servers is only honoured in your own settings "
                    "(~/.config/claw/settings.json, .claw/settings.local.json); ignored",
                )
                continue
            if key not in fields:
                if _SECRET_KEY.search(key) and not secrets_ok:
                    self.warn(
                        label,
                        f"{key}: API keys and secrets do not belong in settings files; "
                        "set them in environment variables (ANTHROPIC_API_KEY, OPENAI_API_KEY); ignored",
                    )
                elif warn_unknown:
                    self.warn(label, f"unknown key {key!r} ignored")
                continue
            if key == "permissions":
                self.permissions(value, label)
            elif key == "hooks":
                self.hook_layer(value, label)
            elif key == "mcpServers":
                self.mcp_layer(value, label)
            else:
                self.scalar(key, value, label)

    def scalar(self, key: str, value: Any, label: str) -> None:
        try:
            Settings.model_validate({key: value})
        except ValidationError as exc:
            current = self.values.get(key, Settings.model_fields[key].get_default(call_default_factory=True))
            reason = _reason(key, value, exc)
            self.warn(label, f"{key}: {reason}; using {current!r}")
            return
        self.values[key] = value

    def permissions(self, value: Any, label: str) -> None:
        if not isinstance(value, dict):
            self.warn(
                label,
                f"permissions: expected an object with allow/ask/deny lists, got {_kind(value)}; ignored",
            )
            return
        for kind in _RULE_KINDS:
            rules = value.get(kind)
            if rules is None:
                continue
            if not isinstance(rules, list):
                self.warn(label, f"permissions.{kind}: expected a list of rules, got {_kind(rules)}; ignored")
                continue
            for rule in rules:
                if not isinstance(rule, str) or not _RULE_SYNTAX.fullmatch(rule):
                    self.warn(
                        label, f"permissions.{kind}: {rule!r} is not a rule like Bash(npm test:*); ignored"
                    )
                elif rule not in self.rules[kind]:
                    self.rules[kind].append(rule)

    def hook_layer(self, value: Any, label: str) -> None:
        if not isinstance(value, dict):
            self.warn(label, f"hooks: expected an object keyed by event name, got {_kind(value)}; ignored")
            return
        for event, matchers in value.items():
            if event not in _HOOK_EVENTS:
                self.warn(label, f"hooks.{event}: unknown event (known: {', '.join(_HOOK_EVENTS)}); ignored")
                continue
            if not isinstance(matchers, list):
                self.warn(
                    label, f"hooks.{event}: expected a list of matchers, got {_kind(matchers)}; ignored"
                )
                continue
            for k, raw in enumerate(matchers):
                try:
                    matcher = HookMatcher.model_validate(raw)
                    if matcher.matcher not in ("", "*"):
                        re.compile(matcher.matcher)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(p) for p in first["loc"])
                    self.warn(label, f"hooks.{event}[{k}]: {where}: {first['msg']}; ignored")
                    continue
                except re.error as exc:
                    self.warn(
                        label,
                        f"hooks.{event}[{k}]: matcher {matcher.matcher!r} is not a regex ({exc}); ignored",
                    )
                    continue
                self.hooks.setdefault(event, []).append(matcher)

    def mcp_layer(self, value: Any, label: str) -> None:
        if not isinstance(value, dict):
            self.warn(
                label, f"mcpServers: expected an object keyed by server name, got {_kind(value)}; ignored"
            )
            return
        for name, raw in value.items():
            try:
                self.mcp[name] = McpServerConfig.model_validate(raw)
                self.mcp[name]._pass_credentials = label in self.own_labels
                if not label.endswith(".mcp.json"):
                    self.project_mcp.discard(name)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                message = str(first["msg"]).removeprefix("Value error, ")
                self.warn(label, f"mcpServers.{name}: {where + ': ' if where else ''}{message}; ignored")

    def result(self) -> LoadedSettings:
        data = dict(self.values)
        data["permissions"] = self.rules
        data["hooks"] = self.hooks
        data["mcpServers"] = self.approved_mcp()
        return LoadedSettings(
            Settings.model_validate(data), self.warnings, self.sources, held_back=self.held_back
        )

    def approved_mcp(self) -> dict[str, McpServerConfig]:
        """The MCP servers to start: the project's .mcp.json ones only once the user approved them."""
        enabled = set(self.values.get("enabledMcpjsonServers", []))
        disabled = set(self.values.get("disabledMcpjsonServers", []))
        approve_all = bool(self.values.get("enableAllProjectMcpServers", False))
        servers: dict[str, McpServerConfig] = {}
        waiting: list[str] = []
        for name, config in self.mcp.items():
            if name in self.project_mcp:
                if name in disabled:
                    continue
                if not (approve_all or name in enabled):
                    waiting.append(name)
                    continue
            servers[name] = config
        if waiting:
            names = ", ".join(repr(n) for n in waiting)
            listed = json.dumps(waiting)
            self.warn(
                ".mcp.json",
                f"MCP server(s) {names} not started: project servers run commands on this machine, so they "
                f'start once you approve them: add "enabledMcpjsonServers": {listed} to '
                ".claw/settings.local.json (or set enableAllProjectMcpServers there)",
            )
        return servers


_APPROVAL_KEYS = frozenset({"enableAllProjectMcpServers", "enabledMcpjsonServers", "disabledMcpjsonServers"})
# Modes a workspace may choose for itself: they ask at least as much as the default.
_NARROWING_MODES = frozenset({"default", "plan"})


# -- workspace trust ------------------------------------------------------------------------------


@dataclass
class TrustEntry:
    """One remembered decision: the folder, whether it is trusted, and when the user said so."""

    folder: Path
    trusted: bool
    decided_at: str


class TrustStore:
    """The user's trust decisions per folder, in `state_dir()/trusted-folders.json`.

    A decision covers the folder and everything below it; the nearest decided folder wins (a
    folder trusted under a distrusted parent is trusted). Writes are atomic and serialised with
    an exclusive lock, so two editors deciding at once both land.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else state_dir() / "trusted-folders.json"

    def entries(self) -> list[TrustEntry]:
        """Every remembered decision (unreadable or malformed entries are skipped)."""
        found = []
        for folder, raw in self._read().items():
            if isinstance(raw, dict) and isinstance(raw.get("trusted"), bool):
                found.append(TrustEntry(Path(folder), raw["trusted"], str(raw.get("decidedAt", ""))))
        return found

    def decision(self, folder: Path) -> bool | None:
        """True / False as decided for `folder` or its nearest decided parent; None when never asked."""
        target = _canonical(folder)
        best: TrustEntry | None = None
        for entry in self.entries():
            if (target == entry.folder or entry.folder in target.parents) and (
                best is None or len(entry.folder.parts) > len(best.folder.parts)
            ):
                best = entry
        return None if best is None else best.trusted

    def decide(self, folder: Path, trusted: bool | None) -> None:
        """Remember `trusted` for `folder`; None forgets the folder's own decision (ask again)."""
        key = str(_canonical(folder))
        with self._locked():
            data = self._read()
            if trusted is None:
                data.pop(key, None)
            else:
                data[key] = {"trusted": trusted, "decidedAt": datetime.now(UTC).isoformat(timespec="seconds")}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".trusted-folders.")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"version": 1, "folders": data}, out, indent=2, sort_keys=True)
                out.write("\n")
            os.replace(tmp, self.path)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        folders = data.get("folders") if isinstance(data, dict) else None
        return dict(folders) if isinstance(folders, dict) else {}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(".trusted-folders.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _canonical(folder: Path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(folder)))


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _reason(key: str, value: Any, exc: ValidationError) -> str:
    """A short human reason for a rejected value."""
    error = exc.errors()[0]
    annotation = Settings.model_fields[key].annotation
    choices = [a for a in get_args(annotation) if isinstance(a, str)]
    if error["type"] == "literal_error" and choices:
        return f"{value!r} is not one of {', '.join(choices)}"
    message = str(error["msg"])
    return f"{value!r} is invalid ({message[0].lower() + message[1:]})"
