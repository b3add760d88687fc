"""Tests watch only what they started: run a command under a child subreaper and collect what it left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

# Runs a command as a child subreaper: every process the command starts that outlives it (a worker,
# a daemon, whatever its session) is reparented to this wrapper, which reports and kills it.
# Only the processes this test started are looked at, never another grader's on the same machine.
_TRACKER = """
import ctypes, json, os, signal, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
code = subprocess.run(sys.argv[3:]).returncode
survivors = []
deadline = time.monotonic() + float(sys.argv[2])  # workers die with their grader (--die-with-parent)
while True:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        break
    if time.monotonic() > deadline:
        pids = {int(p) for t in os.listdir("/proc/self/task")
                for p in open(f"/proc/self/task/{t}/children").read().split()}
        for pid in pids:
            try:
                survivors.append(open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode()[:300])
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = float("inf")
    time.sleep(0.05)
json.dump(survivors, open(sys.argv[1], "w"))
sys.exit(code)
"""


class tracked:
    """``with tracked(argv, folder) as run: done, survivors = run.finish()``."""

    def __init__(self, argv: list[str], folder: Path, grace: float = 5.0, **popen) -> None:
        self.report = folder / f"survivors-{uuid.uuid4().hex}.json"
        self.proc = subprocess.Popen([sys.executable, "-c", _TRACKER, str(self.report), str(grace), *argv],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)

    def finish(self, timeout: float = 300) -> tuple[subprocess.CompletedProcess, list[str]]:
        stdout, stderr = self.proc.communicate(timeout=timeout)
        done = subprocess.CompletedProcess(self.proc.args, self.proc.returncode, stdout, stderr)
        return done, json.loads(self.report.read_text())

    def __enter__(self) -> tracked:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def children(self) -> list[int]:
        """The processes the wrapper started that are still its children (the command itself, first)."""
        pids = []
        for task in os.listdir(f"/proc/{self.proc.pid}/task"):
            with open(f"/proc/{self.proc.pid}/task/{task}/children") as fh:
                pids += [int(p) for p in fh.read().split()]
        return pids
