"""hw7: the matrix-vector product A_w v of a 1-D valid cross-correlation."""

from __future__ import annotations

import numpy as np

from grader.checks import Close
from grader.spec import Case, FunctionProblem, Mistake

STATEMENT = r"""
A filter $w = (w_0, \dots, w_{f-1})$ acts on a vector $v = (v_0, \dots, v_{n-1})$ ($f \le n$) by
**valid 1-D cross-correlation** (what `torch.nn.functional.conv1d` computes, without flipping
the filter). As a matrix, $A_w \in \mathbb{R}^{(n-f+1)\times n}$ has $w$ sliding along its rows:

$$(A_w)_{ij} = \begin{cases} w_{j-i} & 0 \le j - i \le f-1,\\ 0 & \text{otherwise,}\end{cases}
\qquad
A_w = \begin{pmatrix} w_0 & w_1 & \cdots & w_{f-1} & 0 & \cdots & 0\\
0 & w_0 & w_1 & \cdots & w_{f-1} & \cdots & 0\\
\vdots & & \ddots & & & \ddots & \vdots \\
0 & \cdots & 0 & w_0 & w_1 & \cdots & w_{f-1}\end{pmatrix},$$

so that, with **0-based indices**,

$$(A_w v)_i = \sum_{k=0}^{f-1} w_k\, v_{i+k}, \qquad i = 0, \dots, n-f.$$

Write `conv1d_matvec(w, v)` returning $A_w v$ as a 1-D float64 array of length $n - f + 1$
(`w` and `v` are 1-D float64 arrays, $1 \le f \le n$). You do not need to build $A_w$.

Example: `conv1d_matvec(np.array([1., 2., 3.]), np.array([1., 0., -1., 2., 1.]))` is
`[-2., 4., 6.]` (e.g. $1\cdot 1 + 2\cdot 0 + 3\cdot(-1) = -2$).
"""


def reference(w: np.ndarray, v: np.ndarray) -> np.ndarray:
    w, v = np.asarray(w, dtype=np.float64), np.asarray(v, dtype=np.float64)
    f, n = len(w), len(v)
    return np.array([np.dot(w, v[i:i + f]) for i in range(n - f + 1)])


def off_by_one(w: np.ndarray, v: np.ndarray) -> np.ndarray:
    return reference(w, v)[:-1]


def flipped(w: np.ndarray, v: np.ndarray) -> np.ndarray:
    return reference(np.asarray(w)[::-1], v)


def full(w: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.correlate(np.asarray(v, dtype=np.float64), np.asarray(w, dtype=np.float64), mode="full")


def full_flipped(w: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.convolve(np.asarray(v, dtype=np.float64), np.asarray(w, dtype=np.float64), mode="full")


def same(w: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.correlate(np.asarray(v, dtype=np.float64), np.asarray(w, dtype=np.float64), mode="same")


def _filter(rng: np.random.Generator, f: int) -> np.ndarray:
    w = rng.normal(0, 1, f)
    if f > 1 and np.allclose(w, w[::-1]):  # never symmetric: a flipped filter must give another answer
        w[0] += 1.0
    return w


def generate(rng: np.random.Generator, index: int) -> Case:
    kind = index % 4
    if kind == 0:
        f, n = int(rng.integers(2, 5)), int(rng.integers(6, 12))
        label = "random"
    elif kind == 1:  # f = n: one output
        n = int(rng.integers(2, 7))
        f, label = n, "filter as long as the input (one output)"
    elif kind == 2:  # f = 1: a scaling
        f, n, label = 1, int(rng.integers(1, 8)), "filter of length 1"
    else:
        n = int(rng.integers(8, 20))
        f, label = int(rng.integers(3, min(n, 8) + 1)), "long filter"
    return Case((_filter(rng, f), rng.normal(0, 1, n)), label)


PROBLEM = FunctionProblem(
    id="conv1d_matvec",
    title="1-D convolution as a matrix: A_w v",
    statement=STATEMENT,
    function="conv1d_matvec",
    signature="conv1d_matvec(w: np.ndarray, v: np.ndarray) -> np.ndarray",
    returns="1-D array of length n - f + 1",
    reference=reference,
    examples=(
        Case((np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, -1.0, 2.0, 1.0])), "w = [1, 2, 3], v = [1, 0, -1, 2, 1]"),
    ),
    generate=generate,
    public_count=4,
    # Each output is a dot product of at most 8 terms of size O(1): well conditioned. In float32 the rounding of
    # the inputs and of the sum is ~1e-7 relative to the terms (worst float32 twin: 5e-7 of the largest output),
    # so the course defaults rtol 1e-4, atol 1e-5 * max(1, max|output|) (outputs that cancel to ~0) accept it
    # with a margin of ~20 (the course's precision policy: a correct float32 computation passes, see README);
    # every mistake is off by O(1).
    check=Close(rtol=1e-4, atol=1e-5),
    mistakes=(
        Mistake("one output too few: A_w v has n - f + 1 entries (i = 0, ..., n - f), not n - f", off_by_one),
        Mistake("the filter is flipped: this is a true convolution sum_k w_k v_{i-k}; the layer computes the "
                "cross-correlation sum_k w_k v_{i+k} (np.correlate, not np.convolve)", flipped),
        Mistake("this is the 'full' correlation (length n + f - 1, zero padding at both ends); A_w v keeps only "
                "the n - f + 1 'valid' positions where the filter fits inside v", full),
        Mistake("this is the 'full' convolution (np.convolve default): both padded and flipped; A_w v is the "
                "'valid' cross-correlation of length n - f + 1", full_flipped),
        Mistake("this is the 'same' correlation (length n, zero padded); A_w v keeps only the n - f + 1 'valid' "
                "positions", same),
    ),
)
