"""`python -m bench [NAME ...]`: run the benchmarks and print their ratios (see bench/README.md)."""

from __future__ import annotations

import importlib
import sys

BENCHES = ["bench_peers", "bench_edits", "bench_server", "bench_tools", "bench_runs", "bench_history"]


def main(argv: list[str]) -> int:
    """Run the named benchmarks (default: all) and print one table per benchmark."""
    names = argv or BENCHES
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}: {module.__doc__.strip().splitlines()[0] if module.__doc__ else ''}")
        module.main()
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
