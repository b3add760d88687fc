"""hw7: gradients of a 1-D convolutional network's scalar output with respect to its filters and biases."""

from __future__ import annotations

import numpy as np

from grader.checks import Close, SequenceOf, TupleOf
from grader.spec import Case, FunctionProblem, Mistake

from ..common import activations

STATEMENT = r"""
A **1-D convolutional network** with $L$ layers maps $x = y_0 \in \mathbb{R}^{n_0}$ to a scalar:

$$y_l = \sigma\big(A_{w_l} y_{l-1} + b_l \mathbf{1}_{n_l}\big), \quad l = 1, \dots, L-1, \qquad
y_L = A_{w_L} y_{L-1} + b_L \quad(\text{no activation}).$$

Here $w_l \in \mathbb{R}^{f_l}$ is a filter, $A_{w_l} \in \mathbb{R}^{n_l \times n_{l-1}}$ is its
**valid cross-correlation** matrix, $(A_{w_l} v)_i = \sum_{k=0}^{f_l-1} (w_l)_k\, v_{i+k}$
(0-based indices, as in `conv1d_matvec`), so $n_l = n_{l-1} - f_l + 1$; $b_l$ is a **scalar**
added to every position ($\mathbf{1}_{n_l}$ is the all-ones vector). The last filter is as long as
its input, $f_L = n_{L-1}$, so $y_L \in \mathbb{R}^1$ is a single number. When $L = 1$ the network
is just $y_1 = w_1^\top x + b_1$.

Write `conv1d_net_grads(x, w_list, b_list, activation)` returning the tuple `(dw_list, db_list)`:

- `dw_list[l-1]` $= \partial y_L / \partial w_l$, a 1-D float64 array of length $f_l$;
- `db_list[l-1]` $= \partial y_L / \partial b_l$, a **float** (a bias is one number shared by all
  positions, so its gradient is one number too).

Inputs: `x` is a 1-D float64 array, `w_list` a list of $L \ge 1$ 1-D float64 arrays, `b_list` a
list of $L$ floats and `activation` the name of $\sigma$: `"relu"`, `"leaky_relu"` (slope 0.01 for
negative inputs), `"sigmoid"`, `"tanh"` or `"identity"`. The derivative $\sigma'$ is evaluated at the
pre-activation $z_l = A_{w_l} y_{l-1} + b_l \mathbf{1}$. Products with $A_{w_l}^\top$ are the
transposed convolutions of `conv1d_vecmat`.

Example: `x = [1, 2, 3, 4, 5]`, `w_list = [[1, -1], [0.5, 0.5, 0.5, 0.5]]`,
`b_list = [0.5, 0.0]`, `activation = "relu"`: $z_1 = (-0.5, -0.5, -0.5, -0.5)$, all ReLUs are
off, so `dw_list = [[0, 0], [0, 0, 0, 0]]` and `db_list = [0.0, 1.0]`.
"""


def _arrays(x, w_list, b_list):
    x = np.asarray(x, dtype=np.float64)
    ws = [np.asarray(w, dtype=np.float64) for w in w_list]
    bs = [float(b) for b in b_list]
    return x, ws, bs


def _forward(x, ws, bs, activation, last_activated=False):
    """Inputs y_{l-1} and pre-activations z_l of every layer."""
    inputs, pre = [], []
    y = x
    for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
        z = np.correlate(y, w, mode="valid") + b
        inputs.append(y)
        pre.append(z)
        last = i == len(ws) - 1
        y = activations.apply(activation, z) if (not last or last_activated) else z
    return inputs, pre


def _backward(x, w_list, b_list, activation, *, at="z", last_activated=False, bias="sum", flip=False,
              sigma_prime=True):
    """The reference backward pass, with switches for the known slips."""
    x, ws, bs = _arrays(x, w_list, b_list)
    inputs, pre = _forward(x, ws, bs, activation)
    depth = len(ws)
    g = np.ones(1)  # dy_L / dy_L
    dws, dbs = [None] * depth, [None] * depth
    for i in reversed(range(depth)):  # layer i + 1 in the statement's numbering
        z = pre[i]
        if i < depth - 1 or last_activated:
            point = z if at == "z" else activations.apply(activation, z)
            delta = g * activations.derivative(activation, point) if sigma_prime else g
        else:
            delta = g
        dw = np.correlate(inputs[i], delta, mode="valid")  # dw_k = sum_j delta_j y_{l-1, j+k}
        dws[i] = dw[::-1].copy() if flip else dw
        dbs[i] = float(delta.sum()) if bias == "sum" else (delta.copy() if bias == "vector" else float(delta[0]))
        g = np.convolve(delta, ws[i], mode="full")  # delta^T A_{w_l}
    return dws, dbs


def reference(x: np.ndarray, w_list: list, b_list: list, activation: str) -> tuple[list, list]:
    return _backward(x, w_list, b_list, activation)


def sigma_prime_at_output(x, w_list, b_list, activation):
    return _backward(x, w_list, b_list, activation, at="y")


def bias_vector(x, w_list, b_list, activation):
    return _backward(x, w_list, b_list, activation, bias="vector")


def bias_first(x, w_list, b_list, activation):
    return _backward(x, w_list, b_list, activation, bias="first")


def flipped(x, w_list, b_list, activation):
    return _backward(x, w_list, b_list, activation, flip=True)


def last_activated(x, w_list, b_list, activation):
    # sigma' of the last pre-activation multiplies every gradient (the forward pass is unchanged)
    return _backward(x, w_list, b_list, activation, last_activated=True)


def no_sigma_prime(x, w_list, b_list, activation):
    return _backward(x, w_list, b_list, activation, sigma_prime=False)


# (activation, depth, shape) of the edge cases; index % 8 picks one so all appear early.
EDGES = (
    ("sigmoid", 2, "random"),
    ("tanh", 3, "filter_of_length_1"),
    ("relu", 4, "random"),
    ("leaky_relu", 3, "hidden_length_1"),
    ("identity", 2, "random"),
    (None, 1, "random"),
    ("tanh", 4, "random"),
    (None, None, "random"),
)


def generate(rng: np.random.Generator, index: int) -> Case:
    activation, depth, shape = EDGES[index % len(EDGES)]
    activation = activation or str(rng.choice(activations.NAMES))
    depth = depth or int(rng.integers(1, 5))
    hidden = depth - 1
    filters = [int(rng.integers(1, 5)) for _ in range(hidden)]
    if shape == "filter_of_length_1" and hidden:
        filters[int(rng.integers(0, hidden))] = 1
    n = sum(f - 1 for f in filters) + int(rng.integers(1, 6))  # n_{L-1} >= 1
    if shape == "hidden_length_1" and hidden:
        n = sum(f - 1 for f in filters) + 1  # the last hidden layer has a single position
    x = rng.normal(0, 1, n)
    sizes, m = [], n
    for f in filters:
        m = m - f + 1
        sizes.append(f)
    sizes.append(m)  # the last filter covers the whole last hidden vector: one output
    w_list = [rng.normal(0, 1, f) for f in sizes]
    for w in w_list:  # never symmetric, so that a flipped filter gradient gives another answer
        if len(w) > 1 and np.allclose(w, w[::-1]):
            w[0] += 1.0
    b_list = [float(b) for b in rng.normal(0, 0.5, depth)]
    label = f"{activation}, {depth} layer{'s' if depth > 1 else ''}"
    if shape != "random" and hidden:
        label += ", " + shape.replace("_", " ")
    return Case((x, w_list, b_list, activation), label)


# Tolerance (the course's precision policy: a correct float32 computation passes, see README). Backprop through
# at most 4 short conv layers of O(1) values: well conditioned, but a gradient entry may be the difference of
# larger terms, so its float32 rounding error is relative to the scale of the whole gradient (worst float32
# twin: 1.1e-5 of max|dw|). The course defaults, rtol 1e-4 and atol 1e-5 * max(1, max|part|), cover that by ~10
# at gradients of size ~1 and more at larger ones; every mistake changes some gradient by O(1).
_part = Close(rtol=1e-4, atol=1e-5)

PROBLEM = FunctionProblem(
    id="conv1d_net_grads",
    title="Backpropagation through a 1-D convolutional network",
    statement=STATEMENT,
    function="conv1d_net_grads",
    signature="conv1d_net_grads(x: np.ndarray, w_list: list, b_list: list, activation: str) -> tuple",
    returns="(dw_list, db_list): a list of 1-D arrays (length f_l) and a list of floats",
    reference=reference,
    examples=(
        Case((np.array([1.0, 2.0, 3.0, 4.0, 5.0]), [np.array([1.0, -1.0]), np.array([0.5, 0.5, 0.5, 0.5])],
              [0.5, 0.0], "relu"), "relu, 2 layers, every ReLU off"),
        Case((np.array([0.5, -1.0, 2.0, 0.0, 1.0, -0.5]),
              [np.array([1.0, -2.0, 0.5]), np.array([0.3, -0.7]), np.array([1.0, 2.0, -1.0])],
              [0.1, -0.2, 0.3], "tanh"), "tanh, 3 layers"),
    ),
    generate=generate,
    # Gradients are sums of at most a few hundred products of O(1) factors (weights ~N(0,1), at most
    # four layers of filters of length <= 4), so float64 errors of any correct evaluation order are
    # ~1e-14; rtol 1e-8 and atol 1e-10 (for gradients that cancel to ~0) leave a wide margin.
    check=TupleOf(dw_list=SequenceOf(_part, "dw_list"), db_list=SequenceOf(_part, "db_list")),
    mistakes=(
        Mistake("sigma' was evaluated at the layer's output y_l = sigma(z_l); it belongs at the pre-activation "
                "z_l = A_{w_l} y_{l-1} + b_l 1", sigma_prime_at_output),
        Mistake("the bias gradient was not summed over positions: b_l is one number added to every entry, so "
                "dy_L/db_l = sum_i delta_i (a float), not the vector delta", bias_vector),
        Mistake("the bias gradient is only the first position's: b_l is added to every entry, so "
                "dy_L/db_l = sum_i delta_i", bias_first),
        Mistake("the filter gradient is reversed: dy_L/d(w_l)_k = sum_i delta_i (y_{l-1})_{i+k} "
                "(a correlation of y_{l-1} with delta, not a convolution)", flipped),
        Mistake("the last layer was treated as activated: y_L = A_{w_L} y_{L-1} + b_L has no sigma, so "
                "no sigma' factor at the output", last_activated),
        Mistake("the factor sigma'(z_l) is missing: the network was differentiated as if it were linear",
                no_sigma_prime),
    ),
)
