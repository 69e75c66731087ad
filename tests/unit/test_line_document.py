"""The server's one copy of an open document (server/document.py): lines, O(change) per didChange.

Checked against `textedit.apply_text_edits` (the whole-text reference with the same LSP rules) on
random texts and changes mixing every line ending, form feeds, U+2028 and non-BMP characters, in
each position encoding; and structurally: a change to a 100,000-line document replaces only the
lines it touches (the other line objects stay the same objects) and joins no text.
"""

from __future__ import annotations

import random

import pytest
from lsprotocol import types

from claw_lsp.server.applier import DocumentTracker
from claw_lsp.server.document import LineDocument, split_keep
from claw_lsp.server.textedit import apply_text_edits
from claw_lsp.workspace.textio import split_lines

ALPHABET = ["a", "b", " ", "\n", "\r", "\r\n", "é", "😀", "\x0c", "\u2028"]


def _pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def _change(sl: int, sc: int, el: int, ec: int, text: str) -> types.TextDocumentContentChangePartial:
    return types.TextDocumentContentChangePartial(
        range=types.Range(start=_pos(sl, sc), end=_pos(el, ec)), text=text
    )


@pytest.mark.parametrize("seed", range(4))
def test_random_changes_match_the_whole_text_reference(seed: int) -> None:
    rnd = random.Random(seed)

    def some_text(n: int) -> str:
        return "".join(rnd.choice(ALPHABET) for _ in range(n))

    for _ in range(300):
        text = some_text(rnd.randint(0, 30))
        doc = LineDocument(text)
        for _ in range(8):
            encoding = rnd.choice(["utf-16", "utf-8", "utf-32"])
            lines = len(split_keep(text))
            a = (rnd.randint(0, lines + 1), rnd.randint(0, 8))
            b = (rnd.randint(0, lines + 1), rnd.randint(0, 8))
            a, b = min(a, b), max(a, b)
            new = some_text(rnd.randint(0, 5))
            edit = types.TextEdit(range=types.Range(start=_pos(*a), end=_pos(*b)), new_text=new)
            expected = apply_text_edits(text, [edit], encoding)
            changed = doc.replace(edit.range, new, encoding)
            assert doc.text == expected, (text, edit, encoding)
            assert len(doc) == len(expected)
            assert list(doc.content_lines()) == split_lines(expected)
            assert changed == (expected != text)
            text = expected


def test_a_cr_and_a_lf_that_meet_become_one_line_ending() -> None:
    doc = LineDocument("a\rb\nc")
    assert doc.line_count == 3
    doc.replace(types.Range(start=_pos(1, 0), end=_pos(1, 1)), "", "utf-16")  # delete "b"
    assert doc.text == "a\r\nc" and doc.line_count == 2
    assert list(doc.content_lines()) == ["a", "c"]
    doc.replace(types.Range(start=_pos(0, 1), end=_pos(0, 1)), "\r", "utf-16")  # "a\r" + "\r\n"
    assert doc.text == "a\r\r\nc" and doc.line_count == 3


def test_positions_clamp_and_reversed_ranges_are_taken_between_their_ends() -> None:
    doc = LineDocument("ab\ncd\n")
    doc.replace(types.Range(start=_pos(0, 99), end=_pos(0, 99)), "!", "utf-16")  # past the line end
    doc.replace(types.Range(start=_pos(9, 0), end=_pos(9, 0)), "end", "utf-16")  # past the last line
    assert doc.text == "ab!\ncd\nend"
    doc.replace(types.Range(start=_pos(1, 2), end=_pos(1, 0)), "CD", "utf-16")
    assert doc.text == "ab!\nCD\nend"


def test_a_change_to_a_big_document_touches_only_its_lines() -> None:
    text = "".join(f"value_{i} = compute({i})\n" for i in range(100_000))
    doc = LineDocument(text)
    before = list(doc._lines)
    doc.replace(types.Range(start=_pos(50_000, 0), end=_pos(50_000, 5)), "renamed", "utf-16")
    doc.replace(types.Range(start=_pos(70_000, 3), end=_pos(70_002, 0)), "x\ny\nz", "utf-16")
    after = doc._lines
    assert doc._text is None  # nothing joined the whole text
    assert len(after) == len(before)
    same = sum(1 for x, y in zip(before, after, strict=True) if x is y)
    # Rebuilt: lines 49,999..50,001 (the changed line and one each side) and 69,999..70,003.
    assert same == len(before) - 3 - 5
    assert doc.text.splitlines()[50_000] == "renamed_50000 = compute(50000)"
    assert doc.text.splitlines()[70_000:70_003] == ["valx", "y", "zvalue_70002 = compute(70002)"]


def test_the_tracker_keeps_one_copy_and_builds_text_only_when_asked() -> None:
    tracker = DocumentTracker()
    uri = "file:///w/big.py"
    tracker.opened(uri, "".join(f"line {i}\n" for i in range(1000)), 1)
    assert uri in tracker and tracker.uris() == [uri]
    assert tracker.apply_changes(uri, [_change(10, 0, 10, 0, "# ")], 2, "utf-16")
    assert tracker._docs[uri].lines._text is None  # no waiter, no reader: no join per change
    lines = tracker.content_lines(uri)
    assert lines is not None and lines[10] == "# line 10" and len(lines) == 1000
    assert tracker.size(uri) == len("".join(f"line {i}\n" for i in range(1000))) + 2
    assert tracker.is_dirty(uri)
    buffer = tracker.get(uri)
    assert buffer is not None and buffer.version == 2 and buffer.text.startswith("line 0\n")
    tracker.closed(uri)
    assert uri not in tracker and tracker.size(uri) == 0
