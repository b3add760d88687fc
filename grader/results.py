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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, Literal, get_args

from .limits import MESSAGE_CHARS, OUTPUT_CHARS, SOURCE_CHARS
from .text import valid_text

CaseOutcome = Literal["passed", "failed", "error", "timeout", "invalid", "not_run"]
CaseKind = Literal["example", "public", "hidden", "answer"]
ProblemStatus = Literal["graded", "missing", "not_run"]
SubmissionStatus = Literal["graded", "not_imported", "no_submission", "unreadable", "error"]
SCHEMA_VERSION = 2


_WORDS: dict[int, frozenset[str]] = {}  # a vocabulary's words by its id: hashing a Literal type is slow


def _closed(value: str, vocabulary: Any, what: str) -> None:
    words = _WORDS.get(id(vocabulary))
    if words is None:
        words = _WORDS[id(vocabulary)] = frozenset(get_args(vocabulary))  # module-level Literals: ids are stable
    if value not in words:
        raise ValueError(f"{what} must be one of {get_args(vocabulary)}, got {value!r}")


def clip(text: str, limit: int = MESSAGE_CHARS) -> str:
    """Every text a result holds is cut here, once, and made valid Unicode (:func:`grader.text.valid_text`),
    before it reaches any journal or report."""
    text = valid_text(text)
    if len(text) <= limit:
        return text
    return text[: limit - 40] + f"\n... (cut: {len(text):,} characters in all)"


def _clip_fields(obj: Any, names: tuple[str, ...], limit: int = MESSAGE_CHARS) -> None:
    for name in names:
        value = getattr(obj, name)
        kept = clip(value, limit)
        if kept is not value:
            object.__setattr__(obj, name, kept)


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
    detail: str = ""
    # Data, formatted by the renderers (grader.values): "inputs" (name -> value), "expected", "got".
    values: Mapping[str, Any] = field(default_factory=dict)
    cause: str = ""  # what produced a failure, for grouping: "mistake:<i>", "values", "form", "timeout", "error:<Type>"

    def __post_init__(self) -> None:
        _closed(self.outcome, CaseOutcome, "case outcome")
        _closed(self.kind, CaseKind, "case kind")
        _clip_fields(self, ("label", "message", "hint", "where", "replay", "detail"))

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
        _clip_fields(self, ("message",))

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
    warnings: tuple[str, ...] = ()  # how the submission was found and read (two candidate files, a cell not run)
    name: str = ""  # the student's display name, when the download says it
    submitted_at: str = ""  # ISO 8601 when the LMS recorded it
    late: bool | None = None  # the LMS's own late mark (Canvas), None when it says nothing
    source: str = ""  # the code graded (a notebook's code cells), cut at SOURCE_CHARS: reports show it

    def __post_init__(self) -> None:
        _closed(self.status, SubmissionStatus, "submission status")
        _clip_fields(self, ("message", "student", "file", "name", "submitted_at"))
        _clip_fields(self, ("source",), SOURCE_CHARS)
        if self.warnings:
            object.__setattr__(self, "warnings", tuple(clip(str(w)) for w in self.warnings))
        _clip_fields(self, ("output",), OUTPUT_CHARS)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


@dataclass(frozen=True)
class ProblemInfo:
    """What a report shows about a problem besides results: enough to render it from results alone."""

    id: str
    title: str
    kind: Literal["function", "answers"]
    points: float
    statement: str
    signature: str = ""
    check: str = ""


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
    # A tuple, or (from grade_batch) a grader.spool.ResultSpool that reads each result from disk when asked
    submissions: Sequence[SubmissionResult]
    schema_version: int = SCHEMA_VERSION
    problems: tuple[ProblemInfo, ...] = ()
    summary: str = ""
    graded_at: str = ""  # ISO 8601, UTC


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
        data["warnings"] = list(result.warnings)
    elif isinstance(result, BatchResult):
        data["submissions"] = [to_dict(s) for s in result.submissions]
        data["isolation_layers"] = list(result.isolation_layers)
        data["problems"] = [dict(vars(p)) for p in result.problems]
    return data


def to_json(result: Any, indent: int | None = 1) -> str:
    return json.dumps(to_dict(result), indent=indent, allow_nan=False, ensure_ascii=False)


# What reading a result back from JSON raises when the text is not one (malformed JSON, a missing or
# mistyped field): a journal entry, a results.json or a spooled line.
NOT_A_RESULT = (ValueError, TypeError, KeyError, AttributeError)


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _build(cls: type, data: dict[str, Any]) -> Any:
    kwargs = {}
    for name in _field_names(cls):
        if name not in data:
            continue
        value = data[name]
        if name == "cases":
            value = tuple(_build(CaseResult, c) for c in value)
        elif name == "problems":
            value = tuple(_build(ProblemInfo if cls is BatchResult else ProblemResult, p) for p in value)
        elif name == "submissions":
            value = tuple(_build(SubmissionResult, s) for s in value)
        elif name in ("isolation_layers", "warnings"):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def submission_from_dict(data: dict[str, Any]) -> SubmissionResult:
    return _build(SubmissionResult, data)


def submission_from_json(text: str) -> SubmissionResult:
    return submission_from_dict(json.loads(text))


def batch_from_dict(data: dict[str, Any]) -> BatchResult:
    return _build(BatchResult, data)


def batch_from_json(text: str) -> BatchResult:
    return batch_from_dict(json.loads(text))
