"""Tests with the official Claude Agent SDK (`claude-agent-sdk`) driving `claw` as its CLI."""
