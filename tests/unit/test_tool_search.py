"""Glob, Grep (the real ripgrep binary) and LS over a temp workspace."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from claw_lsp.core.tools import SessionState, Tool, ToolContext, ToolError, ToolOutput
from claw_lsp.tools.search import LS, Glob, Grep, GrepInput
from claw_lsp.workspace.view import WorkspaceView
from tests.fakes.races import flipping


@pytest.fixture
def ctx(workspace: Path) -> ToolContext:
    return ToolContext(workspace=WorkspaceView([workspace]), state=SessionState())


async def call(tool: Tool, ctx: ToolContext, **args: Any) -> ToolOutput:
    return await tool.run(tool.input_model.model_validate(args), ctx)


def write(path: Path, text: str, mtime: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def tree(workspace: Path) -> Path:
    write(workspace / "old.py", "def old():\n    return 'TODO'\n", 1_000_000)
    write(workspace / "src" / "new.py", "import os\n\ndef new():\n    todo = 1\n    return todo\n", 3_000_000)
    write(workspace / "src" / "mid.js", "// TODO later\nfunction f() {}\n", 2_000_000)
    write(workspace / ".gitignore", "build/\n*.log\n")
    write(workspace / "build" / "gen.py", "TODO generated\n")
    write(workspace / "debug.log", "TODO log\n")
    write(workspace / ".github" / "ci.yml", "TODO: ci\n", 500_000)
    return workspace


async def test_glob_sorts_newest_first_and_respects_gitignore(ctx: ToolContext, tree: Path) -> None:
    out = await call(Glob(), ctx, pattern="**/*.py")
    assert out.content.splitlines() == [str(tree / "src/new.py"), str(tree / "old.py")]
    out = await call(Glob(), ctx, pattern="*.js", path=str(tree / "src"))
    assert out.content == str(tree / "src/mid.js")
    out = await call(Glob(), ctx, pattern=f"{tree}/src/*.py")
    assert out.content == str(tree / "src/new.py")
    assert (await call(Glob(), ctx, pattern="*.rs")).content == "No files found"


async def test_glob_caps_at_100_with_a_note(ctx: ToolContext, workspace: Path) -> None:
    for i in range(120):
        write(workspace / "many" / f"f{i:03}.txt", "x", 1_000_000 + i)
    lines = (await call(Glob(), ctx, pattern="many/*.txt")).content.splitlines()
    assert lines[0] == str(workspace / "many/f119.txt")
    assert len([line for line in lines if line.startswith("/")]) == 100
    assert "truncated" in lines[-1] and "120" in lines[-1]


async def test_grep_files_with_matches_default(ctx: ToolContext, tree: Path) -> None:
    out = await call(Grep(), ctx, pattern="TODO")
    lines = out.content.splitlines()
    assert lines[0] == "Found 3 files"
    assert lines[1:] == [str(tree / "src/mid.js"), str(tree / "old.py"), str(tree / ".github/ci.yml")]


async def test_grep_content_with_flags_and_context(ctx: ToolContext, tree: Path) -> None:
    args = {"pattern": "todo", "output_mode": "content", "-i": True, "type": "py"}
    out = await call(Grep(), ctx, **args)
    assert f"{tree}/old.py:2:    return 'TODO'" in out.content
    assert f"{tree}/src/new.py:4:    todo = 1" in out.content
    assert "mid.js" not in out.content
    out = await call(
        Grep(), ctx, pattern="^def new", output_mode="content", glob="*.py", **{"-B": 2, "-A": 1}
    )
    assert out.content.splitlines() == [
        f"{tree}/src/new.py-1-import os",
        f"{tree}/src/new.py-2-",
        f"{tree}/src/new.py:3:def new():",
        f"{tree}/src/new.py-4-    todo = 1",
    ]
    out = await call(Grep(), ctx, pattern="later", output_mode="content", **{"-n": False, "-C": 0})
    assert out.content == f"{tree}/src/mid.js:// TODO later"
    # The dashed names are what the model sees; the Python names work too.
    schema = Grep.input_model.model_json_schema(by_alias=True)["properties"]
    assert {"-i", "-n", "-A", "-B", "-C"} <= set(schema)
    assert GrepInput.model_validate({"pattern": "x", "case_insensitive": True}).case_insensitive


async def test_grep_count_multiline_and_errors(ctx: ToolContext, tree: Path) -> None:
    out = await call(Grep(), ctx, pattern="todo", output_mode="count", path=str(tree / "src"))
    assert out.content.splitlines()[0] == f"{tree}/src/new.py:2"
    assert "Found 2 matching lines across 1 files." in out.content
    out = await call(Grep(), ctx, pattern=r"def new\(\):.*return", multiline=True, output_mode="content")
    assert "new.py:3:def new():" in out.content and "new.py:5:    return todo" in out.content
    assert (await call(Grep(), ctx, pattern=r"def new\(\):.*return")).content == "No files found"
    with pytest.raises(ToolError, match="Grep failed"):
        await call(Grep(), ctx, pattern="(unclosed")
    with pytest.raises(ToolError, match="Grep failed"):
        await call(Grep(), ctx, pattern="x", type="no-such-type")


async def test_grep_head_limit_default_and_explicit(ctx: ToolContext, workspace: Path) -> None:
    write(workspace / "many.txt", "".join(f"hit {i}\n" for i in range(300)))
    out = await call(Grep(), ctx, pattern="hit", output_mode="content")
    assert out.content.count("many.txt:") == 250
    assert "first 250 of 300 lines" in out.content
    out = await call(Grep(), ctx, pattern="hit", output_mode="content", head_limit=3)
    assert out.content.count("many.txt:") == 3 and "first 3 of 300" in out.content


async def test_ls_lists_a_tree_with_ignores_and_a_cap(ctx: ToolContext, tree: Path) -> None:
    out = await call(LS(), ctx, path=str(tree), ignore=["*.log", "build"])
    assert out.content.splitlines() == [
        f"- {tree}/",
        "  - old.py",
        "  - src/",
        "    - mid.js",
        "    - new.py",
    ]
    for i in range(1005):
        write(tree / "big" / f"{i}.txt", "")
    out = await call(LS(), ctx, path=str(tree))
    assert out.content.startswith("There are more than 1000 entries")
    with pytest.raises(ToolError, match="absolute"):
        await call(LS(), ctx, path="src")


def test_an_absolute_glob_pattern_names_its_directory_for_the_permission_check(
    ctx: ToolContext, workspace: Path, tmp_path: Path
) -> None:
    """`/etc/**` (or any absolute pattern outside the workspace) is judged as a read of its fixed
    prefix, so the permission engine asks instead of listing another tree unasked."""
    from claw_lsp.agent.permissions import PermissionEngine, rule_family
    from claw_lsp.config import Settings
    from claw_lsp.tools.search import Glob, GlobInput

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    engine = PermissionEngine(Settings(), [workspace], None)
    for pattern, expected in (
        (f"{outside}/**/*.conf", "ask"),
        (f"{workspace}/src/**", "allow"),
        ("**/*.py", "allow"),
    ):
        args = GlobInput(pattern=pattern)
        subject = Glob().subject(args, ctx)
        decision = engine.decide("Glob", True, subject, {"pattern": pattern}, family=rule_family(Glob()))
        assert decision.behavior == expected, (pattern, subject, decision)
    assert Glob().subject(GlobInput(pattern=f"{outside}/**/*.conf"), ctx) == str(outside)


async def test_search_tools_never_reach_outside_through_a_swapped_symlink(
    ctx: ToolContext, workspace: Path, tmp_path: Path
) -> None:
    """A thread flips `ws/d` between a real directory and a symlink to the outside while Grep, Glob
    and LS run: a call whose path was checked inside the workspace sees the inside files or fails,
    never the outside ones (the path is resolved once, for the check, and opened beneath)."""
    outside = tmp_path / "outside"
    write(outside / "leak.txt", "needle OUTSIDE\n")
    link = workspace / "d"
    write(link / "kept.txt", "needle inside\n")
    calls = {"seen": 0, "failed": 0, "asked": 0}
    cases: list[tuple[Tool, dict[str, Any]]] = [
        (Grep(), {"pattern": "needle", "path": str(link), "output_mode": "content"}),
        (Glob(), {"pattern": "*.txt", "path": str(link)}),
        (LS(), {"path": str(link)}),
    ]
    with flipping(link, outside, real_for=0.002):  # some calls get through whole
        for n in range(300):
            tool, args = cases[n % 3]
            model = tool.input_model.model_validate(args)
            checked = tool.subject(model, ctx)  # what the permission check judges, as the loop does
            if checked is None or not ctx.workspace.is_inside(Path(checked)):
                calls["asked"] += 1  # resolved outside: the user would be asked first
                continue
            try:
                out = await tool.run(model, ctx)
            except (ToolError, OSError):
                calls["failed"] += 1
                continue
            assert "OUTSIDE" not in out.content and "leak" not in out.content, out.content
            calls["seen"] += 1
    assert calls["seen"] > 0, calls


async def test_grep_names_real_paths_for_a_pinned_file_and_directory(ctx: ToolContext, tree: Path) -> None:
    out = await call(Grep(), ctx, pattern="todo", path=str(tree / "src" / "new.py"), output_mode="content")
    assert out.content.splitlines()[0] == f"{tree / 'src' / 'new.py'}:4:    todo = 1"
    out = await call(Grep(), ctx, pattern="TODO", path=str(tree / "src"), output_mode="count")
    assert out.content.splitlines()[0] == f"{tree / 'src' / 'mid.js'}:1"
    assert "/proc/self/fd" not in out.content
