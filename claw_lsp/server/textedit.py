"""Pure text functions behind the server's edits: positions, minimal TextEdits, hunks, rebase.

Offsets are Python `str` indices (code points). LSP positions count a line's characters in the
negotiated position encoding: utf-8 bytes, utf-16 code units (characters outside the BMP count 2)
or utf-32 code points. Lines end at `\\n`, `\\r\\n` or `\\r`, as LSP defines them; an edit never
splits a `\\r\\n` pair.

Line-level diffs use `difflib.SequenceMatcher` on the part between the common prefix and suffix
lines, so a one-line change in a 10,000-line file costs a scan, not a quadratic match, and becomes
one small `TextEdit`.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lsprotocol import types

from claw_lsp.core.files import ChangedRegion
from claw_lsp.server.protocol import ReviewHunk
from claw_lsp.workspace import textio
from claw_lsp.workspace.textio import split_lines

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

Encoding = types.PositionEncodingKind | str


def _units(s: str, encoding: Encoding) -> int:
    """The length of `s` in the encoding's code units."""
    enc = str(encoding.value if isinstance(encoding, types.PositionEncodingKind) else encoding)
    if enc == "utf-32":
        return len(s)
    if enc == "utf-8":
        return len(s.encode("utf-8", "surrogatepass"))
    if enc == "utf-16":
        return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)
    raise ValueError(f"unknown position encoding: {encoding!r}")


def _char_units(c: str, encoding: Encoding) -> int:
    """The length of one code point in the encoding's code units."""
    return _units(c, encoding)


class LineIndex:
    """Line starts of one text, for converting between offsets and LSP positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]

    def line_end(self, line: int) -> int:
        """The offset where the line's content ends (before its line ending)."""
        if line + 1 < len(self.starts):
            end = self.starts[line + 1]
            if self.text[end - 2 : end] == "\r\n":
                return end - 2
            return end - 1
        return len(self.text)

    def offset(self, pos: types.Position, encoding: Encoding) -> int:
        """The offset of an LSP position; past the line's end clamps to it, past the text to its end."""
        if pos.line >= len(self.starts):
            return len(self.text)
        start = self.starts[pos.line]
        end = self.line_end(pos.line)
        enc = str(encoding.value if isinstance(encoding, types.PositionEncodingKind) else encoding)
        if enc == "utf-32":
            return min(start + pos.character, end)
        units = 0
        i = start
        while i < end:
            w = _char_units(self.text[i], enc)
            if units + w > pos.character:
                break  # inside a character: round down to its start
            units += w
            i += 1
        return i

    def position(self, offset: int, encoding: Encoding) -> types.Position:
        """The LSP position of an offset; an offset inside a `\\r\\n` pair maps to the line's end."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        col_end = min(offset, self.line_end(line))
        return types.Position(line=line, character=_units(self.text[start:col_end], encoding))

    def range(self, start: int, end: int, encoding: Encoding) -> types.Range:
        """The LSP range between two offsets."""
        return types.Range(start=self.position(start, encoding), end=self.position(end, encoding))


def position_to_offset(text: str, pos: types.Position, encoding: Encoding) -> int:
    """The `str` index of an LSP position in `text`."""
    return LineIndex(text).offset(pos, encoding)


def offset_to_position(text: str, offset: int, encoding: Encoding) -> types.Position:
    """The LSP position of a `str` index in `text`."""
    return LineIndex(text).position(offset, encoding)


# --- line diffs --------------------------------------------------------------------------------


Opcode = tuple[str, int, int, int, int]


def _line_opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    """All opcodes (equal ones included) turning lines `a` into lines `b`, in order."""
    n = min(len(a), len(b))
    pre = 0
    while pre < n and a[pre] == b[pre]:
        pre += 1
    suf = 0
    while suf < n - pre and a[len(a) - 1 - suf] == b[len(b) - 1 - suf]:
        suf += 1
    ops: list[Opcode] = []
    if pre:
        ops.append(("equal", 0, pre, 0, pre))
    a_mid, b_mid = a[pre : len(a) - suf], b[pre : len(b) - suf]
    if a_mid or b_mid:
        if not a_mid or not b_mid:
            tag = "insert" if not a_mid else "delete"
            ops.append((tag, pre, len(a) - suf, pre, len(b) - suf))
        else:
            matcher = difflib.SequenceMatcher(None, a_mid, b_mid, autojunk=False)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes():
                ops.append((tag, i1 + pre, i2 + pre, j1 + pre, j2 + pre))
    if suf:
        ops.append(("equal", len(a) - suf, len(a), len(b) - suf, len(b)))
    return ops


def _offsets(lines: Sequence[str]) -> list[int]:
    """Start offset of each line, plus the total length at the end."""
    out = [0]
    for line in lines:
        out.append(out[-1] + len(line))
    return out


@dataclass(frozen=True)
class _Span:
    """A replacement of `old[start:end]` by `text`."""

    start: int
    end: int
    text: str


def _trim(old: str, new: str, old_range: tuple[int, int], new_range: tuple[int, int]) -> _Span | None:
    """`old[os_:oe]` -> `new[ns:ne]` without their common prefix and suffix; never splits "\r\n"."""
    (os_, oe), (ns, ne) = old_range, new_range
    limit = min(oe - os_, ne - ns)
    pre = 0
    while pre < limit and old[os_ + pre] == new[ns + pre]:
        pre += 1
    if (
        pre
        and old[os_ + pre - 1] == "\r"
        and (old[os_ + pre : os_ + pre + 1] == "\n" or new[ns + pre : ns + pre + 1] == "\n")
    ):
        pre -= 1
    suf = 0
    while suf < limit - pre and old[oe - 1 - suf] == new[ne - 1 - suf]:
        suf += 1
    if (
        suf
        and old[oe - suf] == "\n"
        and (old[oe - suf - 1 : oe - suf] == "\r" or new[ne - suf - 1 : ne - suf] == "\r")
    ):
        suf -= 1
    start, end = os_ + pre, oe - suf
    text = new[ns + pre : ne - suf]
    if start == end and not text:
        return None
    return _Span(start, end, text)


def _window(
    old: str,
    new: str,
    context: int,
    old_end: int | None = None,
    new_end: int | None = None,
    *,
    same: tuple[int, int] = (0, 0),
) -> tuple[int, int, int]:
    """(a, k_old, k_new): `old[a:k_old]` and `new[a:k_new]` hold every difference between
    `old[:old_end]` and `new[:new_end]`, with `context` whole lines more on each side; `a` starts a
    line and the ends end one, in both texts. Found with C slice comparisons, so a small change to
    a big text costs a scan, not a split (nor a copy); `same` (start, suffix) is what is known to
    be common already (a `ChangedRegion`): only the rest is compared."""
    n_old = len(old) if old_end is None else old_end
    n_new = len(new) if new_end is None else new_end
    prefix, suffix = textio.differing_window(old, new, a_end=n_old, b_end=n_new, same=same)
    # The line holding the last common character (its whole line ending is common too).
    a = textio.line_start(old, prefix - 1) if prefix > 0 else 0
    for _ in range(context):
        if a == 0:
            break
        a = textio.line_start(old, a - 1)
    q = n_old - suffix
    # The first line ending from q + 1 on lies wholly in the common suffix (and ends a line in both).
    k = min(textio.next_line_end(old, q + 1), n_old) if q < n_old else n_old
    for _ in range(context):
        if k >= n_old:
            break
        k = min(textio.next_line_end(old, k), n_old)
    return a, k, k - n_old + n_new


def _char_spans(old: str, new: str) -> list[_Span]:
    """`_whole_char_spans` on the window of the texts that differs (offsets into `old`)."""
    a, k_old, k_new = _window(old, new, 0)
    return [_Span(s.start + a, s.end + a, s.text) for s in _whole_char_spans(old[a:k_old], new[a:k_new])]


def _whole_char_spans(old: str, new: str) -> list[_Span]:
    """Minimal replacements turning `old` into `new`: changed line blocks trimmed to characters.

    A block replacing n lines by n lines is trimmed line by line, so changes on several lines of a
    block stay several small edits instead of one edit spanning them all.
    """
    a, b = split_lines(old, keepends=True), split_lines(new, keepends=True)
    a_off, b_off = _offsets(a), _offsets(b)
    spans: list[_Span] = []
    for tag, i1, i2, j1, j2 in _line_opcodes(a, b):
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            pairs = [(i, j1 + (i - i1), i + 1, j1 + (i - i1) + 1) for i in range(i1, i2)]
        else:
            pairs = [(i1, j1, i2, j2)]
        for p1, q1, p2, q2 in pairs:
            span = _trim(old, new, (a_off[p1], a_off[p2]), (b_off[q1], b_off[q2]))
            if span is not None:
                spans.append(span)
    return spans


def minimal_text_edits(
    old: str,
    new: str,
    encoding: Encoding,
    old_end: int | None = None,
    new_end: int | None = None,
    *,
    region: ChangedRegion | None = None,
) -> list[types.TextEdit]:
    """Minimal, non-overlapping TextEdits (in document order, against `old`) turning `old` into
    `new` (or `old[:old_end]` into `new[:new_end]`: the rest of both is left alone). With the
    `region` `new` was made in (from `old`), only that region is compared, and the line breaks
    before it are not counted again."""
    n_old = len(old) if old_end is None else old_end
    n_new = len(new) if new_end is None else new_end
    same = (0, 0)
    if region is not None and region.holds_for(old, new):
        # The region is about the whole texts; the ends cut the same length from both, or the
        # common suffix it gives says nothing about the cut texts.
        cut = len(old) - n_old
        if cut == len(new) - n_new:
            same = (min(region.start, n_old, n_new), max(region.suffix - cut, 0))
        else:
            region = None
    else:
        region = None
    if n_old == n_new and (
        old == new
        if old_end is None and new_end is None
        else textio.differing_window(old, new, a_end=n_old, b_end=n_new, same=same)[0] == n_old
    ):
        return []
    a, k_old, k_new = _window(old, new, 0, n_old, n_new, same=same)
    # The window starts a line: columns need no shift. Its line number: counted from the region's
    # start (a line start, before or after `a`) when one is known.
    if region is None:
        base = textio.count_breaks(old, a)
    elif a >= region.start:
        base = region.line + textio.count_breaks(old, a, region.start)
    else:
        base = region.line - textio.count_breaks(old, region.start, a)
    index = LineIndex(old[a:k_old])
    edits = []
    for s in _whole_char_spans(old[a:k_old], new[a:k_new]):
        rng = index.range(s.start, s.end, encoding)
        rng.start.line += base
        rng.end.line += base
        edits.append(types.TextEdit(range=rng, new_text=s.text))
    return edits


def final_break(text: str) -> str:
    """The line break the text ends with ("\\r\\n", "\\n", "\\r"), or "" when it ends without one."""
    if text.endswith("\r\n"):
        return "\r\n"
    if text.endswith(("\n", "\r")):
        return text[-1]
    return ""


def buffer_edits(
    old: str,
    new: str,
    encoding: Encoding,
    *,
    final_newline_is_flag: bool = False,
    region: ChangedRegion | None = None,
) -> tuple[list[types.TextEdit], str]:
    """The TextEdits that turn a buffer holding `old` into `new`, and the text it will then hold.

    When both texts end with the same line break, no edit addresses the position after it (line N
    of an N-line file): an append at the end of a file is sent as an insertion before the final
    line break, which is the same change. Clients disagree about that position (Neovim appends a
    stray line there).

    With `final_newline_is_flag` (Neovim: 'eol'), whether the buffer ends with a line break is not
    text an edit can change: the edits turn `old`'s lines into `new`'s, and the returned text keeps
    `old`'s final line break.
    """
    old_break, new_break = final_break(old), final_break(new)
    if old_break and old_break == new_break:
        expected = new
    elif final_newline_is_flag and old_break != new_break:
        expected = new[: len(new) - len(new_break)] + old_break
    else:
        return minimal_text_edits(old, new, encoding, region=region), new
    # The bodies before the final breaks, compared in place (no copy of a big buffer). Offsets
    # below the old body's end mean the same in `old`, so the positions are valid for it.
    edits = minimal_text_edits(
        old, new, encoding, len(old) - len(old_break), len(new) - len(new_break), region=region
    )
    return edits, expected


def apply_text_edits(
    text: str,
    edits: Iterable[types.TextEdit | types.AnnotatedTextEdit],
    encoding: Encoding,
) -> str:
    """Apply TextEdits with LSP semantics: every range refers to `text`; overlapping ranges are an error."""
    index = LineIndex(text)
    spans = [
        (index.offset(e.range.start, encoding), index.offset(e.range.end, encoding), order, e.new_text)
        for order, e in enumerate(edits)
    ]
    spans.sort(key=lambda s: (s[0], s[1], s[2]))
    out: list[str] = []
    pos = 0
    for start, end, _order, new_text in spans:
        if end < start:
            raise ValueError(f"edit range ends before it starts: {start}..{end}")
        if start < pos:
            raise ValueError("overlapping text edits")
        out.append(text[pos:start])
        out.append(new_text)
        pos = end
    out.append(text[pos:])
    return "".join(out)


# --- hunks for review ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hunk:
    """One hunk of a unified diff between two texts (line numbers 1-based, as in `@@ -a,b +c,d @@`)."""

    index: int
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    header: str
    diff: str
    old_offsets: tuple[int, int]  # the [start, end) slice of the old text the hunk covers
    new_offsets: tuple[int, int]  # the [start, end) slice of the new text the hunk covers
    added: int = 0
    removed: int = 0

    def to_wire(self) -> ReviewHunk:
        """The hunk as `claw/review` sends it."""
        return ReviewHunk(
            index=self.index,
            oldStart=self.old_start,
            oldLines=self.old_lines,
            newStart=self.new_start,
            newLines=self.new_lines,
            header=self.header,
            diff=self.diff,
        )


def _group(ops: list[Opcode], context: int) -> list[list[Opcode]]:
    """Group opcodes into hunks with `context` lines around changes (difflib's grouping)."""
    if not ops or all(op[0] == "equal" for op in ops):
        return []
    codes = list(ops)
    if codes[0][0] == "equal":
        _tag, i1, i2, j1, j2 = codes[0]
        codes[0] = ("equal", max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    if codes[-1][0] == "equal":
        _tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = ("equal", i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    nn = context + context
    groups: list[list[Opcode]] = []
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        start_i, start_j = i1, j1
        if tag == "equal" and i2 - i1 > nn:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            groups.append(group)
            group = []
            start_i, start_j = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, start_i, i2, start_j, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


def _diff_line(prefix: str, line: str) -> str:
    """One diff line: the prefix and the line without its ending, plus the no-newline marker."""
    body = line.rstrip("\r\n")
    if body == line:
        return f"{prefix}{body}\n\\ No newline at end of file\n"
    return f"{prefix}{body}\n"


def compute_hunks(old: str, new: str, context: int = 3) -> list[Hunk]:
    """The unified-diff hunks turning `old` into `new`, with char offsets for partial application
    (computed on the window that differs, with its context lines: a scan of a big text, no split)."""
    start, k_old, k_new = _window(old, new, context)
    if start == 0 and k_old == len(old) and k_new == len(new):
        return _whole_hunks(old, new, context)
    base = textio.count_breaks(old, start)
    shifted = []
    for h in _whole_hunks(old[start:k_old], new[start:k_new], context):
        old_start, new_start = h.old_start + base, h.new_start + base
        shifted.append(
            dataclasses.replace(
                h,
                old_start=old_start,
                new_start=new_start,
                header=f"@@ -{old_start},{h.old_lines} +{new_start},{h.new_lines} @@",
                old_offsets=(h.old_offsets[0] + start, h.old_offsets[1] + start),
                new_offsets=(h.new_offsets[0] + start, h.new_offsets[1] + start),
            )
        )
    return shifted


def _whole_hunks(old: str, new: str, context: int) -> list[Hunk]:
    a, b = split_lines(old, keepends=True), split_lines(new, keepends=True)
    a_off, b_off = _offsets(a), _offsets(b)
    hunks: list[Hunk] = []
    for group in _group(_line_opcodes(a, b), context):
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        old_start = i1 + 1 if i2 > i1 else i1
        new_start = j1 + 1 if j2 > j1 else j1
        parts: list[str] = []
        added = removed = 0
        for tag, g1, g2, h1, h2 in group:
            if tag == "equal":
                parts.extend(_diff_line(" ", line) for line in a[g1:g2])
                continue
            parts.extend(_diff_line("-", line) for line in a[g1:g2])
            parts.extend(_diff_line("+", line) for line in b[h1:h2])
            removed += g2 - g1
            added += h2 - h1
        hunks.append(
            Hunk(
                index=len(hunks),
                old_start=old_start,
                old_lines=i2 - i1,
                new_start=new_start,
                new_lines=j2 - j1,
                header=f"@@ -{old_start},{i2 - i1} +{new_start},{j2 - j1} @@",
                diff="".join(parts),
                old_offsets=(a_off[i1], a_off[i2]),
                new_offsets=(b_off[j1], b_off[j2]),
                added=added,
                removed=removed,
            )
        )
    return hunks


def apply_hunks(old: str, new: str, accepted: set[int]) -> str:
    """`old` with only the accepted hunks (by index) of the diff to `new` applied."""
    out: list[str] = []
    pos = 0
    for hunk in compute_hunks(old, new):
        start, end = hunk.old_offsets
        out.append(old[pos:start])
        if hunk.index in accepted:
            out.append(new[hunk.new_offsets[0] : hunk.new_offsets[1]])
        else:
            out.append(old[start:end])
        pos = end
    out.append(old[pos:])
    return "".join(out)


def diff_stats(old: str, new: str) -> tuple[int, int]:
    """(added lines, removed lines) between two texts."""
    added = removed = 0
    a, b = split_lines(old, keepends=True), split_lines(new, keepends=True)
    for tag, i1, i2, j1, j2 in _line_opcodes(a, b):
        if tag != "equal":
            removed += i2 - i1
            added += j2 - j1
    return added, removed


# --- three-way rebase ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _LineChange:
    """Base lines [start, end) replaced by `lines` (start == end: an insertion before line start)."""

    start: int
    end: int
    lines: tuple[str, ...]


def _line_changes(base: Sequence[str], other: Sequence[str]) -> list[_LineChange]:
    """The line-range replacements turning `base` into `other`."""
    return [
        _LineChange(i1, i2, tuple(other[j1:j2]))
        for tag, i1, i2, j1, j2 in _line_opcodes(base, other)
        if tag != "equal"
    ]


def _conflict(x: _LineChange, y: _LineChange) -> bool:
    """True when two changes touch the same base lines (or insert at the same point)."""
    if x.start == x.end and y.start == y.end:
        return x.start == y.start
    if x.start == x.end:
        return y.start < x.start < y.end
    if y.start == y.end:
        return x.start < y.start < x.end
    return x.start < y.end and y.start < x.end


def _touches(start: int, end: int, r_start: int, r_end: int) -> bool:
    """True when a change of [start, end) touches the range [r_start, r_end) (a point when equal)."""
    if r_start == r_end:  # a point (text was deleted there): a change across it or at it
        return start <= r_start <= end
    if start == end:  # an insertion: only strictly inside the range
        return r_start < start < r_end
    return start < r_end and r_start < end


def holds_change(base: str, ours: str, text: str) -> bool:
    """True when `text` holds the change `base` -> `ours`, possibly with other changes around it.

    The other changes (the user typing while the edit landed) may sit on the same or adjacent
    lines, but must leave every character the change inserted in place, and must not put back text
    it removed. Line blocks are compared first; characters only where a block meets the change.
    """
    if text == ours:
        return True
    if text == base:
        return ours == base
    ours_lines, text_lines = split_lines(ours, keepends=True), split_lines(text, keepends=True)
    # Where the change put text, in `ours` offsets ([start, end); a point for a pure deletion).
    ranges: list[tuple[int, int]] = []
    shift = 0
    for span in _char_spans(base, ours):
        start = span.start + shift
        ranges.append((start, start + len(span.text)))
        shift += len(span.text) - (span.end - span.start)
    offsets = _offsets(ours_lines)
    text_offsets = _offsets(text_lines)
    for tag, i1, i2, j1, j2 in _line_opcodes(ours_lines, text_lines):
        if tag == "equal":
            continue
        block_start, block_end = offsets[i1], offsets[i2]
        if not any(_touches(block_start, block_end, a, b) for a, b in ranges):
            continue
        old_block = ours[block_start:block_end]
        new_block = text[text_offsets[j1] : text_offsets[j2]]
        matcher = difflib.SequenceMatcher(None, old_block, new_block, autojunk=False)
        for op, c1, c2, _d1, _d2 in matcher.get_opcodes():
            if op != "equal" and any(_touches(block_start + c1, block_start + c2, a, b) for a, b in ranges):
                return False
    return True


def rebase(base: str, ours: str, theirs: str) -> str | None:
    """Three-way merge: `ours` and `theirs` both derive from `base`; None when their changes overlap.

    Changes are compared as ranges of base lines. They overlap when they replace or delete a common
    base line, when one inserts strictly inside a range the other replaces, or when both insert at
    the same point with different text. Changes on adjacent lines (one ends where the other starts)
    do not overlap; an insertion at a replaced range's edge goes before or after it. A change made
    identically on both sides is taken once.
    """
    if theirs in (base, ours):
        return ours
    if ours == base:
        return theirs
    base_lines = split_lines(base, keepends=True)
    ours_c = _line_changes(base_lines, split_lines(ours, keepends=True))
    theirs_c = _line_changes(base_lines, split_lines(theirs, keepends=True))
    common = set(ours_c) & set(theirs_c)
    ours_only = [c for c in ours_c if c not in common]
    theirs_only = [c for c in theirs_c if c not in common]
    for x in ours_only:
        for y in [*theirs_only, *common]:
            if _conflict(x, y):
                return None
    for y in theirs_only:
        for x in common:
            if _conflict(x, y):
                return None
    merged = sorted([*common, *ours_only, *theirs_only], key=lambda c: (c.start, c.end))
    out: list[str] = []
    pos = 0
    for change in merged:
        if change.start < pos:
            return None
        out.extend(base_lines[pos : change.start])
        out.extend(change.lines)
        pos = change.end
    out.extend(base_lines[pos:])
    result = "".join(out)
    if split_lines(result, keepends=True) != out:
        return None  # a "\r" line end met a line starting with "\n": the lines would not survive
    return result
