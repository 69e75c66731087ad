"""Positions in every encoding, minimal edits, hunks and the three-way rebase (pure functions)."""

from __future__ import annotations

import itertools
import random

import pytest
from lsprotocol import types

from claw_lsp.server.textedit import (
    apply_hunks,
    apply_text_edits,
    buffer_edits,
    compute_hunks,
    holds_change,
    minimal_text_edits,
    offset_to_position,
    position_to_offset,
    rebase,
)
from claw_lsp.workspace.textio import split_lines

ENCODINGS = ["utf-8", "utf-16", "utf-32"]
P = types.Position


@pytest.mark.parametrize(
    ("encoding", "col_after_emoji", "col_after_fraktur"),
    [("utf-8", 5, 9), ("utf-16", 3, 5), ("utf-32", 2, 3)],
)
def test_positions_count_non_bmp_characters_per_encoding(
    encoding: str, col_after_emoji: int, col_after_fraktur: int
) -> None:
    text = "x\r\na😀𝔘b\r\n"
    # offsets: line 1 starts at 3; "a"=3, "😀"=4, "𝔘"=5, "b"=6
    assert offset_to_position(text, 5, encoding) == P(line=1, character=col_after_emoji)
    assert offset_to_position(text, 6, encoding) == P(line=1, character=col_after_fraktur)
    assert position_to_offset(text, P(line=1, character=col_after_emoji), encoding) == 5
    assert position_to_offset(text, P(line=1, character=col_after_fraktur), encoding) == 6


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_positions_round_trip_with_crlf_and_cr(encoding: str) -> None:
    text = "héllo 😀\r\nwörld\rlast 𝔘 line\n\nend"
    for offset in range(len(text) + 1):
        pos = offset_to_position(text, offset, encoding)
        back = position_to_offset(text, pos, encoding)
        if text[offset - 1 : offset + 1] == "\r\n":
            assert back == offset - 1  # inside a CRLF pair means the end of the line
        else:
            assert back == offset


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_positions_past_line_end_and_text_end_clamp(encoding: str) -> None:
    text = "ab\r\ncd"
    assert position_to_offset(text, P(line=0, character=99), encoding) == 2
    assert position_to_offset(text, P(line=7, character=0), encoding) == len(text)


def test_position_inside_a_surrogate_pair_rounds_down() -> None:
    text = "a😀b"
    assert position_to_offset(text, P(line=0, character=2), "utf-16") == 1
    assert position_to_offset(text, P(line=0, character=3), "utf-8") == 1


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_edits_with_crlf_and_non_bmp_apply_exactly(encoding: str) -> None:
    old = "a\r\nb😀c\r\nd\re𝔘\r\n"
    new = "a\r\nb😀X𝔘c\r\nd\r\ne𝔘!\r\n"
    edits = minimal_text_edits(old, new, encoding)
    assert apply_text_edits(old, edits, encoding) == new
    assert all(len(e.new_text) <= 4 for e in edits)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_edit_never_splits_a_crlf_pair(encoding: str) -> None:
    for old, new in [("a\r\nb", "a\rb"), ("a\rb", "a\r\nb"), ("a\r\n", "a\r"), ("x\r", "x\r\n")]:
        edits = minimal_text_edits(old, new, encoding)
        assert apply_text_edits(old, edits, encoding) == new
        for e in edits:
            for pos in (e.range.start, e.range.end):
                off = position_to_offset(old, pos, encoding)
                assert old[off - 1 : off + 1] != "\r\n"
            assert not e.new_text.startswith("\n") or old[:1] != "\r"


def test_one_line_change_in_a_big_file_is_one_small_edit() -> None:
    lines = [f"line {i}: value = {i * 7 % 13}\n" for i in range(10_000)]
    old = "".join(lines)
    lines[5_000] = "line 5000: value = 42\n"
    new = "".join(lines)
    for encoding in ENCODINGS:
        edits = minimal_text_edits(old, new, encoding)
        assert len(edits) == 1
        assert len(edits[0].new_text) <= 2
        assert edits[0].range.start.line == 5_000
        assert apply_text_edits(old, edits, encoding) == new


def _random_text(rng: random.Random, n: int) -> str:
    alphabet = ["a", "b", "c", " ", "\n", "\r\n", "\r", "😀", "𝔘", "é", "\t"]
    return "".join(rng.choice(alphabet) for _ in range(n))


def _mutate(rng: random.Random, text: str) -> str:
    out = text
    for _ in range(rng.randint(0, 5)):
        i = rng.randint(0, len(out))
        j = min(len(out), i + rng.randint(0, 6))
        out = out[:i] + _random_text(rng, rng.randint(0, 5)) + out[j:]
    return out


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_random_edits_apply_back_to_the_new_text(encoding: str) -> None:
    rng = random.Random(1234)
    for _ in range(400):
        old = _random_text(rng, rng.randint(0, 60))
        new = _mutate(rng, old) if rng.random() < 0.8 else _random_text(rng, rng.randint(0, 60))
        edits = minimal_text_edits(old, new, encoding)
        assert apply_text_edits(old, edits, encoding) == new, (old, new, edits)
        index_ends = [
            (
                position_to_offset(old, e.range.start, encoding),
                position_to_offset(old, e.range.end, encoding),
            )
            for e in edits
        ]
        assert index_ends == sorted(index_ends)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(index_ends))


BOUNDARY_SHAPES = [
    ("a\nb\n", "a\nb\n\ndef test():\n    pass\n"),  # append at end of file
    ("a\nb\n", "# header\na\nb\n"),  # insert at the very start
    ("a\nb\nc\nd\n", "a\nb\n"),  # delete the last lines
    ("a\nb\n", "x\ny\nz\n"),  # replace the whole file
    ("a\nb", "a\nb\nc"),  # no final newline
    ("\n", "x = 1\n"),  # only a newline
    ("", "x = 1\n"),  # empty
    ("a\r\nb\r\n", "a\r\nb\r\nc\r\n"),  # CRLF
    ("x = 1\ny = '𝄞'\n", "x = 1\ny = '𝄞🎉'\nz = 2\n"),  # non-BMP on the last line
    ("first\nmid\nlast\n", "FIRST\nmid\nLAST\n"),  # first and last line
    ("a\nb\n", "a\nb"),  # drop the final newline
    ("a\nb", "a\nb\n"),  # add a final newline
]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(("old", "new"), BOUNDARY_SHAPES)
def test_buffer_edits_never_address_the_line_after_a_final_break(encoding: str, old: str, new: str) -> None:
    edits, expected = buffer_edits(old, new, encoding)
    assert expected == new and apply_text_edits(old, edits, encoding) == new
    lines_after_break = len(split_lines(old, keepends=True))  # the "line" after a final break
    if old and old[-1] in "\r\n" and new and new[-1] in "\r\n":
        for edit in edits:
            assert edit.range.end.line < lines_after_break, (edit, old)


@pytest.mark.parametrize(("old", "new"), BOUNDARY_SHAPES)
def test_buffer_edits_for_a_final_newline_flag_keep_the_buffers_own(old: str, new: str) -> None:
    """Neovim: lines change by edits, the final newline stays what the buffer's 'eol' says."""
    edits, expected = buffer_edits(old, new, "utf-8", final_newline_is_flag=True)
    assert apply_text_edits(old, edits, "utf-8") == expected
    old_break = "\r\n" if old.endswith("\r\n") else ("\n" if old.endswith("\n") else "")
    new_body = new.removesuffix("\r\n") if new.endswith("\r\n") else new.removesuffix("\n")
    assert expected == new_body + old_break
    for edit in edits:  # nothing past the buffer's last line (Neovim appends stray lines there)
        assert edit.range.end.line < max(len(split_lines(old.removesuffix(old_break), keepends=True)), 1)


def test_apply_text_edits_uses_original_ranges_and_keeps_insert_order() -> None:
    text = "hello world"
    edits = [
        types.TextEdit(
            range=types.Range(start=P(line=0, character=6), end=P(line=0, character=11)), new_text="there"
        ),
        types.TextEdit(
            range=types.Range(start=P(line=0, character=0), end=P(line=0, character=0)), new_text="1"
        ),
        types.TextEdit(
            range=types.Range(start=P(line=0, character=0), end=P(line=0, character=0)), new_text="2"
        ),
    ]
    assert apply_text_edits(text, edits, "utf-16") == "12hello there"


def test_apply_text_edits_refuses_overlapping_edits() -> None:
    r = types.Range(start=P(line=0, character=0), end=P(line=0, character=3))
    r2 = types.Range(start=P(line=0, character=2), end=P(line=0, character=4))
    with pytest.raises(ValueError, match="overlapping"):
        apply_text_edits(
            "abcdef", [types.TextEdit(range=r, new_text=""), types.TextEdit(range=r2, new_text="")], "utf-16"
        )


# --- hunks ---------------------------------------------------------------------------------------

OLD20 = "".join(f"{i}\n" for i in range(1, 21))


def test_hunks_look_like_a_unified_diff() -> None:
    new = OLD20.replace("\n3\n", "\nthree\n").replace("17\n", "17\nseventeen and a half\n")
    hunks = compute_hunks(OLD20, new)
    assert [h.header for h in hunks] == ["@@ -1,6 +1,6 @@", "@@ -15,6 +15,7 @@"]
    assert hunks[0].diff == " 1\n 2\n-3\n+three\n 4\n 5\n 6\n"
    assert hunks[1].diff == " 15\n 16\n 17\n+seventeen and a half\n 18\n 19\n 20\n"
    assert (hunks[1].added, hunks[1].removed) == (1, 0)
    assert hunks[1].to_wire().newLines == 7


def test_hunks_close_together_merge_into_one() -> None:
    new = OLD20.replace("\n3\n", "\nx\n").replace("\n8\n", "\ny\n")
    assert len(compute_hunks(OLD20, new)) == 1


def test_pure_insertion_and_deletion_headers_follow_unified_diff() -> None:
    assert compute_hunks("", "a\nb\n")[0].header == "@@ -0,0 +1,2 @@"
    assert compute_hunks("a\nb\n", "")[0].header == "@@ -1,2 +0,0 @@"


def test_missing_final_newline_is_marked() -> None:
    hunk = compute_hunks("a\nb", "a\nc")[0]
    assert hunk.diff == " a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"


def test_partial_application_keeps_only_accepted_hunks() -> None:
    new = OLD20.replace("\n3\n", "\nthree\n").replace("17\n", "seventeen\n")
    assert apply_hunks(OLD20, new, {0, 1}) == new
    assert apply_hunks(OLD20, new, set()) == OLD20
    assert apply_hunks(OLD20, new, {1}) == OLD20.replace("17\n", "seventeen\n")
    assert apply_hunks(OLD20, new, {0}) == OLD20.replace("\n3\n", "\nthree\n")


def test_partial_application_with_crlf() -> None:
    old = OLD20.replace("\n", "\r\n")
    new = old.replace("\n2\r\n", "\ntwo\r\n").replace("19\r\n", "nineteen\r\n")
    assert apply_hunks(old, new, {1}) == old.replace("19\r\n", "nineteen\r\n")


# --- rebase --------------------------------------------------------------------------------------

BASE = "def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\ndef c():\n    return 3\n"


def test_rebase_merges_changes_in_different_functions() -> None:
    ours = BASE.replace("return 3", "return 30")
    theirs = BASE.replace("return 1", "return 10")
    assert rebase(BASE, ours, theirs) == BASE.replace("return 3", "return 30").replace(
        "return 1", "return 10"
    )


def test_rebase_refuses_changes_to_the_same_line() -> None:
    ours = BASE.replace("return 2", "return 20")
    theirs = BASE.replace("return 2", "return 2  # keep")
    assert rebase(BASE, ours, theirs) is None


def test_rebase_refuses_insertion_inside_a_replaced_range() -> None:
    ours = BASE.replace("def b():\n    return 2\n", "def bee():\n    return 22\n")
    theirs = BASE.replace("def b():\n", "def b():\n    # user note\n")
    assert rebase(BASE, ours, theirs) is None


def test_rebase_refuses_different_insertions_at_the_same_point() -> None:
    ours = BASE + "# agent\n"
    theirs = BASE + "# user\n"
    assert rebase(BASE, ours, theirs) is None


def test_rebase_accepts_changes_on_adjacent_lines() -> None:
    ours = BASE.replace("def b():", "def bee():")
    theirs = BASE.replace("    return 2", "    return 22")
    assert rebase(BASE, ours, theirs) == BASE.replace("def b():", "def bee():").replace(
        "    return 2", "    return 22"
    )


def test_rebase_puts_insertion_before_an_adjacent_replacement() -> None:
    ours = BASE.replace("def b():", "def bee():")
    theirs = BASE.replace("\n\ndef b():", "\n# user comment\n\ndef b():")
    merged = rebase(BASE, ours, theirs)
    assert merged is not None
    assert "# user comment\n\ndef bee():" in merged


def test_rebase_takes_identical_changes_once() -> None:
    ours = BASE.replace("return 2", "return 20").replace("return 3", "return 30")
    theirs = BASE.replace("return 2", "return 20")
    assert rebase(BASE, ours, theirs) == ours
    assert rebase(BASE, ours, ours) == ours


def test_rebase_trivial_sides() -> None:
    other = BASE.replace("1", "one")
    assert rebase(BASE, other, BASE) == other
    assert rebase(BASE, BASE, other) == other


def test_rebase_keeps_crlf_line_endings() -> None:
    base = BASE.replace("\n", "\r\n")
    ours = base.replace("return 3", "return 30")
    theirs = base.replace("return 1", "return 10")
    merged = rebase(base, ours, theirs)
    assert merged == base.replace("return 3", "return 30").replace("return 1", "return 10")


def test_rebase_random_disjoint_line_edits_always_merge() -> None:
    rng = random.Random(7)
    base_lines = [f"line {i}\n" for i in range(40)]
    base = "".join(base_lines)
    for _ in range(100):
        cut = rng.randint(5, 35)
        ours_lines = list(base_lines)
        theirs_lines = list(base_lines)
        i = rng.randrange(0, cut - 1)
        j = rng.randrange(cut + 1, 40)
        ours_lines[i] = f"ours {i}\n"
        theirs_lines[j] = f"theirs {j}\n"
        merged_lines = list(base_lines)
        merged_lines[i], merged_lines[j] = ours_lines[i], theirs_lines[j]
        assert rebase(base, "".join(ours_lines), "".join(theirs_lines)) == "".join(merged_lines)


HOLD_BASE = "".join(f"v{i} = {i}\n" for i in range(8))


@pytest.mark.parametrize(
    ("ours", "text", "held"),
    [
        # typing on the line next to a multi-line change, after it landed (one diff block)
        (
            HOLD_BASE.replace("v3 = 3\nv4 = 4\n", "v3 := 3\nv4 := 4\n# added\n"),
            HOLD_BASE.replace("v3 = 3\nv4 = 4\nv5 = 5", "v3 := 3\nv4 := 4\n# added\nv5 = 5X"),
            True,
        ),
        # the same typing, but the change was dropped
        (
            HOLD_BASE.replace("v3 = 3\nv4 = 4\n", "v3 := 3\nv4 := 4\n# added\n"),
            HOLD_BASE.replace("v5 = 5", "v5 = 5X"),
            False,
        ),
        # typing on the changed line itself, elsewhere in it
        (HOLD_BASE.replace("v3 = 3", "v3 = 300"), HOLD_BASE.replace("v3 = 3", "vv3 = 300"), True),
        (HOLD_BASE.replace("v3 = 3", "v3 = 300"), HOLD_BASE.replace("v3 = 3", "vv3 = 3"), False),
        # typing that replaces what the change inserted
        (HOLD_BASE.replace("v3 = 3", "v3 = 300"), HOLD_BASE.replace("v3 = 3", "v3 = 3Y"), False),
        # a deletion, held or put back
        (HOLD_BASE.replace("v2 = 2\n", ""), HOLD_BASE.replace("v2 = 2\n", "").replace("v6", "v66"), True),
        (HOLD_BASE.replace("v2 = 2\n", ""), HOLD_BASE.replace("v6", "v66"), False),
        # two hunks, only one landed so far (Neovim reports them one by one)
        (
            HOLD_BASE.replace("v1 = 1", "v1 = 10").replace("v6 = 6", "v6 = 60"),
            HOLD_BASE.replace("v6 = 6", "v6 = 60"),
            False,
        ),
    ],
)
def test_holds_change_tells_a_landed_edit_from_a_dropped_or_partial_one(
    ours: str, text: str, held: bool
) -> None:
    assert holds_change(HOLD_BASE, ours, text) is held
