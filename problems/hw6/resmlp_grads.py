"""hw6: parameter gradients of the scalar output of a residual MLP."""

from __future__ import annotations

import numpy as np

from grader.checks import Close, SequenceOf, TupleOf
from grader.spec import Case, FunctionProblem, Mistake

from ..common import activations as act

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "identity")

STATEMENT = r"""
A **residual MLP** with $L \ge 2$ layers maps $x \in \mathbb{R}^{n_0}$ to a scalar:

$$
\begin{aligned}
y_1 &= \sigma(A_1 x + b_1), \\
y_l &= \sigma(A_l\, y_{l-1} + b_l) + y_{l-1}, \qquad l = 2, \dots, L-1 \quad\text{(residual layers)}, \\
y_L &= A_L\, y_{L-1} + b_L \in \mathbb{R} \quad\text{(linear, no activation, no skip connection)}.
\end{aligned}
$$

The first layer has **no** skip connection ($x$ and $y_1$ may even have
different lengths). All hidden layers have the same width $m$ so that the
skip connections add up. For $L = 2$ there is no residual layer:
$y_2 = A_2\, \sigma(A_1 x + b_1) + b_2$.

Write `resmlp_grads(A_list, b_list, x, activation)` returning
`(dA_list, db_list)`, the gradients of the scalar $y_L$ with respect to every
parameter: `dA_list[l-1]` $= \partial y_L / \partial A_l$ and
`db_list[l-1]` $= \partial y_L / \partial b_l$ for $l = 1, \dots, L$.

Shapes (all float64 numpy arrays; code indices are 0-based, so `A_list[0]` is $A_1$):

- `A_list[0]` is $(m, n_0)$; `A_list[l]` is $(m, m)$ for the residual layers;
  `A_list[-1]` is $(1, m)$.
- `b_list[l]` is a 1-D array of length $m$, except `b_list[-1]`, which has shape $(1,)$.
- `x` is a 1-D array of length $n_0$.
- Each gradient has **the same shape as its parameter**: entry `[i, j]` of
  `dA_list[l-1]` is $\partial y_L / \partial (A_l)_{ij}$; `db_list[-1]` has shape $(1,)$.

`activation` is one of `"relu"`, `"leaky_relu"` (slope $0.01$ for $z \le 0$),
`"sigmoid"`, `"tanh"`, `"identity"`. At a kink use PyTorch's convention:
$\text{relu}'(0) = 0$, $\text{leaky\_relu}'(0) = 0.01$ (the tests avoid exact zeros).

Hint: the Jacobian of a residual layer is
$\partial y_l / \partial y_{l-1} = \operatorname{diag}\big(\sigma'(A_l y_{l-1} + b_l)\big) A_l + I$,
so the gradient still flows back through a layer whose ReLUs are all inactive.

Example ($L = 3$, ReLU):

```
A_list = [np.array([[1., -1.], [0.5, 2.]]), np.array([[1., 0.], [-2., 1.]]), np.array([[1., -1.]])]
b_list = [np.array([0., -1.]), np.array([0.5, -0.5]), np.array([0.])]
x = np.array([1., 0.5])
```

gives $y_1 = (0.5, 0.5)$, $y_2 = \operatorname{relu}(1, -1) + y_1 = (1.5, 0.5)$, $y_3 = 1$ and

```
dA_list = [[[2., 1.], [-1., -0.5]],   [[0.5, 0.5], [0., 0.]],   [[1.5, 0.5]]]
db_list = [[2., -1.],                 [1., 0.],                 [1.]]
```
"""


def _forward(A_list, b_list, x, activation, *, residual_first=False, residual=True, skip_inside=False):
    """Pre-activations z_l (l = 1..L-1) and outputs y_0 = x, y_1, ..., y_{L-1}."""
    ys = [np.asarray(x, dtype=np.float64)]
    zs = []
    hidden = len(A_list) - 1
    for k in range(hidden):
        A, b = np.asarray(A_list[k], dtype=np.float64), np.asarray(b_list[k], dtype=np.float64)
        z = A @ ys[-1] + b
        skip = residual and (k > 0 or residual_first)
        if skip and skip_inside:
            z = z + ys[-1]
            y = act.apply(activation, z)
        else:
            y = act.apply(activation, z) + (ys[-1] if skip else 0.0)
        zs.append(z)
        ys.append(y)
    return zs, ys


def _backward(A_list, zs, ys, activation, *, identity_path=True, slope_at=None, skip_inside=False,
              transpose=False):
    """Gradients given the forward pass; the keyword arguments produce the known mistakes."""
    L = len(A_list)
    A_last = np.asarray(A_list[-1], dtype=np.float64)
    g = A_last[0].copy()  # d y_L / d y_{L-1}
    dA = [None] * L
    db = [None] * L
    dA[-1] = ys[-1][None, :].copy() if not transpose else ys[-1][:, None].copy()
    db[-1] = np.ones(1)
    for k in range(L - 2, -1, -1):
        point = zs[k] if slope_at is None else slope_at[k]
        delta = g * act.derivative(activation, point)
        dA[k] = np.outer(delta, ys[k]) if not transpose else np.outer(ys[k], delta)
        db[k] = delta
        A = np.asarray(A_list[k], dtype=np.float64)
        back = A.T @ delta
        if k >= 1:  # a residual layer: the skip connection carries g back unchanged
            if skip_inside:
                back = back + delta
            elif identity_path:
                back = back + g
        g = back
    return dA, db


def reference(A_list: list, b_list: list, x: np.ndarray, activation: str) -> tuple[list, list]:
    zs, ys = _forward(A_list, b_list, x, activation)
    return _backward(A_list, zs, ys, activation)


# ------------------------------------------------------------------ known mistakes


def no_identity_in_backward(A_list, b_list, x, activation):
    """Forward with skip connections, backward through diag(sigma') A only (the + I forgotten)."""
    zs, ys = _forward(A_list, b_list, x, activation)
    return _backward(A_list, zs, ys, activation, identity_path=False)


def plain_mlp(A_list, b_list, x, activation):
    """No skip connections anywhere: the gradients of a plain MLP."""
    zs, ys = _forward(A_list, b_list, x, activation, residual=False)
    return _backward(A_list, zs, ys, activation, identity_path=False)


def residual_in_first_layer(A_list, b_list, x, activation):
    """y_1 = sigma(A_1 x + b_1) + x; only possible when len(x) == m (or len(x) == 1, by broadcasting)."""
    zs, ys = _forward(A_list, b_list, x, activation, residual_first=True)
    return _backward(A_list, zs, ys, activation)


def slope_at_output(A_list, b_list, x, activation):
    """sigma' evaluated at the layer's output y_l instead of its pre-activation A_l y_{l-1} + b_l."""
    zs, ys = _forward(A_list, b_list, x, activation)
    return _backward(A_list, zs, ys, activation, slope_at=ys[1:])


def skip_before_activation(A_list, b_list, x, activation):
    """y_l = sigma(A_l y_{l-1} + b_l + y_{l-1}): the skip connection added inside the activation."""
    zs, ys = _forward(A_list, b_list, x, activation, skip_inside=True)
    return _backward(A_list, zs, ys, activation, skip_inside=True)


def transposed_dA(A_list, b_list, x, activation):
    zs, ys = _forward(A_list, b_list, x, activation)
    return _backward(A_list, zs, ys, activation, transpose=True)


# ------------------------------------------------------------------ cases


def _network(rng, n0, m, L, scale=1.0):
    A_list = [rng.normal(0, scale / np.sqrt(n0), (m, n0))]
    A_list += [rng.normal(0, scale / np.sqrt(m), (m, m)) for _ in range(L - 2)]
    A_list.append(rng.normal(0, 1.0, (1, m)))
    b_list = [rng.normal(0, 0.5, m) for _ in range(L - 1)] + [rng.normal(0, 0.5, 1)]
    return A_list, b_list


def _adjust_biases(A_list, b_list, x, activation, dead=None):
    """Layer by layer: make hidden layer ``dead`` (0-based) entirely inactive (every pre-activation at
    most -0.5), and move the other pre-activations away from 0, where relu' jumps."""
    y = np.asarray(x, dtype=np.float64)
    for k in range(len(A_list) - 1):
        A = A_list[k]
        if k == dead:
            b_list[k] = -(np.abs(A) @ np.abs(y)) - 0.5
        z = A @ y + b_list[k]
        b_list[k] = np.where(np.abs(z) < 1e-3, b_list[k] + 0.05, b_list[k])
        z = A @ y + b_list[k]
        y = act.apply(activation, z) + (y if k > 0 else 0.0)


def generate(rng: np.random.Generator, index: int) -> Case:
    kind = index % 6
    m = int(rng.integers(2, 6))
    if kind == 0:  # a residual layer whose ReLUs are all dead: only the identity path carries gradient
        L, activation = int(rng.integers(4, 6)), "relu"
        n0 = int(rng.integers(1, 5))
        A_list, b_list = _network(rng, n0, m, L)
        x = rng.normal(0, 1, n0)
        _adjust_biases(A_list, b_list, x, activation, dead=int(rng.integers(1, L - 1)))
        label = "ReLU, one residual layer entirely inactive"
    elif kind == 1:  # len(x) == m: adding a skip connection to layer 1 would not raise an error
        L, activation = int(rng.integers(3, 5)), str(rng.choice(["sigmoid", "tanh"]))
        n0 = m
        A_list, b_list = _network(rng, n0, m, L)
        x = rng.normal(0, 1, n0)
        label = f"{activation}, len(x) = m"
    elif kind == 2:  # no residual layer at all
        L, activation = 2, str(rng.choice(ACTIVATIONS))
        n0 = int(rng.integers(1, 5))
        A_list, b_list = _network(rng, n0, m, L)
        x = rng.normal(0, 1, n0)
        label = f"{activation}, L = 2 (no residual layer)"
    elif kind == 3:  # deep
        L, activation = int(rng.integers(5, 8)), str(rng.choice(["tanh", "sigmoid", "identity"]))
        n0 = int(rng.integers(1, 5))
        A_list, b_list = _network(rng, n0, m, L, scale=0.7)
        x = rng.normal(0, 1, n0)
        label = f"{activation}, deep (L = {L})"
    elif kind == 4:  # leaky ReLU with a layer entirely in the negative region
        L, activation = int(rng.integers(3, 6)), "leaky_relu"
        n0 = int(rng.integers(1, 5))
        A_list, b_list = _network(rng, n0, m, L)
        x = rng.normal(0, 1, n0)
        _adjust_biases(A_list, b_list, x, activation, dead=int(rng.integers(0, L - 1)))
        label = "leaky ReLU, one layer entirely in the negative region"
    else:
        L, activation = int(rng.integers(3, 6)), str(rng.choice(ACTIVATIONS))
        n0 = int(rng.integers(1, 5))
        A_list, b_list = _network(rng, n0, m, L)
        x = rng.normal(0, 1, n0)
        label = f"{activation}, random"
    if activation in ("relu", "leaky_relu") and kind not in (0, 4):
        _adjust_biases(A_list, b_list, x, activation)
    return Case((A_list, b_list, x, activation), label)


def _example() -> Case:
    A_list = [np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([[1.0, 0.0], [-2.0, 1.0]]), np.array([[1.0, -1.0]])]
    b_list = [np.array([0.0, -1.0]), np.array([0.5, -0.5]), np.array([0.0])]
    return Case((A_list, b_list, np.array([1.0, 0.5]), "relu"), "L = 3, ReLU (see the statement)")


# Tolerance (the course's precision policy: a correct float32 computation passes, see README). Backprop through
# a few small residual layers: errors ~eps relative to the scale of each gradient (worst float32 twin, torch
# autograd: 1.9e-6 of max|dA|). The course defaults rtol 1e-4 / atol 1e-5 * max(1, max|part|) leave a margin of
# ~5-100; every mistake is off by O(1).
_gradient = Close(rtol=1e-4, atol=1e-5)

PROBLEM = FunctionProblem(
    id="resmlp_grads",
    title="Gradients of a residual MLP",
    statement=STATEMENT,
    function="resmlp_grads",
    signature="resmlp_grads(A_list: list, b_list: list, x: np.ndarray, activation: str) -> tuple",
    returns="(dA_list, db_list): lists of float64 arrays, shaped like A_list and b_list",
    reference=reference,
    examples=(_example(),),
    generate=generate,
    # float64 backprop agrees with autograd to ~1e-14 relative (entries are O(0.01)..O(10)); rtol 1e-6
    # also admits a careful float32 computation, while every structural slip changes some entry by O(1)
    # relative. atol 1e-9 covers entries that cancel to ~0.
    check=TupleOf(dA_list=SequenceOf(_gradient, "dA_list"), db_list=SequenceOf(_gradient, "db_list")),
    public_count=4,
    hidden_count=8,
    mistakes=(
        Mistake("the skip connection's identity is missing from the backward pass: for a residual layer "
                "dy_l/dy_{l-1} = diag(sigma'(z_l)) A_l + I, so the gradient reaching y_{l-1} is "
                "A_l^T (sigma'(z_l) * g) + g", no_identity_in_backward),
        Mistake("these are the gradients of a plain MLP: layers 2..L-1 have a skip connection, "
                "y_l = sigma(A_l y_{l-1} + b_l) + y_{l-1}, in the forward and in the backward pass", plain_mlp),
        Mistake("the first layer has no skip connection: y_1 = sigma(A_1 x + b_1), without + x",
                residual_in_first_layer),
        Mistake("sigma' must be evaluated at the pre-activation z_l = A_l y_{l-1} + b_l, not at the layer's "
                "output y_l", slope_at_output),
        Mistake("the skip connection is added after the activation: y_l = sigma(A_l y_{l-1} + b_l) + y_{l-1}, "
                "not sigma(A_l y_{l-1} + b_l + y_{l-1})", skip_before_activation),
        Mistake("dA_l is transposed: dy_L/dA_l = (sigma'(z_l) * g) y_{l-1}^T has the shape of A_l, "
                "(n_l, n_{l-1})", transposed_dA),
    ),
)
