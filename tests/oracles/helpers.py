"""What every oracle test needs: the cases to check, calling a reference on them, comparing with
an oracle through the problem's own check, torch conversion, the activations in torch.

One module, imported by every ``tests/oracles/test_*.py`` (this folder is on ``sys.path`` under
pytest), so that a new oracle test starts from the template in docs/writing-problems.md:

    from helpers import agrees, oracle_cases, run, t

    def cases(problem, per_secret=30):
        return oracle_cases("hw7", problem, per_secret)

    def test_nu_beta_against_logsumexp() -> None:
        for case in cases(nu_beta.PROBLEM):
            agrees(nu_beta.PROBLEM, run(nu_beta.reference, case), oracle(*case.args), case)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from grader.checks import same_data
from grader.seeding import HIDDEN_VARIANTS, case_rng, hidden_rng
from grader.spec import Case, FunctionProblem

SECRETS = ("oracle-a", "oracle-b", "oracle-c")

# The activations the course's problems name, in torch (each test module adds its own extras).
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "identity": lambda z: z,
}


def oracle_cases(assignment: str, problem: FunctionProblem, per_secret: int = 30) -> list[Case]:
    """Every case a student could meet, drawn exactly as grading draws them, from several secrets:
    the examples, the public cases and ``per_secret`` hidden cases for each of three secrets."""
    found = list(problem.examples)
    found += [problem.generate(case_rng(assignment, problem.id, "public", i), i) for i in range(problem.public_count)]
    for secret in SECRETS:  # slot i's variants, as a class's students get them (seeding.HIDDEN_VARIANTS)
        found += [problem.generate(hidden_rng(assignment, problem.id, i, i % HIDDEN_VARIANTS, secret), i)
                  for i in range(per_secret)]
    return found


def seeded_cases(problem: FunctionProblem, count: int, seed: int = 0) -> list[Case]:
    """``count`` generated cases (index 0..count-1, so every forced edge case appears) from one seed."""
    return [problem.generate(np.random.default_rng([seed, i]), i) for i in range(count)]


def run(fn: Callable[..., Any], case: Case) -> Any:
    """``fn`` on a deep copy of the case's arguments."""
    return fn(*copy.deepcopy(case.args))


def agrees(problem: FunctionProblem, got: Any, oracle: Any, case: Case) -> None:
    """The problem's own check accepts ``got`` against the oracle's value."""
    verdict = problem.check(got, oracle, case)
    assert verdict.passed, f"{case.label}: {verdict.message} (inputs {case.args})"


def t(a: Any) -> torch.Tensor:
    """A float64 tensor of an array-like."""
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def assert_mistakes_differ(problem: FunctionProblem, cases: Iterable[Case]) -> None:
    """Every known mistake's output differs from the reference's (as data) on at least one case."""
    cases = list(cases)
    for mistake in problem.mistakes:
        assert any(not same_data(mistake.answer(*c.args), problem.reference(*c.args)) for c in cases), \
            mistake.message
