"""Every limit and default of the grader, in one place.

- :class:`Limits`: what one submission's job may use in the sandbox (time, memory,
  files, output), chosen per run from the command line.
- Report limits: how much of any message, value or printed output reaches results,
  journals, JSON, HTML and CSV, and how many failing cases are shown in detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ------------------------------------------------------------------ reports

DETAILED_FAILURES = 3  # failing cases per problem that carry inputs, expected and got values (the rest: replay)
MESSAGE_CHARS = 2_000  # any message, hint or detail text in a result
VALUE_ELEMENTS = 400  # numbers kept of one value (inputs, expected, got) in a result
VALUE_DEPTH = 8  # nesting kept of one value
OUTPUT_CHARS = 16_000  # printed output kept per submission in results and reports


@dataclass(frozen=True)
class Limits:
    """Per-job limits. Wall-clock limits are enforced from outside the student's process."""

    case_seconds: float = 2.0
    import_seconds: float = 5.0
    job_seconds: float = 60.0
    memory_mb: int = 512
    file_mb: int = 16
    open_files: int = 64
    processes: int = 32
    output_kb: int = 64
    timeouts_per_function: int = 2

    def for_worker(self, calls: int) -> dict[str, Any]:
        cpu = int(self.import_seconds + calls * self.case_seconds) + 2
        return {
            "case_seconds": self.case_seconds,
            "import_seconds": self.import_seconds,
            "job_seconds": self.job_seconds,
            "cpu_seconds": min(cpu, int(self.job_seconds) + 2),
            "memory_bytes": self.memory_mb * 2**20,
            "file_bytes": self.file_mb * 2**20,
            "open_files": self.open_files,
            "processes": self.processes,
            "output_bytes": self.output_kb * 1024,
            "timeouts_per_function": self.timeouts_per_function,
        }

    def job_deadline(self, calls: int) -> float:
        """Backstop for the whole job, seen from the grader: the worker enforces tighter limits."""
        return min(self.import_seconds + calls * (self.case_seconds + 0.5), self.job_seconds) + 15.0
