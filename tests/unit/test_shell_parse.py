"""The shell tokenizer: splitting, quoting, and what it flags as needing permission."""

from __future__ import annotations

import pytest

from claw_lsp.agent.shell_parse import (
    GIT_READ_ONLY,
    READ_ONLY,
    OptionScan,
    Word,
    command_variants,
    option_path_values,
    option_problems,
    parse,
    read_only_builtin,
    runs_other_commands,
    scan_options,
    shell_c_scripts,
)


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


# -- the option-aware allowlist -------------------------------------------------------------------


def scan(command: str) -> OptionScan:
    words = parse(command).commands[0].words
    return scan_options(READ_ONLY[words[0].text].options, words[1:])


def texts(words: list[Word]) -> list[str]:
    return [w.text for w in words]


def test_short_options_are_read_as_getopt_does() -> None:
    assert scan("ls -la src").problems == [] and texts(scan("ls -la src").operands) == ["src"]
    # `-n5` and `-n 5`: the value is attached or the next word, never an operand.
    assert texts(scan("head -n5 f").operands) == ["f"] and texts(scan("head -n 5 f").operands) == ["f"]
    assert scan("head -5 f").problems == []  # an obsolete count
    # A cluster ends at the first letter taking a value: `-uo out` is -u, then -o with `out`.
    clustered = scan("sort -uo out data")
    assert clustered.dangerous and clustered.problems == ["-o (write)"]
    assert scan("sort -kuo data").problems == []  # here `uo` is -k's value
    assert texts(scan("grep -fpats x y").paths) == ["pats"]
    assert scan("cat -nY x").problems == ["unknown option -Y"]
    assert scan("sort -Xo out x").dangerous  # an unknown letter does not hide the -o after it


def test_long_options_are_read_as_getopt_long_does() -> None:
    assert texts(scan("grep --file=pats x").paths) == ["pats"]
    assert texts(scan("grep --file pats x").paths) == ["pats"]
    assert texts(scan("grep --file pats x").operands) == ["x"]
    # An optional value is only ever given with `=`: `--color always` names a file `always`.
    assert texts(scan("ls --color always").operands) == ["always"]
    assert texts(scan("ls --color=always").operands) == []
    assert scan("cat --number=3 x").problems == ["--number takes no value"]
    # Unique prefixes stand for the option; ambiguous ones, or ones that may be unsafe, ask.
    assert scan("sort --numeric x").problems == []
    assert scan("grep --files-with x").problems == ["--files-with is ambiguous"]
    assert scan("sort --compress-prog=sh x").problems == ["--compress-program (run)"]
    assert scan("file --un x").dangerous
    assert scan("rg --fol x").problems == ["unknown option --fol"]  # rg does not abbreviate


def test_dash_dash_and_globs_that_may_become_options() -> None:
    assert texts(scan("cat -- -n").operands) == ["-n"] and scan("cat -- -n").problems == []
    assert parse("ls *.py").commands[0].words[1].leading_glob
    assert not parse("ls src/*.py").commands[0].words[1].leading_glob
    assert not parse("ls '*'x").commands[0].words[1].leading_glob
    # `sort *` in a folder holding a file named `-o` writes: a glob that may expand to an option
    # asks for commands that have options that run or write, and after `--` it is only a name.
    assert scan("sort *").dangerous and scan("sort -- *").problems == []
    assert scan("cat *").problems == []  # cat has no such option
    for command in ("sort {-o,out} x", "sort -k * x", "rg --pre* foo", "sort -* x", "sort $OPTS x"):
        assert scan(command).dangerous, command
    assert not scan("rg -g*.py foo").problems  # the glob is -g's value: it expands to `-g...` words


def test_every_table_keeps_safe_and_unsafe_apart() -> None:
    for spec in [*READ_ONLY.values(), *GIT_READ_ONLY.values()]:
        table = spec.options
        assert not set(table.long) & set(table.unsafe), table.unsafe
        assert not {f"-{c}" for c in table.short} & set(table.unsafe), table.unsafe
        assert set(table.unsafe.values()) <= {"run", "write", "read"}


@pytest.mark.parametrize(
    ("command", "paths"),
    [
        ("grep -f /etc/x foo src", ["foo", "src", "/etc/x"]),  # with -f every operand is a file
        ("grep foo src", ["src"]),
        ("grep -e foo src", ["src"]),
        ("rg --files src", ["src"]),
        ("diff --from-file=a b", ["b", "a"]),
        ("find src -newer x -name '*.py'", ["src", "x"]),
        ("git log -- src", ["src"]),
        ("git blame --contents ../x a.py", ["a.py", "../x"]),
        ("basename /etc/passwd", []),
        ("git branch --list 'feat*'", []),
    ],
)
def test_read_only_verdicts_name_the_paths_to_check(command: str, paths: list[str]) -> None:
    verdict = read_only_builtin(parse(command).commands[0])
    assert verdict is not None and texts(verdict.paths) == paths


@pytest.mark.parametrize(
    ("command", "runs"),
    [
        ("sort -o out x", True),
        ("sort --out=x", True),
        ("sort -Q x", False),  # unknown, but not known to run anything: a `sort:*` rule covers it
        ("rg --pre ./x foo", True),
        ("find . -name x -delete", True),
        ("find . -name x", False),
        ("git -c core.pager=sh log", True),
        ("git --exec-path=/x log", True),
        ("git --config-env=core.pager=P log", True),
        ("git log --output=x", True),
        ("git diff --ext-diff", True),
        ("git push", False),
        ("npm test", False),
    ],
)
def test_runs_other_commands(command: str, runs: bool) -> None:
    assert runs_other_commands(parse(command).commands[0]) is runs


def test_option_path_values_and_problems_explain_themselves() -> None:
    cmd = parse("grep -f /etc/x --exclude-from=../y foo src").commands[0]
    assert texts(option_path_values(cmd)) == ["/etc/x", "../y"]
    assert option_problems(parse("sort -o out x").commands[0]) == ["-o (write)"]
    assert option_problems(parse("npm test").commands[0]) == []


def test_quoted_here_documents_are_only_text() -> None:
    assert parse("cat <<'EOF'\n$(rm x)\nEOF").hazards == []
    assert "here-document" in parse("cat <<EOF\n$(rm x)\nEOF").hazards
    # Never closed: bash reads the rest of the line as the document, not as commands.
    assert [c.argv for c in parse("cat <<'EOF'\nrm -rf x").commands] == [["cat"]]


def test_eval_bodies_are_scripts_for_deny_rules() -> None:
    assert shell_c_scripts(["eval", "rm", "-rf", "x"]) == ["rm -rf x"]
