"""`claw` with Claude Code's `-p` command line: its flags, output formats and streaming input, so
scripts and the Claude Agent SDKs drive `claw` in place of `claude`.

`-p/--print` is a flag; the prompt is the positional argument or stdin. Output formats: `text`
(the answer), `json` (Claude Code's `result`), `stream-json` (Claude Code's messages, see
`sdk_messages`), `claw-stream-json` (claw's own run events, then the result). With
`--input-format stream-json` stdin carries `user` messages and control requests (`control`).
Flags claw does not implement are warned about on stderr and ignored, never an exit 2; docs/cli.md
lists every flag and its state.

Exit codes, as Claude Code's: 0 the run succeeded, 1 it failed or could not start (bad usage, no
API key, unknown session: one `error: ...` line on stderr, and with a JSON output format an
`is_error` result on stdout); 130 interrupted by Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from claw_lsp import __version__
from claw_lsp.cli.sdk_messages import Transcriber, error_result, init_message
from claw_lsp.core import startup

if TYPE_CHECKING:
    from claw_lsp.agent.loop import Agent, Run
    from claw_lsp.agent.session import Session, SessionStore
    from claw_lsp.cli.control import Channel, SdkHooks, SwitchingPrompter
    from claw_lsp.config import PermissionMode, Settings
    from claw_lsp.core.events import RunFinished
    from claw_lsp.core.tools import ToolContext, ToolOutput
    from claw_lsp.providers.base import Delta, Model, ModelRequest, ModelTurn
    from claw_lsp.tools.mcp import McpManager

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
OUTPUT_FORMATS = ("text", "json", "stream-json", "claw-stream-json")
PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypassPermissions", "dontAsk", "auto")

# Claude Code flags claw accepts and ignores, with whether they take a value.
IGNORED_FLAGS: dict[str, bool] = {
    "--betas": True,
    "--task-budget": True,
    "--include-hook-events": False,
    "--resume-session-at": True,
    "--resume-drops-turn": True,
    "--session-mirror": False,
    "--plugin-dir": True,
    "--thinking-display": True,
    "--replay-user-messages": False,
    "--ide": False,
    "--debug": False,
    "--allow-dangerously-skip-permissions": False,
}


class UsageError(Exception):
    """A command-line problem: one `error: ...` line, exit 1."""


class SetupError(Exception):
    """A run that cannot start (no API key, unknown session...): an `is_error` result, exit 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """Claude Code's `-p` flags (and claw's own --provider, --script, --cwd)."""
    p = _Parser(
        prog="claw",
        description=(
            "Run the claw coding agent headless, with Claude Code's -p command line. "
            "`claw sessions` lists this project's sessions; `claw trust` trusts a folder's own "
            "settings; `claw acp` serves the Agent Client Protocol. Flag reference: docs/cli.md."
        ),
    )
    p.add_argument("prompt_words", nargs="*", metavar="PROMPT", help="the task (or on stdin)")
    p.add_argument("-p", "--print", dest="print_mode", action="store_true", help="print the answer and exit")
    p.add_argument("--output-format", choices=OUTPUT_FORMATS, default="text")
    p.add_argument("--input-format", choices=("text", "stream-json"), default="text")
    p.add_argument("--verbose", action="store_true", help="show tool calls on stderr (text output)")
    p.add_argument("--include-partial-messages", action="store_true")
    p.add_argument("--system-prompt", metavar="TEXT")
    p.add_argument("--system-prompt-file", metavar="FILE")
    p.add_argument("--append-system-prompt", metavar="TEXT")
    p.add_argument("--append-system-prompt-file", metavar="FILE")
    p.add_argument("--allowedTools", "--allowed-tools", dest="allowed", action="append", default=[])
    p.add_argument("--disallowedTools", "--disallowed-tools", dest="disallowed", action="append", default=[])
    p.add_argument("--tools", metavar="LIST")
    p.add_argument("--permission-mode", choices=PERMISSION_MODES)
    p.add_argument("--dangerously-skip-permissions", action="store_true")
    p.add_argument("--permission-prompt-tool", metavar="TOOL")
    p.add_argument("--max-turns", type=int, metavar="N")
    p.add_argument("--max-budget-usd", type=float, metavar="USD")
    p.add_argument("--model")
    p.add_argument("--fallback-model", metavar="MODEL")
    p.add_argument("-c", "--continue", dest="cont", action="store_true")
    p.add_argument("-r", "--resume", metavar="ID")
    p.add_argument("--fork-session", action="store_true")
    p.add_argument("--session-id", metavar="UUID")
    p.add_argument("--no-session-persistence", action="store_true")
    p.add_argument("--settings", metavar="FILE_OR_JSON")
    p.add_argument("--setting-sources", metavar="LIST")
    p.add_argument("--add-dir", action="append", default=[], metavar="DIR")
    p.add_argument("--mcp-config", action="append", default=[], metavar="FILE_OR_JSON")
    p.add_argument("--strict-mcp-config", action="store_true")
    p.add_argument("--json-schema", metavar="JSON")
    p.add_argument("--agents", metavar="JSON")
    p.add_argument("--max-thinking-tokens", type=_thinking_budget, metavar="N")
    p.add_argument("--thinking", choices=("enabled", "adaptive", "disabled"))
    p.add_argument("--effort", choices=("low", "medium", "high", "xhigh", "max"))
    p.add_argument("--provider", choices=["anthropic", "openai", "scripted"])
    p.add_argument("--script", metavar="FILE", help="scripted provider: JSONL file of model turns")
    p.add_argument("--cwd", metavar="DIR", help="the workspace root (default: current directory)")
    p.add_argument("-v", "--version", action="store_true")
    return p


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The parsed flags and the warnings for flags claw ignores (unknown ones included)."""
    warnings: list[str] = []
    kept: list[str] = []
    known = {s for a in build_parser()._actions for s in a.option_strings}
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            kept.append(token)
            kept.extend(tokens)
            break
        name = token.split("=", 1)[0]
        if not token.startswith("-") or token == "-" or name in known:
            kept.append(token)
        elif name in IGNORED_FLAGS:
            warnings.append(f"{name} is not supported by claw; ignored")
            if IGNORED_FLAGS[name] and "=" not in token:
                next(tokens, None)
        elif token.startswith("-") and not _is_number(token):
            warnings.append(f"unknown option '{name}' ignored")
        else:
            kept.append(token)
    args = build_parser().parse_args(kept)
    if args.permission_mode == "auto":
        warnings.append("--permission-mode auto is not supported by claw; using default")
        args.permission_mode = "default"
    if args.dangerously_skip_permissions:
        args.permission_mode = "bypassPermissions"
    return args, warnings


def _thinking_budget(value: str) -> int:
    """`--max-thinking-tokens`: 0 (thinking off) or a budget of at least 1024 tokens."""
    budget = int(value)
    if budget != 0 and budget < 1024:
        raise argparse.ArgumentTypeError("must be 0 (no thinking) or at least 1024")
    return budget


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def split_rules(values: list[str]) -> list[str]:
    """Tool rules from `--allowedTools a,b "Bash(git log:*)"` values: split at commas and spaces
    outside parentheses."""
    rules: list[str] = []
    for value in values:
        depth, current = 0, ""
        for ch in value:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth = max(0, depth - 1)
            if ch in ", " and depth == 0:
                if current.strip():
                    rules.append(current.strip())
                current = ""
            else:
                current += ch
        if current.strip():
            rules.append(current.strip())
    return rules


def _json_or_file(value: str, flag: str) -> Any:
    """A flag's JSON value, given inline or as a file path."""
    text = value
    if not value.lstrip().startswith(("{", "[")):
        try:
            text = Path(value).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise SetupError(f"{flag} {value}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SetupError(f"{flag}: invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc


# -- main -----------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    """`claw [-p] [flags] [PROMPT]`: one headless run, or a stream-json session."""
    try:
        args, warnings = parse(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.version:
        print(f"{__version__} (claw)")
        return EXIT_OK
    for warning in warnings:
        print(f"claw: warning: {warning}", file=sys.stderr)
    prompt = " ".join(args.prompt_words)
    if args.input_format == "text":
        if prompt == "-" or (not prompt.strip() and not sys.stdin.isatty()):
            prompt = sys.stdin.read()
        if not prompt.strip():
            print(
                "Error: Input must be provided either through stdin or as a prompt argument "
                "when using --print (claw -p PROMPT)",
                file=sys.stderr,
            )
            return EXIT_FAILED
    elif args.output_format != "stream-json":
        print("Error: --input-format=stream-json requires --output-format=stream-json", file=sys.stderr)
        return EXIT_FAILED
    headless = Headless(args)
    try:
        return asyncio.run(headless.main(prompt))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


@dataclass
class _Output:
    """Writes what the output format shows of a run."""

    fmt: str
    verbose: bool
    partial: bool
    printer: Any = None  # text / claw-stream-json: claw's own printer

    def __post_init__(self) -> None:
        if self.fmt in ("text", "claw-stream-json"):
            from claw_lsp.cli import Printer

            fmt = "stream-json" if self.fmt == "claw-stream-json" else "text"
            self.printer = Printer(fmt, self.verbose or sys.stderr.isatty(), sys.stdout, sys.stderr)

    @property
    def sdk(self) -> bool:
        """True when Claude Code's messages go to stdout (stream-json)."""
        return self.fmt == "stream-json"


class TappedModel:
    """A model whose every turn (and streamed piece) is also reported to the output: the
    `assistant` messages and partial `stream_event`s of stream-json."""

    def __init__(self, inner: Model, headless: Headless) -> None:
        self.inner = inner
        self.headless = headless

    @property
    def name(self) -> str:
        """The inner model's id."""
        return self.inner.name

    @name.setter
    def name(self, value: str) -> None:
        self.inner.name = value

    @property
    def provider(self) -> str:
        """The inner model's provider."""
        return self.inner.provider

    @property
    def context_window(self) -> int:
        """The inner model's context window."""
        return self.inner.context_window

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)

    def cost(self, usage: Any) -> float:
        """The inner model's price."""
        return self.inner.cost(usage)

    async def complete(
        self, request: ModelRequest, on_delta: Callable[[Delta], None] | None = None
    ) -> ModelTurn:
        """Stream the inner model's turn, reporting it to the output."""
        from claw_lsp.providers.base import ProviderError

        h = self.headless
        if request.purpose == "compaction":
            return await self.inner.complete(request, on_delta)
        parent = h.parent_of(request)

        def both(delta: Delta) -> None:
            if on_delta is not None:
                on_delta(delta)
            h.on_delta(delta, self.inner.name, parent)

        started = time.monotonic()
        try:
            turn = await self.inner.complete(request, both)
        except ProviderError as exc:
            fallback = h.fallback_for(self.inner, exc)
            if fallback is None:
                raise
            print(
                f"claw: warning: {self.inner.name} is overloaded; switching to {fallback.name} "
                "(--fallback-model)",
                file=sys.stderr,
                flush=True,
            )
            self.inner = fallback
            turn = await self.inner.complete(request, both)
        h.on_turn(turn, time.monotonic() - started, self.inner.context_window, parent)
        return turn


class StructuredOutputInput(BaseModel):
    """Any JSON object: the schema the model sees is the one `--json-schema` gave."""

    model_config = ConfigDict(extra="allow")


class StructuredOutput:
    """`--json-schema`: the model ends by calling this tool with its answer in the schema's
    shape; the call's input is the result's `structured_output`."""

    name: ClassVar[str] = "StructuredOutput"
    description: ClassVar[str] = (
        "Use this tool to return your final response in the requested structured format. Call it "
        "exactly once, at the end, with the complete answer as its input."
    )
    input_model: ClassVar[type[BaseModel]] = StructuredOutputInput
    kind: ClassVar[Any] = "think"
    read_only: ClassVar[bool] = True
    reviewable: ClassVar[bool] = False

    def __init__(self, schema: dict[str, Any], on_output: Callable[[Any], None]) -> None:
        self.json_schema = schema
        self.on_output = on_output

    def title(self, args: Any, ctx: ToolContext) -> str:
        """The progress line."""
        return "Returning the structured output"

    def subject(self, args: Any, ctx: ToolContext) -> str | None:
        """Nothing to match rules against."""
        return None

    def locations(self, args: Any, ctx: ToolContext) -> list[Path]:
        """No files."""
        return []

    async def run(self, args: Any, ctx: ToolContext) -> ToolOutput:
        """Check the output against the schema; keep it when it fits."""
        import jsonschema

        from claw_lsp.core.tools import ToolOutput

        data = args.model_dump() if isinstance(args, BaseModel) else args
        try:
            jsonschema.validate(data, self.json_schema)
        except jsonschema.ValidationError as exc:
            return ToolOutput(f"The output does not match the schema: {exc.message}. Call again.", True)
        except jsonschema.SchemaError as exc:
            return ToolOutput(f"The schema given with --json-schema is invalid: {exc.message}", True)
        self.on_output(data)
        return ToolOutput("Structured output provided successfully")


@dataclass
class Headless:
    """One `claw -p` process: its settings, session, agent, output, and (stream-json input) the
    control protocol."""

    args: argparse.Namespace
    root: Path = field(init=False)
    agent: Agent | None = None
    transcriber: Transcriber | None = None
    out: _Output = field(init=False)
    channel: Channel | None = None
    sdk_hooks: SdkHooks | None = None
    prompter: SwitchingPrompter | None = None
    interrupted: bool = False
    open_agent_calls: list[str] = field(default_factory=list)
    settings: Settings | None = None
    session: Session | None = None
    initialized: bool = False
    init_sent: bool = False
    mcp: McpManager | None = None
    _temp_state: Any = None

    def __post_init__(self) -> None:
        a = self.args
        self.root = Path(a.cwd or os.getcwd()).resolve()
        self.out = _Output(a.output_format, a.verbose, a.include_partial_messages)

    # -- the process ------------------------------------------------------------------------

    async def main(self, prompt: str) -> int:
        """Set up, run, clean up; the exit code."""
        from claw_lsp.cli.control import Channel

        self.channel = Channel(sys.stdout)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, self._on_signal)
            loop.add_signal_handler(signal.SIGTERM, self._on_signal)
        try:
            try:
                await self.setup(prompt)
            except (SetupError, UsageError) as exc:
                return self._setup_failed(str(exc))
            finally:
                startup.done()  # the SDK is imported: freeze what start-up built (core/startup.py)
            if self.args.input_format == "stream-json":
                return await self.serve_stream()
            finished = await self.run_prompt(prompt)
            if self.interrupted or finished.stop_reason == "cancelled":
                return EXIT_INTERRUPTED
            return EXIT_OK if finished.stop_reason in ("end_turn", "refusal", "max_tokens") else EXIT_FAILED
        finally:
            await self.close()

    def _on_signal(self) -> None:
        self.interrupted = True
        if self.agent is not None and self.agent.current is not None:
            self.agent.current.cancel("interrupted (Ctrl-C)")
        elif self.args.input_format == "stream-json":
            raise KeyboardInterrupt

    def _setup_failed(self, message: str) -> int:
        print(f"error: {message}" if not message.startswith("Error") else message, file=sys.stderr)
        if self.out.fmt in ("json", "stream-json", "claw-stream-json"):
            sid = self.session.id if self.session is not None else ""
            print(json.dumps(error_result(message, session_id=sid)), flush=True)
        return EXIT_FAILED

    async def close(self) -> None:
        """End the session (SessionEnd hooks, background commands), stop MCP servers."""
        if self.agent is not None:
            with contextlib.suppress(Exception):
                await self.agent.close("other")
        if self.session is not None:
            self.session.close()
        if self.mcp is not None:
            await self.mcp.aclose()
        if self._temp_state is not None:
            self._temp_state.cleanup()

    # -- set-up -------------------------------------------------------------------------------

    def overrides(self) -> dict[str, Any]:
        """Settings from --settings and the flags (the user's own: applied like their settings)."""
        a = self.args
        data: dict[str, Any] = {}
        if a.settings:
            given = _json_or_file(a.settings, "--settings")
            if not isinstance(given, dict):
                raise SetupError("--settings: expected a JSON object")
            data.update(given)
        permissions = dict(data.get("permissions") or {})
        allow = list(permissions.get("allow") or []) + split_rules(a.allowed)
        deny = list(permissions.get("deny") or []) + split_rules(a.disallowed)
        if allow:
            permissions["allow"] = allow
        if deny:
            permissions["deny"] = deny
        if permissions:
            data["permissions"] = permissions
        if a.mcp_config:
            servers = dict(data.get("mcpServers") or {})
            for value in a.mcp_config:
                config = _json_or_file(value, "--mcp-config")
                if not isinstance(config, dict):
                    raise SetupError("--mcp-config: expected a JSON object")
                servers.update(config.get("mcpServers", config))
            data["mcpServers"] = servers
        flags: dict[str, Any] = {
            "model": a.model,
            "provider": a.provider,
            "maxTurns": a.max_turns,
            "maxBudgetUsd": a.max_budget_usd,
            "effort": a.effort,
        }
        mode = a.permission_mode
        if mode is not None:
            flags["permissionMode"] = "default" if mode == "dontAsk" else mode
        if a.thinking is not None:
            flags["thinking"] = a.thinking != "disabled"
        if a.max_thinking_tokens is not None and a.thinking != "disabled":
            budget = a.max_thinking_tokens
            flags["thinking"] = {"budgetTokens": budget} if budget else False
        if a.script:
            flags["provider"] = a.provider or "scripted"
            flags["scriptPath"] = str(Path(a.script).resolve())
        data.update({k: v for k, v in flags.items() if v is not None})
        return data

    async def setup(self, prompt: str) -> None:
        """Settings, model, session, prompter, MCP servers and the agent."""
        from claw_lsp.agent.session import SessionLocked, SessionNotFound
        from claw_lsp.cli import ask_trust
        from claw_lsp.compose import make_settings_model, resolve_provider
        from claw_lsp.config import SETTING_SOURCES, load_settings
        from claw_lsp.providers.base import ProviderError
        from claw_lsp.tools.mcp import McpManager

        a = self.args
        if not self.root.is_dir():
            raise UsageError(f"--cwd {self.root}: not a directory")
        folders = [self.root]
        for extra in a.add_dir:
            folder = Path(extra).expanduser().resolve()
            if not folder.is_dir():
                raise UsageError(f"--add-dir {extra}: not a directory")
            folders.append(folder)
        overrides = self.overrides()
        if "model" in overrides:  # explicit flags beat the CLAW_* environment
            os.environ.pop("CLAW_MODEL", None)
        if "provider" in overrides:
            os.environ.pop("CLAW_PROVIDER", None)
        sources = SETTING_SOURCES
        if a.setting_sources is not None:
            sources = frozenset(s.strip() for s in a.setting_sources.split(",") if s.strip())
            if not sources <= SETTING_SOURCES:
                bad = ", ".join(sorted(sources - SETTING_SOURCES))
                raise UsageError(f"Invalid setting source: {bad}. Valid options are: user, project, local")
        loaded = load_settings(self.root, overrides, sources=sources)
        interactive = a.input_format == "text" and sys.stdin.isatty() and sys.stderr.isatty()
        if loaded.needs_trust and interactive and ask_trust(self.root, loaded.held_back) is not None:
            loaded = load_settings(self.root, overrides, sources=sources)
        for warning in loaded.warnings:
            print(f"claw: warning: {warning}", file=sys.stderr)
        settings = loaded.settings
        if a.strict_mcp_config:
            only = set(overrides.get("mcpServers", {}))
            settings = settings.model_copy(
                update={"mcpServers": {k: v for k, v in settings.mcpServers.items() if k in only}}
            )
        self.settings = settings
        provider, _ = resolve_provider(settings)
        _check_credentials(provider)
        try:
            model = make_settings_model(settings, self.root)
        except ProviderError as exc:
            raise SetupError(str(exc)) from exc
        if a.fallback_model and a.fallback_model == model.name:
            raise UsageError(
                "Fallback model cannot be the same as the main model. Please specify a different "
                "model for --fallback-model."
            )
        session = self._session(model, prompt)
        try:
            session.acquire()
        except SessionLocked as exc:
            raise SetupError(str(exc)) from exc
        except SessionNotFound as exc:  # pragma: no cover - acquire does not look sessions up
            raise SetupError(str(exc)) from exc
        self.session = session
        self.transcriber = Transcriber(session.id, max_output_tokens=settings.maxOutputTokens)
        self.prompter = self._prompter(interactive)
        self.mcp = McpManager.from_settings(settings, self.root)
        for warning in await self.mcp.start():
            print(f"claw: warning: {warning}", file=sys.stderr)
        self.agent = self._build_agent(folders, settings, session, model)

    def _session(self, model: Model, prompt: str) -> Session:
        from claw_lsp.agent.session import SessionNotFound, SessionStore

        a = self.args
        state_dir = None
        if a.no_session_persistence:
            self._temp_state = tempfile.TemporaryDirectory(prefix="claw-nosession-")
            state_dir = Path(self._temp_state.name)
        store = SessionStore(self.root, state_dir)
        title = prompt.strip()[:80] or None
        try:
            if a.resume:
                session = store.open(a.resume)
            elif a.cont:
                latest = store.latest()
                if latest is None:
                    raise SetupError("No conversation found to continue")
                session = latest
            elif a.session_id:
                session = _create_with_id(store, a.session_id, model, title)
            else:
                session = store.create(model=model.name, provider=model.provider, title=title)
        except SessionNotFound as exc:
            raise SetupError(str(exc)) from exc
        if a.fork_session and (a.resume or a.cont):
            session = store.fork(session.id)
        return session

    def _prompter(self, interactive: bool) -> SwitchingPrompter:
        from claw_lsp.agent.permissions import DenyingPrompter
        from claw_lsp.cli.control import ControlPrompter, SwitchingPrompter

        a = self.args
        inner: Any
        if a.permission_prompt_tool == "stdio" and a.input_format == "stream-json":
            assert self.channel is not None
            inner = ControlPrompter(self.channel, lambda: self.agent)
        else:
            if a.permission_prompt_tool:
                print(
                    f"claw: warning: --permission-prompt-tool {a.permission_prompt_tool}: claw asks "
                    "only over stdio (with --input-format stream-json); ignored",
                    file=sys.stderr,
                )
            if interactive:
                from claw_lsp.cli.prompter import TerminalPrompter

                inner = TerminalPrompter()
            else:
                inner = DenyingPrompter(
                    "claw is running without a terminal to ask on; allow it with a rule or --permission-mode"
                )
        return SwitchingPrompter(inner, dont_ask=a.permission_mode == "dontAsk")

    def _build_agent(self, folders: list[Path], settings: Settings, session: Session, model: Model) -> Agent:
        from claw_lsp.cli.control import SdkHookRunner, SdkHooks
        from claw_lsp.compose import build_agent

        a = self.args
        appended = [a.append_system_prompt] if a.append_system_prompt else []
        if a.append_system_prompt_file:
            appended.append(_read(a.append_system_prompt_file, "--append-system-prompt-file"))
        if a.json_schema:
            appended.append(
                "When you have the final answer, call the StructuredOutput tool once with it, "
                "in the shape its input schema gives."
            )
        assert self.mcp is not None and self.prompter is not None
        agent = build_agent(
            root=self.root,
            folders=folders,
            settings=settings,
            session=session,
            prompter=self.prompter,
            model=model,
            extra_system="\n\n".join(appended) or None,
            extra_tools=self.mcp.tools,
        )
        system = a.system_prompt
        if a.system_prompt_file:
            system = _read(a.system_prompt_file, "--system-prompt-file")
        # An empty --system-prompt (what the Agent SDK passes by default) keeps claw's own prompt:
        # the model still needs to know its workspace and tools.
        if system:
            agent.system_prompt = system + ("\n\n" + "\n\n".join(appended) if appended else "")
        self._select_tools(agent)
        if a.agents:
            self.add_agents(agent, _json_or_file(a.agents, "--agents"))
        if a.json_schema:
            schema = _json_or_file(a.json_schema, "--json-schema")
            if not isinstance(schema, dict):
                raise SetupError("--json-schema: expected a JSON object")
            agent.tools[StructuredOutput.name] = StructuredOutput(schema, self._structured)
        if model.provider == "scripted":  # continue the script where a resumed session left off
            model.position = sum(1 for m in agent.messages if m.role == "assistant")  # type: ignore[attr-defined]
        self._tap(agent)
        self.sdk_hooks = SdkHooks(self.channel) if self.channel is not None else None
        if self.sdk_hooks is not None and a.input_format == "stream-json":
            agent.hook_runner = SdkHookRunner(
                settings.hooks,
                self.sdk_hooks,
                cwd=self.root,
                session_id=session.id,
                transcript_path=session.path,
                permission_mode=settings.permissionMode,
            )
        return agent

    def _structured(self, data: Any) -> None:
        if self.transcriber is not None:
            self.transcriber.structured_output = data

    def _select_tools(self, agent: Agent) -> None:
        """--tools (the built-in set) and bare names in --disallowedTools (removed from the model's
        view, as in Claude Code; rules with a pattern stay deny rules)."""
        a = self.args
        keep: set[str] | None = None
        if a.tools is not None and a.tools.strip() not in ("default", ""):
            keep = set(split_rules([a.tools]))
        elif a.tools is not None and a.tools.strip() == "":
            keep = set()
        removed = {r for r in split_rules(a.disallowed) if "(" not in r}
        for name in list(agent.tools):
            if name.startswith("mcp__"):
                if name in removed:
                    del agent.tools[name]
                continue
            if (keep is not None and name not in keep) or name in removed:
                del agent.tools[name]

    def add_agents(self, agent: Agent, definitions: Any) -> list[str]:
        """Subagent types from `--agents` / initialize's `agents` ({name: {description, prompt,
        tools?, disallowedTools?, model?, permissionMode?, maxTurns?}}); the warnings."""
        from claw_lsp.agent.agent_tool import agent_tool
        from claw_lsp.agent.subagents import definition_from

        if not isinstance(definitions, dict):
            raise SetupError("--agents: expected a JSON object of agent definitions by name")
        tool = agent.tools.get("Agent")
        runner = getattr(tool, "runner", None)
        if runner is None:
            return ["no Agent tool: the agents given are not available"]
        warnings: list[str] = []
        for name, spec in definitions.items():
            if not isinstance(spec, dict):
                warnings.append(f"agent {name!r}: expected an object; ignored")
                continue
            meta = {k: v for k, v in spec.items() if k != "prompt"}
            meta["name"] = name
            try:
                definition, notes = definition_from(
                    meta, str(spec.get("prompt") or ""), source=None, own=True
                )
            except ValueError as exc:
                warnings.append(f"agent {name!r}: {exc}; ignored")
                continue
            warnings.extend(f"agent {name!r}: {n}" for n in notes)
            runner.definitions.agents[definition.name] = definition
        agent.tools["Agent"] = agent_tool(runner, [n for n in agent.tools if n != "Agent"])
        for warning in warnings:
            print(f"claw: warning: {warning}", file=sys.stderr)
        return warnings

    def _tap(self, agent: Agent) -> None:
        """Report every model turn of the agent, its subagents and /model switches."""
        agent.model = self.tap(agent.model)
        runner = getattr(agent.tools.get("Agent"), "runner", None)
        if runner is not None and runner.model_factory is not None:
            make = runner.model_factory
            runner.model_factory = lambda name: self.tap(make(name))
        if agent.slash is not None and agent.slash.model_factory is not None:
            switch = agent.slash.model_factory
            agent.slash.model_factory = lambda name: self.tap(switch(name))

    def tap(self, model: Model) -> Model:
        """`model`, reporting its turns (once: a tapped model is not wrapped again)."""
        if isinstance(model, TappedModel):
            return model
        return TappedModel(model, self)  # type: ignore[return-value]

    # -- turns and events ---------------------------------------------------------------------

    def fallback_for(self, model: Model, error: Exception) -> Model | None:
        """The `--fallback-model` client to use after `error` (None: the error stands)."""
        from claw_lsp.compose import make_settings_model

        wanted = self.args.fallback_model
        kind = getattr(error, "kind", None)
        if not wanted or wanted == model.name or kind != "overloaded" or self.settings is None:
            return None
        if model.provider == "scripted":
            return None
        return make_settings_model(self.settings, self.root, wanted)

    def parent_of(self, request: ModelRequest) -> str | None:
        """The `Agent` call a request belongs to (None: the main conversation)."""
        if self.agent is None or request.system == self.agent.system_prompt:
            return None
        return self.open_agent_calls[-1] if self.open_agent_calls else None

    def on_delta(self, delta: Delta, model: str, parent: str | None) -> None:
        """A streamed piece: partial stream events with --include-partial-messages."""
        if self.out.sdk and self.out.partial and self.transcriber is not None and self.channel is not None:
            for message in self.transcriber.delta(delta, model, parent):
                self.channel.send(message)

    def on_turn(self, turn: ModelTurn, elapsed: float, window: int, parent: str | None) -> None:
        """A model message: counted for the result, printed as an `assistant` message."""
        t = self.transcriber
        if t is None or self.channel is None:
            return
        if self.out.sdk and self.out.partial:
            for message in t.turn_end_events(turn, parent):
                self.channel.send(message)
        assistant = t.turn(turn, elapsed_s=elapsed, context_window=window, parent_tool_use_id=parent)
        if self.out.sdk:
            self.channel.send(assistant)

    def on_event(self, event: Any) -> None:
        """A run event: tool results as `user` messages (stream-json), else claw's printer."""
        t = self.transcriber
        assert t is not None
        kind = event.type
        if kind == "tool_call":
            t.tool_started(event)
            if event.name == "Agent" and event.parent_tool_call_id is None:
                self.open_agent_calls.append(event.tool_call_id)
        elif kind == "tool_call_update":
            if event.tool_call_id in self.open_agent_calls and event.status in ("completed", "failed"):
                self.open_agent_calls.remove(event.tool_call_id)
            message = t.tool_finished(event)
            if message is not None and self.out.sdk and self.channel is not None:
                self.channel.send(message)
        elif kind == "notice" and self.out.sdk and event.level != "info":
            print(f"claw: {event.level}: {event.message}", file=sys.stderr, flush=True)
        if self.out.printer is not None:  # run_finished too: it lets out a held warning
            self.out.printer.handle(event)

    def send_init(self) -> None:
        """The `system`/`init` message (stream-json output), once per process."""
        if not self.out.sdk or self.init_sent or self.agent is None or self.channel is None:
            return
        self.init_sent = True
        agent = self.agent
        slash, skills = _commands_and_skills(agent)
        runner = getattr(agent.tools.get("Agent"), "runner", None)
        agents = list(runner.definitions.agents) if runner is not None else []
        self.channel.send(
            init_message(
                session_id=agent.session_id,
                cwd=str(self.root),
                model=agent.model.name,
                tools=list(agent.tools),
                mcp_servers=self.mcp_servers(),
                permission_mode=self.permission_mode(),
                slash_commands=slash,
                agents=agents,
                skills=skills,
                api_key_source=_api_key_source(agent.model.provider),
            )
        )

    def permission_mode(self) -> str:
        """The current permission mode in Claude Code's names."""
        if self.prompter is not None and self.prompter.dont_ask:
            return "dontAsk"
        assert self.agent is not None
        return str(self.agent.permissions.mode)

    def mcp_servers(self) -> list[Any]:
        """Each MCP server with its status (connected / failed)."""
        if self.mcp is None:
            return []
        started = {c.name: c for c in self.mcp.connections}
        statuses = []
        for name in self.mcp.servers:
            connection = started.get(name)
            ok = connection is not None and connection.session is not None
            statuses.append({"name": name, "status": "connected" if ok else "failed"})
        return statuses

    async def run_prompt(self, prompt: str) -> RunFinished:
        """Run one prompt on the session; print its output; its RunFinished."""
        agent, t = self.agent, self.transcriber
        assert agent is not None and t is not None
        t.reset()
        self.send_init()
        run: Run = agent.start(prompt)
        run.subscribe(self.on_event)
        finished = await run.wait()
        if self.out.printer is not None:
            if self.out.fmt == "claw-stream-json":
                from claw_lsp.cli import result_object

                print(json.dumps(result_object(finished)), flush=True)
            else:
                self.out.printer.finish(finished)
        elif self.channel is not None:
            self.channel.send(t.result(finished))
        return finished

    # -- stream-json input --------------------------------------------------------------------

    async def serve_stream(self) -> int:
        """Turns from stdin's `user` lines, one after another on the session; control requests
        answered meanwhile. Ends at the end of input, once the queued turns are done."""
        from claw_lsp.cli.control import StdinLines, serve_control_request, user_text

        assert self.channel is not None
        lines = StdinLines()
        prompts: asyncio.Queue[str | None] = asyncio.Queue()
        status = {"code": EXIT_OK}

        async def turns() -> None:
            while (prompt := await prompts.get()) is not None:
                finished = await self.run_prompt(prompt)
                ok = finished.stop_reason in ("end_turn", "refusal", "max_tokens")
                status["code"] = EXIT_OK if ok or finished.stop_reason == "cancelled" else EXIT_FAILED

        worker = asyncio.create_task(turns())
        handlers = self.control_handlers()
        served: set[asyncio.Task[None]] = set()
        while (raw := await lines.next()) is not None:
            try:
                message = json.loads(raw)
            except json.JSONDecodeError:
                if raw.strip():
                    print(f"claw: warning: stdin line is not JSON; ignored: {raw[:80]!r}", file=sys.stderr)
                continue
            if not isinstance(message, dict):
                continue
            kind = message.get("type")
            if kind == "user":
                text = user_text(message)
                if text is None or not text.strip():
                    print("claw: warning: a user message without text; ignored", file=sys.stderr)
                else:
                    prompts.put_nowait(text)
            elif kind == "control_request":
                task = asyncio.create_task(serve_control_request(self.channel, message, handlers))
                served.add(task)
                task.add_done_callback(served.discard)
            elif kind == "control_response":
                self.channel.resolve(message)
            elif kind == "control_cancel_request":
                continue
            else:
                print(f"claw: warning: stdin message of type {kind!r} ignored", file=sys.stderr)
        prompts.put_nowait(None)
        self.channel.close()  # nobody can answer claw's own requests any more
        await worker
        if served:
            await asyncio.gather(*served, return_exceptions=True)
        if self.interrupted:
            return EXIT_INTERRUPTED
        return status["code"]

    def control_handlers(self) -> dict[str, Any]:
        """The host's control requests claw answers, by subtype."""
        return {
            "initialize": self._initialize,
            "interrupt": self._interrupt,
            "set_permission_mode": self._set_permission_mode,
            "set_model": self._set_model,
            "mcp_status": self._mcp_status,
        }

    async def _initialize(self, body: dict[str, Any]) -> dict[str, Any]:
        assert self.agent is not None and self.sdk_hooks is not None
        warnings = self.sdk_hooks.register(body.get("hooks"))
        if body.get("agents"):
            warnings += self.add_agents(self.agent, body["agents"])
        for warning in warnings:
            print(f"claw: warning: {warning}", file=sys.stderr)
        self.initialized = True
        slash, _ = _commands_and_skills(self.agent)
        runner = getattr(self.agent.tools.get("Agent"), "runner", None)
        agents = runner.definitions.agents.values() if runner is not None else []
        return {
            "commands": [{"name": n, "description": "", "argumentHint": ""} for n in slash],
            "agents": [{"name": d.name, "description": d.description} for d in agents],
            "output_style": "default",
            "available_output_styles": ["default"],
            "models": [{"value": self.agent.model.name, "displayName": self.agent.model.name}],
            "account": {},
            "hooks_applied": True,
            "pid": os.getpid(),
        }

    async def _interrupt(self, body: dict[str, Any]) -> dict[str, Any]:
        agent = self.agent
        if agent is not None and agent.current is not None and not agent.current.done:
            agent.current.cancel("interrupted by the SDK host")
        return {}

    async def _set_permission_mode(self, body: dict[str, Any]) -> dict[str, Any]:
        mode = body.get("mode")
        if mode not in PERMISSION_MODES or mode == "auto":
            raise ValueError(
                f"unknown permission mode {mode!r}; claw takes {', '.join(PERMISSION_MODES[:-1])}"
            )
        assert self.agent is not None and self.prompter is not None
        self.prompter.dont_ask = mode == "dontAsk"
        engine_mode = "default" if mode == "dontAsk" else mode
        self.agent.permissions.set_mode(typing.cast("PermissionMode", engine_mode))
        if self.agent.hook_runner is not None:
            self.agent.hook_runner.permission_mode = mode
        return {}

    async def _set_model(self, body: dict[str, Any]) -> dict[str, Any]:
        from claw_lsp.compose import make_settings_model
        from claw_lsp.providers.base import ProviderError

        assert self.agent is not None and self.settings is not None
        name = body.get("model")
        current = self.agent.model
        if current.provider == "scripted":  # a script plays on whatever the model is called
            current.name = str(name or current.name)
            return {}
        try:
            self.agent.model = self.tap(make_settings_model(self.settings, self.root, name or None))
        except ProviderError as exc:
            raise ValueError(str(exc)) from exc
        return {}

    async def _mcp_status(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"mcpServers": self.mcp_servers()}


def _read(path: str, flag: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise SetupError(f"{flag} {path}: {exc.strerror or exc}") from exc


def _check_credentials(provider: str) -> None:
    if provider == "anthropic" and not (
        os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
    ):
        raise SetupError(
            "Invalid API key · no API key: set ANTHROPIC_API_KEY (or use --provider scripted --script FILE)"
        )
    if (
        provider == "openai"
        and not os.environ.get("OPENAI_API_KEY")
        and not os.environ.get("OPENAI_BASE_URL")
    ):
        raise SetupError(
            "Invalid API key · no API key: set OPENAI_API_KEY (and OPENAI_BASE_URL for a local server)"
        )


def _api_key_source(provider: str) -> str:
    if provider == "anthropic" and os.environ.get("ANTHROPIC_API_KEY"):
        return "ANTHROPIC_API_KEY"
    if provider == "openai" and os.environ.get("OPENAI_API_KEY"):
        return "OPENAI_API_KEY"
    return "none"


def _commands_and_skills(agent: Agent) -> tuple[list[str], list[str]]:
    """The slash commands a user may type and the skills the model may invoke."""
    slash = agent.slash
    if slash is None:
        return [], []
    commands = [c.name for c in slash.catalog.commands]
    skills = [s.name for s in slash.activator.listed()]
    return commands, skills


def _create_with_id(store: SessionStore, session_id: str, model: Model, title: str | None) -> Session:
    """`--session-id`: the session with that id (resumed when it exists, else created)."""
    import uuid as uuid_mod

    from claw_lsp.agent.session import SessionNotFound

    try:
        uuid_mod.UUID(session_id)
    except ValueError as exc:
        raise UsageError("Invalid session ID. Must be a valid UUID.") from exc
    with contextlib.suppress(SessionNotFound):
        return store.open(session_id)
    return store.create(model=model.name, provider=model.provider, title=title, session_id=session_id)
