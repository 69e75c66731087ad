"""The edit path in a real VS Code (issue 9): code-server in headless Chromium, the packaged Claw
extension, the real claw-lsp server and the fake Messages API scripting Read, then Edit / MultiEdit /
Write, as real agents make them.

All tests of this module share ONE code-server session (tests/vscode/harness.py). Runs are started
and documents read through the extension's test-only control channel (editors/vscode/src/e2eHook.ts,
on only when CLAW_E2E_CONTROL_FILE is set): the editor's text is VS Code's own `document.getText()`.
Chromium runs drive.mjs `serve`, which answers diff reviews (Accept) through the real quick pick.

For every edit to an OPEN file: the document's text equals the tool calls applied to the disk text
(the reference: tests/corpus/realedits.apply_calls), the tool_results the model got say applied (no
"Not applied", no error), and the file on disk is unchanged (the editor is dirty). A file VS Code
does not have open is written on disk, a following Bash sees it, and VS Code shows no dirty editor
for it. Real file pairs from tests/corpus/realedits.py replay the same way (4 + 2 CRLF / non-BMP
variants by default, 60 + 20 under `-m stress`).

The workspace's .claw/settings.json says acceptEdits (and allows `Bash(cat:*)`); the last tests
switch `claw.permissionMode` (the extension restarts the server) to bypassPermissions for a few
shapes, then to `default` to take one edit through the diff review.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.corpus import realedits, replay
from tests.fakes.fake_messages_api import FakeMessagesAPI, RecordedRequest, reply, text, tool_use
from tests.fakes.fixtures import trust
from tests.vscode.harness import CodeServerSession, make_env, require_toolchain

pytestmark = pytest.mark.vscode

Call = realedits.Call


# ---------------------------------------------------------------------------------------------
# The session


@dataclass
class Editor:
    """The module's code-server session, its workspace and the fake model."""

    session: CodeServerSession
    ws: Path
    api: FakeMessagesAPI

    def run(self, path: Path | None, prompt: str, calls: list[Call], *, timeout: float = 90.0) -> Run:
        """One run: the model calls each tool in turn, then ends; returns what the model got back."""
        start = len(self.api.requests)
        ids = [f"toolu_e2e_{start}_{i}" for i in range(len(calls))]
        turns = [reply(tool_use(n, a, id=tid), chunk=64) for tid, (n, a) in zip(ids, calls, strict=True)]
        self.api.queue(
            *turns,
            reply(text("Done."), chunk=64),
        )
        try:
            finished = self.session.ask(path, prompt, timeout=timeout)
        finally:
            left = self.api.pending
            with self.api._lock:  # a run that stopped early must not leave its turns to the next run
                self.api._queue.clear()
        assert left == 0, f"the run ended before asking for {left} of its scripted turns: {finished}"
        assert finished["update"].get("stopReason") == "end_turn", f"the run did not end well: {finished}"
        return Run(finished, self.api.requests[start:], ids, calls)


@dataclass
class Run:
    finished: dict[str, Any]
    requests: list[RecordedRequest]
    ids: list[str]
    calls: list[Call]

    def results(self) -> dict[str, tuple[str, bool]]:
        """tool_use_id -> (tool_result text, is_error), from the requests the model received."""
        return replay.tool_results(self.requests)

    def assert_applied(self) -> None:
        """Every tool call of the run got a result that is no error and no "Not applied"."""
        results = self.results()
        for tid, (name, _args) in zip(self.ids, self.calls, strict=True):
            assert tid in results, f"{name} ({tid}) got no tool_result; the run: {self.finished}"
            body, is_error = results[tid]
            assert not is_error, f"{name} failed: {body}"
            assert "not applied" not in body.lower(), f"{name}: {body}"


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory, vsix: Path) -> Iterator[Editor]:
    require_toolchain()
    root = tmp_path_factory.mktemp("vscode-edits")
    ws = (root / "workspace").resolve()
    (ws / ".claw").mkdir(parents=True)
    (ws / ".claw" / "settings.json").write_text(
        json.dumps(
            # Real file pairs take up to ~100 edits in one run; no auto-compaction (its summary request
            # would take a scripted turn).
            {
                "permissionMode": "acceptEdits",
                "maxTurns": 1000,
                "autoCompactTokens": 1_000_000_000,
                "permissions": {"allow": ["Bash(cat:*)"]},
            }
        )
    )
    (ws / "README.md").write_text("A workspace for the edit tests.\n")
    with FakeMessagesAPI(default=reply(text("Done."))) as api:
        env = {**make_env(root / "home"), **api.env()}
        trust(ws, Path(env["XDG_STATE_HOME"]))  # the folder's own acceptEdits applies once trusted
        session = CodeServerSession(root, vsix, ws, env)
        try:
            session.start()
            yield Editor(session, ws, api)
        finally:
            session.stop()


# ---------------------------------------------------------------------------------------------
# Boundary shapes


@dataclass(frozen=True)
class Shape:
    name: str
    disk: str
    calls: list[Call]
    suffix: str = ".py"


def _edit(old: str, new: str) -> Call:
    return ("Edit", {"old_string": old, "new_string": new})


SHAPES = [
    Shape(
        "append_at_end",
        "def total(xs):\n    return sum(xs)\n",
        [_edit("    return sum(xs)", "    return sum(xs)\n\n\ndef mean(xs):\n    return sum(xs) / len(xs)")],
    ),
    Shape(
        "append_at_end_with_newline",
        "import os\n\nprint(os.sep)\n",
        [_edit("print(os.sep)\n", "print(os.sep)\nprint(os.linesep)\n")],
    ),
    Shape(
        "insert_at_start",
        "import os\nimport sys\n\nprint(sys.argv)\n",
        [_edit("import os\n", '#!/usr/bin/env python3\n"""Prints argv."""\n\nimport os\n')],
    ),
    Shape(
        "delete_last_lines",
        "def main():\n    return 0\n\n\nif __name__ == '__main__':\n    main()\n",
        [_edit("    return 0\n\n\nif __name__ == '__main__':\n    main()\n", "    return 0\n")],
    ),
    Shape(
        "write_whole_file",
        "old = 1\nolder = 2\noldest = 3\n",
        [("Write", {"content": '"""Rewritten."""\n\nNEW = {"a": 1}\n'})],
    ),
    Shape(
        "no_trailing_newline",
        "x = 1\ny = 2",
        [_edit("y = 2", "y = 3\nz = 4")],
    ),
    Shape(
        "only_newline",
        "\n",
        [_edit("\n", "first = 1\nsecond = 2\n")],
    ),
    Shape(
        "empty_file",
        "",
        [("Write", {"content": "print('hello')\n"})],
    ),
    Shape(
        # VS Code normalizes inserted line breaks to the document's EOL (its `normalizesLineEndings`
        # capability); a document without a line break must still end up CRLF when the text says so.
        "empty_file_write_crlf",
        "",
        [("Write", {"content": "[tool]\r\nname = 'x'\r\n"})],
        suffix=".toml",
    ),
    Shape(
        "one_line_no_eol_write_crlf",
        "placeholder",
        [("Write", {"content": "line one\r\nline two\r\n"})],
        suffix=".txt",
    ),
    Shape(
        "crlf",
        "one = 1\r\ntwo = 2\r\nthree = 3\r\n",
        [_edit("two = 2\nthree = 3\n", "two = 2\nthree = 3\nfour = 4\n")],
    ),
    Shape(
        "non_bmp_last_line",
        "title = 'party'\nemoji = '🎉'\n",
        [_edit("emoji = '🎉'", "emoji = '🎉🚀'\nclef = '𝄞'")],
    ),
    Shape(
        "non_bmp_last_line_no_eol",
        "a = 1\nb = '😀 x'",
        [_edit("b = '😀 x'", "b = '😀👍 y'")],
    ),
    Shape(
        "multiedit_first_and_last_line",
        "# first\nalpha = 1\nbeta = 2\ngamma = 3\n# last\n",
        [
            (
                "MultiEdit",
                {
                    "edits": [
                        {"old_string": "# first\n", "new_string": "# header\n# more\n"},
                        {"old_string": "# last\n", "new_string": "# footer\n"},
                    ]
                },
            )
        ],
    ),
]


def _check_open_file_edit(editor: Editor, path: Path, disk: str, calls: list[Call], prompt: str) -> Run:
    opened = editor.session.open(path)
    assert opened["open"] and opened["text"] == disk, opened
    full = [("Read", {"file_path": str(path)}), *[(n, {"file_path": str(path), **a}) for n, a in calls]]
    run = editor.run(path, prompt, full)
    run.assert_applied()
    expected = realedits.apply_calls(disk, calls)  # the reference: the tools' rules on the disk text
    doc = editor.session.document(path)
    assert doc["open"], doc
    assert doc["text"] == expected, f"VS Code holds {doc['text']!r}, the edits give {expected!r}"
    if expected != disk:
        assert doc["isDirty"], doc
    assert path.read_bytes() == disk.encode(), "the file on disk changed behind the open editor"
    return run


@pytest.mark.timeout(400)
@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_edit_of_an_open_file_lands_in_the_editor_exactly(editor: Editor, shape: Shape) -> None:
    path = editor.ws / "shapes" / f"{shape.name}{shape.suffix}"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(shape.disk.encode())
    _check_open_file_edit(editor, path, shape.disk, shape.calls, f"Edit {path.name} ({shape.name}).")
    if "\r\n" in shape.disk:
        assert editor.session.document(path)["eol"] == "CRLF"


@pytest.mark.timeout(200)
def test_edit_of_a_file_vscode_has_not_open_goes_to_disk(editor: Editor) -> None:
    path = editor.ws / "closed" / "notes.txt"
    path.parent.mkdir(exist_ok=True)
    disk = "alpha\nbeta\ngamma"
    path.write_bytes(disk.encode())
    assert not editor.session.document(path)["open"]
    calls: list[Call] = [
        ("Read", {"file_path": str(path)}),
        ("Edit", {"file_path": str(path), "old_string": "gamma", "new_string": "gamma\ndelta 🎯\n"}),
        ("Bash", {"command": f"cat {path}", "description": "Show the file"}),
    ]
    run = editor.run(None, "Append delta to closed/notes.txt and show it.", calls)
    run.assert_applied()
    expected = "alpha\nbeta\ngamma\ndelta 🎯\n"
    assert path.read_bytes() == expected.encode()
    bash_out, _ = run.results()[run.ids[2]]
    assert "delta 🎯" in bash_out, bash_out
    doc = editor.session.document(path)
    assert not doc.get("isDirty") and not doc["tabDirty"], f"VS Code shows a dirty editor for it: {doc}"
    dirty = [d for d in editor.session.documents() if d["path"] == str(path) and d["isDirty"]]
    assert not dirty, dirty


# ---------------------------------------------------------------------------------------------
# Real edits: file pairs from two releases of real projects (tests/corpus/realedits.py)

DEFAULT_PAIRS, DEFAULT_VARIANTS = 4, 1  # 4 real pairs + a CRLF and a non-BMP variant
STRESS_PAIRS, STRESS_VARIANTS = 60, 10


def _replay_pairs(editor: Editor, limit: int, seed: int, variants: int) -> None:
    """`limit` real pairs plus `variants` CRLF and `variants` non-BMP ("a" -> "𝄞") variants of others."""
    pairs = realedits.file_pairs(limit, seed=seed)
    assert len(pairs) >= min(limit, 5), f"the corpus gave {len(pairs)} pairs"
    pairs += realedits.variants(variants, seed=seed)
    failures: list[str] = []
    done = 0
    started = time.monotonic()
    for i, pair in enumerate(pairs):
        folder = f"{i:03d}-{pair.project}-{pair.new_version}".replace("+", "-")
        path = editor.ws / "corpus" / folder / pair.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pair.old.encode())
        calls = realedits.edit_calls(pair, str(path), seed=seed)
        assert calls, pair.name
        try:
            opened = editor.session.open(path)
            assert opened["text"] == pair.old, f"VS Code opened {pair.name} as other text"
            full = calls if calls[0][0] == "Read" else [("Read", {"file_path": str(path)}), *calls]
            prompt = f"Apply the {pair.new_version} changes to {pair.relpath}."
            run = editor.run(path, prompt, full, timeout=60 + 2 * len(full))
            run.assert_applied()
            doc = editor.session.document(path)
            assert doc["text"] == pair.new, _first_difference(doc["text"], pair.new)
            if "\r\n" in pair.old:
                assert doc["eol"] == "CRLF", doc["eol"]
            assert path.read_bytes() == pair.old.encode(), "the file on disk changed behind the open editor"
        except AssertionError as error:
            failures.append(f"{pair.name} ({len(calls)} calls): {str(error)[:1500]}")
        finally:
            editor.session.revert_and_close(path)
        done += 1
    elapsed = time.monotonic() - started
    print(f"replayed {done} file pairs in {elapsed:.0f}s, {len(failures)} failed")
    assert not failures, f"{len(failures)} of {done} file pairs failed:\n" + "\n".join(failures)


def _first_difference(got: str, want: str) -> str:
    pairs = enumerate(zip(got, want, strict=False))
    at = next((i for i, (a, b) in pairs if a != b), min(len(got), len(want)))
    return (
        f"VS Code's text differs from pair.new at offset {at} (lengths {len(got)} / {len(want)}): "
        f"got {got[max(0, at - 60) : at + 60]!r}, want {want[max(0, at - 60) : at + 60]!r}"
    )


@pytest.mark.timeout(300)
def test_real_file_pairs_replay_exactly(editor: Editor) -> None:
    _replay_pairs(editor, DEFAULT_PAIRS, seed=0, variants=DEFAULT_VARIANTS)


@pytest.mark.stress
@pytest.mark.timeout(1800)
def test_many_real_file_pairs_replay_exactly(editor: Editor) -> None:
    _replay_pairs(editor, STRESS_PAIRS, seed=1, variants=STRESS_VARIANTS)


# ---------------------------------------------------------------------------------------------
# Other permission modes (last: they restart the server in another mode)


def _set_mode(editor: Editor, mode: str) -> None:
    """`claw.permissionMode` in the workspace's .vscode/settings.json; the extension restarts the server."""
    vscode_dir = editor.ws / ".vscode"
    vscode_dir.mkdir(exist_ok=True)
    (vscode_dir / "settings.json").write_text(json.dumps({"claw.permissionMode": mode}))
    # The old server may report the new mode (didChangeConfiguration) just before the extension
    # restarts it: wait until the mode has held for a few seconds, so the run goes to the server
    # that will stay (a run started mid-restart could meet a server still in the old mode).
    # Then restart it once more ourselves, with no run going: under load the extension's own restart
    # can come late (it waits for runs it still thinks active), and a run started before it lands on
    # the old server, or is cut off by it. A restart now leaves nothing pending.
    stable_since: float | None = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = editor.session.wait_status(
            lambda s: (
                s.get("permissionMode") == mode and not any(r.get("running") for r in s.get("runs", []))
            ),
            60,
        )
        now = time.monotonic()
        stable_since = stable_since or now
        if now - stable_since >= 4 and status.get("permissionMode") == mode:
            break
        time.sleep(0.5)
        try:
            held = editor.session.status().get("permissionMode") == mode
        except Exception:  # the control channel is down while the server restarts
            held = False
        if not held:
            stable_since = None
    restarted = editor.session.call("restart", timeout=60)
    assert restarted.get("permissionMode") == mode, f"{restarted}\n{editor.session.report()}"


BYPASS_SHAPES = [s for s in SHAPES if s.name in ("append_at_end", "crlf", "multiedit_first_and_last_line")]


@pytest.mark.timeout(200)
@pytest.mark.parametrize("shape", BYPASS_SHAPES, ids=[s.name for s in BYPASS_SHAPES])
def test_edit_in_bypass_permissions_mode_lands_exactly(editor: Editor, shape: Shape) -> None:
    _set_mode(editor, "bypassPermissions")
    path = editor.ws / "bypass" / f"{shape.name}{shape.suffix}"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(shape.disk.encode())
    _check_open_file_edit(editor, path, shape.disk, shape.calls, f"Edit {path.name} ({shape.name}).")


@pytest.mark.timeout(200)
def test_edit_accepted_in_the_diff_review_lands_exactly(editor: Editor) -> None:
    _set_mode(editor, "default")
    before = len(editor.session.answers())
    path = editor.ws / "review" / "tail.py"
    path.parent.mkdir(exist_ok=True)
    disk = "def last():\n    return '🎉'"
    path.write_bytes(disk.encode())
    _check_open_file_edit(
        editor,
        path,
        disk,
        [_edit("    return '🎉'", "    return '🎉🎉'\n\n\ndef after():\n    return None\n")],
        "Append after() to review/tail.py.",
    )
    # The driver writes an answer as it clicks; give a loaded machine a moment to write it.
    deadline = time.monotonic() + 10
    reviews = [a for a in editor.session.answers()[before:] if a["kind"] == "review"]
    while not reviews and time.monotonic() < deadline:
        time.sleep(0.2)
        reviews = [a for a in editor.session.answers()[before:] if a["kind"] == "review"]
    assert reviews, (
        f"no diff review was shown and accepted: {editor.session.answers()}\n"
        f"status {editor.session.status()}\n{editor.session.report()}"
    )
