"""The course gradebook: recording runs in SQLite, resubmission history, the late policy, Canvas's import CSV,
the `grader gradebook` command and the per-problem journal (a changed problem re-runs only that problem)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from toy import COURSE, GOOD  # tests/, on sys.path under pytest

from grader.batch import BatchOptions, grade_batch, problem_versions
from grader.cli import main
from grader.errors import GraderError
from grader.gradebook import (
    CANVAS_INFO,
    POINTS_POSSIBLE,
    SCHEMA_VERSION,
    canvas_rows,
    connect,
    history,
    record_batch,
    semester,
    write_files,
)
from grader.late import Attempt, apply_policy, load_policy, parse_time, policy_from_dict
from grader.loader import load_assignment
from grader.render.csvsafe import ENCODING
from grader.sandbox.inprocess import InProcessRunner
from grader.submission import read_submission

WRONG = GOOD.replace("return 2 * x", "return x + 2")  # double fails, the rest passes: 4/10


class SpyRunner(InProcessRunner):
    """Counts the calls of every job by function, and the jobs."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.jobs = 0

    def submit(self, job):
        self.jobs += 1
        self.calls.update(c.function for c in job.calls)
        return super().submit(job)


def make_class(root: Path, sources: dict[str, str]) -> Path:
    subs = root / "subs"
    for student, source in sources.items():
        (subs / student).mkdir(parents=True, exist_ok=True)
        if source is not None:
            (subs / student / "toy.py").write_text(source)
    return subs


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A copy of the toy course, free to change."""
    copy = tmp_path / "course"
    shutil.copytree(COURSE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def grade_and_record(course: Path, subs: Path, out: Path, runner=None, db: Path | None = None):
    assignment = load_assignment("toy", course)
    target = out / "toy"
    batch = grade_batch(assignment, subs, target, "gradebook-secret", runner or InProcessRunner(), 1,
                        BatchOptions(problems_dir=course))
    record_batch(db or out / "gradebook.sqlite", batch, assignment, target, course)
    return batch


# ------------------------------------------------------------------ recording


def test_a_batch_is_recorded_run_submissions_problems_cases(tmp_path: Path, course: Path) -> None:
    subs = make_class(tmp_path, {"101": GOOD, "102": WRONG, "103": None})
    batch = grade_and_record(course, subs, tmp_path / "out")
    db = tmp_path / "out" / "gradebook.sqlite"
    with closing(sqlite3.connect(db)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"schema_version", "runs", "submissions", "problem_results", "case_results"} <= tables
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        (run,) = conn.execute("SELECT assignment, grader_version, secret_id, course_digest FROM runs").fetchall()
        assert run[0] == "toy" and run[1] == batch.grader_version and run[2] == batch.secret_id and len(run[3]) == 64
        rows = {r[0]: r[1:] for r in conn.execute("SELECT student, status, score, max_score, content_sha FROM "
                                                  "submissions")}
        assert rows["101"][:3] == ("graded", 10.0, 10.0) and rows["102"][:2] == ("graded", 4.0)
        assert rows["103"] == ("no_submission", 0.0, 10.0, None)
        assert rows["101"][3] == read_submission(subs / "101" / "toy.py", "101").sha256  # the journal's sha
        versions = problem_versions(load_assignment("toy", course), course)
        problems = conn.execute("SELECT p.problem, p.version, p.score, p.points FROM problem_results p JOIN "
                                "submissions s ON s.id = p.submission_id WHERE s.student = '102'").fetchall()
        assert [(p, v) for p, v, _, _ in problems] == [(k, versions[k]) for k in ("double", "halves", "ANSWERS")]
        assert problems[0][2:] == (0.0, 6.0)
        cases = conn.execute("SELECT c.case_id, c.kind, c.outcome, c.cause FROM case_results c JOIN problem_results p"
                             " ON p.id = c.problem_result_id JOIN submissions s ON s.id = p.submission_id WHERE "
                             "s.student = '102' AND p.problem = 'double'").fetchall()
        expected = [(c.id, c.kind, c.outcome, c.cause) for c in batch.submissions[1].problems[0].cases]
        assert cases == expected and {k for _, k, _, _ in cases} == {"example", "public", "hidden"}
        assert any(cause.startswith("mistake:") for *_, cause in cases)


def test_a_gradebook_from_a_newer_grader_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "g.sqlite"
    connect(db).close()
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(GraderError, match="newer grader"):
        connect(db)
    with pytest.raises(GraderError, match="no gradebook"):
        connect(tmp_path / "missing.sqlite", create=False)


def test_a_resubmission_is_a_new_row_and_the_gradebook_uses_the_latest(tmp_path: Path, course: Path) -> None:
    subs = make_class(tmp_path, {"101": GOOD, "102": WRONG})
    spy = SpyRunner()
    grade_and_record(course, subs, tmp_path / "out", spy)
    assert spy.jobs == 2
    (subs / "102" / "toy.py").write_text(GOOD)  # 102 resubmits
    grade_and_record(course, subs, tmp_path / "out", spy)
    assert spy.jobs == 3  # only the resubmission was graded again
    with closing(connect(tmp_path / "out" / "gradebook.sqlite")) as conn:
        rows = history(conn, "102")
        assert [(r.run, r.score) for r in rows] == [(1, 4.0), (2, 10.0)]
        assert rows[0].content_sha != rows[1].content_sha
        unchanged = history(conn, "101")
        assert unchanged[0].content_sha == unchanged[1].content_sha
        sem = semester(conn)
        assert sem.outcomes["102"]["toy"].final == 10.0 and sem.latest[("102", "toy")].run == 2
    shutil.rmtree(subs / "102")  # a later run without 102's file does not erase the grade
    (subs / "102").mkdir()
    grade_and_record(course, subs, tmp_path / "out", spy)
    with closing(connect(tmp_path / "out" / "gradebook.sqlite")) as conn:
        assert [r.status for r in history(conn, "102")] == ["graded", "graded", "no_submission"]
        assert semester(conn).outcomes["102"]["toy"].final == 10.0


# ------------------------------------------------------------------ the per-problem journal


def test_a_changed_problem_regrades_only_that_problem(tmp_path: Path, course: Path) -> None:
    subs = make_class(tmp_path, {"101": GOOD, "102": WRONG, "103": "def double(x:\n"})
    spy = SpyRunner()
    first = grade_and_record(course, subs, tmp_path / "out", spy)
    assert set(spy.calls) == {"double", "halves"}
    spy.calls.clear()
    grade_and_record(course, subs, tmp_path / "out", spy)
    assert not spy.calls  # nothing changed: nothing runs
    halves = course / "toy" / "halves.py"
    halves.write_text(halves.read_text() + "\n# a comment: the problem's version changes\n")
    spy.jobs = 0
    again = grade_and_record(course, subs, tmp_path / "out", spy)
    # every student ran again, but only halves's cases: 1 example + 1 public + 2 hidden each
    assert spy.jobs == 3 and set(spy.calls) == {"halves"} and spy.calls["halves"] == 3 * 4
    for before, after in zip(first.submissions, again.submissions, strict=True):
        assert (after.status, after.score, after.max_score) == (before.status, before.score, before.max_score)
        assert [p.id for p in after.problems] == [p.id for p in before.problems]
        assert after.problems[0].cases == before.problems[0].cases  # reused as they were
    assert again.submissions[2].status == "not_imported"
    with closing(connect(tmp_path / "out" / "gradebook.sqlite")) as conn:
        versions = conn.execute("SELECT DISTINCT r.id, p.problem, p.version FROM problem_results p JOIN submissions "
                                "s ON s.id = p.submission_id JOIN runs r ON r.id = s.run_id WHERE p.problem = 'halves'"
                                " ORDER BY r.id").fetchall()
        assert versions[0][2] == versions[1][2] != versions[2][2]
    spy.calls.clear()
    grade_and_record(course, subs, tmp_path / "out", spy)
    assert not spy.calls  # the merged result was journalled under the new versions


def test_a_shared_module_changes_every_problem_that_imports_it(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(COURSE, course, ignore=shutil.ignore_patterns("__pycache__"))
    (course / "toy" / "helpers.py").write_text("FACTOR = 2\n")
    double = course / "toy" / "double.py"
    double.write_text(double.read_text().replace("from grader.checks import Close",
                                                 "from grader.checks import Close\n\nfrom .helpers import FACTOR"))
    assignment = load_assignment("toy", course)
    before = problem_versions(assignment, course)
    (course / "toy" / "helpers.py").write_text("FACTOR = 2  # changed\n")
    after = problem_versions(assignment, course)
    assert before["double"] != after["double"] and before["halves"] == after["halves"]


# ------------------------------------------------------------------ the late policy

POLICY = {
    "grace_minutes": 10, "penalty_per_day": 10, "max_penalty": 30, "late_days": 2,
    "assignments": {"hw1": {"due": "2025-02-01T23:59:00-05:00"}, "hw2": {"due": "2025-02-08T23:59:00-05:00"},
                    "hw3": {"due": "2025-02-15T23:59:00-05:00"}},
}


def attempt(assignment: str, raw: float = 80, submitted_at: str = "", late: bool | None = None,
            mtime: float | None = None) -> Attempt:
    return Attempt(assignment, raw, 100, True, submitted_at, late, mtime)


def test_times_as_lms_write_them() -> None:
    assert parse_time("2024-03-01 10:00:00.000000000 -08:00") == datetime(2024, 3, 1, 18, 0, tzinfo=UTC)
    assert parse_time("2024-01-01 00:00:00 Z") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_time("2025-02-01T23:59:00-0500") == datetime(2025, 2, 2, 4, 59, tzinfo=UTC)
    assert parse_time("") is None and parse_time(None) is None
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_grace_per_day_penalty_and_cap() -> None:
    policy = policy_from_dict({**POLICY, "late_days": 0})
    cases = {
        "2025-02-01T23:59:00-05:00": (0, 0.0),  # on time
        "2025-02-02T00:08:59-05:00": (0, 0.0),  # within the 10 minutes of grace
        "2025-02-02T00:10:01-05:00": (1, 10.0),  # past the grace: a started day counts
        "2025-02-02T23:59:00-05:00": (1, 10.0),  # exactly one day
        "2025-02-03T00:00:00-05:00": (2, 20.0),
        "2025-02-10T00:00:00-05:00": (9, 30.0),  # the cap: at most 30 % lost
    }
    for when, (days, penalty) in cases.items():
        outcome = apply_policy(policy, "s", [attempt("hw1", submitted_at=when)])[0]["hw1"]
        assert (outcome.days_late, outcome.penalty, outcome.final) == (days, penalty, 80 - penalty), when
    low = apply_policy(policy, "s", [attempt("hw1", raw=5, submitted_at="2025-02-05T00:00:00Z")])[0]["hw1"]
    assert low.penalty == 5 and low.final == 0  # never below 0 points
    of_score = policy_from_dict({**POLICY, "late_days": 0, "penalty_of": "score"})
    outcome = apply_policy(of_score, "s", [attempt("hw1", raw=50, submitted_at="2025-02-02T12:00:00-05:00")])[0]
    assert outcome["hw1"].penalty == 5.0  # 10 % of the raw score


def test_late_days_are_spent_in_due_order() -> None:
    policy = policy_from_dict(POLICY)  # 2 free late days
    attempts = [attempt("hw3", submitted_at="2025-02-17T12:00:00-05:00"),  # 2 days late
                attempt("hw1", submitted_at="2025-02-02T12:00:00-05:00"),  # 1 day late
                attempt("hw2")]  # no time known: on time
    outcomes, left = apply_policy(policy, "s", attempts)
    assert (outcomes["hw1"].days_late, outcomes["hw1"].late_days_used, outcomes["hw1"].penalty) == (1, 1, 0)
    assert (outcomes["hw3"].days_late, outcomes["hw3"].late_days_used, outcomes["hw3"].penalty) == (2, 1, 10)
    assert outcomes["hw2"].late_days_used == 0 and left == 0


def test_best_order_spends_late_days_where_they_save_most() -> None:
    data = {**POLICY, "late_days": 1}
    attempts = [attempt("hw1", raw=20, submitted_at="2025-02-02T12:00:00-05:00"),  # 1 day late, penalty 10
                attempt("hw2", raw=4, submitted_at="2025-02-09T12:00:00-05:00")]  # 1 day late, penalty 4 (raw)
    due = apply_policy(policy_from_dict(data), "s", attempts)[0]
    assert due["hw1"].late_days_used == 1 and due["hw2"].penalty == 4
    data["late_days"] = 1
    attempts[0] = attempt("hw1", raw=5, submitted_at="2025-02-02T12:00:00-05:00")  # penalty 5 only
    attempts[1] = attempt("hw2", raw=90, submitted_at="2025-02-09T12:00:00-05:00")  # penalty 10
    due = apply_policy(policy_from_dict(data), "s", attempts)[0]
    best = apply_policy(policy_from_dict({**data, "late_days_order": "best"}), "s", attempts)[0]
    assert due["hw1"].late_days_used == 1 and due["hw2"].late_days_used == 0
    assert best["hw1"].late_days_used == 0 and best["hw2"].late_days_used == 1
    assert best["hw1"].final + best["hw2"].final > due["hw1"].final + due["hw2"].final
    capped = apply_policy(policy_from_dict({**data, "late_days": 3, "late_days_order": "best"}), "s",
                          [attempt("hw1", submitted_at="2025-02-10T12:00:00-05:00")])  # 9 days: capped at 30 %
    assert capped[0]["hw1"].late_days_used == 0 and capped[1] == 3  # a day would save nothing


def test_exceptions_extend_waive_and_change_the_budget() -> None:
    policy = policy_from_dict({**POLICY, "exceptions": {
        "ann": {"late_days": 0, "hw1": {"due": "2025-02-04T23:59:00-05:00"}, "hw2": {"waived": True}}}})
    outcomes, left = apply_policy(policy, "ann", [
        attempt("hw1", submitted_at="2025-02-03T12:00:00-05:00"),  # late for the class, on time for ann
        attempt("hw2", submitted_at="2025-02-12T12:00:00-05:00"),  # 4 days late, waived
        attempt("hw3", submitted_at="2025-02-16T12:00:00-05:00")])  # 1 day late, no late days for ann
    assert outcomes["hw1"].days_late == 0 and outcomes["hw1"].final == 80
    assert outcomes["hw2"].days_late == 4 and outcomes["hw2"].penalty == 0 and outcomes["hw2"].waived
    assert outcomes["hw2"].late_days_used == 0 and "waived" in outcomes["hw2"].note
    assert outcomes["hw3"].penalty == 10 and left == 0
    bob = apply_policy(policy, "bob", [attempt("hw1", submitted_at="2025-02-03T12:00:00-05:00")])[0]
    assert bob["hw1"].days_late == 2 and bob["hw1"].late_days_used == 2


def test_where_the_submission_time_comes_from() -> None:
    policy = policy_from_dict({**POLICY, "late_days": 0})
    stamp = datetime(2025, 2, 3, 12, tzinfo=UTC).timestamp()  # 2 days after hw1's due
    # the intake's time wins over the LMS's mark and the file's time
    found = apply_policy(policy, "s", [attempt("hw1", submitted_at="2025-02-01T12:00:00-05:00", late=True,
                                               mtime=stamp)])[0]["hw1"]
    assert (found.source, found.days_late) == ("submitted_at", 0)
    found = apply_policy(policy, "s", [attempt("hw1", late=True, mtime=stamp)], use_mtime=True)[0]["hw1"]
    assert (found.source, found.days_late, found.penalty) == ("lms", 1, 10)  # Canvas LATE: 1 day
    two = policy_from_dict({**POLICY, "late_days": 0, "canvas_late_days": 2})
    assert apply_policy(two, "s", [attempt("hw1", late=True)])[0]["hw1"].days_late == 2
    assert apply_policy(policy, "s", [attempt("hw1", late=False, mtime=stamp)], use_mtime=True)[0]["hw1"].days_late \
        == 0  # the LMS says on time
    found = apply_policy(policy, "s", [attempt("hw1", mtime=stamp)], use_mtime=True)[0]["hw1"]
    assert (found.source, found.days_late) == ("mtime", 2)
    found = apply_policy(policy, "s", [attempt("hw1", mtime=stamp)])[0]["hw1"]  # no --use-mtime: on time
    assert (found.source, found.days_late, found.final) == ("none", 0, 80)
    assert apply_policy(policy_from_dict({**POLICY, "use_mtime": True}), "s", [attempt("hw1", mtime=stamp)])[0][
        "hw1"].days_late == 2
    extended = policy_from_dict({**POLICY, "exceptions": {"ann": {"hw1": {"due": "2025-02-09T00:00:00Z"}}}})
    assert apply_policy(extended, "ann", [attempt("hw1", late=True)])[0]["hw1"].days_late == 0


def test_a_policy_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "late.toml"
    path.write_text('penalty_per_day = 5\n[assignments.hw1]\ndue = 2025-02-01T23:59:00-05:00\ncanvas_id = 12\n')
    policy = load_policy(path)  # a TOML date-time literal works too
    assert policy.assignments["hw1"].due == datetime(2025, 2, 2, 4, 59, tzinfo=UTC)
    for bad, message in (("penalty = 5", "unknown setting"), ("late_days_order = 'random'", "late_days_order"),
                         ("[assignments.hw1]\ndue = 'friday'", "ISO 8601"), ("timezone = 'Mars/Base'", "timezone"),
                         ("[assignments.hw1]\ncanvas_id = 'abc'", "numeric")):
        path.write_text(bad)
        with pytest.raises(GraderError, match=message):
            load_policy(path)


# ------------------------------------------------------------------ Canvas


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding=ENCODING))))


def test_canvas_csv_follows_canvas_import_format(tmp_path: Path, course: Path) -> None:
    subs = make_class(tmp_path, {"4001": GOOD, "4002": WRONG, "4003": None})
    out = tmp_path / "out"
    grade_and_record(course, subs, out)
    with closing(connect(out / "gradebook.sqlite")) as conn:  # a hostile name, as an LMS download could carry it
        conn.execute("UPDATE submissions SET name = ? WHERE student = '4002'", ("=HYPERLINK(\"http://x\")",))
        policy = policy_from_dict({"assignments": {"toy": {"canvas_id": 98765, "title": "Toy homework"}}})
        _, notes = write_files(semester(conn, policy), out)
    rows = read_csv(out / "canvas.csv")
    assert (out / "canvas.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, like every CSV
    assert rows[0] == [*CANVAS_INFO, "Toy homework (98765)"]
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[1] == [POINTS_POSSIBLE, "", "", "", "", "10"] and rows[1][0] == "    Points Possible"
    by_id = {r[1]: r for r in rows[2:]}
    assert by_id["4001"][5] == "10" and by_id["4002"][5] == "4"
    assert by_id["4002"][0] == "'=HYPERLINK(\"http://x\")"  # cannot start a formula
    assert by_id["4003"][5] == ""  # no submission: blank, Canvas leaves the grade alone
    assert not notes  # numeric Canvas ids, a canvas_id: nothing to say
    book = read_csv(out / "gradebook.csv")
    assert book[0][:8] == ["student", "name", "toy status", "toy raw", "toy days late", "toy late days used",
                           "toy penalty", "toy final"]
    assert book[2][:3] == ["4002", "'=HYPERLINK(\"http://x\")", "graded"]


def test_canvas_csv_says_when_ids_are_not_canvas_ids(tmp_path: Path, course: Path) -> None:
    subs = make_class(tmp_path, {"ann": GOOD, "-bob": WRONG})
    out = tmp_path / "out"
    grade_and_record(course, subs, out)
    with closing(connect(out / "gradebook.sqlite")) as conn:
        rows, notes = canvas_rows(semester(conn))
    assert rows[0] == [*CANVAS_INFO, "Toy assignment"]  # no canvas_id: matched by title
    assert any("canvas_id" in n and "new assignment" in n for n in notes)
    assert any("SIS Login ID" in n and "not numeric Canvas user ids" in n for n in notes)
    by_login = {r[3]: r for r in rows[2:]}
    assert by_login["ann"][1] == "" and by_login["ann"][5] == "10"
    from grader.render.csvsafe import csv_text

    assert "'-bob" in csv_text(rows)  # the id that starts like a formula is neutralised in the file


# ------------------------------------------------------------------ the command


def test_grader_gradebook_after_grader_grade(tmp_path: Path, course: Path) -> None:
    subs = make_class(tmp_path, {"101": GOOD, "102": WRONG})
    os.utime(subs / "101" / "toy.py", (datetime(2025, 1, 30, tzinfo=UTC).timestamp(),) * 2)  # on time
    secret = tmp_path / "secret.key"
    secret.write_text("cli-secret\n")
    runner = CliRunner()
    obj = {"runner": lambda mode, workers: InProcessRunner()}
    grade = ["grade", "toy", str(subs), "--out", str(tmp_path / "out"), "--secret-file", str(secret),
             "--problems", str(course), "--db", str(tmp_path / "course.sqlite")]
    done = runner.invoke(main, grade, obj=obj)
    assert done.exit_code == 0, done.output
    assert (tmp_path / "course.sqlite").is_file() and not (tmp_path / "out" / "gradebook.sqlite").exists()
    (subs / "102" / "toy.py").write_text(GOOD)
    os.utime(subs / "102" / "toy.py", (datetime(2025, 2, 4, tzinfo=UTC).timestamp(),) * 2)
    assert runner.invoke(main, grade, obj=obj).exit_code == 0
    policy = tmp_path / "late.toml"
    policy.write_text('penalty_per_day = 10\nlate_days = 1\n[assignments.toy]\ndue = "2025-02-01T00:00:00Z"\n'
                      'canvas_id = 555\ntitle = "Toy"\n')
    shown = runner.invoke(main, ["gradebook", "--db", str(tmp_path / "course.sqlite"), "--out", str(tmp_path / "out"),
                                 "--policy", str(policy), "--use-mtime"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "gradebook: 2 students" in shown.output and "3d late, 1 used, −2" in shown.output
    book = {r[0]: r for r in read_csv(tmp_path / "out" / "gradebook.csv")[1:]}
    assert book["102"][2:8] == ["graded", "10", "3", "1", "2", "8"]  # 3 days late, 1 late day, 2 x 10 % of 10
    assert book["101"][2:8] == ["graded", "10", "0", "0", "0", "10"] and book["101"][-1] == "1"
    canvas = read_csv(tmp_path / "out" / "canvas.csv")
    assert canvas[0][-1] == "Toy (555)" and canvas[3][:2] == ["102", "102"] and canvas[3][-1] == "8"
    page = (tmp_path / "out" / "toy" / "students" / "102.html").read_text()
    assert 'class="cards late"' in page and "after late policy" in page
    assert not list((tmp_path / "out" / "toy" / ".state").glob("spool-*"))  # read through a spool, removed
    student = runner.invoke(main, ["gradebook", "--db", str(tmp_path / "course.sqlite"), "--student", "102",
                                   "--policy", str(policy), "--use-mtime"], env={"COLUMNS": "200"})
    assert student.exit_code == 0, student.output
    assert "first submission" in student.output and "resubmitted" in student.output
    assert student.output.count("│ toy ") >= 3  # two runs and the standing
    missing = runner.invoke(main, ["gradebook", "--db", str(tmp_path / "nothing.sqlite")])
    assert missing.exit_code == 2 and "no gradebook" in missing.output
    nobody = runner.invoke(main, ["gradebook", "--db", str(tmp_path / "course.sqlite"), "--student", "zed"])
    assert nobody.exit_code == 2 and "no student" in nobody.output


@pytest.mark.sandbox
def test_grader_grade_records_with_the_sandbox(tmp_path: Path) -> None:
    subs = make_class(tmp_path, {"ann": GOOD})
    env = dict(os.environ, COLUMNS="160", XDG_CONFIG_HOME=str(tmp_path / "config"), GRADER_PROBLEMS=str(COURSE))
    env.pop("GRADER_SECRET_FILE", None)
    run = [sys.executable, "-m", "grader"]
    done = subprocess.run([*run, "grade", "toy", str(subs), "--out", "out"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    shown = subprocess.run([*run, "gradebook", "--out", "out"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=120)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert read_csv(tmp_path / "out" / "gradebook.csv")[1][:4] == ["ann", "", "graded", "10"]


def test_the_readme_policy_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### Gradebook and late policy", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "late.toml").write_text(example)
    policy = load_policy(tmp_path / "late.toml")
    assert policy.assignments["hw4"].canvas_id == "1234567" and policy.budget("4001") == 5
    assert "hw6" in policy.exceptions["4001"].waived and policy.cap == 50
