"""The user types in a real Neovim 0.11 while the agent edits the same buffer (issue 9, point 4).

The simulated user inserts unique markers (`⟪r3u5⟫`) at random places and times through the
Neovim API, so Neovim's own change tracking sends the didChange notifications, while the model
(fake Messages API, turns streamed slowly) makes Edit calls one per turn on the buffer it read.
Typing starts when the Read's tool call is announced; a marker Neovim reports before the Read
runs is in what the model read, so an edit whose old_string it never saw is rightly "not found".

After each race:
- no user character is lost: every marker is in the buffer exactly once, intact;
- no false report to the model: the buffer with the markers taken out equals the base text with
  exactly the edits reported applied (the others absent), and every edit not applied says
  "Not applied" with the reason (the user's typing overlapped);
- in "apart" races the user types only on lines two or more lines away from any edited line, so
  every edit must apply (merged, not refused);
- the file on disk is untouched.
Target: /work/notes/edit-target.md point 4.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.nvim.harness import NvimHarness, harness, tool_results

pytestmark = pytest.mark.nvim

LINES = 40
MARKER = re.compile(r"⟪r\d+u\d+⟫")


def peel(text: str) -> tuple[str, list[str]]:
    """The text without the user's markers, and the markers taken out (the typist may type a marker
    inside one it typed before, so they are peeled innermost first)."""
    found: list[str] = []
    while hits := MARKER.findall(text):
        found += hits
        text = MARKER.sub("", text)
    return text, found


def read_view(output: str) -> str:
    """The file text a Read's `cat -n` output shows."""
    lines = [line.split("\t", 1)[1] for line in output.split("\n") if "\t" in line]
    return "".join(line + "\n" for line in lines)


def base_text() -> str:
    notes = ["plain", "naïve", "日本", "𝄞 clef", "emoji 🎉"]
    return "".join(f"value_{i:02d} = {i}  # {notes[i % len(notes)]}\n" for i in range(LINES))


def race(h: NvimHarness, n: int, rng: random.Random, apart: bool, debounce_note: str) -> list[str]:
    """One race; the problems found (empty when it went right)."""
    base = base_text()
    lines = base.splitlines()
    path = h.ws / f"race_{n:03d}.py"
    path.write_text(base)
    h.drain_queue()
    h.lua("H.reset_records()")
    buf = h.open(path)
    edited = sorted(rng.sample(range(1, LINES - 1), 4))
    edits: list[dict[str, str]] = []
    for row in edited:
        old = lines[row]
        if not apart and rng.random() < 0.3 and row + 1 < LINES:
            # A two-line replacement that adds a line.
            old2 = lines[row] + "\n" + lines[row + 1]
            edits.append({"old_string": old2, "new_string": old2.replace(" = ", " := ") + "\n# added"})
        else:
            edits.append({"old_string": old, "new_string": old.replace(" = ", " = 100 * ")})
    # Two edits can touch neighbouring lines in the two-line case: keep them disjoint.
    seen: set[str] = set()
    unique = []
    for e in edits:
        if not any(part in seen for part in e["old_string"].split("\n")):
            unique.append(e)
            seen.update(e["old_string"].split("\n"))
    edits = unique
    rows: list[int] | None = None
    if apart:
        rows = [r for r in range(LINES) if all(abs(r - e) >= 2 for e in edited)]
    since = len(h.api.requests)
    read_id = h.fresh_id(f"race{n}read")
    ids = []
    turns = [reply(tool_use("Read", {"file_path": str(path)}, id=read_id))]
    for e in edits:
        tid = h.fresh_id(f"race{n}edit")
        ids.append(tid)
        turns.append(
            reply(tool_use("Edit", {"file_path": str(path), **e}, id=tid), delay=rng.uniform(0.0, 0.03))
        )
    turns.append(reply(text("Done.")))
    h.api.queue(*turns)
    markers = rng.randint(3, 8)
    h.lua("H.type_after_first_tool(...)", buf, f"r{n}u", markers, 150, rng.randint(0, 10**6), rows)
    run_id = h.ask(buf, f"race {n}")
    finished = h.wait_run(run_id)
    # Let the last markers be typed and their didChange go out.
    h.lua(f"vim.wait(5000, function() return #H.typed >= {markers} end, 10) vim.wait(300)")
    state = h.state(buf)
    typed = list(h.lua("return H.typed_markers()"))
    results = tool_results(h.api, since)
    records = dict(h.lua("return H.records()"))
    h.lua("H.close_all()")

    problems: list[str] = []
    if finished is None:
        problems.append("the run did not finish")
    got = state["text"]
    clean, peeled = peel(got)
    for m in typed:
        count = peeled.count(m["marker"])
        if count != 1:
            problems.append(
                f"user marker {m['marker']} (typed at {m['row']}:{m['col']}) is in the buffer {count}x"
            )
    if len(typed) != markers:
        problems.append(f"only {len(typed)} of {markers} markers were typed")
    applied = []
    # What the model saw: the Read (Neovim may report a marker typed as the Read started before the
    # Read runs), then its own edits. An old_string it never saw is rightly "not found".
    read = results.get(read_id)
    view = read_view(read["text"]) if read is not None else base
    for e, tid in zip(edits, ids, strict=True):
        r = results.get(tid)
        if r is None:
            problems.append(f"{tid}: no tool_result")
            continue
        ok = not r["is_error"] and "Not applied" not in r["text"]
        if e["old_string"] not in view:
            if ok or "not found" not in r["text"]:
                problems.append(f"{tid}: the model never saw its old_string, yet: {r['text'][:300]}")
            continue
        if ok:
            view = view.replace(e["old_string"], e["new_string"], 1)
            applied.append(e)
        elif "Not applied" not in r["text"]:
            problems.append(f"{tid}: an error that is not an overlap refusal: {r['text'][:300]}")
        elif apart:
            problems.append(f"{tid}: refused though the user typed 2+ lines away: {r['text'][:300]}")
        elif "user" not in r["text"].lower():
            problems.append(f"{tid}: Not applied without the user's typing as the reason: {r['text'][:300]}")
    want = base
    for e in applied:
        want = want.replace(e["old_string"], e["new_string"], 1)
    if clean != want:
        problems.append("buffer (markers taken out) != base + exactly the edits reported applied")
    if path.read_text() != base:
        problems.append("the file on disk changed while open")
    if problems:
        problems.append(
            _report(n, apart, debounce_note, base, edits, ids, results, typed, state, want, clean, records)
        )
    return problems


def _report(
    n: int,
    apart: bool,
    note: str,
    base: str,
    edits: list[dict[str, str]],
    ids: list[str],
    results: dict[str, Any],
    typed: list[Any],
    state: dict[str, Any],
    want: str,
    clean: str,
    records: dict[str, Any],
) -> str:
    out = [f"race {n} ({'apart' if apart else 'anywhere'}, {note})", f"base: {base!r}"]
    out += [f"edit {tid}: {e} -> {results.get(tid)}" for e, tid in zip(edits, ids, strict=True)]
    out += [f"typed: {typed}", f"buffer lines: {state['lines']!r} eol={state['eol']}"]
    out += [f"want (clean): {want!r}", f"got (clean):  {clean!r}"]
    out += [f"applyEdit: {a}" for a in records.get("apply_edits", [])]
    out += [f"didChange: {d}" for d in records.get("did_change", [])]
    return "\n".join(out)


def run_races(h: NvimHarness, count: int, seed: int, note: str) -> tuple[int, list[str]]:
    rng = random.Random(seed)
    failed: list[str] = []
    bad = 0
    for n in range(count):
        problems = race(h, n, rng, apart=n % 2 == 0, debounce_note=note)
        if problems:
            bad += 1
            failed.append("\n".join(problems))
    return bad, failed


# bypassPermissions (the same races without the confirmation): make stress.
@pytest.mark.parametrize("mode", ["acceptEdits", pytest.param("bypassPermissions", marks=pytest.mark.stress)])
def test_races_fast(tmp_path: Path, fake_api: FakeMessagesAPI, mode: str) -> None:
    """A few races with Neovim's default debounce."""
    with harness(fake_api, tmp_path, mode=mode) as h:
        bad, failed = run_races(h, 4, seed=7 if mode == "acceptEdits" else 8, note="default debounce")
    assert not bad, f"{bad} of 4 races went wrong\n\n" + "\n\n".join(f[:8000] for f in failed[:3])


@pytest.mark.stress
@pytest.mark.timeout(1800)
def test_races_stress(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    """120 races: half with the default debounce, half with a short one."""
    bad = 0
    failed: list[str] = []
    for debounce, seed in ((None, 101), (20, 202)):
        root = tmp_path / f"d{debounce}"
        root.mkdir()
        with harness(fake_api, root, mode="acceptEdits", debounce=debounce) as h:
            b, f = run_races(h, 60, seed=seed, note=f"debounce {debounce or 'default'}")
        bad += b
        failed += f
    assert not bad, f"{bad} of 120 races went wrong\n\n" + "\n\n".join(f[:8000] for f in failed[:3])
