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

from claw_lsp.core.files import ChangedRegion
from claw_lsp.core.tools import ToolError
from claw_lsp.server import textedit
from claw_lsp.tools.files import (
    SNIPPET_CONTEXT,
    SNIPPET_MAX_LINES,
    changed_region,
    edit_snippet,
    format_numbered,
    replace_spans,
)
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


def _replacements(rnd: random.Random, text: str) -> tuple[str, int, int]:
    """Edit's replacements of random pieces of `text` (one to three, some replace_all), applied in
    turn as MultiEdit does: the new text and what it leaves alone (first `start`, last `suffix`)."""
    same_start = same_suffix = len(text)
    running = text
    for _ in range(rnd.randint(1, 3)):
        if not running:
            break
        i = rnd.randrange(len(running))
        old = running[i : i + rnd.randint(1, 4)]
        new = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 4)))
        if old == new:
            continue
        try:
            running, at, suffix = replace_spans(running, "\n", old, new, rnd.random() < 0.3)
        except ToolError:  # more than one match
            running, at, suffix = replace_spans(running, "\n", old, new, True)
        same_start, same_suffix = min(same_start, at), min(same_suffix, suffix)
    return running, same_start, same_suffix


@pytest.mark.parametrize("seed", range(2))
def test_a_known_region_gives_the_edits_and_snippet_of_a_full_comparison(seed: int) -> None:
    """With the region a replacement was made in, the edits sent, the text they give and the snippet
    are those of comparing the whole texts; a region after a lone "\\r" is not given at all."""
    rnd = random.Random(seed)
    given = 0
    for _ in range(1500):
        old = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(1, 60)))
        new, start, suffix = _replacements(rnd, old)
        if new == old:
            continue
        region = changed_region(old, start, suffix)
        if region is None:
            at = textio.line_start(old, start)
            assert at > 0 and old[at - 1] == "\r", (old, start)
            continue
        given += 1
        assert old[: region.start] == new[: region.start] and (
            region.start == 0 or old[region.start - 1] == "\n"
        )
        assert region.suffix == 0 or old[-region.suffix :] == new[-region.suffix :]
        assert region.line == textio.count_breaks(old, region.start)
        for flag in (False, True):
            with_region = textedit.buffer_edits(old, new, "utf-16", final_newline_is_flag=flag, region=region)
            assert with_region == textedit.buffer_edits(old, new, "utf-16", final_newline_is_flag=flag), (
                old,
                new,
                region,
                flag,
            )
        assert edit_snippet(old, new, region) == edit_snippet(old, new), (old, new, region)
    assert given > 500


def test_a_known_region_skips_the_scan_of_a_big_text() -> None:
    """The edits and snippet of a one-line Edit in 100,000 lines, from its region: the same as
    from a full comparison, and the snippet's comparison is confined to the region (a region
    that lied about the text would show in the result)."""
    old = "".join(f"value_{i} = compute({i})\n" for i in range(100_000))
    new, at, suffix = replace_spans(old, "\n", "value_50000 =", "renamed_50000 =", False)
    region = changed_region(old, at, suffix)
    assert region is not None and region.line == 50_000
    (edit,) = textedit.buffer_edits(old, new, "utf-16", region=region)[0]
    assert (edit.range.start.line, edit.range.end.character, edit.new_text) == (50_000, 5, "renamed")
    assert edit_snippet(old, new, region) == edit_snippet(old, new)
    # Only the region is compared: a wrong line number is taken on trust (which is why only the
    # tool that made the change gives one).
    wrong = ChangedRegion(region.start, region.suffix, region.line + 7)
    (moved,) = textedit.buffer_edits(old, new, "utf-16", region=wrong)[0]
    assert moved.range.start.line == 50_007


def test_breaks_are_counted_in_a_range_and_line_ends_found_near() -> None:
    """count_breaks(text, end, start) is count_breaks of the slice; line_start / next_line_end look
    for "\\r" only near the position (the same answers as a search through the whole text)."""
    rnd = random.Random(3)
    for _ in range(3000):
        text = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 30)))
        i = rnd.randint(0, len(text))
        j = rnd.randint(i, len(text))
        assert textio.count_breaks(text, j, i) == textio.count_breaks(text[i:j])
        if text:
            p = rnd.randrange(len(text))
            end = p - 1 if 0 < p < len(text) and text[p] == "\n" and text[p - 1] == "\r" else p
            assert textio.line_start(text, p) == max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
            ends = [k for k in (text.find("\n", p), text.find("\r", p)) if k >= 0]
            k = min(ends) if ends else -1
            expected = (
                len(text) if k < 0 else (k + 2 if text[k] == "\r" and text[k + 1 : k + 2] == "\n" else k + 1)
            )
            assert textio.next_line_end(text, p) == expected
