"""hw7: the gradient of log-sum-exp, the beta-softmax, computed stably."""

from __future__ import annotations

import numpy as np

from grader.checks import Close
from grader.spec import Case, FunctionProblem, Mistake

STATEMENT = r"""
The gradient of the log-sum-exp $\nu_\beta(x) = \frac{1}{\beta}\log\sum_{j=1}^n \exp(\beta x_j)$ is the
**$\beta$-softmax**

$$\nabla \nu_\beta(x)_i = \frac{\exp(\beta x_i)}{\sum_{j=1}^n \exp(\beta x_j)}, \qquad i = 1, \dots, n.$$

Its entries are positive and sum to 1; as $\beta \to \infty$ it tends to the indicator of the
largest entry (when that entry is unique).

Write `grad_nu_beta(x, beta)` returning $\nabla\nu_\beta(x)$ as a 1-D float64 array of the same
length $n \ge 1$ as `x` (a 1-D float64 array); `beta` is a positive float. It must be
**numerically stable**: entries of $\beta x$ may be in the thousands, where $\exp$ overflows
(`inf / inf` is `NaN`). Note that the ratio does not change if the same number is subtracted from
every $x_j$.

Example: `grad_nu_beta(np.array([1000., 999., -5.]), 1.0)` is
`[0.7310585786300049, 0.2689414213699951, 0.0]` (the last entry is $e^{-1005}/(1+e^{-1})$,
which is below the smallest float64 and rounds to 0).
"""


def _shifted(x: np.ndarray, beta: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return beta * (x - np.max(x))


def reference(x: np.ndarray, beta: float) -> np.ndarray:
    e = np.exp(_shifted(x, beta))
    return e / np.sum(e)


def plain_softmax(x: np.ndarray, beta: float) -> np.ndarray:
    return reference(x, 1.0)


def naive(x: np.ndarray, beta: float) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(beta * np.asarray(x, dtype=np.float64))
        return e / np.sum(e)


def log_softmax(x: np.ndarray, beta: float) -> np.ndarray:
    z = _shifted(x, beta)
    return z - np.log(np.sum(np.exp(z)))


def times_beta(x: np.ndarray, beta: float) -> np.ndarray:
    return beta * reference(x, beta)


def one_hot(x: np.ndarray, beta: float) -> np.ndarray:
    out = np.zeros(len(x))
    out[int(np.argmax(x))] = 1.0
    return out


def generate(rng: np.random.Generator, index: int) -> Case:
    n = int(rng.integers(2, 10))
    beta = float(rng.choice([0.1, 0.5, 2.0, 10.0]))
    kind = index % 5
    if kind == 0:  # naive exp(beta x) overflows (inf/inf = NaN) or underflows (0/0 = NaN)
        # |beta x| ~ 800-1500: enough to break a naive exp in float64, small enough for float32 (tolerance)
        x = rng.normal(0, 2, n) / beta + float(rng.choice([-1, 1])) * rng.uniform(800, 1500) / beta
        return Case((x, beta), "large entries (naive exp overflows)")
    if kind == 1:  # several entries tie at the maximum: they share the mass equally
        x = rng.normal(0, 2, n)
        ties = rng.choice(n, size=int(rng.integers(2, n + 1)), replace=False)
        x[ties] = x.max() + 0.5
        return Case((x, beta), "ties at the maximum")
    if kind == 2:
        return Case((rng.normal(0, 10, 1), beta), "a single entry")
    if kind == 3:  # large beta: close to one-hot, with tiny but nonzero entries
        return Case((rng.normal(0, 3, n), float(rng.choice([20.0, 50.0]))), "large beta (nearly one-hot)")
    return Case((rng.normal(0, 2, n), beta), "random")


PROBLEM = FunctionProblem(
    id="grad_nu_beta",
    title="The gradient of log-sum-exp: the beta-softmax",
    statement=STATEMENT,
    function="grad_nu_beta",
    signature="grad_nu_beta(x: np.ndarray, beta: float) -> np.ndarray",
    returns="1-D array of length n",
    reference=reference,
    examples=(
        Case((np.array([1000.0, 999.0, -5.0]), 1.0), "x = [1000, 999, -5], beta = 1"),
        Case((np.array([1.0, 2.0, 3.0]), 2.0), "x = [1, 2, 3], beta = 2"),
    ),
    generate=generate,
    # The course's precision policy (a correct float32 computation passes). Entries lie in [0, 1]. A
    # stable formula (shift by the max, or exp(z - logsumexp(z))) errs relatively by the rounding of the
    # exponent, ~eps * |beta x|: in float32 (eps 6e-8, x rounded to float32 first) up to ~2e-4 for the
    # large entries (|beta x| <= ~1500, which is why they stop there: float64 exp already overflows at
    # 709.78). rtol 1e-3 leaves a margin of ~5 over the worst float32 twin; atol 1e-5 forgives entries
    # negligible next to the ones summing to 1. Every mistake is off by a factor or by O(1) somewhere.
    check=Close(rtol=1e-3, atol=1e-5),
    mistakes=(
        Mistake("beta is missing from the exponent: this is the plain softmax of x, not of beta*x", plain_softmax),
        Mistake("computed naively: exp(beta*x) overflows (inf/inf = NaN) or underflows (0/0 = NaN) for large "
                "entries; subtract max(x) before exponentiating", naive),
        Mistake("this is the log-softmax beta*x_i - log sum_j exp(beta*x_j); the gradient is its exponential",
                log_softmax),
        Mistake("the result is beta times too large: the 1/beta in front of the log cancels the beta from the "
                "chain rule, so the entries sum to 1", times_beta),
        Mistake("this is the one-hot vector of the largest entry, the limit beta -> infinity", one_hot),
    ),
)
