"""The language server over stdio: startup, memory, code action latency under a run, didChange rate.

`claw-lsp` is driven by the test editor of tests/lsp/client.py (pytest-lsp: it applies edits,
answers message requests, takes `claw/event`s). The baseline is a bare pygls server written to a
temp file and run by the same Python: incremental sync and a code action handler, nothing else.
The busy case starts a `claw.ask` run with the scripted provider that streams text as fast as a
very fast model (about 1,000 `claw/event` notifications a second) with Grep calls between turns,
and times code actions while it streams; its baseline is the same server idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from bench.common import median, table
from tests.lsp.client import ClawClient, capabilities, make_client

CLAW_CMD = [str(Path(sys.executable).parent / "claw-lsp")]
BARE_SERVER = '''
"""A bare pygls server: incremental sync and one code action."""
from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("bare", "0", text_document_sync_kind=types.TextDocumentSyncKind.Incremental)


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION)
def code_action(ls, params):
    return [types.CodeAction(title="Bare action", kind=types.CodeActionKind.RefactorRewrite)]


server.start_io()
'''
STARTS = 3
REQUESTS = 200  # enough for a p99 (the figure) that is not just the maximum
CHANGES = 400
BURSTS = 3  # best of
DOC_LINES = 100_000
TEXT_CHARS = 32_000  # per scripted turn: 2,000 deltas of 16 characters
TIMEOUT_S = 30.0
EDIT_ROUNDS = 3
SETTLE_S = 2.5  # claw-lsp imports the model SDK in a thread for about a second after initialize


def _rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _pid(client: LanguageClient) -> int:
    server = client._server
    assert server is not None
    return server.pid


@contextlib.asynccontextmanager
async def _session(
    command: list[str], workspace: Path, env: dict[str, str], options: dict[str, Any]
) -> AsyncIterator[tuple[ClawClient, float]]:
    """A started, initialized server and the seconds from spawn to `initialize` answered."""
    client = make_client()
    start = time.perf_counter()
    await client.start_io(*command, env=env)
    server = client._server
    assert server is not None
    try:
        await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=capabilities("visual-studio-code"),
                    client_info=types.ClientInfo(name="visual-studio-code"),
                    root_uri=workspace.as_uri(),
                    workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)],
                    initialization_options=options,
                )
            ),
            TIMEOUT_S,
        )
        elapsed = time.perf_counter() - start
        yield client, elapsed
        # Let the server finish its `initialized` work (asking for configuration) before shutdown.
        await asyncio.sleep(0.3)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), 10)
        if server.returncode is None:
            server.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.stop(), 5)


async def _code_action_latencies(client: ClawClient, uri: str, gap: float) -> list[float]:
    """Seconds per textDocument/codeAction, `REQUESTS` of them, `gap` seconds apart."""
    rng = types.Range(start=types.Position(line=3, character=0), end=types.Position(line=6, character=0))
    times = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        await asyncio.wait_for(client.code_actions(uri, rng), TIMEOUT_S)
        times.append(time.perf_counter() - start)
        await asyncio.sleep(gap)
    return times


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[-1]


def _script(path: Path, turns: int) -> None:
    """A model that streams TEXT_CHARS of text per turn, then calls Grep (read-only, no prompt)."""
    text = " ".join(f"word{i}" for i in range(TEXT_CHARS // 8))[:TEXT_CHARS]
    grep = {"type": "tool_use", "name": "Grep", "input": {"pattern": "def ", "output_mode": "content"}}
    lines = [
        json.dumps({"content": [{"type": "text", "text": text}, grep], "delay_ms": 10}) for _ in range(turns)
    ]
    lines.append(json.dumps({"content": [{"type": "text", "text": "Done."}]}))
    path.write_text("\n".join(lines) + "\n")


async def _startup(
    rows: list[tuple[str, str, str, str]], ws: Path, env: dict[str, str], bare: list[str]
) -> None:
    times: dict[str, list[float]] = {"claw": [], "bare": []}
    rss: dict[str, list[float]] = {"claw": [], "bare": []}
    settled: dict[str, int] = {}
    for round_ in range(STARTS):
        for name, command in (("claw", CLAW_CMD), ("bare", bare)):
            async with _session(command, ws, env, {}) as (client, elapsed):
                times[name].append(elapsed)
                rss[name].append(_rss_kib(_pid(client)))
                if round_ == 0:
                    await asyncio.sleep(SETTLE_S)
                    settled[name] = _rss_kib(_pid(client))
    t_claw, t_bare = median(times["claw"]), median(times["bare"])
    rows.append(
        (
            f"startup: spawn -> initialize answered (median of {STARTS})",
            f"{t_claw * 1e3:.0f} ms",
            f"{t_bare * 1e3:.0f} ms",
            f"{t_claw / t_bare:.2f}",
        )
    )
    m_claw, m_bare = median(rss["claw"]), median(rss["bare"])
    rows.append(
        (
            "RSS after initialize",
            f"{m_claw / 1024:.1f} MiB",
            f"{m_bare / 1024:.1f} MiB",
            f"{m_claw / m_bare:.2f}",
        )
    )
    s_claw, s_bare = settled["claw"], settled["bare"]
    rows.append(
        (
            f"RSS {SETTLE_S} s after initialize (SDK warmed up)",
            f"{s_claw / 1024:.1f} MiB",
            f"{s_bare / 1024:.1f} MiB",
            f"{s_claw / s_bare:.2f}",
        )
    )


async def _responsiveness(rows: list[tuple[str, str, str, str]], ws: Path, env: dict[str, str]) -> None:
    script = ws.parent / "script.jsonl"
    _script(script, turns=6)
    options = {
        "provider": "scripted",
        "scriptPath": str(script),
        "permissionMode": "acceptEdits",
        "clientFeatures": {"event": True},
    }
    source = ws / "app.py"
    async with _session(CLAW_CMD, ws, env, options) as (client, _):
        uri = client.open(source).uri
        await asyncio.sleep(SETTLE_S)
        await _code_action_latencies(client, uri, 0.0)  # warm up
        idle = await _code_action_latencies(client, uri, 0.02)
        result = await asyncio.wait_for(client.command("claw.ask", {"prompt": "Stream a lot."}), TIMEOUT_S)
        run_id = result["runId"]
        # Wait for the stream to start, then time requests while it flows.
        deadline = time.monotonic() + TIMEOUT_S
        while len(client.events) < 50 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        before = len(client.events)
        busy = await _code_action_latencies(client, uri, 0.02)
        streamed = len(client.events) - before
        still_running = client.finished(run_id) is None
        await client.command("claw.cancel", {"runId": run_id})
    if not still_running:
        print("warning: the run finished before the busy measurements did; lengthen the script")
    for label, fn in (("median", median), ("p99", _p99)):
        i, b = fn(idle), fn(busy)
        rows.append(
            (
                f"codeAction {label}: streaming run vs idle",
                f"{b * 1e3:.2f} ms",
                f"{i * 1e3:.2f} ms",
                f"{b / i:.2f}",
            )
        )
    rows.append((f"  ({streamed} claw/event notifications during the {REQUESTS} busy requests)", "", "", ""))


async def _did_change_rate(
    rows: list[tuple[str, str, str, str]], ws: Path, env: dict[str, str], bare: list[str]
) -> None:
    path = ws / "big.py"
    path.write_text("".join(f"value_{i} = compute({i})  # a line of a big file\n" for i in range(DOC_LINES)))
    per_change: dict[str, float] = {}
    servers = [("claw", CLAW_CMD, env), ("bare", bare, env)]
    before = os.environ.get("CLAW_BENCH_BEFORE")  # a tree holding an older claw_lsp/ (README)
    if before:
        servers.append(("before", CLAW_CMD, {**env, "PYTHONPATH": before}))
    for name, command, server_env in servers:
        async with _session(command, ws, server_env, {}) as (client, _):
            doc = client.open(path)
            rng = types.Range(
                start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
            )
            await client.code_actions(doc.uri, rng)
            await asyncio.sleep(SETTLE_S)  # steady state: claw-lsp's SDK warm-up is over
            bursts = []
            for _ in range(BURSTS):
                start = time.perf_counter()
                for n in range(CHANGES):
                    pos = types.Position(line=(n * 37) % DOC_LINES, character=0)
                    doc.version += 1
                    client.text_document_did_change(
                        types.DidChangeTextDocumentParams(
                            text_document=types.VersionedTextDocumentIdentifier(
                                uri=doc.uri, version=doc.version
                            ),
                            content_changes=[
                                types.TextDocumentContentChangePartial(
                                    range=types.Range(start=pos, end=pos), text="x"
                                )
                            ],
                        )
                    )
                await asyncio.wait_for(client.code_actions(doc.uri, rng), 60)
                bursts.append((time.perf_counter() - start) / CHANGES)
            per_change[name] = min(bursts)
    c, b = per_change["claw"], per_change["bare"]
    rows.append(
        (
            f"didChange: {CHANGES} edits to {DOC_LINES} lines, per change (best of {BURSTS})",
            f"{c * 1e6:.0f} us",
            f"{b * 1e6:.0f} us",
            f"{c / b:.2f}",
        )
    )
    if before:
        o = per_change["before"]
        rows.append(
            (
                f"didChange per change vs claw-lsp from {before}",
                f"{c * 1e6:.0f} us",
                f"{o * 1e6:.0f} us",
                f"{c / o:.3f}",
            )
        )


class _TimedEvents(list[dict[str, Any]]):
    """The client's event list, with the arrival time of each event."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, item: dict[str, Any]) -> None:
        self.times.append(time.perf_counter())
        super().append(item)


def _edit_seconds(client: ClawClient, events: _TimedEvents) -> float:
    """From the last Edit's tool_call to its completed tool_call_update, as the client saw them."""
    start = None
    spans = []
    for event, at in zip(list(events), list(events.times), strict=False):
        update = event.get("update", {})
        kind = update.get("sessionUpdate")
        if kind == "tool_call" and update.get("title", "").startswith(("Edit", "Editing")):
            start = at
        elif kind == "tool_call_update" and start is not None and update.get("status") == "completed":
            spans.append(at - start)
            start = None
    if not spans:
        raise RuntimeError("no completed Edit in the run's events")
    return spans[-1]


async def _edit_big(rows: list[tuple[str, str, str, str]], ws: Path, env: dict[str, str]) -> None:
    """A one-line Edit of a 100,000-line file, end to end in the server: closed (written to disk)
    and open in the editor (a workspace/applyEdit the test editor applies, then its didChange)."""
    big = ws / "big_edit.py"
    figures: dict[str, list[float]] = {"on disk": [], "open in the editor": []}
    # The test editor's own work (applying the edit to its 6 MB string, sending didChange) is part
    # of the figure the client sees; a real editor does it in its own process. "in the server" is
    # the open-file figure without the time the test editor spent in its applyEdit handler.
    server_only: list[float] = []
    for n in range(EDIT_ROUNDS):
        for where, values in figures.items():
            big.write_text("".join(f"value_{i} = compute({i})  # line {i}\n" for i in range(DOC_LINES)))
            script = ws.parent / "edit-script.jsonl"
            edit = {"file_path": str(big), "old_string": "value_50000 =", "new_string": f"renamed_{n} ="}
            # A first Edit elsewhere warms the server (pygls builds its applyEdit converters on first
            # use); the second is the one measured.
            warm = {"file_path": str(big), "old_string": "value_10 =", "new_string": "warm_10 ="}
            turns = [
                {"content": [{"type": "tool_use", "name": "Read", "input": {"file_path": str(big)}}]},
                {"content": [{"type": "tool_use", "name": "Edit", "input": warm}]},
                {"content": [{"type": "tool_use", "name": "Edit", "input": edit}]},
                {"content": [{"type": "text", "text": "Done."}]},
            ]
            script.write_text("\n".join(json.dumps(t) for t in turns) + "\n")
            options = {
                "provider": "scripted",
                "scriptPath": str(script),
                "permissionMode": "acceptEdits",
                "clientFeatures": {"event": True},
            }
            async with _session(CLAW_CMD, ws, env, options) as (client, _):
                events = _TimedEvents()
                client.events = events
                in_editor: list[float] = []
                apply = client.apply_workspace_edit

                def timed_apply(params: Any, apply: Any = apply, spent: list[float] = in_editor) -> Any:
                    start = time.perf_counter()
                    try:
                        return apply(params)
                    finally:
                        spent.append(time.perf_counter() - start)

                client.apply_workspace_edit = timed_apply  # type: ignore[method-assign]
                if where == "open in the editor":
                    client.open(big)
                await asyncio.sleep(SETTLE_S if n == 0 else 0.5)
                result = await asyncio.wait_for(client.command("claw.ask", {"prompt": "Rename."}), TIMEOUT_S)
                deadline = time.monotonic() + TIMEOUT_S
                while client.finished(result["runId"]) is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                values.append(_edit_seconds(client, events))
                if where == "open in the editor":
                    server_only.append(values[-1] - in_editor[-1])  # the measured Edit's applyEdit
    figures["open in the editor, in the server"] = server_only
    for where, values in figures.items():
        rows.append(
            (
                f"one-line Edit of {DOC_LINES} lines, {where} (median of {EDIT_ROUNDS})",
                f"{median(values) * 1e3:.1f} ms",
                "10 ms",
                f"{median(values) / 0.010:.2f}",
            )
        )


async def _main() -> None:
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="claw-bench-server-") as tmp:
        root = Path(tmp).resolve()
        ws = root / "ws"
        ws.mkdir()
        (ws / "app.py").write_text("".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(70)))
        bare_py = root / "bare_server.py"
        bare_py.write_text(BARE_SERVER)
        bare = [sys.executable, str(bare_py)]
        env = {**os.environ}
        for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
            (root / name).mkdir()
            env[name] = str(root / name)
        for key in (
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_BASE_URL",
            "OPENAI_API_KEY",
            "CLAW_MODEL",
            "CLAW_PROVIDER",
        ):
            env.pop(key, None)
        await _startup(rows, ws, env, bare)
        await _responsiveness(rows, ws, env)
        await _did_change_rate(rows, ws, env, bare)
        await _edit_big(rows, ws, env)
    table(rows)


def main() -> None:
    """Print startup, memory, latency and throughput ratios against the bare server."""
    asyncio.run(_main())


if __name__ == "__main__":
    main()
