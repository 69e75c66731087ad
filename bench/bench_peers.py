"""claw against the peers a user would pick instead, in the same run: Claude Code and language servers.

`-p` tasks: claw (`claw -p ... --output-format json`) and Claude Code's native binary
(`claude -p ... --output-format json`), each against its own standalone fake Messages API
replaying the same turns, in a fresh copy of the same workspace, with a temp HOME and
`CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`. Runs are paired and alternate which goes first;
the table shows medians and claw / Claude Code. Wall is spawn to exit; CPU and peak RSS come
from `os.wait4` (the process and the children it waited for).

Language servers: claw-lsp, the Copilot language server, jedi-language-server and a bare pygls
server, each spawned, sent `initialize` (timed to its answer) and `initialized`, then left idle
for SETTLE_S before its RSS (the process tree's) is read; rounds rotate the order.

Peers come from scripts/setup-peers.sh (~/.cache/claw-bench). Also reports the floor of claw's
`-p` start: `python -c "import anthropic"` timed the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_server import BARE_SERVER
from bench.common import median, table
from bench.peers import (
    CLAW_LSP,
    COPILOT_LS,
    JEDI_LS,
    RawServer,
    Usage,
    claude_p,
    claw_p,
    clean_env,
    fake_api,
    missing_peers,
    model_env,
    read_requests,
    run_measured,
    setup_peers,
    tree_rss_kib,
)

ROUNDS_SHORT = 5
ROUNDS_LONG = 3
LS_ROUNDS = 3
SETTLE_S = 2.5
FILE_LINES = 40
PROMPT = "Rename the values in app.py as the plan says, then say what you did."


def _workspace(root: Path) -> Path:
    ws = root / "ws"
    ws.mkdir()
    (ws / "app.py").write_text("".join(f"value_{i} = compute({i})\n" for i in range(FILE_LINES)))
    (ws / "util.py").write_text("def compute(n):\n    return n * 2\n")
    return ws


def _tool(n: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "content": [{"type": "tool_use", "id": f"toolu_bench_{n:03d}", "name": name, "input": args}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 100, "output_tokens": 20},
    }


def short_script(ws: Path) -> list[dict[str, Any]]:
    """3 turns: Read app.py, Edit one line, answer."""
    app = str(ws / "app.py")
    return [
        _tool(1, "Read", {"file_path": app}),
        _tool(2, "Edit", {"file_path": app, "old_string": "value_0 =", "new_string": "renamed_0 ="}),
        {"content": [{"type": "text", "text": "Renamed value_0."}]},
    ]


def long_script(ws: Path, turns: int = 21) -> list[dict[str, Any]]:
    """`turns` turns: Read, then Edits, Greps and Globs in turn, then an answer."""
    app = str(ws / "app.py")
    script = [_tool(1, "Read", {"file_path": app})]
    for n in range(2, turns):
        k = n - 2
        if n % 3 == 2:
            edit = {"file_path": app, "old_string": f"value_{k} =", "new_string": f"renamed_{k} ="}
            script.append(_tool(n, "Edit", edit))
        elif n % 3 == 0:
            script.append(_tool(n, "Grep", {"pattern": f"value_{k + 1}", "output_mode": "content"}))
        else:
            script.append(_tool(n, "Glob", {"pattern": "**/*.py"}))
    script.append({"content": [{"type": "text", "text": "Renamed the values."}]})
    return script


def _one_p(kind: str, make_script: Any, root: Path, index: int) -> tuple[Usage, list[dict[str, Any]]]:
    run_root = root / f"{kind}-{index}"
    run_root.mkdir(parents=True)
    ws = _workspace(run_root)
    env = clean_env(run_root)
    with fake_api(make_script(ws), run_root) as (url, log):
        command = claw_p(PROMPT) if kind == "claw" else claude_p(PROMPT)
        usage = run_measured(command, ws, model_env(env, url))
    result = json.loads(usage.stdout.strip().splitlines()[-1]) if usage.stdout.strip() else {}
    if usage.status != 0 or result.get("is_error") is not False:
        raise RuntimeError(f"{kind} -p failed ({usage.status}): {usage.stdout[-500:]}")
    if "renamed_0" not in (ws / "app.py").read_text():
        raise RuntimeError(f"{kind} -p did not make the edit")
    return usage, read_requests(log)


def p_task(
    label: str, make_script: Any, rounds: int, root: Path
) -> tuple[list[tuple[str, str, str, str]], dict[str, list[Usage]]]:
    """Paired, alternating `-p` runs of claw and Claude Code; rows of medians and ratios."""
    results: dict[str, list[Usage]] = {"claw": [], "claude": []}
    for i in range(rounds):
        order = ("claw", "claude") if i % 2 == 0 else ("claude", "claw")
        for kind in order:
            results[kind].append(_one_p(kind, make_script, root, i)[0])
    rows = []
    for what, get, unit in (
        ("wall", lambda u: u.wall, "s"),
        ("CPU", lambda u: u.cpu, "s"),
        ("peak RSS", lambda u: u.maxrss_kib / 1024, "MiB"),
    ):
        c = median([get(u) for u in results["claw"]])
        p = median([get(u) for u in results["claude"]])
        fmt = "{:.2f} " + unit if unit == "s" else "{:.1f} " + unit
        rows.append((f"{label}: {what} (median of {rounds})", fmt.format(c), fmt.format(p), f"{c / p:.2f}"))
    return rows, results


FLOOR_PLAIN = "import anthropic"
# How claw imports it: the cyclic collector off meanwhile (claw_lsp/core/startup.py).
FLOOR_AS_CLAW = "import gc; gc.disable(); import anthropic"


def import_floor(root: Path, code: str = FLOOR_AS_CLAW, rounds: int = 5) -> tuple[float, float]:
    """Median wall and CPU seconds of `python -c <code>` (the SDK's import): the floor under `-p`."""
    runs = [run_measured([sys.executable, "-c", code], root, dict(os.environ)) for _ in range(rounds)]
    return median([u.wall for u in runs]), median([u.cpu for u in runs])


def _servers(root: Path) -> dict[str, tuple[list[str], Any]]:
    bare_py = root / "bare_server.py"
    bare_py.write_text(BARE_SERVER)
    copilot_opts = {
        "editorInfo": {"name": "vscode", "version": "1.100.0"},
        "editorPluginInfo": {"name": "copilot", "version": "1.0.0"},
    }
    return {
        "claw-lsp": ([str(CLAW_LSP)], None),
        "copilot-language-server": ([str(COPILOT_LS), "--stdio"], copilot_opts),
        "jedi-language-server": ([str(JEDI_LS)], None),
        "bare pygls": ([sys.executable, str(bare_py)], None),
    }


def ls_start(root: Path) -> list[tuple[str, str, str, str]]:
    """Start to `initialize` answered and idle RSS, claw-lsp against each peer server."""
    root.mkdir(parents=True, exist_ok=True)
    servers = _servers(root)
    names = list(servers)
    start: dict[str, list[float]] = {n: [] for n in names}
    rss: dict[str, list[float]] = {n: [] for n in names}
    early: dict[str, list[float]] = {n: [] for n in names}
    for i in range(LS_ROUNDS):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            run_root = root / f"ls-{i}-{name.replace(' ', '_')}"
            run_root.mkdir(parents=True)
            ws = _workspace(run_root)
            command, options = servers[name]
            server = RawServer(command, ws, clean_env(run_root))
            try:
                start[name].append(server.initialize(ws, options))
                early[name].append(tree_rss_kib(server.proc.pid) / 1024)
                time.sleep(SETTLE_S)
                rss[name].append(tree_rss_kib(server.proc.pid) / 1024)
            finally:
                server.close()
    rows = []
    c_start, c_early, c_rss = median(start["claw-lsp"]), median(early["claw-lsp"]), median(rss["claw-lsp"])
    for peer in names[1:]:
        p_start, p_early, p_rss = median(start[peer]), median(early[peer]), median(rss[peer])
        rows.append(
            (
                f"LS start -> initialize answered vs {peer}",
                f"{c_start * 1e3:.0f} ms",
                f"{p_start * 1e3:.0f} ms",
                f"{c_start / p_start:.2f}",
            )
        )
        rows.append(
            (
                f"LS RSS at initialize vs {peer}",
                f"{c_early:.1f} MiB",
                f"{p_early:.1f} MiB",
                f"{c_early / p_early:.2f}",
            )
        )
        rows.append(
            (
                f"LS idle RSS {SETTLE_S} s later vs {peer}",
                f"{c_rss:.1f} MiB",
                f"{p_rss:.1f} MiB",
                f"{c_rss / p_rss:.2f}",
            )
        )
    return rows


def main() -> None:
    """Print claw / peer ratios for the `-p` tasks and the language servers."""
    if missing_peers():
        setup_peers()
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="claw-bench-peers-") as tmp:
        root = Path(tmp).resolve()
        plain_wall, plain_cpu = import_floor(root, FLOOR_PLAIN)
        floor_wall, floor_cpu = import_floor(root)
        short, runs = p_task(
            "3-turn -p (Read, Edit, answer) vs Claude Code", short_script, ROUNDS_SHORT, root / "s"
        )
        rows += short
        claw_wall = median([u.wall for u in runs["claw"]])
        claw_cpu = median([u.cpu for u in runs["claw"]])
        rows.append(
            ("  python -c 'import anthropic': wall, CPU", f"{plain_wall:.2f} s", f"{plain_cpu:.2f} s", "")
        )
        rows.append(
            (
                "  floor: the same, collector off (as claw): wall, CPU",
                f"{floor_wall:.2f} s",
                f"{floor_cpu:.2f} s",
                "",
            )
        )
        rows.append(
            (
                "  claw 3-turn above the floor: wall, CPU",
                f"{claw_wall - floor_wall:.2f} s",
                f"{claw_cpu - floor_cpu:.2f} s",
                "",
            )
        )
        rows += p_task("21-turn -p vs Claude Code", long_script, ROUNDS_LONG, root / "l")[0]
        rows += ls_start(root / "ls")
        for sub in ("s", "l", "ls"):
            shutil.rmtree(root / sub, ignore_errors=True)
    table(rows)


if __name__ == "__main__":
    main()
