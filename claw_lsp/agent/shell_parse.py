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
            if op in ("<<", "<<-"):
                self.hazard("here-document")
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
    """The script strings of `bash -c '...'`-style invocations (after wrappers)."""
    scripts = []
    for variant in command_variants(argv):
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


@dataclass
class ReadOnlyVerdict:
    """A read-only built-in: the words that are paths and must stay inside the workspace."""

    paths: list[Word]
    changes_directory: bool = False


_PATH_CHECKED = {
    "ls", "cat", "head", "tail", "wc", "file", "stat", "du", "df", "tree", "nl", "sort", "uniq",
    "basename", "dirname", "realpath", "readlink", "cd", "diff", "cmp", "md5sum", "sha256sum",
    "sha1sum", "cut",
}  # fmt: skip
_NO_PATHS = {"pwd", "echo", "printf", "which", "true", "false", "date", "whoami", "type", "uname"}
_GIT_READ = {"status", "diff", "log", "show", "branch", "rev-parse", "blame", "ls-files", "remote", "tag"}
_FIND_FORBIDDEN = {
    "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls",
}  # fmt: skip
_FORBIDDEN_OPTIONS: dict[str, tuple[str, ...]] = {
    "sort": ("-o", "--output", "--compress-program"),
    "tree": ("-o",),
    "file": ("-C", "--compile"),
    "date": ("-s", "--set"),
    "rg": ("--pre", "--search-zip", "-z"),
    "diff": ("--to-file", "--from-file"),
}


def _is_option(word: Word) -> bool:
    return word.text.startswith("-") and word.text != "-"


# Tools whose long options GNU getopt_long lets be abbreviated (`sort --compress-prog=sh`).
_ABBREVIATING = {"sort", "diff", "date", "file", "cut", "ls", "du", "df", "head", "tail", "wc", "nl", "uniq"}


def _has_forbidden(cmd: str, args: list[Word]) -> bool:
    for forbidden in _FORBIDDEN_OPTIONS.get(cmd, ()):
        for arg in args:
            text = arg.text
            if text == forbidden or text.startswith(forbidden + "="):
                return True
            # `--compress-prog` is `--compress-program` to getopt_long: any prefix of a forbidden
            # long option counts (longer than `--x`, as getopt needs it to be unambiguous).
            name = text.split("=", 1)[0]
            if (
                cmd in _ABBREVIATING
                and forbidden.startswith("--")
                and len(name) > 3
                and forbidden.startswith(name)
            ):
                return True
            # Short options may be clustered or carry their value: `sort -uo out`.
            short = len(forbidden) == 2 and re.match(r"^-[A-Za-z]+", text) and not text.startswith("--")
            if short and forbidden[1] in text[1:]:
                return True
    return False


def runs_other_commands(cmd: SimpleCommand) -> bool:
    """True for options that run or write things (`find -exec`, `rg --pre`, `sort -o`...).

    A prefix rule such as `Bash(find:*)` does not cover these; the user is asked.
    """
    if not cmd.words:
        return False
    name, args = cmd.words[0].text, cmd.words[1:]
    if name == "find":
        return any(a.text in _FIND_FORBIDDEN for a in args)
    return _has_forbidden(name, args)


def option_paths(args: list[Word]) -> list[Word]:
    """Path-looking values hidden in options (`--file=/etc/x`, `-I/usr`), as words to check."""
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


def read_only_builtin(cmd: SimpleCommand) -> ReadOnlyVerdict | None:
    """The verdict for a built-in read-only command, or None when it is not one."""
    if not cmd.words:
        return ReadOnlyVerdict([])  # a bare redirection; its hazards are judged separately
    head, args = cmd.words[0], cmd.words[1:]
    if not head.literal:
        return None
    name = head.text
    if name in _NO_PATHS:
        if name in ("echo", "printf", "true", "false", "pwd", "whoami", "uname"):
            return ReadOnlyVerdict([])
        if _has_forbidden(name, args) or any(not a.literal for a in args):
            return None
        return ReadOnlyVerdict([])
    if any(a.expansion or a.brace for a in args):
        return None
    if name in _PATH_CHECKED:
        if _has_forbidden(name, args):
            return None
        positional = [a for a in args if not _is_option(a)]
        if name == "uniq" and len(positional) > 1:
            return None  # `uniq in out` writes `out`
        if name == "cd" and not positional:
            return None  # cd to $HOME
        return ReadOnlyVerdict(positional + option_paths(args), changes_directory=name == "cd")
    if name in ("grep", "egrep", "fgrep", "rg"):
        if _has_forbidden(name, args):
            return None
        positional = [a for a in args if not _is_option(a)]
        has_pattern_option = any(
            a.text in ("-e", "-f", "--regexp", "--file") or a.text.startswith(("--regexp=", "--file="))
            for a in args
        )
        if not has_pattern_option and positional:
            positional = positional[1:]
        return ReadOnlyVerdict(positional + option_paths(args))
    if name == "find":
        if any(a.text in _FIND_FORBIDDEN for a in args):
            return None
        starts = []
        for a in args:
            if a.text.startswith(("-", "(", "!", ")")):
                break
            starts.append(a)
        return ReadOnlyVerdict(starts)
    if name == "git":
        return _git_read_only(args)
    return None


def _git_read_only(args: list[Word]) -> ReadOnlyVerdict | None:
    rest = list(args)
    while rest and rest[0].text in ("--no-pager", "--no-optional-locks", "-P"):
        rest = rest[1:]
    if not rest or rest[0].text not in _GIT_READ:
        return None  # includes global options such as -c core.pager=... and -C dir
    sub, sub_args = rest[0].text, rest[1:]
    for a in sub_args:
        if a.text.startswith(("--output", "--ext-diff", "--exec", "--upload-pack", "--open-files-in-pager")):
            return None
        if a.text.startswith("-O"):
            return None
    positional = [a for a in sub_args if not _is_option(a)]
    if sub == "branch":
        allowed = {
            "-a", "-r", "-v", "-vv", "--list", "-l", "--all", "--remotes", "--verbose",
            "--show-current", "--merged", "--no-merged", "--contains", "--no-color", "--color",
        }  # fmt: skip
        if positional or any(a.text.split("=")[0] not in allowed for a in sub_args):
            return None
    if sub == "remote" and any(a.text not in ("-v", "--verbose") for a in sub_args):
        return None
    if sub == "tag" and (positional or any(a.text not in ("-l", "--list", "-n") for a in sub_args)):
        return None
    return ReadOnlyVerdict(positional + option_paths(sub_args))
