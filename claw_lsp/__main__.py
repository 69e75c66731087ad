"""`python -m claw_lsp`: the language server on stdio."""

from claw_lsp.cli import serve_main

if __name__ == "__main__":
    raise SystemExit(serve_main())
