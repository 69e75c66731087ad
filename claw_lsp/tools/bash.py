"""The Bash tool: one shell command per call, in its own process group, with a persistent cwd.

The command runs as `bash -c` in a new session (so a new process group). Its stdout and stderr are
merged and capped (head and tail kept). After the command the shell writes `pwd -P` to a side file,
which becomes the next call's working directory (reset to the workspace when it leaves it). On
timeout or cancellation the whole group gets SIGTERM, then SIGKILL after a short grace, so nothing
it started outlives it, not even a child that ignores SIGTERM.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import tempfile
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from claw_lsp.core.events import ToolKind
from claw_lsp.core.secrets import child_env
from claw_lsp.core.tools import ToolContext, ToolError, ToolOutput
from claw_lsp.tools.reaper import REAPER

MAX_OUTPUT_CHARS = 30_000
MAX_TIMEOUT_MS = 600_000
KILL_GRACE_S = 0.5
# How long to keep reading after the shell exited while a background child holds the output open
# (after that the child is stopped: nothing the command started outlives it unless detached).
DRAIN_S = 0.3

# $1 = the command, $2 = the side file for the final cwd. `eval` parses the command on its own, so
# an unclosed quote or heredoc cannot swallow the lines that record the cwd and the exit status.
_SCRIPT = (
    "__claw_cmd=$1; __claw_cwd_file=$2; set --\n"
    'eval "$__claw_cmd"\n'
    "__claw_status=$?\n"
    'pwd -P >| "$__claw_cwd_file" 2>/dev/null\n'
    "exit $__claw_status\n"
)


class OutputBuffer:
    """Collects a stream's text keeping only its head and tail, counting what was cut."""

    def __init__(self, limit: int = MAX_OUTPUT_CHARS) -> None:
        self.half = limit // 2
        self.head = ""
        self.tail = ""
        self.total = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, data: bytes, final: bool = False) -> None:
        """Add bytes read from the stream."""
        text = self._decoder.decode(data, final)
        self.total += len(text)
        if len(self.head) < self.half:
            take = text[: self.half - len(self.head)]
            self.head += take
            text = text[len(take) :]
        if text:
            self.tail = (self.tail + text)[-self.half :]

    def text(self) -> str:
        """Everything, or the head and tail around a "[N characters cut]" marker."""
        cut = self.total - len(self.head) - len(self.tail)
        if cut <= 0:
            return self.head + self.tail
        return f"{self.head}\n\n... [{cut} characters cut] ...\n\n{self.tail}"


def _signal_group(pgid: int, sig: int) -> bool:
    """Send a signal to a process group; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def group_alive(pgid: int) -> bool:
    """True while a process of the group still runs (zombies awaiting their reaper do not count)."""
    if not _signal_group(pgid, 0):
        return False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True  # no /proc: the group exists, as far as we can tell
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


async def _wait_group(pgid: int, seconds: float) -> bool:
    """Wait up to `seconds` for the group to die; True when it did."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while group_alive(pgid):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the process's group, SIGKILL whatever is left after a short grace, reap the shell."""
    pgid = proc.pid
    dead = False
    try:
        if _signal_group(pgid, signal.SIGTERM):
            dead = await _wait_group(pgid, KILL_GRACE_S)
    finally:
        if not dead and _signal_group(pgid, signal.SIGKILL):
            await _wait_group(pgid, 1.0)
    await exited(proc)


async def spawn_group(argv: list[str], cwd: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start a process in a new process group, stdout+stderr merged into one pipe.

    A cancellation that arrives while the process is being created waits for the creation and
    then kills the new group (asyncio's own clean-up would kill only the shell, then wait for the
    pipe that the shell's children still hold open).
    """
    spawn = asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    )
    try:
        proc = await asyncio.shield(spawn)
    except asyncio.CancelledError:
        proc = await spawn
        await kill_group(proc)
        raise
    REAPER.watch(proc.pid)  # dies with us, even on SIGKILL, until the call releases it
    return proc


async def exited(proc: asyncio.subprocess.Process) -> int:
    """Wait for the process itself to exit (unlike `proc.wait()`, not for its pipes to close)."""
    delay = 0.002
    while proc.returncode is None:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
    return proc.returncode


class BashInput(BaseModel):
    """Bash's arguments."""

    command: str = Field(description="The command to execute")
    timeout: int | None = Field(
        default=None,
        ge=1,
        description=f"Optional timeout in milliseconds (max {MAX_TIMEOUT_MS})",
    )
    description: str | None = Field(
        default=None,
        description="Clear, concise description of what this command does in 5-10 words, in "
        "active voice. Examples: 'Lists files in current directory', 'Runs the unit tests'",
    )
    run_in_background: bool | None = Field(
        default=None,
        description="Set to true to run this command in the background. Use TaskOutput to read "
        "the output later.",
    )


class Bash:
    """Run a shell command."""

    name: ClassVar[str] = "Bash"
    description: ClassVar[str] = (
        "Executes a given bash command with an optional timeout. The working directory persists "
        "between commands (it starts at the workspace root and is reset there if a command leaves "
        "the workspace); shell variables and functions do not.\n\n"
        "Usage notes:\n"
        "- The command argument is required.\n"
        f"- You can specify an optional timeout in milliseconds (up to {MAX_TIMEOUT_MS}ms / 10 "
        "minutes). If not specified, commands will timeout after 120000ms (2 minutes). On timeout "
        "the command and everything it started are killed.\n"
        f"- If the output exceeds {MAX_OUTPUT_CHARS} characters, its middle is cut and the head "
        "and tail are returned.\n"
        "- stdout and stderr are merged; stdin is empty, so never run interactive commands "
        "(editors, pagers, prompts) - use non-interactive flags.\n"
        "- Always quote file paths that contain spaces with double quotes.\n"
        "- Avoid `find`, `grep`, `cat`, `head`, `tail`, `ls` for reading and searching: use Glob, "
        "Grep, Read and LS instead.\n"
        "- Prefer absolute paths and avoid `cd` unless the user asks for it. Chain dependent "
        "commands with '&&'; use ';' when later commands should run even if earlier ones fail.\n"
        "- Write a short description of what the command does in the description parameter.\n"
        "- You can use the `run_in_background` parameter to run the command in the background, "
        "which allows you to continue working while the command runs. It returns at once with "
        "the task's id and the file its output goes to; read that file with Read or TaskOutput, "
        "stop the command with TaskStop. You will be told when it finishes, so you do not need "
        "to poll it. Never use `&` at the end of the command for this. Background commands are "
        "stopped when the session ends."
    )
    input_model: ClassVar[type[BaseModel]] = BashInput
    kind: ClassVar[ToolKind] = "execute"
    read_only: ClassVar[bool] = False
    reviewable: ClassVar[bool] = False

    def title(self, args: BashInput, ctx: ToolContext) -> str:
        """The progress title, e.g. "Running: <command>", the command's first line cut at 80 characters."""
        lines = args.command.strip().splitlines() or [""]
        shown = lines[0]
        if len(shown) > 80 or len(lines) > 1:
            shown = shown[:80] + "…"
        return f"Running: {shown}"

    def locations(self, args: BashInput, ctx: ToolContext) -> list[Path]:
        """A command's files are not known before it runs."""
        return []

    def subject(self, args: BashInput, ctx: ToolContext) -> str | None:
        """The command (permission rules match it)."""
        return args.command

    def _start_dir(self, ctx: ToolContext) -> tuple[Path, str]:
        home = ctx.workspace.folders[0] if ctx.workspace.folders else Path.cwd()
        cwd = ctx.state.cwd
        if cwd is None:
            return home, ""
        if not cwd.is_dir():
            ctx.state.cwd = home
            return home, f"Shell cwd was reset to {home}: {cwd} no longer exists."
        if not ctx.workspace.is_inside(cwd):
            ctx.state.cwd = home
            return home, f"Shell cwd was reset to {home}: {cwd} is outside the workspace."
        return cwd, ""

    def _record_cwd(self, marker: Path, ctx: ToolContext) -> str:
        try:
            raw = marker.read_text(errors="surrogateescape").strip()
        except OSError:
            return ""
        if not raw:
            return ""
        new = Path(raw)
        if ctx.workspace.is_inside(new) or not ctx.workspace.folders:
            ctx.state.cwd = new
            return ""
        home = ctx.workspace.folders[0]
        ctx.state.cwd = home
        return f"Shell cwd was reset to {home}: {new} is outside the workspace."

    def _prepare(self, args: BashInput, ctx: ToolContext) -> tuple[int, Path, str, Path]:
        """Before a command runs: its timeout (ms), start directory, a note about that directory,
        and the empty temp file the command's final working directory is written to."""
        if not args.command.strip():
            raise ToolError("command is empty.")
        timeout_ms = min(args.timeout or ctx.bash_timeout_ms, MAX_TIMEOUT_MS)
        cwd, notes = self._start_dir(ctx)
        fd, marker_name = tempfile.mkstemp(prefix="claw-cwd-")
        os.close(fd)
        return timeout_ms, cwd, notes, Path(marker_name)

    def _env(self, ctx: ToolContext) -> dict[str, str]:
        """Our environment without credentials (API keys, tokens: core/secrets), plus the context's."""
        return child_env(ctx.env)

    async def run(self, args: BashInput, ctx: ToolContext) -> ToolOutput:
        """Run the command; kill its whole process group on timeout or cancellation."""
        if args.run_in_background:
            return await self.run_background(args, ctx)
        timeout_ms, cwd, notes, marker = self._prepare(args, ctx)
        marker_name = str(marker)
        output = OutputBuffer()
        timed_out = False
        background = False
        proc: asyncio.subprocess.Process | None = None
        try:
            proc = await spawn_group(
                ["bash", "-c", _SCRIPT, "bash", args.command, marker_name], cwd, self._env(ctx)
            )
            pump = asyncio.create_task(_pump(proc, output))
            try:
                try:
                    await asyncio.wait_for(exited(proc), timeout_ms / 1000)
                except TimeoutError:
                    timed_out = True
                    await kill_group(proc)
                done, _ = await asyncio.wait({pump}, timeout=DRAIN_S)
                if not done:
                    # The shell exited but something it started still holds the output open.
                    background = True
                    await kill_group(proc)
                    await asyncio.wait({pump}, timeout=1.0)
            except BaseException:
                # Cancelled (or failing): nothing the command started may outlive this call.
                await kill_group(proc)
                raise
            finally:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
            output.feed(b"", final=True)
            cwd_note = "" if timed_out else await asyncio.to_thread(self._record_cwd, marker, ctx)
        finally:
            marker.unlink(missing_ok=True)
            if proc is not None:
                REAPER.release(proc.pid)
        code = proc.returncode
        text = output.text().rstrip("\n")
        parts = [text] if text else []
        is_error = False
        if timed_out:
            is_error = True
            parts.append(
                f"Command timed out after {timeout_ms} ms; it and every process it started were killed."
            )
        elif code != 0:
            is_error = True
            parts.append(f"Exit code {code}")
        if background:
            parts.append(
                "(Background processes still attached to the output were stopped. To keep one "
                "running, redirect its output: `cmd > log 2>&1 &`.)"
            )
        for note in (notes, cwd_note):
            if note:
                parts.append(note)
        if not parts:
            return ToolOutput("(no output)")
        return ToolOutput("\n\n".join(parts), is_error=is_error)

    async def run_background(self, args: BashInput, ctx: ToolContext) -> ToolOutput:
        """Start the command in the background (no timeout, the working directory does not
        persist from it) and answer at once with its id and output file."""
        from claw_lsp.tools.background import registry_of

        if not args.command.strip():
            raise ToolError("command is empty.")
        shells = registry_of(ctx)
        cwd, note = self._start_dir(ctx)
        shell = await shells.start(args.command, cwd, self._env(ctx), args.description)
        text = (
            f"Command running in background with ID: {shell.id}. "
            f"Output is being written to: {shell.output_path}"
        )
        return ToolOutput(f"{text}\n\n{note}" if note else text)


async def _pump(proc: asyncio.subprocess.Process, output: OutputBuffer) -> None:
    """Read the merged output until end of file."""
    assert proc.stdout is not None
    while chunk := await proc.stdout.read(65536):
        output.feed(chunk)
