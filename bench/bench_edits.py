"""Edit payloads: minimal TextEdits vs whole-document replacement, on big files with small changes.

The baseline is what an integration without a diff sends: one TextEdit replacing the whole
document. We compare JSON payload bytes on the wire and the time to compute the edit list against
a plain line diff (`difflib.unified_diff`, the cheapest way to find what changed).
"""

from __future__ import annotations

import difflib
import json
import random

from lsprotocol import converters, types

from bench.common import best_of, table
from claw_lsp.server.textedit import minimal_text_edits

CONVERTER = converters.get_converter()


def _payload(edits: list[types.TextEdit]) -> int:
    return len(json.dumps(CONVERTER.unstructure(edits, list[types.TextEdit])).encode())


def _whole(old: str, new: str) -> list[types.TextEdit]:
    lines = old.split("\n")
    end = types.Position(line=len(lines) - 1, character=len(lines[-1]))
    return [
        types.TextEdit(range=types.Range(start=types.Position(line=0, character=0), end=end), new_text=new)
    ]


def _cases() -> list[tuple[str, str, str]]:
    rng = random.Random(7)
    base = [f"    value_{i} = compute({i}, 'é✓', name=\"item{i}\")  # line {i}" for i in range(10_000)]
    old = "\n".join(base) + "\n"
    one = list(base)
    one[5000] = one[5000].replace("compute", "compute_fast")
    scattered = list(base)
    for i in rng.sample(range(10_000), 20):
        scattered[i] = scattered[i] + "  # touched"
    inserted = base[:2000] + ["    # a new block", "    pass"] * 5 + base[2000:]
    return [
        ("1 line changed / 10k lines", old, "\n".join(one) + "\n"),
        ("20 scattered lines / 10k", old, "\n".join(scattered) + "\n"),
        ("10 lines inserted / 10k", old, "\n".join(inserted) + "\n"),
    ]


def main() -> None:
    """Print payload and compute-time ratios."""
    rows = []
    for name, old, new in _cases():
        ours = minimal_text_edits(old, new, types.PositionEncodingKind.Utf16)
        mine, whole = _payload(ours), _payload(_whole(old, new))
        rows.append(
            (f"{name}: payload bytes ({len(ours)} edits)", f"{mine}", f"{whole}", f"{mine / whole:.5f}")
        )
        t_ours = best_of(lambda o=old, n=new: minimal_text_edits(o, n, types.PositionEncodingKind.Utf16), 5)
        t_base = best_of(
            lambda o=old, n=new: list(difflib.unified_diff(o.splitlines(), n.splitlines(), lineterm="")), 5
        )
        rows.append(
            (
                f"{name}: compute ms vs unified_diff",
                f"{t_ours * 1e3:.2f}",
                f"{t_base * 1e3:.2f}",
                f"{t_ours / t_base:.2f}",
            )
        )
    table(rows)


if __name__ == "__main__":
    main()
