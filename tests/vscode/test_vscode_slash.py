"""Slash-command completion in a real VS Code: code-server in headless Chromium, the packaged Claw
extension, the real claw-lsp server and the fake Messages API.

`Claw: Ask…` opens a quick pick: typing `/` lists the server's commands (`claw.commands.list`: the
built-ins and a project command from `.claude/commands/`), typing more filters them, Enter on
`/greet` fills `/greet ` and shows its argument hint, and Enter after the arguments sends the
prompt, whose expansion reaches the model. A plain prompt shows no items and is sent as typed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text
from tests.vscode.harness import CodeServerSession, make_env, require_toolchain

pytestmark = pytest.mark.vscode

GREET = "---\ndescription: Greet someone\nargument-hint: <name>\n---\nSay hello to $ARGUMENTS, kindly.\n"


@pytest.fixture(scope="module")
def editor(
    tmp_path_factory: pytest.TempPathFactory, vsix: Path
) -> Iterator[tuple[CodeServerSession, Path, FakeMessagesAPI]]:
    require_toolchain()
    root = tmp_path_factory.mktemp("vscode-slash")
    ws = (root / "workspace").resolve()
    (ws / ".claude" / "commands").mkdir(parents=True)
    (ws / ".claude" / "commands" / "greet.md").write_text(GREET)
    (ws / "app.py").write_text('print("hi")\n')
    with FakeMessagesAPI(default=reply(text("Done."))) as api:
        env = {**make_env(root / "home"), **api.env()}
        session = CodeServerSession(root, vsix, ws, env, screenshot="vscode-slash-final.png")
        try:
            session.start()
            yield session, ws, api
        finally:
            session.stop()


def user_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


@pytest.mark.timeout(300)
def test_ask_completes_slash_commands_and_sends_the_typed_prompt(
    editor: tuple[CodeServerSession, Path, FakeMessagesAPI],
) -> None:
    session, ws, api = editor
    session.open(ws / "app.py")

    session.act("palette", title="Claw: Ask…")
    listed = session.act("quickInput", expect="Ask Claw about app.py", type="/", row="/greet")
    shown = "\n".join(listed["rows"])
    for name in ("/compact", "/clear", "/model", "/cost", "/help", "/greet"):
        assert name in shown, listed
    assert "Greet someone (project)" in shown and "<name>" in shown, listed

    filtered = session.act("quickInput", expect="Ask Claw", type="gr")
    assert filtered["value"] == "/gr" and len(filtered["rows"]) == 1, filtered
    assert filtered["rows"][0].startswith("/greet"), filtered

    picked = session.act("quickInput", expect="Ask Claw", press="Enter")
    assert picked["visible"] and picked["value"] == "/greet ", picked  # filled for the arguments
    assert len(picked["rows"]) == 1 and "<name>" in picked["rows"][0], picked  # the hint shows

    sent = session.act("quickInput", expect="Ask Claw", type="world", press="Enter")
    assert not sent["visible"], sent
    request = session.wait_for("the command's request", lambda: api.requests and api.requests[-1])
    assert user_text(request.body).endswith("Say hello to world, kindly."), json.dumps(request.body)[:2000]
    assert "app.py" in user_text(request.body)  # the editor's context went along

    session.wait_status(lambda s: s.get("runs") and not any(r.get("running") for r in s["runs"]), 60)
    session.act("palette", title="Claw: Ask…")
    plain = session.act("quickInput", expect="Ask Claw", type="what does app.py print?")
    assert plain["rows"] == [], plain  # a plain prompt offers nothing to pick
    gone = session.act("quickInput", expect="Ask Claw", press="Enter")
    assert not gone["visible"], gone
    second = session.wait_for(
        "the plain prompt's request", lambda: len(api.requests) >= 2 and api.requests[-1]
    )
    assert user_text(second.body).endswith("what does app.py print?"), json.dumps(second.body)[:2000]


@pytest.mark.timeout(300)
def test_the_transcript_follow_up_completes_slash_commands(
    editor: tuple[CodeServerSession, Path, FakeMessagesAPI],
) -> None:
    session, ws, api = editor
    # A command added after the panel opened is listed once a run has finished.
    (ws / ".claude" / "commands" / "grumble.md").write_text(
        "---\ndescription: Complain a little\n---\nGrumble.\n"
    )
    session.act("palette", title="Claw: Show Transcript")
    session.ask(ws / "app.py", "say hi")
    before = len(api.requests)

    def grumble_listed() -> dict[str, Any] | None:
        shown: dict[str, Any] = session.act("transcriptInput", clear=True, type="/gr")
        return shown if any(r.startswith("/grumble") for r in shown["rows"]) else None

    listed = session.wait_for("/grumble in the transcript's completion", grumble_listed, 30)
    assert len(listed["rows"]) == 2 and listed["rows"][0].startswith("/greet"), listed
    assert listed["active"].startswith("/greet") and "<name>" in listed["active"], listed
    moved = session.act("transcriptInput", press="ArrowDown")
    assert moved["active"].startswith("/grumble"), moved
    session.act("transcriptInput", press="ArrowUp")
    picked = session.act("transcriptInput", press="Tab")
    assert picked["value"] == "/greet ", picked
    assert len(picked["rows"]) == 1 and "<name>" in picked["rows"][0], (
        picked
    )  # the hint while typing arguments
    done = session.act("transcriptInput", type="the team", press="Enter")
    assert done["value"] == "" and done["rows"] == [], done
    request = session.wait_for(
        "the follow-up's request", lambda: len(api.requests) > before and api.requests[-1]
    )
    assert user_text(request.body).endswith("Say hello to the team, kindly."), json.dumps(request.body)[:2000]
