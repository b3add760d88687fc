"""Student code that writes forged result frames to every descriptor it may hold (the result channel among
them): the body of a hostile ``double(x)`` for the sandbox and portable-runner tests."""

from __future__ import annotations


def forged_frames_body(head: str, value: str = "[0.0]", copies: int = 1) -> str:
    """Lines that write ``copies`` frames whose message is the JSON text ``head`` and whose value is ``value``
    to descriptors 3-63, then ``return x``."""
    return "\n".join([
        "import os, struct",
        f"msg = {head!r}.encode()",
        f"val = {value!r}.encode()",
        "frame = struct.pack('>I', len(msg) + 1 + len(val)) + msg + b'\\n' + val",
        "for fd in range(3, 64):",
        "    try:",
        f"        os.write(fd, frame * {copies})",
        "    except OSError:",
        "        pass",
        "return x",
    ])


def forged_at_import(head: str) -> str:
    """Module-level lines that write one forged frame (message ``head``, no value) while the submission is
    imported, before the grader has heard from it."""
    return "\n".join(forged_frames_body(head, "").splitlines()[:-1]) + "\n"


def forged_result_head(seconds: str) -> str:
    """A result message for call 0 that says it took ``seconds`` (JSON text, any value)."""
    return '{"type": "result", "index": 0, "status": "ok", "seconds": ' + seconds + "}"
