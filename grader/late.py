"""The late policy: due dates, grace, per-day penalties with a cap, free late days, per-student exceptions.

A policy is a small TOML file (read with ``tomllib``)::

    timezone = "America/New_York"   # for submission times written without a zone (default UTC)
    grace_minutes = 15              # up to 15 minutes after the due time counts as on time
    penalty_per_day = 10            # percent lost per day late (a started day counts)
    max_penalty = 50                # the cap: at most 50 percent lost (default 100)
    penalty_of = "possible"         # percent of the points possible (Canvas's rule), or "score": of the raw score
    late_days = 3                   # free late days per student for the semester
    late_days_order = "due"         # "due": spent in the order assignments are due; "best": where they save most
    canvas_late_days = 1            # a Canvas LATE mark (no time) counts as this many days late
    use_mtime = false               # with no other evidence, the file's modification time (as --use-mtime)

    [assignments.hw4]
    due = "2025-02-07T23:59:00-05:00"   # ISO 8601 with a zone
    canvas_id = 123456                  # Canvas's assignment id: the canvas.csv column "HW4 (123456)"
    title = "HW4"                       # the Canvas column title (default: the assignment's title)

    [exceptions.bob]                    # a student id
    late_days = 5                       # another budget of free late days
    hw5 = { due = "2025-03-01T23:59:00-05:00" }   # an extended due date
    hw6 = { waived = true }                        # no late penalty at all, no late day spent

**When a submission was made**, first match wins: (1) the time the intake read from the LMS (``submitted_at``:
Gradescope's ``created_at``); (2) the LMS's own late mark (Canvas's ``LATE`` in the file name, which has no
time): ``canvas_late_days`` days late (1 by default), or on time when the LMS says it is not late; (3) the file's
modification time, only with ``--use-mtime`` (or ``use_mtime = true``); (4) otherwise on time. An assignment with
no due date in the policy is never late by (1) or (3). A student with an extended due date whose only evidence is
a ``LATE`` mark counts as on time (Canvas compared with its own due date, not the extension).

**Days late** are counted from the due date (the student's extended one, if any) in started days of 24 hours;
a submission within the grace period after it is on time. **Late days** cover days late one for one; the days
left over are penalised: ``min(days × penalty_per_day, max_penalty)`` percent of the points possible (or of the
raw score with ``penalty_of = "score"``), never below 0 points. Late days are spent automatically, only on
assignments where they save points (not on a waived one, nor on a score of 0). With ``late_days_order = "due"``
(the default) they go to the late assignments in the order they are due, as many as each needs, until none are
left: simple and predictable, though a day spent on an assignment already at the cap saves nothing. With
``"best"`` they go where they save the most points in all (an exact search over the semester; ties: fewer days
spent, then the assignment due first); a later regrade or resubmission can then move them between assignments.
Assignments without a due date come last, by id.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import GraderError

DAY = timedelta(days=1)
ORDERS = ("due", "best")
_TIME = re.compile(r"\s*(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?)?"
                   r"\s*(Z|UTC|[+-]\d{2}:?\d{2})?\s*", re.IGNORECASE)


def parse_time(text: str | None, zone: tzinfo = UTC) -> datetime | None:
    """An ISO 8601 time as LMSs write it (``2024-03-01 10:00:00.000000000 -08:00``, ``...T10:00Z``); a time without
    a zone is in ``zone``. None for "" or None; ValueError for anything else that does not parse."""
    if text is None or not str(text).strip():
        return None
    match = _TIME.fullmatch(str(text))
    if not match:
        raise ValueError(f"not an ISO 8601 time: {text!r}")
    day, clock, fraction, offset = match.groups()
    iso = f"{day}T{clock or '00:00'}"
    if fraction:
        iso += "." + (fraction + "000000")[:6]
    if offset and offset.upper() not in ("Z", "UTC"):
        iso += offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"
    elif offset:
        iso += "+00:00"
    when = datetime.fromisoformat(iso)
    return when if when.tzinfo is not None else when.replace(tzinfo=zone)


@dataclass(frozen=True)
class AssignmentPolicy:
    due: datetime | None = None
    canvas_id: str = ""
    title: str = ""


@dataclass(frozen=True)
class StudentException:
    late_days: int | None = None  # None: the policy's budget
    due: dict[str, datetime] = field(default_factory=dict)  # assignment -> extended due date
    waived: frozenset[str] = frozenset()  # assignments with no late penalty


@dataclass(frozen=True)
class Policy:
    zone: tzinfo = UTC
    grace: timedelta = timedelta(0)
    per_day: float = 0.0  # percent
    cap: float = 100.0  # percent
    of_score: bool = False  # percent of the raw score instead of the points possible
    late_days: int = 0
    order: str = "due"
    canvas_late_days: int = 1
    use_mtime: bool = False
    assignments: dict[str, AssignmentPolicy] = field(default_factory=dict)
    exceptions: dict[str, StudentException] = field(default_factory=dict)

    def due(self, assignment: str, student: str = "") -> datetime | None:
        extended = self.exceptions.get(student, StudentException()).due.get(assignment)
        return extended or self.assignments.get(assignment, AssignmentPolicy()).due

    def budget(self, student: str) -> int:
        own = self.exceptions.get(student, StudentException()).late_days
        return self.late_days if own is None else own


NO_POLICY = Policy()


def _number(data: dict[str, Any], key: str, default: float, where: str, low: float = 0.0) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
        raise GraderError(f"{where}: {key} must be a number >= {low:g}, got {value!r}")
    return float(value)


def _due(value: Any, zone: tzinfo, where: str) -> datetime:
    if isinstance(value, datetime):  # a TOML date-time literal
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    try:
        when = parse_time(str(value), zone)
    except ValueError:
        when = None
    if when is None:
        raise GraderError(f"{where}: due must be an ISO 8601 time such as 2025-02-07T23:59:00-05:00, got {value!r}")
    return when


def policy_from_dict(data: dict[str, Any], where: str = "the late policy") -> Policy:
    known = {"timezone", "grace_minutes", "penalty_per_day", "max_penalty", "penalty_of", "late_days",
             "late_days_order", "canvas_late_days", "use_mtime", "assignments", "exceptions"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise GraderError(f"{where}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        zone: tzinfo = ZoneInfo(data["timezone"]) if "timezone" in data else UTC
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise GraderError(f"{where}: unknown timezone {data['timezone']!r}") from None
    order = data.get("late_days_order", "due")
    if order not in ORDERS:
        raise GraderError(f"{where}: late_days_order must be one of {', '.join(ORDERS)}, got {order!r}")
    of = data.get("penalty_of", "possible")
    if of not in ("possible", "score"):
        raise GraderError(f"{where}: penalty_of must be 'possible' or 'score', got {of!r}")
    assignments = {}
    for name, spec in (data.get("assignments") or {}).items():
        if not isinstance(spec, dict):
            raise GraderError(f"{where}: [assignments.{name}] must be a table")
        extra = sorted(set(spec) - {"due", "canvas_id", "title"})
        if extra:
            raise GraderError(f"{where}: [assignments.{name}]: unknown key(s) {', '.join(extra)}")
        canvas_id = str(spec.get("canvas_id", "")).strip()
        if canvas_id and not canvas_id.isdigit():
            raise GraderError(f"{where}: [assignments.{name}] canvas_id must be Canvas's numeric assignment id")
        assignments[name] = AssignmentPolicy(
            _due(spec["due"], zone, f"{where}: [assignments.{name}]") if "due" in spec else None,
            canvas_id, str(spec.get("title", "")))
    exceptions = {}
    for student, spec in (data.get("exceptions") or {}).items():
        if not isinstance(spec, dict):
            raise GraderError(f"{where}: [exceptions.{student}] must be a table")
        late_days, due, waived = None, {}, set()
        for key, value in spec.items():
            if key == "late_days":
                late_days = int(_number(spec, key, 0, f"{where}: [exceptions.{student}]"))
            elif isinstance(value, dict) and set(value) <= {"due", "waived"} and value:
                if value.get("waived"):
                    waived.add(key)
                if "due" in value:
                    due[key] = _due(value["due"], zone, f"{where}: [exceptions.{student}] {key}")
            else:
                raise GraderError(f"{where}: [exceptions.{student}] {key} must be late_days = N or "
                                  "<assignment> = {{ due = \"...\" }} or {{ waived = true }}")
        exceptions[str(student)] = StudentException(late_days, due, frozenset(waived))
    return Policy(
        zone=zone, grace=timedelta(minutes=_number(data, "grace_minutes", 0, where)),
        per_day=_number(data, "penalty_per_day", 0, where), cap=min(100.0, _number(data, "max_penalty", 100, where)),
        of_score=of == "score", late_days=int(_number(data, "late_days", 0, where)), order=order,
        canvas_late_days=int(_number(data, "canvas_late_days", 1, where)), use_mtime=bool(data.get("use_mtime")),
        assignments=assignments, exceptions=exceptions)


def load_policy(path: Path) -> Policy:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GraderError(f"cannot read the late policy {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise GraderError(f"{path} is not valid TOML: {exc}") from None
    return policy_from_dict(data, str(path))


# ------------------------------------------------------------------ arithmetic


@dataclass(frozen=True)
class Attempt:
    """What the gradebook knows of one student's latest submission of one assignment."""

    assignment: str
    raw: float
    max_score: float
    submitted: bool = True  # False: no submission (nothing is late)
    submitted_at: str = ""  # ISO 8601 from the LMS ("" unknown)
    late_mark: bool | None = None  # the LMS's late mark (Canvas), None: it says nothing
    mtime: float | None = None  # the file's modification time (seconds since the epoch), when recorded


@dataclass(frozen=True)
class LateOutcome:
    assignment: str
    raw: float
    max_score: float
    submitted: bool
    when: datetime | None  # the time used (None: none known)
    source: str  # "submitted_at" | "lms" | "mtime" | "none"
    due: datetime | None
    days_late: int
    late_days_used: int
    penalty: float  # points
    final: float
    waived: bool = False
    note: str = ""

    def summary(self, late_days_left: int | None = None) -> dict[str, Any]:
        """What the student's page shows (grader.render.reports.student_page ``late``)."""
        return {"raw": self.raw, "max": self.max_score, "final": self.final, "penalty": self.penalty,
                "days_late": self.days_late, "late_days_used": self.late_days_used,
                "late_days_left": late_days_left, "waived": self.waived, "note": self.note, "source": self.source,
                "submitted": _shown(self.when), "due": _shown(self.due)}


def _shown(when: datetime | None) -> str:
    return when.isoformat(timespec="minutes") if when else ""


def submission_time(policy: Policy, attempt: Attempt, student: str, use_mtime: bool = False
                    ) -> tuple[datetime | None, str, int | None]:
    """(time, source, days late when the source gives days and no time): the precedence of the module doc."""
    try:
        when = parse_time(attempt.submitted_at, policy.zone)
    except ValueError:
        when = None
    if when is not None:
        return when, "submitted_at", None
    if attempt.late_mark is not None:
        return None, "lms", policy.canvas_late_days if attempt.late_mark else 0
    if (use_mtime or policy.use_mtime) and attempt.mtime is not None:
        return datetime.fromtimestamp(attempt.mtime, UTC), "mtime", None
    return None, "none", None


def days_late(policy: Policy, attempt: Attempt, student: str, use_mtime: bool = False
              ) -> tuple[int, datetime | None, str, datetime | None, str]:
    """(days late, time used, source, due date, note) before late days."""
    due = policy.due(attempt.assignment, student)
    when, source, days = submission_time(policy, attempt, student, use_mtime)
    if not attempt.submitted:
        return 0, when, source, due, ""
    if days is not None:
        extended = attempt.assignment in policy.exceptions.get(student, StudentException()).due
        if extended and days:
            return 0, when, source, due, "the LMS's late mark is ignored: this student has an extended due date"
        return days, when, source, due, "late by the LMS's mark (no time)" if days else ""
    if when is None or due is None:
        return 0, when, source, due, "" if due else "no due date in the policy"
    lateness = when - due
    if lateness <= policy.grace:
        return 0, when, source, due, ""
    return math.ceil(lateness / DAY), when, source, due, ""


def penalty_points(policy: Policy, raw: float, max_score: float, days: int) -> float:
    if days <= 0:
        return 0.0
    percent = min(days * policy.per_day, policy.cap)
    base = raw if policy.of_score else max_score
    return round(min(raw, base * percent / 100.0), 2)


def apply_policy(policy: Policy, student: str, attempts: list[Attempt], use_mtime: bool = False
                 ) -> tuple[dict[str, LateOutcome], int]:
    """Every assignment's outcome for one student, with late days spent; returns (outcomes, late days left).
    ``attempts`` may come in any order: late days follow the due dates (assignments without one last, by id)."""
    waived = policy.exceptions.get(student, StudentException()).waived
    far = datetime.max.replace(tzinfo=UTC)
    ordered = sorted(attempts, key=lambda a: (policy.due(a.assignment, student) or far, a.assignment))
    facts = {a.assignment: days_late(policy, a, student, use_mtime) for a in ordered}
    late = [a for a in ordered if a.assignment not in waived  # only where a late day saves points
            and penalty_points(policy, a.raw, a.max_score, facts[a.assignment][0]) > 0]
    budget = max(0, policy.budget(student))
    spend = _best(policy, late, facts, budget) if policy.order == "best" else _in_due_order(late, facts, budget)
    outcomes = {}
    for a in ordered:
        days, when, source, due, note = facts[a.assignment]
        is_waived = a.assignment in waived
        used = spend.get(a.assignment, 0)
        penalty = 0.0 if is_waived else penalty_points(policy, a.raw, a.max_score, days - used)
        if is_waived and days:
            note = "late penalty waived"
        outcomes[a.assignment] = LateOutcome(a.assignment, a.raw, a.max_score, a.submitted, when, source, due, days,
                                             used, penalty, max(0.0, round(a.raw - penalty, 2)), is_waived, note)
    return outcomes, budget - sum(spend.values())


def _in_due_order(late: list[Attempt], facts: dict, budget: int) -> dict[str, int]:
    spend = {}
    for a in late:
        used = min(budget, facts[a.assignment][0])
        if used:
            spend[a.assignment] = used
        budget -= used
    return spend


def _best(policy: Policy, late: list[Attempt], facts: dict, budget: int) -> dict[str, int]:
    """The allocation of at most ``budget`` days that saves the most points (exact; a knapsack over few items).
    Ties: fewer days spent, then the earlier assignments get them."""
    best: dict[int, tuple[float, int, tuple[int, ...]]] = {0: (0.0, 0, ())}  # days used -> (saved, -, allocation)
    for a in late:
        days = facts[a.assignment][0]
        full = penalty_points(policy, a.raw, a.max_score, days)
        step: dict[int, tuple[float, int, tuple[int, ...]]] = {}
        for used_before, (saved, _, alloc) in best.items():
            for k in range(0, min(days, budget - used_before) + 1):
                gain = round(full - penalty_points(policy, a.raw, a.max_score, days - k), 2)
                total = used_before + k
                candidate = (round(saved + gain, 2), -total, (*alloc, k))
                if total not in step or _better(candidate, step[total]):
                    step[total] = candidate
        best = step
    saved, _, alloc = max(best.values(), key=lambda c: (c[0], c[1], tuple(c[2])))
    return {a.assignment: k for a, k in zip(late, alloc, strict=True) if k}


def _better(a: tuple[float, int, tuple[int, ...]], b: tuple[float, int, tuple[int, ...]]) -> bool:
    return (a[0], a[1], a[2]) > (b[0], b[1], b[2])
