"""The terminal console every command prints with."""

from __future__ import annotations

from rich.console import Console


def make_console() -> Console:
    """Rich's console without emoji codes: a student's ":warning:" in a message stays text, and rich's table of
    emoji names (a few milliseconds of every `grader check`) is never loaded."""
    return Console(emoji=False)
