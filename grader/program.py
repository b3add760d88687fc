"""The ``grader`` program (the console script and ``python -m grader``).

A self-check's wall time is the sandbox worker's boot (Python, numpy, the seccomp filter) more than anything
the grader does, so ``grader check`` and ``grader replay`` start that worker first thing, before the
command-line framework and the engine load. This module therefore imports neither click nor the engine
until the worker is on its way.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, NoReturn

from .sandbox import ISOLATION_MODES
from .threads import one_numeric_thread

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

WORKER_COMMANDS = ("check", "replay")  # the commands that run one submission in one sandbox worker


def early_worker_mode(args: Sequence[str], env: Mapping[str, str]) -> str | None:
    """The isolation mode to start a worker in before the command line is parsed, or None for no early worker.

    Read from the arguments as the command will read them (``--require-isolation`` means "full"; else
    ``--isolation``, else ``$GRADER_ISOLATION``, else "auto"). A guess that turns out wrong costs only an
    idle process: the command takes an early worker only when it has the settings it wants."""
    if not args or args[0] not in WORKER_COMMANDS or not sys.platform.startswith("linux"):
        return None
    if "--help" in args or "-h" in args:
        return None
    mode = env.get("GRADER_ISOLATION", "auto")
    for i, arg in enumerate(args):
        if arg == "--isolation" and i + 1 < len(args):
            mode = args[i + 1]
        elif arg.startswith("--isolation="):
            mode = arg.partition("=")[2]
    if "--require-isolation" in args:
        mode = "full"
    return mode if mode in ISOLATION_MODES and mode != "portable" else None


def run() -> NoReturn:
    """``main``, then an immediate exit.

    Every command has written and closed its files and stopped its workers when it returns, so the
    interpreter's own teardown (freeing numpy, rich and the course modules: 30-40 ms measured, an eighth of a
    `grader check`) is skipped. Tests call ``grader.cli.main`` itself, in-process."""
    one_numeric_thread()  # before any command imports numpy
    mode = early_worker_mode(sys.argv[1:], os.environ)
    if mode is not None:
        from .sandbox import launch

        launch.prestart(mode)
    from .cli import main

    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # what SystemExit("message") prints
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (grader check | head)
            pass
    os._exit(code or 0)
