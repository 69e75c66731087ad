"""Instruction comments (`claw: <text>` in a comment) are found in linear time, whatever the line."""

from __future__ import annotations

import pytest

from claw_lsp.server.actions import find_instruction

CASES = [
    ("x = 1  # claw: add a docstring", ("add a docstring", "# claw: add a docstring")),
    ("# CLAW: upper", ("upper", "# CLAW: upper")),
    ("// claw: js thing", ("js thing", "// claw: js thing")),
    ("-- claw: sql", ("sql", "-- claw: sql")),
    ("; claw: lisp", ("lisp", "; claw: lisp")),
    ("<!-- claw: html thing -->", ("html thing", "<!-- claw: html thing -->")),
    ("<!-- claw: open html", ("open html", "<!-- claw: open html")),
    ("/* claw: c block */", ("c block", "/* claw: c block */")),
    ("/** claw: doc **/", ("doc", "/** claw: doc **/")),
    (" * claw: in block", ("in block", "* claw: in block")),
    (" * claw: in block */", ("in block", "* claw: in block */")),
    ("code /* claw: a */ more", ("a", "/* claw: a */")),
    ("## claw: double", ("double", "## claw: double")),
    ("#claw:tight", ("tight", "#claw:tight")),
    ("a -- b # claw: last", ("last", "# claw: last")),
    ("foo(); // claw: fix # claw: second", ("fix # claw: second", "// claw: fix # claw: second")),
    ("x // not claw: this", None),
    ("print('claw: no')", None),
    ("# claw:", None),
    ("x * claw: mult", None),
    ("# note claw: later", None),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_instruction_forms(line: str, expected: tuple[str, str] | None) -> None:
    found = find_instruction(line, 3)
    assert (None if found is None else (found.text, found.comment)) == expected
    if found is not None:
        assert found.line == 3


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("#" * 1_000_000 + "x claw: y", None),  # a marker run that never reaches `claw:`
        ("-" * 1_000_000, None),  # a long last line without a newline (no `claw:` at all)
        ("/*" * 500_000 + "claw", None),  # no `claw:`
        ("# claw: " * 200_000, ("# claw: " * 199_999).strip()),  # `claw:` everywhere: the first one wins
    ],
)
def test_long_lines_are_scanned_in_linear_time(line: str, expected: str | None) -> None:
    # Quadratic scanning of a line this long would take hours (100,000 characters took 42 s).
    found = find_instruction(line, 0)
    assert (None if found is None else found.text) == expected


def test_the_instruction_right_after_a_long_marker_run() -> None:
    found = find_instruction("#" * 1_000_000 + " claw: tidy", 0)
    assert found is not None and found.text == "tidy"
