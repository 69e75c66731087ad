"""The tools the model sees (Claude Code's names and input schemas), one module per family."""
