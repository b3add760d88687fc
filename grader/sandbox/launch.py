"""Starting a worker process. Imports neither numpy nor the engine (nor dataclasses, tempfile or pathlib), so
that a command can start the worker first thing and let it boot while the grader itself loads."""

from __future__ import annotations

import json
import os
import struct
import subprocess
from typing import IO, Any, NamedTuple

from ..threads import THREAD_VARS
from . import isolation as iso

_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **{v: "1" for v in THREAD_VARS}}


class Started(NamedTuple):
    proc: subprocess.Popen[bytes]
    plan: iso.LaunchPlan
    stderr: IO[bytes]


def _unnamed_file() -> IO[bytes]:
    """An unnamed temporary file, gone when closed: what ``tempfile.TemporaryFile`` makes on Linux (O_TMPFILE),
    without importing tempfile first (a tenth of the time before `grader check` can start its worker)."""
    try:
        fd = os.open(os.environ.get("TMPDIR") or "/tmp", os.O_TMPFILE | os.O_RDWR, 0o600)
    except (AttributeError, OSError):  # no O_TMPFILE here, or that folder does not take one
        import tempfile

        return tempfile.TemporaryFile()
    return open(fd, "w+b")


def frame(message: dict[str, Any]) -> bytes:
    payload = json.dumps(message, allow_nan=False, separators=(",", ":")).encode()
    return struct.pack(">I", len(payload)) + payload


def start(mode: str, layers: iso.Layers) -> Started:
    plan = iso.plan_launch(mode, layers)
    stderr = _unnamed_file()
    proc = subprocess.Popen(plan.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=_ENV,
                            start_new_session=True, close_fds=True)
    assert proc.stdin is not None
    try:
        proc.stdin.write(frame(plan.config))
        proc.stdin.flush()
    except OSError:  # it died at once (namespaces blocked?): the handshake reports it, auto mode falls back
        pass
    return Started(proc, plan, stderr)


_early: list[tuple[str, iso.Layers, Started]] = []


def prestart(mode: str, layers: iso.Layers | None = None) -> None:
    """Start a worker now, unless one with these settings is already waiting; the next SandboxWorker with the
    same settings takes it over."""
    layers = layers or iso.Layers()
    if any(m == mode and lay == layers for m, lay, _ in _early):
        return  # started by the program before the command line was parsed (grader.program)
    try:
        _early.append((mode, layers, start(mode, layers)))
    except Exception:  # noqa: BLE001 - the regular start will report the problem properly
        pass


def take(mode: str, layers: iso.Layers) -> Started | None:
    for i, (m, lay, started) in enumerate(_early):
        if m == mode and lay == layers:
            del _early[i]
            return started
    return None
