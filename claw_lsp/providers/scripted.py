"""The scripted provider: replays model turns from a JSONL file (tests and the demo).

Each line is one assistant turn::

    {"content": [{"type": "text", "text": "Let me look."},
                 {"type": "tool_use", "name": "Read", "input": {"file_path": "{{workspace}}/app.py"}}],
     "stop_reason": "tool_use", "usage": {"input_tokens": 100, "output_tokens": 20}, "delay_ms": 0}

`{{workspace}}` anywhere in a string is replaced by the workspace root. `stop_reason` defaults to
`tool_use` when the turn calls a tool, else `end_turn`; tool_use ids are generated when absent.
Text is streamed in small chunks (with `delay_ms` between them) so cancellation can be exercised.
A line `{"error": "overloaded"}` makes that turn fail the way the real API would. When the script
runs out, the model says so and ends the turn. Requests for compaction get a canned summary that
lists the user prompts, without consuming a turn.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from claw_lsp.core.messages import Message, TextBlock, ToolUseBlock, Usage
from claw_lsp.providers.base import Delta, ModelRequest, ModelTurn, ProviderError

SCRIPTED_MODEL = "scripted"

KEPT_REQUESTS = 100


class ScriptedModel:
    """A deterministic model that replays turns from a script."""

    provider = "scripted"

    def __init__(
        self, turns: list[dict[str, Any]], *, model: str | None = None, workspace: Path | None = None
    ) -> None:
        self.name = model or SCRIPTED_MODEL
        self.context_window = 200_000
        self.turns = turns
        self.position = 0
        self.workspace = workspace
        # The latest requests, for inspection (bounded: each holds the whole transcript so far).
        self.requests: list[ModelRequest] = []

    @classmethod
    def from_file(
        cls, path: Path, *, model: str | None = None, workspace: Path | None = None
    ) -> ScriptedModel:
        """Load a JSONL script; a bad line is a ProviderError naming the file and line."""
        turns: list[dict[str, Any]] = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ProviderError(
                f"cannot read the model script {path}: {exc.strerror}", kind="config"
            ) from exc
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("//"):
                continue
            try:
                turn = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ProviderError(f"{path}:{number}: not valid JSON: {exc.msg}", kind="config") from exc
            if not isinstance(turn, dict):
                raise ProviderError(f"{path}:{number}: each line must be a JSON object", kind="config")
            turns.append(turn)
        return cls(turns, model=model, workspace=workspace)

    @classmethod
    def from_options(cls, *, model: str | None = None, **options: object) -> ScriptedModel:
        """Build from settings: `script_path` (required) and `workspace`."""
        script = options.get("script_path")
        workspace = options.get("workspace")
        if not script:
            raise ProviderError(
                "the scripted provider needs a script: set 'scriptPath' in settings or CLAW_SCRIPT",
                kind="config",
            )
        ws = Path(str(workspace)) if workspace else None
        path = Path(str(script))
        if not path.is_absolute() and ws is not None:
            path = ws / path
        return cls.from_file(path, model=model, workspace=ws)

    def cost(self, usage: Usage) -> float:
        """Scripted turns cost nothing."""
        return 0.0

    async def complete(
        self, request: ModelRequest, on_delta: Callable[[Delta], None] | None = None
    ) -> ModelTurn:
        """Replay the next scripted turn, streaming its text."""
        self.requests.append(request)
        del self.requests[:-KEPT_REQUESTS]
        if request.purpose == "compaction":
            return self._summary(request)
        if self.position >= len(self.turns):
            text = "(The scripted model has no more turns.)"
            await self._stream(text, on_delta, 0)
            return ModelTurn(
                message=Message(role="assistant", content=[TextBlock(text=text)]),
                stop_reason="end_turn",
                usage=Usage(input_tokens=1, output_tokens=1),
                model=self.name,
            )
        turn = self._expand(self.turns[self.position])
        self.position += 1
        delay = float(turn.get("delay_ms", 0)) / 1000
        if delay:
            await asyncio.sleep(delay)
        if "error" in turn:
            kind = str(turn["error"])
            raise ProviderError(f"scripted {kind} error", kind=kind if kind in _KINDS else "other")  # type: ignore[arg-type]
        blocks: list[TextBlock | ToolUseBlock] = []
        for index, raw in enumerate(turn.get("content", [])):
            if raw.get("type") == "text":
                await self._stream(str(raw.get("text", "")), on_delta, delay)
                blocks.append(TextBlock(text=str(raw.get("text", ""))))
            elif raw.get("type") == "tool_use":
                tool_id = str(raw.get("id") or f"toolu_scripted_{self.position}_{index}")
                blocks.append(
                    ToolUseBlock(id=tool_id, name=str(raw["name"]), input=dict(raw.get("input", {})))
                )
        has_tools = any(isinstance(b, ToolUseBlock) for b in blocks)
        stop_reason = str(turn.get("stop_reason") or ("tool_use" if has_tools else "end_turn"))
        usage = Usage.model_validate(turn.get("usage") or {"input_tokens": 10, "output_tokens": 10})
        return ModelTurn(
            message=Message(role="assistant", content=list(blocks)),
            stop_reason=stop_reason,
            usage=usage,
            model=self.name,
        )

    async def _stream(self, text: str, on_delta: Callable[[Delta], None] | None, delay: float) -> None:
        if on_delta is None:
            return
        for start in range(0, len(text), 16):
            on_delta(Delta("text", text[start : start + 16]))
            await asyncio.sleep(delay / 10 if delay else 0)

    def _summary(self, request: ModelRequest) -> ModelTurn:
        prompts = [m.text() for m in request.messages if m.role == "user" and m.text()]
        summary = "Summary of the earlier conversation (scripted). The user asked:\n" + "\n".join(
            f"- {p[:200]}" for p in prompts
        )
        return ModelTurn(
            message=Message(role="assistant", content=[TextBlock(text=summary)]),
            stop_reason="end_turn",
            usage=Usage(input_tokens=10, output_tokens=10),
            model=self.name,
        )

    def _expand(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("{{workspace}}", str(self.workspace)) if self.workspace else value
        if isinstance(value, list):
            return [self._expand(v) for v in value]
        if isinstance(value, dict):
            return {k: self._expand(v) for k, v in value.items()}
        return value


_KINDS = {"auth", "invalid_request", "rate_limit", "overloaded", "server", "connection", "config", "other"}
