"""`claw doctor`: what this installation has and lacks, each problem with the command that fixes it.

It checks the Python running claw, the SDKs and their versions, the `rg` binary, whether credentials
are present (never their values), the settings files read for the folder and their warnings, the MCP
servers configured (named, not started: a repository's `.mcp.json` runs nothing here), and which
editors have the Claw shim installed. Exit status 1 when a check failed, else 0.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from claw_lsp import __version__

# Where the package is published from (README "Install"): the repository, until PyPI.
SOURCE = "git+https://github.com/claw-lsp/claw-lsp"
# The distributions the server and the CLI import, by their PyPI names.
SDKS = (
    "anthropic",
    "openai",
    "mcp",
    "pygls",
    "lsprotocol",
    "pydantic",
    "agent-client-protocol",
    "ripgrep",
    "pyyaml",
    "markdownify",
)
_CREDENTIALS = (
    ("ANTHROPIC_API_KEY", "anthropic"),
    ("ANTHROPIC_AUTH_TOKEN", "anthropic"),
    ("OPENAI_API_KEY", "openai"),
)


@dataclass
class Check:
    """One line of the report: `status` is ok, warn, error or info; `fix` the command that helps."""

    section: str
    status: str
    message: str
    fix: str | None = None


def reinstall_command() -> str:
    """The exact command that reinstalls this claw, the way it was installed (uv tool, pipx, pip)."""
    prefix = Path(sys.prefix)
    source = SOURCE
    try:
        direct = metadata.distribution("claw-lsp").read_text("direct_url.json")
        url = json.loads(direct)["url"] if direct else ""
        if url.startswith("file://"):
            source = url.removeprefix("file://")
        elif url:
            source = url
    except (metadata.PackageNotFoundError, ValueError, KeyError, TypeError):
        pass
    if (prefix / "uv-receipt.toml").is_file():
        return f"uv tool install --reinstall {source}"
    if (prefix / "pipx_metadata.json").is_file():
        return "pipx reinstall claw-lsp"
    return f"{sys.executable} -m pip install --force-reinstall {source}"


def _python() -> list[Check]:
    v = sys.version_info
    text = f"Python {v.major}.{v.minor}.{v.micro} ({sys.executable})"
    if v < (3, 11):
        return [Check("python", "error", text + ": claw needs Python 3.11 or newer", reinstall_command())]
    return [Check("python", "ok", text), Check("python", "info", f"claw-lsp {__version__}")]


def _sdks() -> list[Check]:
    checks = []
    for name in SDKS:
        try:
            checks.append(Check("packages", "ok", f"{name} {metadata.version(name)}"))
        except metadata.PackageNotFoundError:
            checks.append(Check("packages", "error", f"{name} is not installed", reinstall_command()))
    return checks


def _ripgrep() -> list[Check]:
    from claw_lsp.core.tools import ToolError
    from claw_lsp.tools.search import rg_binary

    try:
        rg = rg_binary()
    except ToolError:
        return [Check("rg", "error", "ripgrep (rg) not found: Grep and Glob cannot run", reinstall_command())]
    try:
        out = subprocess.run([rg, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return [Check("rg", "error", f"{rg} does not run: {exc}", reinstall_command())]
    first = (out.stdout.splitlines() or ["?"])[0]
    return [Check("rg", "ok" if out.returncode == 0 else "error", f"{first} ({rg})")]


def _credentials(provider: str) -> list[Check]:
    checks = []
    present = [var for var, _ in _CREDENTIALS if os.environ.get(var)]
    for var, owner in _CREDENTIALS:
        if var in present:
            checks.append(Check("credentials", "ok", f"{var} is set ({owner})"))
    base = os.environ.get("ANTHROPIC_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    if base:
        checks.append(Check("credentials", "info", f"custom endpoint: {base}"))
    needed = {"anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"), "openai": ("OPENAI_API_KEY",)}
    wanted = needed.get(provider, ())
    if wanted and not any(var in present for var in wanted):
        checks.append(
            Check(
                "credentials",
                "warn",
                f"provider {provider}: {' or '.join(wanted)} is not set",
                f"export {wanted[0]}=...",
            )
        )
    if not wanted:
        checks.append(Check("credentials", "info", f"provider {provider} needs no API key"))
    return checks


def _settings(root: Path) -> tuple[list[Check], str]:
    from claw_lsp.config import load_settings

    loaded = load_settings(root)
    checks = [Check("settings", "info", f"folder {root}")]
    for source in loaded.sources:
        checks.append(Check("settings", "ok", f"read {source}"))
    if not loaded.sources:
        checks.append(Check("settings", "info", "no settings files (the defaults apply)"))
    state = {True: "trusted", False: "not trusted", None: "not decided"}[loaded.trusted]
    fix = f"claw trust {root}" if loaded.held_back and not loaded.trusted else None
    checks.append(Check("settings", "warn" if fix else "info", f"workspace trust: {state}", fix))
    for warning in loaded.warnings:
        checks.append(Check("settings", "warn", warning))
    s = loaded.settings
    checks.append(
        Check("settings", "info", f"provider {s.provider}, model {s.model or '(the provider default)'}")
    )
    for name, server in sorted(s.mcpServers.items()):
        if server.type == "http":
            checks.append(Check("mcp", "ok", f"{name}: http {server.url}"))
            continue
        command = server.command or ""
        found = shutil.which(command) if command else None
        if found:
            checks.append(Check("mcp", "ok", f"{name}: stdio {command} ({found})"))
        else:
            checks.append(Check("mcp", "warn", f"{name}: stdio command {command!r} not found on PATH", None))
    if not s.mcpServers:
        checks.append(Check("mcp", "info", "no MCP servers configured"))
    return checks, s.provider


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def _xdg_data() -> Path:
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and os.path.isabs(value) else _home() / ".local" / "share"


def _editors() -> list[Check]:
    home = _home()
    checks = []
    for label, exe in (("language server", "claw-lsp"), ("CLI", "claw")):
        found = shutil.which(exe)
        if found:
            checks.append(Check("editors", "ok", f"{exe} ({label}) on PATH: {found}"))
        else:
            beside = Path(sys.executable).parent / exe
            where = f"{exe} is at {beside}, but" if beside.exists() else f"{exe} is not installed or"
            checks.append(
                Check(
                    "editors",
                    "warn",
                    f"{where} not on PATH: editors other than VS Code will not find it",
                    "uv tool update-shell  (or: pipx ensurepath), then open a new shell",
                )
            )
    vscode_dirs = {
        "VS Code": home / ".vscode" / "extensions",
        "VS Code Insiders": home / ".vscode-insiders" / "extensions",
        "VS Code Server": home / ".vscode-server" / "extensions",
        "VSCodium": home / ".vscode-oss" / "extensions",
        "Cursor": home / ".cursor" / "extensions",
        "code-server": _xdg_data() / "code-server" / "extensions",
    }
    for editor, folder in vscode_dirs.items():
        for ext in sorted(folder.glob("claw-lsp.claw-*")):
            checks.append(Check("editors", "ok", f"{editor}: extension {ext.name}"))
    nvim = _xdg_data() / "nvim"
    patterns = (
        "lazy/*/editors/neovim/lua/claw/init.lua",
        "lazy/*/lua/claw/init.lua",
        "site/pack/*/*/*/editors/neovim/lua/claw/init.lua",
        "site/pack/*/*/*/lua/claw/init.lua",
    )
    for pattern in patterns:
        for hit in sorted(glob.glob(str(nvim / pattern))):
            plugin = Path(hit).parents[2]
            checks.append(Check("editors", "ok", f"Neovim: plugin {plugin}"))
    if not any(c.message.startswith(("Neovim:", *(f"{e}:" for e in vscode_dirs))) for c in checks):
        checks.append(Check("editors", "info", "no editor shim found (see docs/editors.md)"))
    return checks


def run_checks(root: Path) -> list[Check]:
    """Every check, in report order."""
    checks = _python() + _sdks() + _ripgrep()
    settings, provider = _settings(root)
    return checks + _credentials(provider) + settings + _editors()


_MARK = {"ok": "✓", "warn": "!", "error": "✗", "info": "·"}


def main(argv: list[str]) -> int:
    """`claw doctor [--cwd DIR] [--json]`."""
    parser = argparse.ArgumentParser(
        prog="claw doctor",
        description="Check this installation: Python, SDKs, rg, credentials, settings, MCP servers, editors.",
    )
    parser.add_argument("--cwd", metavar="DIR", help="the project folder whose settings to check")
    parser.add_argument("--json", action="store_true", help="print the checks as a JSON array")
    args = parser.parse_args(argv)
    root = Path(args.cwd or os.getcwd()).resolve()
    checks = run_checks(root)
    failed = any(c.status == "error" for c in checks)
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
        return 1 if failed else 0
    section = None
    for check in checks:
        if check.section != section:
            section = check.section
            print(f"{section}:")
        print(f"  {_MARK[check.status]} {check.message}")
        if check.fix:
            print(f"      fix: {check.fix}")
    problems = sum(c.status in ("warn", "error") for c in checks)
    print("No problems found." if not problems else f"{problems} problem(s) found.")
    return 1 if failed else 0
