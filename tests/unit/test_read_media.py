"""Read of images: an image block inside the tool_result of the next request (real SDK, fake
Messages API), the OpenAI-compatible translation, the size cap, and the context estimate."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.agent.compaction import IMAGE_TOKENS, estimate_tokens
from claw_lsp.agent.loop import Agent
from claw_lsp.core.messages import ImageBlock, ImageSource, Message, TextBlock, ToolResultBlock
from claw_lsp.core.tools import SessionState, ToolContext, ToolError
from claw_lsp.providers.openai_compat import to_openai_messages
from claw_lsp.tools import files
from claw_lsp.tools.files import Read, ReadInput
from claw_lsp.workspace.view import WorkspaceView
from tests.fakes.fake_messages_api import FakeMessagesAPI, reply, text, tool_use
from tests.unit.test_loop import assert_consistent, collect
from tests.unit.test_loop_sdk import make_agent, tool_results

__all__ = ["make_agent"]  # the fixture, used by name


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, red) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


@pytest.fixture
def ctx(workspace: Path) -> ToolContext:
    return ToolContext(workspace=WorkspaceView([workspace]), state=SessionState())


async def test_image_read_sends_an_image_block_in_the_next_request(
    make_agent: Callable[..., Agent], fake_api: FakeMessagesAPI, workspace: Path
) -> None:
    image = png_bytes()
    (workspace / "shot.png").write_bytes(image)
    fake_api.queue(
        reply(tool_use("Read", {"file_path": str(workspace / "shot.png")}, id="toolu_img")),
        reply(text("A red square.")),
    )
    agent = make_agent()
    _, finished = await collect(agent, "what is in shot.png?")
    assert finished.stop_reason == "end_turn", finished.error
    (result,) = tool_results(fake_api.requests[1])
    assert result["tool_use_id"] == "toolu_img" and not result.get("is_error")
    kinds = [b["type"] for b in result["content"]]
    assert kinds == ["text", "image"]
    assert "shot.png" in result["content"][0]["text"]
    assert result["content"][1]["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": base64.b64encode(image).decode(),
    }
    # The transcript keeps the image, so a resumed session sends it again.
    messages = agent.session.load_messages()
    assert_consistent(messages)
    (stored,) = [b for m in messages for b in m.tool_results()]
    assert stored.images()[0].source.data == base64.b64encode(image).decode()


async def test_media_type_comes_from_the_bytes_not_the_name(ctx: ToolContext, workspace: Path) -> None:
    (workspace / "really-a-gif.png").write_bytes(GIF)
    out = await Read().run(ReadInput(file_path=str(workspace / "really-a-gif.png")), ctx)
    assert out.images[0].source.media_type == "image/gif" and "GIF" in out.content
    (workspace / "fake.jpg").write_text("not an image at all")
    with pytest.raises(ToolError, match="not a PNG, JPEG, GIF or WebP"):
        await Read().run(ReadInput(file_path=str(workspace / "fake.jpg")), ctx)


async def test_an_image_over_the_cap_is_refused_with_a_hint(
    ctx: ToolContext, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = png_bytes(64, 64)
    (workspace / "big.png").write_bytes(big)
    monkeypatch.setattr(files, "MAX_IMAGE_BYTES", len(big) - 1)
    with pytest.raises(ToolError, match=r"more than the \d+ bytes.*smaller copy"):
        await Read().run(ReadInput(file_path=str(workspace / "big.png")), ctx)
    # The real cap: 5 MB once base64-encoded, as the API takes.
    assert files.MAX_IMAGE_BASE64 == 5 * 1024 * 1024
    assert len(base64.b64encode(b"\0" * (5 * 1024 * 1024 // 4 * 3))) <= 5 * 1024 * 1024


def _result_with_image() -> Message:
    image = ImageBlock(source=ImageSource(media_type="image/png", data="A" * 400_000))
    block = ToolResultBlock(tool_use_id="call_1", content=[TextBlock(text="Image file x.png"), image])
    return Message(role="user", content=[block])


def test_openai_tool_messages_carry_text_and_the_images_follow_as_a_user_message() -> None:
    assistant = Message.model_validate(
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_1", "name": "Read", "input": {"file_path": "/x.png"}}
            ],
        }
    )
    messages = [Message.user("look"), assistant, _result_with_image()]
    out: list[dict[str, Any]] = to_openai_messages("sys", messages)
    tool, user = out[3], out[4]
    assert tool == {"role": "tool", "tool_call_id": "call_1", "content": "Image file x.png"}
    assert user["role"] == "user"
    (image_part,) = [p for p in user["content"] if p["type"] == "image_url"]
    assert image_part["image_url"]["url"] == "data:image/png;base64," + "A" * 400_000


def test_an_image_counts_as_image_tokens_not_as_its_base64_text() -> None:
    estimate = estimate_tokens([_result_with_image()])
    assert IMAGE_TOKENS <= estimate < IMAGE_TOKENS + 200
