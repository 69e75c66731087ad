"""Cost grows with work, not history: a 200-turn `-p` session with a compaction, claw beside Claude Code.

One `-p` run per CLI against an in-process fake Messages API whose responder answers each turn
with a cheap tool call (Glob, Grep or Read in turn, then a final answer after TURNS turns) and, at
turn COMPACT_AT, reports a context near the model's window so the CLI compacts. At every request
the responder reads the CLI process's CPU time (/proc/PID/stat), so the harness CPU spent between
two requests (tool runs, bookkeeping, building the next request; the fake answers at once) is
known per turn. Printed for each CLI: median CPU per turn around turn 10 and around turn 200 and
their ratio; how much of each request's bytes is an identical prefix of the previous request's
(prompt caching holds while that is near 100%: median, minimum, and how many fall below 95%,
compaction excluded); the most `cache_control` breakpoints in any request.

claw compacts only when the older turns hold more than it keeps verbatim: with this session's
small turns it answers the inflated context with "Nothing to compact yet" and sends no summary
request (the first row shows whether a CLI sent one).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import statistics
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from bench.common import table
from bench.peers import CLAUDE, claude_p, claw_p, clean_env, missing_peers, setup_peers
from claw_lsp.workspace.textio import common_length
from tests.fakes.fake_messages_api import FakeMessagesAPI, RecordedRequest

TURNS = 200
COMPACT_AT = 100
WINDOW = 20  # turns averaged at each end
PROMPT = "Look around the project, one tool call at a time, then say what you found."
_CLK = os.sysconf("SC_CLK_TCK")
_SUMMARY_ASK = re.compile(r"(create|write|provide|produce) an? (detailed |concise |brief )?summary", re.I)


def _cpu_seconds(pid: int) -> float:
    """CPU seconds of a process: its threads' run time in nanoseconds (/proc/PID/task/*/schedstat;
    utime and stime come in 10 ms ticks, as coarse as a whole turn) plus its waited-for children's
    (cutime, cstime: ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    children = sum(int(f) for f in fields[13:15]) / _CLK
    threads = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            threads += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return threads / 1e9 + children


def _asks_for_summary(body: dict[str, Any]) -> bool:
    """A compaction request sent with the tools (Claude Code keeps them, for the cache): its last
    user message asks for a summary in a text block."""
    messages = body.get("messages") or []
    content = messages[-1].get("content") if messages else None
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    texts = [b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]
    return any(_SUMMARY_ASK.search(t) for t in texts)


class _Session:
    """The responder: one scripted turn per main request, the CPU and bytes of each request."""

    def __init__(self, ws: Path) -> None:
        self.ws = ws
        self.pid: int | None = None
        self.turn = 0
        self.lock = threading.Lock()
        self.main: list[tuple[int, float, bytes, dict[str, Any]]] = []  # (turn, cpu, raw, body)
        self.side = 0  # requests without tools (compaction summaries, titles...)

    def __call__(self, req: RecordedRequest) -> dict[str, Any]:
        cpu = _cpu_seconds(self.pid) if self.pid else 0.0
        body = req.body
        with self.lock:
            if not body.get("tools") or _asks_for_summary(body):
                self.side += 1
                return {"content": [{"type": "text", "text": "Summary: the agent globbed and grepped."}]}
            self.turn += 1
            n = self.turn
            self.main.append((n, cpu, req.raw, body))
        usage = {"input_tokens": 2_000 + 50 * n, "output_tokens": 20}
        if n == COMPACT_AT:
            usage["input_tokens"] = 990_000  # near every model's window: both CLIs compact
        if n >= TURNS:
            return {"content": [{"type": "text", "text": "Found the modules."}], "usage": usage}
        k = n % 3
        if k == 0:
            name, args = "Glob", {"pattern": "**/*.py"}
        elif k == 1:
            name, args = "Grep", {"pattern": f"value_{n % 40}", "output_mode": "files_with_matches"}
        else:
            name, args = "Read", {"file_path": str(self.ws / "app.py"), "limit": 5}
        block = {"type": "tool_use", "id": f"toolu_hist_{n:04d}", "name": name, "input": args}
        return {"content": [block], "stop_reason": "tool_use", "usage": usage}


def _run(kind: str, root: Path) -> _Session:
    run_root = root / kind
    run_root.mkdir(parents=True)
    ws = run_root / "ws"
    ws.mkdir()
    (ws / "app.py").write_text("".join(f"value_{i} = {i}\n" for i in range(40)))
    (ws / "util.py").write_text("def helper():\n    return 1\n")
    session = _Session(ws)
    api = FakeMessagesAPI()
    api.queue(*([session] * (TURNS + 50)))
    api.start()
    try:
        env = {
            **clean_env(run_root),
            "ANTHROPIC_BASE_URL": api.base_url
            if hasattr(api, "base_url")
            else f"http://127.0.0.1:{api.port}",
            "ANTHROPIC_API_KEY": "sk-ant-fake-bench",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
        }
        command = [*(claw_p(PROMPT) if kind == "claw" else claude_p(PROMPT)), "--max-turns", str(TURNS + 10)]
        proc = subprocess.Popen(command, cwd=ws, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        session.pid = proc.pid
        out, _ = proc.communicate(timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"{kind}: exit {proc.returncode}: {out[-400:]!r}")
    finally:
        api.stop()
    return session


def _strip_cache_control(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_cache_control(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_strip_cache_control(v) for v in value]
    return value


def _prompt(body: dict[str, Any]) -> str:
    """A request's prompt in the order the API caches it (tools, system, messages), without the
    cache_control markers (they mark where to cache; they are not part of the cached text)."""
    parts = [body.get("tools"), body.get("system"), body.get("messages")]
    return json.dumps(_strip_cache_control(parts), ensure_ascii=False)


def _figures(s: _Session) -> dict[str, str]:
    cpu = [t[1] for t in s.main]
    per_turn = [b - a for a, b in itertools.pairwise(cpu)]  # spent before request i+1
    skip = {COMPACT_AT - 1, COMPACT_AT}  # the compaction's own work
    early = [c for i, c in enumerate(per_turn[: WINDOW + 5]) if i >= 5 and i not in skip]
    late = [c for i, c in enumerate(per_turn) if i >= len(per_turn) - WINDOW and i not in skip]
    shares = []
    prompts = [_prompt(t[3]) for t in s.main]
    for i in range(1, len(s.main)):
        if s.main[i][0] == COMPACT_AT + 1:  # the first request after the compaction
            continue
        prev, cur = prompts[i - 1], prompts[i]
        shares.append(common_length(prev, cur, min(len(prev), len(cur))) / len(prev))
    breakpoints = max(json.dumps(t[3]).count('"cache_control"') for t in s.main)
    e, late_m = statistics.mean(early), statistics.mean(late)
    return {
        "turns": f"{len(s.main)} main + {s.side} without tools",
        "early": f"{e * 1e3:.1f} ms",
        "late": f"{late_m * 1e3:.1f} ms",
        "ratio": f"{late_m / e:.2f}" if e else "n/a",
        "prefix": f"{statistics.median(shares) * 100:.1f}% / {min(shares) * 100:.1f}%",
        "below": str(sum(1 for x in shares if x < 0.95)),
        "breakpoints": str(breakpoints),
        "bytes": f"{len(s.main[-1][2]) / 1024:.0f} KiB",
    }


def main() -> None:
    """Print the per-turn CPU, prefix and breakpoint figures for claw and Claude Code."""
    if missing_peers():
        setup_peers()
    with tempfile.TemporaryDirectory(prefix="claw-bench-history-") as tmp:
        root = Path(tmp).resolve()
        claw = _figures(_run("claw", root))
        peer = _figures(_run("claude", root)) if CLAUDE.exists() else None
    rows: list[tuple[str, str, str, str]] = []
    labels = [
        ("turns", "requests (with tools + without)"),
        ("early", f"harness CPU per turn, turns 5-{WINDOW + 5} (mean)"),
        ("late", f"harness CPU per turn, last {WINDOW} turns (mean)"),
        ("ratio", "  late / early (target <= 1.2)"),
        ("prefix", "prompt (tools, system, messages) shared with the previous: median / min"),
        ("below", "  requests below 95% (compaction excluded)"),
        ("breakpoints", "most cache_control breakpoints in a request"),
        ("bytes", "last request's size"),
    ]
    for key, label in labels:
        rows.append((label, claw[key], peer[key] if peer else "-", ""))
    table(rows)


if __name__ == "__main__":
    main()
