"""Model providers: anthropic (default), openai (OpenAI-compatible endpoints), scripted (tests, demo).

`make_model(settings)` picks one by name; heavy SDKs are imported lazily inside each provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from claw_lsp.providers.base import Model


def make_model(provider: str, model: str | None, **options: object) -> Model:
    """Build the named provider's model client (raises ProviderError for an unknown provider)."""
    from claw_lsp.providers.base import ProviderError

    if provider == "anthropic":
        from claw_lsp.providers.anthropic import AnthropicModel

        return AnthropicModel(model=model, **options)  # type: ignore[arg-type]
    if provider == "openai":
        from claw_lsp.providers.openai_compat import OpenAIModel

        return OpenAIModel(model=model, **options)  # type: ignore[arg-type]
    if provider == "scripted":
        from claw_lsp.providers.scripted import ScriptedModel

        return ScriptedModel.from_options(model=model, **options)
    raise ProviderError(
        f"unknown provider {provider!r}: use 'anthropic', 'openai' or 'scripted'", kind="config"
    )
