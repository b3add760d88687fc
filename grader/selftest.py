"""Check a course's problems against themselves: every reference earns full marks, every
known mistake earns less and gets its targeted message.

Runs in process (the code is the course's own, trusted), so it is fast enough
for the test suite and for ``grader selftest`` after editing a problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .checks import same_data
from .engine import Audience, grade, plan_cases
from .sandbox.inprocess import InProcessRunner
from .spec import AnswersProblem, Assignment, FunctionProblem, Mistake
from .submission import Submission

STUDENTS = ("selftest-a", "selftest-b")


@dataclass(frozen=True)
class Finding:
    assignment: str
    problem: str
    variant: str
    problem_text: str

    def __str__(self) -> str:
        return f"{self.assignment}/{self.problem} [{self.variant}]: {self.problem_text}"


def _module_of(problem: FunctionProblem) -> str:
    return problem.reference.__module__


def reference_source(assignment: Assignment, replace: dict[str, str] | None = None,
                     answers: dict[str, object] | None = None) -> str:
    """A submission made of the references; ``replace`` maps a function to an attribute path to use instead."""
    lines = ["import importlib"]
    for problem in assignment.functions:
        target = (replace or {}).get(problem.function, "PROBLEM.reference")
        lines.append(f"{problem.function} = eval({target!r}, vars(importlib.import_module({_module_of(problem)!r})))")
    if assignment.answers is not None:
        values = {k.key: k.expected for k in assignment.answers.keys}
        values.update(answers or {})
        lines.append(f"ANSWERS = {values!r}")
    return "\n".join(lines) + "\n"


def _audience(student: str) -> Audience:
    return Audience(hidden=True, secret="selftest", student=student, reveal_answers=True)


def _grade(assignment: Assignment, source: str, student: str, only: list[str] | None = None):
    submission = Submission(student, Path(assignment.filename), source)
    return grade(assignment, submission, InProcessRunner(), _audience(student), only=only)


def _set_leaf(values: dict[str, object], leaf: str, wrong: object) -> dict[str, object]:
    key, _, sub = leaf.partition(".")
    if not sub:
        return {key: wrong}
    inner = dict(values[key])  # type: ignore[arg-type]
    inner[sub] = wrong
    return {key: inner}


def fresh(value: Any) -> Any:
    """A copy of case data (arrays, lists, tuples, dicts of them) that a callee may mutate freely."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [fresh(v) for v in value]
    if isinstance(value, tuple):
        return tuple(fresh(v) for v in value)
    if isinstance(value, dict):
        return {k: fresh(v) for k, v in value.items()}
    return value


def _mutations(assignment: Assignment) -> list[Finding]:
    """References and mistakes must leave their inputs alone: the grader shares them, uncopied."""
    findings = []
    for problem in assignment.functions:
        plan = plan_cases(assignment, _audience(STUDENTS[0]), [problem.id])
        callables = [("reference", problem.reference)]
        callables += [(f"mistake {i}", m.answer) for i, m in enumerate(problem.mistakes)]
        for planned in plan.cases:
            assert planned.case is not None
            for name, function in callables:
                before = fresh(planned.case.args)
                try:
                    function(*planned.case.args)
                except Exception:  # noqa: BLE001 - not applicable to this case: fine
                    pass
                if not same_data(planned.case.args, before, rtol=0.0, atol=0.0):
                    findings.append(Finding(assignment.id, problem.id, name, f"mutates the inputs of {planned.id}"))
    return findings


def run_selftest(assignment: Assignment) -> list[Finding]:
    findings: list[Finding] = _mutations(assignment)
    for student in STUDENTS:
        result = _grade(assignment, reference_source(assignment), student)
        for problem in result.problems:
            if problem.score != problem.points:
                bad = problem.first_failure
                findings.append(Finding(assignment.id, problem.id, "reference",
                                        f"scored {problem.score}/{problem.points}: "
                                        f"{bad.id + ': ' + bad.message if bad else problem.message}"))
    for problem in assignment.problems:
        if isinstance(problem, FunctionProblem):
            if not problem.mistakes:
                findings.append(Finding(assignment.id, problem.id, "-", "no known-wrong variant (Mistake)"))
            for i, mistake in enumerate(problem.mistakes):
                source = reference_source(assignment, {problem.function: f"PROBLEM.mistakes[{i}].answer"})
                findings += _check_variant(assignment, problem.id, f"mistake {i}", source, mistake)
        elif isinstance(problem, AnswersProblem):
            values = {k.key: k.expected for k in problem.keys}
            for key in problem.keys:
                if not key.mistakes:
                    findings.append(Finding(assignment.id, "ANSWERS", key.key, "no known wrong value"))
                for leaf, wrongs in key.mistakes.items():
                    for wrong, message in wrongs.items():
                        source = reference_source(assignment, answers=_set_leaf(values, leaf, wrong))
                        findings += _check_variant(assignment, "ANSWERS", f"{leaf}={wrong!r}", source, message)
    return findings


def _check_variant(assignment: Assignment, problem_id: str, variant: str, source: str,
                   message: str | Mistake) -> list[Finding]:
    result = _grade(assignment, source, STUDENTS[0], [problem_id])
    problem = next(p for p in result.problems if p.id == problem_id)
    found = []
    if isinstance(message, Mistake):  # per-case messages: any of them will do
        plan = plan_cases(assignment, _audience(STUDENTS[0]), [problem_id])
        messages = {message.describe(p.case.args) for p in plan.cases if p.case is not None}
    else:
        messages = {message}
    if problem.score >= problem.points:
        found.append(Finding(assignment.id, problem_id, variant, "the wrong variant earned full marks"))
    elif not any(c.hint in messages for c in problem.cases if not c.passed):
        hints = sorted({c.hint or c.message for c in problem.cases if not c.passed})
        found.append(Finding(assignment.id, problem_id, variant,
                             f"targeted message not shown; failing cases said: {hints[:3]}"))
    return found
