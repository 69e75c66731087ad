"""Fixtures shared by every test suite (fake model server, temp workspaces, isolated state)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI

# Environment that picks or reaches a model: never inherited by a test from the developer's shell.
MODEL_ENV_KEYS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "CLAW_MODEL",
    "CLAW_PROVIDER",
)


# What a test's HOME shares with the real one: caches and the settings of the tools tests run.
SHARED_HOME_ENTRIES = (".cache", ".npm", ".npmrc", ".gitconfig")


@pytest.fixture(autouse=True)
def isolated_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point XDG state/config/data dirs and HOME at a temp dir so nothing lands in the user's home,
    and nothing of theirs (~/.claude: hooks, agents, skills, commands, CLAUDE.md) reaches a test.

    The temp HOME links to the real one's caches and tool settings (`~/.cache` holds the editors and
    corpora the suites install; `.npmrc`, `.gitconfig` say where the registry is and who commits)."""
    root = tmp_path_factory.mktemp("xdg")
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        (root / name).mkdir()
        monkeypatch.setenv(name, str(root / name))
    real_home = Path.home()
    home = root / "home"
    home.mkdir()
    for name in SHARED_HOME_ENTRIES:
        if (real_home / name).exists():
            (home / name).symlink_to(real_home / name)
    monkeypatch.setenv("HOME", str(home))
    for key in MODEL_ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    yield root


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace folder (resolved, so symlinked tmp dirs compare equal)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws.resolve()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty HOME for this test (where the user's ~/.claude lives), also for the
    processes it starts."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    return path


@pytest.fixture
def fake_api() -> Iterator[FakeMessagesAPI]:
    """A running fake Messages API server (see tests/fakes/fake_messages_api.py); stopped after."""
    with FakeMessagesAPI() as api:
        yield api


def trust(folder: Path, state_home: Path | None = None) -> Path:
    """Record the user's trust in `folder`, as `claw trust` does: in this test's isolated state dir,
    or under `state_home` (an editor harness's own XDG_STATE_HOME)."""
    from claw_lsp.config import TrustStore

    store = TrustStore(state_home / "claw" / "trusted-folders.json" if state_home is not None else None)
    store.decide(folder, True)
    return folder


@pytest.fixture
def trusted_workspace(workspace: Path) -> Path:
    """`workspace`, trusted by the user: its own settings files apply in full."""
    return trust(workspace)
