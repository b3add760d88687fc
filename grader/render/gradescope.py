"""Gradescope autograder ``results.json``: one test per problem, scored with partial credit.

Two uses. ``grader check --gradescope`` writes the public-case result as is (feedback, not a grade).
The Gradescope autograder (:mod:`grader.gradescope_run`) passes ``split``: each problem then becomes
one visible test for what a self-check may show (examples, public cases, ANSWERS right or wrong) and
one test for the rest (hidden cases, yes/no problems) with ``hidden_visibility`` (``after_due_date`` by
default). The tests' scores sum to the submission's score, which is also the top-level ``score``.
Student prints never go into the file (``stdout_visibility: hidden``; Gradescope shows stdout to
instructors only, and the grader does not print them there either).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..formatting import case_values
from ..results import CaseResult, ProblemResult, SubmissionResult

OUTPUT_LIMIT = 4_000  # characters of one test's output
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def _problem_output(problem) -> str:
    lines = [problem.message] if problem.message else []
    lines.append(f"{problem.passed_count}/{len(problem.cases)} cases passed" if problem.cases else problem.status)
    failure = problem.first_failure
    if failure is not None:
        lines += [f"first failing case {failure.id} {failure.label}: {failure.outcome}: {failure.message}"]
        if failure.hint:
            lines.append(f"hint: {failure.hint}")
    return "\n".join(lines)


def _cases_output(problem: ProblemResult, cases: list[CaseResult], values: bool) -> str:
    """The group's tally, then its first failing case: message, hint, and (``values``) inputs, expected, got."""
    lines = [problem.message] if problem.message else []
    if problem.status != "graded":
        lines.append(f"{problem.status}: 0 points")
        return "\n".join(lines)
    lines.append(f"{sum(c.passed for c in cases)}/{len(cases)} cases passed")
    failure = next((c for c in cases if not c.passed), None)
    if failure is not None:
        lines.append(f"first failing case: {failure.id} {failure.label}".rstrip())
        lines.append(f"{failure.outcome}: {failure.message}")
        if failure.hint:
            lines.append(f"hint: {failure.hint}")
        if values:
            lines += [f"{k}:\n{v}" for k, v in case_values(failure.values).items()]
        if failure.replay and failure.kind != "hidden":
            lines.append(f"replay: {failure.replay}")
    text = "\n".join(lines)
    return text if len(text) <= OUTPUT_LIMIT else text[: OUTPUT_LIMIT - 20] + "\n... (cut)"


def _split_tests(result: SubmissionResult, split: Mapping[str, tuple[int, int]],
                 visibility: str) -> list[dict[str, Any]]:
    """Per problem: the visible part (``split[id][0]`` cases) and the rest (``split[id][1]``), their maxima
    in proportion to the planned case counts, so that they do not depend on how the submission did."""
    tests: list[dict[str, Any]] = []
    for p in result.problems:
        n_visible, n_after = split.get(p.id, (len(p.cases), 0))
        total = n_visible + n_after
        max_visible = round(p.points * n_visible / total, 2) if total else p.points
        max_after = round(p.points - max_visible, 2)
        visible_cases = [c for c in p.cases if c.kind != "hidden"] if n_visible else []
        after_cases = [c for c in p.cases if c.kind == "hidden"] if n_visible else list(p.cases)
        score_visible = round(p.points * sum(c.passed for c in visible_cases) / total, 2) if total else 0.0
        score_visible = min(score_visible, max_visible, p.score)
        score_after = min(max(round(p.score - score_visible, 2), 0.0), max_after)
        if n_visible:
            tests.append({"name": f"{p.id}: {p.title}", "score": score_visible, "max_score": max_visible,
                          "status": "passed" if score_visible >= max_visible else "failed",
                          "output": _cases_output(p, visible_cases, values=True), "visibility": "visible",
                          "tags": [p.id, "public"]})
        if n_after:
            what = "hidden cases" if n_visible else "graded with your submission, shown after the due date"
            tests.append({"name": f"{p.id}: {p.title} ({what})", "score": score_after, "max_score": max_after,
                          "status": "passed" if score_after >= max_after else "failed",
                          "output": _cases_output(p, after_cases, values=True), "visibility": visibility,
                          "tags": [p.id, "hidden"]})
    return tests


def gradescope_json(result: SubmissionResult, split: Mapping[str, tuple[int, int]] | None = None,
                    hidden_visibility: str = "after_due_date", output: str = "",
                    extra_data: Mapping[str, Any] | None = None, execution_time: float | None = None) -> str:
    """``split`` maps each problem id to its (visible, after-due-date) planned case counts; without it, one
    visible test per problem (``grader check --gradescope``). ``output`` replaces the top-level text."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden_visibility must be one of {VISIBILITIES}, got {hidden_visibility!r}")
    if split is None:
        tests = [{"name": f"{p.id}: {p.title}", "score": p.score, "max_score": p.points,
                  "status": "passed" if p.outcome == "passed" else "failed", "output": _problem_output(p),
                  "visibility": "visible"} for p in result.problems]
    else:
        tests = _split_tests(result, split, hidden_visibility)
    if not tests:  # unreadable, no submission, grader failure: one test says why, worth nothing
        tests = [{"name": "submission", "score": 0.0, "max_score": result.max_score, "status": "failed",
                  "output": result.message or result.status, "visibility": "visible"}]
    if not output:
        output = result.message or f"score {result.score:g}/{result.max_score:g}"
        if result.isolation != "full":
            output += "\nWARNING: graded with reduced isolation"
    data: dict[str, Any] = {"score": result.score, "output": output, "tests": tests, "visibility": "visible",
                            "stdout_visibility": "hidden"}
    if execution_time is not None:
        data["execution_time"] = round(execution_time, 3)
    if extra_data is not None:
        data["extra_data"] = dict(extra_data)
    return json.dumps(data, indent=1, allow_nan=False) + "\n"
