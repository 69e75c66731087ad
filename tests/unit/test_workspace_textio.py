"""Encoding, binary and newline detection round-trip files byte for byte."""

from __future__ import annotations

import codecs

import pytest

from claw_lsp.workspace import textio


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"plain ascii\n", "utf-8"),
        ("héllo wörld\n".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "bom ✓\r\n".encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "utf16 ✓\n".encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + "utf16 ✓\n".encode("utf-16-be"), "utf-16-be"),
        ("café déjà\n".encode("latin-1"), "latin-1"),
        (b"", "utf-8"),
    ],
)
def test_decode_detects_encoding_and_encode_round_trips_bytes(data: bytes, encoding: str) -> None:
    text, found = textio.decode(data)
    assert found == encoding
    assert textio.encode(text, found) == data
    assert not textio.looks_binary(data)


def test_binary_data_is_detected() -> None:
    assert textio.looks_binary(b"\x7fELF\x02\x01\x01\x00\x00\x00")
    assert textio.looks_binary(bytes(range(256)) * 4)
    assert not textio.looks_binary(b"tabs\tand\x1b[0m escapes\n")


def test_newline_detection_and_line_splitting() -> None:
    assert textio.detect_newline("a\r\nb\r\nc\n") == "\r\n"
    assert textio.detect_newline("a\nb\r\n c\n") == "\n"
    assert textio.detect_newline("no newline") == "\n"
    assert textio.split_lines("a\r\nb\n") == ["a", "b"]
    assert textio.split_lines("a\n\nb") == ["a", "", "b"]
    assert textio.split_lines("") == []
    assert textio.split_lines("x\x0cy\u2028z\n") == ["x\x0cy\u2028z"]
    assert textio.split_lines("a\rb") == ["a", "b"]


def test_lines_split_on_lf_crlf_and_cr_only() -> None:
    assert textio.split_lines("a\nb\r\nc\rd", keepends=True) == ["a\n", "b\r\n", "c\r", "d"]
    assert textio.split_lines("a\u2028b\x0cc\n", keepends=True) == ["a\u2028b\x0cc\n"]
    assert textio.split_lines("", keepends=True) == []
    assert textio.to_newline("a\nb\r\n", "\r\n") == "a\r\nb\r\n"


def test_split_lines_is_linear_on_an_unterminated_last_line() -> None:
    """A 1,000,000-character last line without a line break (100,000 took 50 s when every start
    position was retried): split in one pass, the line whole."""
    from claw_lsp.workspace.textio import split_lines

    text = "first\n" + "-" * 1_000_000
    assert split_lines(text, keepends=True) == ["first\n", "-" * 1_000_000]
    assert split_lines("a\r\nb\rc\n\rd", keepends=True) == ["a\r\n", "b\r", "c\n", "\r", "d"]
    assert split_lines("") == [] and split_lines("\n") == [""]
