"""Read, Write, Edit and MultiEdit against a real temp workspace (disk applier)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from claw_lsp.core.files import ApplyResult, FileChange, OpenBuffer
from claw_lsp.core.tools import SessionState, Tool, ToolContext, ToolError, ToolOutput
from claw_lsp.tools.files import Edit, MultiEdit, Read, ReadInput, Write
from claw_lsp.workspace.view import WorkspaceView


@pytest.fixture
def ctx(workspace: Path) -> ToolContext:
    return ToolContext(workspace=WorkspaceView([workspace]), state=SessionState(), tool_call_id="t1")


async def call(tool: Tool, ctx: ToolContext, **args: Any) -> ToolOutput:
    return await tool.run(tool.input_model.model_validate(args), ctx)


async def read(ctx: ToolContext, path: Path, **args: Any) -> str:
    out = await call(Read(), ctx, file_path=str(path), **args)
    assert not out.is_error, out.content
    return out.content


# -- Read ----------------------------------------------------------------------------------------


async def test_read_numbers_lines_like_cat_n_and_records_snapshot(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "app.py"
    path.write_text("import os\n\nprint(1)\n")
    out = await read(ctx, path)
    assert out == "     1\timport os\n     2\t\n     3\tprint(1)"
    assert ctx.state.read_files[path].text == "import os\n\nprint(1)\n"
    assert Read().title(ReadInput(file_path=str(path)), ctx) == "Reading app.py"
    assert Read().subject(ReadInput(file_path=str(path)), ctx) == str(path)


async def test_read_defaults_to_2000_lines_and_states_truncation(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "long.txt"
    path.write_text("".join(f"l{i}\n" for i in range(1, 2501)))
    out = await read(ctx, path)
    assert out.count("\n") >= 2000 and "  2000\tl2000" in out and "l2001" not in out
    assert "Showing lines 1-2000 of 2500. Use offset=2001 to read more." in out
    out = await read(ctx, path, offset=2490, limit=5)
    assert out.startswith("  2490\tl2490") and "Showing lines 2490-2494 of 2500" in out
    past = await call(Read(), ctx, file_path=str(path), offset=3000)
    assert past.is_error and "2500 lines" in past.content


async def test_read_cuts_long_lines_with_a_marker(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "min.js"
    path.write_text("a" * 2500 + "\nshort\n")
    out = await read(ctx, path)
    assert "a" * 2000 + "... [line truncated: 500 more characters]" in out
    assert "a" * 2001 not in out and "1 line(s) longer than 2000 characters were truncated" in out


async def test_read_refuses_binary_relative_and_missing_paths_helpfully(
    ctx: ToolContext, workspace: Path
) -> None:
    (workspace / "logo.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ToolError, match="binary"):
        await call(Read(), ctx, file_path=str(workspace / "logo.bin"))
    with pytest.raises(ToolError, match=f"absolute path.*Did you mean {workspace}/src/app.py"):
        await call(Read(), ctx, file_path="src/app.py")
    (workspace / "config.yaml").write_text("x")
    with pytest.raises(ToolError, match=r"does not exist.*config\.yaml"):
        await call(Read(), ctx, file_path=str(workspace / "config.yml"))
    with pytest.raises(ToolError, match="directory"):
        await call(Read(), ctx, file_path=str(workspace))


async def test_read_empty_file_is_noted(ctx: ToolContext, workspace: Path) -> None:
    (workspace / "empty.txt").write_text("")
    assert "exists but is empty" in await read(ctx, workspace / "empty.txt")


async def test_read_pages_a_very_large_file(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "big.log"
    path.write_text("".join(f"row {i}\n" for i in range(1, 20_001)))
    ctx.workspace.page_threshold_bytes = 10_000
    out = await read(ctx, path, offset=10_000, limit=2)
    assert out.startswith(" 10000\trow 10000\n 10001\trow 10001")
    assert "of 20000" in out and "page by page" in out
    assert path not in ctx.state.read_files


async def test_read_shows_the_open_buffer(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "a.py"
    path.write_text("disk\n")

    class Buffers:
        def open_buffer(self, p: Path) -> OpenBuffer | None:
            return OpenBuffer(uri=p.as_uri(), text="unsaved\n", version=3) if p == path else None

    ctx.workspace.buffers = Buffers()
    assert await read(ctx, path) == "     1\tunsaved"
    assert ctx.state.read_files[path].version == 3


# -- Edit ----------------------------------------------------------------------------------------


async def test_edit_requires_a_prior_read(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "a.py"
    path.write_text("x = 1\n")
    with pytest.raises(ToolError, match="not been read"):
        await call(Edit(), ctx, file_path=str(path), old_string="1", new_string="2")
    assert path.read_text() == "x = 1\n"


async def test_edit_on_disk_refused_when_file_changed_since_read(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "a.py"
    path.write_text("x = 1\n")
    await read(ctx, path)
    path.write_text("x = 1\ny = 2\n")
    out = await call(Edit(), ctx, file_path=str(path), old_string="x = 1", new_string="x = 3")
    assert out.is_error and "changed on disk since it was read; Read it again" in out.content
    assert path.read_text() == "x = 1\ny = 2\n"


async def test_edit_replaces_once_and_shows_snippet(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "a.py"
    path.write_text("".join(f"line{i}\n" for i in range(1, 21)))
    await read(ctx, path)
    out = await call(Edit(), ctx, file_path=str(path), old_string="line10\n", new_string="ten\n")
    assert not out.is_error
    assert path.read_text().splitlines()[9] == "ten"
    assert "    10\tten" in out.content and "     6\tline6" in out.content and "line1\n" not in out.content
    assert path in ctx.state.touched
    # The edit's own result counts as read: a second edit needs no new Read.
    await call(Edit(), ctx, file_path=str(path), old_string="line11", new_string="eleven")
    assert "eleven" in path.read_text()


async def test_edit_ambiguous_and_missing_matches_say_where(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "a.py"
    path.write_text("a = 1\nb = 2\na = 1\n\n    c = 3\n")
    await read(ctx, path)
    with pytest.raises(ToolError, match=r"Found 2 matches of old_string, at lines 1, 3"):
        await call(Edit(), ctx, file_path=str(path), old_string="a = 1", new_string="a = 9")
    with pytest.raises(ToolError, match=r"0 matches.*line\(s\) 5"):
        await call(Edit(), ctx, file_path=str(path), old_string="c = 3\n  d", new_string="x")
    with pytest.raises(ToolError, match="exactly the same"):
        await call(Edit(), ctx, file_path=str(path), old_string="b", new_string="b")
    out = await call(
        Edit(), ctx, file_path=str(path), old_string="a = 1", new_string="a = 9", replace_all=True
    )
    assert not out.is_error and path.read_text().count("a = 9") == 2


async def test_edit_crlf_file_with_lf_strings_keeps_crlf(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "win.txt"
    path.write_bytes(b"one\r\ntwo\r\nthree\r\n")
    await read(ctx, path)
    await call(Edit(), ctx, file_path=str(path), old_string="one\ntwo", new_string="1\n2\n2.5")
    assert path.read_bytes() == b"1\r\n2\r\n2.5\r\nthree\r\n"


async def test_edit_preserves_bom_and_latin1_bytes_outside_the_edit(
    ctx: ToolContext, workspace: Path
) -> None:
    bom = workspace / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbfh\xc3\xa9 x\n")
    latin = workspace / "latin.txt"
    latin.write_bytes(b"caf\xe9 \xff x\n")
    for path in (bom, latin):
        await read(ctx, path)
        await call(Edit(), ctx, file_path=str(path), old_string="x", new_string="y")
    assert bom.read_bytes() == b"\xef\xbb\xbfh\xc3\xa9 y\n"
    assert latin.read_bytes() == b"caf\xe9 \xff y\n"


async def test_edit_with_empty_old_string_creates_a_new_file(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "pkg" / "new.py"
    out = await call(Edit(), ctx, file_path=str(path), old_string="", new_string="hi\n")
    assert "created" in out.content and path.read_text() == "hi\n"


async def test_edit_rejected_by_applier_returns_its_feedback(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "a.py"
    path.write_text("x = 1\n")
    seen: list[FileChange] = []

    class Reviewer:
        """A ChangeApplier like the server's review: the user rejects with feedback."""

        async def apply(self, change: FileChange) -> ApplyResult:
            seen.append(change)
            return ApplyResult(applied=False, message="The user rejected this edit: use 2, not 3.")

    ctx.workspace.applier = Reviewer()
    await read(ctx, path)
    out = await call(Edit(), ctx, file_path=str(path), old_string="x = 1", new_string="x = 3")
    assert out.is_error and "use 2, not 3" in out.content
    assert seen[0].kind == "modify" and seen[0].base is not None and seen[0].new_text == "x = 3\n"
    assert path.read_text() == "x = 1\n" and path not in ctx.state.touched


async def test_edit_appends_applier_message_and_records_final_text(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "a.py"
    path.write_text("x = 1\n")

    class Rebaser:
        async def apply(self, change: FileChange) -> ApplyResult:
            return ApplyResult(True, "Rebased over your unsaved edits.", final_text="# user\nx = 2\n")

    ctx.workspace.applier = Rebaser()
    await read(ctx, path)
    out = await call(Edit(), ctx, file_path=str(path), old_string="x = 1", new_string="x = 2")
    assert out.content.endswith("Rebased over your unsaved edits.")
    assert ctx.state.read_files[path].text == "# user\nx = 2\n"


@pytest.mark.parametrize("raw", ["{ws}/../escape.txt", "{ws}/link/escape.txt", "/tmp/claw-escape.txt"])
async def test_edit_and_write_refuse_paths_outside_the_workspace(
    ctx: ToolContext, workspace: Path, tmp_path: Path, raw: str
) -> None:
    (workspace / "link").symlink_to(tmp_path)
    path = raw.format(ws=workspace)
    with pytest.raises(ToolError, match="outside the workspace"):
        await call(Write(), ctx, file_path=path, content="x")
    with pytest.raises(ToolError, match="outside the workspace"):
        await call(Edit(), ctx, file_path=path, old_string="", new_string="x")
    assert not Path(path).exists() and not (tmp_path / "escape.txt").exists()


async def test_tilde_is_never_expanded(ctx: ToolContext, workspace: Path) -> None:
    with pytest.raises(ToolError, match="'~'"):
        await call(Write(), ctx, file_path="~/.bashrc-claw-test", content="x")
    assert not (Path.home() / ".bashrc-claw-test").exists()


# -- MultiEdit -----------------------------------------------------------------------------------


async def test_multiedit_applies_sequentially(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "a.py"
    path.write_text("alpha\nbeta\n")
    await read(ctx, path)
    edits = [
        {"old_string": "alpha", "new_string": "gamma"},
        {"old_string": "gamma\nbeta", "new_string": "gamma\ndelta"},
    ]
    out = await call(MultiEdit(), ctx, file_path=str(path), edits=edits)
    assert not out.is_error and path.read_text() == "gamma\ndelta\n"


async def test_multiedit_is_all_or_none(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "a.py"
    path.write_text("alpha\nbeta\n")
    await read(ctx, path)
    edits = [{"old_string": "alpha", "new_string": "gamma"}, {"old_string": "nope", "new_string": "x"}]
    with pytest.raises(ToolError, match=r"Edit 2 of 2 failed.*None of the edits were applied"):
        await call(MultiEdit(), ctx, file_path=str(path), edits=edits)
    assert path.read_text() == "alpha\nbeta\n"


# -- Write ---------------------------------------------------------------------------------------


async def test_write_creates_parents_and_overwrite_needs_read(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "a" / "b" / "c.txt"
    out = await call(Write(), ctx, file_path=str(path), content="one\n")
    assert out.content == f"File created successfully at: {path}" and path.read_text() == "one\n"
    other = workspace / "exists.txt"
    other.write_text("mine\n")
    with pytest.raises(ToolError, match="not been read"):
        await call(Write(), ctx, file_path=str(other), content="theirs\n")
    await read(ctx, other)
    other.write_text("changed\n")
    out = await call(Write(), ctx, file_path=str(other), content="theirs\n")
    assert out.is_error and "changed on disk" in out.content and other.read_text() == "changed\n"
    await read(ctx, other)
    out = await call(Write(), ctx, file_path=str(other), content="theirs\n")
    assert "overwritten" in out.content and other.read_text() == "theirs\n"
    # Its own Write counts as read.
    await call(Write(), ctx, file_path=str(path), content="two\n")
    assert path.read_text() == "two\n"


async def test_write_keeps_crlf_of_an_existing_file(ctx: ToolContext, workspace: Path) -> None:
    path = workspace / "w.txt"
    path.write_bytes(b"a\r\nb\r\n")
    await read(ctx, path)
    await call(Write(), ctx, file_path=str(path), content="x\ny\n")
    assert path.read_bytes() == b"x\r\ny\r\n"


async def test_read_refuses_a_fifo_without_blocking(ctx: ToolContext, workspace: Path) -> None:
    import os

    os.mkfifo(workspace / "pipe")  # no writer: a plain open() would block forever
    with pytest.raises(ToolError, match="not a regular file"):
        await call(Read(), ctx, file_path=str(workspace / "pipe"))
