"""The package's layering: dependencies point down, and no module takes another's private names.

Layers, bottom up (docs/architecture.md draws them):
  core, config        the shared vocabulary and settings; import nothing else of the project
  workspace, providers   import only the layers below
  tools               may use workspace
  agent               the loop and its policies
  front ends          compose, cli, server, acp: import anything below, nothing below imports them
Every import counts, including those under TYPE_CHECKING and inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "claw_lsp"

# What each lower layer may import from the project (besides itself).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "config": set(),
    "workspace": {"core", "config"},
    "providers": {"core", "config"},
    "tools": {"core", "config", "workspace"},
    "agent": {"core", "config", "workspace", "providers", "tools"},
}
FRONT_ENDS = {"compose", "cli", "server", "acp", "__main__"}
ROOT = "__init__"  # claw_lsp/__init__.py: the version only; imports nothing, anyone may import it


def _layer(module: str) -> str:
    """The layer of a dotted module name inside claw_lsp ("claw_lsp" itself: the package root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, root: Path = PACKAGE) -> list[tuple[int, str, list[str]]]:
    """(line, module, imported names) for every project import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.startswith("claw_lsp")]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([module] if module else [])])
            if module.startswith("claw_lsp"):
                found.append((node.lineno, module, [a.name for a in node.names]))
    return found


def layering_violations(package: Path = PACKAGE) -> list[str]:
    """Every import that points up (or sideways where not allowed), as `file:line: a -> b`."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        source = _layer(_module_name(path, package))
        if source in FRONT_ENDS:
            continue
        if source == ROOT:
            problems += [
                f"{path}:{line}: the package root imports {m}" for line, m, _ in _imports(path, package)
            ]
            continue
        allowed = ALLOWED.get(source)
        if allowed is None:
            problems.append(f"{path}: module in no known layer ({source}); add it to ALLOWED")
            continue
        for line, module, _names in _imports(path, package):
            target = _layer(module)
            if target not in (source, ROOT) and target not in allowed:
                problems.append(f"{path.relative_to(package.parent)}:{line}: {source} -> {module}")
    return problems


def private_imports(package: Path = PACKAGE) -> list[str]:
    """Every `from other_module import _private` inside the package."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        for line, module, names in _imports(path, package):
            if module == _module_name(path, package):
                continue
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    problems.append(f"{path.relative_to(package.parent)}:{line}: {name} from {module}")
    return problems


def test_dependencies_point_down() -> None:
    assert layering_violations() == []


def test_no_module_imports_another_modules_private_names() -> None:
    assert private_imports() == []


def test_core_is_importable_alone() -> None:
    """core/ and config import nothing of the project (not even lazily)."""
    for path in [*sorted((PACKAGE / "core").rglob("*.py")), PACKAGE / "config.py"]:
        for line, module, _names in _imports(path):
            assert module.startswith("claw_lsp.core") or module == "claw_lsp", f"{path}:{line}: {module}"


@pytest.mark.parametrize(
    ("layer", "source", "expected"),
    [
        ("core", "from claw_lsp.agent.loop import Agent\n", True),
        ("tools", "def f():\n    from claw_lsp.server.app import create_server\n", True),
        (
            "providers",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import claw_lsp.tools\n",
            True,
        ),
        ("agent", "from claw_lsp.core.events import TextDelta\n", False),
        ("tools", "from claw_lsp.workspace.view import WorkspaceView\n", False),
    ],
)
def test_the_check_catches_an_upward_import(tmp_path: Path, layer: str, source: str, expected: bool) -> None:
    """A planted upward import (also lazy or TYPE_CHECKING-only) is reported; a downward one is not."""
    package = tmp_path / "claw_lsp"
    (package / layer).mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / layer / "__init__.py").write_text("")
    (package / layer / "planted.py").write_text(source)
    assert bool(layering_violations(package)) is expected


def test_the_language_server_starts_without_the_acp_models() -> None:
    """`claw-lsp` builds its server (all it does before answering `initialize`) without importing
    the Agent Client Protocol package, whose models take ~0.4 s to load: `server/event_wire.py`,
    which needs them, is imported by the warm-up thread after `initialize`."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from claw_lsp.cli import serve_main\n"
        "from claw_lsp.server.app import create_server\n"
        "create_server()\n"
        "print(sorted(m for m in sys.modules if m == 'acp' or m.startswith(('acp.', 'claw_lsp.acp'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
