"""hw7: the smoothed maximum nu_beta(x) = (1/beta) log sum exp(beta x_i), computed stably."""

from __future__ import annotations

import math

import numpy as np

from grader.checks import Close
from grader.spec import Case, FunctionProblem, Mistake

STATEMENT = r"""
For $\beta > 0$ and $x \in \mathbb{R}^n$ the **log-sum-exp** (a smooth maximum) is

$$\nu_\beta(x) = \frac{1}{\beta} \log \sum_{i=1}^{n} \exp(\beta x_i).$$

It satisfies $\max_i x_i \le \nu_\beta(x) \le \max_i x_i + \frac{\log n}{\beta}$.

Write `nu_beta(x, beta)` returning $\nu_\beta(x)$ as a float; `x` is a 1-D float64
array with $n \ge 1$ entries and `beta` a positive float. It must be
**numerically stable**: entries of $\beta x$ may be in the thousands (positive or
negative), where $\exp$ overflows to `inf` or underflows to `0`. Subtract the
maximum first:
$\nu_\beta(x) = m + \frac{1}{\beta}\log\sum_i \exp(\beta(x_i - m))$ with $m = \max_i x_i$.

Example: `nu_beta(np.array([1000., 999., -5.]), 1.0)` is `1000.3132616875182`.
"""


def reference(x: np.ndarray, beta: float) -> float:
    x = np.asarray(x, dtype=np.float64)
    m = float(np.max(x))
    return m + float(np.log(np.sum(np.exp(beta * (x - m))))) / beta


def naive(x: np.ndarray, beta: float) -> float:
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return float(np.log(np.sum(np.exp(beta * np.asarray(x)))) / beta)


def naive_math(x: np.ndarray, beta: float) -> float:
    # the same naive formula with the math module, which raises OverflowError where numpy gives inf
    return math.log(sum(math.exp(beta * float(xi)) for xi in x)) / beta


def log_dropped(x: np.ndarray, beta: float) -> float:
    x = np.asarray(x, dtype=np.float64)
    m = float(np.max(x))
    return m + float(np.sum(np.exp(beta * (x - m)))) / beta


def max_not_added_back(x: np.ndarray, beta: float) -> float:
    x = np.asarray(x, dtype=np.float64)
    return reference(x, beta) - float(np.max(x))


def no_one_over_beta(x: np.ndarray, beta: float) -> float:
    return beta * reference(x, beta)


def no_beta(x: np.ndarray, beta: float) -> float:
    return reference(x, 1.0)


def hard_max(x: np.ndarray, beta: float) -> float:
    return float(np.max(x))


def generate(rng: np.random.Generator, index: int) -> Case:
    n = int(rng.integers(2, 12))
    beta = float(rng.choice([0.1, 0.5, 2.0, 10.0]))
    kind = index % 4
    if kind == 0:  # large entries: naive exp overflows (positive) or underflows to log(0) (negative)
        x = rng.normal(0, 5, n) + float(rng.choice([-1, 1])) * rng.uniform(800, 5000) / beta
        return Case((x, beta), "large entries (naive exp overflows)")
    if kind == 1:  # one element
        return Case((rng.normal(0, 10, 1), beta), "a single entry")
    if kind == 2:  # ties at the maximum
        x = rng.normal(0, 3, n)
        x[rng.integers(0, n)] = x.max()
        return Case((x, beta), "ties at the maximum")
    return Case((rng.normal(0, 3, n), beta), "random")


PROBLEM = FunctionProblem(
    id="nu_beta",
    title="Log-sum-exp, numerically stable",
    statement=STATEMENT,
    function="nu_beta",
    signature="nu_beta(x: np.ndarray, beta: float) -> float",
    returns="float",
    reference=reference,
    examples=(
        Case((np.array([1000.0, 999.0, -5.0]), 1.0), "x = [1000, 999, -5], beta = 1"),
        Case((np.array([1.0, 2.0, 3.0]), 2.0), "x = [1, 2, 3], beta = 2"),
    ),
    generate=generate,
    # The course's precision policy (a correct float32 computation passes). A stable evaluation is
    # accurate to a few ulps of max|x|: the shift by m is exact up to the rounding of beta*(x - m), and the
    # log of a sum in [1, n] is well conditioned. In float32 that is a relative error ~1e-7 of nu (nu is
    # within log(n)/beta of max x; the worst float32 twin is at 1e-7 relative), so the default rtol 1e-4,
    # atol 1e-5 * max(1, |nu|) leave a margin of ~1000 and still reject every mistake (off by O(1/beta)).
    check=Close(rtol=1e-4, atol=1e-5),
    mistakes=(
        Mistake("computed naively: exp(beta*x) overflows to inf (or underflows to 0, giving log(0)) for "
                "large entries; subtract max(x) before exponentiating", naive),
        Mistake("OverflowError: math.exp(beta*x_i) overflows for beta*x_i above ~709.8 (math raises where numpy "
                "gives inf); subtract m = max(x) before exponentiating: nu = m + (1/beta) log sum exp(beta (x_i - m))",
                naive_math, raises="OverflowError"),
        Mistake("the logarithm is missing: nu = m + (1/beta) log sum exp(beta (x_i - m)), you returned "
                "m + (1/beta) sum exp(beta (x_i - m))", log_dropped),
        Mistake("the maximum m was subtracted inside the exponential but not added back: "
                "nu = m + (1/beta) log sum exp(beta (x_i - m))", max_not_added_back),
        Mistake("the factor 1/beta in front of the log is missing", no_one_over_beta),
        Mistake("beta is missing: this is log sum exp(x_i), not (1/beta) log sum exp(beta x_i)", no_beta),
        Mistake("this is max(x), the limit beta -> infinity, not the smooth maximum", hard_max),
    ),
)
