"""A randomized race: the user types into the buffers while the agent's real edits stream in.

Each race is one open file (a text of a corpus pair, tests/corpus/realedits.py) and one of the
agent's edit calls on it (Edit, MultiEdit or Write). Several races share a run, several runs a
server session. After the model's Read, a simulated user types unique marker tokens (some with
non-BMP characters, some with a line break) into the same buffer through real incremental
didChanges, at one of these moments:
- "stream": while the model's edit turn streams in (a task types at a random moment);
- "hook": just before the edit lands (the test client's before_apply, so the edit arrives stale);
- "review": while the change waits for review (default mode, typed in the claw/review answer);
- "none": not at all (the control: nothing may be refused).
Markers go inside the region the call covers, or elsewhere.

Oracle, per race:
(a) zero lost user characters: every marker is in the final buffer exactly once;
(b) zero false reports: when the tool_result says applied, the buffer with the markers removed is
    exactly the call applied to the text the model read; when it says "Not applied", the buffer with
    the markers removed is the text the model read, and some marker was typed, before the edit
    landed, on a line the call's old_strings cover (the reason is a real overlap);
and the disk of the open file is never written.

Seeded and reproducible in its choices: CLAW_RACE_SEED=N picks the seed; failures print it.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.corpus.realedits import Call, apply_call, apply_calls, call_span, edit_calls, file_pairs
from tests.corpus.replay import accept_everything, first_difference, short, tool_results, write_settings
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.lsp.client import ALL_FEATURES, ClawClient, session, wait_until

SEED = int(os.environ.get("CLAW_RACE_SEED", "20240901"))
RACES_PER_RUN = 5
RUNS_PER_SESSION = 5
FAST_RACES = 50
STRESS_RACES = 1000
MAX_TEXT = 30_000
ENCODINGS = ["utf-8", "utf-16", "utf-32"]
ASTRAL = ["😀", "𝄞", "🎵", "𐍈", "🦀"]


@dataclass
class Marker:
    token: str
    base_pos: int | None  # where it went in the text the model read; None: typed after the edit landed
    timing: str


@dataclass
class Race:
    index: int
    name: str
    path: Path
    uri: str
    base: str
    call: Call
    call_id: str
    timing: str
    inside: bool
    span: tuple[int, int]
    markers: list[Marker] = field(default_factory=list)
    landed: bool = False
    typed: bool = False


@functools.cache
def _candidates() -> list[tuple[str, str, Call]]:
    """(name, text before the call, call) of every call of every corpus pair on a modest file."""
    found = []
    for pair in file_pairs():
        if pair.old == "" or len(pair.old) > MAX_TEXT:
            continue
        calls = edit_calls(pair, "/placeholder", seed=0)
        running = pair.old
        for k, call in enumerate(calls):
            found.append((f"{pair.name}#{k}", running, call))
            running = apply_call(running, call)
    return found


def _with_path(call: Call, path: Path) -> Call:
    name, args = call
    return name, {**args, "file_path": str(path)}


def _strip(text: str, race: Race) -> str:
    for marker in race.markers:
        text = text.replace(marker.token, "", 1)
    return text


def _line_span(text: str, span: tuple[int, int]) -> tuple[int, int]:
    start, end = span
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return line_start, len(text) if line_end == -1 else line_end + 1


class Typist:
    """The simulated user: types markers into race buffers through the test client."""

    def __init__(self, client: ClawClient, rng: random.Random) -> None:
        self.client = client
        self.rng = rng
        self.count = 0

    def token(self) -> str:
        self.count += 1
        token = f"«u{self.count}»"
        roll = self.rng.random()
        if roll < 0.3:
            token = f"«u{self.count}{self.rng.choice(ASTRAL)}»"
        elif roll < 0.4:
            token = f"«u{self.count}»\n"
        return token

    def type_into(self, race: Race, timing: str) -> None:
        """Type one or two markers into the race's buffer (inside its call's span, or elsewhere)."""
        doc = self.client.docs[race.uri]
        for _ in range(self.rng.choice([1, 1, 2])):
            buffer = doc.text
            if race.landed:
                return
            current_base = _strip(buffer, race)
            if race.inside:
                lo, hi = race.span
                base_pos = self.rng.randint(lo, max(lo, hi))
            else:
                lo, hi = _line_span(race.base, race.span)
                tries = (self.rng.randint(0, len(race.base)) for _ in range(20))
                outside = [p for p in tries if p < lo or p > hi]
                base_pos = outside[0] if outside else self.rng.randint(0, len(race.base))
            if current_base != race.base:  # not landed, so it must be the read text plus markers
                return
            earlier = [m for m in race.markers if m.base_pos is not None and m.base_pos <= base_pos]
            offset = base_pos + sum(len(m.token) for m in earlier)
            if 0 < offset < len(buffer) and buffer[offset - 1] == "\r" and buffer[offset] == "\n":
                offset -= 1
                base_pos -= 1
            token = self.token()
            self.client.replace(race.uri, offset, offset, token)
            race.markers.append(Marker(token, base_pos, timing))
        race.typed = True


async def _run(
    client: ClawClient,
    fake_api: FakeMessagesAPI,
    races: list[Race],
    typist: Typist,
    rng: random.Random,
) -> None:
    by_uri = {race.uri: race for race in races}
    original_apply = client.apply_workspace_edit

    def apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        before = {uri: client.docs[uri].text for uri in by_uri}
        result = original_apply(params)
        for uri, race in by_uri.items():
            if client.docs[uri].text != before[uri]:
                race.landed = True
        return result

    def hook(params: types.ApplyWorkspaceEditParams) -> None:
        for op in params.edit.document_changes or []:
            race = by_uri.get(getattr(getattr(op, "text_document", None), "uri", ""))
            if race is not None and race.timing == "hook" and not race.typed:
                typist.type_into(race, "hook")

    def review(params: dict[str, Any]) -> dict[str, Any]:
        race = by_uri.get(params.get("uri", ""))
        if race is not None and race.timing == "review" and not race.typed:
            typist.type_into(race, "review")
        return {"decision": "accept"}

    client.apply_workspace_edit = apply  # type: ignore[method-assign]
    client.before_apply = hook
    client.answers["claw/review"] = review
    blocks = []
    for race in races:
        block = tool_use(race.call[0], race.call[1])
        race.call_id = block["id"]
        blocks.append(block)
    turns = [reply(*[tool_use("Read", {"file_path": str(r.path)}) for r in races])]
    if rng.random() < 0.5:
        turns.append(reply(*blocks, chunk=rng.choice([40, 200]), delay=0.002))
    else:
        turns.extend(reply(b, chunk=rng.choice([40, 200]), delay=0.002) for b in blocks)
    turns.append(reply(text("Edited.")))
    fake_api.queue(*turns)
    before = len(fake_api.requests)

    async def type_while_streaming() -> None:
        await wait_until(lambda: len(fake_api.requests) >= before + 2, timeout=60, what="the edit turn")
        for race in rng.sample(races, len(races)):
            if race.timing == "stream":
                await asyncio.sleep(rng.uniform(0, 0.25))
                if not race.landed and not race.typed:
                    typist.type_into(race, "stream")

    try:
        await client.command("claw.sessions.new")
        run = await client.command("claw.ask", {"prompt": "Make these edits."})
        typing = asyncio.create_task(type_while_streaming())
        finished = await wait_until(lambda: client.finished(run["runId"]), timeout=120, what="run end")
        typing.cancel()
        assert finished["stopReason"] == "end_turn", finished
    finally:
        client.apply_workspace_edit = original_apply  # type: ignore[method-assign]
        client.before_apply = None


def _judge(client: ClawClient, race: Race, results: dict[str, tuple[str, bool]], seed: int) -> list[str]:
    where = (
        f"race {race.index} (seed {seed}) {race.name} [{race.call[0]}, typed {race.timing}, "
        f"{'inside' if race.inside else 'elsewhere'}, {client.encoding}]"
    )
    buffer = client.docs[race.uri].text
    failures = []
    for marker in race.markers:
        if buffer.count(marker.token) != 1:
            failures.append(
                f"{where}: lost user text {marker.token!r} ({buffer.count(marker.token)} in buffer)"
            )
    if failures:
        return failures
    result, is_error = results.get(race.call_id, ("(no tool_result)", True))
    stripped = _strip(buffer, race)
    refused = is_error or "Not applied" in result
    if not refused:
        want = apply_calls(race.base, [race.call])
        if stripped != want:
            failures.append(f"{where}: said applied but buffer differs: {first_difference(stripped, want)}")
    else:
        if stripped != race.base:
            failures.append(f"{where}: said not applied but the buffer changed: {short(result)}")
        if "Not applied" not in result:
            failures.append(f"{where}: refused without 'Not applied' and a reason: {short(result)}")
        lo, hi = _line_span(race.base, race.span)
        overlapping = [m for m in race.markers if m.base_pos is not None and lo <= m.base_pos <= hi]
        if not overlapping:
            typed = [(m.token, m.base_pos) for m in race.markers]
            failures.append(
                f"{where}: refused with no overlapping typing (call covers {lo}..{hi}, typed {typed}): "
                f"{short(result)}"
            )
    if race.path.read_bytes().decode("utf-8") != race.base:
        failures.append(f"{where}: the disk of an open file changed")
    return failures


async def race_many(
    workspace: Path, fake_api: FakeMessagesAPI, count: int, encoding: str, seed: int
) -> list[str]:
    """Run `count` races in sessions of RUNS_PER_SESSION runs of RACES_PER_RUN races; the failures."""
    rng = random.Random(f"race:{seed}:{encoding}")  # the races' choices
    typing_rng = random.Random(f"typing:{seed}:{encoding}")  # where and what the user types
    candidates = _candidates()
    failures: list[str] = []
    stats: collections.Counter[str] = collections.Counter()
    per_session = RACES_PER_RUN * RUNS_PER_SESSION
    modes = ["bypassPermissions", "acceptEdits", "default"]
    for first in range(0, count, per_session):
        mode = modes[(first // per_session + ENCODINGS.index(encoding)) % len(modes)]
        root = workspace / f"s{first // per_session:03d}"
        root.mkdir()
        write_settings(root, mode)
        async with session(root, features=ALL_FEATURES, env=fake_api.env(), encodings=[encoding]) as client:
            assert client.encoding == encoding
            accept_everything(client)
            typist = Typist(client, typing_rng)
            for start in range(first, min(first + per_session, count), RACES_PER_RUN):
                races = []
                for index in range(start, min(start + RACES_PER_RUN, count)):
                    name, base, call = rng.choice(candidates)
                    path = root / f"r{index:05d}" / Path(name.split(":", 1)[1].split("#")[0]).name
                    path.parent.mkdir(parents=True)
                    path.write_bytes(base.encode("utf-8"))
                    call = _with_path(call, path)
                    timings = ["stream", "hook", "none"] + (["review", "review"] if mode == "default" else [])
                    race = Race(
                        index=index,
                        name=name,
                        path=path,
                        uri=path.as_uri(),
                        base=base,
                        call=call,
                        call_id="",
                        timing=rng.choice(timings),
                        inside=rng.random() < 0.5,
                        span=call_span(base, call),
                    )
                    client.open(path, base)
                    races.append(race)
                before = len(fake_api.requests)
                try:
                    await _run(client, fake_api, races, typist, rng)
                except AssertionError as exc:
                    failures.append(f"run of races {start}.. (seed {seed}, {mode}): {exc}")
                    return failures
                results = tool_results(fake_api.requests[before:])
                for race in races:
                    failures.extend(_judge(client, race, results, seed))
                    _count(stats, race, results)
    print(f"race stats ({encoding}, seed {seed}): {dict(sorted(stats.items()))}")
    assert stats["typed before landing"] >= count // 4, stats  # the races do race
    return failures


def _count(stats: dict[str, int], race: Race, results: dict[str, tuple[str, bool]]) -> None:
    result, is_error = results.get(race.call_id, ("", True))
    outcome = "refused" if is_error or "Not applied" in result else "applied"
    stats[f"{outcome}"] += 1
    stats[f"{outcome} after typing {race.timing}"] += 1
    if "merge" in result:
        stats["merged"] += 1
    if any(m.base_pos is not None for m in race.markers):
        stats["typed before landing"] += 1
    stats["markers"] += len(race.markers)


def _report(failures: list[str], count: int, encoding: str, seed: int) -> str:
    shown = "\n".join(failures[:40])
    return f"{len(failures)} failure(s) in {count} races ({encoding}, CLAW_RACE_SEED={seed}):\n{shown}"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-32"])  # bypassPermissions, default (reviews)
async def test_races_fast(workspace: Path, fake_api: FakeMessagesAPI, encoding: str) -> None:
    count = FAST_RACES // 2
    failures = await race_many(workspace, fake_api, count, encoding, SEED)
    assert not failures, _report(failures, count, encoding, SEED)


@pytest.mark.stress
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_races_stress(workspace: Path, fake_api: FakeMessagesAPI, encoding: str) -> None:
    count = -(-STRESS_RACES // 3)
    seed = SEED + 1 + ENCODINGS.index(encoding)
    failures = await race_many(workspace, fake_api, count, encoding, seed)
    print(f"races {encoding}: {count} races, {len(failures)} failure(s), seed {seed}")
    assert not failures, _report(failures, count, encoding, seed)
