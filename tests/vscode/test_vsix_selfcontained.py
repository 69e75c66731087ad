"""The self-contained platform extension (`make vsix` → editors/vscode/claw-linux-x64.vsix) in a
clean code-server: only the .vsix is installed, no claw.serverPath, no claw-lsp on PATH, no
PYTHONPATH, a fresh HOME. The extension runs the claw-lsp server bundled inside it
(bundled/tool/claw_server.py with bundled/libs) with the system's Python 3.11+, and a run against
the fake Messages API completes, its Grep using the bundled `rg`. With no usable Python (the bundle
made for a Python the machine lacks), one notification says so and names the fix (make stress).
With the Python extension installed (tests/vscode/python_standin: a stand-in with its `environments`
API, since the real one is on the Marketplace and Open VSX only), the server runs with the
interpreter it selected and restarts with the next one (make stress).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.fakes.fixtures import trust
from tests.vscode.harness import (
    EXTENSION_DIR,
    NODE_BIN,
    ROOT,
    CodeServerSession,
    make_env,
    require_toolchain,
    user_settings,
)
from tests.vscode.test_vscode_e2e import _drive

pytestmark = pytest.mark.vscode
SYSTEM_PATH = ["/usr/local/bin", "/usr/bin", "/bin"]


def build_platform_vsix() -> Path:
    """`make vsix`'s platform half: bundle the server (scripts/bundle_server.py), package linux-x64."""
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), str(EXTENSION_DIR / "scripts" / "bundle_server.py")],
        check=True,
        capture_output=True,
        timeout=600,
    )
    env = {**os.environ, "PATH": os.pathsep.join([str(NODE_BIN), os.environ.get("PATH", "")])}
    npm = shutil.which("npm", path=env["PATH"])
    assert npm, "npm not found"
    subprocess.run(
        [npm, "run", "-s", "package:linux-x64"],
        cwd=EXTENSION_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return EXTENSION_DIR / "claw-linux-x64.vsix"


@pytest.fixture(scope="module")
def platform_vsix() -> Path:
    require_toolchain()
    return build_platform_vsix()


def _clean_env(home: Path, path: list[str]) -> dict[str, str]:
    env = make_env(home)
    env["PATH"] = os.pathsep.join(path)
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    assert shutil.which("claw-lsp", path=env["PATH"]) is None
    return env


def test_the_platform_vsix_holds_the_server_for_each_python(platform_vsix: Path) -> None:
    with zipfile.ZipFile(platform_vsix) as vsix:
        names = set(vsix.namelist())
        manifest = vsix.read("extension.vsixmanifest").decode()
    root = "extension/bundled/"
    assert root + "tool/claw_server.py" in names
    assert root + "libs/common/claw_lsp/server/app.py" in names
    assert root + "libs/common/bin/rg" in names
    for tag in ("cp311", "cp312", "cp313", "cp314"):
        assert any(n.startswith(f"{root}libs/{tag}/pydantic_core/") for n in names), tag
    assert 'TargetPlatform="linux-x64"' in manifest
    assert not any("__pycache__" in n for n in names)


@pytest.fixture
def bundled_session(
    tmp_path: Path, platform_vsix: Path
) -> Iterator[tuple[CodeServerSession, Path, FakeMessagesAPI]]:
    ws = tmp_path / "workspace"
    ws.mkdir()
    (ws / "notes.txt").write_text("the answer is 42\n")
    settings = {k: v for k, v in user_settings().items() if k != "claw.serverPath"}
    with FakeMessagesAPI(default=reply(text("Done."))) as api:
        env = {**_clean_env(tmp_path / "home", [str(NODE_BIN), *SYSTEM_PATH]), **api.env()}
        trust(ws, Path(env["XDG_STATE_HOME"]))
        session = CodeServerSession(
            tmp_path, platform_vsix, ws, env, screenshot="vscode-bundled.png", settings=settings
        )
        try:
            session.start()
            yield session, ws, api
        finally:
            session.stop()


@pytest.mark.timeout(400)
def test_bundled_server_runs_with_the_system_python_and_no_claw_lsp_on_path(
    bundled_session: tuple[CodeServerSession, Path, FakeMessagesAPI], tmp_path: Path
) -> None:
    session, ws, api = bundled_session
    api.queue(
        reply(tool_use("Grep", {"pattern": "answer", "output_mode": "content"})),
        lambda req: reply(text("found: " + req.last_tool_result())),
    )
    done = session.ask(ws / "notes.txt", "Where is the answer?")
    assert done["update"]["stopReason"] == "end_turn", done
    assert "the answer is 42" in api.requests[-1].last_tool_result(), session.report()
    # The server process: a system Python running the script inside the installed extension.
    ps = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    script = [
        line for line in ps.splitlines() if "bundled/tool/claw_server.py" in line and str(tmp_path) in line
    ]
    assert script, ps
    python = script[0].split()[0]
    assert python.startswith(("/usr/bin/python3", "/usr/local/bin/python3")), script
    assert f"{tmp_path}/extensions/claw-lsp.claw-" in script[0], script
    logs = session.report()
    assert "bundled server, Python 3." in logs and "from PATH" in logs, logs


def _only_for_python(vsix: Path, tag: str, out: Path) -> Path:
    """A copy of the .vsix whose bundle has binary packages for `tag` (e.g. cp314) only."""
    others = [f"extension/bundled/libs/cp3{m}/" for m in range(11, 20) if f"cp3{m}" != tag]
    with zipfile.ZipFile(vsix) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if not item.filename.startswith(tuple(others)):
                dst.writestr(item, src.read(item.filename))
    return out


@pytest.mark.stress  # ~80 s of code-server: make stress
@pytest.mark.timeout(300)
def test_no_usable_python_shows_one_message_with_the_fix(tmp_path: Path, platform_vsix: Path) -> None:
    # code-server's extension host takes PATH from the login shell, so every system Python is in
    # reach: a bundle for a Python this machine lacks makes none of them usable.
    pythons = [p for d in SYSTEM_PATH for p in Path(d).glob("python3.1[0-9]")]
    missing = next(f"cp3{m}" for m in (14, 15, 16) if not any(p.name == f"python3.{m}" for p in pythons))
    vsix = _only_for_python(platform_vsix, missing, tmp_path / "claw-one-python.vsix")
    env = _clean_env(tmp_path / "home", [str(NODE_BIN), *SYSTEM_PATH])
    env["CLAW_E2E_MISSING_TEXT"] = "no Python to run the bundled claw-lsp server"
    ws = tmp_path / "workspace"
    ws.mkdir()
    (ws / "notes.txt").write_text("nothing here\n")
    settings = {k: v for k, v in user_settings().items() if k != "claw.serverPath"}
    result, report = _drive(tmp_path, env, vsix, ws, "missing", trusted=True, settings=settings)
    assert result.get("ok"), report
    about = [n for n in result["notifications"] if "claw-lsp" in n]
    assert len(about) == 1, report
    toast = str(result["toastText"])
    version = f"3.{missing[3:]}"
    for needed in ("no Python to run the bundled claw-lsp", version, "Install Python", "claw.serverPath"):
        assert needed in toast, report
    assert "Open Settings" in toast and result["settingShown"], report
    assert f"the bundled server runs on {version}" in str(result["clawLog"]), report


STANDIN = Path(__file__).parent / "python_standin"


def build_python_standin(out: Path) -> Path:
    """The stand-in for the Python extension (tests/vscode/python_standin), packaged as a .vsix."""
    vsce = EXTENSION_DIR / "node_modules" / ".bin" / "vsce"
    env = {**os.environ, "PATH": os.pathsep.join([str(NODE_BIN), os.environ.get("PATH", "")])}
    subprocess.run(
        [str(vsce), "package", "--no-dependencies", "-o", str(out)],
        cwd=STANDIN,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def _server_pythons(tmp_path: Path) -> list[str]:
    """The interpreters running this test's bundled server (first word of each process's args)."""
    ps = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [
        line.split()[0]
        for line in ps.splitlines()
        if "bundled/tool/claw_server.py" in line and str(tmp_path) in line
    ]


@pytest.mark.stress  # ~60 s of code-server: make stress
@pytest.mark.timeout(400)
def test_bundled_server_runs_with_the_python_extensions_interpreter_and_restarts_when_it_changes(
    tmp_path: Path, platform_vsix: Path
) -> None:
    """With the Python extension installed (a stand-in exporting its `environments` API: the real
    one is on the Marketplace and Open VSX only), the bundled server runs with the interpreter it
    selected, not the one on PATH, and restarts with the next one when the selection changes."""
    envs = []
    for name in ("selected-a", "selected-b"):
        venv = tmp_path / name
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        envs.append(venv / "bin" / "python")
    ws = tmp_path / "workspace"
    ws.mkdir()
    (ws / "notes.txt").write_text("the answer is 42\n")
    (ws / ".standin-python").write_text(str(envs[0]))
    standin = build_python_standin(tmp_path / "python-standin.vsix")
    settings = {k: v for k, v in user_settings().items() if k != "claw.serverPath"}
    with FakeMessagesAPI(default=reply(text("Done."))) as api:
        env = {**_clean_env(tmp_path / "home", [str(NODE_BIN), *SYSTEM_PATH]), **api.env()}
        trust(ws, Path(env["XDG_STATE_HOME"]))
        session = CodeServerSession(
            tmp_path,
            platform_vsix,
            ws,
            env,
            screenshot="vscode-python-extension.png",
            settings=settings,
            extra_extensions=[standin],
        )
        try:
            session.start()
            api.queue(
                reply(tool_use("Grep", {"pattern": "answer", "output_mode": "content"})),
                lambda req: reply(text("found: " + req.last_tool_result())),
            )
            done = session.ask(ws / "notes.txt", "Where is the answer?")
            assert done["update"]["stopReason"] == "end_turn", done
            assert _server_pythons(tmp_path) == [str(envs[0])], session.report()
            assert "from the Python extension's interpreter" in session.report(), session.report()

            (ws / ".standin-python").write_text(str(envs[1]))  # the user selects another interpreter
            deadline = time.monotonic() + 90
            while _server_pythons(tmp_path) != [str(envs[1])] and time.monotonic() < deadline:
                time.sleep(0.5)
            assert _server_pythons(tmp_path) == [str(envs[1])], session.report()
            assert "The selected Python interpreter changed" in session.report(), session.report()
            session.wait_status(lambda s: bool(s.get("model")), 60)
            api.queue(reply(text("still here")))
            again = session.ask(ws / "notes.txt", "Still there?")
            assert again["update"]["stopReason"] == "end_turn", again
        finally:
            session.stop()
