"""The agent harness: editor-agnostic loop, events, transcripts, permissions, hooks."""
