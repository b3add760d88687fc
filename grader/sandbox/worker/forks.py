"""The fork service: the pristine worker forks every student child; the job manager asks it to.

The worker (``zygote.py``) never reads a job, a submission or a result. It holds only the
interpreter, numpy and what was preloaded, so each child it forks starts from the same clean
copy and can find no trace of another student in its memory. The job manager, a long-lived
sibling that does hold jobs and results, never forks: it sends the worker the three pipe ends a
child needs, and the child reads its job from the first one (``child.start``).

Requests and replies are one JSON packet each on a SOCK_SEQPACKET pair:

    {"op": "preload", "names": [...]}   -> {"loaded": [...]}
    {"op": "fork"} + 3 descriptors      -> {"pid": pid}
    {"op": "wait", "pid": pid}          -> {"status": wait status, "cpu": seconds}
    {"op": "end", "pid": pid}           -> the same, after killing it and every process it left

Imports only the standard library and the worker's own modules (loaded as top-level modules).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import time
from typing import Any

import child

PACKET_BYTES = 64 * 1024
CHILD_FDS = 3  # the job to read, results to write, output (stdout and stderr)
EXIT_GRACE_SECONDS = 1.0  # a child whose result pipe closed has this long to end before it is killed


class WorkerGone(Exception):
    """The other side of the fork service closed its socket."""


class ForkService:
    """The pristine worker's side: forks children on request, and reaps and kills them."""

    def __init__(self, sock: socket.socket, manager: int) -> None:
        self.sock = sock
        self.manager = manager
        self.ended: dict[int, tuple[int, float]] = {}  # reaped children: wait status and CPU seconds

    def serve(self) -> int:
        """Answer requests until the manager goes; then end every child left and return."""
        try:
            while True:
                data, fds, _, _ = socket.recv_fds(self.sock, PACKET_BYTES, CHILD_FDS)
                if not data:
                    return 0
                try:
                    reply = self._answer(json.loads(data), fds)
                finally:
                    for fd in fds:
                        os.close(fd)
                self.sock.send(json.dumps(reply).encode())
        except (OSError, ValueError):
            return 1
        finally:
            self._sweep()

    def _answer(self, request: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        op = request.get("op")
        if op == "fork" and len(fds) == CHILD_FDS:
            return {"pid": self._fork(fds)}
        if op == "preload":
            loaded = child.preload([str(n) for n in request.get("names", [])])
            gc.freeze()  # forked copies then leave these objects' pages shared instead of copying them
            return {"loaded": loaded}
        if op in ("wait", "end"):
            pid = int(request["pid"])
            if op == "end":
                self._kill(pid)
            status, cpu = self._reap(pid, grace=0.0 if op == "end" else EXIT_GRACE_SECONDS)
            if op == "end":
                self.ended.pop(pid, None)
                self._sweep()
            return {"status": status, "cpu": cpu}
        return {"error": f"unknown request {op!r}"}

    def _fork(self, fds: list[int]) -> int:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            self.sock.close()  # first of all: a child must never reach the manager's line
            child.start(*fds)  # never returns
        return pid

    def _kill(self, pid: int) -> None:
        if pid in self.ended or pid == self.manager:
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _reap(self, pid: int, grace: float) -> tuple[int, float]:
        """Wait for a child of ours; one still running after ``grace`` seconds is killed (at once when 0:
        it was just sent SIGKILL)."""
        if pid in self.ended:
            return self.ended[pid]
        if pid == self.manager:
            return 0, 0.0
        deadline = time.monotonic() + grace
        pause = 0.0002
        flags = os.WNOHANG if grace > 0 else 0
        while True:
            try:
                done, status, usage = os.wait4(pid, flags)
            except ChildProcessError:
                return 0, 0.0
            if done:
                self.ended[pid] = status, usage.ru_utime + usage.ru_stime
                return self.ended[pid]
            if time.monotonic() > deadline:  # it closed its pipes and lives on
                self._kill(pid)
                flags = 0
                continue
            time.sleep(pause)
            pause = min(pause * 2, 0.01)

    def _sweep(self) -> None:
        """Kill and reap every child but the manager: orphans of ended children come to this process
        (the pid namespace's init, or a subreaper without one)."""
        for _ in range(100):
            found = [pid for pid in _children() if pid != self.manager]
            if not found:
                return
            for pid in found:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for pid in found:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass


class Forks:
    """The job manager's side of the fork service."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def _ask(self, request: dict[str, Any], fds: tuple[int, ...] = ()) -> dict[str, Any]:
        data = json.dumps(request).encode()
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.send(data)
        reply = self.sock.recv(PACKET_BYTES)
        if not reply:
            raise WorkerGone("the worker closed the fork service")
        answer = json.loads(reply)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def preload(self, names: list[str]) -> list[str]:
        return [str(n) for n in self._ask({"op": "preload", "names": names})["loaded"]]

    def fork(self, job_fd: int, result_fd: int, out_fd: int) -> int:
        """A new child of the pristine worker, given these pipe ends; returns its pid."""
        return int(self._ask({"op": "fork"}, (job_fd, result_fd, out_fd))["pid"])

    def wait(self, pid: int) -> tuple[int, float]:
        """The child's wait status and CPU seconds, once it has ended."""
        answer = self._ask({"op": "wait", "pid": pid})
        return int(answer["status"]), float(answer["cpu"])

    def end(self, pid: int) -> tuple[int, float]:
        """Kill the child and every process it left; its wait status and CPU seconds."""
        answer = self._ask({"op": "end", "pid": pid})
        return int(answer["status"]), float(answer["cpu"])


def _children() -> list[int]:
    """This (single-threaded) process's children, orphans it adopted included."""
    me = os.getpid()
    try:  # one small file (Linux >= 3.5 with CONFIG_PROC_CHILDREN) instead of a scan of every process
        with open(f"/proc/{me}/task/{me}/children") as fh:
            return [int(pid) for pid in fh.read().split()]
    except OSError:
        pass
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(me):
            found.append(int(name))
    return found
