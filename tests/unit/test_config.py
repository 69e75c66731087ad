"""Settings loading: layers, rule concatenation, env/CLI precedence and one warning per bad value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claw_lsp.config import config_dir, load_settings, state_dir
from tests.fakes.fixtures import trust


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_defaults_without_any_file(workspace: Path) -> None:
    loaded = load_settings(workspace)
    assert loaded.settings.permissionMode == "default" and loaded.settings.maxTurns == 50
    assert loaded.warnings == [] and loaded.sources == []


def test_layer_order_and_rule_concatenation(workspace: Path, isolated_state: Path) -> None:
    trust(workspace)
    user = write(
        config_dir() / "settings.json", {"model": "user", "maxTurns": 7, "permissions": {"allow": ["Read"]}}
    )
    claude = write(
        workspace / ".claude" / "settings.json",
        {"model": "ignored", "permissions": {"allow": ["Bash(npm test:*)"], "deny": ["Read(./.env)"]}},
    )
    claude_local = write(
        workspace / ".claude" / "settings.local.json", {"permissions": {"ask": ["Bash(git push:*)"]}}
    )
    project = write(
        workspace / ".claw" / "settings.json", {"model": "project", "permissionMode": "acceptEdits"}
    )
    local = write(
        workspace / ".claw" / "settings.local.json", {"model": "local", "permissions": {"allow": ["Edit"]}}
    )
    loaded = load_settings(workspace, {"maxTurns": 3, "model": None})
    s = loaded.settings
    assert s.model == "local" and s.maxTurns == 3 and s.permissionMode == "acceptEdits"
    assert s.permissions.allow == ["Read", "Bash(npm test:*)", "Edit"]
    assert s.permissions.deny == ["Read(./.env)"] and s.permissions.ask == ["Bash(git push:*)"]
    assert loaded.sources == [user, claude, claude_local, project, local]
    assert loaded.warnings == []
    assert str(isolated_state) in str(user)


def test_env_beats_files_and_explicit_options_beat_env(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workspace / ".claw" / "settings.json", {"model": "file", "provider": "openai"})
    monkeypatch.setenv("CLAW_MODEL", "env-model")
    monkeypatch.setenv("CLAW_PROVIDER", "scripted")
    assert load_settings(workspace).settings.model == "env-model"
    assert load_settings(workspace).settings.provider == "scripted"
    assert load_settings(workspace, {"model": "flag"}).settings.model == "flag"


def test_home_config_argument(workspace: Path, tmp_path: Path) -> None:
    home = write(tmp_path / "custom.json", {"maxTurns": 9})
    assert load_settings(workspace, home_config=home).settings.maxTurns == 9
    assert load_settings(None, home_config=home).settings.maxTurns == 9


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"permissionMode": "yolo"}, "permissionMode",
         "'yolo' is not one of default, acceptEdits, plan, bypassPermissions; using 'default'"),
        ({"maxTurns": -3}, "maxTurns", "using 50"),
        ({"maxTurns": "many"}, "maxTurns", "using 50"),
        ({"provider": 3}, "provider", "using 'anthropic'"),
        ({"bashTimeoutMs": 10_000_000}, "bashTimeoutMs", "using 120000"),
        ({"permissions": {"allow": "Bash"}}, "permissions.allow", "expected a list"),
        ({"permissions": {"allow": ["Bash(", "Read"]}}, "permissions.allow", "is not a rule"),
        ({"hooks": {"PreToolUse": [{"matcher": "(", "hooks": []}]}}, "hooks.PreToolUse[0]", "not a regex"),
        ({"hooks": {"Nope": []}}, "hooks.Nope", "unknown event"),
    ],
)  # fmt: skip
def test_bad_value_falls_back_with_one_warning(workspace: Path, data: dict, key: str, fragment: str) -> None:
    trust(workspace)
    write(workspace / ".claw" / "settings.json", data)
    loaded = load_settings(workspace)
    assert len(loaded.warnings) == 1, loaded.warnings
    warning = loaded.warnings[0]
    assert warning.startswith(f".claw/settings.json: {key}") and fragment in warning


def test_bad_value_keeps_the_lower_layers_value(workspace: Path) -> None:
    write(workspace / ".claw" / "settings.json", {"maxTurns": 12})
    write(workspace / ".claw" / "settings.local.json", {"maxTurns": 0, "model": "ok"})
    loaded = load_settings(workspace)
    assert loaded.settings.maxTurns == 12 and loaded.settings.model == "ok"
    assert loaded.warnings == [
        ".claw/settings.local.json: maxTurns: 0 is invalid "
        "(input should be greater than or equal to 1); using 12"
    ]


def test_invalid_json_file_is_ignored_with_a_warning(workspace: Path) -> None:
    write(workspace / ".claw" / "settings.json", '{"model": "x",')
    write(workspace / ".claw" / "settings.local.json", "[1, 2]")
    loaded = load_settings(workspace)
    assert loaded.settings.model is None
    assert len(loaded.warnings) == 2
    assert loaded.warnings[0].startswith(".claw/settings.json: invalid JSON")
    assert "does not hold a JSON object" in loaded.warnings[1]


def test_api_keys_in_settings_are_ignored_with_a_warning(workspace: Path) -> None:
    write(workspace / ".claw" / "settings.json", {"apiKey": "sk-secret", "anthropicApiKey": "sk-2"})
    loaded = load_settings(workspace)
    assert len(loaded.warnings) == 2
    assert all("environment variables" in w for w in loaded.warnings)
    assert "sk-secret" not in " ".join(loaded.warnings)


def test_unknown_keys_warn_in_files_but_not_in_options(workspace: Path) -> None:
    write(workspace / ".claw" / "settings.json", {"colour": "blue"})
    loaded = load_settings(workspace, {"clientFeatures": {"event": True}})
    assert loaded.warnings == [".claw/settings.json: unknown key 'colour' ignored"]


def test_claude_settings_contribute_permissions_only(workspace: Path) -> None:
    trust(workspace)
    write(workspace / ".claude" / "settings.json", {"model": "claude", "permissionMode": "plan",
                                                   "permissions": {"allow": ["Bash(make:*)"]}})  # fmt: skip
    loaded = load_settings(workspace)
    assert loaded.settings.model is None and loaded.settings.permissionMode == "default"
    assert loaded.settings.permissions.allow == ["Bash(make:*)"]


def test_hooks_are_loaded(workspace: Path) -> None:
    trust(workspace)
    matcher = {"matcher": "Edit|Write", "hooks": [{"type": "command", "command": "true"}]}
    write(workspace / ".claw" / "settings.json", {"hooks": {"PreToolUse": [matcher]}})
    hooks = load_settings(workspace).settings.hooks
    assert hooks["PreToolUse"][0].matcher == "Edit|Write" and hooks["PreToolUse"][0].hooks[0].timeout == 60


def test_directories_follow_xdg(isolated_state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_dir() == isolated_state / "XDG_CONFIG_HOME" / "claw"
    assert state_dir() == isolated_state / "XDG_STATE_HOME" / "claw"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    assert state_dir() == Path.home() / ".local" / "state" / "claw"
