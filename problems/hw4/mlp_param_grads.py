"""hw4: gradients of a scalar MLP output with respect to every weight and bias (backprop)."""

from __future__ import annotations

import itertools

import numpy as np

from grader.checks import Close, SequenceOf, TupleOf
from grader.spec import Case, FunctionProblem, Mistake

from ..common.activations import apply, derivative

STATEMENT = r"""
An MLP with $L \ge 1$ layers and a **scalar** output maps $y_0 = x \in \mathbb{R}^{n_0}$ through

$$y_l = \sigma(A_l y_{l-1} + b_l) \quad (l = 1, \dots, L-1), \qquad y_L = A_L y_{L-1} + b_L \in \mathbb{R},$$

with $A_l \in \mathbb{R}^{n_l \times n_{l-1}}$, $b_l \in \mathbb{R}^{n_l}$, $\sigma$ applied elementwise to
the hidden layers and a **linear last layer** with one output: $A_L$ has one row and $b_L$
has length 1.

Write `mlp_param_grads(A_list, b_list, x, activation)` returning a tuple `(dA_list, db_list)`
of the gradients of $y_L$ with respect to every parameter, evaluated at the given input:

- `dA_list[l-1]` $= \partial y_L / \partial A_l$, an array of the **same shape as** $A_l$,
  $(n_l, n_{l-1})$, whose entry `[i, j]` is $\partial y_L / \partial (A_l)_{ij}$;
- `db_list[l-1]` $= \partial y_L / \partial b_l$, a 1-D array of length $n_l$ (for the last layer,
  length 1).

Conventions: `A_list[l-1]` is $A_l$ (2-D), `b_list[l-1]` is $b_l$ and `x` is $y_0$ (1-D arrays;
Python lists are 0-based). `activation` is one of `"relu"`, `"leaky_relu"` (slope 0.01),
`"sigmoid"`, `"tanh"`, `"identity"`. Pre-activations are never exactly 0 in the tests.
With $L = 1$, $y_1 = A_1 x + b_1$ and both lists have one element.

For instance $\partial y_L / \partial A_L = y_{L-1}^\top$ (shape $(1, n_{L-1})$) and
$\partial y_L / \partial b_L = [1]$.
"""

# Tolerance (the course's precision policy: a correct float32 computation passes, see README). Backprop through
# at most 4 layers of width <= 5: errors ~eps relative to the scale of each gradient (worst float32 twin, torch
# autograd: 1.6e-6 of max|dA|). The course defaults rtol 1e-4 / atol 1e-5 * max(1, max|part|) leave a margin of
# ~6 for any correct float32 or float64 implementation, while every mistake below is off by O(0.01) or more on
# the generated networks.
PART = Close(rtol=1e-4, atol=1e-5)


def _grads(A_list: list, b_list: list, x: np.ndarray, activation: str, *, at: str = "z",
           use_derivative: bool = True, last_activated: bool = False,
           transpose: bool = False) -> tuple[list[np.ndarray], list[np.ndarray]]:
    A_list = [np.asarray(A, dtype=np.float64) for A in A_list]
    ys, zs = [np.asarray(x, dtype=np.float64)], []
    for index, (A, b) in enumerate(zip(A_list, b_list, strict=True)):
        z = A @ ys[-1] + np.asarray(b, dtype=np.float64)
        zs.append(z)
        ys.append(z if index == len(A_list) - 1 else apply(activation, z))
    L = len(A_list)
    dA: list[np.ndarray] = [np.empty(0)] * L
    db: list[np.ndarray] = [np.empty(0)] * L
    g = np.ones(1)  # dy_L/dy_L
    for index in range(L - 1, -1, -1):
        activated = index < L - 1 or last_activated
        if activated and use_derivative:
            point = {"z": zs[index], "y": apply(activation, zs[index])}[at]
            delta = g * derivative(activation, point)
        else:
            delta = g
        dA[index] = np.outer(ys[index], delta) if transpose else np.outer(delta, ys[index])
        db[index] = delta
        g = A_list[index].T @ delta
    return dA, db


def reference(A_list: list, b_list: list, x: np.ndarray, activation: str) -> tuple[list, list]:
    return _grads(A_list, b_list, x, activation)


def transposed(A_list: list, b_list: list, x: np.ndarray, activation: str) -> tuple[list, list]:
    return _grads(A_list, b_list, x, activation, transpose=True)


def derivative_at_output(A_list: list, b_list: list, x: np.ndarray, activation: str) -> tuple[list, list]:
    return _grads(A_list, b_list, x, activation, at="y")


def no_derivative(A_list: list, b_list: list, x: np.ndarray, activation: str) -> tuple[list, list]:
    return _grads(A_list, b_list, x, activation, use_derivative=False)


def last_activated(A_list: list, b_list: list, x: np.ndarray, activation: str) -> tuple[list, list]:
    return _grads(A_list, b_list, x, activation, last_activated=True)


NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")


def random_mlp(rng: np.random.Generator, widths: list[int]) -> tuple[list, list, np.ndarray]:
    """Weights scaled so that pre-activations are O(1): sigmoid/tanh neither saturate nor stay linear."""
    A_list = [rng.normal(0.0, 1.5 / np.sqrt(n_in), (n_out, n_in)) for n_in, n_out in itertools.pairwise(widths)]
    b_list = [rng.normal(0.0, 0.5, n) for n in widths[1:]]
    return A_list, b_list, rng.normal(0.0, 1.0, widths[0])


def generate(rng: np.random.Generator, index: int) -> Case:
    activation = NAMES[index % len(NAMES)]
    draw = lambda: int(rng.integers(2, 6))
    kind = index % 4
    if kind == 0:
        widths, label = [draw(), draw(), draw(), 1], "3 layers"
    elif kind == 1:
        widths, label = [draw(), draw(), 1], "2 layers"
    elif kind == 2:
        widths, label = [1, draw(), 1, draw(), 1][: int(rng.integers(3, 6))], "width-1 layers"
        widths[-1] = 1
    else:
        widths, label = [draw(), draw(), draw(), draw(), 1], "4 layers"
    if index % 7 == 6:
        widths, label = [draw(), 1], "1 layer (linear)"
    return Case((*random_mlp(rng, widths), activation), f"{label}, widths {widths}, {activation}")


EXAMPLE = Case((
    [np.array([[1.0, -2.0], [0.5, 1.0], [-1.0, 0.0]]), np.array([[2.0, -1.0, 0.5]])],
    [np.array([0.5, -0.5, 0.25]), np.array([0.1])],
    np.array([1.0, 0.5]),
    "tanh",
), "2 layers, widths [2, 3, 1], tanh")

PROBLEM = FunctionProblem(
    id="mlp_param_grads",
    title="Gradients of an MLP's output with respect to its parameters",
    statement=STATEMENT,
    function="mlp_param_grads",
    signature="mlp_param_grads(A_list: list, b_list: list, x: np.ndarray, activation: str) -> tuple",
    returns="(dA_list, db_list)",
    reference=reference,
    examples=(EXAMPLE,),
    generate=generate,
    check=TupleOf(dA_list=SequenceOf(PART, "dA_list"), db_list=SequenceOf(PART, "db_list")),
    public_count=4,
    hidden_count=10,
    mistakes=(
        Mistake("dA_l is transposed: dy_L/dA_l = delta_l y_{l-1}^T (shape (n_l, n_{l-1}), like A_l), where "
                "delta_l = dy_L/dz_l; the outer product was taken in the wrong order", transposed),
        Mistake("sigma' is evaluated at the layer's output y_l = sigma(z_l); it must be evaluated at the "
                "pre-activation z_l = A_l y_{l-1} + b_l", derivative_at_output),
        Mistake("sigma' is missing: going back through a hidden layer multiplies by diag(sigma'(z_l)), so "
                "delta_l = diag(sigma'(z_l)) A_{l+1}^T delta_{l+1}", no_derivative),
        Mistake("the last layer is linear (no sigma): dy_L/db_L = 1 and dy_L/dA_L = y_{L-1}^T, without sigma'",
                last_activated),
    ),
)
