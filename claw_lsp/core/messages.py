"""Transcript models: conversation messages in the Anthropic Messages API block shapes.

These are the single in-memory and on-disk representation of a conversation. Providers translate
them to and from their wire formats (the Anthropic provider sends them nearly as-is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Block(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextBlock(_Block):
    """Plain text from the user or the model."""

    type: Literal["text"] = "text"
    text: str


class ThinkingBlock(_Block):
    """Extended-thinking text from the model, kept verbatim with its signature: the API checks
    the signature when the block goes back (empty: reasoning of a provider that signs nothing)."""

    type: Literal["thinking"] = "thinking"
    thinking: str
    signature: str = ""


class RedactedThinkingBlock(_Block):
    """Thinking the API returned encrypted (`data`), sent back unchanged like a thinking block."""

    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str


class ToolUseBlock(_Block):
    """The model asks for a tool to run."""

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


ImageMediaType = Literal["image/png", "image/jpeg", "image/gif", "image/webp"]


class ImageSource(_Block):
    """Base64 image data with its media type (the Messages API's `base64` image source)."""

    type: Literal["base64"] = "base64"
    media_type: ImageMediaType
    data: str


class ImageBlock(_Block):
    """An image in a tool result (Read of an image file, a notebook's image output)."""

    type: Literal["image"] = "image"
    source: ImageSource


ToolResultContent = Annotated[TextBlock | ImageBlock, Field(discriminator="type")]


class ToolResultBlock(_Block):
    """The outcome of a tool call, sent back to the model in the next user message."""

    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str | list[ToolResultContent] = ""
    is_error: bool = False

    def text(self) -> str:
        """The result's text as one string (images left out)."""
        if isinstance(self.content, str):
            return self.content
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    def images(self) -> list[ImageBlock]:
        """The result's image blocks, in order."""
        if isinstance(self.content, str):
            return []
        return [b for b in self.content if isinstance(b, ImageBlock)]


ContentBlock = Annotated[
    TextBlock | ThinkingBlock | RedactedThinkingBlock | ToolUseBlock | ToolResultBlock,
    Field(discriminator="type"),
]


class Message(BaseModel):
    """One conversation message."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant"]
    content: list[ContentBlock]

    @classmethod
    def user(cls, text: str) -> Message:
        """A user message holding one text block."""
        return cls(role="user", content=[TextBlock(text=text)])

    def text(self) -> str:
        """Concatenated text blocks (no thinking, no tool blocks)."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    def tool_uses(self) -> list[ToolUseBlock]:
        """The tool_use blocks, in order."""
        return [b for b in self.content if isinstance(b, ToolUseBlock)]

    def tool_results(self) -> list[ToolResultBlock]:
        """The tool_result blocks, in order."""
        return [b for b in self.content if isinstance(b, ToolResultBlock)]

    def to_api(self) -> dict[str, Any]:
        """The message as a Messages API dict (a new one, the caller's own)."""
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class ApiView:
    """A message as requests send it, with what size estimates need (see `api_view`)."""

    api: dict[str, Any]  # the Messages API dict: shared, never to be changed
    chars: int  # the length of its JSON
    images: int  # image blocks in its tool results
    image_chars: int  # the length of their base64 data (in `chars`, but not text to the model)
    wire: str  # its JSON as a request body holds it (compact, not ASCII-escaped)


# Every request sends the whole conversation and estimates its size, so each message's view is kept
# once made, by message object (messages are not changed once made: a change is a new message).
# Entries hold their message, so an id is never reused while its entry lives; the least recently
# used go once the entries hold more than _VIEW_CHARS characters of JSON.
_VIEWS: dict[int, tuple[Message, ApiView]] = {}
WIRE_SEPARATORS = (",", ":")  # how request bodies are written (as the model SDK writes them)
_VIEW_CHARS = 64 * 1024 * 1024
_view_chars = 0


def api_view(message: Message) -> ApiView:
    """The message's view, built once per message object, so a request costs what is new in it
    (`to_api` gives a dict of one's own to change)."""
    global _view_chars
    key = id(message)
    hit = _VIEWS.pop(key, None)
    if hit is None or hit[0] is not message:
        if hit is not None:
            _view_chars -= hit[1].chars
        api = message.to_api()
        images = [i for b in message.content if isinstance(b, ToolResultBlock) for i in b.images()]
        wire = json.dumps(api, ensure_ascii=False, separators=WIRE_SEPARATORS)
        view = ApiView(api, len(wire), len(images), sum(len(i.source.data) for i in images), wire)
        hit = (message, view)
        _view_chars += view.chars
        while _VIEWS and _view_chars > _VIEW_CHARS:
            _view_chars -= _VIEWS.pop(next(iter(_VIEWS)))[1].chars
    _VIEWS[key] = hit  # (re)inserted last: the most recently used
    return hit[1]


class Usage(BaseModel):
    """Token usage of one request or a running total."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
        )

    @property
    def context_tokens(self) -> int:
        """All input tokens of a request, cached or not: how full the context window is."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    @property
    def total_tokens(self) -> int:
        """Input (all kinds) plus output tokens."""
        return self.context_tokens + self.output_tokens
