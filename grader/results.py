"""Results: the contract every renderer reads. Frozen, JSON round-trippable, schema in ``schema/``.

    CaseResult ─▶ ProblemResult ─▶ SubmissionResult ─▶ BatchResult

Vocabularies are closed:

- case outcome: ``passed`` | ``failed`` (wrong values) | ``error`` (the code
  raised or crashed) | ``timeout`` | ``invalid`` (wrong type or shape, or data
  that cannot be read);
- problem status: ``graded`` | ``missing`` (function or ANSWERS not defined) |
  ``not_run`` (the submission did not import);
- submission status: ``graded`` | ``not_imported`` | ``no_submission`` |
  ``unreadable`` | ``error`` (grading this one submission failed; the batch carries on).

``grader_failed`` marks a result spoiled by the grader itself (a lost worker, a
sandbox that could not be set up, an exception while grading): it is reported
but never journalled, so the next run grades that student again.

Scores are computed here, once, from the cases; renderers only display them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

CaseOutcome = Literal["passed", "failed", "error", "timeout", "invalid"]
CaseKind = Literal["example", "public", "hidden", "answer"]
ProblemStatus = Literal["graded", "missing", "not_run"]
SubmissionStatus = Literal["graded", "not_imported", "no_submission", "unreadable", "error"]
SCHEMA_VERSION = 1


def _closed(value: str, vocabulary: Any, what: str) -> None:
    if value not in get_args(vocabulary):
        raise ValueError(f"{what} must be one of {get_args(vocabulary)}, got {value!r}")


@dataclass(frozen=True)
class CaseResult:
    id: str
    kind: CaseKind
    outcome: CaseOutcome
    label: str = ""
    message: str = ""
    hint: str = ""
    max_error: float | None = None
    where: str = ""
    seconds: float = 0.0
    replay: str = ""
    inputs: str = ""
    expected: str = ""
    got: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        _closed(self.outcome, CaseOutcome, "case outcome")
        _closed(self.kind, CaseKind, "case kind")

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


@dataclass(frozen=True)
class ProblemResult:
    id: str
    title: str
    kind: Literal["function", "answers"]
    points: float
    score: float
    status: ProblemStatus
    cases: tuple[CaseResult, ...]
    message: str = ""

    def __post_init__(self) -> None:
        _closed(self.status, ProblemStatus, "problem status")

    @property
    def passed_count(self) -> int:
        return sum(c.passed for c in self.cases)

    @property
    def outcome(self) -> str:
        """passed | partial | failed | missing | not_run: a summary for tables."""
        if self.status != "graded":
            return self.status
        if self.cases and self.passed_count == len(self.cases):
            return "passed"
        return "partial" if self.passed_count else "failed"

    @property
    def first_failure(self) -> CaseResult | None:
        return next((c for c in self.cases if not c.passed), None)


@dataclass(frozen=True)
class SubmissionResult:
    student: str
    assignment: str
    file: str
    status: SubmissionStatus
    score: float
    max_score: float
    problems: tuple[ProblemResult, ...]
    message: str = ""
    output: str = ""
    output_bytes: int = 0
    isolation: str = ""
    isolation_layers: tuple[str, ...] = ()
    seconds: float = 0.0
    fingerprint: str = ""
    grader_failed: bool = False

    def __post_init__(self) -> None:
        _closed(self.status, SubmissionStatus, "submission status")

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


@dataclass(frozen=True)
class BatchResult:
    assignment: str
    title: str
    max_score: float
    isolation: str
    isolation_layers: tuple[str, ...]
    isolation_note: str
    secret_id: str
    grader_version: str
    submissions: tuple[SubmissionResult, ...]
    schema_version: int = SCHEMA_VERSION


def score_problem(points: float, cases: tuple[CaseResult, ...]) -> float:
    """Partial credit: the fraction of cases passed, rounded to hundredths of a point."""
    if not cases:
        return 0.0
    return round(points * sum(c.passed for c in cases) / len(cases), 2)


# ----------------------------------------------------------------- JSON


def to_dict(result: Any) -> dict[str, Any]:
    """Plain dicts and lists, ready for JSON (a hand-written ``asdict``: batches write thousands)."""
    data = dict(vars(result))
    if isinstance(result, ProblemResult):
        data["cases"] = [dict(vars(c)) for c in result.cases]
    elif isinstance(result, SubmissionResult):
        data["problems"] = [to_dict(p) for p in result.problems]
        data["isolation_layers"] = list(result.isolation_layers)
    elif isinstance(result, BatchResult):
        data["submissions"] = [to_dict(s) for s in result.submissions]
        data["isolation_layers"] = list(result.isolation_layers)
    return data


def to_json(result: Any, indent: int | None = 1) -> str:
    return json.dumps(to_dict(result), indent=indent, allow_nan=False, ensure_ascii=False)


def _build(cls: type, data: dict[str, Any]) -> Any:
    kwargs = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "cases":
            value = tuple(_build(CaseResult, c) for c in value)
        elif f.name == "problems":
            value = tuple(_build(ProblemResult, p) for p in value)
        elif f.name == "submissions":
            value = tuple(_build(SubmissionResult, s) for s in value)
        elif f.name == "isolation_layers":
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def submission_from_dict(data: dict[str, Any]) -> SubmissionResult:
    return _build(SubmissionResult, data)


def batch_from_dict(data: dict[str, Any]) -> BatchResult:
    return _build(BatchResult, data)


def batch_from_json(text: str) -> BatchResult:
    return batch_from_dict(json.loads(text))
