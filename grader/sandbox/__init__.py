"""Running untrusted submissions: the runner interface, the sandboxed worker, the portable runner and a test double."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .runner import Runner

ISOLATION_MODES = ("auto", "full", "reduced", "portable")  # what --isolation takes (see open_runner)


def sandbox_unavailable() -> str:
    """Why the sandboxed worker cannot run here ("" when it can): it needs Linux, fork, and bwrap or seccomp."""
    if not hasattr(os, "fork"):
        return "no fork"
    if not sys.platform.startswith("linux"):
        return f"not Linux ({sys.platform})"
    from .isolation import find_bwrap

    if find_bwrap() is not None:
        return ""
    from .worker.confine import seccomp_available  # loads libseccomp: only asked where bubblewrap is missing

    return "" if seccomp_available() else "neither bubblewrap nor seccomp"


def open_runner(mode: str, workers: int = 1) -> Runner:
    """The runner for ``--isolation MODE``: the sandboxed worker, or the portable runner where it cannot run.

    "portable" always gives the portable runner; "auto" and "reduced" give it where the sandbox needs what
    this system lacks; "full" never does (the sandbox refuses instead). Heavy imports stay inside, so that
    importing this package (as the CLI does before anything else) stays cheap.
    """
    lacking = sandbox_unavailable() if mode in ("auto", "reduced") else ""
    if mode == "portable" or lacking:
        from . import isolation, launch
        from .portable import PortableRunner

        early = launch.take(mode, isolation.Layers())  # a worker the CLI may have started early is not needed
        if early is not None:
            early.proc.kill()
            early.proc.wait()
            early.stderr.close()
            for stream in (early.proc.stdin, early.proc.stdout):
                if stream is not None:
                    stream.close()
            if early.plan.tmpdir:
                import shutil

                shutil.rmtree(early.plan.tmpdir, ignore_errors=True)
        return PortableRunner(workers, reason="on this system" if lacking else "(as requested)")
    from .process import SandboxRunner

    return SandboxRunner(workers=workers, mode=mode)
