"""One open document's text, kept as a list of lines so an incremental change costs O(change).

The server keeps the only copy of each open buffer (pygls' workspace keeps none: see
`ClawProtocol`). A `LineDocument` holds the lines with their endings (`\\n`, `\\r\\n`, `\\r`, LSP's
line rules: a form feed or U+2028 ends no line) and a last line without one, so line N of the
editor is `lines[N]` and an LSP position becomes an index by looking at that one line. A change
replaces the lines its range touches (plus one on each side, so a `\\r` and a `\\n` that meet join
into one line ending); the whole text is joined only when someone asks for it, and kept until the
next change.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import overload

from lsprotocol import types

log = logging.getLogger(__name__)

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")

Encoding = types.PositionEncodingKind | str


def split_keep(text: str) -> list[str]:
    """`text` as lines with their endings, the last one without (possibly empty)."""
    lines = _LINE.findall(text)
    if not lines or lines[-1].endswith(("\n", "\r")):
        lines.append("")
    return lines


def _content_end(line: str) -> int:
    """The index where a line's content ends (before its line ending)."""
    if line.endswith("\r\n"):
        return len(line) - 2
    if line.endswith(("\n", "\r")):
        return len(line) - 1
    return len(line)


def _index(line: str, character: int, encoding: str) -> int:
    """The index in `line` of a character offset in the encoding's units, clamped to the content;
    inside a character rounds down to its start."""
    end = _content_end(line)
    if encoding == "utf-32" or line.isascii():
        return min(max(character, 0), end)
    units = 0
    for i in range(end):
        c = line[i]
        if encoding == "utf-16":
            w = 2 if ord(c) > 0xFFFF else 1
        elif encoding == "utf-8":
            w = len(c.encode("utf-8", "surrogatepass"))
        else:
            raise ValueError(f"unknown position encoding: {encoding!r}")
        if units + w > character:
            return i
        units += w
    return end


class ContentLines(Sequence[str]):
    """A read-only view of a document's lines without their endings, as `split_lines` gives them
    (a final line ending starts no line), built one line at a time on access."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._len = len(lines) - 1 if len(lines) > 1 and lines[-1] == "" else len(lines)
        if self._len == 1 and lines[0] == "":
            self._len = 0

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        line = self._lines[index]
        return line[: _content_end(line)]


class LineDocument:
    """A document's text as lines; incremental LSP changes applied in O(lines touched)."""

    __slots__ = ("_lines", "_size", "_text")

    def __init__(self, text: str) -> None:
        self._lines = split_keep(text)
        self._text: str | None = text
        self._size = len(text)

    @property
    def text(self) -> str:
        """The whole text (joined on first use after a change, then kept)."""
        if self._text is None:
            self._text = "".join(self._lines)
        return self._text

    def known_text(self, text: str) -> None:
        """Keep `text` as the whole text, known to be what the lines join to (the result of an
        edit whose outcome was computed beforehand); ignored when the lengths disagree."""
        if len(text) == self._size:
            self._text = text

    def __len__(self) -> int:
        """The length of the text in code points."""
        return self._size

    @property
    def line_count(self) -> int:
        """The number of lines as LSP counts them (a final line ending starts an empty last line)."""
        return len(self._lines)

    def content_lines(self) -> ContentLines:
        """The lines without their endings, as `textio.split_lines` would give them."""
        return ContentLines(self._lines)

    def replace(self, rng: types.Range, new_text: str, encoding: Encoding) -> bool:
        """Replace the text in `rng` (LSP positions in `encoding`) with `new_text`; True when the
        text changed. A position past a line's end clamps to it, past the last line to the end of
        the text; a range whose end comes before its start (no editor sends one) is taken as the
        range between the two positions."""
        enc = str(encoding.value if isinstance(encoding, types.PositionEncodingKind) else encoding)
        lines = self._lines
        last = len(lines) - 1
        start_line, end_line = rng.start.line, rng.end.line
        if start_line > last:
            start_line, start_char = last, _content_end(lines[last])
        else:
            start_char = _index(lines[start_line], rng.start.character, enc)
        if end_line > last:
            end_line, end_char = last, _content_end(lines[last])
        else:
            end_char = _index(lines[end_line], rng.end.character, enc)
        if (end_line, end_char) < (start_line, start_char):
            log.warning("a change whose range ends before it starts: taken from its end to its start")
            start_line, start_char, end_line, end_char = end_line, end_char, start_line, start_char
        first, stop = start_line, end_line + 1
        if start_line == end_line:
            old = lines[start_line][start_char:end_char]
        elif end_line - start_line < 64:
            old = "".join(lines[start_line:end_line])[start_char:] + lines[end_line][:end_char]
        else:
            old = None  # a long range: not compared, taken as a change
        if old == new_text:
            return False
        removed = (
            len(old) if old is not None else sum(map(len, lines[start_line:end_line])) - start_char + end_char
        )
        segment = lines[start_line][:start_char] + new_text + lines[end_line][end_char:]
        # One line more on each side, so a "\r" and a "\n" that now meet become one line ending.
        if first > 0:
            first -= 1
            segment = lines[first] + segment
        if stop <= last:
            segment += lines[stop]
            stop += 1
        pieces = split_keep(segment)
        if stop < len(lines):
            pieces.pop()  # the "" after the segment's final line ending: more lines follow
        lines[first:stop] = pieces
        self._size += len(new_text) - removed
        self._text = None
        return True


def apply_changes(
    doc: LineDocument, changes: Sequence[types.TextDocumentContentChangeEvent], encoding: Encoding
) -> tuple[LineDocument, bool]:
    """Apply a didChange's content changes in order; the document (a new one after a whole-text
    change) and whether the text changed."""
    changed = False
    for change in changes:
        if isinstance(change, types.TextDocumentContentChangePartial):
            changed = doc.replace(change.range, change.text, encoding) or changed
        else:
            changed = changed or change.text != doc.text
            doc = LineDocument(change.text)
    return doc, changed
