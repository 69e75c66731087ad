"""The Python package as users install it: `python -m build` makes an sdist and (from the sdist) a
wheel holding everything the server and CLI need; `uv tool install` and `pipx install` of the wheel
into fresh tool directories give `claw` and `claw-lsp` that run with no repository file in reach
(cwd elsewhere, no PYTHONPATH, a fresh HOME): `--version`, `claw doctor`, a real `claw -p` run that
greps with the bundled `rg` against the fake Messages API, and an LSP initialize over stdio.

The installers take packages from uv's / pip's cache in ~/.cache/claw-e2e (filled on first run).
`make test` installs with uv; the pipx install runs the same checks in `make stress`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
CACHE = Path(os.environ.get("CLAW_E2E_CACHE", Path.home() / ".cache" / "claw-e2e"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]


def _other_python() -> str:
    """A Python 3.11+ other than the project's virtualenv (its base interpreter at worst)."""
    for name in ("python3.13", "python3.12", "python3.11"):
        for candidate in (Path.home() / ".pyenv" / "versions").glob(f"{name[6:]}*/bin/{name}"):
            return str(candidate)
        found = shutil.which(name)
        if found and not found.startswith(str(ROOT)):
            return found
    return sys._base_executable  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`python -m build`: the sdist, then the wheel built from the unpacked sdist."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [str(BIN / "python"), "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "deprecated" not in done.stdout + done.stderr
    wheels = list(out.glob("claw_lsp-*.whl"))
    sdists = list(out.glob("claw_lsp-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def _sources() -> set[str]:
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / "claw_lsp").rglob("*.py")}


def test_wheel_holds_the_whole_package_and_its_metadata(dist: dict[str, Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = set(whl.namelist())
        info = f"claw_lsp-{VERSION}.dist-info"
        meta = whl.read(f"{info}/METADATA").decode()
        entry_points = whl.read(f"{info}/entry_points.txt").decode()
        wheel_tag = whl.read(f"{info}/WHEEL").decode()
    assert _sources() <= names, sorted(_sources() - names)
    assert "claw_lsp/py.typed" in names
    assert f"{info}/licenses/LICENSE" in names
    # Nothing of the repository beyond the package: no tests, editors, docs or bench.
    assert {n.split("/")[0] for n in names} == {"claw_lsp", info}
    assert "Tag: py3-none-any" in wheel_tag
    assert "claw = claw_lsp.cli:main" in entry_points
    assert "claw-lsp = claw_lsp.cli:serve_main" in entry_points
    assert "License-Expression: MIT" in meta
    assert "Requires-Python: >=3.11" in meta
    required = {line.split(": ", 1)[1] for line in meta.splitlines() if line.startswith("Requires-Dist: ")}
    runtime = {r for r in required if "extra ==" not in r}
    assert len(runtime) == len(PYPROJECT["project"]["dependencies"])
    assert any(r.startswith("ripgrep==") for r in runtime)


def test_sdist_holds_the_sources_readme_and_license(dist: dict[str, Path]) -> None:
    prefix = f"claw_lsp-{VERSION}/"
    with tarfile.open(dist["sdist"]) as sdist:
        names = {n.removeprefix(prefix) for n in sdist.getnames()}
    assert _sources() <= names, sorted(_sources() - names)
    assert {"pyproject.toml", "README.md", "LICENSE", "PKG-INFO"} <= names


def _isolated_env(home: Path, bin_dir: Path, **extra: str) -> dict[str, str]:
    """A user's environment with nothing of this repository: fresh HOME/XDG, no PYTHONPATH."""
    env = {
        "PATH": os.pathsep.join([str(bin_dir), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "LANG": "C.UTF-8",
        **extra,
    }
    for var in ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE"):
        if os.environ.get(var):
            env[var] = os.environ[var]
    return env


def _uv_install(wheel: Path, root: Path) -> Path:
    bin_dir = root / "bin"
    env = _isolated_env(
        root / "installer-home",
        bin_dir,
        UV_TOOL_DIR=str(root / "tools"),
        UV_TOOL_BIN_DIR=str(bin_dir),
        UV_CACHE_DIR=str(CACHE / "uv"),
        UV_PYTHON_DOWNLOADS="never",
    )
    done = subprocess.run(
        [str(BIN / "uv"), "tool", "install", "--compile-bytecode", "--python", _other_python(), str(wheel)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return bin_dir


def _pipx_install(wheel: Path, root: Path) -> Path:
    bin_dir = root / "bin"
    env = _isolated_env(
        root / "installer-home",
        bin_dir,
        PIPX_HOME=str(root / "pipx"),
        PIPX_BIN_DIR=str(bin_dir),
        PIPX_MAN_DIR=str(root / "man"),
        PIP_CACHE_DIR=str(CACHE / "pip"),
    )
    done = subprocess.run(
        [str(BIN / "pipx"), "install", "--python", _other_python(), str(wheel)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return bin_dir


# pipx (pip resolving ~60 packages) is the slow installer: its run is in `make stress`.
@pytest.fixture(scope="module", params=["uv", pytest.param("pipx", marks=pytest.mark.stress)])
def installed(
    request: pytest.FixtureRequest, dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """The bin directory of a fresh `uv tool install` / `pipx install` of the wheel."""
    root = tmp_path_factory.mktemp(request.param)
    install = _uv_install if request.param == "uv" else _pipx_install
    yield install(dist["wheel"], root)


def _run(bin_dir: Path, home: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        env=_isolated_env(home, bin_dir, **env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_installed_tool_runs_without_the_repository(installed: Path, tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    version = _run(installed, home, project, "claw", "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"{VERSION} (claw)", version
    server = _run(installed, home, project, "claw-lsp", "--version")
    assert server.stdout.strip() == f"claw-lsp {VERSION}", server
    # The package imported is the installed one, not the checkout.
    python = (installed / "claw").read_text().splitlines()[0].removeprefix("#!").split()[0]
    where = subprocess.run(
        [python, "-c", "import claw_lsp, shutil; print(claw_lsp.__file__)"],
        env=_isolated_env(home, installed),
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert not where.startswith(str(ROOT)) and "site-packages" in where, where


def test_installed_doctor_reports_the_installation(installed: Path, tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    (project / ".claw").mkdir(parents=True)
    (project / ".claw" / "settings.json").write_text(json.dumps({"model": "claude-x", "maxTurns": "lots"}))
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"tickets": {"command": "no-such-mcp"}}}))
    secret = "sk-ant-doctor-SECRET-0123456789"
    done = _run(installed, home, project, "claw", "doctor", "--json", ANTHROPIC_API_KEY=secret)
    assert done.returncode == 0, done.stdout + done.stderr
    assert secret not in done.stdout + done.stderr
    checks = json.loads(done.stdout)
    by = {(c["section"], c["status"], c["message"].split(" ")[0]) for c in checks}
    assert ("rg", "ok", "ripgrep") in by
    for sdk in ("anthropic", "openai", "mcp", "pygls", "pydantic", "agent-client-protocol"):
        assert ("packages", "ok", sdk) in by, sdk
    assert ("credentials", "ok", "ANTHROPIC_API_KEY") in by
    messages = [c["message"] for c in checks]
    assert any(m == f"read {project / '.claw' / 'settings.json'}" for m in messages), messages
    assert any("maxTurns" in m for m in messages if m), messages  # the settings file's warning
    assert any("claude-x" in m for m in messages)
    # The project's .mcp.json server waits for trust; doctor names the command that grants it.
    trust = next(c for c in checks if c["message"].startswith("workspace trust"))
    assert trust["status"] == "warn" and trust["fix"] == f"claw trust {project}"
    assert ("editors", "ok", "claw-lsp") in by  # on PATH
    text_out = _run(installed, home, project, "claw", "doctor")
    assert "✓ ripgrep" in text_out.stdout and f"fix: claw trust {project}" in text_out.stdout
    assert "ANTHROPIC_API_KEY" in text_out.stdout  # missing: named with its fix
    assert "fix: export ANTHROPIC_API_KEY=..." in text_out.stdout


def test_installed_cli_runs_a_turn_with_the_bundled_rg(installed: Path, tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("the answer is 42\n")
    with FakeMessagesAPI() as api:
        api.queue(
            reply(tool_use("Grep", {"pattern": "answer", "output_mode": "content"})),
            lambda req: reply(text("found: " + req.last_tool_result())),
        )
        done = _run(
            installed,
            home,
            project,
            "claw",
            "-p",
            "where is the answer?",
            "--output-format",
            "json",
            "--allowedTools",
            "Grep",
            **api.env(),
        )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert "the answer is 42" in result["result"], result
    assert len(api.requests) == 2


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def test_installed_server_answers_initialize_over_stdio(installed: Path, tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": project.as_uri(), "capabilities": {}},
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    done = subprocess.run(
        [str(installed / "claw-lsp")],
        input=b"".join(_frame(m) for m in messages),
        env=_isolated_env(home, installed),
        cwd=project,
        capture_output=True,
        timeout=60,
        check=False,
    )
    out = done.stdout.decode()
    start = out.index("{", out.index("Content-Length"))
    first = json.JSONDecoder().raw_decode(out[start:])[0]
    assert first["id"] == 1, out
    assert first["result"]["serverInfo"] == {"name": "claw-lsp", "version": VERSION}
    assert "claw.ask" in first["result"]["capabilities"]["executeCommandProvider"]["commands"]
