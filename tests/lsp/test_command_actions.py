"""Custom slash commands as code actions through the real language server over stdio: on a
selection, the user's and the project's commands that take code (their name, description or
argument-hint says so) are offered under `refactor.rewrite.claw.command`, project first and capped;
executing one runs `/name` with the selection as context, and the fake Messages API sees the
command's expansion beside the selected code."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text
from tests.lsp.client import ALL_FEATURES, session, wait_run
from tests.lsp.test_code_actions import rng

KIND = "refactor.rewrite.claw.command"
SOURCE = "def area(w, h):\n    return w * h\n\n\nprint(area(2, 3))\n"


def command(folder: Path, name: str, description: str, body: str, hint: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    front = f"description: {description}\n" + (f"argument-hint: {hint}\n" if hint else "")
    (folder / f"{name}.md").write_text(f"---\n{front}---\n{body}\n")


def setup(workspace: Path, tmp_path: Path) -> dict[str, str]:
    """A project command that takes code, one that does not, and one of the user's that takes a
    file; HOME is a temp dir so the user's commands are these."""
    home = tmp_path / "home"
    project = workspace / ".claude" / "commands"
    command(project, "simplify", "Simplify the selected code", "Simplify it. Keep the behaviour; $ARGUMENTS")
    command(project, "deploy", "Deploy to staging", "Run the deploy script.")
    command(home / ".claude" / "commands", "explain-file", "Explain it to a newcomer", "Explain.", "[file]")
    (workspace / "geometry.py").write_text(SOURCE)
    return {"HOME": str(home)}


def user_text(body: dict) -> str:
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


@pytest.mark.parametrize("client_name", ["visual-studio-code", "neovim"])
async def test_a_selection_offers_the_commands_that_take_code_and_runs_one_on_it(
    workspace: Path, tmp_path: Path, fake_api: FakeMessagesAPI, client_name: str
) -> None:
    env = {**fake_api.env(), **setup(workspace, tmp_path)}
    fake_api.queue(reply(text("Simplified.")))
    async with session(workspace, client_name, features=ALL_FEATURES, env=env) as client:
        doc = client.open(workspace / "geometry.py")
        assert not [a for a in await client.code_actions(doc.uri, rng(1, 4)) if a.kind == KIND]
        actions = await client.code_actions(doc.uri, rng(0, 0, 1, 16))
        offered = [a for a in actions if a.kind == KIND]
        assert [a.title for a in offered] == [
            "Claw /simplify: Simplify the selected code (project)",
            "Claw /explain-file: Explain it to a newcomer (user)",
        ]
        assert "Explain with Claw" in [a.title for a in actions]  # the other actions stay
        started = await client.run_action(offered[0])
        await wait_run(client, started["runId"])
    (request,) = fake_api.requests
    sent = user_text(request.body)
    assert "Simplify it. Keep the behaviour;" in sent and "/simplify" not in sent
    assert "The user selected lines 1-2 of geometry.py" in sent
    assert "def area(w, h):\n    return w * h" in sent and "print(area" not in sent


async def test_the_command_actions_are_capped_and_follow_the_only_filter(
    workspace: Path, tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    env = {**fake_api.env(), **setup(workspace, tmp_path)}
    for n in range(8):
        command(workspace / ".claw" / "commands", f"check-{n}", f"Check the code for problem {n}", "Check.")
    async with session(workspace, "visual-studio-code", features=ALL_FEATURES, env=env) as client:
        doc = client.open(workspace / "geometry.py")
        selection = rng(0, 0, 1, 16)
        offered = [a for a in await client.code_actions(doc.uri, selection) if a.kind == KIND]
        names = [a.title.split(":")[0] for a in offered]
        assert len(names) == 5 and "Claw /explain-file" not in names  # the project's come first
        assert "Claw /simplify" in names and "Claw /deploy" not in names

        async def only(*kinds: str) -> list[types.CodeAction | types.Command]:
            result = await client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=doc.uri),
                    range=selection,
                    context=types.CodeActionContext(diagnostics=[], only=list(kinds)),  # type: ignore[arg-type]
                )
            )
            return list(result or [])

        just_commands = await only(KIND)
        assert len(just_commands) == 5 and all(getattr(a, "kind", None) == KIND for a in just_commands)
        assert len([a for a in await only("refactor") if getattr(a, "kind", None) == KIND]) == 5
        assert not await only("quickfix")
    kinds = client.init_result.capabilities.code_action_provider.code_action_kinds  # type: ignore[union-attr]
    assert KIND in [getattr(k, "value", k) for k in kinds]
    assert not fake_api.requests  # listing asks the model nothing
