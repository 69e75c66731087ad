"""Settings: pydantic models and the layered loading
defaults < ~/.config/claw/settings.json < .claude/settings.json (permissions) < .claw/settings.json
< .claw/settings.local.json < LSP / CLI options.

Bad values fall back to their defaults with one clear warning naming the key, the file and why.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class Settings(BaseModel):
    """All settings keys (the public contract names them in camelCase)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    provider: Literal["anthropic", "openai", "scripted"] = "anthropic"
    model: str | None = None
    permissionMode: PermissionMode = "default"  # noqa: N815
    permissions: PermissionRules = Field(default_factory=PermissionRules)
    maxTurns: int = Field(default=50, ge=1)  # noqa: N815
    bashTimeoutMs: int = Field(default=120_000, ge=1000, le=600_000)  # noqa: N815
    autoCompactTokens: int | None = Field(default=None, ge=1000)  # noqa: N815
    maxBudgetUsd: float | None = Field(default=None, gt=0)  # noqa: N815
    maxTokensPerRun: int | None = Field(default=None, ge=1)  # noqa: N815
    maxOutputTokens: int = Field(default=16000, ge=256)  # noqa: N815
    # Per-model price overrides: {"model-id": {"input": 3.0, "output": 15.0, ...}} in USD per MTok.
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    hooks: dict[str, list[HookMatcher]] = Field(default_factory=dict)
    # scripted provider: path of the JSONL file of model turns.
    scriptPath: str | None = None  # noqa: N815
    # openai provider: base URL override (else OPENAI_BASE_URL).
    baseUrl: str | None = None  # noqa: N815

    def merged(self, overrides: dict[str, Any]) -> Settings:
        """A copy with `overrides` (already-validated keys) applied on top."""
        data = self.model_dump()
        data.update(overrides)
        return Settings.model_validate(data)
