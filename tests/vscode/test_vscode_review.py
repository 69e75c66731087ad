"""Inline review in a real VS Code: code-server in headless Chromium, the packaged Claw extension, the
real claw-lsp server in the `default` permission mode and the fake Messages API.

A `claw/review` is shown in the file's own editor: red removed lines, the added lines summed up at
the hunk's line with the full text in a hover, and a CodeLens row over each hunk (Accept · Reject ·
Reject with feedback… · Diff). The browser (drive.mjs `serve`, its control channel) clicks those
lenses, presses Ctrl+P in between, closes the editor; the extension's control channel
(src/e2eHook.ts) reads the pending reviews, the document and the transcript. Nothing may change in
the document before every hunk is decided; then the server applies the accepted hunks, and the
feedback for the rejected ones reaches the model in its next request.

Screenshots: vscode-inline-review*.png in the artifacts directory ($CLAW_ARTIFACTS, else
tests/vscode/artifacts).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_messages_api import (
    FakeMessagesAPI,
    RecordedRequest,
    Responder,
    Response,
    reply,
    text,
    thinking,
    tool_use,
)
from tests.vscode.harness import ARTIFACTS, CodeServerSession, make_env, require_toolchain

pytestmark = pytest.mark.vscode

RETRY_PY = '''"""Retry helpers."""

import time


def retry(fn, attempts=3):
    for i in range(attempts):
        try:
            return fn()
        except OSError:
            time.sleep(0.5)
    return fn()


def backoff(n):
    """Seconds to wait before attempt n."""
    return 0.5 * 2**n


def jitter(value):
    return value * 1.1
'''
HUNK1_OLD = "def retry(fn, attempts=3):\n"
HUNK1_NEW = 'def retry(fn, attempts=3):\n    """Call fn, retrying on OSError."""\n'
HUNK2_OLD = "    return value * 1.1\n"
HUNK2_NEW = "    return value * 1.25\n"
FEEDBACK = "use a constant"
USER_LINE = "# typed by the user while the review waits\n"
# What the transcript must render literally: names with underscores, HTML, code.
ANSWER = (
    "Added a docstring to `retry()`; snake_case_name and __init__ stay as they are. <b>not bold</b> *done*"
)


@dataclass
class Editor:
    session: CodeServerSession
    ws: Path
    api: FakeMessagesAPI

    def script(self, *turns: Response | Responder) -> int:
        """Queues the model's turns of the next run; returns how many requests came before."""
        with self.api._lock:
            self.api._queue.clear()
        self.api.queue(*turns)
        return len(self.api.requests)

    def pending(self, changes: int = 1) -> list[dict[str, Any]]:
        """Waits until `changes` reviews are pending; returns them."""
        reviews: list[dict[str, Any]] = self.session.wait_for(
            f"{changes} pending review(s)",
            lambda: (r := self.session.reviews()) and len(r) == changes and r,
            60,
        )
        return reviews


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory, vsix: Path) -> Iterator[Editor]:
    require_toolchain()
    root = tmp_path_factory.mktemp("vscode-review")
    ws = (root / "workspace").resolve()
    (ws / ".claw").mkdir(parents=True)
    (ws / ".claw" / "settings.json").write_text(json.dumps({"permissionMode": "default"}))
    (ws / "README.md").write_text("A workspace for the review tests.\n")
    with FakeMessagesAPI(default=reply(text("Done."))) as api:
        env = {**make_env(root / "home"), **api.env()}
        session = CodeServerSession(root, vsix, ws, env, screenshot="vscode-review-final.png")
        try:
            session.start()
            session.act(
                "auto", reviews=False, permissions=False
            )  # these tests answer every question themselves
            yield Editor(session, ws, api)
        finally:
            session.stop()


def _lens_rows(editor: Editor, label: str) -> list[str]:
    rows: list[str] = editor.session.act("lenses")
    return [r for r in rows if label in r]


@pytest.mark.timeout(300)
def test_inline_review_accept_one_hunk_reject_the_other_with_feedback(editor: Editor) -> None:
    session = editor.session
    path = editor.ws / "retry_utils.py"
    path.write_text(RETRY_PY)
    opened = session.open(path)
    assert opened["text"] == RETRY_PY, opened
    edit = {
        "file_path": str(path),
        "edits": [
            {"old_string": HUNK1_OLD, "new_string": HUNK1_NEW},
            {"old_string": HUNK2_OLD, "new_string": HUNK2_NEW},
        ],
    }
    before = editor.script(
        reply(
            thinking("Read retry_utils.py first, then document retry()."),
            tool_use("Read", {"file_path": str(path)}, id="toolu_rv_read"),
        ),
        reply(tool_use("MultiEdit", edit, id="toolu_rv_edit")),
        reply(text(ANSWER)),
    )
    prompt = "Document retry() in retry_utils.py and tune jitter()."
    run_id = session.start_run(path, prompt)

    # The review is inline: two hunks with their CodeLens rows, the status bar item, the document untouched.
    (review,) = editor.pending()
    assert [h["state"] for h in review["hunks"]] == ["open", "open"], review
    session.wait_for(
        "the CodeLens rows of both hunks",
        lambda: _lens_rows(editor, "hunk 2 of 2") and _lens_rows(editor, "hunk 1 of 2"),
    )
    rows = _lens_rows(editor, "hunk 1 of 2")
    for lens in ("Accept", "Reject", "Reject with feedback…", "Diff", "Accept all", "Reject all"):
        assert lens in rows[0], rows
    assert "Accept all" not in _lens_rows(editor, "hunk 2 of 2")[0]
    status = session.act("status")
    assert status["review"] == "Claw: review 2 hunks", status
    hover = session.act(
        "hoverLine", text="return value * 1.1", expect="Claw proposes", contains="+    return value * 1.25"
    )
    assert "+    return value * 1.25" in hover["text"], hover
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    session.act("screenshot", path=str(ARTIFACTS / "vscode-inline-review.png"))
    assert session.document(path)["text"] == RETRY_PY

    # Ctrl+P (and the command palette) come and go: the review stays pending and decidable.
    quick = session.act("quickOpen", text="README", expect="README.md")
    assert "README.md" in quick["shown"], quick
    session.act("quickOpen", text=">Claw: Show Status", expect="Claw: Show Status")
    (still,) = session.reviews()
    assert still["changeId"] == review["changeId"], still
    assert [h["state"] for h in still["hunks"]] == ["open", "open"], still
    assert session.act("status")["review"] == "Claw: review 2 hunks"

    # The user types a line at the top: the hunks move down with their lines.
    session.act("typeInEditor", line=1, text=USER_LINE)
    session.wait_for(
        "the user's line in the document", lambda: session.document(path)["text"] == USER_LINE + RETRY_PY
    )
    lines = [h["line"] + 1 for h in review["hunks"]]
    moved = session.wait_for(
        "the hunks to move down a line",
        lambda: (r := session.reviews()[0]) and [h["line"] for h in r["hunks"]] == lines and r,
    )
    assert not any(h["touched"] for h in moved["hunks"]), moved

    # Hunk 1: Accept, clicked in the editor. Nothing lands yet.
    session.act("clickLens", label="hunk 1 of 2", text="Accept")
    session.wait_for("hunk 1 accepted", lambda: session.reviews()[0]["hunks"][0]["state"] == "accepted")
    assert session.document(path)["text"] == USER_LINE + RETRY_PY, (
        "the document changed before every hunk was decided"
    )
    session.wait_for(
        "the status bar to count one hunk", lambda: session.act("status")["review"] == "Claw: review 1 hunk"
    )
    session.act("screenshot", path=str(ARTIFACTS / "vscode-inline-review-partial.png"))

    # Hunk 2: Reject with feedback… ; the input box asks what to do instead.
    session.act("clickLens", label="hunk 2 of 2", text="Reject with feedback…")
    shown = session.act("answerInput", expect="What should Claw do instead", text=FEEDBACK)
    assert "hunk 2 of 2" in shown["shown"], shown
    finished = session.wait_run(run_id)
    assert finished.get("stopReason") == "end_turn", finished
    assert session.reviews() == []
    assert session.act("status")["review"] == ""

    # The document holds the user's line and hunk 1, not hunk 2 (unsaved: the disk keeps the old text).
    expected = USER_LINE + RETRY_PY.replace(HUNK1_OLD, HUNK1_NEW)
    doc = session.document(path)
    assert doc["text"] == expected, doc
    assert doc["isDirty"] and path.read_text() == RETRY_PY

    # The model's next request carries the feedback, named by its hunk.
    requests = editor.api.requests[before:]
    results = {r.tool_use_id: r for req in requests for r in req.tool_results()}
    edit_result = results["toolu_rv_edit"].text
    assert f"Hunk 2: {FEEDBACK}" in edit_result, edit_result
    assert "return value * 1.25" in edit_result, edit_result  # the rejected hunk, shown to the model

    # The transcript: the prompt, thinking (folded), the Read output, a partial mark with the diff
    # that landed, the rejected hunk and the feedback, the answer rendered literally, the cost.
    transcript = session.wait_for(
        "the transcript to show the finished run",
        lambda: (t := session.act("transcript")) and "Run finished" in t["text"] and t,
    )
    html, content, shown_text = transcript["html"], transcript["content"], transcript["text"]
    assert prompt in shown_text, shown_text
    assert 'data-kind="thought"' in html and "Read retry_utils.py first" in content, html
    assert "Read retry_utils.py first" not in shown_text, "thinking must be folded"
    assert "def backoff(n):" in content, content  # the Read tool's output, folded in <details>
    assert 'data-id="toolu_rv_edit"' in html and 'data-mark="partial"' in html, html
    assert "partially applied" in shown_text, shown_text
    assert '"""Call fn, retrying on OSError."""' in content, "the diff that landed"
    assert f"Hunk 2: {FEEDBACK}" in shown_text, shown_text
    assert "Rejected hunk 2" in shown_text, shown_text
    assert "snake_case_name and __init__ stay as they are. <b>not bold</b>" in shown_text, shown_text
    assert "<code>retry()</code>" in html and "<em>done</em>" in html and "<b>" not in html, html
    assert "$" in shown_text[shown_text.rindex("Run finished") :], shown_text


@pytest.mark.timeout(300)
def test_pending_review_survives_closing_its_editor_and_ends_with_the_run(editor: Editor) -> None:
    session = editor.session
    path = editor.ws / "greeting.py"
    disk = 'def greet(name):\n    return "Hello, " + nam\n'
    path.write_text(disk)
    session.open(path)
    editor.script(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(tool_use("Edit", {"file_path": str(path), "old_string": "+ nam\n", "new_string": "+ name\n"})),
        reply(text("Fixed greet().")),
    )
    run_id = session.start_run(path, "Fix greet().")
    (review,) = editor.pending()
    session.wait_for("the hunk's CodeLens", lambda: _lens_rows(editor, "hunk 1 of 1"))

    # Closed: the review waits; "Claw: Show Pending Review" brings the editor and its lenses back.
    assert session.call("closeEditors", path=str(path))["closed"] >= 1
    session.wait_for("the lenses to go with the editor", lambda: not _lens_rows(editor, "hunk 1 of 1"))
    assert [r["changeId"] for r in session.reviews()] == [review["changeId"]]
    session.act("palette", title="Claw: Show Pending Review")
    session.wait_for("the review shown again", lambda: _lens_rows(editor, "hunk 1 of 1"))
    # Closed again: the status bar item reopens it too.
    session.call("closeEditors", path=str(path))
    session.wait_for("the lenses to go with the editor", lambda: not _lens_rows(editor, "hunk 1 of 1"))
    session.act("clickStatus", text="Claw: review 1 hunk")
    session.wait_for("the review shown from the status bar", lambda: _lens_rows(editor, "hunk 1 of 1"))
    pending = session.act("transcript")["pending"]
    assert "Waiting for your review of greeting.py" in pending, pending

    # The run is cancelled: the review is cleared, nothing lands.
    session.act("palette", title="Claw: Cancel Run")
    finished = session.wait_run(run_id)
    assert finished.get("stopReason") == "cancelled", finished
    session.wait_for("the review to be cleared", lambda: session.reviews() == [])
    session.wait_for("the lenses to go", lambda: not _lens_rows(editor, "hunk 1 of 1"))
    assert session.act("status")["review"] == ""
    assert session.document(path)["text"] == disk
    with editor.api._lock:
        editor.api._queue.clear()


@pytest.mark.timeout(300)
def test_review_in_the_diff_editor_opens_in_the_files_group_and_is_decided_there(editor: Editor) -> None:
    session = editor.session
    path = editor.ws / "config_values.py"
    disk = "TIMEOUT = 10\nRETRIES = 3\n"
    path.write_text(disk)
    session.open(path)
    editor.script(
        reply(tool_use("Read", {"file_path": str(path)})),
        reply(
            tool_use(
                "Edit", {"file_path": str(path), "old_string": "RETRIES = 3\n", "new_string": "RETRIES = 5\n"}
            )
        ),
        reply(text("Raised RETRIES.")),
    )
    session.act("palette", title="Claw: Show Transcript")
    run_id = session.start_run(path, "Raise RETRIES to 5.")
    editor.pending()
    session.act("clickLens", label="hunk 1 of 1", text="Diff")
    shown = session.wait_for(
        "the diff editor showing old and proposed text",
        lambda: (
            (e := session.act("editor")) and "Claw proposal" in e["tab"] and "RETRIES = 5" in e["text"] and e
        ),
    )
    assert "RETRIES = 3" in shown["text"], shown
    tabs = session.call("tabs")
    diff_group = next(t["group"] for t in tabs if t["kind"] == "diff" and "Claw proposal" in t["label"])
    file_group = next(t["group"] for t in tabs if t.get("path") == str(path))
    webview_groups = {t["group"] for t in tabs if t["kind"] == "webview"}
    assert webview_groups, f"the transcript is not open: {tabs}"
    assert diff_group == file_group and diff_group not in webview_groups, tabs
    # The diff editor's title bar decides the whole change (VS Code shows no CodeLens in diff editors).
    session.act("clickEditorAction", label="Accept All Pending Hunks")
    assert session.wait_run(run_id).get("stopReason") == "end_turn"
    assert session.document(path)["text"] == "TIMEOUT = 10\nRETRIES = 5\n"
    session.wait_for("the diff tab to close", lambda: "Claw proposal" not in session.act("editor")["tab"])


@pytest.mark.timeout(300)
def test_two_files_pending_at_once_each_revealed_from_the_transcript(editor: Editor) -> None:
    session = editor.session
    files = {name: editor.ws / f"{name}_mod.py" for name in ("alpha", "beta")}
    for name, path in files.items():
        path.write_text(f"NAME = '{name}'\nVALUE = 1\n")

    def route(req: RecordedRequest) -> Response:
        """Each run's next turn, whichever run asks first: Read, Edit, then an answer."""
        messages = req.body.get("messages", [])
        first = json.dumps(messages[0]) if messages else ""
        name = next(n for n in files if f"{n}_mod.py" in first)
        path = str(files[name])
        turns = sum(1 for m in messages if m.get("role") == "assistant")
        if turns == 0:
            return reply(tool_use("Read", {"file_path": path}))
        if turns == 1:
            return reply(
                tool_use(
                    "Edit", {"file_path": path, "old_string": "VALUE = 1\n", "new_string": "VALUE = 2\n"}
                )
            )
        return reply(text(f"Set VALUE in {name}_mod.py."))

    editor.script(*[route] * 6)
    runs = {}
    for name, path in files.items():
        session.open(path)
        runs[name] = session.start_run(path, f"Set VALUE to 2 in {name}_mod.py.")
    reviews = {Path(r["path"]).stem.split("_")[0]: r for r in editor.pending(changes=2)}
    assert set(reviews) == {"alpha", "beta"}, reviews
    session.wait_for(
        "the status bar to count both", lambda: session.act("status")["review"] == "Claw: review 2 hunks"
    )
    pending = session.wait_for(
        "the transcript to list both reviews",
        lambda: (
            (p := session.act("transcript")["pending"]) and "alpha_mod.py" in p and "beta_mod.py" in p and p
        ),
    )
    assert pending.count("Show review") == 2, pending

    # Each one is revealed from its transcript button and decided in its own editor.
    for name, decision in (("alpha", "Reject"), ("beta", "Accept")):
        change_id = reviews[name]["changeId"]
        session.act("clickTranscript", selector=f'button[data-change-id="{change_id}"]')
        session.wait_for(
            f"{name}_mod.py in front", lambda n=name: f"{n}_mod.py" in session.act("editor")["tab"]
        )
        session.act("clickLens", label="hunk 1 of 1", text=decision)
        assert session.wait_run(runs[name]).get("stopReason") == "end_turn"
    assert session.document(files["alpha"])["text"] == "NAME = 'alpha'\nVALUE = 1\n"
    assert session.document(files["beta"])["text"] == "NAME = 'beta'\nVALUE = 2\n"
    assert session.reviews() == [] and session.act("status")["review"] == ""


@pytest.mark.timeout(200)
def test_permission_shows_title_and_command_once_and_a_denial_shows_in_the_transcript(editor: Editor) -> None:
    session = editor.session
    editor.script(
        reply(
            tool_use(
                "Bash", {"command": "make clean", "description": "Clean the build output"}, id="toolu_rv_bash"
            )
        ),
        reply(text("Left the build alone.")),
    )
    run_id = session.start_run(None, "Clean the build.")
    shown = session.act("pickQuick", expect="Claw asks permission", label="Reject")["shown"]
    assert "Claw asks permission: Clean the build output" in shown, shown
    # The command once (the "Always allow Bash(make clean:*)" rules aside), not also in a detail line.
    assert shown.replace("Bash(make clean:*)", "").count("make clean") == 1, shown
    assert session.wait_run(run_id).get("stopReason") == "end_turn"
    transcript = session.wait_for(
        "the denied call in the transcript",
        lambda: (t := session.act("transcript")) and "Left the build alone." in t["text"] and t,
    )
    html = transcript["html"]
    tool = html[html.index('data-id="toolu_rv_bash"') :]
    assert 'data-mark="denied"' in tool[:200], html
    assert "Denied" in transcript["text"], transcript["text"]
