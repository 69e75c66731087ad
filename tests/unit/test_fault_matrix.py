"""The fault matrix: the real `claw -p` with the real Anthropic SDK over HTTP to the fake Messages
API, through every model fault x where it strikes x whether it lasts.

Faults: 429 (with retry-after-ms, or retry-after in seconds), 529 overloaded, 500, an `error`
event inside a 200 stream, the connection dropped mid-stream, the connection refused (a closed
port), a slow stream (the first byte late, or every event trickling in a few bytes at a time).
Positions: before the first byte, after some text was shown, in the middle of a tool_use's input.
Recovery: transient (the next attempt succeeds) or permanent (every attempt fails).

Oracles. A fault the SDK or claw retries (HTTP errors; in-stream errors and drops before any
content) ends, when transient, with the answer (exit 0) and the retries seen by the fake. A
permanent fault, or one after content was shown (never retried: the user would see it twice),
ends with exactly one clear line on stderr and exit 1; the transcript loads with every tool_use
answered; `claw --continue` is accepted, the model it asks sees the text already shown, and the
resumed run ends with the answer. A slow stream ends with the whole answer. No traceback anywhere.

Helpers for running claw come from tests/unit/test_cli.py; the default run has one case per
fault, `-m stress` the whole matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.agent.session import SessionStore
from tests.fakes.fake_messages_api import (
    FakeMessagesAPI,
    Response,
    closed_port_url,
    http_error,
    reply,
    stream_events,
    text,
    tool_use,
)
from tests.unit.test_cli import KEY, claw
from tests.unit.test_loop import assert_consistent

SHOWN = "Looking at the module first: " + " ".join(f"point{i}" for i in range(30)) + "."
FINAL = "All done: the answer is 42."
STATUS_NAMES = {429: "rate limit", 529: "overloaded", 500: "api error"}


@dataclass(frozen=True)
class Case:
    fault: str  # 429, 429s, 529, 500, event, drop, refused, slow
    position: str  # before, text, tool_input
    recovery: str  # transient, permanent

    @property
    def id(self) -> str:
        return f"{self.fault}-{self.position}-{self.recovery}"


def matrix() -> list[Case]:
    cases = []
    for fault in ("429", "529", "500"):  # an HTTP status comes before any byte of the body
        cases += [Case(fault, "before", "transient"), Case(fault, "before", "permanent")]
    cases.append(Case("429s", "before", "transient"))
    for fault in ("event", "drop"):
        for position in ("before", "text", "tool_input"):
            cases += [Case(fault, position, "transient"), Case(fault, position, "permanent")]
    cases.append(Case("refused", "before", "permanent"))
    cases += [Case("slow", position, "transient") for position in ("before", "text", "tool_input")]
    return cases


FAST = {
    "429-before-transient",
    "529-before-permanent",
    "event-text-permanent",
    "drop-tool_input-transient",
    "slow-text-transient",
}


def turn(position: str, target: Path, **options: Any) -> Response:
    """The model turn the fault strikes: text then a Read call (tool_input) or text only."""
    if position == "tool_input":
        return reply(text(SHOWN), tool_use("Read", {"file_path": str(target)}), chunk=4, **options)
    return reply(text(SHOWN), chunk=4, **options)


def index_of(resp: Response, position: str) -> int:
    """The event before which a fault at `position` strikes."""
    events = stream_events(resp)
    if position == "before":
        return 1  # just after message_start: nothing shown yet
    if position == "text":
        texts = [n for n, e in enumerate(events) if e.get("delta", {}).get("type") == "text_delta"]
        return texts[len(texts) // 2]
    inputs = [n for n, e in enumerate(events) if e.get("delta", {}).get("type") == "input_json_delta"]
    return inputs[len(inputs) // 2]


def faulty(case: Case, target: Path) -> Response:
    base = turn(case.position, target)
    at = index_of(base, case.position)
    if case.fault == "event":
        return {**base, "error_after": at, "error_type": "overloaded_error"}
    return {**base, "drop_after": at}


def answers(position: str, target: Path) -> list[Response]:
    """What a healthy model answers: the same turn, then (after the Read) the final text."""
    if position == "tool_input":
        return [turn(position, target), reply(text(FINAL + " The file says: {{tool_result}}"))]
    return [reply(text(SHOWN + " " + FINAL), chunk=9)]


def one_clear_line(stderr: str, *words: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert any(w in lines[0].lower() for w in words), lines[0]


def assistant_texts(body: dict[str, Any]) -> str:
    found = []
    for message in body.get("messages", []):
        if message.get("role") != "assistant":
            continue
        content = message.get("content")
        if isinstance(content, str):
            found.append(content)
        else:
            found += [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    return "\n".join(found)


def run_case(case: Case, ws: Path, api: FakeMessagesAPI) -> str:
    """Run one case; return a line describing what happened (for the counts)."""
    target = ws / "module.py"
    target.write_text("VALUE = 42\n")
    env = api.env(KEY)
    retried = True  # the fault is one claw or the SDK retries
    if case.fault in ("429", "529", "500", "429s"):
        status = int(case.fault[:3])
        error = (
            http_error(status, retry_after_s=1)
            if case.fault == "429s"
            else http_error(status, retry_after_ms=5)
        )
        attempts = 1 if case.recovery == "transient" else 3  # the SDK's max_retries is 2
        api.queue(*[error] * attempts)
        words: tuple[str, ...] = (STATUS_NAMES[status],)
    elif case.fault in ("event", "drop"):
        retried = case.position == "before"
        attempts = 1 if case.recovery == "transient" or not retried else 4  # claw retries 3 times
        api.queue(*[faulty(case, target)] * attempts)
        words = ("overloaded",) if case.fault == "event" else ("connection", "network")
    elif case.fault == "refused":
        env = {**env, "ANTHROPIC_BASE_URL": closed_port_url()}
        attempts, words = 0, ("connect",)
    else:  # slow: every byte arrives, late
        slow = {
            "before": {"first_byte_delay": 1.5},
            "text": {"trickle": 5, "trickle_delay": 0.001},
            "tool_input": {"trickle": 2, "trickle_delay": 0.001},
        }[case.position]
        first, *rest = answers(case.position, target)
        api.queue({**first, **slow}, *rest)
        proc = claw(ws, "-p", "what is VALUE?", env=env)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        assert FINAL in proc.stdout, proc.stdout
        if case.position == "tool_input":
            assert "VALUE = 42" in proc.stdout
        return "answered"

    recovers = case.recovery == "transient" and retried
    if recovers:
        api.queue(*answers(case.position, target))
    proc = claw(ws, "-p", "what is VALUE?", env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    if recovers:
        assert proc.returncode == 0, proc.stderr
        assert FINAL in proc.stdout, proc.stdout
        assert len(api.requests) == attempts + len(answers(case.position, target))
        return "retried, answered"

    # Ended with one clear line; what was shown stays, and the session resumes.
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    one_clear_line(proc.stderr, *words)
    shown = proc.stdout.strip()
    if case.position != "before":
        assert shown and SHOWN.startswith(shown), proc.stdout
    else:
        assert not shown, proc.stdout
    session = SessionStore(ws).latest()
    assert session is not None
    messages = session.load_messages()
    session.close()
    assert_consistent(messages)
    if case.recovery == "permanent" and not retried:  # the same fault strikes the resumed run
        api.queue(faulty(case, target))
        again = claw(ws, "--continue", "-p", "go on", env=api.env(KEY))
        assert again.returncode == 1, again.stderr
        one_clear_line(again.stderr, *words)
        assert shown in assistant_texts(api.requests[-1].body), "the resumed model did not see the text shown"
    seen = len(api.requests)
    api.queue(*answers(case.position, target))
    resumed = claw(ws, "--continue", "-p", "go on", env=api.env(KEY))
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert FINAL in resumed.stdout, resumed.stdout
    if shown:
        seen_text = assistant_texts(api.requests[seen].body)
        assert shown in seen_text, "the resumed model did not see the text shown"
    session = SessionStore(ws).latest()
    assert session is not None
    assert_consistent(session.load_messages())
    session.close()
    return "one error line, resumed"


@pytest.mark.parametrize("case", [c for c in matrix() if c.id in FAST], ids=lambda c: c.id)
def test_fault(case: Case, workspace: Path, fake_api: FakeMessagesAPI) -> None:
    run_case(case, workspace, fake_api)


@pytest.mark.stress
@pytest.mark.timeout(1200)
def test_fault_matrix_full(tmp_path: Path) -> None:
    results: dict[str, str] = {}
    for case in matrix():
        ws = tmp_path / case.id
        ws.mkdir()
        with FakeMessagesAPI() as api:
            results[case.id] = run_case(case, ws.resolve(), api)
    summary = "; ".join(f"{k}: {v}" for k, v in results.items())
    print(f"\nfault matrix: {len(results)} cases, all passed: {summary}")
    assert len(results) == len(matrix())
