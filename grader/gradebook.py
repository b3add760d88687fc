"""The course gradebook: every grading run recorded in SQLite, and the semester read back from it.

``grader grade`` records each assignment's batch in ``<out>/gradebook.sqlite`` (``--db``), one transaction per
batch: the run (when, assignment, grader version, secret id, course digest), every submission (student, name,
the journal's content hash of the file graded, submission time and late mark from the intake, the file's
modification time, status, score), every problem (with its version, a hash of its module and the course modules
it imports) and every case (kind, outcome, cause). Nothing is ever updated or deleted: a resubmission, or a
regrade after a course change, is a new row in the student's history.

``grader gradebook`` reads it: for every student and assignment the **latest** submission (the latest run in which
the student had a file; a later run without one does not erase it), the late policy (:mod:`grader.late`) applied
over the semester, printed as a table and written as ``gradebook.csv`` and ``canvas.csv`` (Canvas's gradebook
import format); ``--student ID`` prints one student's history.

The database is the standard library's ``sqlite3`` in WAL mode; every query is parameterised.
"""

from __future__ import annotations

import sqlite3
import zipfile
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .errors import GraderError
from .late import NO_POLICY, Attempt, LateOutcome, Policy, apply_policy, days_late
from .results import BatchResult
from .spec import Assignment

SCHEMA_VERSION = 1
DB_NAME = "gradebook.sqlite"
POINTS_POSSIBLE = "    Points Possible"  # as Canvas's own export writes it (4 spaces)
CANVAS_INFO = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    graded_at TEXT NOT NULL,            -- ISO 8601, UTC
    assignment TEXT NOT NULL,
    title TEXT NOT NULL,
    max_score REAL NOT NULL,
    grader_version TEXT NOT NULL,
    secret_id TEXT NOT NULL,
    course_digest TEXT NOT NULL,
    isolation TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    student TEXT NOT NULL,
    name TEXT NOT NULL,
    content_sha TEXT,                   -- the journal fingerprint's submission sha (NULL: nothing was read)
    submitted_at TEXT NOT NULL,         -- from the intake ("" unknown)
    late INTEGER,                       -- the LMS's late mark: 1, 0, NULL (it says nothing)
    file_mtime REAL,                    -- the file's modification time (seconds since the epoch), NULL unknown
    file TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS problem_results (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    problem TEXT NOT NULL,
    version TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    points REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS case_results (
    problem_result_id INTEGER NOT NULL REFERENCES problem_results(id),
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL,
    cause TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_student ON submissions(student, run_id);
CREATE INDEX IF NOT EXISTS submissions_run ON submissions(run_id);
CREATE INDEX IF NOT EXISTS problem_results_submission ON problem_results(submission_id);
CREATE INDEX IF NOT EXISTS case_results_problem ON case_results(problem_result_id);
"""


def connect(path: Path, create: bool = True) -> sqlite3.Connection:
    """The gradebook at ``path`` (created with its schema when ``create``), in WAL mode, autocommit: callers
    open their own transactions."""
    if not create and not path.is_file():
        raise GraderError(f"no gradebook at {path}: `grader grade` writes it (--db chooses another file)")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(SCHEMA)
        found = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        if found is None:
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        elif found > SCHEMA_VERSION:
            conn.close()
            raise GraderError(f"{path} was written by a newer grader (gradebook schema {found}; this one reads "
                              f"{SCHEMA_VERSION})")
    except sqlite3.DatabaseError as exc:
        raise GraderError(f"{path} is not a gradebook this grader can open ({exc})") from None
    return conn


def file_times(entries: Iterable, folder: Path, given: Path) -> dict[str, float]:
    """Each intake entry's file modification time (seconds since the epoch): from the file, or for a .zip from
    its member's timestamp (local time, as zip files store it)."""
    times: dict[str, float] = {}
    archive = None
    try:
        if given != folder and zipfile.is_zipfile(given):
            archive = zipfile.ZipFile(given)
        for entry in entries:
            if entry.file is None:
                continue
            try:
                if archive is not None:
                    info = archive.getinfo(entry.file.relative_to(folder).as_posix())
                    times[entry.student] = datetime(*info.date_time).timestamp()
                else:
                    times[entry.student] = entry.file.stat().st_mtime
            except (OSError, KeyError, ValueError):
                continue
    except (OSError, zipfile.BadZipFile):
        pass
    finally:
        if archive is not None:
            archive.close()
    return times


def record_batch(db: Path, batch: BatchResult, assignment: Assignment, target: Path,
                 problems_dir: Path | None = None, mtimes: dict[str, float] | None = None) -> int:
    """Record one assignment's batch (graded into ``target``, whose journal holds the content hashes) in one
    transaction; returns the run's id."""
    from .batch import Journal, problem_versions, problems_digest

    versions = problem_versions(assignment, problems_dir)
    try:
        digest = problems_digest(problems_dir)
    except Exception:  # noqa: BLE001 - recorded as unknown rather than lose the run
        digest = ""
    journal = Journal(target, fresh=False)
    mtimes = mtimes or {}
    with closing(connect(db)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
            run = conn.execute(
                "INSERT INTO runs (graded_at, assignment, title, max_score, grader_version, secret_id, course_digest,"
                " isolation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (datetime.now(UTC).isoformat(timespec="seconds"), batch.assignment, batch.title, batch.max_score,
                 batch.grader_version, batch.secret_id, digest, batch.isolation)).lastrowid
            for s in batch.submissions:
                sha = journal.submission_sha(s.student, s.fingerprint) if s.fingerprint else None
                sub = conn.execute(
                    "INSERT INTO submissions (run_id, student, name, content_sha, submitted_at, late, file_mtime, file,"
                    " status, score, max_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run, s.student, s.name, sha, s.submitted_at, None if s.late is None else int(s.late),
                     mtimes.get(s.student) if s.status != "no_submission" else None, s.file, s.status, s.score,
                     s.max_score)).lastrowid
                for p in s.problems:
                    row = conn.execute(
                        "INSERT INTO problem_results (submission_id, problem, version, status, score, points)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (sub, p.id, versions.get(p.id, ""), p.status, p.score, p.points)).lastrowid
                    conn.executemany(
                        "INSERT INTO case_results (problem_result_id, case_id, kind, outcome, cause)"
                        " VALUES (?, ?, ?, ?, ?)", [(row, c.id, c.kind, c.outcome, c.cause) for c in p.cases])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return run


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class Row:
    """One student's submission in one run."""

    run: int
    graded_at: str
    assignment: str
    course_digest: str
    grader_version: str
    student: str
    name: str
    content_sha: str | None
    submitted_at: str
    late: bool | None
    mtime: float | None
    status: str
    score: float
    max_score: float

    @property
    def submitted(self) -> bool:
        return self.status != "no_submission"

    def attempt(self) -> Attempt:
        return Attempt(self.assignment, self.score, self.max_score, self.submitted, self.submitted_at, self.late,
                       self.mtime)


_ROWS = ("SELECT r.id, r.graded_at, r.assignment, r.course_digest, r.grader_version, s.student, s.name, s.content_sha,"
         " s.submitted_at, s.late, s.file_mtime, s.status, s.score, s.max_score"
         " FROM submissions s JOIN runs r ON r.id = s.run_id")


def _row(values: tuple) -> Row:
    *head, late, mtime, status, score, max_score = values
    return Row(*head, None if late is None else bool(late), mtime, status, score, max_score)


def history(conn: sqlite3.Connection, student: str) -> list[Row]:
    return [_row(v) for v in conn.execute(_ROWS + " WHERE s.student = ? ORDER BY r.assignment, r.id", (student,))]


@dataclass(frozen=True)
class Column:
    assignment: str
    title: str
    max_score: float


@dataclass
class Semester:
    columns: list[Column]
    students: list[str]
    names: dict[str, str]
    latest: dict[tuple[str, str], Row]  # (student, assignment) -> the row the gradebook uses
    outcomes: dict[str, dict[str, LateOutcome]]  # student -> assignment -> outcome
    late_days_left: dict[str, int]
    policy: Policy = NO_POLICY
    notes: list[str] = field(default_factory=list)

    def total(self, student: str) -> float:
        return round(sum(o.final for o in self.outcomes[student].values()), 2)

    @property
    def max_total(self) -> float:
        return sum(c.max_score for c in self.columns)


def semester(conn: sqlite3.Connection, policy: Policy = NO_POLICY, use_mtime: bool = False) -> Semester:
    """Every student's latest submission of every assignment, with the late policy applied."""
    far = datetime.max.replace(tzinfo=UTC)
    titles = {a: (t, m) for a, t, m in conn.execute(
        "SELECT assignment, title, max_score FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY assignment)")}
    columns = [Column(a, t, m) for a, (t, m) in
               sorted(titles.items(), key=lambda item: (policy.due(item[0]) or far, item[0]))]
    latest: dict[tuple[str, str], Row] = {}
    names: dict[str, str] = {}
    for values in conn.execute(_ROWS + " ORDER BY r.id, s.id"):
        row = _row(values)
        key = (row.student, row.assignment)
        if row.submitted or key not in latest or not latest[key].submitted:  # a later absence erases nothing
            latest[key] = row
        if row.name:
            names[row.student] = row.name
    students = sorted({s for s, _ in latest})
    outcomes, left = {}, {}
    for student in students:
        attempts = [latest[(student, c.assignment)].attempt() if (student, c.assignment) in latest
                    else Attempt(c.assignment, 0.0, c.max_score, submitted=False) for c in columns]
        outcomes[student], left[student] = apply_policy(policy, student, attempts, use_mtime)
    return Semester(columns, students, names, latest, outcomes, left, policy)


def _num(value: float) -> str:
    return f"{round(value, 2):.2f}".rstrip("0").rstrip(".")


def gradebook_rows(sem: Semester) -> list[list[object]]:
    """``gradebook.csv``: per assignment its status, raw score, days late, late days used, penalty and final."""
    head: list[object] = ["student", "name"]
    for c in sem.columns:
        head += [f"{c.assignment} status", f"{c.assignment} raw", f"{c.assignment} days late",
                 f"{c.assignment} late days used", f"{c.assignment} penalty", f"{c.assignment} final"]
    rows = [[*head, "total", "max", "late days used", "late days left"]]
    for student in sem.students:
        row: list[object] = [student, sem.names.get(student, "")]
        for c in sem.columns:
            o = sem.outcomes[student][c.assignment]
            found = sem.latest.get((student, c.assignment))
            row += [found.status if found else "absent", _num(o.raw) if o.submitted else "", o.days_late,
                    o.late_days_used, _num(o.penalty), _num(o.final)]
        used = sum(o.late_days_used for o in sem.outcomes[student].values())
        rows.append([*row, _num(sem.total(student)), _num(sem.max_total), used, sem.late_days_left[student]])
    return rows


def canvas_rows(sem: Semester) -> tuple[list[list[object]], list[str]]:
    """Canvas's gradebook import (canvas-lms ``lib/gradebook_importer.rb``): ``Student,ID,SIS User ID,SIS Login
    ID,Section`` then one ``Title (canvas id)`` column per assignment, a ``Points Possible`` row, one row per
    student with the final score (blank: no submission, Canvas leaves the grade alone). Students are matched by
    Canvas user id (numeric: the Canvas layout's ids); other ids go in SIS Login ID. Returns (rows, notes)."""
    notes = []
    head: list[object] = list(CANVAS_INFO)
    for c in sem.columns:
        spec = sem.policy.assignments.get(c.assignment)
        title = (spec.title if spec and spec.title else c.title).strip()
        if spec and spec.canvas_id:
            head.append(f"{title} ({spec.canvas_id})")
        else:
            head.append(title)
            notes.append(f"{c.assignment}: no canvas_id in the policy ([assignments.{c.assignment}] canvas_id = ...): "
                         f"Canvas matches the column {title!r} by its exact title and creates a new assignment "
                         "when no title matches")
    rows: list[list[object]] = [head, [POINTS_POSSIBLE, "", "", "", "", *(_num(c.max_score) for c in sem.columns)]]
    others = []
    for student in sem.students:
        canvas_id = student.isdigit()
        if not canvas_id:
            others.append(student)
        cells: list[object] = [sem.names.get(student) or student, student if canvas_id else "", "",
                               "" if canvas_id else student, ""]
        for c in sem.columns:
            o = sem.outcomes[student][c.assignment]
            cells.append(_num(o.final) if o.submitted else "")
        rows.append(cells)
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        notes.append(f"{len(others)} student id(s) are not numeric Canvas user ids ({shown}): they are written in "
                     "the SIS Login ID column, and Canvas matches them only if they are the students' SIS login "
                     "ids (grade from Canvas's own download to get Canvas ids)")
    return rows, notes


def write_files(sem: Semester, out_dir: Path) -> tuple[list[Path], list[str]]:
    from .render.csvsafe import write_csv

    gradebook, canvas = out_dir / "gradebook.csv", out_dir / "canvas.csv"
    write_csv(gradebook, gradebook_rows(sem))
    rows, notes = canvas_rows(sem)
    write_csv(canvas, rows)
    return [gradebook, canvas], notes


def write_late_pages(sem: Semester, out_dir: Path) -> int:
    """Add the late summary to the student pages of ``out_dir/<assignment>/`` (re-rendered from its
    results.json) where the page's result is the one the gradebook uses; returns how many pages."""
    from .batch import STATE_DIR, atomic_write, safe_name
    from .render.reports import student_page
    from .results import NOT_A_RESULT
    from .spool import read_results, release

    written = 0
    for c in sem.columns:
        path = out_dir / c.assignment / "results.json"
        try:  # line by line into a spool, as `grader report` reads it: memory flat in the class's size
            batch = read_results(path, out_dir / c.assignment / STATE_DIR)
        except (OSError, *NOT_A_RESULT):
            continue
        try:
            for s in batch.submissions:
                row = sem.latest.get((s.student, c.assignment))
                if (s.status == "no_submission" or row is None or row.status != s.status
                        or abs(row.score - s.score) > 5e-3):
                    continue
                late = sem.outcomes[s.student][c.assignment].summary(sem.late_days_left[s.student])
                atomic_write(out_dir / c.assignment / "students" / f"{safe_name(s.student)}.html",
                             student_page(batch, s, "../index.html", late=late))
                written += 1
        finally:
            release(batch)
    return written


# ------------------------------------------------------------------ terminal


def print_semester(console, sem: Semester) -> None:
    from rich import box
    from rich.table import Table

    from .render.console import markup_of

    table = Table(box=box.ROUNDED, title=f"gradebook: {len(sem.students)} students, {len(sem.columns)} assignments")
    table.add_column("student", overflow="fold")
    table.add_column("name", overflow="fold")
    for c in sem.columns:
        table.add_column(f"{c.assignment}\n/{_num(c.max_score)}", justify="right")
    table.add_column(f"total\n/{_num(sem.max_total)}", justify="right")
    table.add_column("late days\nleft", justify="right")
    for student in sem.students:
        cells = []
        for c in sem.columns:
            o = sem.outcomes[student][c.assignment]
            if not o.submitted:
                cells.append("[dim]–[/]")
                continue
            text = _num(o.final)
            if o.days_late:
                detail = f"{o.days_late}d late"
                if o.late_days_used:
                    detail += f", {o.late_days_used} used"
                if o.penalty:
                    detail += f", −{_num(o.penalty)}"
                if o.waived:
                    detail += ", waived"
                text += f"\n[yellow]{detail}[/]"
            cells.append(text)
        table.add_row(markup_of(student), markup_of(sem.names.get(student, "")), *cells, _num(sem.total(student)),
                      str(sem.late_days_left[student]))
    console.print(table)


def print_history(console, conn: sqlite3.Connection, student: str, sem: Semester, use_mtime: bool = False) -> None:
    """Every run of every assignment for ``student``, resubmissions marked, then the semester's standing."""
    from rich import box
    from rich.table import Table

    from .render.console import markup_of

    rows = history(conn, student)
    if not rows:
        raise GraderError(f"the gradebook has no student {student!r}")
    name = sem.names.get(student, "")
    console.print(f"[bold]{markup_of(student)}[/]" + (f"  {markup_of(name)}" if name else ""))
    order = {c.assignment: i for i, c in enumerate(sem.columns)}
    table = Table(box=box.ROUNDED, title="every run")
    for column in ("assignment", "graded at", "file (sha)", "what changed", "submitted", "status", "score",
                   "days late"):
        table.add_column(column, justify="right" if column in ("score", "days late") else "left")
    previous: dict[str, Row] = {}
    for row in sorted(rows, key=lambda r: (order.get(r.assignment, len(order)), r.assignment, r.run)):
        before = previous.get(row.assignment)
        if not row.submitted:
            change = "no submission"
        elif before is None or not before.submitted:
            change = "first submission"
        elif row.content_sha != before.content_sha:
            change = "[bold]resubmitted[/]"
        elif row.course_digest != before.course_digest:
            change = "regraded: the course changed"
        elif row.grader_version != before.grader_version:
            change = "regraded: new grader"
        else:
            change = "same file"
        days = days_late(sem.policy, row.attempt(), student, use_mtime)[0] if row.submitted else 0
        submitted = row.submitted_at or ({True: "LATE (LMS)", False: "on time (LMS)"}.get(row.late) or "")
        table.add_row(row.assignment, row.graded_at.replace("T", " "), (row.content_sha or "")[:12], change,
                      markup_of(submitted), row.status, f"{_num(row.score)}/{_num(row.max_score)}", str(days))
        previous[row.assignment] = row
    console.print(table)
    standing = Table(box=box.ROUNDED, title="in the gradebook (latest submission, late policy applied)")
    for column in ("assignment", "raw", "days late", "late days used", "penalty", "final", "note"):
        standing.add_column(column, justify="left" if column in ("assignment", "note") else "right")
    for c in sem.columns:
        o = sem.outcomes[student][c.assignment]
        standing.add_row(c.assignment, _num(o.raw) if o.submitted else "–", str(o.days_late), str(o.late_days_used),
                         _num(o.penalty), f"{_num(o.final)}/{_num(c.max_score)}", markup_of(o.note))
    console.print(standing)
    used = sum(o.late_days_used for o in sem.outcomes[student].values())
    console.print(f"total {_num(sem.total(student))}/{_num(sem.max_total)}; late days used {used}, "
                  f"left {sem.late_days_left[student]}")


def run_gradebook(db: Path, out_dir: Path, policy_path: Path | None = None, student: str | None = None,
                  use_mtime: bool = False) -> None:
    """``grader gradebook``: the semester table and files, or one student's history."""
    from .late import load_policy
    from .render.console import make_console

    console = make_console()
    policy = load_policy(policy_path) if policy_path else NO_POLICY
    with closing(connect(db, create=False)) as conn:
        sem = semester(conn, policy, use_mtime)
        if student is not None:
            print_history(console, conn, student, sem, use_mtime)
            return
    if not sem.students:
        raise GraderError(f"the gradebook {db} records no submission yet")
    print_semester(console, sem)
    paths, notes = write_files(sem, out_dir)
    for note in notes:
        console.print(f"note: {note}", style="yellow", markup=False, soft_wrap=True)
    if policy_path:
        pages = write_late_pages(sem, out_dir)
        if pages:
            console.print(f"late summary added to {pages} student page(s) under {out_dir}")
    console.print("wrote " + ", ".join(str(p) for p in paths), markup=False, soft_wrap=True)
