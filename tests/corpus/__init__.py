"""Corpora of real edits for the reliability suites (see docs/reliability.md)."""
