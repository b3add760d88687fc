"""The grader's side of the sandboxed worker: start it, send jobs, read replies with deadlines.

Everything read back is untrusted: frames are size-capped, parsed strictly
and values decoded into fresh plain objects by :mod:`wire`, within the job's
budget of elements and bytes per call and per job (``Limits.value_*`` and
``Limits.job_value_*``), checked while decoding: a value over budget is its
call's ``invalid`` outcome. A worker that stops answering is killed and replaced; the calls it owed are reported as
``lost`` and the batch carries on.
"""

from __future__ import annotations

import os
import queue
import selectors
import signal
import subprocess
import time
from collections.abc import Callable
from typing import IO, Any

from ..errors import IsolationError
from ..limits import LARGEST_ANSWER_ELEMENTS, LARGEST_JOB_ELEMENTS
from . import isolation as iso
from . import launch
from .runner import ArgsCache, CallReport, ImportReport, Isolation, Job, Limits, RunReport, value_key
from .worker import wire
from .worker.calls import reported_seconds

MAX_FRAME = 1024 * 1024  # a frame outside a job: the greeting (a job's frames are capped by frame_cap)
HEAD_BYTES = 256 * 1024  # a message's fields but its value and printed output: details, 200 names
HEAD_ELEMENTS = 4_096  # JSON values in a message's fields (its value is budgeted on its own)
HELLO_SECONDS = 60.0
PRELOAD_SECONDS = 60.0
DEFER_BYTES = 1 << 20  # raw values a job may hold undecoded until the worker is free (read_job)


class WorkerLost(Exception):
    """The worker process died or stopped answering."""


class _Frames:
    """Length-prefixed frames from a pipe, each awaited with a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.cap = MAX_FRAME
        self.selector = selectors.DefaultSelector()
        self.selector.register(fd, selectors.EVENT_READ)

    def read(self, deadline: float) -> tuple[dict[str, Any], bytes]:
        """The next message and its raw value (decoded later, only if it is wanted)."""
        while True:
            try:
                taken = wire.take_message(self.buffer, self.cap, HEAD_ELEMENTS)
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
        self._args = ArgsCache()
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

    def start_job(self, job: Job, body: bytes | None = None) -> None:
        """Send ``job``; ``body`` is its message already encoded (:func:`job_message`), if it is."""
        self.ensure_started()
        body = body if body is not None else job_message(job, self._args)
        assert self.proc and self.proc.stdin
        try:  # both frames in one write
            self.proc.stdin.write(wire.frame(wire.dumps({"op": "job", "preload": list(job.preload)})) + body)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerLost(f"worker closed its input: {exc}") from None

    def finish_job(self, job: Job) -> RunReport:
        return self.read_job(job)()

    def read_job(self, job: Job) -> Callable[[], RunReport]:
        """Read the job's frames until its end; what is returned decodes them into its report.

        The values are decoded after the worker is free for its next job (``_Pending.wait``), in the thread
        that waited: the worker does not wait for the grader to decode. At most ``DEFER_BYTES`` of raw
        values wait at a time; past that they are decoded as they come, so memory stays bounded. Values
        are decoded in the order they came, under the same budgets, either way."""
        assert self.frames
        extra = PRELOAD_SECONDS if set(job.preload) - self.preloaded else 0.0
        deadline = time.monotonic() + job.limits.job_deadline(len(job.calls)) + extra
        collected = _Collector(len(job.calls), self.isolation, job.limits)  # this worker's isolation
        self.frames.cap = frame_cap(job.limits)
        pending: list[tuple[dict[str, Any], bytes]] = []
        held = 0

        def flush() -> None:
            nonlocal held
            for i, (message, value) in enumerate(pending):
                pending[i] = ({}, b"")  # decoded: the raw bytes go now, not when the job is done
                collected.add(message, value)
                del value
            pending.clear()
            held = 0

        def decoded() -> RunReport:
            flush()
            return collected.report()

        try:
            while True:
                message, value = self.frames.read(deadline)
                if message.get("type") == "job_end":
                    self.preloaded |= {str(p) for p in message.get("preloaded") or []}
                    if not collected.done and not any(m.get("type") == "done" for m, _ in pending):
                        flush()
                        collected.lose(f"the grading worker failed (status {message.get('status')}): "
                                       + self.stderr_tail()[-300:])
                    return decoded
                pending.append((message, value))
                held += len(value)
                del value
                if held > DEFER_BYTES:
                    flush()
        except WorkerLost as exc:
            self.kill()
            flush()
            collected.lose(f"the grading worker was lost: {exc}")
            self.launch()
            return decoded

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
        if self.proc and self.proc.poll() is None and self.plan and self.plan.namespaces:
            # The worker is its pid namespace's init: killing it ends every process inside at once, which an
            # orderly exit (Python's teardown in the worker, ~15 ms) only does later. Nothing inside is kept.
            self.kill()
        if self.proc and self.proc.poll() is None:
            try:
                self._send({"op": "exit"})
                self.proc.wait(timeout=2)
            except (WorkerLost, subprocess.TimeoutExpired):
                pass
        self.kill()
        if self._stderr is not None:
            self._stderr.close()


def job_message(job: Job, args: ArgsCache) -> bytes:
    """The job's frame (``wire.job_frame``), with the calls' inputs from ``args``."""
    head = {"source": job.source, "filename": job.filename, "module": job.module,
            "functions": list(job.functions), "want_answers": job.want_answers,
            "limits": job.limits.for_worker(len(job.calls)), "calls": [{"function": c.function} for c in job.calls]}
    return wire.job_frame(head, [args.encoded(c) for c in job.calls])


def frame_cap(limits: Limits) -> int:
    """The largest frame a job's worker may send: a value in budget, printed output (JSON-escaped,
    up to 6 bytes a byte) and the message's other fields."""
    return max(MAX_FRAME, limits.value_bytes + 6 * limits.output_kb * 1024 + HEAD_BYTES)


class _Budgets:
    """The value budget of one job: each value gets the per-call budget, or what is left of the
    job's if that is less; what a decoded value used is taken from the job's."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.elements_left = limits.job_value_elements
        self.bytes_left = limits.job_value_bytes
        lim = limits  # the messages of a value over budget, made once per job, not once per value
        hint = f"; the largest correct answer in this course has {LARGEST_ANSWER_ELEMENTS:,}"
        self.per_value = (f"the returned value has more than {lim.value_elements:,} numbers and containers{hint}",
                          f"the returned value takes more than {lim.value_bytes:,} bytes in wire form "
                          f"(at most {lim.value_elements:,} numbers and containers are read{hint})")
        hint = (f", the budget of one submission; the correct answers of a whole assignment in this "
                f"course have at most {LARGEST_JOB_ELEMENTS:,}")
        self.per_job = (f"with the values returned before it, this value brings the total past "
                        f"{lim.job_value_elements:,} numbers and containers{hint}",
                        f"with the values returned before it, this value brings the total past "
                        f"{lim.job_value_bytes:,} bytes in wire form{hint}")

    def for_value(self) -> wire.Budget:
        lim = self.limits
        if self.elements_left >= lim.value_elements and self.bytes_left >= lim.value_bytes:
            return wire.Budget(lim.value_elements, lim.value_bytes, *self.per_value)
        return wire.Budget(min(lim.value_elements, max(0, self.elements_left)),
                           min(lim.value_bytes, max(0, self.bytes_left)), *self.per_job)

    def decode(self, raw: bytes) -> Any:
        """Decode ``raw`` within budget; raises wire.WireError (wire.OverBudget when over)."""
        budget = self.for_value()
        value = wire.decode(raw, budget)
        self.elements_left -= budget.used_elements
        self.bytes_left -= budget.used_bytes
        return value

    def rebuild(self, parsed: Any) -> Any:
        """Rebuild a value already parsed (by a runner that parsed it within its frame cap)."""
        budget = self.for_value()
        value = wire.from_wire(parsed, budget=budget)
        self.elements_left -= budget.used_elements
        return value


class _Collector:
    """Assembles a RunReport from worker frames, decoding every value strictly and within budget."""

    def __init__(self, calls: int, isolation: Isolation | None = None, limits: Limits | None = None) -> None:
        self.budgets = _Budgets(limits or Limits())
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
            self.imported = _import_report(message, value, self.budgets)
        elif kind == "result":
            index = message.get("index")
            if type(index) is int and 0 <= index < len(self.calls):
                self.calls[index] = _call_report(message, value, self.budgets)
        elif kind == "done":
            self.output = str(message.get("output", ""))
            self.output_bytes = int(message.get("output_bytes") or 0)
            self.seconds = reported_seconds(message.get("seconds"))
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


def _import_report(message: dict[str, Any], raw: bytes, budgets: _Budgets) -> ImportReport:
    status = message.get("status")
    if status not in ("ok", "error", "timeout", "crash", "invalid", "setup"):
        status = "invalid"
    functions = message.get("functions")
    functions = {str(k): v is True for k, v in functions.items()} if isinstance(functions, dict) else {}
    defined = message.get("defined")
    defined = tuple(str(d)[:100] for d in defined[:200]) if isinstance(defined, list) else ()
    answers: Any = None
    answers_error = _text(message.get("answers_error"))
    if raw or message.get("answers") is not None:  # the job manager sends them as the value
        try:
            answers = budgets.decode(raw) if raw else budgets.rebuild(message["answers"])
        except wire.OverBudget as exc:
            answers_error = str(exc).replace("the returned value", "ANSWERS")
        except wire.WireError as exc:
            answers_error = f"ANSWERS could not be read: {exc}"
    return ImportReport(status=status, detail=_text(message.get("detail")), functions=functions,
                        defined=defined, answers=answers, answers_error=answers_error)


def _call_report(message: dict[str, Any], raw: bytes, budgets: _Budgets) -> CallReport:
    status = message.get("status")
    if status not in ("ok", "error", "invalid", "timeout", "crash", "skipped"):
        status = "invalid"
    seconds = reported_seconds(message.get("seconds"))
    value = None
    key = b""
    detail = _text(message.get("detail"))
    if status == "ok":
        try:
            if not raw:
                raise wire.WireError("no value")
            value = budgets.decode(raw)
            key = value_key(raw)
        except wire.OverBudget as exc:
            status, detail = "invalid", str(exc)
        except wire.WireError as exc:
            status, detail = "invalid", f"the returned value could not be read: {exc}"
    return CallReport(status=status, value=value, detail=detail, seconds=seconds,
                      not_implemented=message.get("not_implemented") is True, key=key)


def describe(plan: iso.LaunchPlan | None, hello: dict[str, Any]) -> Isolation:
    """Turn the worker's own account of itself into the isolation recorded in results."""
    layers = ["process", "rlimits", "wall-clock timeout", "no_new_privs"]
    missing = []
    namespaces = bool(plan and plan.namespaces and hello.get("pid_namespace")
                      and hello.get("network_interfaces") in (["lo"], []))
    (layers if namespaces else missing).append("namespaces")
    # "unprivileged uid" only when student code really runs under a uid other than the worker's:
    # a fresh one per job (a root worker). A worker that is not root cannot give it another uid;
    # then the layer is simply not there (its seccomp rules keep student code off the worker's
    # limits, priorities and signals), and a root worker that did not drop it is missing it.
    child_uid, uid = hello.get("child_uid"), hello.get("uid")
    if hello.get("uid_per_job") is True or (type(child_uid) is int and child_uid != uid):
        layers.append("unprivileged uid")
    elif uid == 0 or type(uid) is not int:
        missing.append("unprivileged uid")
    (layers if hello.get("seccomp") else missing).append("seccomp")
    mode = "full" if not missing else "reduced"
    note = "" if mode == "full" else "REDUCED ISOLATION: missing " + ", ".join(missing) + "." + (
        " Student code may see this machine's files and network." if not namespaces else "")
    return Isolation(mode=mode, layers=tuple(layers), missing=tuple(missing), note=note)


class _Pending:
    def __init__(self, runner: SandboxRunner, worker: SandboxWorker, job: Job) -> None:
        self.runner, self.worker, self.job = runner, worker, job

    def wait(self) -> RunReport:
        try:
            decoded = self.worker.read_job(self.job)
        finally:
            self.runner._idle.put(self.worker)  # free for the next job while this one's values are decoded
        return decoded()


class SandboxRunner:
    """A pool of sandboxed workers; ``submit`` blocks only until a worker is free."""

    def __init__(self, workers: int = 1, mode: str = "auto", layers: iso.Layers | None = None) -> None:
        self._workers = [SandboxWorker(mode, layers) for _ in range(max(1, workers))]
        self._idle: queue.Queue[SandboxWorker] = queue.Queue()
        self._args = ArgsCache()  # the calls every student shares, encoded once for all workers
        for worker in self._workers:
            self._idle.put(worker)

    @property
    def isolation(self) -> Isolation:
        return self._workers[0].isolation

    def submit(self, job: Job) -> _Pending:
        body = job_message(job, self._args)  # encoded before a worker is taken: no worker waits for it
        worker = self._idle.get()
        try:
            worker.start_job(job, body)
        except WorkerLost:
            worker.kill()
            worker.launch()
            worker.start_job(job, body)
        return _Pending(self, worker, job)

    def close(self) -> None:
        for worker in self._workers:
            worker.close()

    def __enter__(self) -> SandboxRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Limits", "SandboxRunner", "SandboxWorker", "WorkerLost"]
