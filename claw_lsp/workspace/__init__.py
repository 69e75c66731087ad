"""The agent's view of the workspace: open editor buffers over disk, path confinement, changes."""
