"""Real edits replayed through a real Neovim 0.11 (issue 9, point 3).

The corpus (tests/corpus/realedits.py) holds the changed files of consecutive releases of click,
attrs and requests; `edit_calls` turns each pair into the Edit / MultiEdit / Write calls an agent
makes. Each pair: the old file is written and opened in Neovim, the model (fake Messages API)
Reads it and makes the calls one per turn through the real plugin and server; then the buffer must
hold exactly `pair.new` (only the final newline may differ, and then a tool_result says "final
newline"), every tool_result says applied, and the disk still holds `pair.old`.

All pairs of a test run in one Neovim (tests/nvim/harness.py), each in a fresh session and folder.
The default run replays a varied subset; the full run (>= 300 pairs) is marked `stress`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import realedits
from tests.fakes.fake_messages_api import FakeMessagesAPI
from tests.nvim.harness import NvimHarness, Scenario, harness

pytestmark = pytest.mark.nvim

FAST = 6  # make test; the whole corpus runs in make stress
STRESS = 320


def scenario_of(h: NvimHarness, index: int, pair: realedits.FilePair, seed: int) -> Scenario:
    """The pair as a scenario in folder ws/<index>/ (the path the calls name is the real one)."""
    rel = f"p{index:04d}/{pair.relpath}"
    calls = realedits.edit_calls(pair, str(h.ws / rel), seed=seed)
    stripped = [(name, {k: v for k, v in args.items() if k != "file_path"}) for name, args in calls]
    return Scenario(pair.name, rel, pair.old.encode("utf-8"), stripped, want=pair.new)


def replay(h: NvimHarness, pairs: list[realedits.FilePair], seed: int) -> tuple[int, list[str]]:
    """Replay the pairs; (edits made, failure reports)."""
    failures: list[str] = []
    calls = 0
    for index, pair in enumerate(pairs):
        sc = scenario_of(h, index, pair, seed)
        calls += len(sc.calls)
        out = h.run_scenario(sc)
        if out.problems:
            failures.append(out.report())
    return calls, failures


def _check(pairs: list[realedits.FilePair], calls: int, failures: list[str]) -> None:
    head = f"{len(failures)} of {len(pairs)} corpus pairs failed in Neovim ({calls} tool calls)"
    shown = [f[:6000] for f in failures[:8]]
    assert not failures, head + "\n\n" + "\n\n".join(shown)


def test_corpus_replay_fast(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    """A varied subset of real file pairs (boundary-touching ones included), acceptEdits."""
    pairs = realedits.file_pairs(FAST, seed=0)
    with harness(fake_api, tmp_path, mode="acceptEdits") as h:
        calls, failures = replay(h, pairs, seed=0)
    _check(pairs, calls, failures)


@pytest.mark.stress
@pytest.mark.timeout(1800)
def test_corpus_replay_full(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    """At least 300 real file pairs through one Neovim, bypassPermissions."""
    pairs = realedits.file_pairs(STRESS, seed=1)
    assert len(pairs) >= 300, f"the corpus has only {len(pairs)} pairs"
    with harness(fake_api, tmp_path, mode="bypassPermissions", debounce=20) as h:
        calls, failures = replay(h, pairs, seed=1)
    _check(pairs, calls, failures)
