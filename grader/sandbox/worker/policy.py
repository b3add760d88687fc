"""When a job stops calling a function: one policy for the sandboxed job runner and the portable runner.

A call that times out or ends its process costs a fresh process (and, for a
timeout, the whole wall-clock limit). A function that timed out
``timeouts_per_function`` times, or ended its process ``crashes_per_function``
times in a row, is not called again in that job: its remaining calls are
reported as skipped. Crashes count only in a row, so a function that dies on
a few inputs and answers the others keeps every answer it gives.
"""

from __future__ import annotations

from typing import Any


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
