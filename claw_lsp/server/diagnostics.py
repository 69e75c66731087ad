"""The editor's diagnostics: a cache of what generic clients send in code action contexts,
`claw/diagnostics` for shims that declared it, and the diagnostics loop (new errors in edited
files, once the editor's diagnostics settle)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from claw_lsp.server.protocol import (
    METHOD_DIAGNOSTICS,
    REQUEST_TIMEOUT_S,
    DiagnosticsResult,
    UrisParams,
    plain_json,
)
from claw_lsp.server.uris import path_of, uri_of

if TYPE_CHECKING:
    from claw_lsp.server.app import ClawLanguageServer

SETTLE_QUIET_S = 0.5  # diagnostics count as settled when unchanged this long
SETTLE_POLL_S = 0.1
SETTLE_LIMIT_S = 4.0  # never wait longer than this for diagnostics to settle
MAX_REPORTED_ERRORS = 20
# The diagnostics cache's bounds (code action contexts of generic clients).
MAX_CACHED_PER_URI = 1000
MAX_CACHED_URIS = 200
Diagnostics = dict[Path, list[dict[str, Any]]]


def _diagnostic_key(diagnostic: dict[str, Any]) -> tuple[str, str, str]:
    """What identifies a diagnostic across edits (its range moves as lines shift)."""
    return (
        str(diagnostic.get("message", "")),
        str(diagnostic.get("source", "")),
        str(diagnostic.get("code", "")),
    )


def _identity(diagnostic: dict[str, Any]) -> tuple[str, ...]:
    """What makes two cached diagnostics the same one: where it is and what it says."""
    rng = diagnostic.get("range") or {}
    start, end = rng.get("start") or {}, rng.get("end") or {}
    return (
        *_diagnostic_key(diagnostic),
        str(start.get("line")),
        str(start.get("character")),
        str(end.get("line")),
        str(end.get("character")),
    )


def _lines_overlap(diagnostic: dict[str, Any], start: int, end: int) -> bool:
    rng = diagnostic.get("range") or {}
    first = int((rng.get("start") or {}).get("line", -1))
    last = int((rng.get("end") or {}).get("line", first))
    return first <= end and last >= start


class DiagnosticsCache:
    """The diagnostics generic clients send in code action contexts, per URI.

    A code action request carries the diagnostics overlapping its range, so each request replaces
    the cached diagnostics on those lines and keeps the rest.
    """

    def __init__(self) -> None:
        self._by_uri: dict[str, list[dict[str, Any]]] = {}

    def record(self, uri: str, range_: types.Range, diagnostics: Any, converter: Any = None) -> None:
        """Store the diagnostics a code action request carried for `range_`.

        Bounded: a diagnostic already cached is replaced, not added again (a client repeating the
        same list grew it without end), at most MAX_CACHED_PER_URI per file and MAX_CACHED_URIS
        files are kept (the least recently recorded go first: a file never opened has no didClose
        to forget it by).
        """
        fresh = [
            d if isinstance(d, dict) else _unstructure(d, converter)
            for d in list(diagnostics)[:MAX_CACHED_PER_URI]
        ]
        start, end = range_.start.line, range_.end.line
        seen = {_identity(d) for d in fresh}
        kept = [
            d
            for d in self._by_uri.pop(uri, [])
            if not _lines_overlap(d, start, end) and _identity(d) not in seen
        ]
        self._by_uri[uri] = (kept + fresh)[-MAX_CACHED_PER_URI:]
        while len(self._by_uri) > MAX_CACHED_URIS:
            del self._by_uri[next(iter(self._by_uri))]

    def get(self, uri: str) -> list[dict[str, Any]]:
        """The latest known diagnostics of a file."""
        return list(self._by_uri.get(uri, []))

    def uris(self) -> list[str]:
        """Every file with known diagnostics."""
        return list(self._by_uri)

    def forget(self, uri: str) -> None:
        """Drop a closed file's diagnostics."""
        self._by_uri.pop(uri, None)


def _unstructure(value: Any, converter: Any) -> dict[str, Any]:
    if converter is not None:
        data = converter.unstructure(value)
        if isinstance(data, dict):
            return data
    from lsprotocol.converters import get_converter

    result: dict[str, Any] = get_converter().unstructure(value)
    return result


class LspDiagnostics:
    """The editor's diagnostics: `claw/diagnostics` when the shim declared it, else the cache."""

    def __init__(self, ls: ClawLanguageServer) -> None:
        self.ls = ls

    async def diagnostics(self, paths: list[Path] | None) -> dict[Path, list[dict[str, Any]]]:
        """Current diagnostics per file (all known files when `paths` is None)."""
        ls = self.ls
        if paths is None:
            uris = sorted(set(ls.diagnostics_cache.uris()) | set(ls.tracker.uris()))
        else:
            uris = [uri_of(p) for p in paths]
        by_uri: dict[str, list[dict[str, Any]]] = {}
        if ls.client_features.diagnostics:
            try:
                raw = await asyncio.wait_for(
                    ls.protocol.send_request_async(
                        METHOD_DIAGNOSTICS, UrisParams(uris=uris).model_dump(mode="json")
                    ),
                    REQUEST_TIMEOUT_S,
                )
                result = DiagnosticsResult.model_validate(plain_json(raw) or {})
                by_uri = {item.uri: item.diagnostics for item in result.items}
            except Exception as exc:
                ls.log(f"Claw: claw/diagnostics failed: {exc!r}", types.MessageType.Warning)
                by_uri = {}
        if not by_uri:
            by_uri = {uri: ls.diagnostics_cache.get(uri) for uri in uris}
        out: dict[Path, list[dict[str, Any]]] = {}
        for uri, items in by_uri.items():
            path = path_of(uri)
            if path is not None and (paths is None or items or uri in uris):
                out[path] = items
        return out


def new_errors(
    before: dict[Path, list[dict[str, Any]]], after: dict[Path, list[dict[str, Any]]]
) -> dict[Path, list[dict[str, Any]]]:
    """Errors (severity 1 or unset) in `after` that were not in `before`, per file."""
    found: dict[Path, list[dict[str, Any]]] = {}
    for path, items in after.items():
        seen = Counter(_diagnostic_key(d) for d in before.get(path, []))
        for diagnostic in items:
            if diagnostic.get("severity", 1) not in (1, None):
                continue
            key = _diagnostic_key(diagnostic)
            if seen[key] > 0:
                seen[key] -= 1
                continue
            found.setdefault(path, []).append(diagnostic)
    return found


def describe_errors(errors: dict[Path, list[dict[str, Any]]], relative: Any) -> str:
    """The neutral note the model reads about new errors."""
    lines = ["The editor reports these errors in files you changed:"]
    count = 0
    for path, items in sorted(errors.items()):
        for diagnostic in items:
            count += 1
            if count > MAX_REPORTED_ERRORS:
                continue
            line = int(((diagnostic.get("range") or {}).get("start") or {}).get("line", 0)) + 1
            source = f" [{diagnostic['source']}]" if diagnostic.get("source") else ""
            message = str(diagnostic.get("message", "")).strip().replace("\n", " ")
            lines.append(f"- {relative(path)}:{line}: {message}{source}")
    if count > MAX_REPORTED_ERRORS:
        lines.append(f"- ... and {count - MAX_REPORTED_ERRORS} more")
    return "\n".join(lines)


async def settled(source: LspDiagnostics, paths: list[Path]) -> Diagnostics:
    """The diagnostics of `paths` once they stopped changing (bounded by SETTLE_LIMIT_S)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_LIMIT_S
    last = await source.diagnostics(paths)
    quiet_since = loop.time()
    while loop.time() < deadline and loop.time() - quiet_since < SETTLE_QUIET_S:
        await asyncio.sleep(SETTLE_POLL_S)
        current = await source.diagnostics(paths)
        if current != last:
            last, quiet_since = current, loop.time()
    return last


async def report_new_errors(
    source: LspDiagnostics, baseline: Diagnostics, paths: set[Path], relative: Callable[[Path], str]
) -> str | None:
    """Wait for the diagnostics of `paths` to settle; describe errors not in `baseline` (which
    becomes what the model has now been told about)."""
    wanted = sorted(paths)
    last = await settled(source, wanted)
    errors = new_errors(baseline, last)
    for path in wanted:
        baseline[path] = last.get(path, [])
    return describe_errors(errors, relative) if errors else None
