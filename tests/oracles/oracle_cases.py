"""Cases for the oracle tests: the examples, the public cases and many hidden-style cases."""

from __future__ import annotations

from grader.seeding import case_rng
from grader.spec import Case, FunctionProblem

SECRETS = ("oracle-a", "oracle-b", "oracle-c")


def oracle_cases(assignment: str, problem: FunctionProblem, per_secret: int = 30) -> list[Case]:
    """Every case a student could meet, drawn exactly as grading draws them, from several secrets."""
    found = list(problem.examples)
    found += [problem.generate(case_rng(assignment, problem.id, "public", i), i) for i in range(problem.public_count)]
    for secret in SECRETS:
        found += [problem.generate(case_rng(assignment, problem.id, "hidden", i, secret, "oracle"), i)
                  for i in range(per_secret)]
    return found
