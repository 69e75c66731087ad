"""Real edits replayed through real Emacs eglot: the changed files of consecutive releases.

`tests.corpus.realedits` gives file pairs (old, new) of real projects and the Edit / MultiEdit /
Write calls an agent makes to turn one into the other. Each pair is one run in one Emacs per
batch (tests/eglot/batch.el): Emacs visits the old file, the fake model Reads it and makes the
calls, and then the buffer must hold exactly `pair.new`, the disk still `pair.old`, and every
tool_result must say the edit applied. A file the new release adds is not visited: the Write
creates it on disk. The default run replays a varied subset at eglot's default
`eglot-send-changes-idle-time` (0.5 s); `-m stress` replays every pair, the bulk with didChange
after 0.05 s and every tenth pair at the default.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.corpus.realedits import FilePair, apply_calls, edit_calls, file_pairs
from tests.eglot.harness import Case, Outcome, assert_all_pass, problems, require_eglot, run_batch
from tests.fakes.fake_messages_api import FakeMessagesAPI

pytestmark = [pytest.mark.eglot]

ANCHOR = b"Runs for added files start from this buffer.\n"


def pair_case(pair: FilePair, index: int, root: Path, *, idle: float | None) -> Case:
    """The run replaying one pair; its files live under p<index>/ in the workspace."""
    cid = f"p{index:03d}"
    rel = f"{cid}/{pair.relpath}"
    calls = edit_calls(pair, str(root / rel), seed=index)
    assert apply_calls(pair.old, calls) == pair.new, f"{pair.name}: the corpus calls miss pair.new"
    if pair.old == "":
        anchor = f"{cid}/ANCHOR.txt"
        return Case(
            id=cid,
            files={anchor: ANCHOR, rel: b""},
            absent=[rel],
            open=[anchor],
            reads=[],
            calls=calls,
            expected={anchor: ANCHOR, rel: pair.new.encode("utf-8")},
            prompt=f"Add {pair.relpath} as in {pair.name}.",
            idle=idle,
        )
    return Case(
        id=cid,
        files={rel: pair.old.encode("utf-8")},
        calls=calls,
        expected={rel: pair.new.encode("utf-8")},
        prompt=f"Make the change of {pair.name}.",
        idle=idle,
    )


def replay(
    pairs: Sequence[FilePair],
    tmp_path: Path,
    fake_api: FakeMessagesAPI,
    *,
    idle: float | None,
    default_idle_every: int = 0,
    batch_size: int = 120,
    mode: str = "acceptEdits",
) -> list[Outcome]:
    """Replay pairs in batches of `batch_size` (one Emacs and one workspace per batch)."""
    outcomes: list[Outcome] = []
    for start in range(0, len(pairs), batch_size):
        root = (tmp_path / f"batch{start // batch_size}" / "ws").resolve()
        root.mkdir(parents=True)
        cases = []
        for index in range(start, min(start + batch_size, len(pairs))):
            every = default_idle_every and index % default_idle_every == 0
            cases.append(pair_case(pairs[index], index, root, idle=None if every else idle))
        outcomes += run_batch(cases, root, fake_api, mode=mode)
    return outcomes


def summary(pairs: Sequence[FilePair], outcomes: Sequence[Outcome]) -> str:
    lines = []
    for pair, outcome in zip(pairs, outcomes, strict=True):
        found = problems(outcome)
        if found:
            lines.append(f"{outcome.case.id} {pair.name}: {found[0][:300]}")
    return "\n".join(lines)


@pytest.mark.timeout(900)
def test_corpus_subset_at_default_idle_time(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    """6 varied real pairs (first/last-line changes, sizes, projects), eglot's default timing (the
    whole corpus: make stress)."""
    require_eglot()
    pairs = file_pairs(6, seed=0)
    assert len(pairs) == 6
    outcomes = replay(pairs, tmp_path, fake_api, idle=None)
    print(summary(pairs, outcomes))
    assert_all_pass(outcomes)


@pytest.mark.stress
@pytest.mark.timeout(5400)
def test_corpus_every_pair(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    """Every pair of the corpus (>= 300): didChange after 0.05 s, every tenth at the default."""
    require_eglot()
    pairs = file_pairs()
    assert len(pairs) >= 300, len(pairs)
    outcomes = replay(pairs, tmp_path, fake_api, idle=0.05, default_idle_every=10)
    print(f"{len(pairs)} pairs; failing:\n{summary(pairs, outcomes)}")
    assert_all_pass(outcomes)
