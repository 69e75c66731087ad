"""The edit shapes real agents make, through real Emacs eglot, the real server and the fake model.

Issue 9: eglot bumps its document version at once on every buffer change but sends didChange only
after `eglot-send-changes-idle-time`, and refuses a TextDocumentEdit whose version is not its
current one ("Edits on `x' require version N, you have M"). Each case below scripts Read then
Edit / MultiEdit / Write calls and checks (tests/eglot/harness.py) that the Emacs buffer holds
exactly the same calls applied to the disk text, that the model was told the edit applied, and that
the disk did not change behind the open buffer. The cases run in one Emacs per permission mode, at
eglot's default idle time (0.5 s), started with `workspace/executeCommand claw.ask` or eglot's
own code action menu.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.corpus.realedits import Call
from tests.eglot.harness import Case, assert_all_pass, run_batch
from tests.fakes.fake_messages_api import FakeMessagesAPI

pytestmark = [pytest.mark.eglot, pytest.mark.timeout(900)]

APP = "import os\n\n\ndef main() -> int:\n    print(os.getcwd())\n    return 0\n"


def edit(path: str, old: str, new: str) -> Call:
    return ("Edit", {"file_path": path, "old_string": old, "new_string": new})


def multi(path: str, *pairs: tuple[str, str]) -> Call:
    return ("MultiEdit", {"file_path": path, "edits": [{"old_string": o, "new_string": n} for o, n in pairs]})


def write(path: str, content: str) -> Call:
    return ("Write", {"file_path": path, "content": content})


def shape_cases(root: Path, tag: str = "") -> list[Case]:
    """One case per boundary shape; ids (and folders) end with `tag`."""
    cases: list[Case] = []

    def case(name: str, text: str | bytes, make: object, **kw: object) -> None:
        cid = name + tag
        rel = f"{cid}/app.py"
        path = str(root / rel)
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        calls = make(path)  # type: ignore[operator]
        cases.append(Case(id=cid, files={rel: data}, calls=calls, **kw))  # type: ignore[arg-type]

    case(
        "append-eof",
        APP,
        lambda p: [
            edit(
                p,
                "    return 0",
                "    return 0\n\n\nif __name__ == '__main__':\n    raise SystemExit(main())",
            )
        ],
    )
    case(
        "append-eof-with-newline",
        APP,
        lambda p: [edit(p, "    return 0\n", "    return 0\n\n\nmain()\n")],
    )
    case(
        "insert-start",
        APP,
        lambda p: [
            edit(p, "import os\n", '"""The app."""\n\nfrom __future__ import annotations\n\nimport os\n')
        ],
    )
    case(
        "delete-last-lines",
        APP + "\n\n# old trailer\n# remove me\n",
        lambda p: [edit(p, "    return 0\n\n\n# old trailer\n# remove me\n", "    return 0\n")],
    )
    case(
        "delete-last-line-and-newline",
        "a = 1\nb = 2\n",
        lambda p: [edit(p, "a = 1\nb = 2\n", "a = 1")],
    )
    case(
        "write-whole-file",
        APP,
        lambda p: [write(p, "def main() -> None:\n    pass\n\n\nmain()\n")],
    )
    case(
        "no-trailing-newline",
        "a = 1\nb = 2",
        lambda p: [edit(p, "b = 2", "b = 3\nc = 4")],
    )
    case(
        "no-trailing-newline-add-one",
        "a = 1\nb = 2",
        lambda p: [write(p, "a = 1\nb = 2\n")],
    )
    case(
        "only-newline",
        "\n",
        lambda p: [edit(p, "\n", "x = 1\ny = 2\n")],
    )
    case(
        "only-newline-write",
        "\n",
        lambda p: [write(p, "print('hello')\n")],
    )
    case(
        "empty-file",
        "",
        lambda p: [write(p, "print('hello')\nprint('world')\n")],
    )
    case(
        "crlf-append",
        b"a = 1\r\nb = 2\r\nc = 3\r\n",
        lambda p: [edit(p, "c = 3\n", "c = 3\nd = 4\n")],
    )
    case(
        "crlf-multi-first-last",
        b"# first\r\nx = 1\r\ny = 2\r\n# last\r\n",
        lambda p: [multi(p, ("# first\n", "# header\n# two lines\n"), ("# last", "# the end\nz = 3"))],
    )
    case(
        "non-bmp-last-line",
        'x = 1\nmsg = "\U0001f600 hi"\n',
        lambda p: [edit(p, 'msg = "\U0001f600 hi"', 'msg = "\U0001f600 bye \U0001f389"  # \U0001d11e')],
    )
    case(
        "non-bmp-no-eol-append",
        'x = "\U0001f600"\ny = "\U0001f680\U0001f680"',
        lambda p: [edit(p, 'y = "\U0001f680\U0001f680"', 'y = "\U0001f680\U0001f680!"\nz = "\U0001f30d"')],
    )
    case(
        "multiedit-first-and-last-line",
        APP,
        lambda p: [
            multi(p, ("import os\n", "import os\nimport sys\n"), ("    return 0", "    return len(sys.argv)"))
        ],
    )
    case(
        "two-edits-same-file",
        APP,
        lambda p: [
            edit(p, "import os\n", "import os\nimport sys\n"),
            edit(p, "    return 0", "    return len(sys.argv)\n\n\nmain()"),
        ],
    )
    case(
        "three-edits-adjacent",
        "a = 1\nb = 2\nc = 3\n",
        lambda p: [
            edit(p, "c = 3", "c = 30"),
            edit(p, "c = 30\n", "c = 30\nd = 4\n"),
            edit(p, "a = 1", "a = 10"),
        ],
    )
    case(
        "write-same-content",
        APP,
        lambda p: [write(p, APP)],
    )
    case(
        "multiedit-net-no-change",
        APP,
        lambda p: [multi(p, ("return 0", "return 1"), ("return 1", "return 0"))],
    )
    # replace_all on a word of the first and the last line (the corpus never generates it).
    cid = "replace-all-first-last" + tag
    rel = f"{cid}/app.py"
    cases.append(
        Case(
            id=cid,
            files={rel: b"value = 1\nprint(value)\nvalue"},
            calls=[
                (
                    "Edit",
                    {
                        "file_path": str(root / rel),
                        "old_string": "value",
                        "new_string": "total",
                        "replace_all": True,
                    },
                )
            ],
            expected={rel: b"total = 1\nprint(total)\ntotal"},
        )
    )
    # Two open files edited in turn in one run: A, B, A (several hunks across two files).
    cid = "two-files-alternating" + tag
    first, second = f"{cid}/a.py", f"{cid}/b.py"
    pa, pb = str(root / first), str(root / second)
    cases.append(
        Case(
            id=cid,
            files={first: APP.encode(), second: "B = '\U0001f600'\n".encode()},
            calls=[
                edit(pa, "    return 0", "    return 0\n\n\nmain()"),
                edit(pb, "B = '\U0001f600'\n", "B = '\U0001f600'\nC = 2\n"),
                edit(pa, "import os\n", "import os\nimport b\n"),
            ],
        )
    )
    # Started from eglot's code action menu; the model removes the instruction comment itself.
    cid = "action-append" + tag
    rel = f"{cid}/app.py"
    path = str(root / rel)
    comment = f"    # claw: add a main guard [eglot-case {cid}]\n"
    source = "def total(xs):\n" + comment + "    return sum(xs)\n"
    cases.append(
        Case(
            id=cid,
            files={rel: source.encode()},
            calls=[
                edit(path, comment, ""),
                edit(
                    path,
                    "    return sum(xs)",
                    "    return sum(xs)\n\n\nif __name__ == '__main__':\n    print(total([1]))",
                ),
            ],
            start={
                "kind": "action",
                "file": rel,
                "line": 2,
                "title": f"Claw: add a main guard [eglot-case {cid}]",
            },
        )
    )
    # The model leaves the instruction comment: the server removes it with its own versioned edit
    # right after the run's last edit (before eglot's didChange for that one may have arrived).
    for name, before, make, after, line in (
        (
            "action-server-removes",
            "def total(xs):\n    # claw: guard it [eglot-case {cid}]\n    return sum(xs)\n",
            lambda p: [edit(p, "    return sum(xs)", "    if not xs:\n        return 0\n    return sum(xs)")],
            "def total(xs):\n    if not xs:\n        return 0\n    return sum(xs)\n",
            2,
        ),
        (
            "action-last-line-no-eol",
            "x = 1\ny = 2\n# claw: bump it [eglot-case {cid}]",
            lambda p: [edit(p, "y = 2\n", "y = 3\n")],
            "x = 1\ny = 3",
            3,
        ),
    ):
        cid = name + tag
        rel = f"{cid}/app.py"
        source = before.format(cid=cid)
        instruction = source.splitlines()[line - 1].split("claw: ", 1)[1]
        cases.append(
            Case(
                id=cid,
                files={rel: source.encode()},
                calls=make(str(root / rel)),
                expected={rel: after.encode()},
                start={"kind": "action", "file": rel, "line": line, "title": f"Claw: {instruction}"},
            )
        )
    return cases


# bypassPermissions takes the same path to the buffer; it runs in make stress.
@pytest.mark.parametrize("mode", ["acceptEdits", pytest.param("bypassPermissions", marks=pytest.mark.stress)])
def test_boundary_shapes_land_in_the_buffer(workspace: Path, fake_api: FakeMessagesAPI, mode: str) -> None:
    """Every shape: buffer == reference, tool_result applied, disk untouched (eglot's default idle)."""
    cases = shape_cases(workspace)
    assert_all_pass(run_batch(cases, workspace, fake_api, mode=mode))


def test_boundary_shapes_with_slow_and_fast_didchange(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    """The same shapes with didChange after 2 s and after 0.01 s (the stale-version window)."""
    slow = shape_cases(workspace, "@slow")
    fast = shape_cases(workspace, "@fast")
    for case in slow:
        case.idle = 2.0
    for case in fast:
        case.idle = 0.01
    picked = {"append-eof", "two-edits-same-file", "three-edits-adjacent", "crlf-append", "non-bmp-last-line"}
    cases = [c for c in slow + fast if c.id.split("@")[0] in picked]
    assert_all_pass(run_batch(cases, workspace, fake_api, mode="acceptEdits"))


def test_stale_version_refusals_are_retried_from_the_next_did_change(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    """Issue 9's race made certain: when an applyEdit arrives, eglot's version has already moved on
    (the buffer was changed and changed back; its didChange comes after the idle time), so eglot
    refuses it ("require version N, you have M"). The server waits for the didChange, retries from
    the fresh buffer, and the model is told the edit applied (never that the user edited)."""
    picked = {
        "append-eof": 1,
        "no-trailing-newline": 1,
        "crlf-append": 1,
        "non-bmp-last-line": 1,
        "multiedit-first-and-last-line": 1,
        "two-edits-same-file": 2,  # the first edit's retry is refused once more
        "action-server-removes": 2,  # the model's edit, then the server's comment removal
    }
    cases = [c for c in shape_cases(workspace, "@stale") if c.id.split("@")[0] in picked]
    for case in cases:
        case.bump = picked[case.id.split("@")[0]]
    outcomes = run_batch(cases, workspace, fake_api, mode="acceptEdits")
    assert_all_pass(outcomes)
    for outcome in outcomes:
        told = " ".join(body for _n, _a, body, _e in outcome.results)
        assert not re.search(r"\buser\b.{0,20}\b(edit|typ|chang|modif)", told, re.I), (outcome.case.id, told)
        assert "require version" in outcome.events(), f"{outcome.case.id}: eglot never refused an edit"


def test_default_mode_review_through_show_message_request(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    """default mode: each edit is reviewed with window/showMessageRequest; "Apply" lands it."""
    cases = [c for c in shape_cases(workspace) if c.id in {"append-eof", "two-edits-same-file"}]
    for case in cases:
        case.answers = ["Apply"] * len(case.calls)
    outcomes = run_batch(cases, workspace, fake_api, mode="default")
    assert_all_pass(outcomes)
    for outcome in outcomes:
        asked = outcome.record.get("requests", [])
        assert len(asked) == len(outcome.case.calls), asked
        assert all("app.py" in q for q in asked), asked


def test_file_emacs_does_not_visit_is_written_on_disk_and_bash_sees_it(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    """Point 2: Edit a file eglot does not have open, then Bash `cat` it: the disk holds the new
    text, Bash printed it, Emacs has no modified buffer for it (no TextDocumentEdit was sent)."""
    opened, other, created = "side/app.py", "side/other.py", "side/new_module.py"
    crlf = "side/notes.txt"
    other_path, created_path, crlf_path = (str(workspace / rel) for rel in (other, created, crlf))
    case = Case(
        id="not-visited",
        files={
            opened: APP.encode(),
            other: b"VALUE = 1\n# end\n",
            created: b"",
            crlf: b"one\r\ntwo\r\n",  # stays CRLF on disk (the reference: apply_calls)
        },
        absent=[created],
        open=[opened],
        reads=[other, crlf],
        calls=[
            edit(other_path, "# end", "VALUE_2 = 'from the agent'\n# end"),
            ("Bash", {"command": f"cat {other_path}", "description": "Show the file"}),
            ("Write", {"file_path": created_path, "content": "CREATED = True\n"}),
            ("Bash", {"command": f"cat {created_path}", "description": "Show the new file"}),
            edit(crlf_path, "two\n", "two\nthree \U0001f600\n"),
            ("Bash", {"command": f"od -c {crlf_path} | head -3", "description": "Show the bytes"}),
        ],
        tool_output={1: "VALUE_2 = 'from the agent'", 3: "CREATED = True", 5: "\\r  \\n   t   h   r   e   e"},
    )
    outcomes = run_batch([case], workspace, fake_api, mode="bypassPermissions")
    assert_all_pass(outcomes)
