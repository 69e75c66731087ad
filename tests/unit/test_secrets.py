"""Which environment variables count as credentials (core/secrets.py)."""

from __future__ import annotations

import pytest

from claw_lsp.core.secrets import child_env, credential_values, is_credential


@pytest.mark.parametrize(
    "name",
    [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "OPENAI_BASE_URL",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "DATABASE_PASSWORD",
        "HF_TOKEN",
        "stripe_api_key",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "SSH_PRIVATE_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ],
)
def test_credentials(name: str) -> None:
    assert is_credential(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "LANG", "VIRTUAL_ENV", "SSH_AUTH_SOCK", "TERM", "CI"])
def test_not_credentials(name: str) -> None:
    assert not is_credential(name)


def test_child_env_drops_credentials_and_adds_extra() -> None:
    base = {"PATH": "/bin", "OPENAI_API_KEY": "k" * 20, "GITHUB_TOKEN": "t" * 20}
    assert child_env({"X": "1"}, base=base) == {"PATH": "/bin", "X": "1"}


def test_credential_values_are_long_enough_and_longest_first() -> None:
    base = {"A_TOKEN": "short", "B_TOKEN": "b" * 10, "C_API_KEY": "c" * 30, "PATH": "p" * 40}
    assert credential_values(base) == ["c" * 30, "b" * 10]


def test_our_credential_values_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer for os.environ is kept between calls, and made again when the environment changes."""
    monkeypatch.delenv("CLAW_TEST_SECRET_TOKEN", raising=False)
    before = credential_values()
    assert "s3cr3t-value-1" not in before
    monkeypatch.setenv("CLAW_TEST_SECRET_TOKEN", "s3cr3t-value-1")
    assert "s3cr3t-value-1" in credential_values()
    monkeypatch.setenv("CLAW_TEST_SECRET_TOKEN", "s3cr3t-value-2")
    values = credential_values()
    assert "s3cr3t-value-2" in values and "s3cr3t-value-1" not in values
    values.clear()  # a caller's copy: the kept answer is not changed
    assert "s3cr3t-value-2" in credential_values()
    monkeypatch.delenv("CLAW_TEST_SECRET_TOKEN")
    assert credential_values() == before


def test_our_credential_values_are_not_worked_out_again_while_the_environment_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every transcript record asks: with the environment unchanged, no name is matched again."""
    from claw_lsp.core import secrets

    monkeypatch.setenv("CLAW_TEST_SECRET_TOKEN", "s3cr3t-value-3")
    first = credential_values()
    matched: list[str] = []
    real = secrets.is_credential

    def counting(name: str) -> bool:
        matched.append(name)
        return real(name)

    monkeypatch.setattr(secrets, "is_credential", counting)
    assert credential_values() == first and matched == []
    monkeypatch.setenv("CLAW_TEST_SECRET_TOKEN", "s3cr3t-value-4")
    assert "s3cr3t-value-4" in credential_values() and matched  # changed: worked out again
