"""A portable runner for systems without bubblewrap, seccomp or fork (macOS, Windows).

Each submission runs in plain child processes started with :mod:`subprocess`
(``worker/portable_child.py``), which import it and run its calls with the
sandboxed child's own code. The grader watches them from outside, as the job
runner does in the sandbox: a call that does not answer within its wall-clock
limit kills the process and is reported as a timeout, a process that dies is
reported as a crash, and in both cases a fresh process re-imports the
submission and carries on with the next call. A function that timed out too
often is skipped.

Only what works everywhere is used: pipes read by threads (no ``select`` on
pipes), no signals but kill, no ``/proc``. Results come back only as frames of
the bounded wire format and are decoded by the sandbox's own strict collector.
This protects against mistakes, not attacks: the student's code runs with the
user's own rights, which every output says in one line.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from ..threads import THREAD_VARS
from .process import _Collector, job_message
from .runner import ArgsCache, Isolation, Job, RunReport
from .worker import wire
from .worker.calls import MAX_DETAIL, CallLoop, ChildGone, read_import

CHILD_SCRIPT = Path(__file__).resolve().parent / "worker" / "portable_child.py"
STARTUP_SECONDS = 60.0  # booting Python and numpy (and torch, when preloaded) before the import clock starts
MAX_CHILD_FRAME = 16 * 1024 * 1024
# Variables a child keeps from the grader's environment: enough for Python to start on every system.
KEPT_ENV = ("PATH", "PATHEXT", "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "LANG", "LC_ALL")


class _Output:
    """What a job's children print: kept up to a cap, the rest only counted."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.total = 0
        self.lock = threading.Lock()

    def take(self, chunk: bytes) -> None:
        with self.lock:
            self.total += len(chunk)
            room = self.cap - len(self.data)
            if room > 0:
                self.data += chunk[:room]


class _Child:
    """One plain child process, booted ahead of its job; two threads read its pipes."""

    def __init__(self, argv: tuple[str, ...]) -> None:
        self.workdir = tempfile.mkdtemp(prefix="grader-portable-")
        env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
        env.update({v: "1" for v in THREAD_VARS})
        env.update({v: self.workdir for v in ("HOME", "TMPDIR", "TEMP", "TMP", "USERPROFILE")})
        env.setdefault("LANG", "C.UTF-8")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=self.workdir, env=env, close_fds=True,
                                     start_new_session=os.name == "posix")  # so a kill reaches its own children
        self.chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=32)  # bounded: a flood waits for the reader
        self.buffer = bytearray()
        self.gone = threading.Event()
        self.sink: _Output | None = None  # the job's output, once the child has one
        self.cpu_seconds = 0
        self.early = bytearray()  # stderr before any job: shown if the child fails to start
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.readers = [threading.Thread(target=self._read_results, args=(self.proc.stdout,), daemon=True),
                        threading.Thread(target=self._read_output, args=(self.proc.stderr,), daemon=True)]
        for reader in self.readers:
            reader.start()

    # ------------------------------------------------------------ the threads

    def _put(self, chunk: bytes | None) -> bool:
        """Queue a chunk for the job's thread; False once the child is being destroyed and nobody reads."""
        while not self.gone.is_set():
            try:
                self.chunks.put(chunk, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _read_results(self, stream: IO[bytes]) -> None:
        try:
            while chunk := stream.read1(1 << 20):  # type: ignore[attr-defined]
                if not self._put(chunk):
                    return
        except (OSError, ValueError):
            pass
        self._put(None)  # end of stream

    def _read_output(self, stream: IO[bytes]) -> None:
        try:
            while chunk := stream.read1(1 << 16):  # type: ignore[attr-defined]
                if self.sink is not None:
                    self.sink.take(chunk)
                elif len(self.early) < 4000:
                    self.early += chunk[: 4000 - len(self.early)]
        except (OSError, ValueError):
            pass

    def _feed(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.close()
        except (OSError, ValueError):  # it died: reading its results says how
            pass

    # ------------------------------------------------------------ the job

    def start(self, head: bytes, job: bytes, sink: _Output, cpu_seconds: int) -> None:
        """Send the job; written by a thread, since the child reads it only once it has booted."""
        self.sink, self.cpu_seconds = sink, cpu_seconds
        threading.Thread(target=self._feed, args=(head + job,), daemon=True).start()

    def read_message(self, deadline: float) -> tuple[dict[str, Any], bytes]:
        """Return the next message and its raw value, or raise ChildGone."""
        while True:
            try:
                parsed = wire.take_message(self.buffer, MAX_CHILD_FRAME)
            except wire.FrameTooLarge:
                raise ChildGone("invalid", f"returned data larger than {MAX_CHILD_FRAME // 2**20} MiB") from None
            except wire.WireError as exc:
                raise ChildGone("invalid", f"malformed message from the submission process: {exc}") from None
            if parsed is not None:
                return parsed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChildGone("timeout", "")
            try:
                chunk = self.chunks.get(timeout=remaining)
            except queue.Empty:
                continue
            if chunk is None:
                self.chunks.put_nowait(None)  # stays at the end for any later read (the reader has stopped)
                raise ChildGone("crash", self.death_reason())
            self.buffer += chunk

    def death_reason(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # closed its results pipe yet still running
            self.kill()
            return "the process closed its results pipe and was killed"
        if code < 0:  # POSIX: killed by a signal
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            if name in ("SIGKILL", "SIGXCPU") and self.cpu_seconds:  # not sent by the grader, which reads no more
                return (f"the process was killed by {name} (its CPU time limit of {self.cpu_seconds} s, "
                        "or the system ran out of memory)")
            return f"the process was killed by {name}"
        return f"the process exited with status {code} (os._exit or a crash in native code)"

    def kill(self) -> None:
        if os.name == "posix":  # its session's group: also whatever it started, even after it exited itself
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass
        self.proc.wait()

    def destroy(self) -> None:
        self.gone.set()
        self.kill()
        self.readers[1].join(timeout=1.0)  # the last of its output; a grandchild holding the pipe is not waited for
        self.readers[0].join(timeout=0.1)
        for reader, stream in zip(self.readers, (self.proc.stdout, self.proc.stderr), strict=True):
            if stream is not None and not reader.is_alive():  # closing under a blocked reader could hang
                try:
                    stream.close()
                except OSError:
                    pass
        shutil.rmtree(self.workdir, ignore_errors=True)


class _JobRun:
    """One job, run as the sandbox's job manager runs it, reported through the sandbox's collector."""

    def __init__(self, runner: PortableRunner, job: Job) -> None:
        self.runner = runner
        self.calls = job.calls
        self.limits = job.limits.for_worker(len(job.calls))
        self.preload = list(job.preload)
        self.payload = job_message(job, runner.args)
        self.output = _Output(self.limits["output_bytes"])
        self.collected = _Collector(len(job.calls), runner.isolation, job.limits)

    def emit(self, message: dict[str, Any], value: bytes = b"") -> None:
        self.collected.add(message, value)

    def run(self) -> RunReport:
        began = time.monotonic()
        CallLoop([c.function for c in self.calls], self.limits, self.emit).run(
            self._open_child, self._await_import, self.runner._destroy)
        self.emit({"type": "done", "output": self.output.data.decode("utf-8", "replace"),
                   "output_bytes": self.output.total, "seconds": time.monotonic() - began})
        return self.collected.report()

    def _open_child(self, start: int, first_time: bool) -> _Child:
        """A booted child, sent the job to run from call ``start`` on."""
        try:
            current = self.runner._take_child()
        except OSError as exc:
            raise ChildGone("setup", f"could not start a child process: {exc}") from None
        try:
            head = wire.frame(wire.dumps({"start": start, "report_import": first_time, "preload": self.preload}))
            current.start(head, self.payload, self.output, self.limits["cpu_seconds"])
        except BaseException:
            self.runner._destroy(current)
            raise
        return current

    def _await_import(self, current: _Child, first_time: bool) -> None:
        try:
            ready, _ = current.read_message(time.monotonic() + STARTUP_SECONDS)
        except ChildGone as gone:
            early = current.early.decode("utf-8", "replace").strip()[-800:]
            raise ChildGone("setup", f"the child process did not start ({gone.kind}: {gone.detail}) {early}") from None
        if ready.get("type") != "ready":
            raise ChildGone("setup", "the child process sent no greeting")
        first, _ = read_import(current.read_message, self.limits["import_seconds"])
        if first_time:
            self.emit({"type": "import", "status": "ok",
                       "functions": first.get("functions"),
                       "defined": first.get("defined"),
                       "answers": first.get("answers"),
                       "answers_error": str(first.get("answers_error", ""))[:MAX_DETAIL]})


def has_rlimits() -> bool:
    try:
        import resource  # noqa: F401 - POSIX only
    except ImportError:
        return False
    return True


def portable_isolation(reason: str = "on this system") -> Isolation:
    """The isolation this runner achieves, with its one-line note."""
    limits = has_rlimits()
    layers = ("process", "wall-clock timeout", *(("rlimits",) if limits else ()))
    missing = ("namespaces", "seccomp", "no_new_privs", *(() if limits else ("rlimits",)))
    note = ("isolation: portable (a plain child process per submission, with timeouts; "
            f"no namespaces, no seccomp {reason})")
    return Isolation(mode="reduced", layers=layers, missing=missing, note=note)


class _Pending:
    def __init__(self, runner: PortableRunner, job: Job) -> None:
        self.runner = runner
        self.report: RunReport | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(job,), daemon=True)
        self.thread.start()

    def _run(self, job: Job) -> None:
        try:
            self.report = _JobRun(self.runner, job).run()
        except BaseException as exc:  # noqa: BLE001 - raised again in wait(), in the caller's thread
            self.error = exc
        finally:
            self.runner._slots.release()

    def wait(self) -> RunReport:
        self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


class PortableRunner:
    """Runs each job in plain child processes; ``submit`` blocks only while ``workers`` jobs are running.

    One child is kept booted ahead of need, so a job (or a restart after a
    timeout) does not wait for Python and numpy to start.
    """

    def __init__(self, workers: int = 1, reason: str = "on this system", argv: tuple[str, ...] | None = None) -> None:
        self.isolation = portable_isolation(reason)
        self.argv = argv or (sys.executable, "-I", str(CHILD_SCRIPT))
        self._slots = threading.Semaphore(max(1, workers))
        self._lock = threading.Lock()
        self._spares: list[_Child] = []
        self._live: set[_Child] = set()  # every child not yet destroyed, so that close() leaves none behind
        self._closed = False
        self.args = ArgsCache()  # the calls every student shares, encoded once
        self._spare_up()

    def _start_child(self) -> _Child:
        started = _Child(self.argv)
        with self._lock:
            self._live.add(started)
        return started

    def _destroy(self, gone: _Child) -> None:
        gone.destroy()
        with self._lock:
            self._live.discard(gone)

    def _spare_up(self) -> None:
        with self._lock:
            wanted = not self._closed and not self._spares
        if wanted:
            spare = self._start_child()
            with self._lock:
                self._spares.append(spare)

    def _take_child(self) -> _Child:
        with self._lock:
            if self._closed:
                raise OSError("the runner was closed")
            spare = self._spares.pop() if self._spares else None
        if spare is None or spare.proc.poll() is not None:
            if spare is not None:
                self._destroy(spare)
            spare = self._start_child()
        self._spare_up()  # the next one boots while this one works
        return spare

    def submit(self, job: Job) -> _Pending:
        self._slots.acquire()
        return _Pending(self, job)

    def close(self) -> None:
        """Kill every child, the spare and those of jobs still running (interrupted by Ctrl+C, say)."""
        with self._lock:
            self._closed = True
            self._spares = []
            live = list(self._live)
        for child in live:
            self._destroy(child)

    def __enter__(self) -> PortableRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["PortableRunner", "portable_isolation"]
