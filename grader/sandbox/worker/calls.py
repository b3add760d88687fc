"""A job's calls, run in one child process after another: the loop the sandboxed job manager and the
portable runner share; each brings its own way of starting, greeting and ending a child.

A call that times out, ends its process or breaks the protocol costs that call, and a fresh child
re-imports the submission and resumes after it. A function that timed out ``timeouts_per_function``
times, or ended its process ``crashes_per_function`` times in a row, is not called again in that job:
its remaining calls are reported as skipped. Crashes count only in a row, so a function that dies on
a few inputs and answers the others keeps every answer it gives.

Imports only the standard library: the worker loads it as a top-level module, the grader as
``grader.sandbox.worker.calls``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

MAX_DETAIL = 2000  # characters of a child's error description that are passed on
CHILD_STATUSES = {"ok", "error", "invalid"}
BROKEN_PROTOCOL = "the submission process broke the message protocol"


def reported_seconds(value: Any) -> float:
    """A child's own timing of a call, as a finite non-negative float (0.0 when it is anything else).

    The child is untrusted: its messages can be forged by the student's code, and ``float()`` of a JSON
    integer of 400 digits raises, which used to end the job manager (the whole job then counted as lost)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    try:
        seconds = float(value)
    except OverflowError:
        return 0.0
    return seconds if math.isfinite(seconds) and seconds >= 0 else 0.0


class ChildGone(Exception):
    """The child ended, timed out or broke the protocol; ``kind`` says which."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def read_import(read_message: Callable[[float], tuple[dict[str, Any], bytes]], limit: float
                ) -> tuple[dict[str, Any], bytes]:
    """A child's import report and its raw value (ANSWERS), read with ``read_message(deadline)``; raises
    ChildGone for an import that failed, timed out or broke the protocol, and for a child that could not
    be set up.

    A child reports ``set_up`` before any student code runs, or else the import status ``setup`` and
    nothing more. So a ``setup`` after ``set_up`` was written by the student's code, which could otherwise
    pass its own failure off as the grader's ("not caused by your code"), and is a broken protocol."""
    deadline = time.monotonic() + limit
    try:
        first, value = read_message(deadline)
        set_up = first.get("type") == "set_up"
        if set_up:
            first, value = read_message(deadline)
    except ChildGone as gone:
        if gone.kind == "timeout":
            raise ChildGone("timeout", f"importing the submission took longer than {limit} s") from None
        raise
    status = first.get("status")
    if first.get("type") != "import" or (status == "setup") == set_up:
        raise ChildGone("invalid", BROKEN_PROTOCOL)
    if status != "ok":
        raise ChildGone("setup" if status == "setup" else "error", str(first.get("detail", ""))[:MAX_DETAIL])
    return first, value


class Strikes:
    """Per function: calls that timed out, and calls in a row that ended their process."""

    def __init__(self, limits: dict[str, Any]) -> None:
        self.most_timeouts = int(limits["timeouts_per_function"])
        self.most_crashes = int(limits.get("crashes_per_function") or 0)  # 0: no limit
        self.timeouts: dict[str, int] = {}
        self.crashes: dict[str, int] = {}

    def failed(self, function: str, kind: str) -> None:
        """A call of ``function`` ended as ``kind`` (a ChildGone kind)."""
        if kind == "timeout":
            self.timeouts[function] = self.timeouts.get(function, 0) + 1
        elif kind == "crash":
            self.crashes[function] = self.crashes.get(function, 0) + 1

    def answered(self, function: str) -> None:
        self.crashes.pop(function, None)

    def exhausted(self, function: str) -> str:
        """Why ``function`` is not called again, or "" while it still is."""
        if self.timeouts.get(function, 0) >= self.most_timeouts:
            return f"not run: {function} already timed out {self.most_timeouts} times"
        if self.most_crashes and self.crashes.get(function, 0) >= self.most_crashes:
            return (f"not run: {function} ended its process {self.most_crashes} times in a row "
                    "(each time, a new process had to start)")
        return ""


class Reader(Protocol):
    def read_message(self, deadline: float) -> tuple[dict[str, Any], bytes]:
        """The child's next message and its raw value; raises ChildGone."""


C = TypeVar("C", bound=Reader)


class CallLoop(Generic[C]):
    """Runs the calls of one job (``functions[i]`` is call i's function) and ``emit``s a result for each.

    ``value_bytes``, when given, refuses a returned value longer than that in wire form right here
    (``budget_note`` completes the message); otherwise the grader's decoding budget does it.
    """

    def __init__(self, functions: Sequence[str], limits: dict[str, Any], emit: Callable[[dict[str, Any], bytes], None],
                 value_bytes: int | None = None, budget_note: str = "") -> None:
        self.functions = list(functions)
        self.limits = limits
        self.emit = emit
        self.value_bytes, self.budget_note = value_bytes, budget_note

    def run(self, open_child: Callable[[int, bool], C], await_import: Callable[[C, bool], None],
            close_child: Callable[[C], None]) -> None:
        """``open_child(start, first_time)`` starts a child that runs the calls from ``start``;
        ``await_import(child, first_time)`` waits for its import (raising ChildGone); ``close_child`` ends it."""
        limits = self.limits
        job_deadline = time.monotonic() + limits["job_seconds"]
        strikes = Strikes(limits)
        index = 0
        imported = False
        while not imported or index < len(self.functions):
            if imported:
                index = self._skip_exhausted(index, strikes)
                if index >= len(self.functions):
                    break
                if time.monotonic() > job_deadline:
                    self._skip_rest(index, "timeout",
                                    f"not run: the submission used its {limits['job_seconds']} s budget")
                    break
            try:
                current = open_child(index, not imported)
            except ChildGone as gone:
                self._gone(imported, index, gone)
                break
            try:
                await_import(current, not imported)
                imported = True
                index = self._run_calls(current, index, strikes, job_deadline)
            except ChildGone as gone:
                self._gone(imported, index, gone)
                break
            finally:
                close_child(current)

    def _gone(self, imported: bool, index: int, gone: ChildGone) -> None:
        if not imported:
            self.emit({"type": "import", "status": gone.kind, "detail": gone.detail}, b"")
        else:
            self._skip_rest(index, "error", "not run: the submission could not be imported again "
                                   f"after an earlier case failed ({gone.detail})")

    def _skip_rest(self, index: int, status: str, detail: str) -> None:
        for rest in range(index, len(self.functions)):
            self.emit({"type": "result", "index": rest, "status": status, "detail": detail}, b"")

    def _skip_exhausted(self, index: int, strikes: Strikes) -> int:
        """Skip calls of functions that timed out or crashed too often; return the next to run."""
        while index < len(self.functions) and (why := strikes.exhausted(self.functions[index])):
            self.emit({"type": "result", "index": index, "status": "skipped", "detail": why}, b"")
            index += 1
        return index

    def _run_calls(self, current: C, index: int, strikes: Strikes, job_deadline: float) -> int:
        """Run calls from ``index`` in ``current``; return the index to resume at."""
        limits = self.limits
        while index < len(self.functions):
            function = self.functions[index]
            if strikes.exhausted(function):
                return index  # the child is already running it: restart past the skipped calls
            deadline = min(time.monotonic() + limits["case_seconds"], job_deadline)
            try:
                message, value = current.read_message(deadline)
            except ChildGone as gone:
                detail = gone.detail
                strikes.failed(function, gone.kind)
                if gone.kind == "timeout":
                    detail = f"no answer within {limits['case_seconds']} s (wall clock)"
                self.emit({"type": "result", "index": index, "status": gone.kind, "detail": detail}, b"")
                return index + 1
            if message.get("type") != "result" or message.get("index") != index \
                    or message.get("status") not in CHILD_STATUSES:
                self.emit({"type": "result", "index": index, "status": "invalid", "detail": BROKEN_PROTOCOL}, b"")
                return index + 1
            strikes.answered(function)
            seconds = message.get("seconds")
            if message["status"] == "ok" and self.value_bytes is not None and len(value) > self.value_bytes:
                message = {"status": "invalid", "detail": f"the returned value takes more than {self.value_bytes:,} "
                                                          f"bytes in wire form, over the grader's budget per value"
                                                          f"{self.budget_note}", "seconds": seconds}
            self.emit({"type": "result", "index": index, "status": message["status"],
                       "detail": str(message.get("detail", ""))[:MAX_DETAIL],
                       "not_implemented": message.get("not_implemented") is True,
                       "seconds": reported_seconds(seconds)},
                      value if message["status"] == "ok" else b"")
            index += 1
        return index
