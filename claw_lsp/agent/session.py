"""Sessions: one JSONL transcript per conversation, appended as things happen (messages fsync'd).

Transcripts live in `$XDG_STATE_HOME/claw/projects/<workspace key>/<session id>.jsonl`. The first
line is a `meta` record; then `message`, `event`, `compaction` and `meta_update` records, one JSON
object per line. A torn last line (a crash mid-write) is skipped on load and cut off before the
next append, never fatal. Secrets (the values of the API key variables, `sk-...` keys) are scrubbed
from every record before it is written.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ValidationError

from claw_lsp.agent.compaction import is_summary, summary_message
from claw_lsp.core.events import ToolCallUpdated, event_to_json
from claw_lsp.core.messages import Message, TextBlock, ToolResultBlock
from claw_lsp.core.secrets import credential_values
from claw_lsp.workspace.view import workspace_key

log = logging.getLogger(__name__)

TRANSCRIPT_VERSION = 1
TITLE_MAX = 80
INTERRUPTED = "interrupted: the tool call did not finish (the run was stopped)"
REDACTED = "[REDACTED]"
_KEY_PATTERN = re.compile(r"sk-(?:ant-)?[A-Za-z0-9_\-]{16,}")
_SESSION_ID = re.compile(r"^[0-9a-fA-F-]+$")
_SUBAGENT_ID = re.compile(r"a[0-9a-f]{16}")


class SessionNotFound(Exception):
    """No session matches the given id or prefix (or the prefix is ambiguous)."""


class SessionLocked(Exception):
    """Another process is writing this session (one writer at a time, or the transcript interleaves)."""


def scrub_secrets(text: str, values: list[str] | None = None) -> str:
    """The text with credentials (the values of every credential variable we were started with,
    `sk-...` strings; `values`: those values, found once by the caller) replaced by a placeholder."""
    for value in credential_values() if values is None else values:
        if value in text:
            text = text.replace(value, REDACTED)
    return _KEY_PATTERN.sub(REDACTED, text)


def scrub(value: Any, values: list[str] | None = None) -> Any:
    """A copy of a JSON-like value with every string (keys included) scrubbed of secrets (the
    environment is read once per call, not once per string)."""
    if values is None:
        values = credential_values()
    if isinstance(value, str):
        return scrub_secrets(value, values)
    if isinstance(value, dict):
        return {scrub(k, values): scrub(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, values) for v in value]
    return value


def _signed_blocks_intact(message: dict[str, Any]) -> dict[str, Any]:
    """The message dict without thinking blocks that scrubbing would alter (thinking text that
    quotes a credential): the API refuses a changed block, and may go without an earlier one."""
    content = message.get("content")
    if message.get("role") != "assistant" or not isinstance(content, list):
        return message
    kept = [
        b
        for b in content
        if not (isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking") and scrub(b) != b)
    ]
    if len(kept) == len(content):
        return message
    placeholder = {"type": "text", "text": "(thinking left out: it quoted a secret)"}
    return {**message, "content": kept or [placeholder]}


def _now() -> datetime:
    return datetime.now(UTC)


def _ts() -> str:
    return _now().isoformat(timespec="milliseconds")


def _parse_time(value: object, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return fallback


def make_title(prompt: str) -> str:
    """A session title from its first prompt: one line, whitespace collapsed, truncated."""
    title = " ".join(prompt.split())
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1].rstrip() + "…"


def default_state_dir() -> Path:
    """`$XDG_STATE_HOME/claw`, defaulting to `~/.local/state/claw`."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "claw"


def _read_lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(line number, record or None when unparseable) for each non-empty line."""
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                yield n, None
                continue
            yield n, record if isinstance(record, dict) else None


def repair_transcript(messages: list[Message]) -> list[Message]:
    """Make a transcript consistent: every tool_use answered right after, no orphan tool_results.

    Missing results (a crash or cancellation mid-tool) get synthetic `is_error` "interrupted"
    results, put at the front of the following user message or in a new one.
    """
    out: list[Message] = []
    pending: list[str] = []  # tool_use ids of the previous assistant message
    for m in messages:
        if m.role == "assistant":
            if pending:
                out.append(_interrupted(pending, []))
            pending = [b.id for b in m.tool_uses()]
            out.append(m)
            continue
        answered = {r.tool_use_id for r in m.tool_results()}
        content = [b for b in m.content if not isinstance(b, ToolResultBlock) or b.tool_use_id in pending]
        missing = [i for i in pending if i not in answered]
        pending = []
        if missing:
            out.append(_interrupted(missing, content))
        elif content:
            out.append(m if len(content) == len(m.content) else Message(role="user", content=content))
    if pending:
        out.append(_interrupted(pending, []))
    return out


def _interrupted(ids: list[str], rest: list[Any]) -> Message:
    results = [ToolResultBlock(tool_use_id=i, content=INTERRUPTED, is_error=True) for i in ids]
    answered = [b for b in rest if isinstance(b, ToolResultBlock)]
    others = [b for b in rest if not isinstance(b, ToolResultBlock)]
    return Message(role="user", content=[*answered, *results, *others])


@dataclass
class SessionInfo:
    """A summary of one stored session, for listings."""

    session_id: str
    path: Path
    title: str
    created_at: datetime
    updated_at: datetime
    messages: int
    model: str
    scripted: bool
    provider: str = ""
    forked_from: str | None = None


class Session:
    """One conversation's transcript file, open for appending."""

    def __init__(self, store: SessionStore, session_id: str, path: Path, meta: dict[str, Any]) -> None:
        self.id = session_id
        self.path = path
        self.store = store
        self._meta = meta
        self._file: TextIO | None = None
        self._lock = threading.Lock()
        self._warned = False

    def __repr__(self) -> str:
        return f"Session({self.id!r}, {str(self.path)!r})"

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def meta(self) -> dict[str, Any]:
        """The meta record with every later `meta_update` applied."""
        return dict(self._meta)

    @property
    def title(self) -> str:
        """The session's title (its first prompt, truncated), or "" before the first prompt."""
        return str(self._meta.get("title") or "")

    def _handle(self) -> TextIO:
        if self._file is None or self._file.closed:
            self.acquire()
        assert self._file is not None
        return self._file

    def acquire(self) -> None:
        """Open the transcript for appending and take its writer's lock (an exclusive `flock`,
        released when the file is closed or the process dies); raises SessionLocked when another
        process holds it."""
        if self._file is not None and not self._file.closed:
            return
        handle = self.path.open("a", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise SessionLocked(
                f"session {self.id} is in use by another claw process (an editor or another `claw`); "
                "wait for it to finish, or use --fork-session to continue a copy"
            ) from exc
        _heal_tail(self.path)
        self._file = handle

    def append(self, record: dict[str, Any], *, durable: bool = True) -> None:
        """Write one record as one JSON line, flushed (and fsync'd when `durable`) before returning."""
        self.append_many([record], durable=durable)

    def append_many(self, records: list[dict[str, Any]], *, durable: bool = True) -> None:
        """Write records as JSON lines with one flush, and one fsync when `durable`.

        A flushed line survives the process being killed (the kernel holds it); the fsync makes it
        survive a crash of the machine too. Messages, compactions and meta records are durable;
        events (the log of what the front ends were shown) are only flushed: they are the most
        frequent records, and a transcript resumes from its messages alone.
        """
        values = credential_values()
        data = "".join(
            json.dumps(scrub(r, values), ensure_ascii=False, separators=(",", ":")) + "\n" for r in records
        )
        with self._lock:
            f = self._handle()
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())

    def append_message(self, message: Message) -> None:
        """Record a conversation message (the first user prompt also names the session)."""
        if not self._meta.get("title") and message.role == "user" and not is_summary(message):
            text = message.text().strip()
            if text and not message.tool_results():
                self.set_meta(title=make_title(text))
        self.append({"type": "message", "message": _signed_blocks_intact(message.to_api()), "ts": _ts()})

    def append_event(self, event: BaseModel) -> None:
        """Record an agent event (tool calls, plan, usage, run start/finish; not text deltas). An
        edit's diff is not kept (the messages hold the change; the file texts would bloat the log)."""
        if isinstance(event, ToolCallUpdated) and event.diffs:
            event = event.model_copy(update={"diffs": []})
        self.append({"type": "event", "event": event_to_json(event), "ts": _ts()}, durable=False)

    def append_compaction(self, summary: str, kept: list[Message]) -> None:
        """Record a compaction boundary: the context is now the summary plus `kept`.

        A summary message at the head of `kept` (e.g. `CompactionResult.messages`) is dropped,
        since `summary` stands for it.
        """
        while kept and is_summary(kept[0]):
            kept = kept[1:]
        self.append(
            {
                "type": "compaction",
                "summary": summary,
                "kept": [_signed_blocks_intact(m.to_api()) for m in kept],
                "ts": _ts(),
            }
        )

    def set_meta(self, **fields: Any) -> None:
        """Update meta fields (e.g. `scripted=True`), recorded as a `meta_update` line if any changed."""
        fields = {k: v for k, v in fields.items() if self._meta.get(k, object()) != v}
        if not fields:
            return
        self._meta.update(fields)
        self.append({"type": "meta_update", "fields": fields, "ts": _ts()})

    def note_provider(self, provider: str, model: str) -> None:
        """Record the provider/model a run uses; once scripted, the transcript stays marked scripted."""
        changes: dict[str, Any] = {}
        if self._meta.get("provider") != provider:
            changes["provider"] = provider
        if self._meta.get("model") != model:
            changes["model"] = model
        if provider == "scripted" and not self._meta.get("scripted"):
            changes["scripted"] = True
        if changes:
            self.set_meta(**changes)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every readable record in order (unparseable lines skipped, logged once)."""
        for n, record in _read_lines(self.path):
            if record is None:
                if not self._warned:
                    self._warned = True
                    log.warning("session %s: skipped unreadable line %d of %s", self.id, n, self.path)
                continue
            yield record

    def load_messages(self) -> list[Message]:
        """The current context: the last compaction's summary and kept messages, then later ones."""
        messages: list[Message] = []
        partial: list[str] = []  # text streamed by a turn whose message was never recorded
        for record in self.records():
            kind = record.get("type")
            try:
                if kind == "message":
                    message = Message.model_validate(record["message"])
                    if message.role == "user" and "".join(partial).strip():
                        # The turn died mid-stream and the session went on (resumed): what the
                        # user saw stays, as the model's interrupted answer (it was dropped here).
                        messages.append(Message(role="assistant", content=[TextBlock(text="".join(partial))]))
                    messages.append(message)
                    partial = []
                elif kind == "partial_text":
                    partial.append(str(record.get("text", "")))
                elif kind == "compaction":
                    kept = [Message.model_validate(m) for m in record.get("kept", [])]
                    messages = [summary_message(str(record.get("summary", ""))), *kept]
                    partial = []
            except (KeyError, ValidationError) as e:
                log.warning("session %s: skipped a malformed %s record: %s", self.id, kind, e)
        if "".join(partial).strip():  # the process died mid-stream: keep what the user saw
            messages.append(Message(role="assistant", content=[TextBlock(text="".join(partial))]))
        return repair_transcript(messages)

    def close(self) -> None:
        """Close the transcript file (a later append reopens it)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _heal_tail(path: Path) -> None:
    """Before appending: end the file on a newline, cutting off a torn (unparseable) last line."""
    try:
        with path.open("rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            start = max(0, size - (1 << 20))
            f.seek(start)
            tail = f.read()
            cut = tail.rfind(b"\n") + 1
            try:
                json.loads(tail[cut:])
            except ValueError:
                log.warning("%s: cut off a torn last line (%d bytes)", path, len(tail) - cut)
                f.truncate(start + cut)
                return
            f.write(b"\n")
    except FileNotFoundError:
        return


def _read_meta(path: Path) -> dict[str, Any]:
    """The meta record with its updates applied, and the first user prompt's title as a fallback."""
    meta: dict[str, Any] = {}
    with contextlib.suppress(OSError):
        for _, record in _read_lines(path):
            if record is None:
                continue
            kind = record.get("type")
            if kind == "meta" and not meta:
                meta = {k: v for k, v in record.items() if k != "type"}
            elif kind == "meta_update" and isinstance(record.get("fields"), dict):
                meta.update(record["fields"])
    return meta


class SessionStore:
    """The sessions of one workspace, under the state directory."""

    def __init__(self, workspace_root: Path, state_dir: Path | None = None) -> None:
        self.workspace_root = workspace_root.resolve()
        base = state_dir if state_dir is not None else default_state_dir()
        self.dir: Path = base / "projects" / workspace_key(self.workspace_root)

    def _path(self, session_id: str) -> Path:
        return self.dir / f"{session_id}.jsonl"

    def create(
        self,
        *,
        model: str,
        provider: str,
        title: str | None = None,
        forked_from: str | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Start a new session (a fresh id unless `session_id` names one); its meta record is
        written at once."""
        self.dir.mkdir(parents=True, exist_ok=True)
        session_id = session_id or str(uuid.uuid4())
        path = self._path(session_id)
        meta = self._new_meta(session_id, model, provider, forked_from=forked_from)
        if title:
            meta["title"] = make_title(title)
        session = Session(self, session_id, path, meta)
        session.append({"type": "meta", **meta})
        return session

    def _new_meta(self, session_id: str, model: str, provider: str, **extra: Any) -> dict[str, Any]:
        """A new transcript's meta record."""
        return {
            "session_id": session_id,
            "workspace": str(self.workspace_root),
            "model": model,
            "provider": provider,
            "scripted": provider == "scripted",
            "created_at": _ts(),
            "version": TRANSCRIPT_VERSION,
            **extra,
        }

    def _resolve(self, session_id: str) -> Path:
        key = session_id.strip().lower()
        if not key or not _SESSION_ID.match(key):
            raise SessionNotFound(f"no session {session_id!r}")
        exact = self._path(key)
        try:
            if exact.is_file():
                return exact
            matches = sorted(self.dir.glob(f"{key}*.jsonl")) if self.dir.is_dir() else []
        except OSError as exc:  # e.g. an id longer than a file name may be
            raise SessionNotFound(f"no session {session_id!r}: {exc.strerror}") from exc
        if not matches:
            raise SessionNotFound(f"no session {session_id!r} in {self.dir}")
        if len(matches) > 1:
            raise SessionNotFound(f"session id {session_id!r} is ambiguous ({len(matches)} sessions)")
        return matches[0]

    def open(self, session_id: str) -> Session:
        """Open a stored session by full id or unique prefix (raises SessionNotFound)."""
        path = self._resolve(session_id)
        meta = _read_meta(path)
        sid = str(meta.get("session_id") or path.stem)
        return Session(self, sid, path, meta)

    # -- subagents' transcripts, beside their parent's: <session>/subagents/agent-<id>.jsonl --------

    @staticmethod
    def subagent_dir(parent: Session) -> Path:
        """Where the transcripts of `parent`'s subagents live (never listed as sessions)."""
        return parent.path.with_suffix("") / "subagents"

    def create_subagent(
        self, parent: Session, *, agent_type: str, model: str, provider: str, description: str
    ) -> Session:
        """Start a subagent's transcript beside `parent`'s."""
        directory = self.subagent_dir(parent)
        directory.mkdir(parents=True, exist_ok=True)
        agent_id = "a" + uuid.uuid4().hex[:16]
        meta = self._new_meta(
            agent_id,
            model,
            provider,
            parent_session_id=parent.id,
            agent_type=agent_type,
            description=description,
        )
        session = Session(self, agent_id, directory / f"agent-{agent_id}.jsonl", meta)
        session.append({"type": "meta", **meta})
        return session

    def open_subagent(self, parent: Session, agent_id: str) -> Session:
        """A subagent transcript of `parent` by its id (raises SessionNotFound)."""
        key = agent_id.strip()
        path = self.subagent_dir(parent) / f"agent-{key}.jsonl"
        if not _SUBAGENT_ID.fullmatch(key) or not path.is_file():
            raise SessionNotFound(f"no subagent {agent_id!r} in this session")
        return Session(self, key, path, _read_meta(path))

    def _paths_newest_first(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        stamped: list[tuple[int, str, Path]] = []
        for p in self.dir.glob("*.jsonl"):
            with contextlib.suppress(OSError):
                stamped.append((p.stat().st_mtime_ns, _last_ts(p), p))
        stamped.sort(key=lambda s: (s[0], s[1]), reverse=True)
        return [p for _, _, p in stamped]

    def latest(self) -> Session | None:
        """The most recently updated session, or None when there is none."""
        paths = self._paths_newest_first()
        return self.open(paths[0].stem) if paths else None

    def list(self) -> list[SessionInfo]:
        """Every session of the workspace, newest first."""
        infos = []
        for path in self._paths_newest_first():
            info = self.info(path)
            if info is not None:
                infos.append(info)
        return infos

    def info(self, path: Path) -> SessionInfo | None:
        """A listing entry for one transcript file (None when it cannot be read)."""
        try:
            updated = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            meta: dict[str, Any] = {}
            count = 0
            first_prompt = ""
            with path.open("r", encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith('{"type":"message"'):
                        count += 1
                        if not first_prompt and '"role":"user"' in line:
                            first_prompt = _prompt_text(line)
                    elif line.startswith('{"type":"meta'):
                        with contextlib.suppress(json.JSONDecodeError):
                            record = json.loads(line)
                            if record.get("type") == "meta" and not meta:
                                meta = record
                            elif isinstance(record.get("fields"), dict):
                                meta.update(record["fields"])
        except OSError:
            return None
        return SessionInfo(
            session_id=str(meta.get("session_id") or path.stem),
            path=path,
            title=str(meta.get("title") or make_title(first_prompt)),
            created_at=_parse_time(meta.get("created_at"), updated),
            updated_at=updated,
            messages=count,
            model=str(meta.get("model", "")),
            scripted=bool(meta.get("scripted", False)),
            provider=str(meta.get("provider", "")),
            forked_from=meta.get("forked_from"),
        )

    def fork(self, session_id: str) -> Session:
        """A new session holding a copy of the transcript; the original is left untouched."""
        source = self.open(session_id)
        meta = source.meta
        fork = self.create(
            model=str(meta.get("model", "")),
            provider=str(meta.get("provider", "")),
            title=meta.get("title"),
            forked_from=source.id,
        )
        if meta.get("scripted") and not fork.meta.get("scripted"):
            fork.set_meta(scripted=True)
        fork.append_many([r for r in source.records() if r.get("type") not in ("meta", "meta_update")])
        return fork


def _last_ts(path: Path) -> str:
    """The `ts` of the file's last complete record ("" when unknown): breaks mtime ties."""
    with contextlib.suppress(OSError), path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - 65536))
        for line in reversed(f.read().splitlines()):
            match = re.search(rb'"ts":"([^"]+)"', line)
            if match:
                return match.group(1).decode("ascii", "replace")
    return ""


def _prompt_text(line: str) -> str:
    with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):
        message = json.loads(line)["message"]
        texts = [b.get("text", "") for b in message["content"] if b.get("type") == "text"]
        if any(b.get("type") == "tool_result" for b in message["content"]):
            return ""
        return "".join(texts)
    return ""


__all__ = [
    "Session",
    "SessionInfo",
    "SessionNotFound",
    "SessionStore",
    "repair_transcript",
    "scrub",
    "scrub_secrets",
]
