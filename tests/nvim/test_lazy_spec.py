"""The lazy.nvim spec (lazy.lua at the repository root) in real Neovim, from a clean XDG_DATA_HOME:
the checkout copied where lazy.nvim clones plugins, its `build` run in a coroutine as lazy.nvim's
runner does and its `config` called with the plugin, then a file opened. Proves: `build` installs
the server with `uv tool install` (else `pipx install`, else a virtualenv in the plugin directory)
and writes doc/tags; `config` puts editors/neovim on 'runtimepath', defines the commands and starts
the installed server; `:checkhealth claw` names the exact command that installs a missing server,
and that very command fixes it.

Nothing on PATH has claw-lsp: PATH holds only the installer under test and the system's Python.
`make test` runs the uv build; pipx and the virtualenv fallback (pip resolving every dependency)
run in `make stress`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.nvim.harness import NVIM, REPO, require_nvim

pytestmark = pytest.mark.nvim
HERE = Path(__file__).resolve().parent
DRIVER = HERE / "lazy_spec_driver.lua"
CACHE = Path(os.environ.get("CLAW_E2E_CACHE", Path.home() / ".cache" / "claw-e2e"))
SYSTEM_PATH = ["/usr/local/bin", "/usr/bin", "/bin"]


def _checkout_copy(dest: Path) -> Path:
    """The checkout as `git clone` would give it: tracked and new, not ignored, files."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = REPO / name.decode()
        if src.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    (dest / "editors" / "neovim" / "doc" / "tags").unlink(missing_ok=True)
    return dest


class User:
    """A user's machine: fresh HOME and XDG dirs, the plugin where lazy.nvim clones it."""

    def __init__(self, tmp: Path, installer: str) -> None:
        home = tmp / "home"
        self.data = home / ".local" / "share"
        self.state = home / ".local" / "state"
        self.plugin = _checkout_copy(self.data / "nvim" / "lazy" / "claw-lsp")
        self.project = tmp / "project"
        self.project.mkdir()
        (self.project / "main.py").write_text("print('hi')\n")
        tools = tmp / "installer-bin"  # only the installer under test, not the project's venv
        tools.mkdir()
        self.tool_bin = home / ".local" / "bin"
        self.tool_bin.mkdir(parents=True)
        if installer != "venv":
            (tools / installer).symlink_to(REPO / ".venv" / "bin" / installer)
        self.env = {
            "PATH": os.pathsep.join([str(self.tool_bin), str(tools), *SYSTEM_PATH]),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(self.data),
            "XDG_STATE_HOME": str(self.state),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "LANG": "C.UTF-8",
            "UV_TOOL_DIR": str(self.data / "uv" / "tools"),
            "UV_TOOL_BIN_DIR": str(self.tool_bin),
            "UV_CACHE_DIR": str(CACHE / "uv"),
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_PYTHON_PREFERENCE": "only-system",
            "PIPX_HOME": str(self.data / "pipx"),
            "PIPX_BIN_DIR": str(self.tool_bin),
            "PIPX_MAN_DIR": str(self.data / "man"),
            "PIP_CACHE_DIR": str(CACHE / "pip"),
        }
        for var in ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE"):
            if os.environ.get(var):
                self.env[var] = os.environ[var]

    def nvim(self, *steps: str, timeout: float = 900) -> dict[str, Any]:
        result = self.data / "result.json"
        result.unlink(missing_ok=True)
        env = {
            **self.env,
            "CLAW_PLUGIN_DIR": str(self.plugin),
            "CLAW_PROJECT": str(self.project),
            "CLAW_LAZY_STEPS": ",".join(steps),
            "CLAW_RESULT": str(result),
        }
        done = subprocess.run(
            [str(NVIM), "--headless", "--clean", "-c", f"luafile {DRIVER}"],
            cwd=self.project,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert result.exists(), done.stdout + done.stderr
        out: dict[str, Any] = json.loads(result.read_text())
        assert out.get("error") is None, out["error"] + "\n" + done.stderr
        return out


def _check_installed(user: User, out: dict[str, Any], installer: str) -> None:
    nvim_dir = str(user.plugin / "editors" / "neovim")
    assert out["spec"] == {"name": "claw-lsp/claw-lsp", "main": "claw", "lazy": False}
    record = out["record"]
    assert record["installer"] == installer
    server = Path(record["server"])
    if installer == "venv":
        assert server == user.plugin / ".venv" / "bin" / "claw-lsp"
    else:
        assert server == user.tool_bin / "claw-lsp"
    assert any("installing the server" in m for m in out["build_messages"])
    assert nvim_dir in out["rtp"]
    assert out["has_command"] and out["tags"] and out["help"] and out["help_file"] == "claw.txt"
    assert out["server_cmd"] == [str(server)]
    assert out["attached"], out
    assert out["server_info"]["name"] == "claw-lsp"
    assert out["client_cmd"] == [str(server)]
    assert "OK server command: " + str(server) in out["health"]
    assert "OK server version: claw-lsp" in out["health"]
    assert "OK help tags: " + nvim_dir + "/doc/tags" in out["health"], out["health"]


@pytest.fixture(autouse=True)
def _nvim() -> None:
    require_nvim()


def test_lazy_build_with_uv_then_config_starts_the_server(tmp_path: Path) -> None:
    user = User(tmp_path, "uv")
    out = user.nvim("build", "config", "open", "health")
    _check_installed(user, out, "uv")
    # Installed by uv from the checkout, not imported from the repository.
    assert (user.data / "uv" / "tools" / "claw-lsp").is_dir()


def test_checkhealth_names_the_command_that_fixes_a_missing_server(tmp_path: Path) -> None:
    user = User(tmp_path, "uv")
    before = user.nvim("health_before")["health_before"]
    assert "ERROR server executable not found: claw-lsp" in before
    match = re.search(r"Install the server \(uv\): (.+)", before)
    assert match, before
    command = match.group(1).strip()
    assert command == f"uv tool install --force --reinstall {user.plugin}"
    assert f":helptags {user.plugin}/editors/neovim/doc" in before  # no tags yet: the fix named
    # The exact command, run in the user's shell, fixes it.
    subprocess.run(["sh", "-c", command], env=user.env, check=True, capture_output=True, timeout=900)
    after = user.nvim("health_before")["health_before"]
    assert f"OK server command: claw-lsp ({user.tool_bin / 'claw-lsp'})" in after
    assert "ERROR" not in after.split("claw: model provider")[0]


@pytest.mark.stress
def test_lazy_build_with_pipx(tmp_path: Path) -> None:
    user = User(tmp_path, "pipx")
    _check_installed(user, user.nvim("build", "config", "open", "health"), "pipx")


@pytest.mark.stress
def test_lazy_build_falls_back_to_a_venv_in_the_plugin_directory(tmp_path: Path) -> None:
    user = User(tmp_path, "venv")
    _check_installed(user, user.nvim("build", "config", "open", "health"), "venv")
