"""Which environment variables are credentials: child processes (Bash, hooks, MCP servers) do not
inherit them, and their values are scrubbed from transcripts.

A credential is a variable of the model providers (`ANTHROPIC_*`, `OPENAI_*`, ...) or one whose name
says it holds a key, token, secret or password (`GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`, ...).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

CREDENTIAL_PREFIXES = ("ANTHROPIC_", "OPENAI_", "AZURE_OPENAI_", "CLAUDE_CODE_OAUTH", "CLAW_API_KEY")
_CREDENTIAL_NAME = re.compile(
    r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY)", re.IGNORECASE
)
# Values shorter than this are not scrubbed (they would match ordinary text).
MIN_SECRET_LENGTH = 8


def is_credential(name: str) -> bool:
    """True for an environment variable that holds (or configures) a credential."""
    return name.upper().startswith(CREDENTIAL_PREFIXES) or _CREDENTIAL_NAME.search(name) is not None


def child_env(
    extra: Mapping[str, str] | None = None, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for a child process: `base` (default: ours) without credentials, plus `extra`."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if not is_credential(k)}
    env.update(extra or {})
    return env


def credential_values(base: Mapping[str, str] | None = None) -> list[str]:
    """The values of the credentials in `base` (default: ours) worth scrubbing, longest first.

    Ours are worked out again only when the environment changed: every transcript record asks
    (an event stream writes hundreds a second), and matching each name costs far more than
    comparing the environment with the copy the answer was made from."""
    if base is not None:
        return _credential_values(base)
    data = getattr(os.environ, "_data", None)  # CPython's mapping behind os.environ
    if not isinstance(data, dict):
        return _credential_values(os.environ)
    if _OURS.environ != data:
        _OURS.values = _credential_values(os.environ)
        _OURS.environ = dict(data)
    return list(_OURS.values)


class _Ours:
    """The last answer for os.environ and a copy of the environment it was made from."""

    environ: dict[object, object] | None = None
    values: list[str] = []  # noqa: RUF012 - replaced, never changed in place


_OURS = _Ours()


def _credential_values(source: Mapping[str, str]) -> list[str]:
    values = {v for k, v in source.items() if is_credential(k) and len(v) >= MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)
