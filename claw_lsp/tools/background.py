"""Background Bash: `Bash` with `run_in_background: true`, and Claude Code's tools to read and stop it.

A background command runs as `bash -c` in its own process group, its stdout and stderr merged into
an output file beside the session's transcript (`<session>/tasks/<id>.output`). The call returns at
once with the shell's id and that file's path; the model reads the file with `Read` (reads of
exactly that file are allowed though it lies outside the workspace, `BackgroundShells.on_output_file`
adds the rule), or with `TaskOutput`, and stops the command with `TaskStop`. Claude Code 2.1's names
and input schemas: `TaskOutput{task_id, block, timeout}`, `TaskStop{task_id}`; the older
`BashOutput{bash_id}` and `KillShell{shell_id}` are accepted as aliases.

When a command finishes, a `<task-notification>` for the model waits in `notices()` until the loop
sends it with the next request (as Claude Code does). Background commands outlive the run that
started them (unless that run is cancelled: `stop_started_since`) but not the session: `close()`
kills every one still running (the session's end, the server's shutdown, the CLI's exit), and the
process-group reaper kills them if we die any other way (SIGKILL included), until each has finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from claw_lsp.core.events import ToolKind
from claw_lsp.core.tools import ToolContext, ToolError, ToolOutput
from claw_lsp.tools.reaper import REAPER

ShellStatus = Literal["running", "completed", "failed", "killed"]
MAX_WAIT_MS = 600_000
DEFAULT_WAIT_MS = 30_000
KILL_GRACE_S = 0.5


@dataclass
class BackgroundShell:
    """One background command."""

    id: str
    command: str
    description: str | None
    output_path: Path
    pid: int
    status: ShellStatus = "running"
    exit_code: int | None = None
    notified: bool = False  # the model was told it finished (a notice, or TaskOutput saw it)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def label(self) -> str:
        """How notices name it: the model's description, else the command."""
        return self.description or self.command.strip().splitlines()[0][:80]


class BackgroundShells:
    """A session's background commands: started, read, stopped, and killed with the session."""

    def __init__(self, directory: Path, on_output_file: Callable[[Path], None] | None = None) -> None:
        self.directory = directory
        self.on_output_file = on_output_file
        self.shells: dict[str, BackgroundShell] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self.closed = False

    async def start(
        self, command: str, cwd: Path, env: dict[str, str], description: str | None = None
    ) -> BackgroundShell:
        """Start `command` in the background; return as soon as it runs."""
        if self.closed:
            raise ToolError("This session has ended; no more background commands can start.")
        shell_id = "b" + uuid.uuid4().hex[:7]
        path = self.directory / f"{shell_id}.output"
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            proc = await asyncio.create_subprocess_exec(
                "bash",
                "-c",
                command,
                cwd=cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=fd,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            os.close(fd)
        REAPER.watch(proc.pid)  # dies with us, even on SIGKILL, until it finished
        shell = BackgroundShell(shell_id, command, description, path, proc.pid)
        self.shells[shell_id] = shell
        self._procs[shell_id] = proc
        self._watchers[shell_id] = asyncio.get_running_loop().create_task(
            self._watch(shell, proc), name=f"claw-background-{shell_id}"
        )
        if self.on_output_file is not None:
            self.on_output_file(path)
        return shell

    async def _watch(self, shell: BackgroundShell, proc: asyncio.subprocess.Process) -> None:
        """Wait for the shell to exit; then stop what it left in its group and record how it ended."""
        try:
            code = await proc.wait()
        finally:
            await _kill_group(proc)
            REAPER.release(proc.pid)
            self._procs.pop(shell.id, None)
        if shell.status == "running":
            shell.exit_code = code
            shell.status = "completed" if code == 0 else "failed"
        shell.done.set()

    def get(self, shell_id: str) -> BackgroundShell:
        """The shell with this id (ToolError naming the known ones when there is none)."""
        shell = self.shells.get(shell_id.strip())
        if shell is None:
            known = ", ".join(self.shells) or "none"
            raise ToolError(f"No background task with id {shell_id!r} (known: {known}).")
        return shell

    def running(self) -> list[BackgroundShell]:
        """The shells still running."""
        return [s for s in self.shells.values() if s.status == "running"]

    async def wait(self, shell: BackgroundShell, seconds: float) -> bool:
        """Wait up to `seconds` for the shell to finish; True when it did."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(shell.done.wait(), seconds)
        return shell.done.is_set()

    async def stop(self, shell: BackgroundShell) -> None:
        """Kill the shell and everything it started (SIGTERM, then SIGKILL after a short grace)."""
        proc = self._procs.get(shell.id)
        if shell.status == "running":
            shell.status = "killed"
            shell.notified = True  # the model asked for it: no "finished" notice
        if proc is not None:
            await _kill_group(proc, graceful=True)
        watcher = self._watchers.get(shell.id)
        if watcher is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(watcher)

    def notices(self) -> list[str]:
        """A `<task-notification>` for each shell that finished since the model last heard."""
        found = []
        for shell in self.shells.values():
            if shell.done.is_set() and not shell.notified:
                shell.notified = True
                found.append(notification(shell))
        return found

    def ids(self) -> set[str]:
        """The ids of every command started so far."""
        return set(self.shells)

    async def stop_started_since(self, known: set[str]) -> list[str]:
        """Kill the commands still running that are not in `known`: those the run being cancelled
        started (a cancel stops what the run began; earlier runs' commands go on)."""
        started = [s for s in self.running() if s.id not in known]
        await asyncio.gather(*(self.stop(s) for s in started), return_exceptions=True)
        return [s.id for s in started]

    async def close(self) -> None:
        """Kill every background command still running (the session ends)."""
        self.closed = True
        for shell in self.running():
            shell.status = "killed"
            shell.notified = True
        procs = list(self._procs.values())
        await asyncio.gather(*(_kill_group(p) for p in procs), return_exceptions=True)
        watchers = list(self._watchers.values())
        if watchers:
            await asyncio.wait(watchers, timeout=2)


def notification(shell: BackgroundShell) -> str:
    """Claude Code's task notification for a finished background command."""
    how = {
        "completed": f"completed (exit code {shell.exit_code})",
        "failed": f"failed with exit code {shell.exit_code}",
        "killed": "was stopped",
        "running": "is running",
    }[shell.status]
    return (
        "<task-notification>\n"
        f"<task-id>{shell.id}</task-id>\n"
        f"<output-file>{shell.output_path}</output-file>\n"
        f"<status>{shell.status}</status>\n"
        f'<summary>Background command "{shell.label}" {how}</summary>\n'
        "</task-notification>\n"
        "Read the output file to retrieve the result."
    )


def _signal(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def _kill_group(proc: asyncio.subprocess.Process, *, graceful: bool = False) -> None:
    """Kill the process's group (SIGTERM first when `graceful`), then reap the shell."""
    from claw_lsp.tools.bash import group_alive

    pgid = proc.pid
    if graceful and _signal(pgid, signal.SIGTERM):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + KILL_GRACE_S
        while group_alive(pgid) and loop.time() < deadline:
            await asyncio.sleep(0.02)
    _signal(pgid, signal.SIGKILL)
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            await asyncio.shield(proc.wait())


def registry_of(ctx: ToolContext) -> BackgroundShells:
    """The session's background shells (ToolError when this session has none)."""
    shells = ctx.state.background
    if not isinstance(shells, BackgroundShells):
        raise ToolError("Background commands are not available in this session.")
    return shells


def read_output(path: Path, limit: int) -> str:
    """The output file's text, its middle cut to `limit` characters (head and tail kept)."""
    from claw_lsp.tools.bash import OutputBuffer

    buffer = OutputBuffer(limit)
    with contextlib.suppress(FileNotFoundError), path.open("rb") as handle:
        while chunk := handle.read(65536):
            buffer.feed(chunk)
    buffer.feed(b"", final=True)
    return buffer.text()


# -- the tools ------------------------------------------------------------------------------------


def _old_id(data: Any, *names: str) -> Any:
    """Map an old tool's id key (`bash_id`, `shell_id`) to `task_id`."""
    if isinstance(data, dict) and not data.get("task_id"):
        for name in names:
            if data.get(name):
                data = {**data, "task_id": data[name]}
                break
    return data


class TaskOutputInput(BaseModel):
    """TaskOutput's arguments (BashOutput's `bash_id` and `filter` accepted too)."""

    task_id: str = Field(description="The task ID to get output from")
    block: bool = Field(default=True, description="Whether to wait for completion")
    timeout: int = Field(default=DEFAULT_WAIT_MS, ge=0, le=MAX_WAIT_MS, description="Max wait time in ms")
    filter: SkipJsonSchema[str | None] = None  # BashOutput's: only lines matching this regex

    @model_validator(mode="before")
    @classmethod
    def _bash_output(cls, data: Any) -> Any:
        """BashOutput{bash_id, filter?} never waited: it reads what is there."""
        if isinstance(data, dict) and data.get("bash_id") and "block" not in data:
            data = {**data, "block": False}
        return _old_id(data, "bash_id", "shell_id")


class TaskOutput:
    """Read a background command's output (waiting for it to finish, by default)."""

    name: ClassVar[str] = "TaskOutput"
    aliases: ClassVar[tuple[str, ...]] = ("BashOutput",)
    description: ClassVar[str] = (
        "- Retrieves output from a running or completed background task (a Bash command started "
        "with run_in_background)\n"
        "- Takes a task_id parameter identifying the task\n"
        "- Returns the task output along with status information\n"
        "- Use block=true (default) to wait for task completion\n"
        "- Use block=false for non-blocking check of current status\n"
        "- Task IDs are returned by Bash when it starts a background command\n"
        "- The output is also in the task's output file, which Read can read"
    )
    input_model: ClassVar[type[BaseModel]] = TaskOutputInput
    kind: ClassVar[ToolKind] = "read"
    read_only: ClassVar[bool] = True
    reviewable: ClassVar[bool] = False

    def title(self, args: TaskOutputInput, ctx: ToolContext) -> str:
        """E.g. "Output of b1a2b3c4"."""
        return f"Output of {args.task_id}"

    def subject(self, args: TaskOutputInput, ctx: ToolContext) -> str | None:
        """No path or command: it reads what this session started."""
        return None

    def locations(self, args: TaskOutputInput, ctx: ToolContext) -> list[Path]:
        """The task's output file."""
        shells = ctx.state.background
        if isinstance(shells, BackgroundShells) and args.task_id in shells.shells:
            return [shells.shells[args.task_id].output_path]
        return []

    async def run(self, args: TaskOutputInput, ctx: ToolContext) -> ToolOutput:
        """The status and output, after waiting up to `timeout` ms when `block`."""
        from claw_lsp.tools.bash import MAX_OUTPUT_CHARS

        shells = registry_of(ctx)
        shell = shells.get(args.task_id)
        retrieval = "success"
        if args.block and not shell.done.is_set():
            if not await shells.wait(shell, args.timeout / 1000):
                retrieval = "timeout"
        elif not shell.done.is_set():
            retrieval = "not_ready"
        text = await asyncio.to_thread(read_output, shell.output_path, MAX_OUTPUT_CHARS)
        if args.filter:
            try:
                pattern = re.compile(args.filter)
            except re.error as exc:
                raise ToolError(f"filter {args.filter!r} is not a regex: {exc}") from None
            text = "\n".join(line for line in text.splitlines() if pattern.search(line))
        if shell.done.is_set():
            shell.notified = True  # the model has seen how it ended
        parts = [
            f"<retrieval_status>{retrieval}</retrieval_status>",
            f"<task_id>{shell.id}</task_id>",
            "<task_type>local_bash</task_type>",
            f"<status>{shell.status}</status>",
        ]
        if shell.exit_code is not None:
            parts.append(f"<exit_code>{shell.exit_code}</exit_code>")
        shown = f"\n{text.rstrip()}\n" if text.strip() else "(no output yet)"
        parts.append(f"<output>{shown}</output>")
        return ToolOutput("\n\n".join(parts))


class TaskStopInput(BaseModel):
    """TaskStop's arguments (KillShell's `shell_id` accepted too)."""

    task_id: str | None = Field(default=None, description="The ID of the background task to stop")
    shell_id: str | None = Field(default=None, description="Deprecated: use task_id instead")

    @model_validator(mode="before")
    @classmethod
    def _kill_shell(cls, data: Any) -> Any:
        return _old_id(data, "shell_id", "bash_id")


class TaskStop:
    """Stop a background command and everything it started."""

    name: ClassVar[str] = "TaskStop"
    aliases: ClassVar[tuple[str, ...]] = ("KillShell",)
    description: ClassVar[str] = (
        "- Stops a running background task by its ID\n"
        "- Takes a task_id parameter identifying the task to stop\n"
        "- Returns a success or failure status\n"
        "- Use this tool when you need to terminate a long-running task"
    )
    input_model: ClassVar[type[BaseModel]] = TaskStopInput
    kind: ClassVar[ToolKind] = "other"
    # It only stops commands this session started (as Claude Code, no permission question).
    read_only: ClassVar[bool] = True
    reviewable: ClassVar[bool] = False

    def title(self, args: TaskStopInput, ctx: ToolContext) -> str:
        """E.g. "Stopping b1a2b3c4"."""
        return f"Stopping {args.task_id or '?'}"

    def subject(self, args: TaskStopInput, ctx: ToolContext) -> str | None:
        """No path or command."""
        return None

    def locations(self, args: TaskStopInput, ctx: ToolContext) -> list[Path]:
        """None."""
        return []

    async def run(self, args: TaskStopInput, ctx: ToolContext) -> ToolOutput:
        """Kill the task's process group; say what was stopped."""
        if not args.task_id:
            raise ToolError("task_id is required.")
        shells = registry_of(ctx)
        shell = shells.get(args.task_id)
        if shell.status != "running":
            raise ToolError(f"Task {shell.id} is not running (status: {shell.status}).")
        await shells.stop(shell)
        result = {
            "message": f"Successfully stopped task: {shell.id} ({shell.command})",
            "task_id": shell.id,
            "task_type": "local_bash",
            "command": shell.command,
        }
        return ToolOutput(json.dumps(result))
