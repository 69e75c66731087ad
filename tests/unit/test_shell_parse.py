"""The shell tokenizer: splitting, quoting, and what it flags as needing permission."""

from __future__ import annotations

import pytest

from claw_lsp.agent.shell_parse import command_variants, parse, read_only_builtin, shell_c_scripts


def argvs(command: str) -> list[list[str]]:
    return [c.argv for c in parse(command).commands]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("ls; rm -rf /", [["ls"], ["rm", "-rf", "/"]]),
        ("a && b || c | d & e", [["a"], ["b"], ["c"], ["d"], ["e"]]),
        ("npm test&&rm x", [["npm", "test"], ["rm", "x"]]),
        ("ls\nrm -rf ~", [["ls"], ["rm", "-rf", "~"]]),
        ("echo \"a;b\" 'c|d'", [["echo", "a;b", "c|d"]]),
        ("r''m \\x", [["rm", "x"]]),
        ("ls # ; rm -rf /", [["ls"]]),
        ("echo a#b", [["echo", "a#b"]]),
        ("(cd sub && rm x)", [["cd", "sub"], ["rm", "x"]]),
        ("ls \\\n -la", [["ls", "-la"]]),
        ("a |& b ;; c", [["a"], ["b"], ["c"]]),
    ],
)
def test_commands_are_split_on_every_operator_outside_quotes(command: str, expected: list[list[str]]) -> None:
    assert argvs(command) == expected


@pytest.mark.parametrize(
    "command",
    [
        "echo $(rm x)",
        "echo `rm x`",
        'echo "$(rm x)"',
        "ls <(rm x)",
        "diff >(rm x) y",
        "echo $((1+2))",
        "echo ${x:-$(rm x)}",
        "cat <<EOF\nhi\nEOF",
        "ls > out",
        "ls >> out",
        "ls 2>err",
        "ls &> out",
        "ls >| out",
        "ls >&out",
        "ls <> f",
        "echo 'unterminated",
    ],
)
def test_hazards_are_flagged(command: str) -> None:
    assert parse(command).hazards


@pytest.mark.parametrize(
    "command", ["ls 2>&1", "ls >/dev/null 2>&1", "ls 2>/dev/null", "ls >&2", "grep x < in"]
)
def test_harmless_redirections_are_not_hazards(command: str) -> None:
    assert parse(command).hazards == []


def test_substitution_bodies_are_kept_for_deny_checks() -> None:
    assert parse("echo $(rm -rf x) `curl y`").substitutions == ["rm -rf x", "curl y"]


def test_heredoc_body_is_not_parsed_as_commands() -> None:
    parsed = parse("cat <<'EOF'\nrm -rf /\nEOF\nls")
    assert [c.argv for c in parsed.commands] == [["cat"], ["ls"]]
    assert parsed.substitutions == []  # quoted delimiter: no expansion in the body


def test_word_flags() -> None:
    words = parse("ls ~ '~' $HOME *.py {a,b} \"$x\" plain").commands[0].words
    flags = {w.text: (w.tilde, w.expansion, w.glob, w.brace) for w in words}
    assert flags["~"] in ((True, False, False, False), (False, False, False, False))
    assert words[1].tilde and not words[2].tilde
    assert words[3].expansion and words[4].glob and words[5].brace and words[6].expansion
    assert words[7].literal


def test_wrappers_are_seen_through() -> None:
    variants = command_variants(["sudo", "-u", "x", "env", "A=1", "/bin/rm", "-rf", "y"])
    assert ["rm", "-rf", "y"] in variants
    assert ["rm", "{}", ";"] in command_variants(["find", ".", "-exec", "rm", "{}", ";"])
    assert shell_c_scripts(["bash", "-lc", "rm x"]) == ["rm x"]
    assert shell_c_scripts(["timeout", "5", "sh", "-c", "rm x"]) == ["rm x"]


@pytest.mark.parametrize(
    "command",
    ["ls -la", "cat a b", "git status", "git log --oneline -5", "git diff HEAD~1", "rg -n foo src",
     "find . -name '*.py'", "wc -l x", "git branch", "echo hi", "pwd", "sort x", "head -n 5 f"],
)  # fmt: skip
def test_read_only_builtins(command: str) -> None:
    assert read_only_builtin(parse(command).commands[0]) is not None


@pytest.mark.parametrize(
    "command",
    ["rm x", "find . -delete", "find . -exec rm {} ;", "find . -fprint out", "git -c core.pager=x log",
     "git push", "git branch -D x", "git diff --output=f", "sort -o out x", "sort -uo out x", "uniq a b",
     "tree -o out", "rg --pre cat x", "env", "xargs ls", "sudo ls", "date -s now", "ls $HOME",
     "$'\\x72m' x", "{rm,-rf,x}", "git -C /tmp status", "python -c 1"],
)  # fmt: skip
def test_not_read_only_builtins(command: str) -> None:
    assert read_only_builtin(parse(command).commands[0]) is None
