"""What the SDK-backed providers (anthropic, openai) share: options, one client per loop, errors.

A subclass builds its SDK client in `_new_client()` (importing the SDK there, lazily), names the
default endpoint in `_default_base_url()` and may widen `_known_key()` (the key scrubbed from error
text); this class keeps one client for the running event loop, closes it, and words connection
failures the same way for every provider.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from claw_lsp.providers.base import ProviderError


class SDKModel:
    """The common part of a `Model` that talks to an HTTP API through a vendor SDK client."""

    def __init__(
        self,
        name: str,
        *,
        context_window: int,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 2,
        timeout: float = 600.0,
        prices: Mapping[str, Mapping[str, float]] | None = None,
        **_other: object,
    ) -> None:
        """Keep the options (unrelated provider options in `_other` are ignored); the client is
        made on first use."""
        self.name = name
        self.context_window = context_window
        self._api_key = api_key
        self._base_url = base_url
        self.max_retries = max_retries
        self.timeout = timeout
        self.prices = prices
        self._client: Any = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def _new_client(self) -> Any:
        """A new SDK client for these options (raises ProviderError when it cannot be made)."""
        raise NotImplementedError

    def _known_key(self) -> str | None:
        """The API key in use, if known, so that error text never shows it."""
        return self._api_key

    def _get_client(self) -> Any:
        """The SDK client for the running event loop (a client is bound to the loop it was made in)."""
        loop = asyncio.get_running_loop()
        if self._client is not None and self._client_loop is loop:
            return self._client
        self._client = self._new_client()
        self._client_loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _scrub(self, text: str) -> str:
        """Remove the API key from a message, should an error ever echo it."""
        key = self._known_key()
        return text.replace(key, "***") if key else text

    def _connection_error(self, e: BaseException) -> ProviderError:
        """A connection failure as a one-line ProviderError naming where requests went."""
        reason = self._scrub((str(e).splitlines() or [type(e).__name__])[0])
        return ProviderError(
            f"Connection to {self.base_url} failed: {reason}", kind="connection", retryable=True
        )

    def _default_base_url(self) -> str:
        """Where requests go when no `base_url` option is set, in words for messages."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """Where requests go (for messages; never includes credentials)."""
        if self._client is not None:
            return str(self._client.base_url)
        return self._base_url or self._default_base_url()
