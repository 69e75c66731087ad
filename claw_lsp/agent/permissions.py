"""Permission modes and allow/ask/deny rules; asks the user through a `Prompter`.

`PermissionEngine.decide` answers allow / ask / deny for one tool call from the mode, the rules
(checked deny, then ask, then allow) and the built-in read-only shell commands; `authorize` runs
the whole question (decide, ask, remember "always" answers). Rule syntax and the choices made for
tricky paths (case, unicode, symlinks) are documented in docs/configuration.md.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import re
import shlex
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from claw_lsp.agent import shell_parse
from claw_lsp.agent.shell_parse import ParsedShell, SimpleCommand, Word
from claw_lsp.config import PermissionMode, Settings
from claw_lsp.core.permissions import PermissionAnswer, PermissionRequest, Prompter, protected_reason
from claw_lsp.core.tools import Tool

Behavior = Literal["allow", "ask", "deny"]


@dataclass
class Decision:
    """What the engine decided for one tool call, and why (the reason is shown to the model)."""

    behavior: Behavior
    reason: str = ""
    # The rule "Always allow" would add, e.g. "Bash(npm test:*)" or "Edit(src/**)".
    suggested_rule: str | None = None


class DenyingPrompter:
    """For non-interactive use: every question is answered with a rejection that says why."""

    def __init__(self, why: str = "no one is there to ask (non-interactive run)") -> None:
        self.why = why

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        """Reject, explaining that nobody could be asked."""
        return PermissionAnswer("reject_once", feedback=f"Permission denied: {self.why}.")


# -- rules ----------------------------------------------------------------------------------------

PLAN_MODE_REFUSAL = "plan mode: only read-only tools may run; present your plan instead"
PATH_RULE_TOOLS = frozenset({"Read", "Edit", "Write"})
# Claude Code's rule families: `Read(...)` rules cover every tool that reads files by path,
# `Edit(...)` rules every tool whose changes go through the file view, `Bash(...)` the shell.
Family = Literal["Read", "Edit", "Bash"]
RuleKind = Literal["allow", "ask", "deny"]
_RULE_RE = re.compile(r"\s*([A-Za-z0-9_\-*.]+)\s*(?:\((.*)\))?\s*", re.DOTALL)


@dataclass(frozen=True)
class Rule:
    """A parsed rule: `Tool` or `Tool(content)`."""

    text: str
    tool: str
    content: str | None = None


def parse_rule(text: str) -> Rule | None:
    """Parse `Tool` / `Tool(content)`; None when the text is not a rule."""
    m = _RULE_RE.fullmatch(text)
    if m is None:
        return None
    content = m.group(2)
    if content is not None and not content.strip():
        content = None
    return Rule(text, m.group(1), content)


def rule_family(tool: Tool) -> Family | None:
    """The rule family a tool belongs to, from what the tool says it is."""
    if tool.reviewable:
        return "Edit"
    if tool.kind == "execute":
        return "Bash"
    if tool.kind in ("read", "search"):
        return "Read"
    return None


def _tool_covered(rule_tool: str, tool_name: str, family: Family | None = None) -> bool:
    """Whether a rule naming `rule_tool` applies to `tool_name` (families, mcp servers, wildcards)."""
    if rule_tool == tool_name:
        return True
    if rule_tool in ("Read", "Edit") and rule_tool == family:
        return True
    if rule_tool.startswith("mcp__"):
        if "*" in rule_tool:
            return fnmatch.fnmatchcase(tool_name, rule_tool)
        return rule_tool.count("__") == 1 and tool_name.startswith(rule_tool + "__")
    return False


def _subject_matches(subject: str, content: str) -> bool:
    """A non-path rule's content against a call's subject; `domain:` hosts ignore case."""
    if content.startswith("domain:"):
        return fnmatch.fnmatchcase(subject.lower(), content.lower())
    return fnmatch.fnmatchcase(subject, content)


# -- path patterns --------------------------------------------------------------------------------


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _fold(text: str) -> str:
    """The loose form deny/ask rules compare in: NFKC, case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def glob_to_regex(pattern: str) -> str:
    """Translate a gitignore-style glob (`**`, `*`, `?`, `[...]`, `\\x`) into a regex body."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = pattern.find("]", i + 2)
            if j < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : j]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _literal_prefix(pattern: str) -> tuple[str, str]:
    """Split `a/b/*.py` into the glob-free leading directories `a/b` and the rest `*.py`."""
    parts = pattern.split("/")
    for k, part in enumerate(parts):
        if any(ch in part for ch in "*?[\\"):
            return "/".join(parts[:k]), "/".join(parts[k:])
    return pattern, ""


@dataclass(frozen=True)
class _PathPattern:
    """A path rule's content, interpreted: base directory (None = each workspace folder) + glob."""

    base: Path | None
    glob: str
    anchored: bool


def _path_patterns(content: str, *, loose: bool) -> list[_PathPattern]:
    """Interpretations of a rule's path content (deny/ask rules get every plausible one)."""
    content = _nfc(content.strip())
    if content.startswith("//"):
        return [_PathPattern(Path("/"), content[2:].rstrip("/"), True)]
    if content == "~" or content.startswith("~/"):
        return [_PathPattern(Path.home(), content[2:].rstrip("/"), True)]
    if content.startswith("/"):
        found = [_PathPattern(Path("/"), content[1:].rstrip("/"), True)]
        if loose:  # Claude Code reads `/x` as relative to the project root: deny that too.
            found.append(_PathPattern(None, content[1:].rstrip("/"), True))
        return found
    if content.startswith("./"):
        return [_PathPattern(None, content[2:].rstrip("/"), True)]
    body = content.rstrip("/")
    return [_PathPattern(None, body, "/" in body)]


def _regex_matches(glob: str, rel: str, *, anchored: bool, loose: bool) -> bool:
    """Match `rel` (or one of its ancestors, as gitignore does) against a glob."""
    if loose:
        glob, rel = _fold(glob), _fold(rel)
    body = glob_to_regex(glob) if glob else ""
    if not anchored:
        body = "(?:.*/)?" + body
    regex = body + "(?:/.*)?" if body else ".*"
    return re.fullmatch(regex, rel, re.DOTALL) is not None


def _resolve_base(base: Path, glob: str) -> tuple[Path, str]:
    """Resolve symlinks in an absolute pattern's literal directories (e.g. /tmp -> /private/tmp)."""
    literal, rest = _literal_prefix(glob)
    resolved = Path(os.path.realpath(base / literal)) if literal else Path(os.path.realpath(base))
    return resolved, rest


def _relative(path: Path, base: Path) -> str | None:
    try:
        rel = path.relative_to(base)
    except ValueError:
        return None
    return "" if str(rel) == "." else rel.as_posix()


# -- the engine -----------------------------------------------------------------------------------


class PermissionEngine:
    """Decides allow / ask / deny for tool calls; remembers "always" answers."""

    def __init__(
        self, settings: Settings, workspace_folders: list[Path], local_settings_path: Path | None
    ) -> None:
        self.folders = [Path(os.path.realpath(f)) for f in workspace_folders]
        self.local_settings_path = local_settings_path
        self.mode: PermissionMode = settings.permissionMode
        self.rules: dict[RuleKind, list[str]] = {
            "allow": list(settings.permissions.allow),
            "ask": list(settings.permissions.ask),
            "deny": list(settings.permissions.deny),
        }
        # Problems writing .claw/settings.local.json (the rule still holds for this session).
        self.persist_errors: list[str] = []
        self._lock = threading.Lock()
        # Allow rules an active skill or slash command grants (`allowed-tools`) until the next
        # prompt; never persisted. `read_roots`: folders outside the workspace that read-family
        # tools may read without asking (a loaded skill's own folder, exactly that one).
        self.grants: list[str] = []
        self.read_roots: list[Path] = []

    # -- public API -------------------------------------------------------------------------------

    def set_mode(self, mode: PermissionMode) -> None:
        """Switch the permission mode."""
        if mode not in get_args(PermissionMode):
            raise ValueError(f"unknown permission mode {mode!r}")
        self.mode = mode

    def add_rule(self, kind: RuleKind, rule: str) -> None:
        """Add a rule for this session and persist it into .claw/settings.local.json."""
        if kind not in ("allow", "ask", "deny"):
            raise ValueError(f"unknown rule kind {kind!r}")
        if parse_rule(rule) is None:
            raise ValueError(f"not a permission rule: {rule!r}")
        with self._lock:
            if rule not in self.rules[kind]:
                self.rules[kind].append(rule)
            if self.local_settings_path is not None:
                self._persist(kind, rule, self.local_settings_path)

    def decide(
        self,
        tool_name: str,
        read_only: bool,
        subject: str | None,
        input: dict[str, Any],
        *,
        family: Family | None,
        cwd: Path | None = None,
    ) -> Decision:
        """Allow, ask or deny one tool call (`subject`: the Bash command or the absolute path;
        `family`: the tool's `rule_family`)."""
        if family == "Bash":  # judged as the bytes bash will run, not a normalised form of them
            return self._decide_bash(subject if subject else str(input.get("command", "")), cwd)
        subject = _nfc(subject) if subject is not None else None
        if family is not None:
            return self._decide_path_tool(tool_name, family, read_only, subject, input)
        return self._decide_other(tool_name, read_only, subject)

    def grant(self, rules: list[str]) -> None:
        """Allow `rules` until `clear_grants` (an active skill or command's `allowed-tools`)."""
        self.grants += [r for r in rules if parse_rule(r) is not None and r not in self.grants]

    def clear_grants(self) -> None:
        """Drop the grants of the previous prompt's skills and commands."""
        self.grants = []

    def allow_read_root(self, folder: Path) -> None:
        """Let read-family tools read under `folder` without asking (deny rules still apply)."""
        root = Path(os.path.realpath(folder))
        if root not in self.read_roots:
            self.read_roots.append(root)

    # -- helpers ----------------------------------------------------------------------------------

    def inside(self, path: Path) -> bool:
        """True when `path` (resolved here again) lies in a workspace folder."""
        resolved = Path(os.path.realpath(path))
        return any(_is_within(resolved, folder) for folder in self.folders)

    def _rules(self, kind: RuleKind) -> list[Rule]:
        texts = self.rules[kind] + self.grants if kind == "allow" else self.rules[kind]
        return [r for r in (parse_rule(t) for t in texts) if r is not None]

    def _persist(self, kind: RuleKind, rule: str, path: Path) -> None:
        data: dict[str, Any] = {}
        try:
            if path.exists():
                loaded = json.loads(path.read_text(encoding="utf-8") or "{}")
                if not isinstance(loaded, dict):
                    raise ValueError("the file does not hold a JSON object")
                data = loaded
        except (OSError, ValueError) as exc:
            self.persist_errors.append(f"{path}: not updated ({exc}); {rule!r} holds for this session only")
            return
        permissions = data.get("permissions")
        if not isinstance(permissions, dict):
            permissions = data["permissions"] = {}
        rules = permissions.get(kind)
        if not isinstance(rules, list):
            rules = permissions[kind] = []
        if rule in rules:
            return
        rules.append(rule)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".settings.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, indent=2)
                    fh.write("\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        except OSError as exc:
            self.persist_errors.append(f"{path}: not updated ({exc}); {rule!r} holds for this session only")

    def _path_rule_matches(self, rule: Rule, path: Path, *, loose: bool) -> bool:
        """Whether a path rule's content names `path` (absolute, resolved)."""
        assert rule.content is not None
        candidates = [_nfc(str(path))]
        if loose:
            candidates.append(unicodedata.normalize("NFD", str(path)))
        for pattern in _path_patterns(rule.content, loose=loose):
            bases: list[tuple[Path, str]]
            if pattern.base is None:
                bases = [(folder, pattern.glob) for folder in self.folders]
                if loose:  # a deny on ./secrets also covers where the symlink points
                    literal, rest = _literal_prefix(pattern.glob)
                    if literal and pattern.anchored:
                        bases += [(Path(os.path.realpath(folder / literal)), rest) for folder in self.folders]
            else:
                bases = [_resolve_base(pattern.base, pattern.glob), (pattern.base, pattern.glob)]
            for base, glob in bases:
                for candidate in candidates:
                    rel = _relative(Path(candidate), base)
                    if rel is None and loose:
                        rel = _relative_loose(candidate, str(base))
                    if rel is None:
                        continue
                    anchored = pattern.anchored or (base != pattern.base and pattern.base is not None)
                    if _regex_matches(glob, rel, anchored=anchored or glob != pattern.glob, loose=loose):
                        return True
        return False

    def _matching_rule(
        self,
        kind: RuleKind,
        tool_name: str,
        paths: list[Path],
        subject: str | None,
        family: Family | None = None,
    ) -> Rule | None:
        """The first `kind` rule that applies to this (non-Bash) tool call."""
        loose = kind != "allow"
        for rule in self._rules(kind):
            if not _tool_covered(rule.tool, tool_name, family):
                continue
            if rule.content is None:
                return rule
            if rule.tool in PATH_RULE_TOOLS:
                if rule.tool == "Write" and tool_name != "Write":
                    continue
                if any(self._path_rule_matches(rule, p, loose=loose) for p in paths):
                    return rule
            elif subject is not None and _subject_matches(subject, rule.content):
                return rule
        return None

    # -- file tools -------------------------------------------------------------------------------

    def _decide_path_tool(
        self, tool_name: str, family: Family, read_only: bool, subject: str | None, input: dict[str, Any]
    ) -> Decision:
        path = Path(os.path.realpath(subject)) if subject else None
        resolved = [path] if path is not None else []
        # Deny/ask rules also see the path as the model wrote it (before symlinks were resolved).
        loose_paths = list(resolved)
        raw = input.get("file_path") or input.get("path") or input.get("notebook_path")
        if isinstance(raw, str) and raw:
            base = self.folders[0] if self.folders else Path.cwd()
            raw_path = Path(os.path.normpath(base / _nfc(os.path.expanduser(raw))))
            if raw_path not in loose_paths:
                loose_paths.append(raw_path)
        if subject and Path(subject) not in loose_paths:
            loose_paths.append(Path(os.path.normpath(subject)))
        is_edit = family == "Edit"
        denied = self._matching_rule("deny", tool_name, loose_paths, subject, family)
        if denied is not None:
            return Decision("deny", f"denied by the rule {denied.text}")
        if self.mode == "plan" and (is_edit or not read_only):
            return Decision("deny", PLAN_MODE_REFUSAL)
        suggestion = self._suggest_path_rule(tool_name, family, path)
        if self.mode != "bypassPermissions":
            asked = self._matching_rule("ask", tool_name, loose_paths, subject, family)
            if asked is not None:
                return Decision("ask", f"the rule {asked.text} asks", suggestion)
        inside = path is None or self.inside(path)
        if is_edit and self.mode != "bypassPermissions":
            reasons = (protected_reason(p, self.folders) for p in loose_paths)
            protected = next((r for r in reasons if r), None)
            if protected is not None:
                return Decision("ask", f"protected: {protected}; edits there are always asked about")
        if is_edit and not inside:
            explicit = self._explicit_path_allow(tool_name, family, path)
            if explicit is not None:
                return Decision("allow", f"allowed by the rule {explicit.text}")
            return Decision(
                "deny",
                f"{subject} is outside the workspace; writes there need an explicit allow rule naming it",
            )
        if self.mode == "bypassPermissions":
            return Decision("allow", "bypassPermissions mode")
        allowed = self._matching_rule("allow", tool_name, resolved, subject, family)
        if allowed is not None:
            return Decision("allow", f"allowed by the rule {allowed.text}")
        if not is_edit and inside:
            return Decision("allow", "read inside the workspace")
        if not is_edit and path is not None and any(_is_within(path, r) for r in self.read_roots):
            return Decision("allow", "read in a loaded skill's folder")
        if is_edit and self.mode == "acceptEdits":
            return Decision("allow", "acceptEdits mode")
        if is_edit:
            return Decision("ask", f"{tool_name} changes files", suggestion)
        return Decision("ask", f"{subject} is outside the workspace", suggestion)

    def _denied_read_named(self, argvs: list[list[str]], cwd: Path) -> Path | None:
        """The first path a command's words name (as written, or in `--opt=path`) that a `Read`
        deny rule covers."""
        if not any(r.tool == "Read" and r.content is not None for r in self._rules("deny")):
            return None
        for argv in argvs:
            for word in argv[1:]:
                value = word.split("=", 1)[1] if word.startswith("-") and "=" in word else word
                if not value or value.startswith("-"):
                    continue
                path = Path(os.path.expanduser(value))
                path = path if path.is_absolute() else cwd / path
                if self.read_denied(path):
                    return path
        return None

    def read_denied(self, path: Path) -> bool:
        """True when a deny rule forbids reading `path` (`Read(...)`, or a bare `Read`): search
        tools leave such files out of what they list and show."""
        rules = [r for r in self._rules("deny") if r.tool == "Read" and r.content is not None]
        if not rules:
            return False
        candidates = [Path(os.path.normpath(path)), Path(os.path.realpath(path))]
        return any(self._path_rule_matches(rule, p, loose=True) for rule in rules for p in candidates)

    def allows_write_outside(self, path: Path) -> bool:
        """True when an explicit Edit/Write allow rule names this path outside the workspace."""
        return self._explicit_path_allow("Write", "Edit", path) is not None

    def _explicit_path_allow(self, tool_name: str, family: Family | None, path: Path | None) -> Rule | None:
        if path is None:
            return None
        for rule in self._rules("allow"):
            if rule.content is None or rule.tool not in ("Edit", "Write"):
                continue
            if _tool_covered(rule.tool, tool_name, family) and self._path_rule_matches(
                rule, path, loose=False
            ):
                return rule
        return None

    def _suggest_path_rule(self, tool_name: str, family: Family, path: Path | None) -> str | None:
        if path is None:
            return tool_name
        target = path if family == "Edit" or path.is_dir() else path.parent
        for folder in self.folders:
            rel = _relative(target, folder)
            if rel is None:
                continue
            rel = _escape_glob(rel)
            if family == "Edit":
                return f"Edit({rel if '/' in rel else './' + rel})"
            return f"Read(./{rel + '/' if rel else ''}**)"
        text = _escape_glob(target.as_posix())
        return f"Edit(/{text})" if family == "Edit" else f"Read(/{text.rstrip('/')}/**)"

    # -- other tools ------------------------------------------------------------------------------

    def _decide_other(self, tool_name: str, read_only: bool, subject: str | None) -> Decision:
        denied = self._matching_rule("deny", tool_name, [], subject)
        if denied is not None:
            return Decision("deny", f"denied by the rule {denied.text}")
        if self.mode == "plan" and not read_only:
            return Decision("deny", PLAN_MODE_REFUSAL)
        # "Always allow" a WebFetch covers its domain, as Claude Code's rule does.
        suggestion = f"{tool_name}({subject})" if subject and subject.startswith("domain:") else tool_name
        if self.mode != "bypassPermissions":
            asked = self._matching_rule("ask", tool_name, [], subject)
            if asked is not None:
                return Decision("ask", f"the rule {asked.text} asks", suggestion)
        if self.mode == "bypassPermissions":
            return Decision("allow", "bypassPermissions mode")
        allowed = self._matching_rule("allow", tool_name, [], subject)
        if allowed is not None:
            return Decision("allow", f"allowed by the rule {allowed.text}")
        if read_only:
            return Decision("allow", "read-only tool")
        return Decision("ask", f"{tool_name} needs permission", suggestion)

    # -- Bash -------------------------------------------------------------------------------------

    def _decide_bash(self, command: str, cwd: Path | None) -> Decision:
        # Allow decisions judge the command exactly as bash will run it. Deny and ask rules also
        # see its NFC and NFKC/case-folded forms (`ｒｍ`, `RM` on a case-insensitive disk):
        # matching more there only ever asks or refuses more.
        parsed = shell_parse.parse(command)
        forms = _loose_forms(command)
        every = [argv for form in forms for argv in _all_argvs(shell_parse.parse(form))]
        exact = f"Bash({command.strip()})"
        denied = self._bash_rule_for_any("deny", every, forms)
        if denied is not None:
            return Decision("deny", f"denied by the rule {denied.text}")
        start = self._shell_start(cwd)
        builtin_ok = (
            not parsed.hazards
            and parsed.error is None
            and all(ok for ok, _, _ in self._walk_parts(parsed, start, use_rules=False))
        )
        if self.mode == "plan":
            quiet = self._bash_rule_for_any("ask", every, forms) is None
            if builtin_ok and quiet and self._denied_read_named(every, start) is None:
                return Decision("allow", "read-only command")
            return Decision("deny", PLAN_MODE_REFUSAL)
        if self.mode != "bypassPermissions":
            asked = self._bash_rule_for_any("ask", every, forms)
            if asked is not None:
                return Decision("ask", f"the rule {asked.text} asks", exact)
            named = self._denied_read_named(every, start)
            if named is not None:  # `cat .env` under `Read(./.env)`: never read unasked
                return Decision("ask", f"the command names {named}, which a deny rule forbids reading", exact)
        if self.mode == "bypassPermissions":
            return Decision("allow", "bypassPermissions mode")
        for rule in self._rules("allow"):
            if rule.tool == "Bash" and (rule.content is None or rule.content.strip() == command.strip()):
                return Decision("allow", f"allowed by the rule {rule.text}")
        if builtin_ok:
            return Decision("allow", "read-only command")
        if parsed.hazards or parsed.error:
            reason = "; ".join(parsed.hazards) or (parsed.error or "")
            return Decision("ask", f"the command needs permission: {reason}", exact)
        results = self._walk_parts(parsed, start, use_rules=True)
        pending = [(cmd, part_cwd) for (ok, cmd, part_cwd) in results if not ok]
        if not pending:
            return Decision("allow", "every part of the command is allowed")
        suggestion = exact
        why = next((p for cmd, _ in pending for p in shell_parse.option_problems(cmd)), "")
        reason = f"the command needs permission: {why}" if why else "the command needs permission"
        if len(pending) == 1 and pending[0][0].words:
            cmd, part_cwd = pending[0]
            offer = suggest_bash_rule(cmd)
            # Offer a prefix only when it would really allow this command next time.
            n = _bash_prefix_len(offer[5:-1], cmd.argv) if offer else None
            if (
                offer
                and n is not None
                and part_cwd is not None
                and self._rest_is_safe(cmd, cmd.words[n:], part_cwd)
            ):
                suggestion = offer
        return Decision("ask", reason, suggestion)

    def _shell_start(self, cwd: Path | None) -> Path:
        """Where the command will start: the shell's cwd, or the first workspace folder when the
        Bash tool will reset it there (gone, or outside the workspace), so that relative paths are
        judged from where they will be opened."""
        home = self.folders[0] if self.folders else Path.cwd()
        if cwd is None or not cwd.is_dir() or (self.folders and not self.inside(cwd)):
            return home
        return cwd

    def _bash_rule_for_any(self, kind: RuleKind, argvs: list[list[str]], forms: list[str]) -> Rule | None:
        """The first deny/ask rule matching the command (in any of its forms) or one of its parts."""
        for rule in self._rules(kind):
            if rule.tool != "Bash":
                continue
            if rule.content is None:
                return rule
            contents = _loose_forms(rule.content.strip())
            if any(c == f.strip() for c in contents for f in forms):
                return rule
            for argv in argvs:
                for variant in shell_parse.command_variants(argv):
                    if any(
                        _bash_prefix_len(c, variant) is not None or _bash_wildcard(c, variant)
                        for c in contents
                    ):
                        return rule
        return None

    def _walk_parts(
        self, parsed: ParsedShell, start: Path, *, use_rules: bool
    ) -> list[tuple[bool, SimpleCommand, Path | None]]:
        """Judge each part in order (following `cd`), by built-ins and, if asked, allow rules."""
        cwd: Path | None = start
        results = []
        allow_rules = [r for r in self._rules("allow") if r.tool == "Bash" and r.content] if use_rules else []
        for cmd in parsed.commands:
            ok = False
            redirect_paths = [r.target for r in cmd.redirects if r.reads_file and r.target is not None]
            verdict = shell_parse.read_only_builtin(cmd)
            if verdict is not None and cwd is not None:
                ok = all(self._word_inside(w, cwd) for w in [*verdict.paths, *redirect_paths])
                if ok and cmd.argv and cmd.argv[0] == "git" and git_config_runs_programs(cwd):
                    ok = False  # a "read-only" git command would run what the repository configures
            if not ok and cwd is not None:
                for rule in allow_rules:
                    assert rule.content is not None
                    n = _bash_prefix_len(rule.content, cmd.argv)
                    if n is None:
                        continue
                    rest = cmd.words[n:]
                    if self._rest_is_safe(cmd, rest, cwd) and all(
                        self._word_inside(w, cwd) for w in redirect_paths
                    ):
                        ok = True
                        break
            results.append((ok, cmd, cwd))
            if cmd.words and cmd.words[0].text == "cd":
                cwd = self._cd(cmd, cwd)
        return results

    def _cd(self, cmd: SimpleCommand, cwd: Path | None) -> Path | None:
        args = [w for w in cmd.words[1:] if not w.text.startswith("-")]
        if cwd is None or len(args) != 1 or not args[0].literal:
            return None
        return Path(os.path.realpath(cwd / args[0].text))

    def _rest_is_safe(self, cmd: SimpleCommand, rest: list[Word], cwd: Path) -> bool:
        """After a rule's prefix: no path argument may escape the workspace."""
        if shell_parse.runs_other_commands(cmd):
            return False
        if not all(self._word_inside(w, cwd) for w in shell_parse.option_path_values(cmd)):
            return False  # `grep -f /etc/x`, `diff --from-file=../y`
        reads_paths = cmd.words[0].text in _PATH_READERS if cmd.words else False
        for word in [*rest, *shell_parse.option_paths(rest)]:
            if word.text.startswith("-") and word.text != "-":
                continue
            if reads_paths and not word.literal and not word.glob:
                return False
            if word.tilde:
                return False
            looks_like_path = "/" in word.text or word.text.startswith("..") or reads_paths
            if looks_like_path and not word.expansion and not self._word_inside(word, cwd):
                return False
        return True

    def _word_inside(self, word: Word, cwd: Path) -> bool:
        """True when a path argument stays inside the workspace (globs judged by their fixed part)."""
        if word.tilde or word.expansion or word.brace:
            return False
        text = word.text
        if word.glob:
            parts = text.split("/")
            if any(p.startswith(".") and any(ch in p for ch in "*?[") for p in parts):
                return False  # `.*` can match `..`
            cut = min(text.index(ch) for ch in "*?[" if ch in text)
            text = text[:cut]
            text = text.rsplit("/", 1)[0] + "/" if "/" in text else "."
        if not text:
            return True
        return self.inside(Path(text) if text.startswith("/") else cwd / text)


_PATH_READERS = {
    "ls", "cat", "head", "tail", "wc", "file", "stat", "du", "tree", "nl", "sort", "uniq", "less",
    "more", "grep", "egrep", "fgrep", "rg", "find", "cd", "diff", "cp", "mv", "rm", "tar", "zip",
    "unzip", "chmod", "chown", "touch", "mkdir", "rmdir", "ln", "realpath", "readlink", "cut",
}  # fmt: skip


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _relative_loose(path: str, base: str) -> str | None:
    """Like `_relative`, comparing case- and normalisation-insensitively (deny/ask rules)."""
    fpath, fbase = _fold(path), _fold(base.rstrip("/"))
    if fpath == fbase:
        return ""
    if fpath.startswith(fbase + "/"):
        return path[len(base.rstrip("/")) + 1 :] if len(fpath) == len(path) else fpath[len(fbase) + 1 :]
    return None


def _escape_glob(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


# Git configuration that makes even a read-only command (status, diff, log) run a program (or, for
# core.worktree, read a tree outside the workspace).
_GIT_PROGRAM_KEYS = re.compile(
    r"^(core\.(fsmonitor|pager|editor|sshcommand|gitproxy|askpass|alternaterefscommand|hookspath|worktree)"
    r"|diff\.external|diff\..+\.(textconv|command)|filter\..+\.(clean|smudge|process)"
    r"|merge\..+\.driver|pager\..+|credential\..*helper|gpg\.(.+\.)?program|sequence\.editor"
    r"|uploadpack\.packobjectshook|remote\..+\.(uploadpack|receivepack)|include\.path|includeif\..+\.path)$"
)
_GIT_BOOLEAN = {"true", "false", "yes", "no", "on", "off", "1", "0", ""}


def git_config_runs_programs(cwd: Path) -> str | None:
    """The first key of the repository's own git configuration (found from `cwd` upwards) that
    would run a program, e.g. `core.fsmonitor`, `diff.x.textconv`, `include.path`; else None.
    (A boolean `core.fsmonitor` is git's built-in daemon, not a program.)"""
    for folder in [cwd, *cwd.parents]:
        dot_git = folder / ".git"
        if dot_git.is_file():
            match = re.match(r"gitdir:\s*(.+)", dot_git.read_text(errors="replace").strip())
            git_dir = (folder / match.group(1)).resolve() if match else None
        elif dot_git.is_dir():
            git_dir = dot_git
        else:
            continue
        if git_dir is None:
            return None
        return _git_dir_program_key(git_dir)
    return None


def _git_dir_program_key(git_dir: Path) -> str | None:
    """The first program-running key in a git directory's configuration: its own, the main
    repository's for a linked worktree (`commondir`), and the submodules' that `git status` and
    `git diff` also run in (`modules/*/config`)."""
    configs = [git_dir / "config", git_dir / "config.worktree"]
    with contextlib.suppress(OSError):
        common = (git_dir / "commondir").read_text(errors="replace").strip()
        if common:
            configs.append((git_dir / common).resolve() / "config")
    for base in dict.fromkeys([git_dir, *(c.parent for c in configs)]):
        modules = base / "modules"
        if modules.is_dir():
            configs += sorted(modules.glob("**/config"))[:200]
    for config in configs:
        found = _git_program_key(config)
        if found:
            return found
    return None


def _git_program_key(path: Path) -> str | None:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        header = re.match(r'\[\s*([A-Za-z0-9.-]+)(?:\s+"(.*)")?\s*\]\s*(.*)$', line)
        if header:
            section = header.group(1).lower() + (f".{header.group(2)}" if header.group(2) is not None else "")
            line = header.group(3).strip()
            if not line:
                continue
        key, _, value = line.partition("=")
        name = f"{section}.{key.strip().lower()}"
        if _GIT_PROGRAM_KEYS.match(name):
            if name == "core.fsmonitor" and value.strip().strip('"').lower() in _GIT_BOOLEAN:
                continue
            return name
    return None


def _all_argvs(parsed: ParsedShell, depth: int = 0) -> list[list[str]]:
    """Every command's argv, including those inside substitutions and `bash -c` scripts."""
    argvs = [cmd.argv for cmd in parsed.commands if cmd.words]
    if depth >= 4:
        return argvs
    nested = list(parsed.substitutions)
    for argv in list(argvs):
        nested += shell_parse.shell_c_scripts(argv)
    for text in nested:
        argvs += _all_argvs(shell_parse.parse(text), depth + 1)
    return argvs


def _loose_forms(text: str) -> list[str]:
    """`text`, its NFC form and its NFKC case-folded form (each once), for deny and ask rules."""
    forms = [text]
    for form in (_nfc(text), _fold(text)):
        if form not in forms:
            forms.append(form)
    return forms


def _bash_prefix_len(content: str, argv: list[str]) -> int | None:
    """How many words of `argv` a Bash rule's content covers, or None when it does not match.

    `npm test:*` (or `npm test *`) is a prefix rule; anything else must equal the whole command.
    Words are compared as they are (deny and ask rules try the loose forms themselves).
    """
    content = content.strip()
    if content in ("*", ":*"):
        return 0
    prefix_form = content.endswith(":*") or content.endswith(" *")
    words = shell_parse.split_words(content[:-2] if prefix_form else content)
    if not words:
        return None
    if prefix_form:
        return len(words) if argv[: len(words)] == words else None
    return len(words) if argv == words else None


def _bash_wildcard(content: str, argv: list[str]) -> bool:
    """Whether a rule with `*` inside it (`Bash(rm*)`, `Bash(git * main)`) matches `argv`: each
    `*` stands for any text, spaces included. Used for deny and ask rules, which may match more."""
    content = content.strip()
    if "*" not in content:
        return False
    regex = ".*".join(re.escape(part) for part in content.split("*"))
    return re.fullmatch(regex, " ".join(argv), re.DOTALL) is not None


def suggest_bash_rule(cmd: SimpleCommand) -> str | None:
    """The rule "Always allow" offers for one command, e.g. `Bash(npm test:*)`."""
    words = cmd.words
    if not words or not all(w.literal for w in words[:3]):
        return None
    argv = cmd.argv
    first = argv[0]
    if "=" in first or first in ("cd",):
        return None
    if first in ("python", "python3") and len(argv) > 2 and argv[1] == "-m":
        return f"Bash({shlex.join(argv[:3])}:*)"
    if first in shell_parse.NO_PREFIX_SUGGESTION:
        return None
    n = 1
    if first in shell_parse.MULTI_WORD_TOOLS and len(argv) > 1:
        if argv[1].startswith("-"):
            return None  # `git -c ...`: a prefix of the tool alone would be far too broad
        n = 2
        if argv[1] in ("run", "exec", "x", "dlx") and len(argv) > 2 and not argv[2].startswith("-"):
            n = 3
    return f"Bash({shlex.join(argv[:n])}:*)"


# -- asking ---------------------------------------------------------------------------------------


@dataclass
class AuthResult:
    """Whether a tool call may run, and what the model reads when it may not."""

    allowed: bool
    message_for_model: str = ""
    # True when a rule, the mode or a hook allowed the call without asking anyone.
    preapproved: bool = False


async def authorize(
    engine: PermissionEngine,
    prompter: Prompter,
    *,
    tool_call_id: str,
    tool_name: str,
    read_only: bool,
    subject: str | None,
    input: dict[str, Any],
    family: Family | None,
    kind: str = "other",
    reviewable: bool = False,
    title: str = "",
    cwd: Path | None = None,
    hook_permission: Behavior | None = None,
    hook_reason: str = "",
) -> AuthResult:
    """Decide, ask the user when needed, remember "always" answers; deny rules always win."""
    decision = engine.decide(tool_name, read_only, subject, input, family=family, cwd=cwd)
    if decision.behavior == "deny":
        reason = f": {decision.reason}" if decision.reason else "."
        return AuthResult(False, f"Permission denied{reason}")
    if hook_permission == "deny":
        return AuthResult(False, f"Permission denied by a PreToolUse hook: {hook_reason}".rstrip(": "))
    if hook_permission == "allow" or (decision.behavior == "allow" and hook_permission != "ask"):
        return AuthResult(True, preapproved=True)
    answer = await prompter.ask_permission(
        PermissionRequest(
            tool_call_id=tool_call_id,
            tool_name=tool_name,
            title=title or f"{tool_name}: {subject or ''}".rstrip(": "),
            subject=subject,
            suggested_rule=decision.suggested_rule,
            input=dict(input),
            kind=kind,
            reviewable=reviewable,
        )
    )
    if answer.outcome == "allow_always" and decision.suggested_rule:
        engine.add_rule("allow", decision.suggested_rule)
    elif answer.outcome == "reject_always" and decision.suggested_rule:
        engine.add_rule("deny", decision.suggested_rule)
    if answer.allowed:
        return AuthResult(True)
    feedback = answer.feedback.strip()
    if feedback.startswith("Permission denied"):
        return AuthResult(False, feedback)
    if feedback:
        return AuthResult(False, f"The user denied this: {feedback}")
    return AuthResult(False, "The user denied permission for this tool call.")
