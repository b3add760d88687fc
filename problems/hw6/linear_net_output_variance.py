"""hw6: the variance of the output of a linear MLP under PyTorch's default nn.Linear initialisation."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from grader.checks import Close
from grader.spec import Case, FunctionProblem, Mistake

STATEMENT = r"""
A **linear** network (every activation is the identity) with widths
$[n_0, n_1, \dots, n_L]$ computes

$$y_0 = x \in \mathbb{R}^{n_0}, \qquad y_l = A_l\, y_{l-1} + b_l \in \mathbb{R}^{n_l}, \quad l = 1, \dots, L .$$

The parameters are drawn as PyTorch's `nn.Linear(n_{l-1}, n_l)` initialises
them by default: every entry of $A_l$ and of $b_l$ is independent and uniform
on $\left(-\frac{1}{\sqrt{n_{l-1}}}, \frac{1}{\sqrt{n_{l-1}}}\right)$ (the bound
uses the layer's **input** width), independently across layers. The input
$x$ is independent of the parameters and has IID entries with mean $0$ and
variance $1$.

Write `linear_net_output_variance(widths)` returning the variance of one
entry of the output $y_L$, taken over the random parameters **and** the
random input (every output entry has the same variance). `widths` is a list
of $L + 1 \ge 2$ positive ints $[n_0, \dots, n_L]$.

Return the exact value as a float, from a formula, not an estimate from a
simulation: the check is a tight relative tolerance. (A simulation is a good
way to test your formula, though.)

Hints: a uniform variable on $(-a, a)$ has variance $a^2/3$. The entries of
$y_{l-1}$ are uncorrelated with each other and independent of $A_l$, $b_l$.
Remember that every layer has a bias.

Example: `linear_net_output_variance([1, 1])` is $\tfrac{2}{3}$
($y_1 = a x + b$ with $\operatorname{Var}(a) = \operatorname{Var}(b) = \tfrac13$).
"""


def _widths(widths: list[int]) -> list[int]:
    return [int(n) for n in widths]


def reference(widths: list[int]) -> float:
    # v_l = n_{l-1} Var(a) v_{l-1} + Var(b) = v_{l-1}/3 + 1/(3 n_{l-1}), v_0 = 1, which unrolls to
    # 3^-L + sum_{k<L} 1 / (3^(L-k) n_k).
    n = _widths(widths)
    v = 1.0
    for n_in in n[:-1]:
        v = v / 3.0 + 1.0 / (3.0 * n_in)
    return v


# ------------------------------------------------------------------ known mistakes


def seed_product(widths: list[int]) -> float:
    """The seed's prod (n_l + 1)/(3 n_l): the one-layer result reused as if every layer saw unit variance."""
    n = _widths(widths)
    return float(np.prod([(k + 1) / (3.0 * k) for k in n[:-1]]))


def no_bias(widths: list[int]) -> float:
    return 3.0 ** -(len(widths) - 1)


def kaiming_variance(widths: list[int]) -> float:
    """Parameter variance 1/n_in (as for N(0, 1/n_in)) instead of (1/sqrt(n_in))^2 / 3."""
    v = 1.0
    for n_in in _widths(widths)[:-1]:
        v = v + 1.0 / n_in
    return v


def fan_out(widths: list[int]) -> float:
    """The bound taken from the layer's output width n_l instead of its input width."""
    n = _widths(widths)
    v = 1.0
    for n_in, n_out in pairwise(n):
        v = n_in * v / (3.0 * n_out) + 1.0 / (3.0 * n_out)
    return v


def uniform_variance_a2_over_12(widths: list[int]) -> float:
    """Var U(-a, a) taken as a^2/12 (the formula for an interval of length a) instead of (2a)^2/12 = a^2/3."""
    v = 1.0
    for n_in in _widths(widths)[:-1]:
        v = v / 12.0 + 1.0 / (12.0 * n_in)
    return v


# ------------------------------------------------------------------ cases


def generate(rng: np.random.Generator, index: int) -> Case:
    kind = index % 5
    if kind == 0:  # one layer: the seed's formula is right here, the others are not
        widths = [int(rng.integers(1, 50)), int(rng.integers(1, 50))]
        return Case((widths,), "one layer (L = 1)")
    if kind == 1:  # widths equal to 1 somewhere
        L = int(rng.integers(2, 6))
        widths = [int(rng.choice([1, int(rng.integers(2, 10))])) for _ in range(L + 1)]
        widths[int(rng.integers(0, L))] = 1
        return Case((widths,), "some widths equal to 1")
    if kind == 2:  # deep
        L = int(rng.integers(6, 13))
        return Case(([int(rng.integers(1, 13)) for _ in range(L + 1)],), "deep network")
    if kind == 3:  # wide and varied: the width sequence changes a lot from layer to layer
        L = int(rng.integers(2, 5))
        return Case(([int(rng.choice([1, 2, 3, 10, 32, 64])) for _ in range(L + 1)],), "widths of mixed size")
    L = int(rng.integers(2, 5))
    return Case(([int(rng.integers(1, 20)) for _ in range(L + 1)],), "random")


PROBLEM = FunctionProblem(
    id="linear_net_output_variance",
    title="Output variance of a linear net at PyTorch's default initialisation",
    statement=STATEMENT,
    function="linear_net_output_variance",
    signature="linear_net_output_variance(widths: list) -> float",
    returns="float",
    reference=reference,
    examples=(
        Case(([1, 1],), "widths [1, 1]"),
        Case(([4, 3, 2],), "widths [4, 3, 2]"),
        Case(([64, 32, 16, 10],), "widths [64, 32, 16, 10]"),
    ),
    generate=generate,
    # A closed form (the course's precision policy: a correct float32 computation passes, see README): a float32
    # evaluation is within ~1e-7 relative (worst float32 twin: 1.2e-7); the course defaults rtol 1e-4 / atol
    # 1e-5 (values are >= ~0.03: at most 4e-4 relative) accept it yet are far tighter than any slip (the
    # closest, the seed's product on wide nets, is ~1e-2 off relative).
    check=Close(rtol=1e-4, atol=1e-5),
    public_count=5,
    hidden_count=10,
    mistakes=(
        Mistake("the one-layer result (n+1)/(3n) was reused at every layer, as if each layer's input had "
                "variance 1: the input variance of layer l is v_{l-1}, so v_l = v_{l-1}/3 + 1/(3 n_{l-1}); "
                "the bias term is added, not multiplied", seed_product),
        Mistake("the biases are missing: nn.Linear initialises its bias uniformly too, adding 1/(3 n_{l-1}) "
                "to the variance of every layer", no_bias),
        Mistake("you used variance 1/n_in for the parameters: U(-a, a) with a = 1/sqrt(n_in) has variance "
                "a^2/3 = 1/(3 n_in)", kaiming_variance),
        Mistake("the bound 1/sqrt(n) of nn.Linear uses the layer's input width n_{l-1} (fan-in), "
                "not its output width", fan_out),
        Mistake("the variance of U(-a, a) is (2a)^2/12 = a^2/3, not a^2/12", uniform_variance_a2_over_12),
    ),
)
