"""hw5: backpropagation through a sigmoid MLP with a linear scalar output and the loss 1/2 (y_L - y)^2."""

from __future__ import annotations

import numpy as np

from grader.checks import Close, SequenceOf, TupleOf
from grader.spec import Case, FunctionProblem, Mistake

from ..common.activations import apply

STATEMENT = r"""
An MLP with $L$ layers maps $x \in \mathbb{R}^{n_0}$ to a scalar:

$$y_0 = x, \qquad y_\ell = \sigma(A_\ell y_{\ell-1} + b_\ell) \quad (\ell = 1, \dots, L-1), \qquad
y_L = A_L y_{L-1} + b_L,$$

where $\sigma(z) = 1/(1+e^{-z})$ is the **sigmoid**, applied elementwise to the hidden layers only;
the **last layer is linear**. $A_\ell$ has shape $(n_\ell, n_{\ell-1})$ and $b_\ell$ has length
$n_\ell$, with $n_L = 1$: $A_L$ has one row and $b_L$ is a vector of length 1. For a target
$y \in \mathbb{R}$ the loss is

$$\mathcal{L} = \tfrac12\,(y_L - y)^2 .$$

Write `mlp_backprop(A_list, b_list, x, y)` returning `(dA_list, db_list)`, the gradients
$\partial\mathcal{L}/\partial A_\ell$ and $\partial\mathcal{L}/\partial b_\ell$ for
$\ell = 1, \dots, L$, in the order of `A_list`.

- `A_list[l]` is a 2-D array, `b_list[l]`, `x` are **1-D arrays** (vectors are never column
  matrices), `y` is a float; $L$ = `len(A_list)` may be 1 (then the network is just
  $y_1 = A_1 x + b_1$).
- `dA_list[l]` has the shape of `A_list[l]` and `db_list[l]` the shape of `b_list[l]`
  (so `db_list[-1]` has shape `(1,)`).
- Write $z_\ell = A_\ell y_{\ell-1} + b_\ell$ for the pre-activations. Recall
  $\sigma'(z) = \sigma(z)\,(1 - \sigma(z))$: the derivative is taken at the pre-activation
  $z_\ell$, and can be computed from the activation $y_\ell = \sigma(z_\ell)$.
- Some test networks have **saturated** units (pre-activations in the tens), where $\sigma'$ is
  tiny and the gradients of the earlier layers nearly vanish; the answer must not contain NaN.

Example: with one layer ($L = 1$), `A_list = [np.array([[1., 2.]])]`, `b_list = [np.array([0.5])]`,
`x = np.array([1., -1.])`, `y = 1.0`: $y_1 = -0.5$, so `db_list = [array([-1.5])]` and
`dA_list = [array([[-1.5, 1.5]])]`.
"""

# Tolerance (the course's precision policy: a correct float32 computation passes, see README). A correct
# implementation differs from the reference only by rounding: a few layers of small matrix products (relative
# error ~eps), except for saturated units, where sigma(z)(1 - sigma(z)) loses relative precision in (1 -
# sigma(z)) (the reference uses sigma(z) sigma(-z)), and float32 rounds sigma(z) to exactly 1 (so sigma' to 0
# where it is ~1e-23); those errors are absolute, ~eps times the scale of the gradient. Worst float32 twin
# (torch autograd): 1.3e-6 absolute on gradients of size ~9. The course defaults rtol 1e-4 / atol 1e-5 * max(1,
# max|part|) leave a margin of ~8, while every listed mistake changes the gradient by a relative O(1) amount.
RTOL, ATOL = 1e-4, 1e-5


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return apply("sigmoid", z)


def _backprop(A_list, b_list, x, y, *, dy_sign: float = 1.0, deriv: str = "s(1-s)", transpose: bool = False,
              loss: bool = True, sigmoid_out: bool = False, loss_factor: float = 1.0):
    """The reference, with switches for the known slips."""
    A_list = [np.asarray(A, dtype=np.float64) for A in A_list]
    b_list = [np.asarray(b, dtype=np.float64).reshape(-1) for b in b_list]
    n_layers = len(A_list)
    ys, zs = [np.asarray(x, dtype=np.float64).reshape(-1)], []
    for ell, (A, b) in enumerate(zip(A_list, b_list, strict=True)):
        z = A @ ys[-1] + b
        zs.append(z)
        hidden = ell < n_layers - 1
        ys.append(_sigmoid(z) if hidden or sigmoid_out else z)
    delta = loss_factor * dy_sign * (ys[-1] - float(y)) if loss else np.ones(1)
    if sigmoid_out:
        delta = delta * _sigmoid(zs[-1]) * _sigmoid(-zs[-1])
    dA_list, db_list = [None] * n_layers, [None] * n_layers
    for ell in range(n_layers - 1, -1, -1):
        dA = np.outer(delta, ys[ell])
        dA_list[ell] = dA.T.copy() if transpose else dA
        db_list[ell] = delta.copy()
        if ell > 0:
            z, s = zs[ell - 1], ys[ell]
            factor = {
                "s(1-s)": _sigmoid(z) * _sigmoid(-z),      # sigma'(z), computed without cancellation
                "z(1-z)": z * (1.0 - z),                    # the formula applied to the pre-activation
                "s": s,                                     # sigma instead of sigma'
                "sigma'(s)": _sigmoid(s) * _sigmoid(-s),    # sigma' at the activation, not at z
                "none": np.ones_like(z),                    # sigma' forgotten
            }[deriv]
            delta = factor * (A_list[ell].T @ delta)
    return dA_list, db_list


def reference(A_list: list, b_list: list, x: np.ndarray, y: float) -> tuple[list, list]:
    return _backprop(A_list, b_list, x, y)


def _network(rng: np.random.Generator, widths: list[int], scale: float, bias: float):
    A_list = [rng.normal(0.0, scale, (widths[i + 1], widths[i])) for i in range(len(widths) - 1)]
    b_list = [rng.normal(0.0, bias, widths[i + 1]) for i in range(len(widths) - 1)]
    return A_list, b_list


def generate(rng: np.random.Generator, index: int) -> Case:
    kind = index % 5
    y = float(np.round(rng.normal(0.0, 2.0), 3))
    if kind == 1:  # L = 1: a linear model, no hidden layer
        n0 = int(rng.integers(1, 6))
        A_list, b_list = _network(rng, [n0, 1], 1.0, 1.0)
        return Case((A_list, b_list, rng.normal(0.0, 1.0, n0), y), "one layer (no hidden layer)")
    if kind == 2:  # every width 1
        depth = int(rng.integers(2, 5))
        A_list, b_list = _network(rng, [1] * (depth + 1), 1.5, 1.0)
        return Case((A_list, b_list, rng.normal(0.0, 1.0, 1), y), f"{depth} layers, every width 1")
    if kind == 3:  # saturated sigmoids: pre-activations of size 10-40
        depth = int(rng.integers(2, 5))
        widths = [int(rng.integers(1, 5)) for _ in range(depth)] + [1]
        A_list, b_list = _network(rng, widths, 4.0, 1.0)
        for b in b_list[:-1]:
            b += rng.choice([-1.0, 1.0], b.shape) * rng.uniform(10.0, 25.0, b.shape)
        return Case((A_list, b_list, rng.normal(0.0, 2.0, widths[0]), y), f"{depth} layers, saturated sigmoids")
    depth = 4 if kind == 4 else int(rng.integers(2, 4))
    widths = [int(rng.integers(1, 6)) for _ in range(depth)] + [1]
    A_list, b_list = _network(rng, widths, 1.0, 0.5)
    return Case((A_list, b_list, rng.normal(0.0, 1.0, widths[0]), y),
                f"{depth} layers, widths {widths}")


def _examples() -> tuple[Case, ...]:
    one = Case(([np.array([[1.0, 2.0]])], [np.array([0.5])], np.array([1.0, -1.0]), 1.0),
               "one layer: the example of the statement")
    two = Case(([np.array([[0.5, -1.0], [1.0, 0.0], [0.0, 2.0]]), np.array([[1.0, -2.0, 0.5]])],
                [np.array([0.0, 0.5, -1.0]), np.array([0.1])], np.array([1.0, 2.0]), 1.0),
               "two layers, widths 2 -> 3 -> 1")
    return one, two


_MATRIX = Close(rtol=RTOL, atol=ATOL)

PROBLEM = FunctionProblem(
    id="mlp_backprop",
    title="Backpropagation through a sigmoid MLP",
    statement=STATEMENT,
    function="mlp_backprop",
    signature="mlp_backprop(A_list: list, b_list: list, x: np.ndarray, y: float) -> tuple[list, list]",
    returns="(dA_list, db_list): lists of arrays shaped like A_list and b_list",
    reference=reference,
    examples=_examples(),
    generate=generate,
    check=TupleOf(dA_list=SequenceOf(_MATRIX, "dA_list"), db_list=SequenceOf(_MATRIX, "db_list")),
    public_count=5,
    hidden_count=10,
    mistakes=(
        Mistake("the sign of dL/dy_L is flipped: the derivative of 1/2 (y_L - y)^2 is y_L - y, not y - y_L",
                lambda A, b, x, y: _backprop(A, b, x, y, dy_sign=-1.0)),
        Mistake("you returned the gradient of y_L, not of the loss: multiply by dL/dy_L = y_L - y",
                lambda A, b, x, y: _backprop(A, b, x, y, loss=False)),
        Mistake("the 1/2 of the loss is missing: dL/dy_L = y_L - y, not 2 (y_L - y)",
                lambda A, b, x, y: _backprop(A, b, x, y, loss_factor=2.0)),
        Mistake("sigma'(z) was computed as z(1 - z): the formula sigma(z)(1 - sigma(z)) needs the activation "
                "s = sigma(z), not the pre-activation z",
                lambda A, b, x, y: _backprop(A, b, x, y, deriv="z(1-z)")),
        Mistake("sigma'(z) was replaced by sigma(z): the derivative of the sigmoid is sigma(z)(1 - sigma(z))",
                lambda A, b, x, y: _backprop(A, b, x, y, deriv="s")),
        Mistake("sigma' was evaluated at the activation y_l = sigma(z_l) instead of at the pre-activation z_l "
                "(sigma applied twice): use y_l (1 - y_l)",
                lambda A, b, x, y: _backprop(A, b, x, y, deriv="sigma'(s)")),
        Mistake("the factor sigma'(z_l) of the hidden layers is missing from the backward pass",
                lambda A, b, x, y: _backprop(A, b, x, y, deriv="none")),
        Mistake("the output layer is linear: y_L = A_L y_(L-1) + b_L has no sigmoid",
                lambda A, b, x, y: _backprop(A, b, x, y, sigmoid_out=True)),
        Mistake("dA_l is transposed: dL/dA_l = delta_l y_(l-1)^T has the shape of A_l, (n_l, n_(l-1))",
                lambda A, b, x, y: _backprop(A, b, x, y, transpose=True)),
    ),
)
