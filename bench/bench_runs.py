"""Memory over many runs: the server's RSS after 1,000 finished runs against its RSS after 100.

Finished runs are pruned from `RunManager.runs` (their handle, applier, reviewer and diagnostics
baseline go), so memory should stay flat: the ratio is close to 1. Each run is a `claw.ask` on
the same session with the scripted provider answering one short turn; the runs go one after the
other (the next starts when `run_finished` arrived).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from bench.bench_server import CLAW_CMD, TIMEOUT_S, _pid, _rss_kib, _session
from bench.common import table
from tests.lsp.client import ClawClient

RUNS = 1000
FIRST = 100


async def _finished(client: ClawClient, run_id: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        for event in client.events:
            if event.get("runId") == run_id and event["update"].get("sessionUpdate") == "run_finished":
                return
        await asyncio.sleep(0.005)
    raise TimeoutError(f"run {run_id} did not finish")


async def _measure(ws: Path, env: dict[str, str]) -> tuple[int, int, float]:
    script = ws.parent / "script.jsonl"
    script.write_text(
        "".join(json.dumps({"content": [{"type": "text", "text": "Done."}]}) + "\n" for _ in range(RUNS))
    )
    options = {"provider": "scripted", "scriptPath": str(script), "clientFeatures": {"event": True}}
    async with _session(CLAW_CMD, ws, env, options) as (client, _):
        await asyncio.sleep(2.5)  # the SDK warm-up import
        rss_first = 0
        start = time.perf_counter()
        for i in range(RUNS):
            result = await asyncio.wait_for(client.command("claw.ask", {"prompt": f"run {i}"}), TIMEOUT_S)
            await _finished(client, result["runId"])
            client.events.clear()
            if i + 1 == FIRST:
                await asyncio.sleep(0.5)
                rss_first = _rss_kib(_pid(client))
        per_run = (time.perf_counter() - start) / RUNS
        await asyncio.sleep(0.5)
        return rss_first, _rss_kib(_pid(client)), per_run


def main() -> None:
    """Run RUNS runs; print RSS after FIRST and after RUNS runs."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws = root / "ws"
        ws.mkdir()
        env = dict(os.environ)
        for var in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
            env[var] = str(root / var.lower())
        first, last, per_run = asyncio.run(_measure(ws, env))
    table(
        [
            (
                f"RSS after {RUNS} runs vs after {FIRST} (same session)",
                f"{last / 1024:.1f} MiB",
                f"{first / 1024:.1f} MiB",
                f"{last / first:.3f}",
            ),
            (
                f"growth per run over the last {RUNS - FIRST} runs",
                f"{(last - first) / (RUNS - FIRST):.2f} KiB",
                "-",
                "-",
            ),
            ("time per run (ask -> run_finished)", f"{per_run * 1e3:.1f} ms", "-", "-"),
        ]
    )


if __name__ == "__main__":
    main()
