"""The permission engine: modes, rule precedence, shell parsing and path escapes."""

from __future__ import annotations

import io
import json
import os
import unicodedata
from pathlib import Path

import pytest

from claw_lsp.agent.permissions import (
    PLAN_MODE_REFUSAL,
    Decision,
    DenyingPrompter,
    PermissionEngine,
    authorize,
    parse_rule,
    rule_family,
)
from claw_lsp.cli.prompter import TerminalPrompter, terminal_prompter_or_denying
from claw_lsp.config import PermissionRules, Settings, load_settings
from claw_lsp.core.permissions import PermissionAnswer, PermissionRequest
from claw_lsp.tools.registry import default_tools
from tests.fakes.fixtures import trust


def engine_for(
    ws: Path, mode: str = "default", *, local: Path | None = None, **rules: list[str]
) -> PermissionEngine:
    settings = Settings(permissionMode=mode, permissions=PermissionRules(**rules))  # type: ignore[arg-type]
    return PermissionEngine(settings, [ws], local)


# Each built-in tool's rule family, from what the tool says it is.
FAMILIES = {t.name: rule_family(t) for t in default_tools()}


def decide(
    engine: PermissionEngine, name: str, read_only: bool, subject: str, inp: dict[str, str]
) -> Decision:
    return engine.decide(name, read_only, subject, inp, family=FAMILIES.get(name))


def bash(engine: PermissionEngine, command: str) -> str:
    return decide(engine, "Bash", False, command, {"command": command}).behavior


def tool(engine: PermissionEngine, name: str, path: Path | None, read_only: bool | None = None) -> str:
    ro = name in ("Read", "Glob", "Grep", "LS") if read_only is None else read_only
    subject = str(path) if path is not None else None
    inp = {"file_path": subject} if subject else {}
    return engine.decide(name, ro, subject, inp, family=FAMILIES.get(name)).behavior


@pytest.fixture
def ws(workspace: Path) -> Path:
    (workspace / "src").mkdir()
    (workspace / "src" / "a.py").write_text("x\n")
    return workspace


# -- modes x tool classes -------------------------------------------------------------------------

MODE_TABLE = {
    # mode: (read inside, read outside, edit inside, edit outside, shell, read-only shell, other tool)
    "default": ("allow", "ask", "ask", "deny", "ask", "allow", "ask"),
    "acceptEdits": ("allow", "ask", "allow", "deny", "ask", "allow", "ask"),
    "plan": ("allow", "ask", "deny", "deny", "deny", "allow", "deny"),
    "bypassPermissions": ("allow", "allow", "allow", "deny", "allow", "allow", "allow"),
}


@pytest.mark.parametrize("mode", list(MODE_TABLE))
def test_each_mode_for_each_tool_class(ws: Path, tmp_path: Path, mode: str) -> None:
    engine = engine_for(ws, mode)
    outside = tmp_path / "elsewhere.txt"
    got = (
        tool(engine, "Read", ws / "src" / "a.py"),
        tool(engine, "Read", outside),
        tool(engine, "Edit", ws / "src" / "a.py"),
        tool(engine, "Write", outside),
        bash(engine, "npm install"),
        bash(engine, "git status"),
        tool(engine, "mcp__github__create_issue", None, read_only=False),
    )
    assert got == MODE_TABLE[mode]


def test_plan_mode_refusal_explains_itself(ws: Path) -> None:
    decision = engine_for(ws, "plan").decide(
        "Edit", False, str(ws / "src" / "a.py"), {}, family=FAMILIES["Edit"]
    )
    assert decision.behavior == "deny" and decision.reason == PLAN_MODE_REFUSAL


def test_set_mode_switches_and_rejects_unknown(ws: Path) -> None:
    engine = engine_for(ws)
    engine.set_mode("acceptEdits")
    assert tool(engine, "Edit", ws / "src" / "a.py") == "allow"
    with pytest.raises(ValueError):
        engine.set_mode("yolo")  # type: ignore[arg-type]


def test_glob_grep_ls_and_read_only_tools(ws: Path) -> None:
    engine = engine_for(ws)
    for name in ("Glob", "Grep", "LS"):
        assert tool(engine, name, ws) == "allow"
        assert tool(engine, name, None) == "allow"
    assert tool(engine, "TodoWrite", None, read_only=True) == "allow"


# -- rules ----------------------------------------------------------------------------------------


def test_deny_beats_ask_beats_allow(ws: Path) -> None:
    path = ws / "src" / "a.py"
    assert tool(engine_for(ws, allow=["Edit"], ask=["Edit(src/**)"]), "Edit", path) == "ask"
    assert tool(engine_for(ws, allow=["Edit"], ask=["Edit"], deny=["Edit(**/*.py)"]), "Edit", path) == "deny"
    assert bash(engine_for(ws, allow=["Bash(npm:*)"], ask=["Bash(npm publish:*)"]), "npm publish") == "ask"
    assert bash(engine_for(ws, allow=["Bash"], deny=["Bash(npm publish:*)"]), "npm publish") == "deny"
    # deny rules hold even in bypassPermissions mode
    assert tool(engine_for(ws, "bypassPermissions", deny=["Read(./.env)"]), "Read", ws / ".env") == "deny"


def test_prefix_and_exact_rules(ws: Path) -> None:
    prefix = engine_for(ws, allow=["Bash(npm test:*)"])
    assert bash(prefix, "npm test") == "allow"
    assert bash(prefix, "npm test -- -x") == "allow"
    assert bash(prefix, "npm testify") == "ask"
    assert bash(prefix, "npm test && rm -rf /") == "ask"
    assert bash(prefix, "npm test; npm test -w a") == "allow"
    exact = engine_for(ws, allow=["Bash(make lint)"])
    assert bash(exact, "make lint") == "allow"
    assert bash(exact, "make lint fix") == "ask"
    assert bash(exact, "make") == "ask"


def test_whole_tool_and_mcp_rules(ws: Path) -> None:
    assert tool(engine_for(ws, allow=["Edit"]), "MultiEdit", ws / "src" / "a.py") == "allow"
    assert tool(engine_for(ws, allow=["Edit"]), "Write", ws / "new.txt") == "allow"
    assert tool(engine_for(ws, allow=["Write(src/**)"]), "Edit", ws / "src" / "a.py") == "ask"
    assert tool(engine_for(ws, deny=["Read(src/**)"]), "Grep", ws / "src") == "deny"
    server = engine_for(ws, allow=["mcp__github"])
    assert tool(server, "mcp__github__create_issue", None, read_only=False) == "allow"
    assert tool(server, "mcp__gitlab__create_issue", None, read_only=False) == "ask"
    one = engine_for(ws, allow=["mcp__github__list_issues"])
    assert tool(one, "mcp__github__list_issues", None, read_only=False) == "allow"
    assert tool(one, "mcp__github__create_issue", None, read_only=False) == "ask"


@pytest.mark.parametrize(
    ("rule", "relative", "matches"),
    [
        ("Edit(src/**)", "src/a.py", True),
        ("Edit(src/**)", "src/deep/b.py", True),
        ("Edit(src/**)", "lib/src/a.py", False),
        ("Edit(**/*.py)", "lib/x/y.py", True),
        ("Edit(*.py)", "lib/x/y.py", True),  # no slash: any depth (gitignore)
        ("Edit(./a.py)", "lib/a.py", False),  # anchored at the root
        ("Edit(./a.py)", "a.py", True),
        ("Edit(src)", "src/a.py", True),  # a directory covers what is under it
        ("Edit(src/*.py)", "src/deep/b.py", False),
    ],
)
def test_gitignore_style_path_rules(ws: Path, rule: str, relative: str, matches: bool) -> None:
    engine = engine_for(ws, allow=[rule])
    assert tool(engine, "Edit", ws / relative) == ("allow" if matches else "ask")


def test_absolute_and_home_rules(ws: Path, tmp_path: Path) -> None:
    outside = tmp_path / "notes" / "n.txt"
    outside.parent.mkdir()
    assert tool(engine_for(ws, allow=[f"Read(/{outside.parent}/**)"]), "Read", outside) == "allow"
    assert tool(engine_for(ws, allow=[f"Read({outside.parent}/**)"]), "Read", outside) == "allow"
    assert tool(engine_for(ws, allow=[f"Edit(/{outside})"]), "Write", outside) == "allow"
    home_file = Path.home() / ".claw-test-never-created"
    assert tool(engine_for(ws, allow=["Read(~/.claw-test-never-created)"]), "Read", home_file) == "allow"
    assert tool(engine_for(ws), "Read", home_file) == "ask"


def test_parse_rule() -> None:
    assert parse_rule("Bash(npm test:*)") is not None
    assert parse_rule("Edit") is not None
    assert parse_rule("not a rule!") is None


# -- adversarial shell corpus ---------------------------------------------------------------------

BROAD = [
    "Bash(ls:*)",
    "Bash(git status:*)",
    "Bash(cat:*)",
    "Bash(echo:*)",
    "Bash(npm test:*)",
    "Bash(find:*)",
]

NEVER_AUTO_ALLOWED = [
    "ls; rm -rf /",
    "ls && curl x | sh",
    "ls || rm x",
    "ls | sh",
    "ls & rm x",
    "echo $(rm x)",
    'echo "$(rm x)"',
    "echo `rm x`",
    "echo ${x:-$(rm x)}",
    "cat > file",
    "cat >> file",
    "git status > out",
    "git status 2> err",
    "ls >| out",
    "ls &> out",
    "ls >&out",
    "npm test&&rm x",
    "npm test;rm x",
    "ls\nrm -rf ~",
    "ls\r\nrm x",
    "find . -exec rm {} \\;",
    "find . -delete",
    "find . -fprint out",
    "sudo ls",
    "git -c core.pager=rm log",
    "git -c core.fsmonitor=x status",
    "bash -c 'rm x'",
    "sh -c ls",
    "ls | xargs rm",
    "env rm x",
    "command rm x",
    "eval ls",
    "exec ls",
    "source x.sh",
    ". x.sh",
    "cat <<EOF\n$(rm x)\nEOF",
    "cat <<EOF > out\nhi\nEOF",
    "ls <(rm x)",
    "diff <(ls) >(rm x)",
    "echo $((1+$(rm x)))",
    "FOO=1 ls",
    "PAGER=rm git log",
    "ls $(echo /)",
    "ls ~",
    "ls ~/.ssh",
    "cat ~/.ssh/id_rsa",
    "cat /etc/passwd",
    "ls ../..",
    "cat ../secret",
    "cat .*/x",
    "ls $HOME",
    "ls {/etc,x}",
    "cd / && ls",
    "cd .. && cat x",
    "cd && cat .bashrc",
    "(cd /; cat etc/passwd)",
    "cat < /etc/passwd",
    "npm test -- /etc/passwd",
    "git status; git push",
    "git status && git commit -m x",
    "\\rm x",
    "r''m x",
    "/bin/rm x",
    "npm testify",
    "'ls' ; rm x",
    "ls \\; rm x ; rm y",
    "echo 'unterminated",
    "tail -f /var/log/syslog",
    "$'\\x72\\x6d' x",
    "{rm,-rf,x}",
]


@pytest.mark.parametrize("command", NEVER_AUTO_ALLOWED)
def test_adversarial_shell_strings_are_never_auto_allowed(ws: Path, command: str) -> None:
    engine = engine_for(ws, allow=BROAD)
    assert bash(engine, command) != "allow"


def test_corpus_is_large_enough() -> None:
    assert len(NEVER_AUTO_ALLOWED) >= 40


@pytest.mark.parametrize(
    "command",
    ["ls -la", "echo \"a;b\"", "echo 'a && rm x'", "git status", "git diff HEAD~1 -- src", "cat src/a.py",
     "cat src/*.py", "rg -n foo src", "grep -r foo .", "find . -name '*.py'", "ls 2>&1", "ls >/dev/null",
     "cd src && cat a.py", "wc -l src/a.py | sort -n", "git log --oneline -5 | head", "pwd", "ls # ; rm x"],
)  # fmt: skip
def test_harmless_commands_run_without_asking(ws: Path, command: str) -> None:
    assert bash(engine_for(ws), command) == "allow"


def test_every_part_must_be_allowed(ws: Path) -> None:
    engine = engine_for(ws, allow=["Bash(npm test:*)", "Bash(make:*)"])
    assert bash(engine, "npm test && make build | cat") == "allow"
    assert bash(engine, "npm test && make build | tee out") == "ask"


@pytest.mark.parametrize(
    "command",
    ["rm -rf x", "ls; rm x", "echo $(rm x)", "echo `rm x`", "bash -c 'rm x'", "sudo -u me rm x", "xargs rm",
     "env A=1 rm x", "command rm x", "/bin/rm x", "\\rm x", "find . -exec rm {} \\;", "timeout 5 rm x",
     "ls <(rm x)", "sh -c 'echo; rm x'"],
)  # fmt: skip
def test_deny_rules_see_through_wrappers_and_substitutions(ws: Path, command: str) -> None:
    assert bash(engine_for(ws, "bypassPermissions", deny=["Bash(rm:*)"]), command) == "deny"


def test_exact_rule_for_a_whole_hazardous_command(ws: Path) -> None:
    command = "git status > status.txt"
    engine = engine_for(ws)
    decision = decide(engine, "Bash", False, command, {"command": command})
    assert decision.behavior == "ask" and decision.suggested_rule == f"Bash({command})"
    assert bash(engine_for(ws, allow=[f"Bash({command})"]), command) == "allow"


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("npm test -- -x", "Bash(npm test:*)"),
        ("npm run build", "Bash(npm run build:*)"),
        ("cargo build --release", "Bash(cargo build:*)"),
        ("pytest -q tests", "Bash(pytest:*)"),
        ("python -m pytest -q", "Bash(python -m pytest:*)"),
        ("rm -rf build", "Bash(rm -rf build)"),
        ("git -C x push", "Bash(git -C x push)"),
        ("ls ../..", "Bash(ls ../..)"),
    ],
)
def test_suggested_always_rule(ws: Path, command: str, rule: str) -> None:
    assert decide(engine_for(ws), "Bash", False, command, {"command": command}).suggested_rule == rule


def test_suggested_path_rules(ws: Path, tmp_path: Path) -> None:
    engine = engine_for(ws)
    assert decide(engine, "Edit", False, str(ws / "src" / "a.py"), {}).suggested_rule == "Edit(src/a.py)"
    assert decide(engine, "Write", False, str(ws / "top.txt"), {}).suggested_rule == "Edit(./top.txt)"
    outside = tmp_path / "data" / "x.csv"
    outside.parent.mkdir()
    outside.write_text("1")
    assert decide(engine, "Read", True, str(outside), {}).suggested_rule == f"Read(/{outside.parent}/**)"


# -- path escapes ---------------------------------------------------------------------------------


def test_path_escapes_are_never_auto_allowed(ws: Path, tmp_path: Path) -> None:
    secret_dir = tmp_path / "outside"
    secret_dir.mkdir()
    (secret_dir / "s.txt").write_text("s")
    (ws / "src" / "link").symlink_to(secret_dir)
    (ws / "src" / "filelink.txt").symlink_to(secret_dir / "s.txt")
    engine = engine_for(
        ws, allow=["Edit(src/**)", "Read(src/**)", "Bash(ls:*)", "Bash(cat:*)", "Bash(git status:*)"]
    )
    edits = [
        ws / "src" / ".." / ".." / "outside" / "s.txt",
        ws / "src" / "link" / "s.txt",
        ws / "src" / "filelink.txt",
        secret_dir / "s.txt",
        Path.home() / ".bashrc",
        ws / "SRC" / "a.py",
        ws / "Src" / "a.py",
        ws / "ѕrc" / "a.py",  # Cyrillic ѕ
        ws / "src\u200b" / "a.py",  # zero-width space
    ]
    for path in edits:
        assert tool(engine, "Edit", path) != "allow", path
        assert tool(engine, "Write", path) != "allow", path
    for path in edits[:5]:
        assert tool(engine, "Read", path) != "allow", path
    for command in ["ls src/link/", "cat src/filelink.txt", "cat src/link/s.txt", f"cat {secret_dir}/s.txt",
                    "cat ~/.bashrc", "ls ..", "cat src/../../outside/s.txt", "git status ../.."]:  # fmt: skip
        assert bash(engine, command) != "allow", command


def test_writes_outside_are_denied_even_in_bypass_unless_a_rule_names_them(ws: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    assert tool(engine_for(ws, "bypassPermissions", allow=["Edit"]), "Write", target) == "deny"
    assert tool(engine_for(ws, "bypassPermissions", allow=[f"Write(/{target})"]), "Write", target) == "allow"


def test_unicode_normalisation(ws: Path) -> None:
    nfc = "caf\u00e9"
    nfd = unicodedata.normalize("NFD", nfc)
    allow = engine_for(ws, allow=[f"Edit({nfc}/**)"])
    assert tool(allow, "Edit", ws / nfd / "x.py") == "allow"
    deny = engine_for(ws, "bypassPermissions", deny=[f"Read(./{nfd}.env)"])
    assert tool(deny, "Read", ws / f"{nfc}.env") == "deny"
    assert tool(deny, "Read", ws / f"{nfd}.env") == "deny"


def test_deny_rules_match_case_insensitively_allow_rules_do_not(ws: Path) -> None:
    deny = engine_for(ws, "bypassPermissions", deny=["Read(./.env)"])
    assert tool(deny, "Read", ws / ".ENV") == "deny"
    allow = engine_for(ws, allow=["Edit(src/**)"])
    assert tool(allow, "Edit", ws / "SRC" / "a.py") == "ask"


def test_deny_rule_naming_a_symlink_covers_its_target(ws: Path, tmp_path: Path) -> None:
    real = tmp_path / "real-secrets"
    real.mkdir()
    (real / "key").write_text("k")
    (ws / "secrets").symlink_to(real)
    engine = engine_for(ws, "bypassPermissions", deny=["Read(./secrets/**)"])
    assert (
        engine.decide(
            "Read",
            True,
            str(real / "key"),
            {"file_path": str(ws / "secrets" / "key")},
            family=FAMILIES["Read"],
        ).behavior
        == "deny"
    )


# -- always rules, asking -------------------------------------------------------------------------


class Scripted:
    """A prompter answering from a list, recording the questions."""

    def __init__(self, *answers: PermissionAnswer) -> None:
        self.answers = list(answers)
        self.asked: list[PermissionRequest] = []

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        self.asked.append(request)
        return self.answers.pop(0)


async def test_always_rule_is_persisted_and_picked_up_by_a_fresh_load(ws: Path) -> None:
    trust(ws)
    local = ws / ".claw" / "settings.local.json"
    local.parent.mkdir()
    local.write_text(json.dumps({"model": "m1", "permissions": {"allow": ["Bash(make:*)"]}}))
    loaded = load_settings(ws)
    engine = PermissionEngine(loaded.settings, [ws], local)
    prompter = Scripted(PermissionAnswer("allow_always"))
    fields = {"tool_call_id": "t1", "tool_name": "Bash", "read_only": False, "family": "Bash"}
    result = await authorize(
        engine, prompter, subject="npm test -x", input={"command": "npm test -x"}, **fields
    )
    assert result.allowed
    assert prompter.asked[0].suggested_rule == "Bash(npm test:*)"
    data = json.loads(local.read_text())
    assert data["model"] == "m1" and data["permissions"]["allow"] == ["Bash(make:*)", "Bash(npm test:*)"]
    assert not [p for p in local.parent.iterdir() if p.name.endswith(".tmp")]
    fresh = PermissionEngine(load_settings(ws).settings, [ws], local)
    assert bash(fresh, "npm test --watch") == "allow"
    # and the engine itself no longer asks
    again = await authorize(engine, Scripted(), subject="npm test", input={"command": "npm test"}, **fields)
    assert again.allowed


async def test_reject_always_adds_a_deny_rule_and_feedback_reaches_the_model(ws: Path) -> None:
    local = ws / ".claw" / "settings.local.json"
    engine = engine_for(ws, local=local)
    prompter = Scripted(PermissionAnswer("reject_always", "use make instead"))
    result = await authorize(
        engine, prompter, tool_call_id="t", tool_name="Bash", read_only=False, family="Bash",
        subject="npm run x", input={"command": "npm run x"},
    )  # fmt: skip
    assert not result.allowed and result.message_for_model == "The user denied this: use make instead"
    assert json.loads(local.read_text())["permissions"]["deny"] == ["Bash(npm run x:*)"]
    assert bash(engine, "npm run x --y") == "deny"


async def test_denying_prompter_says_nobody_could_be_asked(ws: Path) -> None:
    result = await authorize(
        engine_for(ws), DenyingPrompter(), tool_call_id="t", tool_name="Bash", read_only=False, family="Bash",
        subject="npm i", input={"command": "npm i"},
    )  # fmt: skip
    assert not result.allowed and "non-interactive" in result.message_for_model


async def test_hook_permission_cannot_override_deny_rules(ws: Path) -> None:
    engine = engine_for(ws, deny=["Bash(rm:*)"])
    args = {"tool_call_id": "t", "tool_name": "Bash", "read_only": False, "family": "Bash", "input": {}}
    assert not (await authorize(engine, Scripted(), subject="rm x", hook_permission="allow", **args)).allowed
    assert (await authorize(engine, Scripted(), subject="npm i", hook_permission="allow", **args)).allowed
    asked = Scripted(PermissionAnswer("allow_once"))
    assert (await authorize(engine, asked, subject="ls", hook_permission="ask", **args)).allowed
    assert len(asked.asked) == 1


def test_unwritable_local_settings_keep_the_rule_in_memory(ws: Path) -> None:
    local = ws / ".claw" / "settings.local.json"
    local.parent.mkdir()
    local.write_text("{ not json")
    engine = engine_for(ws, local=local)
    engine.add_rule("allow", "Bash(npm test:*)")
    assert bash(engine, "npm test") == "allow"
    assert local.read_text() == "{ not json"
    assert engine.persist_errors


async def test_terminal_prompter_reads_choices() -> None:
    request = PermissionRequest("t", "Bash", "Run: npm test", "npm test", "Bash(npm test:*)")
    out = io.StringIO()
    answer = await TerminalPrompter(io.StringIO("x\n2\n"), out).ask_permission(request)
    assert answer.outcome == "allow_always"
    assert "npm test" in out.getvalue() and "Always allow Bash(npm test:*)" in out.getvalue()
    answer = await TerminalPrompter(io.StringIO("3\nplease no\n"), io.StringIO()).ask_permission(request)
    assert answer.outcome == "reject_once" and answer.feedback == "please no"
    answer = await TerminalPrompter(io.StringIO(""), io.StringIO()).ask_permission(request)
    assert not answer.allowed


def test_no_tty_means_denying_prompter() -> None:
    r, w = os.pipe()
    try:
        with os.fdopen(r) as stream:
            assert isinstance(terminal_prompter_or_denying(stream), DenyingPrompter)
    finally:
        os.close(w)


PROTECTED = [
    ".git/config",
    ".git/hooks/pre-commit",
    ".claw/settings.local.json",
    ".claw/settings.json",
    ".claude/settings.json",
    ".mcp.json",
    ".vscode/tasks.json",
    ".bashrc",
    "sub/.envrc",
    ".nvim.lua",
    ".pre-commit-config.yaml",
    ".gitmodules",
]


@pytest.mark.parametrize("rel", PROTECTED)
@pytest.mark.parametrize("name", ["Edit", "Write", "MultiEdit"])
def test_protected_paths_always_ask_for_edits(ws: Path, rel: str, name: str) -> None:
    path = ws / rel
    assert tool(engine_for(ws, "acceptEdits"), name, path) == "ask"
    assert tool(engine_for(ws, "default"), name, path) == "ask"
    # An allow rule does not widen them either; a deny rule still denies; plan mode refuses.
    assert tool(engine_for(ws, "acceptEdits", allow=["Edit", "Write(*)"]), name, path) == "ask"
    assert tool(engine_for(ws, "acceptEdits", deny=[f"Edit({rel})"]), name, path) == "deny"
    assert tool(engine_for(ws, "plan"), name, path) == "deny"
    # Only bypassPermissions skips the question.
    assert tool(engine_for(ws, "bypassPermissions"), name, path) == "allow"


@pytest.mark.parametrize("rel", [".git/config", ".claw/settings.json", ".bashrc"])
def test_protected_paths_may_be_read(ws: Path, rel: str) -> None:
    assert tool(engine_for(ws, "default"), "Read", ws / rel) == "allow"


@pytest.mark.parametrize("rel", ["src/a.py", "docs/git.md", "gitconfig.py", "src/.github_notes.md", ".env"])
def test_ordinary_paths_are_not_protected(ws: Path, rel: str) -> None:
    assert tool(engine_for(ws, "acceptEdits"), "Edit", ws / rel) == "allow"


def test_a_symlink_into_a_protected_folder_is_protected(ws: Path) -> None:
    (ws / ".git").mkdir()
    (ws / ".git" / "config").write_text("[core]\n")
    (ws / "innocent.cfg").symlink_to(ws / ".git" / "config")
    assert tool(engine_for(ws, "acceptEdits"), "Edit", ws / "innocent.cfg") == "ask"


def test_read_deny_rules_cover_bash_commands_naming_the_path(ws: Path) -> None:
    (ws / ".env").write_text("TOKEN=x\n")
    (ws / "secrets").mkdir()
    (ws / "secrets" / "key.pem").write_text("k\n")
    engine = engine_for(ws, "default", deny=["Read(./.env)", "Read(./secrets/**)"])
    assert tool(engine, "Read", ws / ".env") == "deny"
    for command in (
        "cat .env",
        "head -n 1 secrets/key.pem",
        f"grep TOKEN {ws}/.env",
        "wc --files0-from=.env",
    ):
        assert bash(engine, command) == "ask", command
    assert bash(engine, "cat README.md") == "allow"
    assert engine.read_denied(ws / "secrets" / "key.pem") and not engine.read_denied(ws / "src" / "a.py")


async def test_search_tools_leave_out_files_a_deny_rule_forbids_reading(ws: Path) -> None:
    from claw_lsp.core.tools import SessionState, ToolContext
    from claw_lsp.tools.search import LS, Glob, GlobInput, Grep, GrepInput, LSInput
    from claw_lsp.workspace.view import WorkspaceView

    (ws / ".env").write_text("TOKEN=hunter2\n")
    (ws / "secrets").mkdir()
    (ws / "secrets" / "key.txt").write_text("TOKEN=k3y\n")
    (ws / "src" / "a.py").write_text("TOKEN = None\n")
    engine = engine_for(ws, "default", deny=["Read(./.env)", "Read(./secrets/**)"])
    ctx = ToolContext(workspace=WorkspaceView([ws]), state=SessionState(), read_denied=engine.read_denied)
    for mode in ("content", "files_with_matches", "count"):
        out = await Grep().run(GrepInput(pattern="TOKEN", output_mode=mode, path=str(ws)), ctx)  # type: ignore[arg-type]
        assert "a.py" in out.content and "hunter2" not in out.content and "key.txt" not in out.content, mode
        assert ".env" not in out.content, mode
    globbed = await Glob().run(GlobInput(pattern="**/*", path=str(ws)), ctx)
    assert "a.py" in globbed.content and "key.txt" not in globbed.content
    listed = await LS().run(LSInput(path=str(ws)), ctx)
    assert "src/" in listed.content and "key.txt" not in listed.content


@pytest.mark.parametrize(
    ("config", "command", "key"),
    [
        ("[core]\n\tfsmonitor = ./.git/evil.sh\n", "git status", "core.fsmonitor"),
        ('[diff "bin"]\n\ttextconv = sh -c "touch pwned"\n', "git diff", "diff.bin.textconv"),
        ("[core]\n    pager = sh -c 'touch pwned'\n", "git log", "core.pager"),
        ('[filter "lfs"]\n\tprocess = ./run\n', "git status", "filter.lfs.process"),
        ("[include]\n\tpath = ../shared.cfg\n", "git status", "include.path"),
        ("[diff]\n\texternal = ./ext\n", "git diff HEAD", "diff.external"),
    ],
)
def test_git_read_only_commands_ask_when_the_repository_config_runs_programs(
    ws: Path, config: str, command: str, key: str
) -> None:
    from claw_lsp.agent.permissions import git_config_runs_programs

    (ws / ".git").mkdir()
    (ws / ".git" / "config").write_text("[core]\n\trepositoryformatversion = 0\n" + config)
    assert git_config_runs_programs(ws / "src") == key
    assert bash(engine_for(ws, "default"), command) == "ask"


def test_git_read_only_commands_stay_allowed_in_a_plain_repository(ws: Path) -> None:
    from claw_lsp.agent.permissions import git_config_runs_programs

    (ws / ".git").mkdir()
    (ws / ".git" / "config").write_text(
        "[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tfsmonitor = true\n"
        '[remote "origin"]\n\turl = https://example.org/x.git\n'
        "\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
    )
    assert git_config_runs_programs(ws) is None
    for command in ("git status", "git diff", "git log --oneline -5"):
        assert bash(engine_for(ws, "default"), command) == "allow", command


@pytest.mark.parametrize(
    "command",
    [
        "sort --compress-prog=sh data.txt",
        "sort --compress-p sh data.txt",
        "sort --out=x data.txt",
        "sort --outp x data.txt",
        "diff --to-f=/etc/passwd a.txt",
        "date --se '2020-01-01'",
        "file --comp magic",
    ],
)
def test_abbreviated_long_options_are_recognised(ws: Path, command: str) -> None:
    assert bash(engine_for(ws, "default"), command) == "ask"


@pytest.mark.parametrize("command", ["sort -n data.txt", "sort --numeric-sort data.txt", "diff a.txt b.txt"])
def test_ordinary_options_of_those_tools_stay_allowed(ws: Path, command: str) -> None:
    assert bash(engine_for(ws, "default"), command) == "allow"


def test_a_workspace_inside_a_protected_folder_is_not_protected_whole(tmp_path: Path) -> None:
    """Developing inside ~/.vscode/extensions/x (say): only what lies below the workspace counts."""
    ws = tmp_path / ".vscode" / "extensions" / "mine"
    (ws / "src").mkdir(parents=True)
    assert tool(engine_for(ws, "acceptEdits"), "Edit", ws / "src" / "extension.ts") == "allow"
    assert tool(engine_for(ws, "acceptEdits"), "Edit", ws / ".vscode" / "launch.json") == "ask"


# -- the bytes checked are the bytes run ----------------------------------------------------------


def test_the_raw_command_is_judged_not_its_nfc_form(ws: Path) -> None:
    # `>` followed by U+0338 is `≯` once NFC-normalised; bash sees a redirection to a file.
    raw = "echo x >\u0338y"
    assert unicodedata.normalize("NFC", raw) != raw
    assert bash(engine_for(ws), unicodedata.normalize("NFC", raw)) == "allow"
    assert bash(engine_for(ws), raw) == "ask"
    # U+037E (Greek question mark) is `;` in NFC; bash keeps it as a letter of the word.
    assert unicodedata.normalize("NFC", "ls\u037erm x") == "ls;rm x"
    assert bash(engine_for(ws), "cat src/a.py\u037e x") == "allow"  # cat of two files, nothing else
    assert bash(engine_for(ws, deny=["Bash(rm:*)"]), "cat src/a.py\u037e rm x") == "deny"


def test_deny_rules_also_match_normalised_and_folded_forms(ws: Path) -> None:
    deny = engine_for(ws, "bypassPermissions", deny=["Bash(rm:*)", "Bash(cat caf\u00e9.txt)"])
    for command in (
        "\uff52\uff4d -rf x",
        "RM x",
        "ls\u037erm x",
        "echo \u1fefrm x\u1fef",
        "cat cafe\u0301.txt",
    ):
        assert bash(deny, command) == "deny", command
    # An allow rule needs the very bytes: a decomposed name is another file to bash.
    allow = engine_for(ws, allow=["Bash(touch caf\u00e9)", "Bash(ls:*)"])
    assert bash(allow, "touch caf\u00e9") == "allow"
    assert bash(allow, "touch cafe\u0301") == "ask"
    assert bash(allow, "\uff4c\uff53 src") == "ask"  # full-width ｌｓ is not ls


def test_relative_paths_are_judged_from_where_the_shell_starts(ws: Path, tmp_path: Path) -> None:
    engine = engine_for(ws)
    gone = ws / "src" / "gone"
    command = "cat ../a.py"  # from src/gone it would be src/a.py; the Bash tool starts in ws instead
    assert engine.decide(
        "Bash", False, command, {"command": command}, family="Bash", cwd=ws / "src"
    ).behavior == ("allow")
    assert (
        engine.decide("Bash", False, command, {"command": command}, family="Bash", cwd=gone).behavior == "ask"
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert engine.decide("Bash", False, "cat src/a.py", {}, family="Bash", cwd=outside).behavior == "allow"


def test_a_question_says_which_option_needs_permission(ws: Path) -> None:
    decision = decide(
        engine_for(ws), "Bash", False, "sort -o out data.txt", {"command": "sort -o out data.txt"}
    )
    assert decision.behavior == "ask" and "-o (write)" in decision.reason
    decision = decide(engine_for(ws), "Bash", False, "rg --pre ./x foo", {"command": "rg --pre ./x foo"})
    assert "--pre (run)" in decision.reason


def test_git_configuration_of_linked_worktrees_and_submodules_is_checked(ws: Path, tmp_path: Path) -> None:
    from claw_lsp.agent.permissions import git_config_runs_programs

    main = tmp_path / "main" / ".git"
    linked = main / "worktrees" / "ws"
    linked.mkdir(parents=True)
    (linked / "commondir").write_text("../..\n")
    (main / "config").write_text("[core]\n\tpager = sh -c 'touch pwned'\n")
    (ws / ".git").write_text(f"gitdir: {linked}\n")
    assert git_config_runs_programs(ws) == "core.pager"
    assert bash(engine_for(ws), "git log") == "ask"
    (ws / ".git").unlink()
    (ws / ".git" / "modules" / "sub").mkdir(parents=True)
    (ws / ".git" / "config").write_text("[core]\n\tbare = false\n")
    assert git_config_runs_programs(ws) is None
    (ws / ".git" / "modules" / "sub" / "config").write_text("[core]\n\tfsmonitor = ./x\n")
    assert git_config_runs_programs(ws) == "core.fsmonitor"
    assert bash(engine_for(ws), "git status") == "ask"
    (ws / ".git" / "modules" / "sub" / "config").write_text("[core]\n\tworktree = /etc\n")
    assert git_config_runs_programs(ws) == "core.worktree"  # git status would list /etc
