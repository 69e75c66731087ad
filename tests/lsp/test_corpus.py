"""Real edits replayed through the production server: the buffer (or disk) ends up as the new release.

Each pair of tests/corpus/realedits.py is a file of one release and its next version; the fake model
Reads the file, sends the Edit/MultiEdit/Write calls that turn one into the other, then finishes.
Several pairs go in one run and several runs in one server session. Checked for every pair:
- an open file: the client's buffer equals the new text exactly, the disk still holds the old text;
- a file not open: the disk holds the new text and no TextDocumentEdit was sent for it;
- every edit's tool_result is neither an error nor "Not applied".
In bypassPermissions, acceptEdits and default mode (reviews accepted), in utf-8, utf-16 and utf-32; the
real pairs plus derived CRLF and non-BMP variants (realedits.variants), which the releases lack.
"""

from __future__ import annotations

import collections
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.realedits import FilePair, edit_calls, file_pairs, variants
from tests.corpus.replay import (
    MODES,
    accept_everything,
    first_difference,
    short,
    text_edits_for,
    tool_results,
    write_settings,
)
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import ALL_FEATURES, ClawClient, session, wait_until

ENCODINGS = ["utf-8", "utf-16", "utf-32"]
FAST_PAIRS = 12
PAIRS_PER_RUN = 4
RUNS_PER_SESSION = 6
NOT_OPEN_SHARE = 0.25


@dataclass
class Planned:
    """One pair placed in the workspace, and the ids of its edit calls."""

    pair: FilePair
    path: Path
    is_open: bool
    call_ids: list[tuple[str, str]]  # (tool_use id, tool name)


def _place(workspace: Path, index: int, pair: FilePair, rng: random.Random) -> tuple[Path, bool]:
    path = workspace / f"p{index:04d}" / pair.relpath
    is_open = pair.old != "" and rng.random() >= NOT_OPEN_SHARE
    if pair.old != "":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pair.old.encode("utf-8"))
    return path, is_open


async def _run(
    client: ClawClient, fake_api: FakeMessagesAPI, planned: list[Planned], rng: random.Random, seed: int
) -> None:
    """One run: Read every existing file, then each file's edit calls, then a final text."""
    reads = [tool_use("Read", {"file_path": str(p.path)}) for p in planned if p.pair.old != ""]
    turns: list[dict[str, Any]] = [reply(*reads)] if reads else []
    # The server lets diagnostics settle after every turn that edits (~0.5 s), so most turns carry
    # several calls: all of the run's calls in one turn, or one turn per file, or one per call.
    style = rng.choices(["run", "file", "call"], weights=[4, 5, 1])[0]
    run_blocks: list[dict[str, Any]] = []
    for item in planned:
        blocks = []
        for name, args in edit_calls(item.pair, str(item.path), seed=seed):
            block = tool_use(name, args)
            item.call_ids.append((block["id"], name))
            blocks.append(block)
        if style == "run":
            run_blocks.extend(blocks)
        elif style == "file" or len(blocks) > 4:
            turns.append(reply(*blocks, chunk=4096))
        else:
            turns.extend(reply(b, chunk=4096) for b in blocks)
    if run_blocks:
        turns.append(reply(*run_blocks, chunk=4096))
    turns.append(reply(text("Done: the files match the new release.")))
    fake_api.queue(*turns)
    await client.command("claw.sessions.new")
    run = await client.command("claw.ask", {"prompt": "Update these files to the next release."})
    finished = await wait_until(lambda: client.finished(run["runId"]), timeout=120, what="run end")
    assert finished["stopReason"] == "end_turn", finished
    assert fake_api.pending == 0


def _check(client: ClawClient, results: dict[str, tuple[str, bool]], item: Planned, mode: str) -> list[str]:
    pair, uri = item.pair, item.path.as_uri()
    where = f"{pair.name} [{'open' if item.is_open else 'not open'}, {mode}, {client.encoding}]"
    failures = []
    for call_id, name in item.call_ids:
        result, is_error = results.get(call_id, ("(no tool_result)", True))
        if is_error or "Not applied" in result:
            failures.append(f"{where}: {name} {call_id} result: {short(result)}")
    disk = item.path.read_bytes().decode("utf-8") if item.path.exists() else None
    if item.is_open:
        buffer = client.docs[uri].text
        if buffer != pair.new:
            failures.append(f"{where}: buffer != new: {first_difference(buffer, pair.new)}")
        if disk != pair.old:
            failures.append(f"{where}: the disk of an open file changed")
    else:
        if disk != pair.new:
            failures.append(f"{where}: disk != new: {first_difference(disk or '', pair.new)}")
        if text_edits_for(client.applied, uri):
            failures.append(f"{where}: a TextDocumentEdit was sent for a file that is not open")
    return failures


async def replay(
    workspace: Path,
    fake_api: FakeMessagesAPI,
    pairs: list[FilePair],
    encoding: str,
    *,
    seed: int = 0,
    per_run: int = PAIRS_PER_RUN,
    runs_per_session: int = RUNS_PER_SESSION,
) -> list[str]:
    """Replay `pairs` in batches (runs of `per_run` pairs, sessions of `runs_per_session` runs).

    The sessions take the permission modes in turn. Returns the failures found.
    """
    rng = random.Random(f"replay:{seed}:{encoding}")
    failures: list[str] = []
    stats: collections.Counter[str] = collections.Counter()
    per_session = per_run * runs_per_session
    for first in range(0, len(pairs), per_session):
        batch = pairs[first : first + per_session]
        mode = MODES[(first // per_session + ENCODINGS.index(encoding)) % len(MODES)]
        root = workspace / f"s{first // per_session:03d}"
        root.mkdir()
        write_settings(root, mode)
        async with session(root, features=ALL_FEATURES, env=fake_api.env(), encodings=[encoding]) as client:
            assert client.encoding == encoding
            accept_everything(client)
            for start in range(0, len(batch), per_run):
                planned = []
                for offset, pair in enumerate(batch[start : start + per_run]):
                    path, is_open = _place(root, first + start + offset, pair, rng)
                    if is_open:
                        client.open(path, pair.old)
                    planned.append(Planned(pair, path, is_open, []))
                before = len(fake_api.requests)
                try:
                    await _run(client, fake_api, planned, rng, seed)
                except AssertionError as exc:
                    failures.append(f"run of {[p.pair.name for p in planned]} in {mode}: {exc}")
                    return failures  # the session's script is out of step: stop here
                results = tool_results(fake_api.requests[before:])
                for item in planned:
                    failures.extend(_check(client, results, item, mode))
                    stats["open" if item.is_open else "not open"] += 1
                    stats[mode] += 1
                    for _id, name in item.call_ids:
                        stats[name] += 1
    print(f"corpus stats ({encoding}): {dict(sorted(stats.items()))}")
    return failures


def _report(failures: list[str], count: int, encoding: str) -> str:
    shown = "\n".join(failures[:40])
    return f"{len(failures)} failure(s) replaying {count} pairs in {encoding}:\n{shown}"


# utf-32 (no client negotiates it but eglot's option): make stress.
@pytest.mark.parametrize(
    "encoding", [e if e != "utf-32" else pytest.param(e, marks=pytest.mark.stress) for e in ENCODINGS]
)
async def test_real_edits_fast_subset(workspace: Path, fake_api: FakeMessagesAPI, encoding: str) -> None:
    seed = ENCODINGS.index(encoding)
    pairs = file_pairs(FAST_PAIRS, seed=seed) + variants(1, seed=seed)  # one session
    failures = await replay(workspace, fake_api, pairs, encoding, per_run=5, runs_per_session=3)
    assert not failures, _report(failures, len(pairs), encoding)


@pytest.mark.stress
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_real_edits_full_corpus(workspace: Path, fake_api: FakeMessagesAPI, encoding: str) -> None:
    pairs = file_pairs()
    assert len(pairs) >= 300
    pairs += variants(30, seed=ENCODINGS.index(encoding))
    failures = await replay(workspace, fake_api, pairs, encoding, seed=1 + ENCODINGS.index(encoding))
    print(f"corpus {encoding}: {len(pairs)} pairs, {len(failures)} failure(s)")
    assert not failures, _report(failures, len(pairs), encoding)
