"""Slash commands through the real language server over stdio: `claw.commands.list` for the
editor's completion, a command's expansion through `claw.ask` (as `:ClawAsk /name args` sends it),
and the built-ins /model and /cost on the session the editor keeps."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text
from tests.lsp.client import ALL_FEATURES, ClawClient, ask, session


def user_text(body: dict) -> str:
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def chunks(client: ClawClient, run_id: str) -> str:
    return "".join(
        e["update"]["content"]["text"]
        for e in client.events
        if e["runId"] == run_id and e["update"]["sessionUpdate"] == "agent_message_chunk"
    )


def setup(workspace: Path, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    skill = home / ".claude" / "skills" / "pdf"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\ndescription: Work with PDFs\nargument-hint: <file>\n---\nPDF\n")
    commands = workspace / ".claude" / "commands"
    commands.mkdir(parents=True)
    (commands / "review.md").write_text(
        "---\ndescription: Review a PR\nargument-hint: <pr> <priority>\nmodel: claude-haiku-4-5\n---\n"
        "Review PR #$1 at priority $2 ($ARGUMENTS).\n"
    )
    return {"HOME": str(home)}


async def test_commands_list_gives_builtins_commands_and_skills(
    workspace: Path, tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    env = {**fake_api.env(), **setup(workspace, tmp_path)}
    async with session(workspace, "visual-studio-code", features=ALL_FEATURES, env=env) as client:
        listed = await client.command("claw.commands.list")
    by_name = {c["name"]: c for c in listed["commands"]}
    assert [c["name"] for c in listed["commands"][:5]] == ["compact", "clear", "model", "cost", "help"]
    assert by_name["review"]["kind"] == "command" and by_name["review"]["scope"] == "project"
    assert by_name["review"]["argumentHint"] == "<pr> <priority>"
    assert by_name["review"]["description"] == "Review a PR (project)"
    assert by_name["pdf"]["kind"] == "skill" and by_name["pdf"]["modelInvocable"] is True
    assert "claw.commands.list" in client.init_result.capabilities.execute_command_provider.commands  # type: ignore[union-attr]


async def test_ask_expands_a_command_and_the_builtins_act_on_the_session(
    workspace: Path, tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    env = {**fake_api.env(), **setup(workspace, tmp_path)}
    fake_api.queue(
        reply(text("Reviewed."), usage={"input_tokens": 900, "output_tokens": 100}),
        reply(text("Hi from opus.")),
    )
    async with session(workspace, "neovim", features=ALL_FEATURES, env=env) as client:
        first = await ask(client, "/review 7 high")
        sid = next(e["sessionId"] for e in client.events if e["runId"] == first)
        body = fake_api.requests[0].body
        assert user_text(body) == "Review PR #7 at priority high (7 high)."
        assert body["model"] == "claude-haiku-4-5"
        switched = await ask(client, "/model claude-opus-4-1", sessionId=sid)
        assert chunks(client, switched) == "Set the model to claude-opus-4-1."
        await ask(client, "hello", sessionId=sid)
        assert fake_api.requests[1].body["model"] == "claude-opus-4-1"
        assert "Review PR #7" in str(fake_api.requests[1].body["messages"])  # same conversation
        cost = await ask(client, "/cost", sessionId=sid)
        assert "Total cost:" in chunks(client, cost) and "910 input" in chunks(client, cost)
        shown = await ask(client, "/model", sessionId=sid)
        assert chunks(client, shown) == "Model: claude-opus-4-1 (anthropic)"
    assert len(fake_api.requests) == 2
