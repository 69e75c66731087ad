"""Extended thinking (issue 14, point 1): the thinking / effort parameters each model gets, thinking
and redacted-thinking blocks sent back unchanged (in the tool loop, after `--resume` in a new
process and after `/compact`), thought chunks in the CLI, and an OpenAI-compatible endpoint's
reasoning as thinking. The real SDKs talk to the fake Messages API; the CLI runs as a subprocess."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.agent.session import SessionStore
from claw_lsp.config import load_settings
from claw_lsp.core.messages import (
    Message,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from claw_lsp.providers.anthropic import AnthropicModel, build_params
from claw_lsp.providers.base import Delta, ModelRequest
from claw_lsp.providers.openai_compat import OpenAIModel
from tests.fakes.fake_messages_api import (
    FakeMessagesAPI,
    redacted_thinking,
    reply,
    text,
    thinking,
    tool_use,
)
from tests.unit.test_cli import claw, claw_json

KEY = "sk-ant-test-thinking-0123456789"
BETA = "interleaved-thinking-2025-05-14"
# Signatures and encrypted data are base64: `+`, `/` and `=` must survive every round trip.
SIG_A = "EqQBCkYIARgCIkBs+u/9Zw==a/b+c"
SIG_B = "ErcBCkYIBhgCIkD+2/ok=="
REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qyQ=="


@pytest.fixture
async def make(fake_api: FakeMessagesAPI) -> AsyncIterator[Callable[..., AnthropicModel]]:
    """Anthropic models against the fake server; their clients are closed after the test."""
    made: list[AnthropicModel] = []

    def build(model: str, **options: Any) -> AnthropicModel:
        made.append(AnthropicModel(model, api_key=KEY, base_url=fake_api.url, **options))
        return made[-1]

    yield build
    for m in made:
        await m.aclose()


ENABLED = "enabled"
ADAPTIVE = {"type": "adaptive"}


@pytest.mark.parametrize(
    ("model", "setting", "effort", "want_thinking", "want_max", "want_beta", "want_effort"),
    [
        # Claude 4 to 4.5: Claude Code's 31,999 budget with 32,000 max_tokens, the interleaved beta.
        ("claude-sonnet-4-5", None, None, 31_999, 32_000, True, None),
        ("claude-sonnet-4-5-20250929", {"budgetTokens": 8000}, "high", 8000, 16_000, True, None),
        ("claude-haiku-4-5", True, None, 31_999, 32_000, True, None),
        ("claude-opus-4-5", None, "medium", 31_999, 32_000, True, "medium"),
        # Opus 4.1's output limit is 32,000: a bigger budget is lowered to fit.
        ("claude-opus-4-1", {"budgetTokens": 50_000}, None, 31_999, 32_000, True, None),
        # 3.7 thinks but knows no interleaved beta.
        ("claude-3-7-sonnet-20250219", None, None, 31_999, 32_000, False, None),
        # 4.6 and later: adaptive thinking, effort where taken, lowered to what the model has.
        ("claude-sonnet-4-6", None, "max", ADAPTIVE, 32_000, False, "high"),
        ("claude-opus-4-6", None, "max", ADAPTIVE, 32_000, False, "max"),
        ("claude-sonnet-4-6", {"budgetTokens": 4096}, None, 4096, 16_000, True, None),
        ("claude-opus-4-8", {"budgetTokens": 8000}, "max", ADAPTIVE, 32_000, False, "max"),
        ("claude-opus-5", None, "xhigh", ADAPTIVE, 32_000, False, "xhigh"),
        # Thinking off: nothing of it; effort above high is refused without thinking.
        ("claude-sonnet-4-5", False, "low", None, 16_000, False, None),
        ("claude-opus-4-8", False, "max", None, 16_000, False, "high"),
        # Unknown ids (a proxy alias, the fake): only what the settings ask for, never effort/beta.
        ("claude-fake", None, "high", None, 16_000, False, None),
        ("claude-fake", {"budgetTokens": 2048}, "high", 2048, 16_000, False, None),
        # Claude 3.5 takes no thinking at all.
        ("claude-3-5-haiku", True, None, None, 16_000, False, None),
    ],
)
async def test_request_carries_the_thinking_parameters_the_model_takes(
    fake_api: FakeMessagesAPI,
    make: Callable[..., AnthropicModel],
    model: str,
    setting: object,
    effort: str | None,
    want_thinking: object,
    want_max: int,
    want_beta: bool,
    want_effort: str | None,
) -> None:
    fake_api.queue(reply(text("ok")))
    m = make(model, thinking=setting, effort=effort)
    await m.complete(ModelRequest(system="s", messages=[Message.user("hi")]))
    (req,) = fake_api.requests
    body = req.body
    if want_thinking is None:
        assert "thinking" not in body
    elif isinstance(want_thinking, int):
        assert body["thinking"] == {"type": ENABLED, "budget_tokens": want_thinking}
        assert body["thinking"]["budget_tokens"] < body["max_tokens"]
    else:
        assert body["thinking"] == want_thinking
    assert body["max_tokens"] == want_max
    assert (BETA in req.headers.get("anthropic-beta", "")) is want_beta
    if want_effort is None:
        assert "output_config" not in body
    else:
        assert body["output_config"] == {"effort": want_effort}
    assert "temperature" not in body


def test_thinking_and_effort_settings_are_validated_with_a_clear_warning(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / ".claw").mkdir(parents=True)
    (ws / ".claw" / "settings.json").write_text(
        json.dumps({"thinking": {"budgetTokens": 100}, "effort": "extreme"})
    )
    loaded = load_settings(ws, home_config=tmp_path / "none.json", trusted=True)
    assert loaded.settings.thinking is None and loaded.settings.effort is None
    (thinking_warning,) = [w for w in loaded.warnings if "thinking" in w]
    assert "budgetTokens must be a whole number of at least 1024" in thinking_warning
    (effort_warning,) = [w for w in loaded.warnings if "effort" in w]
    assert "'extreme'" in effort_warning and "'xhigh'" in effort_warning
    (ws / ".claw" / "settings.json").write_text(json.dumps({"thinking": False, "effort": "low"}))
    loaded = load_settings(ws, home_config=tmp_path / "none.json", trusted=True)
    assert (loaded.settings.thinking, loaded.settings.effort, loaded.warnings) == (False, "low", [])


def _tool_loop(first: list[Any]) -> list[Message]:
    return [
        Message.user("read it"),
        Message(role="assistant", content=[*first, ToolUseBlock(id="t1", name="Read", input={})]),
        Message(role="user", content=[ToolResultBlock(tool_use_id="t1", content="hi")]),
    ]


def test_a_tool_loop_begun_without_thinking_goes_on_without_it() -> None:
    """The API refuses thinking on a tool loop whose assistant turn has no thinking in front
    (made with thinking off, or by another provider); unsigned reasoning is never sent."""
    unsigned = ThinkingBlock(thinking="another provider's reasoning")
    for first in ([], [unsigned], [TextBlock(text="Reading.")]):
        params = build_params("claude-sonnet-4-5", ModelRequest(system="s", messages=_tool_loop(first)))
        assert "thinking" not in params and "extra_headers" not in params
        assert all(b["type"] != "thinking" for b in params["messages"][1]["content"])
    for first in ([ThinkingBlock(thinking="t", signature=SIG_A)], [RedactedThinkingBlock(data=REDACTED)]):
        params = build_params("claude-sonnet-4-5", ModelRequest(system="s", messages=_tool_loop(first)))
        assert params["thinking"] == {"type": "enabled", "budget_tokens": 31_999}
        assert params["messages"][1]["content"][0] == first[0].model_dump()
    compaction = ModelRequest(system="s", messages=[Message.user("sum up")], purpose="compaction")
    assert "thinking" not in build_params("claude-sonnet-4-5", compaction)


async def test_redacted_thinking_streams_and_comes_back_verbatim(
    fake_api: FakeMessagesAPI, make: Callable[..., AnthropicModel]
) -> None:
    fake_api.queue(
        reply(
            thinking("Plan: read.", signature=SIG_A),
            redacted_thinking(REDACTED),
            tool_use("Read", {}, id="t1"),
        )
    )
    deltas: list[Delta] = []
    turn = await make("claude-sonnet-4-5").complete(
        ModelRequest(system="s", messages=[Message.user("go")]), deltas.append
    )
    assert turn.message.content == [
        ThinkingBlock(thinking="Plan: read.", signature=SIG_A),
        RedactedThinkingBlock(data=REDACTED),
        ToolUseBlock(id="t1", name="Read", input={}),
    ]
    assert "".join(d.text for d in deltas if d.kind == "thinking") == "Plan: read."


def _assistant_blocks(body: dict[str, Any], index: int) -> list[dict[str, Any]]:
    message = body["messages"][index]
    assert message["role"] == "assistant"
    return [{k: v for k, v in b.items() if k != "cache_control"} for b in message["content"]]


def test_thinking_blocks_go_back_unchanged_in_the_loop_after_resume_and_after_compact(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    (workspace / "a.txt").write_text("hi there\n")
    env = {**fake_api.env(KEY), "CLAW_MODEL": "claude-sonnet-4-5"}
    read = tool_use("Read", {"file_path": str(workspace / "a.txt")}, id="toolu_read")
    loop_turn = [thinking("I should read a.txt.", signature=SIG_A), redacted_thinking(REDACTED), read]
    fake_api.queue(
        reply(text("Hello.")),
        reply(*loop_turn),
        reply(thinking("It says hi there.", signature=SIG_B), text("It says hi there.")),
        reply(text("Nothing more.")),
        reply(text("<summary>The user said hello; a.txt says hi there.</summary>")),
        reply(text("Still here.")),
    )
    first = claw_json(workspace, "-p", "hello", env=env)
    sid = first["session_id"]
    assert claw_json(workspace, "-p", "read a.txt", "--resume", sid, env=env)["result"] == "It says hi there."
    # In the tool loop: the request with the tool result carries the turn's blocks unchanged.
    loop = fake_api.requests[2]
    assert _assistant_blocks(loop.body, 3) == loop_turn
    assert loop.body["thinking"] == {"type": "enabled", "budget_tokens": 31_999}
    assert BETA in loop.headers["anthropic-beta"]
    assert json.dumps(SIG_A).encode() in loop.raw and json.dumps(REDACTED).encode() in loop.raw
    # The transcript keeps them verbatim.
    stored = SessionStore(workspace).open(sid).load_messages()
    assert stored[3].content[:2] == [
        ThinkingBlock(thinking="I should read a.txt.", signature=SIG_A),
        RedactedThinkingBlock(data=REDACTED),
    ]
    assert stored[5].content[0] == ThinkingBlock(thinking="It says hi there.", signature=SIG_B)

    # A new process resumes the session: the blocks go back as they came.
    claw_json(workspace, "-p", "anything else?", "--continue", env=env)
    resumed = fake_api.requests[3].body
    assert _assistant_blocks(resumed, 3) == loop_turn
    assert _assistant_blocks(resumed, 5)[0] == thinking("It says hi there.", signature=SIG_B)
    assert json.dumps(REDACTED).encode() in fake_api.requests[3].raw

    # /compact: the summary request carries no thinking; the kept turns keep their blocks.
    compacted = claw_json(workspace, "-p", "/compact", "--resume", sid, env=env)
    assert compacted["is_error"] is False, compacted
    summary_request = fake_api.requests[4].body
    assert "thinking" not in summary_request and summary_request["max_tokens"] < 31_999
    assert SIG_A not in json.dumps(summary_request)
    claw_json(workspace, "-p", "still there?", "--resume", sid, env=env)
    after = fake_api.requests[5].body
    assert "hi there" in after["messages"][0]["content"][0]["text"]  # the summary
    kept = [m for m in after["messages"] if m["role"] == "assistant"]
    assert [{k: v for k, v in b.items() if k != "cache_control"} for b in kept[0]["content"]] == loop_turn
    assert json.dumps(SIG_A).encode() in fake_api.requests[5].raw
    assert len(fake_api.requests) == 6


def test_thinking_that_quotes_a_secret_is_left_out_of_the_transcript(workspace: Path) -> None:
    """Scrubbing would change the block and the API would refuse it: the block is dropped (an
    earlier turn may go without its thinking), the rest of the message stays."""
    session = SessionStore(workspace).create(model="claude-sonnet-4-5", provider="anthropic")
    secret = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"
    session.append_message(Message.user("go"))
    session.append_message(
        Message(
            role="assistant",
            content=[
                ThinkingBlock(thinking=f"The key is {secret}.", signature=SIG_A),
                RedactedThinkingBlock(data=REDACTED),
                TextBlock(text="Done."),
            ],
        )
    )
    session.close()
    assert secret not in session.path.read_text()
    (_, answer) = SessionStore(workspace).open(session.id).load_messages()
    assert answer.content == [RedactedThinkingBlock(data=REDACTED), TextBlock(text="Done.")]


def streamed_thoughts(stdout: str) -> str:
    """The thought text `--output-format stream-json` printed: claw's `agent_thought_chunk`
    events, or the thinking blocks of Claude Code's `assistant` messages."""
    found = []
    for line in stdout.splitlines():
        event = json.loads(line)
        if event["type"] == "agent_thought_chunk":
            found.append(event["text"])
        elif event["type"] == "assistant" and event.get("parent_tool_use_id") is None:
            found += [b["thinking"] for b in event["message"]["content"] if b["type"] == "thinking"]
    return "".join(found)


def test_cli_stream_json_shows_thought_chunks_and_text_mode_only_the_answer(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    env = {**fake_api.env(KEY), "CLAW_MODEL": "claude-sonnet-4-5"}
    fake_api.queue(reply(thinking("Pondering deeply.", signature=SIG_A), text("Answer.")))
    proc = claw(workspace, "-p", "q", "--output-format", "stream-json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert streamed_thoughts(proc.stdout) == "Pondering deeply."
    fake_api.queue(reply(thinking("Pondering deeply.", signature=SIG_A), text("Answer.")))
    proc = claw(workspace, "-p", "q", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Answer.\n" and "Pondering" not in proc.stderr
    fake_api.queue(reply(thinking("Pondering deeply.", signature=SIG_A), text("Answer.")))
    proc = claw(workspace, "-p", "q", "--verbose", env=env)
    assert proc.stdout == "Answer.\n"
    assert "✻ Thinking…" in proc.stderr and "Pondering" not in proc.stderr


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_openai_compatible_reasoning_is_thinking_and_never_sent_back(
    fake_api: FakeMessagesAPI, field: str
) -> None:
    model = OpenAIModel("qwq", api_key="k", base_url=fake_api.openai_base_url)
    fake_api.queue(
        reply(
            thinking("Let me reason."), tool_use("Read", {"file_path": "/x"}, id="c1"), reasoning_field=field
        ),
        reply(text("ok")),
    )
    deltas: list[Delta] = []
    turn = await model.complete(ModelRequest(system="s", messages=[Message.user("go")]), deltas.append)
    assert "".join(d.text for d in deltas if d.kind == "thinking") == "Let me reason."
    assert turn.message.content[0] == ThinkingBlock(thinking="Let me reason.")
    messages = [
        Message.user("go"),
        turn.message,
        Message(role="user", content=[ToolResultBlock(tool_use_id="c1", content="x")]),
    ]
    await model.complete(ModelRequest(system="s", messages=messages))
    await model.aclose()
    sent = json.dumps(fake_api.requests[1].body)
    assert "Let me reason" not in sent and "reasoning" not in sent


def test_cli_with_an_openai_compatible_endpoint_streams_reasoning_as_thought_chunks(
    workspace: Path, fake_api: FakeMessagesAPI
) -> None:
    env = {
        "CLAW_PROVIDER": "openai",
        "CLAW_MODEL": "deepseek-reasoner",
        "OPENAI_BASE_URL": fake_api.openai_base_url,
        "OPENAI_API_KEY": "k-test",
    }
    fake_api.queue(reply(thinking("Reasoning here."), text("Done.")))
    proc = claw(workspace, "-p", "q", "--output-format", "stream-json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert streamed_thoughts(proc.stdout) == "Reasoning here."
    assert fake_api.requests[0].path == "/v1/chat/completions"


@pytest.mark.parametrize(
    ("value", "want_thinking"),
    [("0", None), ("5000", {"type": "enabled", "budget_tokens": 5000})],
)
def test_claude_codes_max_thinking_tokens_variable(
    workspace: Path, fake_api: FakeMessagesAPI, value: str, want_thinking: dict[str, Any] | None
) -> None:
    fake_api.queue(reply(text("ok")))
    env = {**fake_api.env(KEY), "CLAW_MODEL": "claude-opus-4-5", "MAX_THINKING_TOKENS": value}
    run = claw(workspace, "-p", "q", env=env)
    assert run.returncode == 0, run.stderr
    assert fake_api.requests[0].body.get("thinking") == want_thinking


def test_a_bad_max_thinking_tokens_is_a_warning_naming_it(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.queue(reply(text("ok")))
    env = {**fake_api.env(KEY), "CLAW_MODEL": "claude-sonnet-4-5", "MAX_THINKING_TOKENS": "lots"}
    run = claw(workspace, "-p", "q", env=env)
    assert run.returncode == 0, run.stderr
    assert "MAX_THINKING_TOKENS: thinking:" in run.stderr
    assert fake_api.requests[0].body["thinking"] == {"type": "enabled", "budget_tokens": 31_999}


# -- Claude Code's command-line flags (cli/claude.py) ---------------------------------------------


@pytest.mark.parametrize(
    ("flags", "env", "want_thinking", "want_effort"),
    [
        (
            ["--max-thinking-tokens", "2048", "--effort", "high"],
            {},
            {"type": "enabled", "budget_tokens": 2048},
            "high",
        ),
        (["--max-thinking-tokens", "0"], {}, None, None),
        (["--thinking", "disabled", "--max-thinking-tokens", "4096"], {}, None, None),
        (
            ["--thinking", "enabled"],
            {"MAX_THINKING_TOKENS": "0"},
            {"type": "enabled", "budget_tokens": 31_999},
            None,
        ),
    ],
)
def test_claude_codes_thinking_flags(
    workspace: Path,
    fake_api: FakeMessagesAPI,
    flags: list[str],
    env: dict[str, str],
    want_thinking: dict[str, Any] | None,
    want_effort: str | None,
) -> None:
    fake_api.queue(reply(text("ok")))
    run = claw(
        workspace, "-p", "q", *flags, env={**fake_api.env(KEY), "CLAW_MODEL": "claude-opus-4-5", **env}
    )
    assert run.returncode == 0, run.stderr
    body = fake_api.requests[0].body
    assert body.get("thinking") == want_thinking
    assert body.get("output_config") == ({"effort": want_effort} if want_effort else None)


def test_a_thinking_budget_under_1024_is_refused(workspace: Path, fake_api: FakeMessagesAPI) -> None:
    run = claw(workspace, "-p", "q", "--max-thinking-tokens", "100", env=fake_api.env(KEY))
    assert run.returncode != 0 and "at least 1024" in run.stderr and not fake_api.requests
