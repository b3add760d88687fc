"""Text that came from a submission (or a file name), made safe to store and to print.

A submission's strings reach the grader as JSON, which can spell lone surrogates (``"\\udcff"``), and a
folder name that is not UTF-8 reaches Python as one too: no file, page or terminal can hold them, and
writing one used to fail the whole class's reports. And printed raw, its control characters could clear
the instructor's screen, retitle the window or print over the score.
"""

from __future__ import annotations

import re
import shlex

# C0 controls but tab and newline, DEL and the C1 controls: escape sequences (ESC, CSI, OSC), carriage
# returns, backspaces.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # tab and newline too


def _is_valid(text: str) -> bool:
    """Whether ``text`` holds no lone surrogate (ASCII, the common case, is checked without encoding)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def valid_text(text: str) -> str:
    """``text`` as valid Unicode: each lone surrogate becomes U+FFFD (a pair written as two halves is joined)."""
    return text if _is_valid(text) else text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def name_text(name: str) -> str:
    """A file or folder name as valid text: bytes that were not UTF-8 (which Python keeps as lone surrogates)
    shown as ``\\xNN``, so that two such names stay two (a student id, its seeds and its page among them)."""
    if _is_valid(name):
        return name
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file system produced
        return valid_text(name)


def _shown(control: re.Match[str]) -> str:
    return f"\\x{ord(control.group()):02x}"


def printable(text: str) -> str:
    """``text`` with its control characters (tab and newline kept) shown as ``\\xNN``: for anything a submission
    wrote that reaches the terminal (its output, messages, values, names)."""
    return _CONTROL.sub(_shown, text)


def shell_word(text: str) -> str:
    """One word of a command printed for someone to copy and run (a replay command): quoted for the shell, and
    on one line. A name's control characters, tab and newline included, are shown as ``\\xNN`` (no LMS makes
    such names): kept, a newline would print the rest of the command as a line of its own, which a copy of
    that line alone would run."""
    return shlex.quote(_ANY_CONTROL.sub(_shown, text))
