"""A large class's student pages, rendered by processes of their own while the grader writes the rest.

Rendering one student's page takes 3-5 ms (wr3), more than a class's reports spend on anything else, and
the grader's one process renders them one after the other. From :data:`PAGES_APART` students on, a spooled
batch's pages are shared out between ``python -m grader.render.page_process`` processes, one per core, each
told on its standard input which spooled results to read. Plain processes, not ``multiprocessing``: its
``spawn`` would run again the main script of whoever called the grader's API. Measured by
``benchmarks/bench.py`` (the reports' time against N).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import IO

from ..errors import GraderError
from ..results import BatchResult, to_dict
from ..spool import ResultSpool

PAGES_APART = 150  # students; each process pays about 0.3 s to start (numpy, jinja2): smaller classes in line
PER_PROCESS = 50  # at least this many students per process


def page_processes(batch: BatchResult, workers: int | None) -> int:
    """How many processes render ``batch``'s student pages (0: this process does). ``workers``: at most
    this many (None: one per core)."""
    if not isinstance(batch.submissions, ResultSpool) or len(batch.submissions) < PAGES_APART:
        return 0
    count = min(workers if workers is not None else os.cpu_count() or 1, len(batch.submissions) // PER_PROCESS)
    return count if count > 1 else 0


class PagesApart:
    """The processes rendering a spooled batch's student pages; :meth:`wait` raises if any failed. Leaving
    the ``with`` block without waiting (an error elsewhere) stops them."""

    def __init__(self, batch: BatchResult, processes: int, target: Path, course: str, for_students: bool,
                 release_hidden: bool) -> None:
        spool = batch.submissions
        if not isinstance(spool, ResultSpool):
            raise TypeError("pages are rendered apart from a spooled batch only")
        head = to_dict(replace(batch, submissions=()))
        files = [str(spool.file(i)) for i in range(len(spool))]
        package_root = str(Path(__file__).resolve().parents[2])  # the children import this very grader
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root,
                                                                         os.environ.get("PYTHONPATH")]))}
        self._running: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
        try:
            for part in range(processes):
                order = {"head": head, "files": files[part::processes], "target": str(target), "course": course,
                         "for_students": for_students, "release_hidden": release_hidden}
                errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in wait()/stop()
                proc = subprocess.Popen([sys.executable, "-m", "grader.render.page_process"], stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, stderr=errors, env=env)
                self._running.append((proc, errors))
                assert proc.stdin is not None
                with proc.stdin:
                    proc.stdin.write(json.dumps(order).encode())
        except BaseException:
            self.stop()
            raise

    def wait(self) -> None:
        failures = []
        for proc, errors in self._running:
            if proc.wait() != 0:
                errors.seek(0)
                tail = errors.read().decode(errors="replace").strip().splitlines()[-5:]
                failures.append(f"exit status {proc.returncode}: " + " / ".join(tail))
            errors.close()
        self._running = []
        if failures:
            raise GraderError("a process rendering student pages failed (" + "; ".join(failures) + ")")

    def stop(self) -> None:
        for proc, errors in self._running:
            proc.kill()
            proc.wait()
            errors.close()
        self._running = []

    def __enter__(self) -> PagesApart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
