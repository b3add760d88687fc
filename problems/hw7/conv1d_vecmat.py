"""hw7: the vector-matrix product u^T A_w of a 1-D valid cross-correlation (transposed convolution)."""

from __future__ import annotations

import numpy as np

from grader.checks import Close
from grader.spec import Case, FunctionProblem, Mistake

STATEMENT = r"""
As in `conv1d_matvec`, $A_w \in \mathbb{R}^{(n-f+1)\times n}$ is the matrix of the **valid 1-D
cross-correlation** with the filter $w = (w_0, \dots, w_{f-1})$:
$(A_w)_{ij} = w_{j-i}$ when $0 \le j-i \le f-1$ and $0$ otherwise (**0-based indices**), so that
$(A_w v)_i = \sum_{k} w_k v_{i+k}$.

Backpropagating through this layer needs the product with the **transpose**: for
$u \in \mathbb{R}^{n-f+1}$,

$$(u^\top A_w)_j = \sum_{i=0}^{n-f} u_i\,(A_w)_{ij} = \sum_{\substack{i=0 \\ 0 \le j-i \le f-1}}^{n-f} u_i\, w_{j-i},
\qquad j = 0, \dots, n-1.$$

This is a *transposed convolution* (`torch.nn.functional.conv_transpose1d`).

Write `conv1d_vecmat(u, w)` returning $u^\top A_w$ as a 1-D float64 array of length
$n = \text{len}(u) + f - 1$. `u` and `w` are 1-D float64 arrays of lengths $\ge 1$; `u` may be
shorter or longer than `w`. You do not need to build $A_w$.

Example: `conv1d_vecmat(np.array([1., -1., 2.]), np.array([1., 2., 3.]))` is `[1., 1., 3., 1., 6.]`
(here $n = 5$; e.g. entry 2 is $u_0 w_2 + u_1 w_1 + u_2 w_0 = 3 - 2 + 2$).
"""


def _arrays(u: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(u, dtype=np.float64), np.asarray(w, dtype=np.float64)


def reference(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    u, w = _arrays(u, w)
    m, f = len(u), len(w)
    out = np.zeros(m + f - 1)
    for i in range(m):  # row i of A_w holds w in columns i .. i+f-1
        out[i:i + f] += u[i] * w
    return out


def forward_product(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    u, w = _arrays(u, w)
    if len(u) < len(w):
        raise ValueError("A_w u is undefined when u is shorter than w")
    return np.correlate(u, w, mode="valid")


def flipped(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    u, w = _arrays(u, w)
    return reference(u, w[::-1])


def same(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    u, w = _arrays(u, w)
    return np.convolve(u, w, mode="same")


def one_too_many(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.append(reference(u, w), 0.0)


def _filter(rng: np.random.Generator, f: int) -> np.ndarray:
    w = rng.normal(0, 1, f)
    if f > 1 and np.allclose(w, w[::-1]):  # never symmetric: a flipped filter must give another answer
        w[0] += 1.0
    return w


def generate(rng: np.random.Generator, index: int) -> Case:
    kind = index % 4
    if kind == 0:  # u at least as long as w: the forward product A_w u is defined too
        f = int(rng.integers(2, 5))
        m, label = int(rng.integers(f, 10)), "random, len(u) >= len(w)"
    elif kind == 1:
        f, m, label = int(rng.integers(2, 6)), 1, "u of length 1 (n = f)"
    elif kind == 2:
        f, m, label = 1, int(rng.integers(1, 8)), "filter of length 1"
    else:
        f = int(rng.integers(3, 8))
        m, label = int(rng.integers(2, f)), "u shorter than w"
    return Case((rng.normal(0, 1, m), _filter(rng, f)), label)


PROBLEM = FunctionProblem(
    id="conv1d_vecmat",
    title="The transpose: u^T A_w (transposed convolution)",
    statement=STATEMENT,
    function="conv1d_vecmat",
    signature="conv1d_vecmat(u: np.ndarray, w: np.ndarray) -> np.ndarray",
    returns="1-D array of length len(u) + len(w) - 1",
    reference=reference,
    examples=(
        Case((np.array([1.0, -1.0, 2.0]), np.array([1.0, 2.0, 3.0])), "u = [1, -1, 2], w = [1, 2, 3]"),
    ),
    generate=generate,
    public_count=4,
    # Each output is a sum of at most 8 products of size O(1): well conditioned. float32 rounding stays ~1e-7
    # relative to the terms (worst float32 twin: 2e-7 of the largest output), so the course defaults rtol 1e-4,
    # atol 1e-5 * max(1, max|output|) accept it with a wide margin (the course's precision policy: a correct
    # float32 computation passes, see README).
    check=Close(rtol=1e-4, atol=1e-5),
    mistakes=(
        Mistake("this is the forward product A_w u (a valid correlation of u, length len(u) - f + 1), not the "
                "transpose u^T A_w = A_w^T u (length len(u) + f - 1)", forward_product),
        Mistake("the filter is flipped: (u^T A_w)_j = sum_i u_i w_{j-i} (np.convolve(u, w)), not "
                "sum_i u_i w_{i-j+f-1} (np.correlate(u, w, 'full'))", flipped),
        Mistake("this is the 'same' mode (length max(len(u), f)); u^T A_w has one entry per column of A_w, "
                "len(u) + f - 1 of them ('full')", same),
        Mistake("one entry too many: A_w has n - f + 1 rows, so n = len(u) + f - 1", one_too_many),
    ),
)
