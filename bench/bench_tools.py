"""Tools through their Python API (Grep, Read, Glob, Bash) vs the bare commands they wrap.

Each tool runs on one event loop with a real `WorkspaceView` and `ToolContext`, on a generated
workspace (2,000 Python files, one 100k-line file). The baselines do the same work without the
tool: `rg` run directly with the flags the tool passes, `head | cat -n`, a plain Python read, a
bare `bash -c true`. The ratio is the tool's cost over the baseline's (1.00 = no overhead).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from itertools import islice
from pathlib import Path
from typing import Any

from bench.common import best_of, table
from claw_lsp.core import startup
from claw_lsp.core.tools import SessionState, ToolContext
from claw_lsp.tools.bash import Bash, BashInput
from claw_lsp.tools.files import Edit, EditInput, Read, ReadInput
from claw_lsp.tools.search import Glob, GlobInput, Grep, GrepInput, rg_binary
from claw_lsp.workspace.view import WorkspaceView

DIRS, FILES_PER_DIR, LINES_PER_FILE = 40, 50, 60
BIG_LINES = 100_000
READ_LINES = 2000
# The flags Grep passes in content mode (claw_lsp/tools/search.py), so rg does the same search.
RG_CONTENT = [
    "--no-require-git", "--hidden", "--glob", "!.git", "--color", "never", "--with-filename",
    "--max-columns", "500", "--max-columns-preview", "--no-heading", "--sort", "path", "--line-number",
    "--null",
]  # fmt: skip


def _make_tree(root: Path) -> Path:
    """2,000 small Python files under `root/src` and one 100k-line file `root/big.txt`."""
    for d in range(DIRS):
        folder = root / "src" / f"pkg_{d:02d}"
        folder.mkdir(parents=True)
        for f in range(FILES_PER_DIR):
            lines = [f"def handler_{d}_{f}_{i}(request, value={i}):" for i in range(LINES_PER_FILE // 2)]
            body = "\n".join(f"{line}\n    return compute(value, 'x' * {i})" for i, line in enumerate(lines))
            (folder / f"mod_{f:02d}.py").write_text(body + "\n")
        (folder / "README.md").write_text("not python\n")
    big = root / "big.txt"
    big.write_text(
        "".join(f"line {i}: the quick brown fox jumps over the lazy dog {i * 7}\n" for i in range(BIG_LINES))
    )
    return big


def _python_read(path: Path) -> str:
    """Read the whole file, number the first READ_LINES lines like `cat -n`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(islice(lines, READ_LINES), start=1))


def _row(case: str, ours: float, base: float) -> tuple[str, str, str, str]:
    return (case, f"{ours * 1e3:.2f} ms", f"{base * 1e3:.2f} ms", f"{ours / base:.2f}")


def main() -> None:
    """Print each tool's time against its bare baseline."""
    startup.tune_allocator()  # as in claw's own processes (`claw -p`, the servers)
    loop = asyncio.new_event_loop()

    def sync(make: Callable[[], Awaitable[Any]]) -> Callable[[], Any]:
        return lambda: loop.run_until_complete(make())

    rg = rg_binary()
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="claw-bench-tools-") as tmp:
        root = Path(tmp).resolve()
        big = _make_tree(root)
        ctx = ToolContext(workspace=WorkspaceView([root]), state=SessionState())

        grep_args = GrepInput(pattern=r"def handler_1\d_", output_mode="content")
        grep_out = loop.run_until_complete(Grep().run(grep_args, ctx))
        assert "handler_1" in grep_out.content, grep_out.content[:200]
        rg_cmd = [rg, *RG_CONTENT, "--regexp", grep_args.pattern, "--", str(root)]
        rows.append(
            _row(
                f"Grep content, {DIRS * FILES_PER_DIR} files vs rg",
                best_of(sync(lambda: Grep().run(grep_args, ctx)), 5),
                best_of(lambda: subprocess.run(rg_cmd, cwd=root, capture_output=True, check=True), 5),
            )
        )

        edit_ctx = ToolContext(workspace=WorkspaceView([root]), state=SessionState())
        edit_times = []
        for n in range(5):
            loop.run_until_complete(Read().run(ReadInput(file_path=str(big)), edit_ctx))
            edit_args = EditInput(
                file_path=str(big), old_string=f"line {50_000 + n}:", new_string=f"LINE {n}:"
            )
            start = time.perf_counter()
            loop.run_until_complete(Edit().run(edit_args, edit_ctx))
            edit_times.append(time.perf_counter() - start)
        rows.append(
            _row("one-line Edit of 100k lines on disk vs 10 ms", statistics.median(edit_times), 0.010)
        )
        big.write_text(
            "".join(
                f"line {i}: the quick brown fox jumps over the lazy dog {i * 7}\n" for i in range(BIG_LINES)
            )
        )

        read_args = ReadInput(file_path=str(big))
        out = loop.run_until_complete(Read().run(read_args, ctx))
        assert out.content.startswith("     1\tline 0:") and f"of {BIG_LINES}" in out.content, out.content[
            -200:
        ]
        t_read = best_of(sync(lambda: Read().run(read_args, ctx)), 7)
        shell = f"head -n {READ_LINES} {big} | cat -n"
        rows.append(
            _row(
                "Read 2k of 100k lines vs head|cat -n",
                t_read,
                best_of(lambda: subprocess.run(shell, shell=True, capture_output=True, check=True), 7),
            )
        )
        rows.append(
            _row("Read 2k of 100k lines vs Python read", t_read, best_of(lambda: _python_read(big), 7))
        )
        # Above the page threshold Read streams only the lines it shows (no whole-file snapshot).
        paged = ToolContext(workspace=WorkspaceView([root]), state=SessionState())
        paged.workspace.page_threshold_bytes = 0
        rows.append(
            _row(
                "Read 2k lines, paged mode vs Python read",
                best_of(sync(lambda: Read().run(read_args, paged)), 7),
                best_of(lambda: _python_read(big), 7),
            )
        )

        glob_args = GlobInput(pattern="**/*.py")
        assert "mod_" in loop.run_until_complete(Glob().run(glob_args, ctx)).content
        files_cmd = [rg, "--files", "--no-require-git", "--hidden", "--glob", "!.git", "--glob", "**/*.py"]
        sorted_cmd = [*files_cmd, "--sortr", "modified"]  # Glob's order: newest first
        t_glob = best_of(sync(lambda: Glob().run(glob_args, ctx)), 9)
        rows.append(
            _row(
                "Glob **/*.py vs rg --files --sortr modified",
                t_glob,
                best_of(lambda: subprocess.run(sorted_cmd, cwd=root, capture_output=True, check=True), 9),
            )
        )
        rows.append(
            _row(
                "Glob **/*.py vs rg --files (unsorted)",
                t_glob,
                best_of(lambda: subprocess.run(files_cmd, cwd=root, capture_output=True, check=True), 9),
            )
        )

        async def bare_true() -> None:
            proc = await asyncio.create_subprocess_exec("bash", "-c", "true")
            await proc.wait()

        bash_args = BashInput(command="true")
        assert loop.run_until_complete(Bash().run(bash_args, ctx)).content == "(no output)"
        rows.append(
            _row(
                "Bash `true` round trip vs bare bash -c",
                best_of(sync(lambda: Bash().run(bash_args, ctx)), 5, 10),
                best_of(sync(bare_true), 5, 10),
            )
        )
    loop.close()
    table(rows)


if __name__ == "__main__":
    main()
