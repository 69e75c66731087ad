"""Boundary-shaped edits in a real Neovim 0.11 (issue 9, points 1, 3 and 7): the plugin, the real
`claw-lsp` server, the fake Messages API as the model (Read, then Edit / MultiEdit / Write, each in
its own turn, so the second call follows the first like a model's next step).

Each scenario checks (tests/nvim/harness.py): the buffer equals the calls applied to the buffer's
opening text (only the final newline may differ, and then a tool_result says "final newline"),
every tool_result says applied (no "Not applied", no "modified since you read it"), and the file
on disk is untouched. Target: /work/notes/edit-target.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.nvim.harness import Scenario, harness, tool_results, wait_until

pytestmark = pytest.mark.nvim

# A module shaped like click's: docstring, imports, a few functions, a test at the end.
MODULE = [
    '"""Utilities for formatting help text."""',
    "",
    "import typing as t",
    "from gettext import gettext as _",
    "",
    "",
    "def measure_table(rows: t.Iterable[tuple[str, str]]) -> tuple[int, ...]:",
    "    widths: dict[int, int] = {}",
    "    for row in rows:",
    "        for idx, col in enumerate(row):",
    "            widths[idx] = max(widths.get(idx, 0), len(col))",
    "    return tuple(y for x, y in sorted(widths.items()))",
    "",
    "",
    "def test_measure_table():",
    "    assert measure_table([('a', 'bc')]) == (1, 2)",
]
LAST = MODULE[-1]
NEW_TEST = "\n\n\ndef test_measure_empty():\n    assert measure_table([]) == ()"


def lf(lines: list[str], final: bool = True) -> bytes:
    return ("\n".join(lines) + ("\n" if final else "")).encode()


def append_then_edit(name: str, disk: bytes, last: str = LAST, **kw: object) -> Scenario:
    """Append a test at the end (the last line as old_string), then edit the appended text."""
    return Scenario(
        name,
        f"{name}.py",
        disk,
        [
            ("Edit", {"old_string": last, "new_string": last + NEW_TEST}),
            ("Edit", {"old_string": "== ()", "new_string": "== ()  # empty"}),
        ],
        **kw,  # type: ignore[arg-type]
    )


CRLF = "\r\n".join(MODULE).encode() + b"\r\n"
NON_BMP = [*MODULE[:3], "x = '𝄞🎉'"]

SCENARIOS = [
    append_then_edit("append_eof", lf(MODULE)),
    Scenario(
        "insert_start",
        "insert_start.py",
        lf(MODULE),
        [
            (
                "Edit",
                {"old_string": MODULE[0], "new_string": "# SPDX-License-Identifier: BSD-3\n" + MODULE[0]},
            ),
            ("Edit", {"old_string": LAST, "new_string": LAST + "\n"}),
        ],
    ),
    Scenario(
        "delete_last_lines",
        "delete_last_lines.py",
        lf(MODULE),
        [
            ("Edit", {"old_string": "\n\n\ndef test_measure_table():\n" + LAST + "\n", "new_string": "\n"}),
            (
                "Edit",
                {
                    "old_string": "\n    return tuple(y for x, y in sorted(widths.items()))\n",
                    "new_string": "\n",
                },
            ),
        ],
    ),
    Scenario(
        "delete_to_eof_no_newline",
        "delete_to_eof_no_newline.py",
        lf(MODULE),
        [("Edit", {"old_string": "\n\n\ndef test_measure_table():\n" + LAST + "\n", "new_string": ""})],
    ),
    Scenario(
        "write_whole",
        "write_whole.py",
        lf(MODULE),
        [
            ("Write", {"content": "import sys\n\n\ndef main() -> int:\n    return 0\n"}),
            ("Edit", {"old_string": "    return 0", "new_string": "    print(sys.argv)\n    return 0"}),
        ],
    ),
    append_then_edit("no_trailing_newline", lf(MODULE, final=False)),
    Scenario(
        "only_newline",
        "only_newline.py",
        b"\n",
        [
            ("Edit", {"old_string": "\n", "new_string": "import os\n"}),
            ("Edit", {"old_string": "import os", "new_string": "import os\nimport sys"}),
        ],
    ),
    Scenario(
        "empty_file",
        "empty_file.py",
        b"",
        [
            ("Write", {"content": "x = 1\n"}),
            ("Edit", {"old_string": "x = 1", "new_string": "x = 2\ny = 3"}),
        ],
    ),
    append_then_edit("crlf", CRLF),
    Scenario(
        "crlf_multiline",
        "crlf_multiline.py",
        CRLF,
        [
            (
                "Edit",
                {
                    "old_string": "import typing as t\nfrom gettext",
                    "new_string": "import os\nimport typing as t\nfrom gettext",
                },
            ),
            ("Write", {"content": "a = 1\nb = 2\n"}),
            ("Edit", {"old_string": "b = 2", "new_string": "b = 2\nc = 3"}),
        ],
    ),
    Scenario(
        "non_bmp_last_line",
        "non_bmp_last_line.py",
        lf(NON_BMP),
        [
            ("Edit", {"old_string": "x = '𝄞🎉'", "new_string": "x = '𝄞🎉'\ny = '🎉𝄞'"}),
            ("Edit", {"old_string": "'🎉𝄞'", "new_string": "'𝄞𝄞🎉' + x"}),
        ],
    ),
    append_then_edit("non_bmp_no_newline", lf(NON_BMP, final=False), last="x = '𝄞🎉'"),
    # 'eol' / 'fixeol' set with :setlocal before the client sees the buffer.
    append_then_edit("noeol_nofixeol", lf(MODULE), setlocal=["noeol", "nofixeol"]),
    append_then_edit("nofixeol_no_newline", lf(MODULE, final=False), setlocal=["nofixeol"]),
    append_then_edit("eol_on_file_without", lf(MODULE, final=False), setlocal=["eol"]),
    Scenario(
        # The model writes a final newline into a buffer whose 'eol' is off: only the final newline
        # differs, so the buffer keeps 'eol' and the tool_result says so.
        "write_newline_into_noeol",
        "write_newline_into_noeol.py",
        lf(MODULE, final=False),
        [
            ("Write", {"content": "\n".join(MODULE) + "\n\n# end\n"}),
            ("Edit", {"old_string": "# end", "new_string": "# the end"}),
        ],
    ),
    Scenario(
        "multiedit_first_and_last",
        "multiedit_first_and_last.py",
        lf(MODULE),
        [
            (
                "MultiEdit",
                {
                    "edits": [
                        {"old_string": MODULE[0], "new_string": '"""Help text formatting."""'},
                        {
                            "old_string": "from gettext import gettext as _",
                            "new_string": "from gettext import ngettext",
                        },
                        {"old_string": LAST, "new_string": LAST + NEW_TEST},
                    ]
                },
            ),
            ("Edit", {"old_string": '"""Help text formatting."""\n', "new_string": ""}),
        ],
    ),
]


@pytest.mark.parametrize("debounce", [None], ids=["default-debounce"])
def test_append_at_end_default_debounce(
    tmp_path: Path, fake_api: FakeMessagesAPI, debounce: int | None
) -> None:
    """The issue's case alone, with Neovim's default didChange debounce (150 ms)."""
    with harness(fake_api, tmp_path, mode="acceptEdits", debounce=debounce) as h:
        out = h.run_scenario(SCENARIOS[0])
        assert not out.problems, out.report()


def test_boundary_shapes(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    """Every boundary shape in one Neovim (bypassPermissions, default debounce)."""
    failures = []
    with harness(fake_api, tmp_path, mode="bypassPermissions") as h:
        for sc in SCENARIOS:
            out = h.run_scenario(sc)
            if out.problems:
                failures.append(out.report())
    assert not failures, f"{len(failures)} of {len(SCENARIOS)} scenarios failed\n\n" + "\n\n".join(failures)


def test_append_through_review_accept(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    """permissionMode default: the plugin's inline review shows the append in the buffer; accepting
    it (gA) applies it exactly, the tool_result says applied, and the next Edit (reviewed too)
    applies."""
    sc = SCENARIOS[0]
    with harness(fake_api, tmp_path, mode="default") as h:
        path = h.ws / "review.py"
        path.write_bytes(sc.disk)
        buf = h.open(path)
        opened = h.state(buf)
        ids = h.queue_calls(path, sc.calls)
        run_id = h.ask(buf, "append a test")
        accepted = 0
        for _ in sc.calls:
            shown = h.lua(
                "return vim.wait(30000, function() local r = require('claw.review').get() "
                "return r ~= nil and r ~= _G.last_review end, 20)"
            )
            assert shown, "no review buffer appeared"
            # The inline review: in the file's own buffer, `gA` accepts every hunk.
            h.lua(
                "local r = require('claw.review').get(); _G.last_review = r "
                "assert(r.mode == 'inline' and r.buf == vim.fn.bufnr(...), 'not inline in the buffer') "
                "vim.api.nvim_set_current_win(vim.fn.bufwinid(r.buf)) "
                "vim.api.nvim_feedkeys(vim.keycode('gA'), 'mx', false)",
                buf,
            )
            accepted += 1
        finished = h.wait_run(run_id)
        assert finished is not None, "run did not finish"
        state = h.state(buf)
        from tests.nvim.harness import not_applied, reference

        results = tool_results(fake_api)
        expected = reference(opened["text"], sc.calls)
        report = f"buffer {state}\nexpected {expected!r}\nresults {[results.get(i) for i in ids]}"
        assert state["text"] == expected, report
        for tid in ids[1:]:
            assert not_applied(results.get(tid)) is None, report
        assert path.read_bytes() == sc.disk, "the file on disk changed while open"
        assert accepted == len(sc.calls)


def test_unopened_file_edit_then_bash(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    """An Edit to a file Neovim does not have open goes to disk (no hidden unsaved buffer), so a
    Bash `cat` right after sees the new text."""
    with harness(fake_api, tmp_path, mode="bypassPermissions") as h:
        anchor = h.ws / "anchor.py"
        anchor.write_text("x = 1\n")
        other = h.ws / "pkg" / "other.py"
        other.parent.mkdir()
        other.write_bytes(lf(MODULE))
        buf = h.open(anchor)
        read_id, edit_id, bash_id = h.fresh_id("r"), h.fresh_id("e"), h.fresh_id("b")
        fake_api.queue(
            reply(tool_use("Read", {"file_path": str(other)}, id=read_id)),
            reply(
                tool_use(
                    "Edit",
                    {"file_path": str(other), "old_string": LAST, "new_string": LAST + NEW_TEST},
                    id=edit_id,
                )
            ),
            reply(tool_use("Bash", {"command": f"cat {other}", "description": "show it"}, id=bash_id)),
            reply(text("Done.")),
        )
        run_id = h.ask(buf, "append a test to pkg/other.py")
        finished = h.wait_run(run_id)
        results = tool_results(fake_api)
        info = h.lua("return H.buffer_of(...)", str(other))
        info["records"] = h.lua("return H.records()")
        info["messages"] = h.nvim.exec_lua("return vim.fn.execute('messages')")
        expected = lf(MODULE).decode().replace(LAST, LAST + NEW_TEST)
        report = f"run {finished}\nresults {results}\nbuffer {info}\ndisk {other.read_bytes()!r}"
        assert finished is not None, report
        assert other.read_text() == expected, report
        edit = results.get(edit_id)
        assert edit is not None and not edit["is_error"] and "Not applied" not in edit["text"], report
        bash = results.get(bash_id)
        assert bash is not None and "def test_measure_empty():" in bash["text"], report
        uri = other.as_uri()
        sent = [e for e in info["records"]["apply_edits"] if uri in str(e)]
        assert not sent, "an applyEdit addressed the unopened file\n" + report
        assert not info["modified"], "Neovim holds a modified buffer for the unopened file\n" + report
        # The server shows the edited file (window/showDocument, no focus): Neovim loads it from
        # the disk that already holds the change, so the buffer is the new text and not modified.
        assert not info["loaded"] or info["text"] == expected, report
        assert wait_until(lambda: h.state(buf)["text"] == "x = 1\n"), report
