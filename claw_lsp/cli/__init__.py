"""Command-line entry points: `claw-lsp` (the language server) and `claw`: its subcommands
(`sessions`, `trust`, `acp`) and headless runs with Claude Code's `-p` command line (`cli/claude.py`,
exit codes there), whose text and `claw-stream-json` output `Printer` renders.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from claw_lsp import __version__
from claw_lsp.core import startup

# `claw sessions` / `claw trust`; a run's exit codes are cli/claude.py's.
EXIT_OK, EXIT_USAGE = 0, 2


def serve_main(argv: list[str] | None = None) -> int:
    """`claw-lsp`: run the language server on stdio."""
    parser = argparse.ArgumentParser(prog="claw-lsp", description="The claw language server (stdio).")
    parser.add_argument("--version", action="version", version=f"claw-lsp {__version__}")
    parser.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    parser.add_argument("--acp", action="store_true", help="talk the Agent Client Protocol on stdio instead")
    startup.tune_allocator()
    if parser.parse_args(argv).acp:
        from claw_lsp.acp import serve_stdio as serve_acp

        return serve_acp()
    from claw_lsp.server.app import serve_stdio

    serve_stdio()
    return 0


def _sessions_main(argv: list[str]) -> int:
    from claw_lsp.agent.session import SessionStore

    parser = argparse.ArgumentParser(prog="claw sessions", description="List this project's sessions.")
    parser.add_argument("--cwd", metavar="DIR")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    root = Path(args.cwd or os.getcwd()).resolve()
    infos = SessionStore(root).list()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "session_id": i.session_id,
                        "title": i.title,
                        "updated_at": i.updated_at.isoformat(),
                        "messages": i.messages,
                        "model": i.model,
                        "scripted": i.scripted,
                    }
                    for i in infos
                ]
            )
        )
        return EXIT_OK
    if not infos:
        print("No sessions in this project yet.")
    for info in infos:
        flag = " [scripted]" if info.scripted else ""
        stamp = f"{info.updated_at:%Y-%m-%d %H:%M}"
        print(f"{info.session_id}  {stamp}  {info.messages:4d} msgs  {info.title}{flag}")
    return EXIT_OK


def _trust_main(argv: list[str]) -> int:
    from claw_lsp.config import TrustStore, load_settings

    parser = argparse.ArgumentParser(
        prog="claw trust",
        description=(
            "Trust a folder (default: the current one): the settings, hooks and MCP servers it ships "
            "in .claw/, .claude/ and .mcp.json then apply. Until then they may only narrow what claw does."
        ),
    )
    parser.add_argument("folder", nargs="?", metavar="DIR")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--revoke", action="store_true", help="stop trusting the folder (remembered)")
    action.add_argument("--forget", action="store_true", help="forget the decision: ask again next time")
    action.add_argument("--status", action="store_true", help="show the decision and what it holds back")
    action.add_argument("--list", action="store_true", help="list every remembered decision")
    args = parser.parse_args(argv)
    store = TrustStore()
    if args.list:
        entries = store.entries()
        if not entries:
            print("No trust decisions yet.")
        for entry in sorted(entries, key=lambda e: str(e.folder)):
            print(f"{'trusted    ' if entry.trusted else 'not trusted'}  {entry.decided_at}  {entry.folder}")
        return EXIT_OK
    folder = Path(args.folder or os.getcwd()).resolve()
    if not folder.is_dir():
        print(f"claw: {folder}: not a directory", file=sys.stderr)
        return EXIT_USAGE
    held = load_settings(folder, trusted=False).held_back
    if not args.status:
        store.decide(folder, None if args.forget else not args.revoke)
    decision = store.decision(folder)
    state = {True: "trusted", False: "not trusted", None: "not decided (claw asks)"}[decision]
    print(f"{folder}: {state}")
    if held:
        verb = "applied" if decision else "held back"
        print("Its own settings that widen what claw may do (" + verb + "):")
        for item in held:
            print(f"  {item}")
    return EXIT_OK


def ask_trust(root: Path, held_back: list[str]) -> bool | None:
    """Ask on the terminal whether to trust `root` (y / n remembered; anything else: not now)."""
    from claw_lsp.config import TrustStore

    print(f"claw: {root} has its own settings that let claw do more:", file=sys.stderr)
    for item in held_back:
        print(f"  {item}", file=sys.stderr)
    print(
        "Trust this folder? Its settings, hooks and MCP servers then apply. [y/n, Enter: not now] ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    try:
        answer = sys.stdin.readline().strip().lower()
    except (OSError, ValueError):
        return None
    if answer not in ("y", "yes", "n", "no"):
        return None
    trusted = answer.startswith("y")
    TrustStore().decide(root, trusted)
    return trusted


def main(argv: list[str] | None = None) -> int:
    """`claw`: headless agent runs, session listing and workspace trust."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "sessions":
        return _sessions_main(argv[1:])
    if argv and argv[0] == "trust":
        return _trust_main(argv[1:])
    if argv and argv[0] == "doctor":
        from claw_lsp.cli.doctor import main as doctor_main

        return doctor_main(argv[1:])
    if argv and argv[0] == "acp":
        from claw_lsp.acp import serve_stdio as serve_acp

        startup.tune_allocator()

        argparse.ArgumentParser(
            prog="claw acp", description="The Agent Client Protocol on stdio."
        ).parse_args(argv[1:])
        return serve_acp()
    # Claude Code's `-p` command line, flags, output formats and stream-json input (cli/claude.py).
    startup.begin()  # back on once the run's set-up has imported the model SDK
    startup.tune_allocator()
    from claw_lsp.cli.claude import main as claude_main

    return claude_main(argv)


_SUBTYPES = {
    "end_turn": "success",
    "max_turns": "error_max_turns",
    "budget": "error_max_budget",
    "cancelled": "error_cancelled",
}


def result_object(finished: Any) -> dict[str, Any]:
    """Claude Code's `--output-format json` result shape for a finished run."""
    return {
        "type": "result",
        "subtype": _SUBTYPES.get(finished.stop_reason, "error_during_execution"),
        "is_error": finished.stop_reason != "end_turn",
        "result": finished.result
        if finished.stop_reason == "end_turn"
        else (finished.error or finished.result),
        "session_id": finished.session_id,
        "run_id": finished.run_id,
        "stop_reason": finished.stop_reason,
        "num_turns": finished.turns,
        "duration_ms": finished.duration_ms,
        "usage": finished.usage.model_dump(),
        "total_cost_usd": finished.cost_usd,
    }


class Printer:
    """Renders run events in one of the output formats."""

    def __init__(self, fmt: str, verbose: bool, out: TextIO, err: TextIO) -> None:
        self.fmt = fmt
        self.verbose = verbose
        self.out = out
        self.err = err
        self.ended_with_newline = True
        # A warning/error notice waits for the next event: when that is the run's end with the
        # same error, `finish` says it once (stderr gets one line, not two).
        self.held: Any = None
        # Inside a run of thought chunks (the verbose marker is shown once per run).
        self.thinking = False

    def handle(self, event: Any) -> None:
        """Print one event as it happens."""
        kind = event.type
        held, self.held = self.held, None
        if held is not None and not (kind == "run_finished" and event.error == held.message):
            self._line(f"{held.level}: {held.message}")
        if self.fmt == "stream-json":
            if kind != "run_finished":
                self.out.write(json.dumps(event.model_dump(mode="json")) + "\n")
                self.out.flush()
            return
        # A subagent's events (nested under its Agent call): its words are not the answer.
        nested = getattr(event, "parent_tool_call_id", None) is not None
        if kind == "agent_thought_chunk":  # thinking: a marker in verbose mode, not the text
            if self.verbose and not self.thinking and not nested:
                self._line("✻ Thinking…")
            self.thinking = self.thinking or not nested
            return
        self.thinking = False
        if self.fmt == "text" and kind == "agent_message_chunk" and not nested:
            self.out.write(event.text)
            self.out.flush()
            self.ended_with_newline = event.text.endswith("\n")
            return
        if not self.verbose and kind != "notice":
            return
        if kind == "tool_call":
            self._line(f"{'  ' if nested else ''}● {event.title}")
        elif (
            kind == "tool_call_update"
            and event.status in ("completed", "failed")
            and event.output is not None
        ):
            first = event.output.strip().splitlines()[0] if event.output.strip() else ""
            mark = "✗" if event.status == "failed" else "⎿"
            self._line(f"{'  ' if nested else ''}  {mark} {first[:120]}")
        elif kind == "plan":
            for entry in event.entries:
                box = {"completed": "[x]", "in_progress": "[~]"}.get(entry.status, "[ ]")
                self._line(f"  {box} {entry.content}")
        elif kind == "notice" and event.level != "info":
            self.held = event
        elif kind == "notice":
            self._line(f"{event.level}: {event.message}")

    def _line(self, text: str) -> None:
        if not self.ended_with_newline:
            self.out.write("\n")
            self.out.flush()
            self.ended_with_newline = True
        self.err.write(text + "\n")
        self.err.flush()

    def finish(self, finished: Any) -> None:
        """Print the run's end: the result object (json formats) or an error line (text)."""
        if self.fmt in ("json", "stream-json"):
            self.out.write(json.dumps(result_object(finished)) + "\n")
        else:
            if not self.ended_with_newline:
                self.out.write("\n")
            if finished.stop_reason != "end_turn":
                reason = finished.error or finished.stop_reason
                self.err.write(f"claw: run stopped ({finished.stop_reason}): {reason}\n")
        self.out.flush()
        self.err.flush()
