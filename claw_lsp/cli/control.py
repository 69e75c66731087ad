"""Claude Code's stream-json input and control protocol (`--input-format stream-json`), as the
Claude Agent SDKs speak it over the CLI's stdin and stdout.

Each stdin line is one JSON object: a `user` message (a turn on the one live session), a
`control_request` from the host (`initialize`, `interrupt`, `set_permission_mode`, `set_model`,
`mcp_status`; anything else is answered with an explicit error), or a `control_response` to a
request claw sent. claw sends `control_request`s of its own: `can_use_tool` (with
`--permission-prompt-tool stdio`, through `ControlPrompter`) and `hook_callback` (the SDK's hooks
registered at `initialize`, through `SdkHookRunner`). Requests are answered as
`{"type": "control_response", "response": {"subtype": "success" | "error", "request_id", ...}}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from claw_lsp.agent.hooks import HookEvent, HookOutcome, HookRunner, parse_success
from claw_lsp.agent.loop import permission_suggestions
from claw_lsp.core.permissions import PermissionAnswer, PermissionRequest

if TYPE_CHECKING:
    from claw_lsp.agent.loop import Agent
    from claw_lsp.config import HookMatcher

# How long a host may take to answer claw's own control requests before the question counts as
# refused (Claude Code waits as long for a permission answer: the user may be deciding).
PERMISSION_TIMEOUT_S = 3600.0


class ControlError(Exception):
    """A control request failed (the host answered with an error, or went away)."""


class Channel:
    """JSON lines out on stdout; control requests to the host and their responses."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.closed = False

    def send(self, message: Any) -> None:
        """Write one message as a JSON line (and flush, so the host sees it at once)."""
        self.out.write(json.dumps(message, ensure_ascii=False, default=str) + "\n")
        self.out.flush()

    async def request(self, body: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send a `control_request` and wait for its response's payload."""
        if self.closed:
            raise ControlError("the host closed stdin: nobody can answer")
        request_id = f"claw_req_{uuid.uuid4().hex[:16]}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self.send({"type": "control_request", "request_id": request_id, "request": body})
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            self.send({"type": "control_cancel_request", "request_id": request_id})
            raise ControlError(f"no answer to {body.get('subtype')} within {timeout:g}s") from exc
        except asyncio.CancelledError:
            self.send({"type": "control_cancel_request", "request_id": request_id})
            raise
        finally:
            self._pending.pop(request_id, None)

    def resolve(self, message: dict[str, Any]) -> None:
        """Settle the request a `control_response` answers."""
        response = message.get("response")
        if not isinstance(response, dict):
            return
        future = self._pending.get(str(response.get("request_id")))
        if future is None or future.done():
            return
        if response.get("subtype") == "error":
            future.set_exception(ControlError(str(response.get("error") or "the host refused")))
        else:
            payload = response.get("response")
            future.set_result(payload if isinstance(payload, dict) else {})

    def close(self) -> None:
        """The host is gone: every waiting request fails."""
        self.closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ControlError("the host closed stdin"))

    def answer(self, request_id: str, payload: dict[str, Any] | None = None) -> None:
        """Answer a host's control request with success."""
        response = {"subtype": "success", "request_id": request_id, "response": payload or {}}
        self.send({"type": "control_response", "response": response})

    def refuse(self, request_id: str, error: str) -> None:
        """Answer a host's control request with an error."""
        response = {"subtype": "error", "request_id": request_id, "error": error}
        self.send({"type": "control_response", "response": response})


# -- permission questions to the host ---------------------------------------------------------


class ControlPrompter:
    """`--permission-prompt-tool stdio`: each permission question is a `can_use_tool` request.

    The host answers `{"behavior": "allow", "updatedInput": {...}, "updatedPermissions"?}` or
    `{"behavior": "deny", "message": "...", "interrupt"?}`. `updatedInput` replaces the tool's
    input (the loop takes it as it takes a PermissionRequest hook's); `updatedPermissions` counts
    as "always allow"; `interrupt` ends the turn after the refusal.
    """

    def __init__(self, channel: Channel, agent_ref: Callable[[], Agent | None]) -> None:
        self.channel = channel
        self.agent_ref = agent_ref

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        """Ask the host; a failed or missing answer is a refusal that says why."""
        body: dict[str, Any] = {
            "subtype": "can_use_tool",
            "tool_name": request.tool_name,
            "input": dict(request.input),
            "permission_suggestions": permission_suggestions(request.suggested_rule, "session"),
            "blocked_path": None,
            "tool_use_id": request.tool_call_id,
            "title": request.title,
            "display_name": request.tool_name,
        }
        if request.description:
            body["description"] = request.description
        try:
            answer = await self.channel.request(body, PERMISSION_TIMEOUT_S)
        except ControlError as exc:
            return PermissionAnswer("reject_once", f"Permission denied: {exc}.")
        run = self._run()
        if answer.get("behavior") == "allow":
            updated = answer.get("updatedInput")
            if isinstance(updated, dict) and updated != dict(request.input) and run is not None:
                run.use_input(request.tool_call_id, updated)
            always = bool(answer.get("updatedPermissions")) and request.suggested_rule is not None
            return PermissionAnswer("allow_always" if always else "allow_once")
        message = str(answer.get("message") or "The user denied this tool call.")
        if answer.get("interrupt") is True and run is not None:
            run.interrupt(f"Interrupted by the user: {message}")
        return PermissionAnswer("reject_once", message)

    def _run(self) -> Any:
        agent = self.agent_ref()
        return agent.current if agent is not None else None


class DontAskPrompter:
    """`--permission-mode dontAsk`: whatever the rules did not allow is refused, nobody is asked."""

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        """Refuse (the allow rules and --allowedTools are what may run)."""
        return PermissionAnswer(
            "reject_once",
            f"Permission to use {request.tool_name} was not granted (permission mode dontAsk: "
            "only tools the allow rules or --allowedTools permit may run).",
        )


class SwitchingPrompter:
    """The prompter of the current permission mode (dontAsk refuses; the others ask `inner`)."""

    def __init__(self, inner: Any, *, dont_ask: bool = False) -> None:
        self.inner = inner
        self.dont_ask = dont_ask

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        """Refuse in dontAsk mode, else ask the inner prompter."""
        if self.dont_ask:
            return await DontAskPrompter().ask_permission(request)
        answer: PermissionAnswer = await self.inner.ask_permission(request)
        return answer


# -- SDK hooks ----------------------------------------------------------------------------------


@dataclass
class HookCallback:
    """One hook the host registered at `initialize`: its event, matcher and callback id."""

    event: str
    matcher: str | None
    callback_id: str
    timeout: float = 60.0


@dataclass
class SdkHooks:
    """The host's hooks, called as `hook_callback` control requests."""

    channel: Channel
    callbacks: list[HookCallback] = field(default_factory=list)

    def register(self, config: Any) -> list[str]:
        """Take `initialize`'s `hooks` ({event: [{matcher, hookCallbackIds, timeout}]}); warnings."""
        from claw_lsp.agent.hooks import HookEvent

        known = set(HookEvent.__args__)  # type: ignore[attr-defined]
        warnings: list[str] = []
        if not isinstance(config, dict):
            return warnings
        for event, matchers in config.items():
            if event not in known:
                warnings.append(f"SDK hook event {event!r} is not supported by claw; its callbacks never run")
                continue
            for matcher in matchers or []:
                if not isinstance(matcher, dict):
                    continue
                timeout = matcher.get("timeout")
                for callback_id in matcher.get("hookCallbackIds") or []:
                    self.callbacks.append(
                        HookCallback(
                            event=event,
                            matcher=matcher.get("matcher"),
                            callback_id=str(callback_id),
                            timeout=float(timeout) if isinstance(timeout, int | float) else 60.0,
                        )
                    )
        return warnings

    def matching(self, event: str, subject: str | None) -> list[HookCallback]:
        """The callbacks for `event` whose matcher matches `subject` (as command hooks match)."""
        found = []
        for callback in self.callbacks:
            if callback.event != event:
                continue
            pattern = callback.matcher
            if subject is not None and pattern not in (None, "", "*"):
                try:
                    if re.fullmatch(pattern, subject) is None:
                        continue
                except re.error:
                    continue
            found.append(callback)
        return found


class SdkHookRunner(HookRunner):
    """The settings' hook commands plus the host's SDK hooks (same input, same output rules)."""

    def __init__(
        self,
        hooks: dict[str, list[HookMatcher]],
        sdk: SdkHooks,
        *,
        cwd: Path,
        session_id: str,
        transcript_path: Path | str | None,
        permission_mode: str = "default",
    ) -> None:
        super().__init__(hooks, cwd, session_id, transcript_path, permission_mode=permission_mode)
        self.sdk = sdk

    def has(self, event: HookEvent) -> bool:
        """True when a command or an SDK hook is registered for the event."""
        return super().has(event) or any(c.event == event for c in self.sdk.callbacks)

    async def _run(self, event: HookEvent, extra: dict[str, Any], subject: str | None) -> HookOutcome:
        outcome = await super()._run(event, extra, subject)
        callbacks = self.sdk.matching(event, subject)
        if not callbacks:
            return outcome
        payload = self.payload(event, extra)
        tool_use_id = extra.get("tool_use_id")
        results = await asyncio.gather(*(self._call(event, c, payload, tool_use_id) for c in callbacks))
        for result in results:
            outcome.merge(result)
        return outcome

    async def _call(
        self, event: HookEvent, callback: HookCallback, payload: dict[str, Any], tool_use_id: Any
    ) -> HookOutcome:
        body = {
            "subtype": "hook_callback",
            "callback_id": callback.callback_id,
            "input": payload,
            "tool_use_id": tool_use_id if isinstance(tool_use_id, str) else None,
        }
        try:
            output = await self.sdk.channel.request(body, callback.timeout)
        except ControlError as exc:
            return HookOutcome(notes=[f"{event} SDK hook {callback.callback_id} failed: {exc}"])
        # The callback's output is a hook's JSON output (`async`: nothing to wait for).
        if output.get("async") is True:
            return HookOutcome()
        return parse_success(event, json.dumps(output))


# -- stdin ------------------------------------------------------------------------------------


class StdinLines:
    """stdin's lines, read in a daemon thread (a pipe, a file or a terminal alike) into a queue;
    None marks the end."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream if stream is not None else sys.stdin.buffer
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._pump, name="claw-stdin", daemon=True).start()

    def _pump(self) -> None:
        try:
            for line in iter(self.stream.readline, b""):
                self._put(line)
        except (OSError, ValueError):
            pass
        self._put(None)

    def _put(self, item: bytes | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody reads any more
            self._loop.call_soon_threadsafe(self.queue.put_nowait, item)

    async def next(self) -> bytes | None:
        """The next line, or None at the end of input."""
        return await self.queue.get()


def user_text(message: dict[str, Any]) -> str | None:
    """The prompt a stream-json `user` line carries (text blocks joined), None if it has none."""
    inner = message.get("message")
    if not isinstance(inner, dict):
        return None
    content = inner.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    parts = [
        str(b.get("text", ""))
        for b in content
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    ]
    return "\n\n".join(parts) if parts else None


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


async def serve_control_request(
    channel: Channel, message: dict[str, Any], handlers: dict[str, Handler]
) -> None:
    """Answer one host `control_request` with the handler for its subtype, or an explicit error."""
    request_id = str(message.get("request_id") or "")
    body = message.get("request")
    subtype = body.get("subtype") if isinstance(body, dict) else None
    handler = handlers.get(str(subtype))
    if handler is None or not isinstance(body, dict):
        known = ", ".join(sorted(handlers))
        channel.refuse(request_id, f"Unsupported control request subtype: {subtype!r} (claw answers {known})")
        return
    try:
        payload = await handler(body)
    except (ControlError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        channel.refuse(request_id, str(exc) or type(exc).__name__)
        return
    channel.answer(request_id, payload)
