"""hw4: the layer-by-layer Jacobians dy_l/dy_{l-1} of an MLP with a linear last layer."""

from __future__ import annotations

import itertools

import numpy as np

from grader.checks import Close, SequenceOf
from grader.spec import Case, FunctionProblem, Mistake

from ..common.activations import apply, derivative

STATEMENT = r"""
An MLP with $L \ge 1$ layers maps $y_0 = x \in \mathbb{R}^{n_0}$ through

$$y_l = \sigma(A_l y_{l-1} + b_l) \quad (l = 1, \dots, L-1), \qquad y_L = A_L y_{L-1} + b_L,$$

with $A_l \in \mathbb{R}^{n_l \times n_{l-1}}$, $b_l \in \mathbb{R}^{n_l}$, the activation $\sigma$
applied elementwise to the hidden layers and a **linear last layer** (no $\sigma$).

Write `mlp_layer_jacobians(A_list, b_list, x, activation)` returning the list of the $L$
Jacobian matrices

$$\frac{\partial y_l}{\partial y_{l-1}} \in \mathbb{R}^{n_l \times n_{l-1}}, \qquad l = 1, \dots, L,$$

evaluated at the given input, where entry `[i, j]` is $\partial (y_l)_i / \partial (y_{l-1})_j$.

- `A_list[l-1]` is $A_l$ (a 2-D array of shape $(n_l, n_{l-1})$), `b_list[l-1]` is $b_l$ and
  `x` is $y_0$; vectors are 1-D numpy arrays. Python lists are 0-based: element `l-1` of
  the returned list is $\partial y_l / \partial y_{l-1}$.
- `activation` is one of `"relu"`, `"leaky_relu"` (slope 0.01), `"sigmoid"`, `"tanh"`,
  `"identity"`. Pre-activations are never exactly 0 in the tests.
- With $L = 1$ there is no hidden layer and the list has one element.
- Return a list of 2-D arrays, even when a layer has width 1 (shape `(1, n)`, `(n, 1)` or `(1, 1)`).
"""

# Tolerance (the course's precision policy: a correct float32 computation passes, see README). Each Jacobian is
# sigma'(z) times a matrix of at most 5x5: the error is ~eps relative to the entries and the pre-activations z
# (1e-7 in float32; worst float32 twin: 1e-6 of max|J|, e.g. sigmoid' written as s(1-s) on a saturated unit).
# The course defaults rtol 1e-4 / atol 1e-5 * max(1, max|J|) leave a margin of ~10 while every mistake is off by
# O(0.01) or more.
CHECK = Close(rtol=1e-4, atol=1e-5)


def forward(A_list: list, b_list: list, x: np.ndarray, activation: str) -> tuple[list, list]:
    """Pre-activations z_l and outputs y_l (ys[0] = x); the last layer is linear."""
    ys, zs = [np.asarray(x, dtype=np.float64)], []
    for index, (A, b) in enumerate(zip(A_list, b_list, strict=True)):
        z = np.asarray(A) @ ys[-1] + np.asarray(b)
        zs.append(z)
        ys.append(z if index == len(A_list) - 1 else apply(activation, z))
    return zs, ys


def _jacobians(A_list: list, b_list: list, x: np.ndarray, activation: str, *, at: str = "z",
               last_activated: bool = False, diag: bool = True, bias: bool = True) -> list[np.ndarray]:
    zs, ys = forward(A_list, b_list, x, activation)
    out = []
    for index, A in enumerate(A_list):
        A = np.asarray(A, dtype=np.float64)
        if (index == len(A_list) - 1 and not last_activated) or not diag:
            out.append(A.copy())
            continue
        point = {"z": zs[index], "y": ys[index + 1] if index < len(A_list) - 1 else apply(activation, zs[index]),
                 "z_no_bias": A @ ys[index]}[at if bias else "z_no_bias"]
        out.append(derivative(activation, point)[:, None] * A)
    return out


def reference(A_list: list, b_list: list, x: np.ndarray, activation: str) -> list[np.ndarray]:
    return _jacobians(A_list, b_list, x, activation)


def transposed(A_list: list, b_list: list, x: np.ndarray, activation: str) -> list[np.ndarray]:
    return [J.T for J in reference(A_list, b_list, x, activation)]


def derivative_at_output(A_list: list, b_list: list, x: np.ndarray, activation: str) -> list[np.ndarray]:
    return _jacobians(A_list, b_list, x, activation, at="y")


def no_diag(A_list: list, b_list: list, x: np.ndarray, activation: str) -> list[np.ndarray]:
    return _jacobians(A_list, b_list, x, activation, diag=False)


def last_activated(A_list: list, b_list: list, x: np.ndarray, activation: str) -> list[np.ndarray]:
    return _jacobians(A_list, b_list, x, activation, last_activated=True)


def bias_forgotten(A_list: list, b_list: list, x: np.ndarray, activation: str) -> list[np.ndarray]:
    return _jacobians(A_list, b_list, x, activation, bias=False)


def cumulative(A_list: list, b_list: list, x: np.ndarray, activation: str) -> list[np.ndarray]:
    """dy_l/dx instead of dy_l/dy_{l-1}."""
    out, total = [], None
    for J in reference(A_list, b_list, x, activation):
        total = J if total is None else J @ total
        out.append(total)
    return out


NAMES = ("sigmoid", "relu", "tanh", "leaky_relu", "identity")


def random_mlp(rng: np.random.Generator, widths: list[int]) -> tuple[list, list, np.ndarray]:
    """Weights scaled so that pre-activations are O(1): sigmoid/tanh neither saturate nor stay linear."""
    A_list = [rng.normal(0.0, 1.5 / np.sqrt(n_in), (n_out, n_in)) for n_in, n_out in itertools.pairwise(widths)]
    b_list = [rng.normal(0.0, 0.5, n) for n in widths[1:]]
    return A_list, b_list, rng.normal(0.0, 1.0, widths[0])


def widths_for(rng: np.random.Generator, index: int, last: int | None = None) -> tuple[list[int], str]:
    """Layer widths n_0..n_L by edge case; ``last`` fixes n_L (1 for a scalar output)."""
    draw = lambda: int(rng.integers(2, 6))
    kind = index % 4
    if kind == 0:
        widths, label = [draw() for _ in range(4)], "3 layers"
    elif kind == 1:
        widths, label = [draw(), draw()], "1 layer (no hidden layer)"
    elif kind == 2:
        depth = int(rng.integers(2, 5))
        widths, label = [1 if i % 2 == 0 else draw() for i in range(depth + 1)], "width-1 layers"
    else:
        widths, label = [draw() for _ in range(5)], "4 layers"
    if last is not None:
        widths[-1] = last
    return widths, label


def generate(rng: np.random.Generator, index: int) -> Case:
    activation = NAMES[index % len(NAMES)]
    widths, label = widths_for(rng, index)
    return Case((*random_mlp(rng, widths), activation), f"{label}, widths {widths}, {activation}")


EXAMPLE = Case((
    [np.array([[1.0, -2.0], [0.5, 1.0], [-1.0, 0.0]]), np.array([[2.0, -1.0, 0.5]])],
    [np.array([0.5, -0.5, 0.25]), np.array([0.1])],
    np.array([1.0, 0.5]),
    "sigmoid",
), "2 layers, widths [2, 3, 1], sigmoid")

PROBLEM = FunctionProblem(
    id="mlp_layer_jacobians",
    title="Layer Jacobians of an MLP",
    statement=STATEMENT,
    function="mlp_layer_jacobians",
    signature="mlp_layer_jacobians(A_list: list, b_list: list, x: np.ndarray, activation: str) -> list",
    returns="list of L arrays (n_l, n_{l-1})",
    reference=reference,
    examples=(EXAMPLE,),
    generate=generate,
    check=SequenceOf(CHECK, "jacobians"),
    public_count=4,
    hidden_count=10,
    mistakes=(
        Mistake("the Jacobians are transposed: dy_l/dy_{l-1} has shape (n_l, n_{l-1}), entry [i, j] = "
                "d(y_l)_i / d(y_{l-1})_j, i.e. diag(sigma'(z_l)) A_l, not its transpose", transposed),
        Mistake("sigma' is evaluated at the layer's output y_l = sigma(z_l); it must be evaluated at the "
                "pre-activation z_l = A_l y_{l-1} + b_l", derivative_at_output),
        Mistake("the diag(sigma'(A_l y_{l-1} + b_l)) factor is missing: a hidden layer's Jacobian is "
                "diag(sigma'(z_l)) A_l, not A_l", no_diag),
        Mistake("the last layer is linear (no sigma): its Jacobian is A_L itself, without diag(sigma')",
                last_activated),
        Mistake("the bias is missing from the point where sigma' is evaluated: use z_l = A_l y_{l-1} + b_l",
                bias_forgotten),
        Mistake("these are the Jacobians dy_l/dx with respect to the input (products of the layer Jacobians); "
                "each element must be the Jacobian of one layer, dy_l/dy_{l-1}", cumulative),
    ),
)
