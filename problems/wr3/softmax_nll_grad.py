"""wr3: the gradient of the softmax / negative-log-likelihood loss with respect to the weight matrix."""

from __future__ import annotations

import numpy as np

from grader.checks import Close
from grader.spec import Case, FunctionProblem, Mistake

STATEMENT = r"""
A linear classifier with weights $W \in \mathbb{R}^{m \times n}$ maps an input
$x \in \mathbb{R}^n$ to the logits $l = W x \in \mathbb{R}^m$, the probabilities
$s = \operatorname{softmax}(l)$, $s_i = \dfrac{e^{l_i}}{\sum_{k} e^{l_k}}$, and,
for the true class $y$, the loss

$$L = -\log s_y .$$

Write `softmax_nll_grad(W, x, y)` returning $\dfrac{\partial L}{\partial W}$,
an array of shape `(m, n)` (the same shape as `W`): entry `[i, j]` is
$\partial L / \partial W_{ij}$.

Conventions:

- `W` is a float64 array of shape `(m, n)`, `x` a **1-D** float64 array of
  length `n` (not a column matrix), `y` an `int` with `0 <= y < m`
  (**0-based** class index).
- Return a float64 array of shape `(m, n)`.
- Hint: $\dfrac{\partial L}{\partial l} = s - e_y$, where $e_y$ is the one-hot
  vector of class $y$; then apply the chain rule through $l = W x$.
- **Numerical stability**: some tests have logits in the thousands (or minus
  the thousands), where `np.exp` overflows to `inf` (or every term underflows
  to 0). Softmax does not change when a constant is subtracted from every
  logit, so compute it from $l - \max_k l_k$.

Example: `W = [[1., 0.], [0., 1.], [1., 1.]]`, `x = [1., 2.]`, `y = 0` gives
logits $l = (1, 2, 3)$, $s \approx (0.0900, 0.2447, 0.6652)$ and

```
dL/dW ≈ [[-0.9100, -1.8199],
         [ 0.2447,  0.4895],
         [ 0.6652,  1.3305]]
```
"""


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - np.max(logits)
    e = np.exp(z)
    return e / e.sum()


def _delta(W: np.ndarray, x: np.ndarray, y: int) -> np.ndarray:
    """dL/dl = s - e_y."""
    g = _softmax(np.asarray(W, dtype=np.float64) @ np.asarray(x, dtype=np.float64))
    g[int(y)] -= 1.0
    return g


def reference(W: np.ndarray, x: np.ndarray, y: int) -> np.ndarray:
    return np.outer(_delta(W, x, y), np.asarray(x, dtype=np.float64))


# ------------------------------------------------------------------ known mistakes


def wrong_sign(W: np.ndarray, x: np.ndarray, y: int) -> np.ndarray:
    return -reference(W, x, y)


def no_outer_product(W: np.ndarray, x: np.ndarray, y: int) -> np.ndarray:
    return _delta(W, x, y)


def transposed(W: np.ndarray, x: np.ndarray, y: int) -> np.ndarray:
    return np.outer(np.asarray(x, dtype=np.float64), _delta(W, x, y))


def column_delta(W: np.ndarray, x: np.ndarray, y: int) -> np.ndarray:
    # dL/dl = s - e_y kept as a column vector (m, 1) and returned without the outer product with x
    return _delta(W, x, y)[:, None]


def missing_one_hot(W: np.ndarray, x: np.ndarray, y: int) -> np.ndarray:
    return np.outer(_softmax(W @ x), x)


def one_based_class(W: np.ndarray, x: np.ndarray, y: int) -> np.ndarray:
    # a student who writes s[y - 1] -= 1 (1-based thinking); numpy wraps y - 1 = -1 to the last class
    g = _softmax(W @ x)
    g[(int(y) - 1) % len(g)] -= 1.0
    return np.outer(g, x)


def naive_softmax(W: np.ndarray, x: np.ndarray, y: int) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        e = np.exp(W @ x)
        g = e / e.sum()
        g[int(y)] -= 1.0
        return np.outer(g, x)


def naive_log_softmax(W: np.ndarray, x: np.ndarray, y: int) -> np.ndarray:
    # log s = l - log(sum exp l) computed naively: log(inf) = inf, so s = exp(-inf) = 0 for every class
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        logits = W @ x
        g = np.exp(logits - np.log(np.sum(np.exp(logits))))
        g[int(y)] -= 1.0
        return np.outer(g, x)


# ------------------------------------------------------------------ cases

KINDS = ("huge positive logits", "random", "one input feature (n = 1)", "huge negative logits",
         "confident prediction of the true class", "two classes")


def _with_logits(rng: np.random.Generator, m: int, n: int, top: float) -> tuple[np.ndarray, np.ndarray]:
    """Random W, x whose logits W x have maximum ``top`` and lie within a random spread below it."""
    x = rng.normal(0, 1.5, n)
    while float(x @ x) < 0.25:
        x = rng.normal(0, 1.5, n)
    logits = top - rng.uniform(0, float(rng.choice([2.0, 20.0, 200.0])), m)
    logits[rng.integers(0, m)] = top
    W0 = rng.normal(0, 1.5, (m, n))
    return W0 + np.outer(logits - W0 @ x, x) / float(x @ x), x


def generate(rng: np.random.Generator, index: int) -> Case:
    kind = KINDS[index % len(KINDS)]
    m, n = int(rng.integers(2, 9)), int(rng.integers(1, 9))
    if kind == "one input feature (n = 1)":
        n = 1
    if kind == "two classes":
        m = 2
    y = int(rng.integers(0, m))
    # Logits around 1000 are enough to break a naive softmax (float64 exp overflows above 709.78 and
    # underflows to 0 below -745) and small enough for float32 to resolve them (see the tolerance).
    if kind == "huge positive logits":  # naive exp overflows: inf / inf = NaN
        W, x = _with_logits(rng, m, n, rng.uniform(750, 1500))
    elif kind == "huge negative logits":  # naive exp underflows everywhere: 0 / 0 = NaN
        W, x = _with_logits(rng, m, n, -rng.uniform(800, 1500))
    else:
        W, x = rng.normal(0, 1.5, (m, n)), rng.normal(0, 1.5, n)
        if kind == "confident prediction of the true class":
            y = int(np.argmax(W @ x))
    return Case((W, x, y), kind)


EXAMPLES = (
    Case((np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([1.0, 2.0]), 0),
         "the example of the statement"),
    Case((np.array([[1000.0, 0.0], [0.0, 1000.0], [-1.0, 2.0]]), np.array([1.0, 0.5]), 1),
         "logits (1000, 500, 0): np.exp overflows unless the maximum is subtracted"),
    Case((np.array([[0.5, -1.0, 2.0]]), np.array([1.0, 2.0, -0.5]), 0),
         "one class (m = 1): s = (1), so the gradient is 0"),
)

# Tolerance (the course's precision policy: a correct float32 computation passes). Rounding W and x
# to float32 moves each logit by ~eps32 * |l| (eps32 = 6e-8), i.e. up to ~1e-4 when |l| ~ 1500, and the
# probabilities s_i by that much relatively: the softmax of logits in the thousands is ill-conditioned,
# which is why the huge-logit cases stop at ~1500 (enough to overflow a naive exp in float64). rtol 1e-3
# leaves a margin of 3-10 over the worst float32 twin (tests/oracles/test_float32.py); atol 1e-5 (times
# max(1, max|dL/dW|)) absorbs entries that are zero up to rounding, such as s_y - 1 ~ -1e-23 for a
# confident prediction, which float32 computes as 0 or ~eps32 * |x_j|. Every known mistake is off by O(|x_j|).
CHECK = Close(rtol=1e-3, atol=1e-5)

PROBLEM = FunctionProblem(
    id="softmax_nll_grad",
    title="Gradient of softmax + negative log-likelihood",
    statement=STATEMENT,
    function="softmax_nll_grad",
    signature="softmax_nll_grad(W: np.ndarray, x: np.ndarray, y: int) -> np.ndarray",
    returns="array of shape (m, n)",
    reference=reference,
    examples=EXAMPLES,
    generate=generate,
    check=CHECK,
    public_count=6,
    hidden_count=12,
    mistakes=(
        Mistake("wrong sign: dL/dl = s - e_y (probabilities minus the one-hot vector), you used e_y - s",
                wrong_sign),
        Mistake("you returned dL/dl = s - e_y, a vector of length m: dL/dW is the outer product "
                "(s - e_y) x^T, of shape (m, n)", no_outer_product),
        Mistake("you returned dL/dl = s - e_y as a column vector of shape (m, 1): dL/dW is the outer product "
                "(s - e_y) x^T, of shape (m, n)", column_delta),
        Mistake("transposed: dL/dW = (s - e_y) x^T has shape (m, n), you computed x (s - e_y)^T",
                transposed),
        Mistake("the -1 at the true class is missing: dL/dl = s - e_y, not s", missing_one_hot),
        Mistake("the one-hot vector is at class y - 1: y is a 0-based index, subtract 1 at s[y]",
                one_based_class),
        Mistake("softmax computed naively: np.exp of large logits overflows (inf/inf = NaN) or every term "
                "underflows to 0; subtract max(l) from the logits before exponentiating", naive_softmax),
        Mistake("log-softmax computed naively: log(sum(exp(l))) overflows to inf, so every probability "
                "became 0; subtract max(l) before exponentiating", naive_log_softmax),
    ),
)
