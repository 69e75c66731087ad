"""The shared vocabulary every layer speaks: transcript messages, run events, file changes and the
protocols (Tool, Prompter, ChangeApplier, BufferSource, DiagnosticsSource). Imports nothing else
of the project."""
