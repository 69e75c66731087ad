"""The shell permission corpus (tests/unit/shell_corpus.py): each command line, in each mode, gets
the decision its case states, from an engine built and called the way production does."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from claw_lsp.agent.permissions import PermissionEngine, rule_family
from claw_lsp.config import PermissionRules, Settings
from claw_lsp.tools.bash import Bash
from tests.unit.shell_corpus import CORPUS, GROUPS, Case

MODES = ("default", "acceptEdits", "plan", "bypassPermissions")
LETTERS = {"a": "allow", "q": "ask", "d": "deny"}

PLAIN_CONFIG = (
    "[core]\n\trepositoryformatversion = 0\n\tbare = false\n"
    '[remote "origin"]\n\turl = https://example.org/x.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n'
)
# Extra .git/config text for each fixture (the worktree and submodule ones are built below).
CONFIGS = {
    "plain": "",
    "pager": "[core]\n\tpager = sh -c 'touch pwned'\n",
    "fsmonitor": "[core]\n\tfsmonitor = ./.git/x.sh\n",
    "fsmonitor-bool": "[core]\n\tfsmonitor = true\n",
    "textconv": '[diff "bin"]\n\ttextconv = ./conv\n',
    "include": "[include]\n\tpath = ../shared.cfg\n",
    "core-worktree": "[core]\n\tworktree = /etc\n",
    "alias": "[alias]\n\tst = !rm -rf x\n",
    "worktree": "",
    "submodule": "",
}


def _make(base: Path, name: str) -> Path:
    root = base / name
    ws = root / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "a.py").write_text("x = 1\n")
    (ws / "src" / "b.py").write_text("x = 2\n")
    (ws / "data.txt").write_text("b,2\na,1\n")
    (ws / "README.md").write_text("# x\n")
    (ws / ".env").write_text("TOKEN=x\n")
    outside = root / "outside"
    outside.mkdir()
    (outside / "s.txt").write_text("secret\n")
    (ws / "src" / "link").symlink_to(outside)
    if name == "worktree":  # a linked worktree: the main repository's config holds core.pager
        git_dir = root / "main" / ".git" / "worktrees" / "ws"
        git_dir.mkdir(parents=True)
        (git_dir / "commondir").write_text("../..\n")
        (root / "main" / ".git" / "config").write_text(PLAIN_CONFIG + CONFIGS["pager"])
        (ws / ".git").write_text(f"gitdir: {git_dir}\n")
        return ws
    (ws / ".git").mkdir()
    (ws / ".git" / "config").write_text(PLAIN_CONFIG + CONFIGS[name])
    if name == "submodule":  # `git status` also runs in submodules, with their configuration
        module = ws / ".git" / "modules" / "sub"
        module.mkdir(parents=True)
        (module / "config").write_text(PLAIN_CONFIG + CONFIGS["fsmonitor"])
    return ws


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("corpus")
    return {name: _make(base, name) for name in CONFIGS}


def decide(case: Case, ws: Path, mode: str) -> str:
    settings = Settings(
        permissionMode=mode,  # type: ignore[arg-type]
        permissions=PermissionRules(allow=list(case.allow), ask=list(case.ask), deny=list(case.deny)),
    )
    engine = PermissionEngine(settings, [ws], None)
    command = case.command
    family = rule_family(Bash())
    return engine.decide("Bash", False, command, {"command": command}, family=family).behavior


@pytest.mark.parametrize("case", CORPUS, ids=[f"{i}-{c.command[:40]!r}" for i, c in enumerate(CORPUS)])
def test_corpus_case(case: Case, workspaces: dict[str, Path]) -> None:
    assert len(case.expect) == len(MODES) and set(case.expect) <= set(LETTERS), case
    letters = {behavior: letter for letter, behavior in LETTERS.items()}
    got = "".join(letters[decide(case, workspaces[case.fixture], mode)] for mode in MODES)
    assert got == case.expect, f"[{case.group}] {case.command!r}: expected {case.expect}, got {got}"


def test_corpus_size_and_classes(capsys: pytest.CaptureFixture[str]) -> None:
    counts = Counter(c.group for c in CORPUS)
    with capsys.disabled():
        print(f"\nshell corpus: {len(CORPUS)} command lines")
        for group in GROUPS:
            print(f"  {counts[group]:4d}  {group}")
    assert len(CORPUS) >= 300
    assert all(counts[g] >= 5 for g in GROUPS), counts
