"""The fast paths for small changes to big texts give what the whole-text computations give.

`minimal_text_edits`, `compute_hunks` (server/textedit.py) and Edit's snippet (tools/files.py) now
work on the window of the texts that differs (found with slice comparisons) instead of splitting
both texts; `textio.line_window` / `count_lines` page and count without a split. Each is checked
against the whole-text reference on random texts mixing "\\n", "\\r\\n", lone "\\r", form feeds,
U+2028 and non-BMP characters; and the window is checked to be small for a one-line change.
"""

from __future__ import annotations

import random

import pytest

from claw_lsp.server import textedit
from claw_lsp.tools.files import SNIPPET_CONTEXT, SNIPPET_MAX_LINES, edit_snippet, format_numbered
from claw_lsp.workspace import textio

ALPHABET = ["a", "b", " ", "\n", "\r", "\r\n", "é", "😀", "\x0c", "\u2028"]


def _pair(rnd: random.Random) -> tuple[str, str]:
    old = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 60)))
    new = old
    for _ in range(rnd.randint(1, 3)):
        i = rnd.randint(0, len(new))
        j = rnd.randint(i, min(len(new), i + 6))
        new = new[:i] + "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 4))) + new[j:]
    return old, new


def _reference_snippet(before: str, after: str) -> str:
    """The snippet by splitting everything: the lines around the first and last changed character."""
    limit = min(len(before), len(after))
    prefix = 0
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1
    spans = [(m.start(), m.end()) for m in textio._LINE.finditer(after)]

    def holding(x: int) -> int:
        for i, (a, b) in enumerate(spans):
            if a <= x < b:
                return i
        return len(spans) - 1 if after and not after.endswith(("\n", "\r")) else len(spans)

    first = holding(prefix)
    change_end = max(prefix, len(after) - suffix)
    last = holding(change_end - 1) if change_end > prefix else first
    lines = textio.split_lines(after)
    start = max(first - SNIPPET_CONTEXT, 0)
    end = min(last + SNIPPET_CONTEXT + 1, len(lines), start + SNIPPET_MAX_LINES)
    return format_numbered(lines[start:end], start + 1)[0]


@pytest.mark.parametrize("seed", range(3))
def test_windowed_diffs_match_the_whole_text_ones(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(1500):
        old, new = _pair(rnd)
        whole_index = textedit.LineIndex(old)
        expected_edits = [
            (whole_index.range(s.start, s.end, "utf-16"), s.text)
            for s in textedit._whole_char_spans(old, new)
        ]
        got = [(e.range, e.new_text) for e in textedit.minimal_text_edits(old, new, "utf-16")]
        assert got == (expected_edits if old != new else []), (old, new)
        assert textedit.apply_text_edits(old, textedit.minimal_text_edits(old, new, "utf-8"), "utf-8") == new
        assert textedit.compute_hunks(old, new) == textedit._whole_hunks(old, new, 3), (old, new)
        assert edit_snippet(old, new) == _reference_snippet(old, new), (old, new)


@pytest.mark.parametrize("seed", range(2))
def test_paging_and_counting_match_a_split(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(2000):
        text = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 40)))
        lines = textio.split_lines(text)
        assert textio.count_lines(text) == len(lines)
        start, limit = rnd.randint(0, 12), rnd.randint(0, 12)
        assert textio.line_window(text, start, limit) == lines[start : start + limit]
        assert textio.count_breaks(text) == len(textio._LINE.findall(text + "x")) - 1


def test_a_one_line_change_to_a_big_text_diffs_a_small_window() -> None:
    old = "".join(f"value_{i} = compute({i})\n" for i in range(100_000))
    new = old.replace("value_50000 =", "renamed_50000 =")
    start, k_old, k_new = textedit._window(old, new, 3)
    assert k_old - start < 10 * 30 and k_new - k_old == 2  # a few lines, not 100,000
    (edit,) = textedit.minimal_text_edits(old, new, "utf-16")
    assert edit.range.start.line == 50_000 and edit.range.end.character == 5 and edit.new_text == "renamed"
    (hunk,) = textedit.compute_hunks(old, new)
    assert hunk.header == "@@ -49998,7 +49998,7 @@"
    assert textedit.apply_hunks(old, new, {0}) == new
    snippet = edit_snippet(old, new)
    assert snippet.splitlines()[SNIPPET_CONTEXT] == " 50001\trenamed_50000 = compute(50000)"


LF_ALPHABET = ["a", "b", " ", "\n", "\n", "é", "😀", "\x0c", "\u2028"]


@pytest.mark.parametrize("seed", range(2))
def test_paging_texts_without_carriage_returns_matches_a_split(seed: int) -> None:
    """Without a "\\r" the page is found with `str.find` and split in C, from any line start."""
    rnd = random.Random(seed)
    for _ in range(2000):
        text = "".join(rnd.choice(LF_ALPHABET) for _ in range(rnd.randint(0, 40)))
        keep = textio.split_lines(text, keepends=True)
        starts = [sum(map(len, keep[:i])) for i in range(len(keep))] or [0]
        line = rnd.randrange(len(starts))
        start, limit = rnd.randint(0, 12), rnd.randint(0, 12)
        expected = [piece.rstrip("\n") for piece in keep[line:]][start : start + limit]
        assert textio.line_window(text, start, limit, starts[line]) == expected, (text, line, start, limit)


def _reference_buffer_edits(old: str, new: str, flag: bool) -> tuple[list[tuple[object, str]], str]:
    """`buffer_edits` as it was written first: the bodies before the final breaks sliced off."""
    old_break, new_break = textedit.final_break(old), textedit.final_break(new)
    if old_break and old_break == new_break:
        body_old, body_new, expected = old[: -len(old_break)], new[: -len(new_break)], new
    elif flag and old_break != new_break:
        body_old, body_new = old[: len(old) - len(old_break)], new[: len(new) - len(new_break)]
        expected = body_new + old_break
    else:
        body_old, body_new, expected = old, new, new
    edits = textedit.minimal_text_edits(body_old, body_new, "utf-16")
    return [(e.range, e.new_text) for e in edits], expected


@pytest.mark.parametrize("seed", range(2))
def test_buffer_edits_compare_the_bodies_in_place(seed: int) -> None:
    """The bodies before the final line breaks are compared in place, not copied: the same edits."""
    rnd = random.Random(seed)
    for _ in range(1500):
        old, new = _pair(rnd)
        for flag in (False, True):
            edits, expected = textedit.buffer_edits(old, new, "utf-16", final_newline_is_flag=flag)
            assert ([(e.range, e.new_text) for e in edits], expected) == _reference_buffer_edits(
                old, new, flag
            ), (old, new, flag)


def test_common_length_in_bounded_blocks_with_ends() -> None:
    """Past `_COMPARE_BLOCK` the blocks stop growing; `a_end` / `b_end` bound both texts."""
    rnd = random.Random(7)
    body = "".join(rnd.choice("ab\n") for _ in range(200_000))
    for at in (0, 1, 255, 256, 16_383, 16_384, 100_001, 199_999):
        other = body[:at] + "X" + body[at + 1 :]
        assert textio.common_length(body, other, len(body)) == at
        assert textio.common_length(body, other, len(body), from_end=True) == len(body) - at - 1
    tail, n = body + "tail", len(body)
    assert textio.common_length(body, tail, n, True, a_end=n, b_end=n) == n
    assert textio.common_length(tail, body + "TAIL", n + 4, a_end=n + 4, b_end=n + 4) == n
    assert textio.common_length(tail, "x" + body, n, True, a_end=n, b_end=n + 1) == n


def test_numbering_fast_path_matches_the_line_by_line_one() -> None:
    """Pages with no over-long line are numbered in one join; one long line takes the cutting path."""
    lines = [f"line {i}" for i in range(1, 2001)]
    body, cut = format_numbered(lines, 98)
    assert cut == 0 and body == "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(lines, start=98))
    assert format_numbered([], 1) == ("", 0)
    long_page = [*lines[:3], "x" * 3000]
    body, cut = format_numbered(long_page, 1)
    assert cut == 1 and body.splitlines()[:3] == [f"{n:>6}\tline {n}" for n in (1, 2, 3)]
    assert "[line truncated:" in body.splitlines()[3]
