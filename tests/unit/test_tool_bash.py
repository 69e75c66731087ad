"""Bash: real shells in their own process group; timeouts and cancellation leave nothing behind."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.core.tools import SessionState, ToolContext, ToolOutput
from claw_lsp.tools.bash import Bash, BashInput, OutputBuffer
from claw_lsp.workspace.view import WorkspaceView
from tests.fakes.procs import is_gone

IGNORE_TERM = (
    f'{sys.executable} -c "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); '
    "open('pid', 'w').write(str(os.getpid())); time.sleep(60)\""
)


@pytest.fixture
def ctx(workspace: Path) -> ToolContext:
    return ToolContext(workspace=WorkspaceView([workspace]), state=SessionState())


async def bash(ctx: ToolContext, command: str, **args: Any) -> ToolOutput:
    return await Bash().run(BashInput.model_validate({"command": command, **args}), ctx)


async def wait_for_file(path: Path) -> int:
    for _ in range(300):
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never appeared")


async def test_output_and_exit_code(ctx: ToolContext) -> None:
    out = await bash(ctx, "echo out; echo err >&2")
    assert out.content == "out\nerr" and not out.is_error
    out = await bash(ctx, "echo failing; exit 3")
    assert out.is_error and out.content == "failing\n\nExit code 3"
    assert (await bash(ctx, "true")).content == "(no output)"
    out = await bash(ctx, 'echo "unclosed')
    assert out.is_error and "Exit code 2" in out.content


async def test_cwd_persists_and_is_reset_when_leaving_the_workspace(
    ctx: ToolContext, workspace: Path
) -> None:
    (workspace / "src").mkdir()
    assert (await bash(ctx, "pwd")).content == str(workspace)
    await bash(ctx, "cd src")
    assert ctx.state.cwd == workspace / "src"
    assert (await bash(ctx, "pwd")).content == str(workspace / "src")
    out = await bash(ctx, "cd / && echo moved")
    assert "Shell cwd was reset to" in out.content and ctx.state.cwd == workspace
    assert (await bash(ctx, "pwd")).content == str(workspace)


async def test_environment_hides_api_keys_and_adds_ctx_env(
    ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "secret")
    ctx.env = {"CLAW_EXTRA": "yes"}
    out = await bash(ctx, 'echo "key=${ANTHROPIC_API_KEY:-none} extra=$CLAW_EXTRA"')
    assert out.content == "key=none extra=yes"


async def test_long_output_keeps_head_and_tail(ctx: ToolContext) -> None:
    out = await bash(
        ctx, f"{sys.executable} -c \"import sys; sys.stdout.write('H' * 20000 + 'M' * 10000 + 'T' * 20000)\""
    )
    text = out.content
    assert text.startswith("H" * 15000 + "\n\n... [20000 characters cut] ...\n\n")
    assert text.endswith("T" * 15000)
    assert len(text) < 30_100


def test_output_buffer_counts_exactly_across_chunks() -> None:
    buf = OutputBuffer(limit=10)
    for chunk in (b"abc", "é".encode()[:1], "é".encode()[1:] + b"defghijklmnop"):
        buf.feed(chunk)
    buf.feed(b"", final=True)
    assert buf.text() == "abcéd\n\n... [7 characters cut] ...\n\nlmnop"


async def test_timeout_kills_the_group_including_a_sigterm_ignoring_child(
    ctx: ToolContext, workspace: Path
) -> None:
    started = time.monotonic()
    out = await bash(ctx, f"{IGNORE_TERM} & sleep 60", timeout=800)
    elapsed = time.monotonic() - started
    assert out.is_error and "timed out after 800 ms" in out.content
    assert elapsed < 4  # 0.8 s timeout + 0.5 s grace, with a generous margin
    assert is_gone(int((workspace / "pid").read_text()))


async def test_cancel_kills_the_group_and_propagates(ctx: ToolContext, workspace: Path) -> None:
    task = asyncio.create_task(bash(ctx, f"sleep 60 & echo $! > sleeper; {IGNORE_TERM}"))
    sleeper = await wait_for_file(workspace / "sleeper")
    stubborn = await wait_for_file(workspace / "pid")
    task.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 3
    assert is_gone(sleeper) and is_gone(stubborn)


def test_title_and_subject(ctx: ToolContext) -> None:
    args = BashInput.model_validate({"command": "pytest -q\necho done"})
    assert Bash().title(args, ctx) == "Running: pytest -q…"
    assert Bash().subject(args, ctx) == "pytest -q\necho done"


async def test_background_child_holding_the_output_is_stopped(ctx: ToolContext, workspace: Path) -> None:
    out = await bash(ctx, "sleep 60 & echo $! > bg; echo started")
    assert out.content.startswith("started") and "redirect its output" in out.content
    assert is_gone(int((workspace / "bg").read_text()))
    detached = await bash(ctx, "sleep 60 > /dev/null 2>&1 & echo $!")
    pid = int(detached.content)
    assert not is_gone(pid)  # redirected: it keeps running, as asked
    os.kill(pid, 9)


async def test_cancel_right_after_start_still_kills_everything(ctx: ToolContext, workspace: Path) -> None:
    for delay in (0, 0.001, 0.005, 0.02):
        task = asyncio.create_task(bash(ctx, f"sleep 30 & echo $! > sleeper{delay}; sleep 30"))
        await asyncio.sleep(delay)
        task.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 3
        pidfile = workspace / f"sleeper{delay}"
        if pidfile.exists() and pidfile.read_text().strip():
            assert is_gone(int(pidfile.read_text()))


@pytest.mark.parametrize(
    "name",
    [
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "OPENAI_API_KEY",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "NPM_TOKEN",
        "DB_PASSWORD",
        "my_service_api_key",
    ],
)
async def test_credentials_never_reach_commands(
    ctx: ToolContext, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "credential-value-0123456789")
    monkeypatch.setenv("CLAW_HARMLESS", "kept")
    out = await bash(ctx, "env")
    assert "credential-value-0123456789" not in out.content
    assert "CLAW_HARMLESS=kept" in out.content
