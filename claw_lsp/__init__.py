"""claw-lsp: a coding agent that lives inside the editor, through the Language Server Protocol."""

__version__ = "0.1.0"
