"""Transcript models: conversation messages in the Anthropic Messages API block shapes.

These are the single in-memory and on-disk representation of a conversation. Providers translate
them to and from their wire formats (the Anthropic provider sends them nearly as-is).
"""

from __future__ import annotations

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
        """The message as a Messages API dict."""
        return self.model_dump(mode="json", exclude_none=True)


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
