"""The model table: what each Claude model accepts (thinking mode, the interleaved-thinking beta,
effort levels) and its context window and output limit, kept in one place.

`model_info(id)` answers for any id: an exact row of `MODELS` (date suffixes stripped), else a rule
on the version in the id (`claude-<family>-<major>[-<minor>]` or `claude-<major>-<minor>-<family>`):

- 4.7 and later (5, 5.5, ...): adaptive thinking only (`{"type": "adaptive"}`; a `budget_tokens`
  request is refused by these models), every effort level;
- 4.6: adaptive, with manual budgets still accepted; 4.0-4.5: manual budgets
  (`{"type": "enabled", "budget_tokens": N}`) with the `interleaved-thinking-2025-05-14` beta;
- Claude 3 and ids without a version (a proxy's alias, a test's `claude-fake`): no thinking unless
  the settings ask for it explicitly, no effort, no beta (sending them to a model that does not take
  them is a 400).

`thinking_plan()` turns the `thinking` / `effort` settings into what one request sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# How a model takes thinking. "unknown": no row and no version to go by.
ThinkingMode = Literal["none", "budget", "adaptive", "adaptive_only", "unknown"]

INTERLEAVED_BETA = "interleaved-thinking-2025-05-14"
EFFORT_LEVELS: tuple[str, ...] = ("low", "medium", "high", "xhigh", "max")
# Claude Code's thinking budget (MAX_THINKING_TOKENS) and the max_tokens it sends with it.
DEFAULT_BUDGET = 31_999
MIN_BUDGET = 1_024
DEFAULT_CONTEXT_WINDOW = 200_000
# Without thinking, effort above this is refused.
EFFORT_CAP_WITHOUT_THINKING = "high"


@dataclass(frozen=True)
class ModelInfo:
    """What one model accepts. `interleaved_beta`: manual-budget thinking between tool calls needs
    the beta header; `effort`: the `output_config.effort` levels it takes (empty: none)."""

    thinking: ThinkingMode
    interleaved_beta: bool = False
    effort: tuple[str, ...] = ()
    context_window: int = DEFAULT_CONTEXT_WINDOW
    max_output: int = 64_000

    @property
    def thinks_by_default(self) -> bool:
        """Whether claw turns thinking on when the settings say nothing."""
        return self.thinking in ("budget", "adaptive", "adaptive_only")


_LOW_HIGH = ("low", "medium", "high")
_ALL = EFFORT_LEVELS

_CLAUDE_3 = ModelInfo("none", max_output=8_192)
_CLAUDE_4_BUDGET = ModelInfo("budget", interleaved_beta=True)
_ADAPTIVE_ONLY = ModelInfo("adaptive_only", effort=_ALL, max_output=128_000)

# Exact ids without date suffix.
MODELS: dict[str, ModelInfo] = {
    "claude-3-haiku": ModelInfo("none", max_output=4_096),
    "claude-3-opus": ModelInfo("none", max_output=4_096),
    "claude-3-5-haiku": _CLAUDE_3,
    "claude-3-5-sonnet": _CLAUDE_3,
    "claude-3-7-sonnet": ModelInfo("budget"),
    "claude-opus-4": ModelInfo("budget", interleaved_beta=True, max_output=32_000),
    "claude-opus-4-0": ModelInfo("budget", interleaved_beta=True, max_output=32_000),
    "claude-opus-4-1": ModelInfo("budget", interleaved_beta=True, max_output=32_000),
    "claude-sonnet-4": _CLAUDE_4_BUDGET,
    "claude-sonnet-4-0": _CLAUDE_4_BUDGET,
    "claude-sonnet-4-5": _CLAUDE_4_BUDGET,
    "claude-haiku-4-5": _CLAUDE_4_BUDGET,
    "claude-opus-4-5": ModelInfo("budget", interleaved_beta=True, effort=_LOW_HIGH),
    "claude-sonnet-4-6": ModelInfo("adaptive", interleaved_beta=True, effort=_LOW_HIGH),
    "claude-opus-4-6": ModelInfo("adaptive", effort=("low", "medium", "high", "max"), max_output=128_000),
    "claude-opus-4-7": _ADAPTIVE_ONLY,
    "claude-opus-4-8": _ADAPTIVE_ONLY,
    "claude-mythos-preview": _ADAPTIVE_ONLY,
}

_DATE = re.compile(r"-(\d{8}|latest)$")
_FAMILY_FIRST = re.compile(r"^claude-[a-z]+-(\d+)(?:-(\d{1,2}))?$")
_VERSION_FIRST = re.compile(r"^claude-(\d+)(?:-(\d{1,2}))?-[a-z]+$")


def base_id(model: str) -> str:
    """The id without a date (or `-latest`) suffix."""
    return _DATE.sub("", model)


def _version(model: str) -> tuple[int, int] | None:
    m = _FAMILY_FIRST.match(model) or _VERSION_FIRST.match(model)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2) or 0)


def model_info(model: str) -> ModelInfo:
    """The table's row for `model`, else what the rule on its version says."""
    base = base_id(model)
    if base in MODELS:
        return MODELS[base]
    version = _version(base)
    if version is None:
        return ModelInfo("unknown")
    if version >= (4, 7):
        return _ADAPTIVE_ONLY
    if version >= (4, 6):
        return ModelInfo("adaptive", effort=_LOW_HIGH)
    if version >= (4, 0):
        return _CLAUDE_4_BUDGET
    return _CLAUDE_3


def context_window(model: str) -> int:
    """The model's context window in tokens."""
    return model_info(model).context_window


@dataclass
class ThinkingPlan:
    """What one request sends for thinking: the `thinking` param (None: none), the `max_tokens`
    to use, `output_config` (None: none) and the beta headers."""

    thinking: dict[str, Any] | None
    max_tokens: int
    output_config: dict[str, Any] | None = None
    betas: list[str] = field(default_factory=list)


def _budget_setting(setting: object) -> int | Literal[False] | None:
    """The budget the `thinking` setting asks for: a number, None (the default), False (off)."""
    if setting is False:
        return False
    if isinstance(setting, Mapping) and "budgetTokens" in setting:
        return int(setting["budgetTokens"])
    return None


def _effort_for(info: ModelInfo, wanted: str | None, thinking_on: bool) -> str | None:
    """The effort level to send: `wanted`, lowered to what the model takes (and to `high` without
    thinking); None when the model takes no effort or none was asked for."""
    if not wanted or not info.effort or wanted not in EFFORT_LEVELS:
        return None
    ceiling = EFFORT_LEVELS.index(wanted)
    if not thinking_on:
        ceiling = min(ceiling, EFFORT_LEVELS.index(EFFORT_CAP_WITHOUT_THINKING))
    allowed = [level for level in info.effort if EFFORT_LEVELS.index(level) <= ceiling]
    return allowed[-1] if allowed else None


def thinking_plan(
    model: str,
    max_tokens: int,
    *,
    setting: object = None,
    effort: str | None = None,
    enabled: bool = True,
) -> ThinkingPlan:
    """The thinking part of a request to `model` for the `thinking` setting (`{"budgetTokens": N}`,
    True, False or None) and the `effort` setting. `enabled=False`: this request sends no thinking
    (a compaction call, or a tool loop whose last turn was made without thinking).

    A budget must stay below `max_tokens`: max_tokens is raised to budget + 1 (as Claude Code
    sends 31,999 with 32,000), within the model's output limit, else the budget is lowered; below
    the API's minimum of 1,024 thinking is left off. Adaptive thinking gets the same room."""
    info = model_info(model)
    budget = _budget_setting(setting)
    wants = budget is not False and (setting is True or budget is not None or info.thinks_by_default)
    if not enabled or not wants or info.thinking == "none":
        return ThinkingPlan(None, max_tokens, _output_config(_effort_for(info, effort, False)))
    ceiling = max(max_tokens, info.max_output)
    if info.thinking == "adaptive_only" or (info.thinking == "adaptive" and budget is None):
        room = min(ceiling, max(max_tokens, DEFAULT_BUDGET + 1))
        return ThinkingPlan({"type": "adaptive"}, room, _output_config(_effort_for(info, effort, True)))
    wanted = budget if isinstance(budget, int) else DEFAULT_BUDGET
    room = min(ceiling, max(max_tokens, wanted + 1))
    tokens = min(wanted, room - 1)
    if tokens < MIN_BUDGET:
        return ThinkingPlan(None, max_tokens, _output_config(_effort_for(info, effort, False)))
    betas = [INTERLEAVED_BETA] if info.interleaved_beta else []
    return ThinkingPlan(
        {"type": "enabled", "budget_tokens": tokens},
        room,
        _output_config(_effort_for(info, effort, True)),
        betas,
    )


def _output_config(effort: str | None) -> dict[str, Any] | None:
    return {"effort": effort} if effort else None
