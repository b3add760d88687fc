"""The grader as a library: load a course, check one file, grade a folder, read the results.

    from grader import api

    hw7 = api.load("hw7")
    result = api.check("hw7.py")                                  # public cases, as `grader check`
    batch = api.grade(hw7, "submissions/", "reports/hw7", secret)  # every case, as `grader grade`
    print(batch.submissions[0].score)
    api.report(batch, "reports/hw7")                              # results.json, pages, gradebook.csv

Every function takes ``runner=``: anything with the :class:`Runner` protocol (``submit(job)``,
``isolation``, ``close()``). The default is the sandbox (or, where it cannot run, the portable
runner); :class:`InProcessRunner` runs trusted code in-process, for tests. A runner passed in is
not closed. The ``grader`` command is a thin layer over these functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing, nullcontext
from pathlib import Path

from .batch import BatchOptions, grade_batch
from .limits import Limits
from .loader import assignment_ids, load_assignment
from .results import BatchResult, CaseResult, ProblemResult, SubmissionResult, batch_from_json, to_json
from .sandbox import open_runner
from .sandbox.inprocess import InProcessRunner
from .sandbox.runner import Isolation, Runner
from .selfcheck import check_file, replay_case
from .spec import Assignment

__all__ = [
    "Assignment", "BatchResult", "CaseResult", "InProcessRunner", "Isolation", "Limits", "ProblemResult", "Runner",
    "SubmissionResult", "assignments", "batch_from_json", "check", "grade", "load", "replay", "report", "to_json",
]


def assignments(problems_dir: Path | None = None) -> list[str]:
    """The course's assignment ids (the bundled course, ``problems_dir``, or the student edition's)."""
    return assignment_ids(problems_dir)


def load(assignment_id: str, problems_dir: Path | None = None) -> Assignment:
    """One assignment, every spec validated."""
    return load_assignment(assignment_id, problems_dir)


def check(file: str | Path, assignment_id: str | None = None, *, problems_dir: Path | None = None,
          limits: Limits | None = None, only: Iterable[str] | None = None, runner: Runner | None = None,
          isolation: str = "auto") -> SubmissionResult:
    """A student's self-check: examples and public cases (``ANSWERS`` values are never shown)."""
    result, _ = check_file(Path(file), assignment_id, problems_dir, limits or Limits(), isolation, only, runner)
    return result


def replay(file: str | Path, problem_id: str, case_id: str, *, assignment_id: str | None = None, student: str = "",
           secret_file: Path | None = None, problems_dir: Path | None = None, limits: Limits | None = None,
           runner: Runner | None = None, isolation: str = "auto") -> SubmissionResult:
    """Exactly one case, with its inputs, expected and received values (hidden cases need the secret)."""
    result, _ = replay_case(Path(file), problem_id, case_id, assignment_id, student, secret_file, problems_dir,
                            limits or Limits(), isolation, runner)
    return result


def grade(assignment: Assignment, folder: str | Path, out_dir: str | Path, secret: str, *,
          runner: Runner | None = None, jobs: int = 1, options: BatchOptions | None = None,
          isolation: str = "auto") -> BatchResult:
    """Grade every submission in ``folder`` (one sub-folder per student, or an LMS download) on every case;
    results are journalled under ``out_dir`` (resumable). Write the reports with :func:`report`.

    The batch's ``submissions`` is a sequence read from disk (grader.spool.ResultSpool): iterate it, or index
    it, one result at a time; it stays readable as long as the batch is held."""
    with (nullcontext(runner) if runner is not None else closing(open_runner(isolation, jobs))) as active:
        return grade_batch(assignment, Path(folder), Path(out_dir), secret, active, jobs, options)


def report(batch: BatchResult, out_dir: str | Path, *, course: str = "", for_students: bool = False,
           release_hidden: bool = False) -> None:
    """Every file of one assignment's report in ``out_dir``, as `grader grade` writes them: ``results.json``,
    a page per student, per problem and for the class, ``gradebook.csv``. ``for_students`` adds
    ``students-public/`` (hidden cases withheld unless ``release_hidden``); ``course`` heads every page."""
    from .render.reports import write_reports  # jinja2 and the page renderers: only when asked

    write_reports(batch, Path(out_dir), course=course, for_students=for_students, release_hidden=release_hidden)
