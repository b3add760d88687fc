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

VERDICTS_KEPT = 20_000  # judgements (verdict, hint) a batch's CaseBook keeps per case and output: memory flat in N
DETAILED_FAILURES = 3  # failing cases per problem that carry inputs, expected and got values (the rest: replay)
MESSAGE_CHARS = 2_000  # any message, hint or detail text in a result
VALUE_ELEMENTS = 400  # numbers kept of one value (inputs, expected, got) in a result
VALUE_DEPTH = 8  # nesting kept of one value
OUTPUT_CHARS = 16_000  # printed output kept per submission in results and reports
SOURCE_CHARS = 100_000  # the submission's code kept in results, for the student page (submissions are <= 1 MB)

# ------------------------------------------------------------------ returned values

# The largest correct answers of this course, in the elements and wire bytes that a value budget
# charges (sandbox/worker/wire.py: one per JSON value of the wire form, one per number in an array).
# Measured by ``python benchmarks/hostile_memory.py --size --seeds 300`` over every problem's
# examples, public cases and hidden cases of 300 secrets x students, from ``problem.reference``:
# one answer at most 276 elements (hw6 resmlp_grads) and 2,774 bytes (hw4 avgpool_as_conv, arrays
# as base64; ~7 KB as decimal lists); one whole job (every case of an assignment, ANSWERS included)
# at most 2,884 elements (hw5) and 22,818 bytes. Quoted in the message of a value over budget.
LARGEST_ANSWER_ELEMENTS = 276
LARGEST_JOB_ELEMENTS = 2_884


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
    crashes_per_function: int = 3  # in a row: each crash costs a fresh process (worker/calls.py)
    # What the values a submission returns may cost the grader, checked while they are decoded (an
    # over-budget value is that call's ``invalid`` outcome). Sized at about 4x the course's largest
    # correct answers (LARGEST_* above), rounded up: 4 x 276 -> 1,200 elements per call and
    # 4 x 2,884 -> 12,000 per job; bytes at 27 per element, room for every number written out as
    # a decimal float (a list instead of an array) -> 32 KiB per call, 320 KiB per job.
    value_elements: int = 1_200
    value_bytes: int = 32 * 1024
    job_value_elements: int = 12_000
    job_value_bytes: int = 320 * 1024

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
            "crashes_per_function": self.crashes_per_function,
            "value_elements": self.value_elements,
            "value_bytes": self.value_bytes,
        }

    def job_deadline(self, calls: int) -> float:
        """Backstop for the whole job, seen from the grader: the worker enforces tighter limits."""
        return min(self.import_seconds + calls * (self.case_seconds + 0.5), self.job_seconds) + 15.0
