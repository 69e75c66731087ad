"""Shared pytest configuration: fixtures from tests/fakes are available to every test."""

import os

# Keep every test's state (sessions, settings) out of the user's home.
os.environ.setdefault("CLAW_TEST", "1")

pytest_plugins = ["tests.fakes.fixtures"]
