"""The corpus of real edits: every pair's calls give its new text, by the reference and by claw's tools."""

from __future__ import annotations

import pytest

from claw_lsp.tools import files
from claw_lsp.workspace import textio
from tests.corpus.realedits import PROJECTS, Call, FilePair, apply_calls, edit_calls, file_pairs, variants

PAIRS = file_pairs()


def by_claw_tools(text: str, calls: list[Call]) -> str:
    """The calls applied with claw's own replace_text (and Write's CRLF rule)."""
    exists = bool(text)
    for name, args in calls:
        if name == "Write":
            content = args["content"]
            crlf = exists and textio.detect_newline(text) == "\r\n"
            text = textio.to_newline(content, "\r\n") if crlf else content
        else:
            edits = args["edits"] if name == "MultiEdit" else [args]
            newline = textio.detect_newline(text)
            for op in edits:
                text = files.replace_text(text, newline, op["old_string"], op["new_string"], False)
        exists = True
    return text


def test_the_corpus_is_big_and_varied() -> None:
    assert len(PAIRS) >= 300
    assert {p.project for p in PAIRS} == set(PROJECTS)
    assert len({(p.project, p.old_version) for p in PAIRS}) >= 9
    assert any(p.old == "" for p in PAIRS)
    names = [p.name for p in PAIRS]
    assert len(set(names)) == len(names)
    assert all(".." in n and ":" in n for n in names)


def test_file_pairs_subsets_are_deterministic_and_varied() -> None:
    first = file_pairs(30, seed=1)
    assert first == file_pairs(30, seed=1)
    assert len(first) == 30 and len({p.name for p in first}) == 30
    assert {p.project for p in first} == set(PROJECTS)
    assert file_pairs(30, seed=2) != first
    assert len(file_pairs(5)) == 5


def test_calls_mix_tools_and_keep_boundary_hunks_as_edits() -> None:
    kinds: dict[str, int] = {}
    for pair in PAIRS:
        for name, _args in edit_calls(pair, "/ws/f"):
            kinds[name] = kinds.get(name, 0) + 1
    assert kinds.get("Edit", 0) > 100 and kinds.get("MultiEdit", 0) > 10 and kinds.get("Write", 0) > 10


@pytest.mark.parametrize("seed", [0, 1])
def test_every_pair_replays_by_the_reference_and_by_claw_tools(seed: int) -> None:
    failures: list[str] = []
    for pair in PAIRS:
        calls = edit_calls(pair, f"/ws/{pair.relpath}", seed=seed)
        if apply_calls(pair.old, calls) != pair.new:
            failures.append(f"reference: {pair.name}")
            continue
        try:
            if by_claw_tools(pair.old, calls) != pair.new:
                failures.append(f"claw tools give other text: {pair.name}")
        except Exception as exc:  # a ToolError: the tools refused a call
            failures.append(f"claw tools refuse {pair.name}: {exc}")
        for name, args in calls:
            assert args["file_path"] == f"/ws/{pair.relpath}"
            for op in args.get("edits", [args]) if name != "Write" else []:
                assert op["old_string"] and op["old_string"] != op["new_string"]
    assert not failures, failures[:20]


def test_crlf_files_take_model_style_strings() -> None:
    old = "a = 1\r\nb = 2\r\nc = 3\r\nd = 4\r\n"
    new = "a = 1\r\nb = 22\r\nc = 3\r\nd = 4\r\ne = 5\r\n"
    pair = FilePair("x", "1", "2", "f.py", old, new)
    for seed in range(10):
        calls = edit_calls(pair, "/ws/f.py", seed=seed)
        assert all("\r" not in str(args) for _name, args in calls), calls
        assert apply_calls(old, calls) == new == by_claw_tools(old, calls)


def test_a_pair_whose_last_line_and_final_newline_change() -> None:
    pair = FilePair("x", "1", "2", "f.py", "x = 1\ny = 2", "x = 1\ny = 3\n")
    calls = edit_calls(pair, "/ws/f.py")
    assert [name for name, _ in calls] == ["Edit"]
    assert apply_calls(pair.old, calls) == pair.new == by_claw_tools(pair.old, calls)


def test_crlf_and_astral_variants_replay_by_the_reference_and_by_claw_tools() -> None:
    derived = variants(40)
    assert len(derived) == 80 and sum("\r\n" in p.old for p in derived if p.old) >= 30
    for pair in derived:
        calls = edit_calls(pair, "/ws/f")
        assert apply_calls(pair.old, calls) == pair.new == by_claw_tools(pair.old, calls), pair.name
        if pair.project.endswith("+crlf"):
            edits = [op for name, args in calls if name != "Write" for op in args.get("edits", [args])]
            assert all("\r" not in op["old_string"] + op["new_string"] for op in edits), pair.name
