"""The student's side: check a file on the public cases, or replay one case."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path

from .engine import Audience, grade, plan_cases
from .errors import AssignmentError, ReplayError
from .loader import assignment_ids, load_assignment
from .results import SubmissionResult
from .sandbox.process import SandboxRunner
from .sandbox.runner import Isolation, Limits
from .spec import Assignment
from .submission import read_submission


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
               only: Iterable[str] | None = None) -> tuple[SubmissionResult, Isolation]:
    runner = SandboxRunner(workers=1, mode=mode)  # the worker boots while the problems load
    try:
        assignment = resolve_assignment(file, assignment_id, problems_dir)
        for problem_id in only or ():
            assignment.entry(problem_id)
        submission = read_submission(file)
        audience = Audience(replay_prefix=f"grader replay {shlex.quote(str(file))}")
        result = grade(assignment, submission, runner, audience, limits, file.name, only)
        return result, runner.isolation
    finally:
        runner.close()


def replay_case(file: Path, problem_id: str, case_id: str, assignment_id: str | None, student: str,
                secret_file: Path | None, problems_dir: Path | None, limits: Limits, mode: str
                ) -> tuple[SubmissionResult, Isolation]:
    assignment = resolve_assignment(file, assignment_id, problems_dir)
    assignment.entry(problem_id)
    hidden = case_id.startswith("hidden-")
    secret = ""
    if hidden:
        if secret_file is None:
            raise ReplayError("hidden cases need the instructor's secret: pass --secret-file")
        secret = secret_file.read_text().strip()
    student = student or file.resolve().parent.name
    audience = Audience(hidden=hidden, secret=secret, student=student, reveal_answers=hidden, details_always=True,
                        replay_prefix=f"grader replay {shlex.quote(str(file))}")
    known = [p.id for p in plan_cases(assignment, audience, [problem_id]).cases]
    if case_id not in known:
        raise ReplayError(f"{problem_id} has no case {case_id!r}; its cases are: {', '.join(known)}")
    runner = SandboxRunner(workers=1, mode=mode)
    try:
        submission = read_submission(file, student)
        result = grade(assignment, submission, runner, audience, limits, file.name, [problem_id], case_id)
        return result, runner.isolation
    finally:
        runner.close()
