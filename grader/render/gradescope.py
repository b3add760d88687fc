"""Gradescope autograder ``results.json``: one test per problem, scored with partial credit."""

from __future__ import annotations

import json

from ..results import SubmissionResult


def _problem_output(problem) -> str:
    lines = [problem.message] if problem.message else []
    lines.append(f"{problem.passed_count}/{len(problem.cases)} cases passed" if problem.cases else problem.status)
    failure = problem.first_failure
    if failure is not None:
        lines += [f"first failing case {failure.id} {failure.label}: {failure.outcome}: {failure.message}"]
        if failure.hint:
            lines.append(f"hint: {failure.hint}")
    return "\n".join(lines)


def gradescope_json(result: SubmissionResult) -> str:
    tests = [{"name": f"{p.id}: {p.title}", "score": p.score, "max_score": p.points,
              "status": "passed" if p.outcome == "passed" else "failed", "output": _problem_output(p),
              "visibility": "visible"} for p in result.problems]
    output = result.message or f"score {result.score:g}/{result.max_score:g}"
    if result.isolation != "full":
        output += "\nWARNING: graded with reduced isolation"
    return json.dumps({"score": result.score, "output": output, "tests": tests, "visibility": "visible",
                       "stdout_visibility": "hidden"}, indent=1) + "\n"
