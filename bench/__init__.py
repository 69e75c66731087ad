"""Benchmarks: each measures claw-lsp against a peer or baseline in the same run and prints ratios."""
