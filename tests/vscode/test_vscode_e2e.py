"""End to end in a real VS Code: code-server in headless Chromium, the packaged Claw extension, the
real claw-lsp server and the fake Messages API server.

The test builds the .vsix, installs it into a fresh code-server profile, opens a workspace holding a
buggy Python file and a JSON file with a syntax error, and drives the UI (tests/vscode/drive.mjs,
playwright-core on /usr/bin/chromium): `Claw: Ask…` from the command palette fixes the Python file,
`Fix with Claw: …` from the quick-fix menu fixes the JSON error that VS Code's JSON language service
reports, a slow run is cancelled from its progress notification, and after a switch of
`claw.permissionMode` to `default` in the workspace settings (the server restarts) a command is allowed from
the permission quick pick and an edit accepted inline (the "Accept all" CodeLens over the hunk). It
checks the editor's text, the transcript panel and the status bar, and saves vscode-e2e*.png in the
artifacts directory ($CLAW_ARTIFACTS, else tests/vscode/artifacts). Without a claw-lsp to start, one
notification says how to install it and opens the setting.

Needs scripts/setup-vscode-e2e.sh to have run (Node 24, code-server, playwright-core, chromium);
skipped with that reason otherwise, and failed under CI=true (tests/vscode/harness.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_messages_api import standalone_command
from tests.fakes.fixtures import trust
from tests.vscode.harness import (
    ARTIFACTS,
    CHROMIUM,
    DRIVER,
    NODE_BIN,
    PLAYWRIGHT_CORE,
    ROOT,
    install_extension,
    killpg,
    make_env,
    require_toolchain,
    start_code_server,
    tail,
    user_settings,
    wait_http,
)

pytestmark = pytest.mark.vscode

BUGGY_PY = '''def average(numbers):
    """The mean of a non-empty list of numbers."""
    return sum(numbers) / (len(numbers) - 1)
'''
GREET_PY = 'def greet(name):\n    return "Hello, " + nam\n'
CONFIG_JSON = '{\n  "name": "demo"\n  "version": 1\n}\n'
SLOW_TEXT = "This file defines average(), which sums the numbers and divides by their count. " * 6


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


@pytest.fixture
def e2e_env(tmp_path: Path) -> dict[str, str]:
    require_toolchain()
    return make_env(tmp_path / "home")


@pytest.fixture
def fake_api(tmp_path: Path, e2e_env: dict[str, str]) -> Iterator[tuple[str, Path, Path]]:
    """The fake Messages API as a subprocess; yields (base URL, workspace, requests log)."""
    ws = tmp_path / "workspace"
    (ws / ".claw").mkdir(parents=True)
    (ws / "buggy.py").write_text(BUGGY_PY)
    (ws / "config.json").write_text(CONFIG_JSON)
    (ws / "greet.py").write_text(GREET_PY)
    (ws / ".claw" / "settings.json").write_text(json.dumps({"permissionMode": "acceptEdits"}))
    trust(ws, Path(e2e_env["XDG_STATE_HOME"]))  # the folder's own acceptEdits applies once trusted
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
            assert proc.poll() is None, tail(tmp_path / "fake-api.log")
            assert time.monotonic() < deadline, "the fake Messages API did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{int(port_file.read_text())}", ws, requests_log
    finally:
        killpg(proc)
        log.close()


def _drive(
    tmp_path: Path,
    env: dict[str, str],
    vsix: Path,
    ws: Path,
    scenario: str,
    *,
    trusted: bool,
    settings: dict[str, object] | None = None,
) -> tuple[dict[str, Any], str]:
    """Install the .vsix into a fresh profile, start code-server on `ws`, run drive.mjs's `scenario`."""
    user_data, extensions = tmp_path / "user-data", tmp_path / "extensions"
    dirs = install_extension(env, vsix, user_data, extensions, settings)
    cs_log = tmp_path / "code-server.log"
    code_server, port = start_code_server(env, dirs, ws, cs_log, trusted=trusted)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / ("vscode-e2e.png" if scenario == "main" else f"vscode-e2e-{scenario}.png")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 60)
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
        killpg(code_server)
    lines = drive.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    claw_logs = sorted(user_data.glob("logs/**/*Claw*.log"))
    result["clawLog"] = "".join(p.read_text(errors="replace") for p in claw_logs)
    report = (
        f"driver exit {drive.returncode}\n--- driver stderr\n{drive.stderr[-4000:]}\n"
        f"--- result\n{json.dumps(result, indent=1)[-6000:]}\n--- code-server log\n{tail(cs_log, 30)}\n"
        + "".join(f"--- {p.name}\n{tail(p, 80)}\n" for p in claw_logs)
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
    # New Session starts a clean transcript.
    assert "Fix greet()." not in str(result["transcriptNewSession"]), report
    # The permission quick pick showed the model's description and the exact command, each once; the
    # review was inline in greet.py's editor (its CodeLens row), with the status bar item; both answered.
    assert "Create a marker file" in result["permissionText"], report
    assert result["permissionText"].count("touch made-by-claw.txt") == 1, report
    assert "hunk 1 of 1" in result["reviewText"] and "Accept" in result["reviewText"], report
    assert "greet.py" in result["reviewTab"], report
    assert result["reviewStatus"] == "Claw: review 1 hunk", report
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


@pytest.mark.timeout(200)
def test_missing_server_shows_one_notification_that_says_how_to_install_it(
    tmp_path: Path, e2e_env: dict[str, str], vsix: Path
) -> None:
    ws = tmp_path / "workspace"
    ws.mkdir()
    (ws / "notes.txt").write_text("nothing here\n")
    # No claw.serverPath, no .venv in the workspace, no claw-lsp on PATH.
    settings = {k: v for k, v in user_settings().items() if k != "claw.serverPath"}
    env = {**e2e_env, "PATH": os.pathsep.join([str(NODE_BIN), "/usr/local/bin", "/usr/bin", "/bin"])}
    result, report = _drive(tmp_path, env, vsix, ws, "missing", trusted=True, settings=settings)
    assert result.get("ok"), report
    about_server = [n for n in result["notifications"] if "claw-lsp" in n or "ENOENT" in n]
    assert len(about_server) == 1, report
    toast = str(result["toastText"])
    for needed in ("claw-linux-x64.vsix", "uv tool install", "PATH", "claw.serverPath", "Open Settings"):
        assert needed in toast, report
    assert "claw.serverPath" in str(result["settingsSearch"]), report
    assert result["settingShown"], report
