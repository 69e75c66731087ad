"""Driving the peers (Claude Code, the Copilot language server, jedi-language-server) and claw alike.

Shared by bench_peers and bench_history: where the peers live (installed by scripts/setup-peers.sh
into ~/.cache/claw-bench), a fake Messages API run as its own process for one `-p` run, a `-p` run
measured with `os.wait4` (wall, user+system CPU, peak RSS of the process and the children it
waited for), and a minimal JSON-RPC client for timing a language server's `initialize`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.fake_messages_api import standalone_command, wait_for_port_file

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("CLAW_BENCH_CACHE", Path.home() / ".cache" / "claw-bench"))
NPM = CACHE / "npm" / "node_modules"
CLAUDE = NPM / "@anthropic-ai" / "claude-code-linux-x64" / "claude"
COPILOT_LS = NPM / "@github" / "copilot-language-server-linux-x64" / "copilot-language-server"
JEDI_LS = CACHE / "jedi-venv" / "bin" / "jedi-language-server"
CLAW = Path(sys.executable).parent / "claw"
CLAW_LSP = Path(sys.executable).parent / "claw-lsp"


def setup_peers() -> None:
    """Run scripts/setup-peers.sh (a no-op once the pinned versions are in the cache)."""
    subprocess.run(["bash", str(REPO / "scripts" / "setup-peers.sh")], check=True)


def missing_peers() -> list[str]:
    """Names of the peers not installed."""
    return [str(p) for p in (CLAUDE, COPILOT_LS, JEDI_LS) if not p.exists()]


@dataclass
class Usage:
    """One process run to its end: seconds of wall and CPU, peak RSS in KiB, exit status."""

    wall: float
    cpu: float
    maxrss_kib: int
    status: int
    stdout: str


def clean_env(root: Path) -> dict[str, str]:
    """An environment with a temp HOME and XDG dirs under `root`, and no model keys or URLs."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TERM": "dumb"}
    env["HOME"] = str(root / "home")
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        env[name] = str(root / name.lower())
    for key in ("HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


def run_measured(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> Usage:
    """Run `command` to its end; wall from spawn to exit, CPU and peak RSS from wait4's rusage."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else b""))
    reader.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        _, status, rusage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    return Usage(
        wall=wall,
        cpu=rusage.ru_utime + rusage.ru_stime,
        maxrss_kib=rusage.ru_maxrss,
        status=proc.returncode,
        stdout=b"".join(out).decode("utf-8", "replace"),
    )


@contextlib.contextmanager
def fake_api(script: list[dict[str, Any]], root: Path) -> Iterator[tuple[str, Path]]:
    """A standalone fake Messages API replaying `script`; yields its base URL and requests log."""
    fd, name = tempfile.mkstemp(dir=root, prefix="fake-", suffix=".json")
    os.close(fd)
    script_path = Path(name)
    script_path.write_text(json.dumps(script))
    port_file = script_path.with_suffix(".port")
    log = script_path.with_suffix(".requests.jsonl")
    proc = subprocess.Popen(
        standalone_command(script_path, port_file, log, default_text="Done."),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = wait_for_port_file(port_file)
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        proc.wait(10)


def claw_p(prompt: str) -> list[str]:
    """claw's one-shot command line (`--output-format json` works with either CLI)."""
    return [str(CLAW), "-p", prompt, "--output-format", "json", "--permission-mode", "acceptEdits"]


def claude_p(prompt: str) -> list[str]:
    """Claude Code's one-shot command line, its native binary run directly."""
    return [str(CLAUDE), "-p", prompt, "--output-format", "json", "--permission-mode", "acceptEdits"]


def model_env(env: dict[str, str], base_url: str) -> dict[str, str]:
    """`env` pointed at the fake Messages API, Claude Code's background traffic off."""
    return {
        **env,
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "sk-ant-fake-bench",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    }


def read_requests(log: Path) -> list[dict[str, Any]]:
    """The request bodies the fake API recorded, in order (Messages API calls only)."""
    if not log.exists():
        return []
    bodies = []
    for line in log.read_text().splitlines():
        req = json.loads(line)
        if str(req.get("path", "")).startswith("/v1/messages") and isinstance(req.get("body"), dict):
            bodies.append(req["body"])
    return bodies


# ---------------------------------------------------------------------------------------------
# Language servers


def tree_rss_kib(pid: int) -> int:
    """VmRSS of a process plus all its descendants, in KiB (peers may run worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


class RawServer:
    """A language server over stdio with a minimal JSON-RPC client (no library on the client side).

    Answers every server-to-client request with null so no server waits on us.
    """

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.start = time.perf_counter()
        self.proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._answers: dict[int, threading.Event] = {}
        self._times: dict[int, float] = {}
        self._lock = threading.Lock()
        self._next = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        with self._lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            length = 0
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message = json.loads(stream.read(length))
            if "method" in message and "id" in message:
                with contextlib.suppress(OSError, ValueError):
                    self._send({"id": message["id"], "result": None})
            elif "id" in message and message["id"] in self._answers:
                self._times[message["id"]] = time.perf_counter()
                self._answers[message["id"]].set()

    def request(self, method: str, params: Any, timeout: float = 60) -> float:
        """Send a request; return the perf_counter time its answer arrived."""
        self._next += 1
        rid = self._next
        self._answers[rid] = threading.Event()
        self._send({"id": rid, "method": method, "params": params})
        if not self._answers[rid].wait(timeout):
            raise TimeoutError(f"{method} not answered in {timeout} s")
        return self._times[rid]

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def initialize(self, workspace: Path, options: Any = None) -> float:
        """`initialize` then `initialized`; the seconds from spawn to the answer."""
        params = {
            "processId": os.getpid(),
            "clientInfo": {"name": "visual-studio-code", "version": "1.100.0"},
            "rootUri": workspace.as_uri(),
            "workspaceFolders": [{"uri": workspace.as_uri(), "name": workspace.name}],
            "capabilities": {
                "workspace": {"configuration": True, "workspaceFolders": True},
                "textDocument": {"synchronization": {"dynamicRegistration": False}},
                "window": {"workDoneProgress": True},
            },
            "initializationOptions": options,
        }
        answered = self.request("initialize", params)
        self.notify("initialized", {})
        return answered - self.start

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.request("shutdown", None, timeout=5)
            self.notify("exit", None)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
