"""Model prices in USD per million tokens, and the cost of a request's usage.

Published pattern (Anthropic pricing page): Sonnet $3 in / $15 out, Haiku 4.5 $1 / $5,
Opus 4.5 and later $5 / $25 (Opus 4 and 4.1 $15 / $75); a 5-minute cache write costs 1.25x the
input price and a cache read 0.1x. Ids not in the table are priced by family (name prefix); an
unknown family is priced like Opus, so budgets err on the safe side. Users override any model with
the `prices` setting: `{"model-id": {"input": 3, "output": 15, "cache_write": 3.75, "cache_read": 0.3}}`
(missing cache prices derive from `input`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from claw_lsp.core.messages import Usage

CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.1


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    @classmethod
    def of(cls, input: float, output: float) -> Price:
        """A price whose cache prices follow the standard multipliers."""
        return cls(input, output, input * CACHE_WRITE_FACTOR, input * CACHE_READ_FACTOR)


SONNET = Price.of(3.0, 15.0)
HAIKU = Price.of(1.0, 5.0)
OPUS = Price.of(5.0, 25.0)
OPUS_LEGACY = Price.of(15.0, 75.0)

# Exact ids (date suffixes are stripped before lookup).
PRICES: dict[str, Price] = {
    "claude-opus-5-5": OPUS,
    "claude-opus-5": OPUS,
    "claude-opus-4-8": OPUS,
    "claude-opus-4-7": OPUS,
    "claude-opus-4-6": OPUS,
    "claude-opus-4-5": OPUS,
    "claude-opus-4-1": OPUS_LEGACY,
    "claude-opus-4-0": OPUS_LEGACY,
    "claude-opus-4": OPUS_LEGACY,
    "claude-3-opus": OPUS_LEGACY,
    "claude-sonnet-5-5": SONNET,
    "claude-sonnet-5": SONNET,
    "claude-sonnet-4-6": SONNET,
    "claude-sonnet-4-5": SONNET,
    "claude-sonnet-4-0": SONNET,
    "claude-sonnet-4": SONNET,
    "claude-haiku-5-5": HAIKU,
    "claude-haiku-4-5": HAIKU,
    "claude-3-5-haiku": Price.of(0.8, 4.0),
    "claude-3-haiku": Price.of(0.25, 1.25),
}

# Family fallbacks by prefix, first match wins.
FAMILIES: list[tuple[str, Price]] = [
    ("claude-sonnet", SONNET),
    ("claude-3-7-sonnet", SONNET),
    ("claude-3-5-sonnet", SONNET),
    ("claude-haiku", HAIKU),
    ("claude-opus", OPUS),
]
UNKNOWN = OPUS

_DATE = re.compile(r"-(\d{8}|latest)$")


def _base_id(model: str) -> str:
    return _DATE.sub("", model)


def price_for(model: str, overrides: Mapping[str, Mapping[str, float]] | None = None) -> Price:
    """The price of `model`: an override, the table, the family, else the (Opus) default."""
    for key in (model, _base_id(model)):
        if overrides and key in overrides:
            o = overrides[key]
            inp = float(o.get("input", 0.0))
            return Price(
                input=inp,
                output=float(o.get("output", 0.0)),
                cache_write=float(o.get("cache_write", inp * CACHE_WRITE_FACTOR)),
                cache_read=float(o.get("cache_read", inp * CACHE_READ_FACTOR)),
            )
    base = _base_id(model)
    if base in PRICES:
        return PRICES[base]
    for prefix, price in FAMILIES:
        if base.startswith(prefix):
            return price
    return UNKNOWN


def cost(model: str, usage: Usage, overrides: Mapping[str, Mapping[str, float]] | None = None) -> float:
    """The price in USD of `usage` with `model`."""
    p = price_for(model, overrides)
    return (
        usage.input_tokens * p.input
        + usage.output_tokens * p.output
        + usage.cache_creation_input_tokens * p.cache_write
        + usage.cache_read_input_tokens * p.cache_read
    ) / 1_000_000
