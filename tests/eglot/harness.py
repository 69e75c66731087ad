"""Many agent runs through one real Emacs eglot session, checked against the reference texts.

A `Case` is one run: the files it starts with, which of them Emacs visits, the tool calls the model
makes (the fake Messages API answers a Read of each touched file first, then one call per turn,
then a final text), how the run starts (`workspace/executeCommand claw.ask`, or eglot's code
action menu) and the window/showMessageRequest answers. `run_batch` writes every case's files into
one workspace, runs tests/eglot/batch.el in one `emacs --batch` (one claw-lsp server), and returns
what Emacs recorded. `problems` compares that with the target behaviour of the edit path
(/work/notes/edit-target.md, issue 9):

- a visited file's buffer, as saving it would write it, equals the same tool calls applied to the
  text on disk (`tests.corpus.realedits.apply_calls`, the tools' own rules), exactly;
- the file on disk is untouched while Emacs has it open; a file Emacs does not visit is written on
  disk and gets no (modified) buffer;
- every tool_result the model got (from the fake API's recorded requests) says the call worked:
  not is_error, no "Not applied", no "refused", no "require version".

The marker `[eglot-case ID]` in the prompt tells the fake API's responder which case a request
belongs to; the number of assistant turns since that prompt says which step to answer.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tests import toolchain
from tests.corpus.realedits import Call, apply_calls
from tests.fakes.fake_messages_api import FakeMessagesAPI, RecordedRequest, Response, reply, text, tool_use
from tests.fakes.fixtures import trust

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SERVER = REPO / ".venv" / "bin" / "claw-lsp"
BATCH = HERE / "batch.el"

EDIT_TOOLS = ("Edit", "MultiEdit", "Write")
# Words a tool_result must not hold when the edit landed.
REFUSALS = ("Not applied", "not applied", "refused", "require version", "you have")
SNIPPET_LINE = re.compile(r"^\s*\d+\t")
MARKER = re.compile(r"\[eglot-case ([\w.@-]+)\]")


@cache
def _toolchain_problem() -> str | None:
    """Why Emacs + eglot cannot run here (None: they can)."""
    if shutil.which("emacs") is None:
        return "emacs missing: run scripts/setup-eglot.sh (apt-get install emacs-nox elpa-eglot)"
    probe = subprocess.run(
        ["emacs", "--batch", "--eval", "(kill-emacs (if (require 'eglot nil t) 0 3))"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if probe.returncode != 0:
        return "eglot missing: run scripts/setup-eglot.sh (apt-get install elpa-eglot)"
    if not SERVER.exists():
        return f"{SERVER} missing: run make setup"
    return None


def require_eglot() -> None:
    """Skip when Emacs/eglot/the server are missing, except under CI=true, where that FAILS."""
    problem = _toolchain_problem()
    if problem is not None:
        toolchain.missing(problem, ci_message=f"CI=true and the eglot suite cannot run: {problem}")


@dataclass
class Case:
    """One agent run. Paths are relative to the workspace root."""

    id: str
    files: dict[str, bytes]
    calls: list[Call]
    absent: list[str] = field(default_factory=list)  # files (text b"") that do not exist before the run
    open: list[str] | None = None  # files Emacs visits (default: every file of the case)
    reads: list[str] | None = None  # files the model Reads first (default: every file a call edits)
    start: dict[str, Any] | None = None  # default: claw.ask on the first opened file
    prompt: str = "Make the change."
    answers: list[str] = field(default_factory=list)
    idle: float | None = None  # eglot-send-changes-idle-time (None: eglot's default 0.5 s)
    bump: int = 0  # the first `bump` applyEdits find eglot's version moved on (a stale edit)
    expected: dict[str, bytes] | None = None  # final text per file (default: apply_calls on disk text)
    tool_output: dict[int, str] = field(default_factory=dict)  # call index -> text its result holds

    def opened(self) -> list[str]:
        return list(self.files) if self.open is None else self.open

    def watched(self) -> list[str]:
        return [rel for rel in self.files if rel not in self.opened()]


@dataclass
class Outcome:
    """What Emacs recorded for one case, and what the model was told."""

    case: Case
    record: dict[str, Any]
    out: Path
    root: Path
    results: list[tuple[str, dict[str, Any], str, bool]]  # (tool, input, result text, is_error)

    def saved(self, rel: str) -> bytes | None:
        path = self.out / self.case.id / (rel + ".saved")
        return path.read_bytes() if path.exists() else None

    def plain(self, rel: str) -> bytes | None:
        path = self.out / self.case.id / (rel + ".plain")
        return path.read_bytes() if path.exists() else None

    def events(self) -> str:
        path = self.out / self.case.id / "events.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else "<no events.log>"


def abs_path(root: Path, rel: str) -> str:
    return str(root / rel)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def expected_texts(case: Case, root: Path) -> dict[str, bytes]:
    """Per file: the reference final text (the case's calls applied to the disk text)."""
    if case.expected is not None:
        return case.expected
    out: dict[str, bytes] = {}
    for rel, data in case.files.items():
        path = abs_path(root, rel)
        calls = [c for c in case.calls if c[0] in EDIT_TOOLS and c[1].get("file_path") == path]
        before = _decode(data)
        after = apply_calls(before, calls) if calls else before
        out[rel] = after.encode("utf-8", errors="surrogateescape")
    return out


def _steps(case: Case, root: Path) -> list[Response]:
    """The model's turns: a Read of each file first, then one call per turn, then a final text."""
    reads = case.reads
    if reads is None:
        reads = []
        for _name, args in case.calls:
            path = args.get("file_path")
            rel = os.path.relpath(path, root) if isinstance(path, str) else None
            if rel in case.files and rel not in reads:
                reads.append(rel)
    turns = [reply(tool_use("Read", {"file_path": abs_path(root, rel)})) for rel in reads]
    turns += [reply(tool_use(name, args)) for name, args in case.calls]
    turns.append(reply(text(f"Done with [{case.id}].")))
    return turns


def _user_texts(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _case_of(req: RecordedRequest) -> tuple[str | None, int]:
    """(case id, number of assistant turns since its prompt) of a request."""
    messages = req.body.get("messages", [])
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") != "user":
            continue
        found = MARKER.findall(_user_texts(message))
        if found:
            turns = sum(1 for m in messages[index + 1 :] if m.get("role") == "assistant")
            return found[-1], turns
    return None, 0


_SCRIPTS: weakref.WeakKeyDictionary[FakeMessagesAPI, dict[str, list[Response]]] = weakref.WeakKeyDictionary()


def responder(scripts: dict[str, list[Response]]) -> Callable[[RecordedRequest], Response]:
    def answer(req: RecordedRequest) -> Response:
        case_id, step = _case_of(req)
        if case_id is None or case_id not in scripts:
            return reply(text("No case marker in this request."))
        turns = scripts[case_id]
        return turns[step] if step < len(turns) else reply(text(f"Nothing more for [{case_id}]."))

    return answer


def tool_results(mine: Sequence[RecordedRequest]) -> list[tuple[str, dict[str, Any], str, bool]]:
    """A case's tool calls and their results, from the longest of its recorded requests."""
    if not mine:
        return []
    last = max(mine, key=lambda r: len(r.body.get("messages", [])))
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    out: list[tuple[str, dict[str, Any], str, bool]] = []
    for message in last.body.get("messages", []):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                calls[block["id"]] = (block["name"], block.get("input", {}))
            elif block.get("type") == "tool_result":
                name, args = calls.get(block.get("tool_use_id", ""), ("?", {}))
                raw = block.get("content", "")
                body = (
                    raw
                    if isinstance(raw, str)
                    else "".join(b.get("text", "") for b in raw if isinstance(b, dict))
                )
                out.append((name, args, body, bool(block.get("is_error"))))
    return out


def case_timeout(case: Case, base: float) -> float:
    """Seconds a case may take: `base`, plus room for each call's didChange round trip."""
    idle = 0.5 if case.idle is None else case.idle
    return base + len(case.calls) * (2.0 + idle)


def run_batch(
    cases: Sequence[Case],
    workspace: Path,
    fake_api: FakeMessagesAPI,
    *,
    mode: str,
    per_case_timeout: float = 30.0,
) -> list[Outcome]:
    """Write the cases' files, run them all in one Emacs, return each case's outcome."""
    require_eglot()
    root = workspace
    (root / ".claw").mkdir(exist_ok=True)  # real edits can take more than the default 50 turns
    (root / ".claw" / "settings.json").write_text(
        json.dumps({"permissionMode": mode, "maxTurns": 1000}), encoding="utf-8"
    )
    trust(root)  # the folder's own permissionMode applies once the user trusts it
    scripts: dict[str, list[Response]] = {}
    scenarios = []
    for case in cases:
        assert case.id not in scripts, f"duplicate case id {case.id}"
        for rel, data in case.files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if rel not in case.absent:
                path.write_bytes(data)
        scripts[case.id] = _steps(case, root)
        opened = case.opened()
        start = case.start or {"kind": "ask", "file": opened[0] if opened else None}
        if start.get("kind") == "ask":
            start = {**start, "prompt": f"{case.prompt} [eglot-case {case.id}]"}
        assert start.get("file"), f"{case.id}: a run starts from a visited file"
        scenarios.append(
            {
                "id": case.id,
                "idle": case.idle,
                "open": opened,
                "watch": case.watched(),
                "start": start,
                "answers": case.answers,
                "timeout": case_timeout(case, per_case_timeout),
                "bump": case.bump,
            }
        )
    # Every batch on this fake API answers from one registry: responders a previous batch queued
    # and nobody used (the slack) must answer this batch's cases too.
    registry = _SCRIPTS.setdefault(fake_api, {})
    registry.update(scripts)
    fake_api.queue(*([responder(registry)] * sum(len(s) + 2 for s in scripts.values())))
    state = root.parent / "eglot-state"
    out = state / "out"
    home = state / "home"
    home.mkdir(parents=True, exist_ok=True)
    spec = state / "batch.json"
    spec.write_text(
        json.dumps(
            {
                "server": str(SERVER),
                "workspace": str(root),
                "out": str(out),
                "timeout": per_case_timeout,
                "scenarios": scenarios,
            }
        ),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        **fake_api.env(),
        "CLAW_EGLOT_BATCH": str(spec),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    budget = 60 + sum(case_timeout(case, per_case_timeout) for case in cases)
    try:
        proc = subprocess.run(
            ["emacs", "--batch", "-l", str(BATCH)],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=budget,
            check=False,
        )
        log = f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr[-20000:]}"
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else str(exc.stderr)
        log = f"emacs still running after {budget}s\n--- stderr ---\n{stderr[-20000:]}"
    (state / "emacs.log").write_text(log, encoding="utf-8")
    records: dict[str, dict[str, Any]] = {}
    results_file = out / "results.jsonl"
    if results_file.exists():
        for line in results_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                records[record["id"]] = record
    by_case: dict[str, list[RecordedRequest]] = {}
    for req in list(fake_api.requests):
        case_id, _step = _case_of(req)
        if case_id in scripts:
            by_case.setdefault(case_id, []).append(req)
    outcomes = []
    for case in cases:
        record = records.get(case.id) or {"id": case.id, "error": f"no result recorded; {log[-6000:]}"}
        outcomes.append(Outcome(case, record, out, root, tool_results(by_case.get(case.id, []))))
    return outcomes


def _diff(expected: bytes, actual: bytes, limit: int = 3000) -> str:
    lines = difflib.unified_diff(
        _decode(expected).splitlines(keepends=True),
        _decode(actual).splitlines(keepends=True),
        "expected",
        "emacs buffer",
        n=2,
    )
    shown = "".join(repr(line)[1:-1] + "\n" for line in lines)
    return shown[:limit] + ("..." if len(shown) > limit else "")


def _own_words(body: str) -> str:
    """A tool_result without the file lines it quotes (`cat -n` snippet lines)."""
    return "\n".join(line for line in body.splitlines() if not SNIPPET_LINE.match(line))


def problems(outcome: Outcome) -> list[str]:
    """Every way the outcome misses the target behaviour (empty: it meets it)."""
    case, record, root = outcome.case, outcome.record, outcome.root
    found: list[str] = []
    if record.get("error"):
        found.append(f"driver: {record['error']}")
    if record.get("stop") != "end_turn":
        found.append(f"run ended with {record.get('stop')!r}, logs {record.get('logs')}")
    expected = expected_texts(case, root)
    files = {f["file"]: f for f in record.get("files", [])}
    for rel in case.opened():
        disk = (root / rel).read_bytes() if (root / rel).exists() else None
        if disk != case.files[rel]:
            found.append(f"{rel}: the file on disk changed while Emacs had it open")
        saved = outcome.saved(rel)
        if saved is None:
            found.append(f"{rel}: no buffer recorded")
            continue
        if saved != expected[rel]:
            plain = outcome.plain(rel) or b""
            found.append(
                f"{rel}: the buffer (coding {files.get(rel, {}).get('coding')}) is not the reference "
                f"text; buffer as Emacs holds it: {plain[-300:]!r}\n{_diff(expected[rel], saved)}"
            )
        want_modified = expected[rel] != case.files[rel]
        if rel in files and bool(files[rel].get("modified")) != want_modified:
            found.append(f"{rel}: buffer modified={files[rel].get('modified')}, expected {want_modified}")
    watched = {w["file"]: w for w in record.get("watched", [])}
    for rel in case.watched():
        disk = (root / rel).read_bytes() if (root / rel).exists() else None
        if disk != expected[rel]:
            shown = _diff(expected[rel], disk) if disk is not None else "<missing>"
            found.append(f"{rel} (not visited): the disk does not hold the reference text\n{shown}")
        info = watched.get(rel, {})
        if info.get("modified"):
            found.append(f"{rel} (not visited): Emacs got a modified buffer for it (edit sent to the editor)")
    for prompt in record.get("confirms", []):
        found.append(
            f"eglot asked to confirm an edit (a TextDocumentEdit for a file it does not visit): {prompt}"
        )
    for question in record.get("unexpected", []):
        found.append(f"unexpected question: {question}")
    if record.get("bumped", 0) != case.bump:
        found.append(f"{record.get('bumped')} applyEdits found a moved-on version, expected {case.bump}")
    if record.get("unanswered"):
        found.append(f"{record['unanswered']} showMessageRequest answers were never asked for")
    results = outcome.results
    names = [name for name, *_ in results]
    wanted = [name for name, _ in case.calls]
    if [n for n in names if n != "Read"] != wanted:
        found.append(f"the model's calls got results {names}, expected Read(s) then {wanted}")
    calls_seen = [r for r in results if r[0] != "Read"]
    for name, _args, body, is_error in results:
        bad = [w for w in REFUSALS if w in _own_words(body)] if name in EDIT_TOOLS else []
        if is_error or bad:
            found.append(f"tool_result of {name} (is_error={is_error}, says {bad}): {body[:800]}")
    for index, needle in case.tool_output.items():
        if index >= len(calls_seen) or needle not in calls_seen[index][2]:
            got = calls_seen[index][2][:800] if index < len(calls_seen) else "<no result>"
            found.append(f"tool_result of call {index} does not hold {needle!r}: {got}")
    return found


def report(outcomes: Sequence[Outcome], events_tail: int = 5000, limit: int = 12) -> str:
    """A readable account of the failing cases, the first `limit` in full (empty: all passed)."""
    parts = []
    failing = [o for o in outcomes if problems(o)]
    for outcome in failing[limit:]:
        parts.append(f"=== case {outcome.case.id}: {problems(outcome)[0][:400]}")
    for outcome in failing[:limit]:
        found = problems(outcome)
        calls = json.dumps(outcome.case.calls, ensure_ascii=False)
        parts.append(
            f"=== case {outcome.case.id} ({len(found)} problems)\n"
            + "\n".join(f"- {p}" for p in found)
            + f"\ncalls: {calls[:2000]}\n"
            + "tool_results: "
            + json.dumps([(n, b[:400], e) for n, _a, b, e in outcome.results], ensure_ascii=False)[:3000]
            + f"\n--- eglot events / server stderr (tail) ---\n{outcome.events()[-events_tail:]}\n"
        )
    return "\n".join(parts)


def assert_all_pass(outcomes: Sequence[Outcome]) -> None:
    failing = [o.case.id for o in outcomes if problems(o)]
    assert not failing, f"{len(failing)} of {len(outcomes)} cases failed: {failing}\n\n{report(outcomes)}"
