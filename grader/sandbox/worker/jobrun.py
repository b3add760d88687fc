"""The job manager: runs each job's calls in confined children and reports every call.

The manager is a long-lived sibling of the pristine worker, forked from it before any job. It
reads each job from the grader, asks the worker to fork a child for the student code (it never
forks itself, so no child ever starts from a process that held another student's data: see
``forks``), hands the child its job through a pipe, and watches it from outside: a call that does
not answer within its wall-clock limit is killed and reported as a timeout, a child that dies is
reported as a crash, and in both cases a new child re-imports the submission and carries on with
the next call. Every message from the child is checked before it is passed on; the values
themselves are decoded by the grader.

When the worker runs as root, every job draws its own fresh uid for its children, so no job owns
anything an earlier one left. After the job, the manager removes what it could have left outside
its work folder: System V shared memory, queues and semaphores, POSIX message queues and files in
/dev/shm (the seccomp filter already denies the IPC calls; this is the layer behind it), and then
empties the work area.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import time
import traceback
from typing import Any

import confine
import wire
from calls import MAX_DETAIL, CallLoop, ChildGone, read_import
from forks import Forks, WorkerGone

MAX_CHILD_FRAME = 16 * 1024 * 1024  # when the job's limits carry no value budget
GATHER_SECONDS = 0.001
HEAD_BYTES = 256 * 1024  # a message's fields but its value: details, 200 names (as the grader's HEAD_BYTES)
FAILED_JOB_STATUS = 71  # job_end's status when the manager itself failed during a job


class Child:
    """A running student process and the pipes it talks on."""

    def __init__(self, start: int, runner: JobRunner, report_import: bool) -> None:
        self.runner = runner
        self.workdir = runner.fresh_workdir()
        job_r, job_w = os.pipe()
        result_r, result_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            pid = runner.forks.fork(job_r, result_w, out_w)
        except BaseException:
            for fd in (job_w, result_r, out_r):
                os.close(fd)
            raise
        finally:
            for fd in (job_r, result_w, out_w):
                os.close(fd)
        runner.pids.add(pid)
        self.pid = pid
        self.result_fd = result_r
        self.out_fd = out_r
        self.buffer = bytearray()
        self.status: int | None = None
        self.cpu = 0.0
        orders = {"start": start, "report_import": report_import, "workdir": self.workdir, "uid": runner.uid,
                  "seccomp": runner.use_seccomp}
        try:  # the child reads all of it before it writes anything, so this cannot deadlock
            wire.write_all(job_w, wire.message_frame(orders))
            wire.write_all(job_w, runner.job_frame)
        except BrokenPipeError:
            pass  # it died already: reading its messages reports how
        finally:
            os.close(job_w)

    def read_message(self, deadline: float) -> tuple[dict[str, Any], bytes]:
        """Return the next message and its raw value, or raise ChildGone."""
        while True:
            parsed = self._parse_buffer()
            if parsed is not None:
                return parsed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChildGone("timeout", "")
            self.runner.flush()  # about to wait: let the grader check what is done meanwhile
            ready, _, _ = select.select([self.result_fd, self.out_fd], [], [], remaining)
            if self.out_fd in ready:
                self.runner.take_output(self.out_fd)
            if self.result_fd in ready:
                # A fast submission answers a call every few microseconds: gathering its messages for a
                # moment costs that little wall time and saves the runner (and the grader after it) a
                # wake-up, a parse and a write per call.
                time.sleep(GATHER_SECONDS)
                chunk = os.read(self.result_fd, 1 << 20)
                if not chunk:
                    raise ChildGone("crash", self._death_reason())
                self.buffer += chunk

    def _parse_buffer(self) -> tuple[dict[str, Any], bytes] | None:
        cap = self.runner.frame_cap
        try:
            return wire.take_message(self.buffer, cap)
        except wire.FrameTooLarge:
            raise ChildGone("invalid", f"the submission sent more than {cap:,} bytes at once (a returned value "
                                       f"or ANSWERS), over the grader's budget per value{self.runner.budget_note}"
                            ) from None
        except wire.WireError as exc:
            raise ChildGone("invalid", f"malformed message from the submission process: {exc}") from None

    def _death_reason(self) -> str:
        if self.status is None:
            self.status, self.cpu = self.runner.forks.wait(self.pid)
        status = self.status
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            if sig == signal.SIGKILL and self.cpu >= self.runner.limits["cpu_seconds"] - 0.5:
                return f"killed: CPU time limit of {self.runner.limits['cpu_seconds']} s reached"
            return f"the process was killed by {name}"
        code = os.WEXITSTATUS(status)
        return f"the process exited with status {code} (os._exit or a crash in native code)"

    def destroy(self) -> None:
        self.runner.forks.end(self.pid)  # kills it and anything it left, and reaps them
        self.runner.drain_output(self.out_fd)
        os.close(self.result_fd)
        os.close(self.out_fd)
        shutil.rmtree(self.workdir, ignore_errors=True)


class JobRunner:
    """Runs one job and writes its messages to ``out_fd``.

    ``job_frame`` is the job as the grader framed it (``wire.job_frame``): each child reads it whole, the
    calls' pickled inputs included, which only the child unpickles. ``serial`` numbers the job's work folders.
    """

    def __init__(self, config: dict[str, Any], job: dict[str, Any], job_frame: bytes, out_fd: int, forks: Forks,
                 serial: int) -> None:
        self.config = config
        self.job = job
        self.job_frame = job_frame
        self.out_fd = out_fd
        self.forks = forks
        self.serial = serial
        self.limits: dict[str, Any] = job["limits"]
        # a value over the grader's budget is refused here, as soon as its frame's length is read
        self.value_bytes: int = self.limits.get("value_bytes") or MAX_CHILD_FRAME
        self.frame_cap = min(MAX_CHILD_FRAME, self.value_bytes + HEAD_BYTES)
        elements = self.limits.get("value_elements")
        self.budget_note = f" ({elements:,} numbers and containers, {self.value_bytes:,} bytes)" if elements else ""
        self.uid: int | None = confine.fresh_uid() if config.get("drop_uid") else None  # fresh for every job
        self.pids: set[int] = set()  # every child this job started, for the clean-up
        self.use_seccomp: bool = bool(config.get("seccomp"))
        self.output = bytearray()
        self.output_total = 0
        self.children = 0
        self.pending: list[bytes] = []

    # -------------------------------------------------------------- plumbing

    def emit(self, message: dict[str, Any], value: bytes = b"") -> None:
        """Queue a message for the grader; queued messages go out together before any wait."""
        self.pending.append(wire.message_frame(message, value))

    def flush(self) -> None:
        if not self.pending:
            return
        data = b"".join(self.pending)
        self.pending.clear()
        wire.write_all(self.out_fd, data)

    def fresh_workdir(self) -> str:
        self.children += 1
        path = os.path.join(self.config["workdir_root"], f"run-{self.serial}-{self.children}")
        os.mkdir(path, 0o700)
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)
        return path

    def take_output(self, fd: int) -> bool:
        chunk = os.read(fd, 1 << 16)
        self.output_total += len(chunk)
        room = self.limits["output_bytes"] - len(self.output)
        if room > 0:
            self.output += chunk[:room]
        return bool(chunk)

    def drain_output(self, fd: int) -> None:
        while select.select([fd], [], [], 0)[0] and self.take_output(fd):
            pass

    # -------------------------------------------------------------- the job

    def run(self) -> None:
        began = time.monotonic()
        loop = CallLoop([c["function"] for c in self.job["calls"]], self.limits, self.emit, self.value_bytes,
                        self.budget_note)
        loop.run(lambda start, first: Child(start, self, report_import=first), self._await_import,
                 Child.destroy)
        self.emit({"type": "done", "output": self.output.decode("utf-8", "replace"),
                   "output_bytes": self.output_total, "children": self.children,
                   "seconds": time.monotonic() - began})
        self.flush()

    def _await_import(self, current: Child, first_time: bool) -> None:
        first, _ = read_import(current.read_message, self.limits["import_seconds"])
        if first_time:  # only what the grader reads, bounded; ANSWERS go as the value, decoded in budget
            functions = first.get("functions")
            functions = functions if isinstance(functions, dict) else {}
            defined = first.get("defined")
            answers_error = str(first.get("answers_error", ""))[:MAX_DETAIL]
            answers = b"" if first.get("answers") is None else wire.dumps(first["answers"])
            if len(answers) > self.value_bytes:
                answers, answers_error = b"", (f"ANSWERS takes more than {self.value_bytes:,} bytes in wire form, "
                                               f"over the grader's budget per value{self.budget_note}")
            self.emit({"type": "import", "status": "ok",
                       "functions": {str(name): functions.get(name) is True for name in self.job["functions"]},
                       "defined": [str(d)[:100] for d in defined[:200]] if isinstance(defined, list) else [],
                       "answers_error": answers_error}, answers)


IPC_TABLES = (("shm", "shmctl"), ("msg", "msgctl"), ("sem", "semctl"))
IPC_RMID = 0


def _ipc_objects(kind: str) -> list[dict[str, int]]:
    """The System V objects of one kind visible here, from /proc/sysvipc (header names as keys)."""
    try:
        with open(f"/proc/sysvipc/{kind}") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return []
    if not lines:
        return []
    header = lines[0].split()
    objects = []
    for line in lines[1:]:
        try:
            objects.append(dict(zip(header, map(int, line.split()), strict=False)))
        except ValueError:
            continue
    return objects


def clear_ipc(uid: int | None, private: bool, pids: set[int]) -> int:
    """Remove what a job's children could leave behind outside the work folder; return how many.

    Whose objects: those of the job's own uid (root worker), else, in the worker's private IPC
    namespace and /dev, everything of the worker's uid (only the jobs run under it), else (a
    plain process sharing the host's IPC namespace) only System V objects made by this job's
    children: a user's other objects and files are never touched.
    """
    owner = uid if uid is not None else (os.getuid() if private else None)
    removed = 0
    if owner is not None:
        for folder in ("/dev/shm", "/dev/mqueue"):
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.stat(follow_symlinks=False).st_uid != owner:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
                    removed += 1
                except OSError:
                    pass
    found = []
    for kind, call in IPC_TABLES:
        for obj in _ipc_objects(kind):
            ident = obj.get("shmid", obj.get("msqid", obj.get("semid")))
            if ident is None:
                continue
            ours = (owner is not None and owner in (obj.get("uid"), obj.get("cuid"))) \
                or (owner is None and obj.get("cpid") in pids)
            if ours:
                found.append((call, ident))
    if not found:
        return removed
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    as_creator = uid is not None and os.geteuid() == 0
    if as_creator:
        os.seteuid(uid)  # the creator may remove it; root in the sandbox lacks CAP_SYS_ADMIN (the job is over)
    try:
        for call, ident in found:
            if call == "semctl":
                ok = libc.semctl(ident, 0, IPC_RMID) == 0
            else:
                ok = getattr(libc, call)(ident, IPC_RMID, None) == 0
            removed += ok
    finally:
        if as_creator:
            os.seteuid(0)  # the manager serves the next job as root again
    return removed


def run_job(config: dict[str, Any], payload: bytes, out_fd: int, forks: Forks, serial: int) -> None:
    """Run the job framed in ``payload`` (the frame's bytes after its length)."""
    job, _ = wire.split_message(payload)
    runner = JobRunner(config, job, wire.frame(payload), out_fd, forks, serial)
    try:
        runner.run()
    finally:
        clear_ipc(runner.uid, bool(config.get("private_ipc")), runner.pids)


def wipe(root: str) -> None:
    """Empty the work area between jobs, so nothing one submission writes reaches the next."""
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if os.path.isdir(path) and not os.path.islink(path):
            for top, dirs, _ in os.walk(path):  # a submission may have locked its own folders
                for d in dirs:
                    try:
                        os.chmod(os.path.join(top, d), 0o700)
                    except OSError:
                        pass
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def serve(config: dict[str, Any], forks: Forks, stdin: int = 0, stdout: int = 1) -> int:
    """The manager's loop: per job, a control frame ``{"op": "job", "preload": [...]}`` and the job frame
    from the grader; the job's ``import``, ``result`` and ``done`` messages back, closed by ``job_end``."""
    serial = 0
    while True:
        control = wire.read_frame(stdin)
        if not isinstance(control, dict) or control.get("op") != "job":
            return 0
        names = [str(n) for n in control.get("preload", [])]
        loaded = forks.preload(names) if names else []
        payload = wire.read_payload(stdin)
        if payload is None:
            return 0
        serial += 1
        status = 0
        try:
            run_job(config, payload, stdout, forks, serial)
        except (BrokenPipeError, WorkerGone):
            raise  # the grader or the worker is gone: nothing left to report to
        except Exception:  # noqa: BLE001 - reported through job_end; the next job starts clean
            traceback.print_exc()
            status = FAILED_JOB_STATUS
        del payload
        wipe(config["workdir_root"])
        wire.write_all(stdout, wire.message_frame({"type": "job_end", "status": status, "preloaded": loaded}))
