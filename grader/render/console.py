"""The terminal console every command prints with."""

from __future__ import annotations

from rich.console import Console

from ..text import printable


def make_console() -> Console:
    """Rich's console without emoji codes: a student's ":warning:" in a message stays text, and rich's table of
    emoji names (a few milliseconds of every `grader check`) is never loaded."""
    return Console(emoji=False)


def markup_of(text: str) -> str:
    """A submission's text (or a student's name) as rich markup that prints exactly what it says, its control
    characters made visible (:func:`grader.text.printable`)."""
    from rich.markup import escape

    return escape(printable(text))
