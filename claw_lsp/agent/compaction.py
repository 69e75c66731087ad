"""Compaction: a model-written summary replaces the older turns when the context nears its limit.

`compact()` splits the transcript into an older part and the recent turns. The older part (with any
earlier summary fed as plain prior context) is rendered as text and summarised by a separate model
call without tools; the result is one user message starting with `SUMMARY_MARKER` followed by the
recent turns verbatim. Because an earlier summary is folded into the new one, summaries never nest.
The split never separates a `tool_use` from its `tool_result` and the kept part never starts with a
`tool_result`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from claw_lsp.core.messages import (
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    api_view,
)
from claw_lsp.providers.base import Model, ModelRequest

SUMMARY_MARKER = "[Conversation summary]"
SUMMARY_INTRO = (
    "This session continues from an earlier conversation that was compacted to save context. Summary of it:"
)
DEFAULT_HEADROOM = 20_000
# Rough characters per token, on the safe side, for budgets computed without a tokenizer.
CHARS_PER_TOKEN = 3

COMPACTION_SYSTEM = """\
You summarise a coding session between a user and an AI coding agent so that the agent can \
continue the work with only your summary and the most recent messages in its context.

Write a dense, factual summary in Markdown with these sections:
1. Requests: everything the user asked for, in order, with the exact wording of key instructions.
2. Decisions and constraints: approaches chosen or rejected and why; user preferences.
3. Files: every file read, created or edited (absolute paths), what changed and its current state; \
include short code snippets only where they matter for the next steps.
4. Errors and fixes: failures met (tests, commands, tools) and how they were resolved.
5. Open work: pending tasks and todos, and the exact next step the agent was taking.

Do not invent anything that is not in the transcript. Do not address the user; do not continue \
the work; output only the summary inside <summary></summary> tags."""


class CompactionFailed(Exception):
    """The summarising model call gave nothing usable; the transcript is left as it was."""


@dataclass
class CompactionResult:
    """The compacted context: `messages[0]` is the summary message when `replaced > 0`."""

    summary: str
    messages: list[Message]
    usage: Usage
    cost_usd: float
    replaced: int

    @property
    def kept(self) -> list[Message]:
        """The recent messages kept verbatim (what `Session.append_compaction` stores)."""
        return self.messages[1:] if self.replaced else list(self.messages)


def compaction_threshold(context_window: int, setting: int | None) -> int:
    """The context size (tokens) at which to compact: the setting, else the window minus 20k."""
    if setting is not None:
        return setting
    # Small local models: never aim below half the window.
    return max(context_window - DEFAULT_HEADROOM, context_window // 2)


def should_compact(context_tokens: int, threshold: int) -> bool:
    """True when a request's input tokens reached the threshold."""
    return threshold > 0 and context_tokens >= threshold


def summary_message(summary: str) -> Message:
    """The user message that stands for the compacted turns."""
    return Message.user(f"{SUMMARY_MARKER}\n{SUMMARY_INTRO}\n\n{strip_marker(summary)}")


def is_summary(message: Message) -> bool:
    """True for a summary message produced by compaction."""
    return message.role == "user" and message.text().startswith(SUMMARY_MARKER)


def strip_marker(text: str) -> str:
    """The text without any summary marker (so a summary can never contain a nested one)."""
    return text.replace(SUMMARY_MARKER, "").strip()


# What one image in a tool result costs, roughly (the API scales images to about 1.15 megapixels,
# ~1,600 tokens); its base64 characters are not counted as text.
IMAGE_TOKENS = 1_600


def estimate_tokens(messages: list[Message]) -> int:
    """A rough token count of messages (JSON characters / 4, images at IMAGE_TOKENS each; each
    message measured once, see `api_view`)."""
    return RunningEstimate().tokens(messages)


class RunningEstimate:
    """`estimate_tokens` of a conversation that grows by appends, each message counted once: a
    request at turn 200 measures one new message, not 400 (a replaced or shortened list, as after a
    compaction, is measured again from its start)."""

    def __init__(self) -> None:
        self._messages: list[Message] | None = None
        self._count = 0
        self._last: Message | None = None
        self._chars = 0
        self._images = 0

    def tokens(self, messages: list[Message]) -> int:
        """The estimate for `messages` (the same list as last time, perhaps longer, or another)."""
        n = self._count
        same = messages is self._messages and len(messages) >= n and (n == 0 or messages[n - 1] is self._last)
        if not same:
            n, self._chars, self._images = 0, 0, 0
        for m in messages[n:]:
            view = api_view(m)
            self._chars += view.chars - view.image_chars
            self._images += view.images
        self._messages, self._count = messages, len(messages)
        self._last = messages[-1] if messages else None
        return self._chars // 4 + self._images * IMAGE_TOKENS


def _is_turn_start(message: Message) -> bool:
    return message.role == "user" and not message.tool_results() and not is_summary(message)


def split_point(messages: list[Message], keep_recent_turns: int, kept_budget: int | None = None) -> int:
    """Index where the kept part begins; 0 means nothing to compact.

    The kept part starts at the `keep_recent_turns`-th last user prompt. Too few turns means
    nothing to compact, unless the kept part alone exceeds `kept_budget` tokens (one long turn):
    then, as whenever the kept part is too big, the split moves forward to later safe points:
    user prompts and assistant messages, since a split before an assistant message keeps its
    tool_use and the following tool_result together.
    """
    n = len(messages)
    first = 1 if messages and is_summary(messages[0]) else 0
    if keep_recent_turns <= 0:
        return n if n > first else 0
    safe = [i for i in range(first + 1, n) if messages[i].role == "assistant" or _is_turn_start(messages[i])]
    starts = [i for i in range(first, n) if _is_turn_start(messages[i])]
    split = starts[-keep_recent_turns] if len(starts) >= keep_recent_turns else first

    def too_big(at: int) -> bool:
        return kept_budget is not None and estimate_tokens(messages[at:]) > kept_budget

    later = [i for i in safe if i > split]
    if split <= first:
        if not (later and too_big(first)):
            return 0
        split, later = later[0], later[1:]
    while later and too_big(split):
        split, later = later[0], later[1:]
    return split


@dataclass
class _Entry:
    kind: str  # "text" | "tool_use" | "tool_result"
    text: str


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... {omitted} characters omitted ...]\n{text[-tail:] if tail else ''}"


def _render(messages: list[Message]) -> list[_Entry]:
    entries: list[_Entry] = []
    for m in messages:
        who = "User" if m.role == "user" else "Assistant"
        for b in m.content:
            if isinstance(b, TextBlock) and b.text.strip():
                entries.append(_Entry("text", f"[{who}]\n{b.text.strip()}"))
            elif isinstance(b, ToolUseBlock):
                args = json.dumps(b.input, ensure_ascii=False)
                entries.append(_Entry("tool_use", f"[Tool call {b.name} ({b.id})]\n{args}"))
            elif isinstance(b, ToolResultBlock):
                flag = " error" if b.is_error else ""
                entries.append(_Entry("tool_result", f"[Tool result{flag} ({b.tool_use_id})]\n{b.text()}"))
            elif isinstance(b, ThinkingBlock):
                continue
    return entries


def _fit(entries: list[_Entry], budget_chars: int) -> str:
    """Join entries, shrinking the oldest tool results first, then any long entry, then dropping."""

    def total() -> int:
        return sum(len(e.text) + 2 for e in entries)

    for kinds, limit in (
        (("tool_result",), 2000),
        (("tool_result",), 300),
        (("tool_use", "text"), 2000),
        (("tool_result", "tool_use", "text"), 300),
    ):
        for e in entries:
            if total() <= budget_chars:
                break
            if e.kind in kinds:
                e.text = _cut(e.text, limit)
    dropped = 0
    while entries and total() > budget_chars:
        entries.pop(0)
        dropped += 1
    parts = [e.text for e in entries]
    if dropped:
        parts.insert(0, f"[{dropped} earliest entries omitted: too long to summarise]")
    return "\n\n".join(parts)


def _extract_summary(text: str) -> str:
    match = re.search(r"<summary>(.*?)(?:</summary>|$)", text, re.DOTALL)
    body = match.group(1) if match else text
    body = re.sub(r"<analysis>.*?</analysis>", "", body, flags=re.DOTALL)
    return strip_marker(body)


async def compact(
    model: Model,
    messages: list[Message],
    *,
    keep_recent_turns: int = 2,
    instructions: str | None = None,
) -> CompactionResult:
    """Summarise the older turns with a separate model call; keep the recent turns verbatim."""
    split = split_point(messages, keep_recent_turns, kept_budget=model.context_window // 3)
    if split == 0:
        return CompactionResult("", list(messages), Usage(), 0.0, 0)
    older, kept = messages[:split], messages[split:]
    prior = (
        strip_marker(older[0].text()).removeprefix(SUMMARY_INTRO).strip() if is_summary(older[0]) else None
    )
    body = older[1:] if prior is not None else older

    max_tokens = max(1024, min(8192, model.context_window // 8))
    budget_chars = max(4000, (model.context_window - max_tokens - 4000) * CHARS_PER_TOKEN)
    parts: list[str] = []
    if prior:
        parts.append(f"Summary of the conversation before the transcript below:\n<prior>\n{prior}\n</prior>")
    transcript = _fit(_render(body), budget_chars - sum(len(p) for p in parts))
    parts.append(f"Transcript to summarise:\n<transcript>\n{transcript}\n</transcript>")
    ask = "Write the summary of everything above"
    ask += ", folding in the prior summary." if prior else "."
    if instructions:
        ask += f"\nAdditional instructions from the user:\n{instructions}"
    parts.append(ask)

    request = ModelRequest(
        system=COMPACTION_SYSTEM,
        messages=[Message.user("\n\n".join(parts))],
        tools=[],
        max_tokens=max_tokens,
        purpose="compaction",
    )
    turn = await model.complete(request)
    summary = _extract_summary(turn.message.text())
    if not summary:
        raise CompactionFailed("the model returned an empty summary")
    cost = turn.cost_usd or model.cost(turn.usage)
    return CompactionResult(
        summary=summary,
        messages=[summary_message(summary), *kept],
        usage=turn.usage,
        cost_usd=cost,
        replaced=len(older),
    )
