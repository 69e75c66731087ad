"""A small, careful shell tokenizer for permission checks.

It splits a command line into simple commands (on `&&`, `||`, `;`, `|`, `|&`, `&`, newlines and
subshell parentheses), removes quotes the way the shell does, and records everything that makes a
command impossible to judge from its words alone: command substitution (`$(...)`, backticks),
process substitution (`<(...)`, `>(...)`), here-documents and redirections to files. It does not
execute or expand anything; words that the shell would expand (variables, globs, `~`, braces) are
flagged so callers can refuse to trust them.

`read_only_builtin` knows the small set of commands that only read (ls, cat, git status, ...) and
which of their arguments are paths that must stay inside the workspace.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

_NAME_START = re.compile(r"[A-Za-z_]")
_SPECIAL_PARAMS = set("?$!#*@-0123456789")
_SAFE_REDIRECT_TARGETS = {"/dev/null", "/dev/stdout", "/dev/stderr"}


@dataclass
class Word:
    """One shell word after quote removal, with flags for what the shell would still expand."""

    text: str
    quoted: bool = False
    expansion: bool = False  # $var, ${...}, $'...', $(...), `...`
    glob: bool = False  # unquoted * ? [
    tilde: bool = False  # unquoted ~ at the start (or after = / :)
    brace: bool = False  # unquoted {a,b} or {a..b}
    # An unquoted * ? [ as the word's first character: the expansion may be a name such as `-o`.
    leading_glob: bool = False

    @property
    def literal(self) -> bool:
        """True when the shell would pass the word through unchanged."""
        return not (self.expansion or self.glob or self.tilde or self.brace)


@dataclass
class Redirect:
    """A redirection: operator, optional fd number and target word (None for here-strings etc.)."""

    op: str
    target: Word | None
    fd: str = ""

    @property
    def writes_file(self) -> bool:
        """True when the redirection writes to (or opens for writing) a named file."""
        if self.op in ("<", "<<", "<<-", "<<<"):
            return False
        if self.target is None:
            return False
        if self.op in (">&", "<&") and (self.target.text.isdigit() or self.target.text == "-"):
            return False  # fd duplication / closing, e.g. 2>&1
        return not (self.target.literal and self.target.text in _SAFE_REDIRECT_TARGETS)

    @property
    def reads_file(self) -> bool:
        """True for `< file` and `<> file` (a path that is read)."""
        return self.op in ("<", "<>") and self.target is not None


@dataclass
class SimpleCommand:
    """One simple command: its words and its redirections."""

    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)

    @property
    def argv(self) -> list[str]:
        """The words' texts."""
        return [w.text for w in self.words]


@dataclass
class ParsedShell:
    """A parsed command line."""

    commands: list[SimpleCommand]
    # Reasons the line needs permission whatever its words are (substitution, file redirection...).
    hazards: list[str]
    # Bodies of $(...), `...`, <(...), ${...} and unquoted here-docs, for deny-rule checks.
    substitutions: list[str]
    error: str | None = None


class _Scanner:
    """Single-pass tokenizer; see the module docstring."""

    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0
        self.commands: list[SimpleCommand] = []
        self.hazards: list[str] = []
        self.substitutions: list[str] = []
        self.error: str | None = None
        self.cmd = SimpleCommand()
        self._reset_word()
        self.pending_redirect: Redirect | None = None
        self.pending_heredocs: list[tuple[Redirect, bool]] = []  # (redirect, strip tabs)

    def _reset_word(self) -> None:
        self.buf: list[str] = []
        self.unquoted: list[str] = []
        self.started = False
        self.word = Word("")

    def hazard(self, reason: str) -> None:
        if reason not in self.hazards:
            self.hazards.append(reason)

    def add(self, text: str, *, quoted: bool) -> None:
        self.started = True
        self.buf.append(text)
        if quoted:
            self.word.quoted = True
            self.unquoted.append("\0")
            return
        prev = "".join(self.buf[:-1])
        for ch in text:
            if ch in "*?[":
                self.word.glob = True
                if not prev:
                    self.word.leading_glob = True
            if ch == "~" and (not prev or prev[-1] in "=:"):
                self.word.tilde = True
            prev += ch
        self.unquoted.append(text)

    def end_word(self) -> None:
        if not self.started:
            return
        word = self.word
        word.text = "".join(self.buf)
        if re.search(r"\{[^{}\0]*(,|\.\.)[^{}\0]*\}", "".join(self.unquoted)):
            word.brace = True
        self._reset_word()
        if self.pending_redirect is not None:
            redirect = self.pending_redirect
            redirect.target = word
            self.pending_redirect = None
            if redirect.op in ("<<", "<<-"):
                self.pending_heredocs.append((redirect, redirect.op == "<<-"))
                if not word.quoted:  # `<<EOF` expands $(...) and `...` in its body; `<<'EOF'` does not
                    self.hazard("here-document")
            return
        self.cmd.words.append(word)

    def end_command(self) -> None:
        self.end_word()
        if self.pending_redirect is not None:
            self.error = self.error or f"redirection {self.pending_redirect.op} without a target"
            self.hazard("could not be parsed")
            self.pending_redirect = None
        if self.cmd.words or self.cmd.redirects:
            self.commands.append(self.cmd)
        self.cmd = SimpleCommand()

    # -- scanning helpers -------------------------------------------------------------------------

    def skip_nested(self, i: int, *, in_double: bool) -> int | None:
        """Where scanning resumes after a construct starting at `i` (-1: it is never closed), or
        None when none starts there: an escape, a backtick substitution, and, outside double
        quotes, a quoted string; inside them, a `$(` substitution."""
        s, c = self.s, self.s[i]
        if c == "\\":
            return i + 2
        if c == "`":
            j = self.find_backtick(i + 1)
        elif not in_double and c == "'":
            j = s.find("'", i + 1)
        elif not in_double and c == '"':
            return self.skip_double(i + 1)
        elif in_double and s.startswith("$(", i):
            j = self.find_close_paren(i + 2)
        else:
            return None
        return -1 if j < 0 else j + 1

    def plain(self, start: int, *, in_double: bool) -> Iterator[int]:
        """The indices from `start` on that no nested construct covers (`skip_nested`); -1 last
        when a construct is never closed."""
        i = start
        while i < len(self.s):
            resume = self.skip_nested(i, in_double=in_double)
            if resume is None:
                yield i
                i += 1
            elif resume < 0:
                yield -1
                return
            else:
                i = resume

    def find_close_paren(self, start: int) -> int:
        """Index of the `)` closing a `(` just before `start`, or -1."""
        depth = 1
        for i in self.plain(start, in_double=False):
            if i < 0:
                break
            if self.s[i] == "(":
                depth += 1
            elif self.s[i] == ")":
                depth -= 1
                if depth == 0:
                    return i
        return -1

    def skip_double(self, start: int) -> int:
        """Index just after the `"` closing a double-quoted string opened before `start`, or -1."""
        for i in self.plain(start, in_double=True):
            if i < 0:
                break
            if self.s[i] == '"':
                return i + 1
        return -1

    def find_backtick(self, start: int) -> int:
        """Index of the closing backtick, or -1."""
        s, i = self.s, start
        while i < len(s):
            if s[i] == "\\":
                i += 2
                continue
            if s[i] == "`":
                return i
            i += 1
        return -1

    def scan_dollar(self, *, in_double: bool) -> None:
        """Consume a `$...` expansion at self.i, recording hazards and substitution bodies."""
        s, i = self.s, self.i
        nxt = s[i + 1] if i + 1 < len(s) else ""
        self.word.expansion = True
        if nxt == "(":
            arithmetic = s.startswith("$((", i)
            j = self.find_close_paren(i + 2)
            if j < 0:
                self.fail("unterminated $(")
                return
            body = s[i + 2 : j]
            self.hazard("arithmetic expansion $((...))" if arithmetic else "command substitution $(...)")
            self.substitutions.append(body)
            self.add(s[i : j + 1], quoted=True)
            self.i = j + 1
            return
        if nxt == "{":
            j = s.find("}", i + 2)
            if j < 0:
                self.fail("unterminated ${")
                return
            body = s[i + 2 : j]
            if "$(" in body or "`" in body:
                # ${x:-$(cmd)}: find the real end by re-scanning with paren awareness.
                self.hazard("command substitution $(...)")
                self.substitutions.append(body)
            self.add(s[i : j + 1], quoted=True)
            self.i = j + 1
            return
        if nxt == "'" and not in_double:
            j = i + 2
            while j < len(s) and s[j] != "'":
                j += 2 if s[j] == "\\" else 1
            if j >= len(s):
                self.fail("unterminated $'")
                return
            self.add(s[i : j + 1], quoted=True)
            self.i = j + 1
            return
        if nxt == '"' and not in_double:
            self.i = i + 1  # $"..." is a translated double-quoted string
            return
        if nxt and _NAME_START.match(nxt):
            m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(s, i + 1)
            assert m is not None
            self.add(s[i : m.end()], quoted=True)
            self.i = m.end()
            return
        if nxt and nxt in _SPECIAL_PARAMS:
            self.add(s[i : i + 2], quoted=True)
            self.i = i + 2
            return
        self.word.expansion = False
        self.add("$", quoted=in_double)
        self.i = i + 1

    def scan_backtick(self) -> None:
        j = self.find_backtick(self.i + 1)
        if j < 0:
            self.fail("unterminated backtick")
            return
        self.hazard("command substitution `...`")
        self.substitutions.append(self.s[self.i + 1 : j].replace("\\`", "`"))
        self.word.expansion = True
        self.add(self.s[self.i : j + 1], quoted=True)
        self.i = j + 1

    def scan_double_quoted(self) -> None:
        s = self.s
        self.i += 1
        self.started = True
        self.word.quoted = True
        while self.i < len(s):
            c = s[self.i]
            if c == '"':
                self.i += 1
                return
            if c == "\\" and self.i + 1 < len(s):
                nxt = s[self.i + 1]
                if nxt == "\n":
                    self.i += 2
                    continue
                self.add(nxt if nxt in '$`"\\' else "\\" + nxt, quoted=True)
                self.i += 2
                continue
            if c == "$":
                self.scan_dollar(in_double=True)
                if self.error:
                    return
                continue
            if c == "`":
                self.scan_backtick()
                if self.error:
                    return
                continue
            self.add(c, quoted=True)
            self.i += 1
        self.fail('unterminated "')

    def fail(self, message: str) -> None:
        self.error = self.error or message
        self.hazard("could not be parsed")
        self.i = len(self.s)

    def read_heredoc_bodies(self) -> None:
        """After a newline: consume pending here-document bodies up to their delimiters."""
        s = self.s
        for redirect, strip_tabs in self.pending_heredocs:
            assert redirect.target is not None
            delimiter = redirect.target.text
            body: list[str] = []
            while self.i < len(s):
                end = s.find("\n", self.i)
                line = s[self.i :] if end < 0 else s[self.i : end]
                self.i = len(s) if end < 0 else end + 1
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
                body.append(line)
            if not redirect.target.quoted:
                self.substitutions.append("\n".join(body))
        self.pending_heredocs = []

    def operator(self, c: str) -> None:
        """Handle one of `|&;()<>` at self.i."""
        s, i = self.s, self.i
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if c in "<>" and nxt == "(":
            j = self.find_close_paren(i + 2)
            if j < 0:
                self.fail("unterminated process substitution")
                return
            self.hazard("process substitution")
            self.substitutions.append(s[i + 2 : j])
            self.word.expansion = True
            self.add(s[i : j + 1], quoted=True)
            self.i = j + 1
            return
        if c in "<>" or (c == "&" and nxt == ">"):
            fd = ""
            if self.started and not self.word.quoted and "".join(self.buf).isdigit():
                fd = "".join(self.buf)
                self._reset_word()
            else:
                self.end_word()
            for op in ("&>>", "&>", "<<<", "<<-", "<<", "<>", "<&", ">>", ">|", ">&", "<", ">"):
                if s.startswith(op, i):
                    break
            redirect = Redirect(op, None, fd)
            self.cmd.redirects.append(redirect)
            self.pending_redirect = redirect
            self.i = i + len(op)
            return
        self.end_command()
        two = s[i : i + 2]
        self.i = i + (2 if two in ("&&", "||", "|&", ";;", ";&") else 1)

    def run(self) -> ParsedShell:
        s = self.s
        while self.i < len(s) and self.error is None:
            c = s[self.i]
            if c in " \t":
                self.end_word()
                self.i += 1
            elif c == "\n":
                self.end_command()
                self.i += 1
                if self.pending_heredocs:
                    self.read_heredoc_bodies()
            elif c == "\\":
                if s.startswith("\\\n", self.i):
                    self.i += 2
                elif self.i + 1 < len(s):
                    self.add(s[self.i + 1], quoted=True)
                    self.i += 2
                else:
                    self.add("\\", quoted=False)
                    self.i += 1
            elif c == "'":
                j = s.find("'", self.i + 1)
                if j < 0:
                    self.fail("unterminated '")
                    break
                self.started = True
                self.word.quoted = True
                self.add(s[self.i + 1 : j], quoted=True)
                self.i = j + 1
            elif c == '"':
                self.scan_double_quoted()
            elif c == "$":
                self.scan_dollar(in_double=False)
            elif c == "`":
                self.scan_backtick()
            elif c == "#" and not self.started:
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            elif c in "|&;()<>":
                self.operator(c)
            else:
                self.add(c, quoted=False)
                self.i += 1
        self.end_command()
        if self.pending_heredocs:
            self.hazard("here-document")
        return ParsedShell(self.commands, self.hazards, self.substitutions, self.error)


def parse(command: str) -> ParsedShell:
    """Split a command line into simple commands and record what needs permission regardless."""
    parsed = _Scanner(command).run()
    for cmd in parsed.commands:
        for redirect in cmd.redirects:
            if redirect.writes_file:
                target = redirect.target.text if redirect.target else "?"
                parsed.hazards.append(f"redirects output to {target}")
    return parsed


def split_words(text: str) -> list[str]:
    """The words of a single simple command, quotes removed (for rule prefixes)."""
    parsed = _Scanner(text).run()
    return [w for c in parsed.commands for w in c.argv]


# -- knowledge about commands ---------------------------------------------------------------------

# Wrappers that run their arguments as a command (stripped when matching deny rules).
_WRAPPERS = {
    "sudo", "doas", "command", "builtin", "exec", "nohup", "nice", "time", "timeout", "env",
    "xargs", "stdbuf", "ionice", "chrt", "setsid", "unbuffer", "watch", "strace", "ltrace",
}  # fmt: skip
_SHELLS = {"bash", "sh", "zsh", "dash", "ksh", "fish", "busybox"}
# Commands whose every invocation asks (they run strings as code or change who runs things).
ALWAYS_ASK = {"eval", "exec", "source", ".", "sudo", "doas", "su", "pkexec"}


def command_variants(argv: list[str]) -> list[list[str]]:
    """`argv` plus what it may run through wrappers (`sudo -u x rm` -> `rm`, `/bin/rm` -> `rm`).

    Used for deny/ask rules, so it errs on the side of too many variants: after a wrapper every
    later word is tried as the command.
    """

    def norm(words: list[str]) -> list[str]:
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words = words[1:]
        if words and "/" in words[0]:
            words = [words[0].rsplit("/", 1)[1], *words[1:]]
        return words

    variants = [argv]
    rest = norm(argv)
    candidates = [rest]
    if rest and rest[0] in _WRAPPERS:
        candidates += [norm(rest[k:]) for k in range(1, len(rest))]
    for cand in candidates:
        if cand and cand not in variants:
            variants.append(cand)
        if cand and cand[0] == "find":
            for k, arg in enumerate(cand):
                if arg in ("-exec", "-execdir", "-ok", "-okdir") and k + 1 < len(cand):
                    variants.append(norm(cand[k + 1 :]))
    return variants


def shell_c_scripts(argv: list[str]) -> list[str]:
    """The script strings of `bash -c '...'`-style invocations and `eval` (after wrappers)."""
    scripts = []
    for variant in command_variants(argv):
        if variant and variant[0] == "eval" and len(variant) > 1:
            scripts.append(" ".join(variant[1:]))
        if variant and variant[0] in _SHELLS:
            for k, arg in enumerate(variant[1:-1], start=1):
                if arg.startswith("-") and "c" in arg[1:]:
                    scripts.append(variant[k + 1])
                    break
    return scripts


# Words that name a known multi-word tool: `npm test`, `git commit`, `cargo build`...
MULTI_WORD_TOOLS = {
    "npm", "pnpm", "yarn", "bun", "npx", "git", "cargo", "go", "make", "docker", "kubectl", "gh",
    "pip", "pip3", "uv", "poetry", "pdm", "hatch", "dotnet", "mvn", "gradle", "./gradlew", "just",
    "deno", "rustup", "brew", "apt", "apt-get", "systemctl", "terraform", "helm", "mix", "bundle",
    "composer", "tox", "nox", "conda", "flutter", "swift",
}  # fmt: skip
# Never suggest a prefix rule for these: a prefix would allow running arbitrary code.
NO_PREFIX_SUGGESTION = _WRAPPERS | _SHELLS | ALWAYS_ASK | {
    "python", "python3", "node", "perl", "ruby", "php", "rm", "dd", "chmod", "chown", "mv", "cp",
    "curl", "wget", "ssh", "scp", "awk", "sed", "find", "tee", "kill", "pkill", "killall",
}  # fmt: skip


# -- the read-only allowlist ----------------------------------------------------------------------
#
# A command runs without asking only when each option it is given is in its table, spelled as the
# table has it or as an abbreviation the tool itself resolves to it, and every path it names (an
# operand, or the value of a path option) stays inside the workspace. Anything else asks.
#
# Notation of a table, one token per option:
#   -x          a short flag (may be clustered: `-la`)
#   -x=         a short option taking a value, attached or next (`-n5`, `-n 5`)
#   -x@         the same, and the value is a path that must stay inside the workspace
#   -x[=]       a short option whose value is optional and only attached (`git status -uno`)
#   --name      a long flag
#   --name=     a long option taking a value (`--name=v` or `--name v`); `--name@` a path value
#   --name[=]   a long option whose value is optional and only given with `=` (`--color[=WHEN]`)
#   --name?     takes the next word as its value when there is one (git's `--merged [<commit>]`)
# The `unsafe` string names options that must never be auto-allowed, each with why: `run` (it runs
# a program), `write` (it writes or changes something), `read` (it reads paths that cannot be
# checked: a list of names kept in a file, or symbolic links followed out of the workspace). They
# are listed, not merely left out, because they take part in resolving abbreviations: getopt_long
# reads `sort --compress-prog` as `--compress-program`, so a prefix that could be one of them asks.

OptKind = Literal["flag", "value", "path", "optional", "lastarg"]
_SUFFIXES: tuple[tuple[str, OptKind], ...] = (
    ("[=]", "optional"),
    ("=", "value"),
    ("@", "path"),
    ("?", "lastarg"),
)


@dataclass(frozen=True)
class OptionTable:
    """The options one command (or git subcommand) is known to take; see the notation above."""

    short: dict[str, OptKind]
    long: dict[str, OptKind]
    unsafe: dict[str, str]  # "-o" / "--output" -> "run" | "write" | "read"
    abbreviate: bool  # GNU getopt_long: a unique prefix of a long option stands for it
    numeric: bool  # `-5` is a count (head -5, grep -3, git log -5)

    @property
    def runs_or_writes(self) -> bool:
        """True when some option of this command runs a program or writes a file."""
        return any(why in ("run", "write") for why in self.unsafe.values())


_FLAG: OptKind = "flag"


def _options(safe: str, unsafe: str = "", *, abbreviate: bool = True, numeric: bool = False) -> OptionTable:
    short: dict[str, OptKind] = {}
    long: dict[str, OptKind] = {}
    for token in safe.split():
        name, kind = token, _FLAG
        for suffix, suffix_kind in _SUFFIXES:
            if token.endswith(suffix) and len(token) - len(suffix) >= 2:
                name, kind = token[: -len(suffix)], suffix_kind
                break
        if name.startswith("--"):
            long[name] = kind
        else:
            assert len(name) == 2 and name[0] == "-", token
            short[name[1]] = kind
    dangers = dict(token.rsplit(":", 1) for token in unsafe.split())
    assert set(dangers.values()) <= {"run", "write", "read"}, dangers
    return OptionTable(short, long, dangers, abbreviate, numeric)


Operands = Literal["paths", "pattern", "strings", "none", "date", "listed", "remote"]


@dataclass(frozen=True)
class CommandSpec:
    """A read-only command: its options and what its operands are.

    `paths`: files that must stay inside the workspace; `pattern`: a search pattern, then paths
    (unless the pattern came from -e/-f); `strings`: text, not read as files; `none`: no operands;
    `date`: only `+FORMAT` (any other operand sets the clock); `listed`: patterns allowed only
    with --list (otherwise `git branch x` creates a branch); `remote`: nothing, or `get-url NAME`.
    """

    options: OptionTable
    operands: Operands = "paths"
    max_operands: int | None = None


_HELP = "--help --version"
_SUMS = _options(
    f"-b -t -z --binary --text --zero --tag {_HELP}", "-c:read --check:read"
)  # -c reads the files a list names

_GREP = _options(
    "-E -F -G -P -i -y -v -w -x -c -L -l -o -q -s -b -H -h -n -T -Z -z -a -I -r -U -e= -f@ -m= -A= -B="
    " -C= -d= -D= --extended-regexp --fixed-strings --basic-regexp --perl-regexp --regexp= --file@"
    " --ignore-case --no-ignore-case --word-regexp --line-regexp --null-data --no-messages"
    " --invert-match --max-count= --byte-offset --line-number --no-line-number --line-buffered"
    " --with-filename --no-filename --label= --only-matching --quiet --silent --binary-files= --text"
    " --directories= --devices= --recursive --include= --exclude= --exclude-from@ --exclude-dir="
    " --files-without-match --files-with-matches --count --initial-tab --null --context="
    f" --before-context= --after-context= --color[=] --colour[=] --binary {_HELP}",
    "-R:read --dereference-recursive:read",  # follows symbolic links out of the workspace
    numeric=True,
)

READ_ONLY: dict[str, CommandSpec] = {
    "ls": CommandSpec(_options(
        "-a -A -b -B -c -C -d -D -f -F -g -G -h -H -i -k -l -L -m -n -N -o -p -q -Q -r -R -s -S -t -u -U"
        " -v -x -X -Z -1 -I= -T= -w= --all --almost-all --author --escape --block-size= --ignore-backups"
        " --color[=] --directory --dired --classify[=] --file-type --format= --full-time"
        " --group-directories-first --no-group --human-readable --si --dereference-command-line"
        " --dereference-command-line-symlink-to-dir --hide= --hyperlink[=] --indicator-style= --inode"
        " --ignore= --kibibytes --dereference --numeric-uid-gid --literal --hide-control-chars"
        " --show-control-chars --quote-name --quoting-style= --reverse --recursive --size --sort= --time="
        f" --time-style= --tabsize= --width= --context --zero {_HELP}"
    )),
    "cat": CommandSpec(_options(
        "-A -b -e -E -n -s -t -T -u -v --show-all --number-nonblank --show-ends --number --squeeze-blank"
        f" --show-tabs --show-nonprinting {_HELP}"
    )),
    "head": CommandSpec(_options(
        f"-c= -n= -q -v -z --bytes= --lines= --quiet --silent --verbose --zero-terminated {_HELP}",
        numeric=True,
    )),
    "tail": CommandSpec(_options(
        "-c= -n= -f -F -q -s= -v -z --bytes= --lines= --follow[=] --retry --pid= --quiet --silent"
        f" --sleep-interval= --verbose --zero-terminated --max-unchanged-stats= --debug {_HELP}",
        numeric=True,
    )),
    "wc": CommandSpec(_options(
        f"-c -m -l -L -w --bytes --chars --lines --max-line-length --words --total= --debug {_HELP}",
        "--files0-from:read",  # reads the names to count from a file
    )),
    "file": CommandSpec(_options(
        "-b -c -d -E -h -i -k -l -L -n -N -r -s -S -0 -e= -F= -P= -m@ --brief --checking-printout"
        " --exclude= --exclude-quiet= --extension --mime --mime-type --mime-encoding --keep-going --list"
        " --dereference --no-dereference --no-buffer --no-pad --print0 --raw --special-files"
        f" --separator= --parameter= --magic-file@ --apple --debug {_HELP}",
        # -C writes a compiled magic file; -f reads names from a file; -z/-Z run decompressors;
        # -p resets access times; --no-sandbox lifts file's own sandbox.
        "-C:write --compile:write -f:read --files-from:read -z:run -Z:run --uncompress:run"
        " --uncompress-noreport:run -p:write --preserve-date:write --no-sandbox:run",
    )),
    "stat": CommandSpec(_options(
        f"-L -f -t -c= --dereference --file-system --format= --printf= --terse --cached= {_HELP}"
    )),
    "du": CommandSpec(_options(
        "-0 -a -b -c -D -h -H -k -l -L -m -P -s -S -x -d= -B= -t= -X@ --null --all --apparent-size"
        " --block-size= --bytes --total --dereference-args --dereference --no-dereference --count-links"
        " --max-depth= --human-readable --inodes --si --separate-dirs --summarize --threshold= --time[=]"
        f" --time-style= --exclude= --exclude-from@ --one-file-system {_HELP}",
        "--files0-from:read",  # reads the names to measure from a file
    )),
    "df": CommandSpec(_options(
        "-a -h -H -i -k -l -P -T -v -B= -t= -x= --all --block-size= --human-readable --si --inodes --local"
        f" --no-sync --sync --output[=] --portability --print-type --type= --exclude-type= --total {_HELP}"
    )),
    "tree": CommandSpec(_options(
        "-a -d -f -x -i -q -N -Q -p -u -g -s -h -D -F -v -t -c -U -r -C -n -A -S -J -X -L= -P= -I= -H= -T="
        " --noreport --inodes --device --dirsfirst --filesfirst --filelimit= --charset= --si --du --prune"
        " --matchdirs --ignore-case --gitignore --gitfile@ --sort= --timefmt= --nolinks --metafirst"
        f" --info --noindent {_HELP}",
        # -o writes its output to a file, -R writes 00Tree.html files; -l follows symbolic links
        # out of the workspace; --fromfile lists what a file names.
        "-o:write -R:write -l:read --fromfile:read --fromtabfile:read --hintro:read --houtro:read",
        abbreviate=False,
    )),
    "nl": CommandSpec(_options(
        "-b= -d= -f= -h= -i= -l= -n= -p -s= -v= -w= --body-numbering= --section-delimiter="
        " --footer-numbering= --header-numbering= --line-increment= --join-blank-lines= --number-format="
        f" --no-renumber --number-separator= --starting-line-number= --number-width= {_HELP}"
    )),
    "sort": CommandSpec(_options(
        "-b -d -f -g -h -i -M -n -R -r -V -c -C -m -s -u -z -k= -t= -S= --ignore-leading-blanks"
        " --dictionary-order --ignore-case --general-numeric-sort --ignore-nonprinting --month-sort"
        " --human-numeric-sort --numeric-sort --random-sort --random-source@ --reverse --sort="
        " --version-sort --batch-size= --check[=] --key= --merge --field-separator= --buffer-size="
        f" --stable --parallel= --unique --zero-terminated --debug {_HELP}",
        # -o writes the result to a file, -T writes temporary files in a directory, the compress
        # program is run on those, --files0-from reads the names to sort from a file.
        "-o:write --output:write -T:write --temporary-directory:write --compress-program:run"
        " --files0-from:read",
    )),
    # `uniq IN OUT` writes OUT: one operand at most.
    "uniq": CommandSpec(_options(
        "-c -d -D -f= -i -s= -u -w= -z --all-repeated[=] --count --repeated --group[=] --ignore-case"
        f" --skip-fields= --skip-chars= --unique --check-chars= --zero-terminated {_HELP}",
        numeric=True,
    ), max_operands=1),
    "cut": CommandSpec(_options(
        "-b= -c= -d= -f= -n -s -z --bytes= --characters= --delimiter= --fields= --complement"
        f" --only-delimited --output-delimiter= --zero-terminated {_HELP}"
    )),
    "tr": CommandSpec(_options(
        f"-c -C -d -s -t --complement --delete --squeeze-repeats --truncate-set1 {_HELP}"
    ), "strings"),
    "od": CommandSpec(_options(
        "-A= -j= -N= -S[=] -t= -v -w[=] -a -b -c -d -f -i -l -o -s -x --address-radix= --endian="
        " --skip-bytes= --read-bytes= --strings[=] --format= --output-duplicates --width[=]"
        f" --traditional {_HELP}"
    )),
    # Names, not files: basename and dirname only edit the text.
    "basename": CommandSpec(_options(f"-a -s= -z --multiple --suffix= --zero {_HELP}"), "strings"),
    "dirname": CommandSpec(_options(f"-z --zero {_HELP}"), "strings"),
    "realpath": CommandSpec(_options(
        "-e -m -L -P -q -s -z --canonicalize-existing --canonicalize-missing --logical --physical --quiet"
        f" --relative-to@ --relative-base@ --strip --no-symlinks --zero {_HELP}"
    )),
    "readlink": CommandSpec(_options(
        "-f -e -m -n -q -s -v -z --canonicalize --canonicalize-existing --canonicalize-missing --no-newline"
        f" --quiet --silent --verbose --zero {_HELP}"
    )),
    "diff": CommandSpec(_options(
        "-a -b -B -d -e -E -f -i -n -N -p -P -q -r -s -t -T -u -w -y -Z -c -C= -D= -F= -I= -S= -U= -W= -x="
        " -X@ --normal --brief --report-identical-files --context[=] --unified[=] --ed --rcs --side-by-side"
        " --width= --left-column --suppress-common-lines --show-c-function --show-function-line= --label="
        " --expand-tabs --initial-tab --tabsize= --suppress-blank-empty --new-file --unidirectional-new-file"
        " --ignore-case --ignore-file-name-case --no-ignore-file-name-case --ignore-tab-expansion"
        " --ignore-trailing-space --ignore-space-change --ignore-all-space --ignore-blank-lines"
        " --ignore-matching-lines= --text --strip-trailing-cr --recursive --exclude= --exclude-from@"
        " --starting-file= --from-file@ --to-file@ --minimal --horizon-lines= --speed-large-files"
        " --color[=] --palette= --new-group-format= --old-group-format= --changed-group-format="
        " --unchanged-group-format= --line-format= --old-line-format= --new-line-format="
        f" --unchanged-line-format= --ifdef= --no-dereference {_HELP}",
        "-l:run --paginate:run",  # pipes the output through `pr`
    )),
    "cmp": CommandSpec(_options(
        f"-b -l -s -i= -n= --print-bytes --ignore-initial= --verbose --bytes= --quiet --silent {_HELP}"
    )),
    "md5sum": CommandSpec(_SUMS),
    "sha1sum": CommandSpec(_SUMS),
    "sha224sum": CommandSpec(_SUMS),
    "sha256sum": CommandSpec(_SUMS),
    "sha384sum": CommandSpec(_SUMS),
    "sha512sum": CommandSpec(_SUMS),
    "b2sum": CommandSpec(_SUMS),
    "grep": CommandSpec(_GREP, "pattern"),
    "egrep": CommandSpec(_GREP, "pattern"),
    "fgrep": CommandSpec(_GREP, "pattern"),
    "rg": CommandSpec(_options(
        "-a -b -c -F -H -i -I -l -n -N -o -p -q -s -S -u -U -v -V -w -x -0 -. -A= -B= -C= -d= -e= -E= -f@ -g="
        " -j= -m= -M= -r= -t= -T= --after-context= --before-context= --context= --binary --block-buffered"
        " --byte-offset --case-sensitive --color= --colors= --column --context-separator="
        " --no-context-separator --count --count-matches --crlf --debug --dfa-size-limit= --encoding="
        " --engine= --field-context-separator= --field-match-separator= --files --files-with-matches"
        " --files-without-match --fixed-strings --glob= --glob-case-insensitive --heading --no-heading"
        " --hidden --no-hidden --iglob= --ignore-case --ignore-file@ --ignore-file-case-insensitive"
        " --include-zero --invert-match --json --no-json --line-buffered --line-number --no-line-number"
        " --line-regexp --max-columns= --max-columns-preview --max-count= --max-depth= --maxdepth="
        " --max-filesize= --mmap --no-mmap --multiline --multiline-dotall --no-config --no-ignore"
        " --no-ignore-dot --no-ignore-exclude --no-ignore-files --no-ignore-global --no-ignore-parent"
        " --no-ignore-vcs --no-messages --no-require-git --no-unicode --null --null-data --one-file-system"
        " --only-matching --passthru --path-separator= --pcre2 --pcre2-version --pretty --quiet"
        " --regex-size-limit= --regexp= --replace= --smart-case --sort= --sortr= --sort-files --stats"
        " --no-stats --stop-on-nonmatch --text --threads= --trace --trim --no-trim --type= --type-not="
        " --type-add= --type-clear= --type-list --unrestricted --vimgrep --with-filename --no-filename"
        f" --word-regexp --auto-hybrid-regex --hyperlink-format= --file@ -h {_HELP}",
        # --pre runs a program on each file, -z runs decompressors, --hostname-bin runs a program
        # for hyperlinks; -L follows symbolic links out of the workspace.
        "--pre:run --pre-glob:run -z:run --search-zip:run --hostname-bin:run -L:read --follow:read",
        abbreviate=False,
    ), "pattern"),
    "cd": CommandSpec(_options("-L -P -e -@", abbreviate=False), max_operands=1),
    "pwd": CommandSpec(_options("-L -P", abbreviate=False), "none"),
    "which": CommandSpec(_options(
        "-a -s -i -v -V --all --read-alias --skip-alias --read-functions --skip-functions --skip-dot"
        f" --skip-tilde --show-dot --show-tilde --tty-only {_HELP}"
    ), "strings"),
    "type": CommandSpec(_options("-a -f -p -P -t", abbreviate=False), "strings"),
    "date": CommandSpec(_options(
        "-u -R -I[=] -d= -f@ -r@ --date= --debug --file@ --iso-8601[=] --resolution --rfc-email --rfc-3339="
        f" --reference@ --utc --universal --rfc-2822 {_HELP}",
        "-s:write --set:write",  # sets the clock
    ), "date"),
    "whoami": CommandSpec(_options(_HELP), "none"),
    "uname": CommandSpec(_options(
        "-a -s -n -r -v -m -p -i -o --all --kernel-name --nodename --kernel-release --kernel-version"
        f" --machine --processor --hardware-platform --operating-system {_HELP}"
    ), "none"),
    "seq": CommandSpec(_options(f"-f= -s= -w --format= --separator= --equal-width {_HELP}"), "strings"),
    "id": CommandSpec(_options(
        f"-a -g -G -n -r -u -z -Z --group --groups --name --real --user --zero --context {_HELP}"
    ), "strings"),
    "groups": CommandSpec(_options(_HELP), "strings"),
    "nproc": CommandSpec(_options(f"--all --ignore= {_HELP}"), "none"),
}  # fmt: skip
# Whatever their arguments: echo prints them, true and false ignore them.
_ANY_ARGUMENTS = {"echo", "true", "false"}

# -- find -----------------------------------------------------------------------------------------
# find's expression is its own language; every primary it may be given is listed here.
_FIND_FLAGS = {
    "(", ")", "!", ",", "-not", "-a", "-and", "-o", "-or", "-print", "-print0", "-ls", "-prune", "-quit",
    "-true", "-false", "-empty", "-readable", "-writable", "-executable", "-nouser", "-nogroup", "-depth",
    "-d", "-xdev", "-mount", "-noleaf", "-daystart", "-ignore_readdir_race", "-noignore_readdir_race",
    "-help", "--help", "-version", "--version",
}  # fmt: skip
_FIND_VALUES = {
    "-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename", "-regex", "-iregex", "-lname",
    "-ilname", "-type", "-xtype", "-maxdepth", "-mindepth", "-mtime", "-mmin", "-atime", "-amin",
    "-ctime", "-cmin", "-size", "-user", "-group", "-uid", "-gid", "-perm", "-links", "-inum", "-printf",
    "-regextype", "-used", "-fstype", "-context",
}  # fmt: skip
_FIND_PATHS = {"-newer", "-anewer", "-cnewer", "-samefile"}
_FIND_UNSAFE = {
    # They run programs...
    "-exec": "run", "-execdir": "run", "-ok": "run", "-okdir": "run",
    # ...delete or write files...
    "-delete": "write", "-fprint": "write", "-fprint0": "write", "-fprintf": "write", "-fls": "write",
    # ...or walk paths that cannot be checked (names listed in a file; links followed out).
    "-files0-from": "read", "-L": "read", "-follow": "read",
}  # fmt: skip


@dataclass
class OptionScan:
    """What `scan_options` found in a command's arguments."""

    problems: list[str] = field(default_factory=list)  # why it is not known to be safe
    dangerous: bool = False  # an option (or a word that may become one) runs, writes or reads unchecked
    operands: list[Word] = field(default_factory=list)
    paths: list[Word] = field(default_factory=list)  # the values of path options
    seen: set[str] = field(default_factory=set)  # the options given, spelled as in the table

    def problem(self, why: str, *, dangerous: bool = False) -> None:
        self.problems.append(why)
        self.dangerous = self.dangerous or dangerous


def _value_word(word: Word, text: str) -> Word:
    """An option's value attached to its word (`--file=x`, `-fx`): the word's flags carry over."""
    return Word(text, word.quoted, word.expansion, word.glob, word.tilde, word.brace)


def _take_value(
    args: list[Word], i: int, name: str, scan: OptionScan, *, risky: bool = True
) -> tuple[Word | None, int]:
    """The next word as `name`'s value. It must be literal: an expansion could be several words,
    and (`risky`: for a command with options that run or write) the later ones options."""
    if i >= len(args):
        scan.problem(f"{name} needs a value")
        return None, i
    if not args[i].literal:
        scan.problem(f"the value of {name} is not literal", dangerous=risky and _may_become_options(args[i]))
    return args[i], i + 1


def scan_options(table: OptionTable, args: list[Word]) -> OptionScan:
    """Read `args` the way getopt_long does with `table`, noting whatever is not known to be safe."""
    scan = OptionScan()
    i, ended = 0, False
    while i < len(args):
        word = args[i]
        text = word.text
        i += 1
        if ended or text == "-" or not text.startswith("-"):
            if _may_become_options(word) and not ended and table.runs_or_writes:
                # `sort *` is `sort -o x y` in a folder holding files named `-o`, `x` and `y`.
                scan.problem(f"{text} may expand to an option", dangerous=True)
            scan.operands.append(word)
            continue
        if text == "--":
            ended = True
            continue
        if word.expansion or word.brace:
            scan.problem(f"{text} is not a literal option", dangerous=True)
            continue
        if text.startswith("--"):
            i = _scan_long(table, args, i, word, scan)
        else:
            i = _scan_short(table, args, i, word, scan)
    return scan


def _may_become_options(word: Word) -> bool:
    """True when the shell may turn `word` into words starting with `-` (`*`, `{-o,x}`, `$X`)."""
    return word.leading_glob or word.brace or word.expansion


def _resolve_long(table: OptionTable, name: str, scan: OptionScan) -> str | None:
    if name in table.long or name in table.unsafe:
        return name
    if not table.abbreviate:
        scan.problem(f"unknown option {name}")
        return None
    matches = sorted(n for n in (*table.long, *table.unsafe) if n.startswith(name))
    if len(matches) == 1:
        return matches[0]
    risky = [m for m in matches if m in table.unsafe]
    if risky:
        scan.problem(f"{name} may be {', '.join(risky)}", dangerous=True)
    else:
        scan.problem(f"{name} is ambiguous" if matches else f"unknown option {name}")
    return None


def _scan_long(table: OptionTable, args: list[Word], i: int, word: Word, scan: OptionScan) -> int:
    name, eq, attached = word.text.partition("=")
    if word.glob and any(ch in name for ch in "*?["):
        scan.problem(f"{word.text} may expand to other options", dangerous=True)  # `--pre*`
        return i
    canon = _resolve_long(table, name, scan)
    if canon is None:
        return i
    if canon in table.unsafe:
        scan.problem(f"{canon} ({table.unsafe[canon]})", dangerous=True)
        return i
    scan.seen.add(canon)
    kind = table.long[canon]
    value: Word | None = None
    if kind == "flag":
        if eq:
            scan.problem(f"{canon} takes no value")
        return i
    if eq:
        value = _value_word(word, attached)
    elif kind in ("value", "path") or (kind == "lastarg" and i < len(args)):
        value, i = _take_value(args, i, canon, scan, risky=table.runs_or_writes)
    if kind == "path" and value is not None:
        scan.paths.append(value)
    return i


def _scan_short(table: OptionTable, args: list[Word], i: int, word: Word, scan: OptionScan) -> int:
    text = word.text
    if table.numeric and text[1:].isdigit():
        return i
    for j in range(1, len(text)):
        c = text[j]
        if f"-{c}" in table.unsafe:
            scan.problem(f"-{c} ({table.unsafe['-' + c]})", dangerous=True)
            return i
        if c in "*?[" and word.glob:
            scan.problem(f"{text} may expand to other options", dangerous=True)  # `-*`
            return i
        kind = table.short.get(c)
        if kind is None:
            # A tool may carry on past an unknown letter: the rest of the cluster still counts.
            risky = any(f"-{ch}" in table.unsafe for ch in text[j + 1 :])
            scan.problem(f"unknown option -{c}", dangerous=risky)
            return i
        scan.seen.add(f"-{c}")
        if kind == "flag":
            continue
        rest = text[j + 1 :]
        value: Word | None = None
        if rest:
            value = _value_word(word, rest)
        elif kind in ("value", "path"):
            value, i = _take_value(args, i, f"-{c}", scan, risky=table.runs_or_writes)
        if kind == "path" and value is not None:
            scan.paths.append(value)
        return i
    return i


@dataclass
class ReadOnlyVerdict:
    """A read-only built-in: the words that are paths and must stay inside the workspace."""

    paths: list[Word]
    changes_directory: bool = False


def _is_option(word: Word) -> bool:
    return word.text.startswith("-") and word.text != "-"


def _judge(spec: CommandSpec, args: list[Word]) -> ReadOnlyVerdict | None:
    """The verdict on one command with a spec, or None when something in it is not known-safe."""
    if spec.operands != "strings" and any(a.expansion or a.brace for a in args):
        return None
    scan = scan_options(spec.options, args)
    if scan.problems:
        return None
    operands = scan.operands
    if spec.max_operands is not None and len(operands) > spec.max_operands:
        return None
    kind = spec.operands
    if kind == "pattern":
        pattern_given = scan.seen & {"-e", "-f", "--regexp", "--file", "--files", "--type-list"}
        if not pattern_given and operands:
            operands = operands[1:]
        kind = "paths"
    if kind == "none" and operands:
        return None
    if kind == "date" and any(not o.text.startswith("+") for o in operands):
        return None
    if kind == "listed" and operands and not scan.seen & {"-l", "--list"}:
        return None
    if kind == "remote" and operands and (operands[0].text != "get-url" or len(operands) != 2):
        return None
    paths = operands if kind == "paths" else []
    return ReadOnlyVerdict([*paths, *scan.paths])


def read_only_builtin(cmd: SimpleCommand) -> ReadOnlyVerdict | None:
    """The verdict for a built-in read-only command, or None when it is not one."""
    if not cmd.words:
        return ReadOnlyVerdict([])  # a bare redirection; its hazards are judged separately
    head, args = cmd.words[0], cmd.words[1:]
    if not head.literal:
        return None
    name = head.text
    if name in _ANY_ARGUMENTS:
        return ReadOnlyVerdict([])
    if name == "printf":  # only a first word can be an option: the rest are data for the format
        first = args[0] if args else None
        if first is not None and (not first.literal or (_is_option(first) and first.text != "--")):
            return None  # `printf -v PATH x` assigns PATH for later commands; `$X` could be `-v`
        return ReadOnlyVerdict([])
    if name == "command":  # `command -v NAME` only says what NAME is; anything else runs it
        ok = bool(args) and args[0].text in ("-v", "-V") and not any(_is_option(a) for a in args[1:])
        return ReadOnlyVerdict([]) if ok else None
    if name == "find":
        return _find_read_only(args)
    if name == "git":
        return _git_read_only(args)
    spec = READ_ONLY.get(name)
    if spec is None:
        return None
    verdict = _judge(spec, args)
    if name == "cd" and verdict is not None:
        if len(verdict.paths) != 1 or verdict.paths[0].text == "-":
            return None  # `cd` goes home, `cd -` to $OLDPWD
        verdict.changes_directory = True
    return verdict


def _find_scan(args: list[Word]) -> tuple[OptionScan, list[Word]]:
    """find's arguments: leading options, starting points, then the expression."""
    scan = OptionScan()
    i = 0
    while i < len(args) and re.fullmatch(r"-[HPLD]|-O\d", args[i].text):
        if args[i].text == "-L":
            scan.problem("-L (read)", dangerous=True)
        i += 2 if args[i].text == "-D" else 1
    starts = []
    while i < len(args) and not (args[i].text.startswith("-") or args[i].text in ("(", "!", ")", ",")):
        if args[i].leading_glob:
            scan.problem(f"{args[i].text} may expand to a primary such as -delete", dangerous=True)
        starts.append(args[i])
        i += 1
    while i < len(args):
        word = args[i]
        text = word.text
        i += 1
        if word.expansion or word.brace or word.glob:
            scan.problem(f"{text} is not literal", dangerous=True)
        if text in _FIND_UNSAFE:
            scan.problem(f"{text} ({_FIND_UNSAFE[text]})", dangerous=True)
        elif text in _FIND_FLAGS:
            continue
        elif text in _FIND_VALUES or re.fullmatch(r"-newer[aBcm]t", text):
            _, i = _take_value(args, i, text, scan)
        elif text in _FIND_PATHS or re.fullmatch(r"-newer[aBcm][aBcm]", text):
            value, i = _take_value(args, i, text, scan)
            if value is not None:
                scan.paths.append(value)
        else:
            scan.problem(f"unknown find primary {text}")
    return scan, starts


def _find_read_only(args: list[Word]) -> ReadOnlyVerdict | None:
    scan, starts = _find_scan(args)
    if scan.problems or any(a.expansion or a.brace for a in args):
        return None
    return ReadOnlyVerdict([*starts, *scan.paths])


# -- git ------------------------------------------------------------------------------------------
# Global options: only these; `-c`, `-C`, `--exec-path`, `--git-dir`, `--work-tree`, `--config-env`
# and the rest ask (they run configured programs or point git at another repository).
_GIT_GLOBAL_SAFE = {"--no-pager", "-P", "--no-optional-locks", "--no-replace-objects", "--literal-pathspecs"}
# Global options that make any git command run what they configure.
_GIT_GLOBAL_RUNS = ("-c", "--config-env", "--exec-path")

# The options of git's diff machinery (diff, show, log). --ext-diff and --textconv run the
# external diff and textconv programs, --output writes a file.
_GIT_DIFF = (
    "-p -u -s -z -R -a -w -b -W -D -U= -B[=] -M[=] -C[=] -S= -G= -I= -O@ -l= --patch --no-patch --unified="
    " --output-indicator-new= --output-indicator-old= --output-indicator-context= --raw --patch-with-raw"
    " --indent-heuristic --no-indent-heuristic --minimal --patience --histogram --anchored= --diff-algorithm="
    " --stat[=] --stat-width= --stat-name-width= --stat-graph-width= --stat-count= --compact-summary"
    " --numstat --shortstat --dirstat[=] --cumulative --dirstat-by-file[=] --summary --patch-with-stat"
    " --name-only --name-status --submodule[=] --color[=] --no-color --color-moved[=] --no-color-moved"
    " --color-moved-ws= --no-color-moved-ws --word-diff[=] --word-diff-regex= --color-words[=] --no-renames"
    " --rename-empty --no-rename-empty --check --ws-error-highlight= --full-index --binary --abbrev[=]"
    " --no-abbrev --break-rewrites[=] --find-renames[=] --find-copies[=] --find-copies-harder"
    " --irreversible-delete --diff-filter= --find-object= --pickaxe-all --pickaxe-regex --skip-to="
    " --rotate-to= --relative[=] --no-relative --text --ignore-cr-at-eol --ignore-space-at-eol"
    " --ignore-space-change --ignore-all-space --ignore-blank-lines --ignore-matching-lines="
    " --inter-hunk-context= --function-context --exit-code --quiet --no-ext-diff --no-textconv"
    " --ignore-submodules[=] --src-prefix= --dst-prefix= --no-prefix --default-prefix --line-prefix="
    " --ita-invisible-in-index --ita-visible-in-index"
)
_GIT_DIFF_UNSAFE = "--ext-diff:run --textconv:run --output:write"
# Revision walking (log, show, rev-list, shortlog). --show-signature runs gpg.
_GIT_REVS = (
    "-n= -i -E -F -P -g -m -c -t --oneline --graph --decorate[=] --no-decorate --decorate-refs="
    " --decorate-refs-exclude= --source --all --branches[=] --tags[=] --remotes[=] --glob= --exclude="
    " --max-count= --skip= --since= --after= --until= --before= --author= --committer= --grep="
    " --grep-reflog= --all-match --invert-grep --regexp-ignore-case --basic-regexp --extended-regexp"
    " --fixed-strings --perl-regexp --merges --no-merges --min-parents= --max-parents= --no-min-parents"
    " --no-max-parents --first-parent --not --reverse --date= --pretty[=] --format= --abbrev-commit"
    " --no-abbrev-commit --encoding= --expand-tabs[=] --no-expand-tabs --notes[=] --no-notes --follow"
    " --left-right --cherry-pick --cherry-mark --cherry --left-only --right-only --boundary --topo-order"
    " --date-order --author-date-order --ancestry-path[=] --simplify-by-decoration --full-history --dense"
    " --sparse --simplify-merges --show-pulls --parents --children --walk-reflogs --no-walk[=] --do-walk"
    " --log-size --relative-date --use-mailmap --mailmap --no-use-mailmap --no-mailmap --full-diff"
    " --diff-merges= --no-diff-merges --combined-all-paths --cc --dd --show-linear-break[=] --count"
    " --stdin --reflog --single-worktree --in-commit-order --timestamp"
)
_GIT_REVS_UNSAFE = "--show-signature:run"
_GIT_LIST = (
    "--sort= --format= --color[=] --no-color --column[=] --no-column -i --ignore-case --omit-empty"
    " --contains? --no-contains? --merged? --no-merged? --points-at?"
)


def _git(safe: str, unsafe: str = "", operands: Operands = "paths") -> CommandSpec:
    return CommandSpec(_options(safe, unsafe, abbreviate=False, numeric=True), operands)


GIT_READ_ONLY: dict[str, CommandSpec] = {
    "status": _git(
        "-s -b -v -z -u[=] --short --branch --porcelain[=] --long --verbose --untracked-files[=] --ignored[=]"
        " --ignore-submodules[=] --column[=] --no-column --ahead-behind --no-ahead-behind --renames"
        " --no-renames --find-renames[=] --show-stash --no-show-stash"
    ),
    "diff": _git(
        f"{_GIT_DIFF} -0 -1 -2 -3 --cached --staged --merge-base --no-index --base --ours --theirs",
        _GIT_DIFF_UNSAFE,
    ),
    "log": _git(f"{_GIT_DIFF} {_GIT_REVS}", f"{_GIT_DIFF_UNSAFE} {_GIT_REVS_UNSAFE}"),
    "show": _git(f"{_GIT_DIFF} {_GIT_REVS}", f"{_GIT_DIFF_UNSAFE} {_GIT_REVS_UNSAFE}"),
    "rev-list": _git(f"{_GIT_REVS} --objects --objects-edge --no-object-names --quiet", _GIT_REVS_UNSAFE),
    "shortlog": _git(
        f"{_GIT_REVS} -n -s -e -w[=] --numbered --summary --email --committer --group=", _GIT_REVS_UNSAFE
    ),
    # Branch and tag list; any operand without --list names a branch or tag to create.
    "branch": _git(
        f"-a -r -v -l --all --remotes --verbose --list --show-current --abbrev= --no-abbrev {_GIT_LIST}",
        "-d:write -D:write -m:write -M:write -c:write -C:write -f:write -u:write -t:write --delete:write"
        " --move:write --copy:write --force:write --set-upstream-to:write --unset-upstream:write"
        " --track:write --no-track:write --edit-description:write --create-reflog:write"
        " --recurse-submodules:write",
        "listed",
    ),
    "tag": _git(
        f"-l -n[=] --list {_GIT_LIST}",
        "-a:write -s:write -u:write -f:write -d:write -v:run -m:write -F:write -e:write --annotate:write"
        " --sign:write --local-user:write --force:write --delete:write --verify:run --message:write"
        " --file:write --edit:write --create-reflog:write --cleanup:write --trailer:write",
        "listed",
    ),
    "rev-parse": _git(
        "-q --abbrev-ref[=] --short[=] --verify --quiet --show-toplevel --git-dir --absolute-git-dir"
        " --git-common-dir --is-inside-work-tree --is-inside-git-dir --is-bare-repository"
        " --is-shallow-repository --show-prefix --show-cdup --show-superproject-working-tree"
        " --show-object-format[=] --show-ref-format --symbolic --symbolic-full-name --all --branches[=]"
        " --tags[=] --remotes[=] --glob= --exclude= --default= --sq --not --revs-only --no-revs --flags"
        " --no-flags --path-format= --git-path= --local-env-vars --since= --after= --until= --before="
        " --resolve-git-dir@"
    ),
    "blame": _git(
        "-L= -l -t -S@ -p -s -e -w -n -f -c -b -M[=] -C[=] --root --show-stats --score-debug --show-name"
        " --show-number --porcelain --line-porcelain --incremental --encoding= --contents@ --date="
        " --progress --no-progress --reverse= --first-parent --ignore-rev= --ignore-revs-file@"
        " --color-lines --color-by-age --minimal --abbrev= --show-email"
    ),
    "ls-files": _git(
        "-c -d -m -o -i -s -u -k -z -t -v -f -x= -X@ --cached --deleted --modified --others --ignored"
        " --stage --unmerged --killed --directory --no-empty-directory --eol --exclude= --exclude-from@"
        " --exclude-per-directory= --exclude-standard --error-unmatch --with-tree= --full-name"
        " --recurse-submodules --abbrev[=] --debug --deduplicate --format= --sparse --resolve-undo"
    ),
    "ls-tree": _git(
        "-d -r -t -l -z --long --name-only --name-status --object-only --full-name --full-tree --abbrev[=]"
        " --format="
    ),
    "remote": _git("-v --verbose", operands="remote"),
    "describe": _git(
        "--all --tags --contains --abbrev= --candidates= --exact-match --debug --long --match= --exclude="
        " --always --first-parent --dirty[=] --broken[=]"
    ),
    "merge-base": _git("-a --all --octopus --independent --is-ancestor --fork-point"),
    "show-ref": _git(
        "-d -q -s --head --heads --tags --branches --verify --hash[=] --abbrev[=] --dereference --quiet"
        " --exists",
        operands="strings",
    ),
    # git grep: -O and --open-files-in-pager run a program, --textconv runs filters.
    "grep": _git(
        "-i -I -w -v -h -H -E -G -F -P -n -l -L -c -o -p -W -z -q -a -e= -f@ -A= -B= -C= -m= --cached"
        " --untracked --no-index --no-exclude-standard --exclude-standard --recurse-submodules --text"
        " --no-textconv --ignore-case --word-regexp --invert-match --full-name --extended-regexp"
        " --basic-regexp --perl-regexp --fixed-strings --line-number --column --files-with-matches"
        " --name-only --files-without-match --count --color[=] --no-color --break --heading"
        " --show-function --function-context --context= --after-context= --before-context= --threads="
        " --max-depth= --null --only-matching --quiet --all-match --and --or --not --max-count=",
        "-O:run --open-files-in-pager:run --textconv:run",
        "pattern",
    ),
    "cat-file": _git("-t -s -p -e", "--textconv:run --filters:run", "strings"),
    "version": _git("--build-options", operands="none"),
}  # fmt: skip


def _git_split(args: list[Word]) -> tuple[str | None, list[Word], bool]:
    """git's arguments as (subcommand, its arguments, whether a global option runs programs).
    The subcommand is None when a global option other than the harmless ones comes first."""
    rest = list(args)
    while rest and rest[0].text in _GIT_GLOBAL_SAFE:
        rest = rest[1:]
    if not rest:
        return None, [], False
    first = rest[0].text
    if first.startswith("-"):
        runs = any(w.text == o or w.text.startswith(o + "=") for w in rest for o in _GIT_GLOBAL_RUNS)
        return ("version" if first == "--version" else None), rest[1:], runs
    return first, rest[1:], False


def _git_read_only(args: list[Word]) -> ReadOnlyVerdict | None:
    sub, sub_args, _ = _git_split(args)
    spec = GIT_READ_ONLY.get(sub or "")
    if spec is None or any(a.expansion or a.brace for a in sub_args):
        return None
    return _judge(spec, sub_args)


# Tools that are not read-only but are often allowed by a prefix rule (`Bash(tar:*)`): the options
# such a rule must not cover, because they run a program.
RUNS_WITH_OPTIONS: dict[str, OptionTable] = {
    "tar": _options("", "--to-command:run --use-compress-program:run -I:run --checkpoint-action:run"
                    " --info-script:run --new-volume-script:run -F:run --rsh-command:run --rmt-command:run"),
    "rsync": _options("", "-e:run --rsh:run --rsync-path:run"),
    "zip": _options("", "--unzip-command:run -T:run"),  # -T and -TT run unzip or a given command
}  # fmt: skip


def runs_other_commands(cmd: SimpleCommand) -> bool:
    """True for options that run programs, write files or read unchecked paths (`find -exec`,
    `rg --pre`, `sort -o`, `git -c ...`, or an abbreviation that may be one of them).

    A prefix rule such as `Bash(find:*)` does not cover these; the user is asked.
    """
    if not cmd.words:
        return False
    name, args = cmd.words[0].text, cmd.words[1:]
    if name == "find":
        return _find_scan(args)[0].dangerous
    if name == "git":
        sub, sub_args, runs = _git_split(args)
        git_spec = GIT_READ_ONLY.get(sub or "")
        return runs or (git_spec is not None and scan_options(git_spec.options, sub_args).dangerous)
    spec = READ_ONLY.get(name)
    if spec is not None:
        return scan_options(spec.options, args).dangerous
    table = RUNS_WITH_OPTIONS.get(name)
    if table is None:
        return False
    if name == "tar" and args and not args[0].text.startswith("-"):
        args = [Word("-" + args[0].text), *args[1:]]  # `tar xIf sh a.tar`: old-style options
    return scan_options(table, args).dangerous


def option_paths(args: list[Word]) -> list[Word]:
    """Path-looking values hidden in options (`--file=/etc/x`, `-I/usr`), as words to check.

    A heuristic for commands without a table; `option_path_values` adds what a table knows."""
    found = []
    for arg in args:
        if not _is_option(arg):
            continue
        value = arg.text.split("=", 1)[1] if "=" in arg.text else ""
        if not value and "/" in arg.text:
            value = arg.text[arg.text.index("/") :]
        if not value and "~" in arg.text:
            value = arg.text[arg.text.index("~") :]
        if value:
            flags = {"expansion": arg.expansion, "glob": arg.glob, "tilde": arg.tilde, "brace": arg.brace}
            found.append(Word(value, **flags))
    return found


def _known_scan(cmd: SimpleCommand) -> OptionScan | None:
    """The option scan of a command that has a table (find's primaries included); else None."""
    if not cmd.words:
        return None
    name, args = cmd.words[0].text, cmd.words[1:]
    if name == "find":
        return _find_scan(args)[0]
    spec = READ_ONLY.get(name)
    if name == "git":
        sub, args, _ = _git_split(args)
        spec = GIT_READ_ONLY.get(sub or "")
    return scan_options(spec.options, args) if spec is not None else None


def option_path_values(cmd: SimpleCommand) -> list[Word]:
    """The values of a known command's path options (`grep -f FILE`, `diff --from-file F`)."""
    scan = _known_scan(cmd)
    return scan.paths if scan is not None else []


def option_problems(cmd: SimpleCommand) -> list[str]:
    """Why a known command's options are not known to be safe (`-o (write)`, `unknown option -Q`),
    for the reason a question gives; empty for commands without a table."""
    scan = _known_scan(cmd)
    return scan.problems if scan is not None else []
