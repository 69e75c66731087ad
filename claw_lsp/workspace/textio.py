"""Bytes <-> text for files the agent reads and writes, preserving what it found.

Encodings are detected, never guessed twice: a UTF-8 BOM gives `utf-8-sig`, a UTF-16 BOM gives
`utf-16-le` / `utf-16-be` (in this module those two always carry their BOM, since a BOM is how they
were detected), valid UTF-8 gives `utf-8`, anything else `latin-1` (which maps every byte, so a
round trip is byte-for-byte). Decoding keeps line endings as they are; `detect_newline` names the
dominant one so edits written with `\\n` can be written back in the file's own style.
"""

from __future__ import annotations

import codecs
import contextlib
import itertools
import os
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from claw_lsp.workspace import beneath

# How much of a file's head is inspected to tell text from binary.
SNIFF_BYTES = 8192

_UTF16_BOMS = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}
# Control bytes that plain text does not contain (tab, newlines, form feed, escape are allowed).
_TEXT_CONTROLS = {0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1B}


class NotRegularFileError(OSError):
    """The path is a FIFO, socket or device: reading it could block forever or never end."""


@contextlib.contextmanager
def open_regular(path: os.PathLike[str] | str, roots: Sequence[Path] = ()) -> Iterator[BinaryIO]:
    """Open a file for reading in binary mode, refusing anything but a regular file. The check is
    made on the opened file (so a path swapped after a check is caught); the open does not block
    on a FIFO without a writer. Below one of `roots` the path is opened beneath it, no symlink
    followed (`beneath.PathSwapped` when one appeared after the path was resolved)."""
    fd = beneath.open_fd(path, os.O_RDONLY | os.O_NONBLOCK, roots)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(f"{os.fspath(path)} is a directory")
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(f"{os.fspath(path)} is not a regular file (a FIFO, socket or device)")
        os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def read_regular(path: os.PathLike[str] | str, roots: Sequence[Path] = ()) -> bytes:
    """A regular file's bytes (NotRegularFileError for FIFOs, sockets and devices)."""
    with open_regular(path, roots) as handle:
        data: bytes = handle.read()
        return data


def bom_encoding(head: bytes) -> str | None:
    """The encoding a byte-order mark at the start of `head` names, if any."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF32_LE) or head.startswith(codecs.BOM_UTF32_BE):
        return None  # UTF-32 is treated as binary (NUL bytes), not as UTF-16 with a BOM
    for name, bom in _UTF16_BOMS.items():
        if head.startswith(bom):
            return name
    return None


def looks_binary(head: bytes) -> bool:
    """True when the start of a file looks like binary data rather than text."""
    if bom_encoding(head) is not None:
        return False
    sample = head[:SNIFF_BYTES]
    if b"\x00" in sample:
        return True
    if not sample:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        controls = sum(1 for b in sample if b < 0x20 and b not in _TEXT_CONTROLS)
        return controls / len(sample) > 0.1
    return False


def detect_encoding(head: bytes) -> str:
    """The encoding of a file judged by its first bytes (utf-8 unless they cannot be UTF-8)."""
    bom = bom_encoding(head)
    if bom is not None:
        return bom
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def decode(data: bytes) -> tuple[str, str]:
    """Decode a whole file: (text with its own line endings, encoding name)."""
    bom = bom_encoding(data)
    if bom == "utf-8-sig":
        try:
            return data.decode("utf-8-sig"), bom
        except UnicodeDecodeError:
            return data.decode("latin-1"), "latin-1"
    if bom is not None:
        try:
            return data[2:].decode(bom, errors="surrogatepass"), bom
        except UnicodeDecodeError:  # odd byte count: show what is there
            return data[2:].decode(bom, errors="replace"), bom
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def encode(text: str, encoding: str) -> bytes:
    """Encode text for disk in `encoding` (utf-16 variants get their BOM back)."""
    if encoding in _UTF16_BOMS:
        return _UTF16_BOMS[encoding] + text.encode(encoding, errors="surrogatepass")
    return text.encode(encoding)


def can_encode(text: str, encoding: str) -> bool:
    """True when every character of `text` exists in `encoding`."""
    try:
        encode(text, encoding)
    except UnicodeEncodeError:
        return False
    return True


def detect_newline(text: str) -> str:
    """The dominant line ending of `text`: "\\r\\n" or "\\n" (the latter when there are none)."""
    if "\r" not in text:  # a memchr: far cheaper than counting "\r\n" in a big text
        return "\n"
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    return "\r\n" if crlf > lf else "\n"


# A line with its ending, or the last line without one. (The second branch matters: with the first
# alone, `findall` retried at every character of an unterminated last line, which is quadratic.)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str, *, keepends: bool = False) -> list[str]:
    """The lines of `text` by LSP's rules: "\\n", "\\r\\n" and "\\r" end a line (form feeds and
    U+2028 do not, unlike `str.splitlines`); a final line ending does not start a new line. Each
    line keeps its ending when `keepends`, so line numbers agree with the editor's."""
    lines = _LINE.findall(text)
    return lines if keepends else [line.rstrip("\r\n") for line in lines]


def count_breaks(text: str, end: int | None = None, start: int = 0) -> int:
    """The line endings in `text[start:end]` by LSP's rules ("\\r\\n" counts once; so does a "\\r"
    just before `end` whose "\\n" lies beyond it), counted in place (no slice)."""
    stop = len(text) if end is None else end
    breaks = text.count("\n", start, stop)
    if text.find("\r", start, stop) >= 0:
        breaks += text.count("\r", start, stop) - text.count("\r\n", start, stop)
    return breaks


def count_lines(text: str) -> int:
    """`len(split_lines(text))` without splitting: line endings counted with `str.count`."""
    if not text:
        return 0
    breaks = text.count("\n")
    if "\r" in text:
        breaks += text.count("\r") - text.count("\r\n")
    return breaks + (0 if text.endswith(("\n", "\r")) else 1)


def line_window(text: str, start: int, limit: int, pos: int = 0) -> list[str]:
    """`split_lines(text)[start:start + limit]`, scanning only up to the last line wanted (the
    first page of a big file costs that page, not a split of the whole text). With `pos` (the
    offset where a line starts), `start` counts lines from there."""
    if limit <= 0:
        return []
    if "\r" not in text:  # (a memchr) "\n" alone ends lines: found with str.find, split in C
        return _lf_window(text, start, limit, pos)
    found = itertools.islice(_LINE.finditer(text, pos), start, start + limit)
    return [m.group().rstrip("\r\n") for m in found]


def _lf_window(text: str, start: int, limit: int, pos: int) -> list[str]:
    """`line_window` for a text whose only line ending is "\\n"."""
    for _ in range(start):
        pos = text.find("\n", pos) + 1
        if pos == 0:
            return []
    if pos >= len(text):
        return []
    end = pos
    for _ in range(limit):
        found = text.find("\n", end)
        if found < 0:
            end = len(text)
            break
        end = found + 1
    chunk = text[pos:end]
    lines = chunk.split("\n")
    if chunk.endswith("\n"):
        lines.pop()  # the "" after the last line's ending
    return lines


# The largest block `common_length` compares at once: its slices stay small enough for the
# allocator to reuse (a multi-megabyte slice is a fresh mapping, page-faulted in on every call).
_COMPARE_BLOCK = 16 * 1024


def common_length(
    a: str,
    b: str,
    limit: int,
    from_end: bool = False,
    *,
    a_end: int | None = None,
    b_end: int | None = None,
    start: int = 0,
) -> int:
    """How many characters `a[start:a_end]` and `b[start:b_end]` share at their start (or end),
    at most `limit`: slices compared in growing blocks (at most `_COMPARE_BLOCK` long), then
    bisected (C comparisons, not a loop per character, and no copy of a big text)."""
    na = len(a) if a_end is None else a_end
    nb = len(b) if b_end is None else b_end

    def same(lo: int, hi: int) -> bool:
        if from_end:
            return a[na - hi : na - lo] == b[nb - hi : nb - lo]
        return a[start + lo : start + hi] == b[start + lo : start + hi]

    lo, step = 0, 256
    while lo < limit:
        hi = min(lo + step, limit)
        if same(lo, hi):
            lo, step = hi, min(step * 2, _COMPARE_BLOCK)
            continue
        while hi - lo > 1:  # same(.., lo) holds, same(lo, hi) does not
            mid = (lo + hi) // 2
            if same(lo, mid):
                lo = mid
            else:
                hi = mid
        return lo
    return lo


def differing_window(
    a: str, b: str, *, a_end: int | None = None, b_end: int | None = None, same: tuple[int, int] = (0, 0)
) -> tuple[int, int]:
    """(prefix, suffix): the lengths of the common start and end of `a[:a_end]` and `b[:b_end]`
    (the suffix at most what the prefix leaves), with `common_length`. `same` (start, suffix) is
    known to be common already: not compared again, so a small change to a big text costs the
    change. The answer is the one a comparison of the whole texts gives."""
    na = len(a) if a_end is None else a_end
    nb = len(b) if b_end is None else b_end
    n = min(na, nb)
    known_start, known_suffix = min(same[0], n), same[1]
    prefix = known_start + common_length(a, b, n - known_start, a_end=na, b_end=nb, start=known_start)
    room = n - prefix
    if room <= known_suffix:
        return prefix, room
    rest = common_length(a, b, room - known_suffix, True, a_end=na - known_suffix, b_end=nb - known_suffix)
    return prefix, known_suffix + rest


def next_line_end(text: str, pos: int) -> int:
    """The offset just after the first line ending at or after `pos` (the text's end if none)."""
    i = text.find("\n", pos)
    # A "\r" counts only before that "\n": looked for up to it, not through the rest of the text.
    r = text.find("\r", pos, len(text) if i < 0 else i)
    if r >= 0:
        i = r
    elif i < 0:
        return len(text)
    return i + 2 if text[i] == "\r" and text[i + 1 : i + 2] == "\n" else i + 1


def line_start(text: str, pos: int) -> int:
    """The offset where the line holding offset `pos` starts (a line's ending belongs to it)."""
    end = pos
    if 0 < end < len(text) and text[end] == "\n" and text[end - 1] == "\r":
        end -= 1  # on the "\n" of a "\r\n": the "\r" before it is the same line ending
    n = text.rfind("\n", 0, end)
    # A "\r" matters only after that "\n": looked for there, not through the whole text before.
    return max(n, text.rfind("\r", n + 1, end)) + 1


def to_newline(text: str, newline: str) -> str:
    """Text with every "\\n" (or "\\r\\n") line ending written as `newline`."""
    normalised = text.replace("\r\n", "\n")
    return normalised if newline == "\n" else normalised.replace("\n", newline)
