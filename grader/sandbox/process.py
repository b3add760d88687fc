"""The grader's side of the sandboxed worker: start it, send jobs, read replies with deadlines.

Everything read back is untrusted: frames are size-capped, parsed strictly
and values decoded into fresh plain objects by :mod:`wire`. A worker that
stops answering is killed and replaced; the calls it owed are reported as
``lost`` and the batch carries on.
"""

from __future__ import annotations

import os
import queue
import selectors
import signal
import subprocess
import time
from typing import IO, Any

from ..errors import IsolationError
from . import isolation as iso
from . import launch
from .runner import CallReport, ImportReport, Isolation, Job, Limits, RunReport
from .worker import wire

MAX_FRAME = 64 * 1024 * 1024
HELLO_SECONDS = 60.0
PRELOAD_SECONDS = 60.0


class WorkerLost(Exception):
    """The worker process died or stopped answering."""


class _Frames:
    """Length-prefixed frames from a pipe, each awaited with a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.selector = selectors.DefaultSelector()
        self.selector.register(fd, selectors.EVENT_READ)

    def read(self, deadline: float) -> tuple[dict[str, Any], bytes]:
        """The next message and its raw value (decoded later, only if it is wanted)."""
        while True:
            try:
                taken = wire.take_message(self.buffer, MAX_FRAME)
            except wire.WireError as exc:
                raise WorkerLost(f"worker sent {exc}") from None
            if taken is not None:
                return taken
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerLost("worker did not answer in time")
            if not self.selector.select(remaining):
                continue
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                raise WorkerLost("worker exited")
            self.buffer += chunk

    def close(self) -> None:
        self.selector.close()


class SandboxWorker:
    """One long-lived worker process (inside bubblewrap when available)."""

    def __init__(self, mode: str = "auto", layers: iso.Layers | None = None) -> None:
        self.mode = mode
        self.layers = layers or iso.Layers()
        self.proc: subprocess.Popen[bytes] | None = None
        self.frames: _Frames | None = None
        self.hello: dict[str, Any] = {}
        self.plan: iso.LaunchPlan | None = None
        self.preloaded: set[str] = set()
        self._stderr: IO[bytes] | None = None
        self._started = False
        self.fallback = ""
        self.launch()

    def launch(self) -> None:
        """Start the process (or adopt one started early); the handshake is read later."""
        started = launch.take(self.mode, self.layers) or launch.start(self.mode, self.layers)
        if self._stderr is not None:
            self._stderr.close()
        self.proc, self.plan, self._stderr = started.proc, started.plan, started.stderr
        assert self.proc.stdout is not None
        self.frames = _Frames(self.proc.stdout.fileno())
        self.preloaded = set()
        self._started = False

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc and self.proc.stdin
        try:
            self.proc.stdin.write(wire.frame(wire.dumps(message)))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerLost(f"worker closed its input: {exc}") from None

    def ensure_started(self) -> None:
        if self._started:
            return
        assert self.frames and self.plan
        try:
            hello, _ = self.frames.read(time.monotonic() + HELLO_SECONDS)
            if hello.get("type") != "hello":
                raise WorkerLost("sandbox worker sent no greeting")
        except WorkerLost as exc:
            failure = f"sandbox worker failed to start ({exc}): {self.stderr_tail()}"
            self.kill()
            if self.mode == "auto" and self.plan.namespaces:
                self.mode, self.fallback = "reduced", failure  # carry on, loudly, without namespaces
                self.launch()
                return self.ensure_started()
            if self.mode == "full":
                raise IsolationError(f"full isolation was required, but {failure}") from None
            raise WorkerLost(failure) from None
        self.hello = hello.get("isolation", {})
        self._started = True
        if self.mode == "full" and describe(self.plan, self.hello).mode != "full":
            note = describe(self.plan, self.hello).note
            self.close()
            raise IsolationError(f"full isolation was required: {note}")

    def stderr_tail(self) -> str:
        assert self._stderr is not None
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 2000))
        return self._stderr.read().decode("utf-8", "replace").strip()

    @property
    def isolation(self) -> Isolation:
        self.ensure_started()
        described = describe(self.plan, self.hello)
        if self.fallback:
            return Isolation(described.mode, described.layers, described.missing, f"{described.note} {self.fallback}")
        return described

    def start_job(self, job: Job) -> None:
        self.ensure_started()
        self._send({"op": "job", "preload": list(job.preload)})
        limits = job.limits.for_worker(len(job.calls))
        self._send({
            "source": job.source, "filename": job.filename, "module": job.module,
            "functions": list(job.functions), "want_answers": job.want_answers, "limits": limits,
            "calls": [{"function": c.function,
                       "args": c.encoded if c.encoded is not None else wire.to_wire(tuple(c.args))}
                      for c in job.calls],
        })

    def finish_job(self, job: Job) -> RunReport:
        assert self.frames
        extra = PRELOAD_SECONDS if set(job.preload) - self.preloaded else 0.0
        deadline = time.monotonic() + job.limits.job_deadline(len(job.calls)) + extra
        collected = _Collector(len(job.calls), self.isolation)  # this worker's, recorded with its results
        try:
            while True:
                message, value = self.frames.read(deadline)
                if message.get("type") == "job_end":
                    self.preloaded |= {str(p) for p in message.get("preloaded") or []}
                    if not collected.done:
                        collected.lose(f"the grading worker failed (status {message.get('status')}): "
                                       + self.stderr_tail()[-300:])
                    return collected.report()
                collected.add(message, value)
        except WorkerLost as exc:
            self.kill()
            collected.lose(f"the grading worker was lost: {exc}")
            self.launch()
            return collected.report()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
            self.proc.wait()
        if self.frames:
            self.frames.close()
        for stream in (self.proc.stdin, self.proc.stdout) if self.proc else ():
            try:
                stream.close()
            except OSError:
                pass
        if self.plan and self.plan.tmpdir:
            import shutil

            shutil.rmtree(self.plan.tmpdir, ignore_errors=True)

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self._send({"op": "exit"})
                self.proc.wait(timeout=2)
            except (WorkerLost, subprocess.TimeoutExpired):
                pass
        self.kill()
        if self._stderr is not None:
            self._stderr.close()


class _Collector:
    """Assembles a RunReport from worker frames, decoding every value strictly."""

    def __init__(self, calls: int, isolation: Isolation | None = None) -> None:
        self.isolation = isolation
        self.imported: ImportReport | None = None
        self.calls: list[CallReport | None] = [None] * calls
        self.output = ""
        self.output_bytes = 0
        self.seconds = 0.0
        self.done = False

    def add(self, message: dict[str, Any], value: bytes = b"") -> None:
        kind = message.get("type")
        if kind == "import":
            self.imported = _import_report(message)
        elif kind == "result":
            index = message.get("index")
            if type(index) is int and 0 <= index < len(self.calls):
                self.calls[index] = _call_report(message, value)
        elif kind == "done":
            self.output = str(message.get("output", ""))
            self.output_bytes = int(message.get("output_bytes") or 0)
            self.seconds = float(message.get("seconds") or 0.0)
            self.done = True

    def lose(self, detail: str) -> None:
        if self.imported is None:
            self.imported = ImportReport(status="lost", detail=detail)
        elif self.imported.status == "ok":
            self.calls = [c or CallReport(status="lost", detail=detail) for c in self.calls]
        self.done = True

    def report(self) -> RunReport:
        imported = self.imported or ImportReport(status="lost", detail="no report from the worker")
        calls = self.calls
        if imported.status != "ok":
            calls = [CallReport(status="skipped", detail="not run: the submission did not import")] * len(calls)
        filled = tuple(c or CallReport(status="lost", detail="no report for this call") for c in calls)
        return RunReport(imported, filled, self.output, self.output_bytes, self.seconds, self.isolation)


def _text(value: Any, limit: int = 4000) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _import_report(message: dict[str, Any]) -> ImportReport:
    status = message.get("status")
    if status not in ("ok", "error", "timeout", "crash", "invalid", "setup"):
        status = "invalid"
    functions = message.get("functions")
    functions = {str(k): v is True for k, v in functions.items()} if isinstance(functions, dict) else {}
    defined = message.get("defined")
    defined = tuple(str(d)[:100] for d in defined[:200]) if isinstance(defined, list) else ()
    answers: Any = None
    answers_error = _text(message.get("answers_error"))
    if message.get("answers") is not None:
        try:
            answers = wire.from_wire(message["answers"])
        except wire.WireError as exc:
            answers_error = f"ANSWERS could not be read: {exc}"
    return ImportReport(status=status, detail=_text(message.get("detail")), functions=functions,
                        defined=defined, answers=answers, answers_error=answers_error)


def _call_report(message: dict[str, Any], raw: bytes) -> CallReport:
    status = message.get("status")
    if status not in ("ok", "error", "invalid", "timeout", "crash", "skipped"):
        status = "invalid"
    seconds = message.get("seconds")
    seconds = float(seconds) if type(seconds) in (int, float) else 0.0
    value = None
    detail = _text(message.get("detail"))
    if status == "ok":
        try:
            if not raw:
                raise wire.WireError("no value")
            value = wire.from_wire(wire.loads(raw))
        except wire.WireError as exc:
            status, detail = "invalid", f"the returned value could not be read: {exc}"
    return CallReport(status=status, value=value, detail=detail, seconds=seconds,
                      not_implemented=message.get("not_implemented") is True)


def describe(plan: iso.LaunchPlan | None, hello: dict[str, Any]) -> Isolation:
    """Turn the worker's own account of itself into the isolation recorded in results."""
    layers = ["process", "rlimits", "wall-clock timeout", "no_new_privs"]
    missing = []
    namespaces = bool(plan and plan.namespaces and hello.get("pid_namespace")
                      and hello.get("network_interfaces") in (["lo"], []))
    (layers if namespaces else missing).append("namespaces")
    if hello.get("child_uid") is not None or hello.get("uid") != 0:
        layers.append("unprivileged uid")
    else:
        missing.append("unprivileged uid")
    (layers if hello.get("seccomp") else missing).append("seccomp")
    mode = "full" if not missing else "reduced"
    note = "" if mode == "full" else (
        "REDUCED ISOLATION: missing " + ", ".join(missing)
        + ". Student code may see this machine's files" + (" and network" if not namespaces else "") + ".")
    return Isolation(mode=mode, layers=tuple(layers), missing=tuple(missing), note=note)


class _Pending:
    def __init__(self, runner: SandboxRunner, worker: SandboxWorker, job: Job) -> None:
        self.runner, self.worker, self.job = runner, worker, job

    def wait(self) -> RunReport:
        try:
            return self.worker.finish_job(self.job)
        finally:
            self.runner._idle.put(self.worker)


class SandboxRunner:
    """A pool of sandboxed workers; ``submit`` blocks only until a worker is free."""

    def __init__(self, workers: int = 1, mode: str = "auto", layers: iso.Layers | None = None) -> None:
        self._workers = [SandboxWorker(mode, layers) for _ in range(max(1, workers))]
        self._idle: queue.Queue[SandboxWorker] = queue.Queue()
        for worker in self._workers:
            self._idle.put(worker)

    @property
    def isolation(self) -> Isolation:
        return self._workers[0].isolation

    def submit(self, job: Job) -> _Pending:
        worker = self._idle.get()
        try:
            worker.start_job(job)
        except WorkerLost:
            worker.kill()
            worker.launch()
            worker.start_job(job)
        return _Pending(self, worker, job)

    def close(self) -> None:
        for worker in self._workers:
            worker.close()

    def __enter__(self) -> SandboxRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Limits", "SandboxRunner", "SandboxWorker", "WorkerLost"]
