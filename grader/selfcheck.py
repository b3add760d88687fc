"""The student's side: check a file on the public cases, or replay one case."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from .engine import Audience, grade, plan_cases
from .errors import AssignmentError, ReplayError, SubmissionError
from .loader import assignment_ids, load_assignment
from .results import SubmissionResult
from .sandbox import open_runner
from .sandbox.runner import Isolation, Limits, Runner
from .seeding import SECRET_ENV, read_secret, resolve_secret_file
from .spec import Assignment
from .submission import read_submission
from .text import name_text, shell_word


def resolve_assignment(file: Path, assignment_id: str | None, problems_dir: Path | None) -> Assignment:
    wanted = assignment_id or file.stem
    known = assignment_ids(problems_dir)
    if wanted not in known:
        if assignment_id:
            raise AssignmentError(f"no assignment {assignment_id!r}; available: {', '.join(known)}")
        raise AssignmentError(f"cannot tell the assignment from the file name {file.name!r}: name it "
                              f"<assignment>.py (one of {', '.join(known)}) or pass --assignment")
    return load_assignment(wanted, problems_dir)


def check_file(file: Path, assignment_id: str | None, problems_dir: Path | None, limits: Limits, mode: str,
               only: Iterable[str] | None = None, runner: Runner | None = None,
               assignment: Assignment | None = None,
               while_waiting: Callable[[], object] | None = None) -> tuple[SubmissionResult, Isolation]:
    """The public-case check of one file. ``runner`` defaults to the sandbox for ``mode``; it is closed here only
    when it was opened here. ``assignment``: the one ``resolve_assignment`` gave, when the caller has it.
    ``while_waiting``: the caller's work to overlap with the worker's job (see :func:`grade`)."""
    owned = runner is None
    runner = runner or open_runner(mode)  # the worker boots while the problems load
    try:
        assignment = assignment or resolve_assignment(file, assignment_id, problems_dir)
        for problem_id in only or ():
            assignment.entry(problem_id)
        try:
            submission = read_submission(file)
        except SubmissionError as exc:  # still a result, so that CI gets its JUnit, JSON and summary
            planned = [e for e in assignment.entries
                       if e.problem.self_check and (not only or e.problem.id in set(only))]
            iso = runner.isolation
            return SubmissionResult(file.parent.name, assignment.id, file.name, "unreadable", 0.0,
                                    sum(e.points for e in planned), (), str(exc), isolation=iso.mode,
                                    isolation_layers=tuple(iso.layers)), iso
        audience = Audience(replay_prefix=f"grader replay {shell_word(str(file))}")
        result = grade(assignment, submission, runner, audience, limits, file.name, only,
                       while_waiting=while_waiting)
        return result, runner.isolation
    finally:
        if owned:
            runner.close()


def replay_case(file: Path, problem_id: str, case_id: str, assignment_id: str | None, student: str,
                secret_file: Path | None, problems_dir: Path | None, limits: Limits, mode: str,
                runner: Runner | None = None) -> tuple[SubmissionResult, Isolation]:
    assignment = resolve_assignment(file, assignment_id, problems_dir)
    assignment.entry(problem_id)
    hidden = case_id.startswith("hidden-")
    secret = ""
    if hidden:
        path, _ = resolve_secret_file(secret_file)
        if secret_file is None and not path.exists():
            raise ReplayError(f"hidden cases need the instructor's secret: none at {path}; pass --secret-file "
                              f"or set {SECRET_ENV}")
        secret = read_secret(path)
    student = student or name_text(file.resolve().parent.name)  # as a batch names the student
    audience = Audience(hidden=hidden, secret=secret, student=student, reveal_answers=hidden, details_always=True,
                        replay_prefix=f"grader replay {shell_word(str(file))}")
    known = [p.id for p in plan_cases(assignment, audience, [problem_id]).cases]
    if case_id not in known:
        raise ReplayError(f"{problem_id} has no case {case_id!r}; its cases are: {', '.join(known)}")
    owned = runner is None
    runner = runner or open_runner(mode)
    try:
        submission = read_submission(file, student)
        result = grade(assignment, submission, runner, audience, limits, file.name, [problem_id], case_id)
        return result, runner.isolation
    finally:
        if owned:
            runner.close()
