"""The pygls language server: lifecycle and settings (app), code actions, commands, runs, edits, review."""
