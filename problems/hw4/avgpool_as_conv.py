"""hw4: average pooling written as a convolution (weight, bias, stride, padding)."""

from __future__ import annotations

import numpy as np

from grader.spec import Case, FunctionProblem, Mistake

from .property_checks import BIAS, MIXED, ONE_OVER_K, PADDING, POOLING, STRIDE_ONE, diagonal

STATEMENT = r"""
Average pooling with a $k \times k$ window, `F.avg_pool2d(X, k)` (stride $k$, no padding),
maps $X \in \mathbb{R}^{C \times m \times n}$ to
$Y \in \mathbb{R}^{C \times \lfloor m/k \rfloor \times \lfloor n/k \rfloor}$ with (0-based indices)

$$Y_{c,a,b} = \frac{1}{k^2} \sum_{i=0}^{k-1} \sum_{j=0}^{k-1} X_{c,\,ak+i,\,bk+j}.$$

Rows and columns that do not fill a whole window are dropped. Each channel is
pooled on its own.

Write `avgpool_as_conv(channels, k)` returning a tuple `(weight, bias, stride, padding)`
such that the ordinary convolution (cross-correlation, `groups=1`)

```python
F.conv2d(X, weight, bias, stride=stride, padding=padding)
```

equals `F.avg_pool2d(X, k)` for **every** input with $C$ = `channels` channels and
$m, n \ge k$:

- `weight`: a numpy array of shape **(C, C, k, k)**; `weight[o, i]` is the $k\times k$
  filter from input channel `i` to output channel `o`;
- `bias`: a numpy array of shape **(C,)**, or `None` for no bias;
- `stride`, `padding`: an `int` or a pair of ints `(rows, cols)`.

The grader runs your convolution on random inputs of several sizes, including sizes
not divisible by $k$ and $C = 1$, and compares with average pooling.
"""

# Outputs are averages of k^2 values of size O(1): a float64 conv is exact to ~1e-15. The
# tolerance 1e-6 (absolute and relative) also accepts a weight stored in float32 (1/9 in float32
# is off by 3e-9) while every wrong answer is off by at least ~0.1.
def reference(channels: int, k: int) -> tuple[np.ndarray, None, int, int]:
    return diagonal(channels, k, 1.0 / k**2), None, k, 0


# The wrong variants return a zero bias array rather than None: grader.checks.same_data cannot
# compare a student's bias array with None (see the report); the property check's own hints
# recognise these mistakes whatever the student returns for a zero bias.


def stride_one(channels: int, k: int) -> tuple:
    return diagonal(channels, k, 1.0 / k**2), np.zeros(channels), 1, 0


def one_over_k(channels: int, k: int) -> tuple:
    return diagonal(channels, k, 1.0 / k), np.zeros(channels), k, 0


def mixed_channels(channels: int, k: int) -> tuple:
    return np.full((channels, channels, k, k), 1.0 / k**2), np.zeros(channels), k, 0


def with_bias(channels: int, k: int) -> tuple:
    return diagonal(channels, k, 1.0 / k**2), np.ones(channels), k, 0


def same_padding(channels: int, k: int) -> tuple:
    return diagonal(channels, k, 1.0 / k**2), np.zeros(channels), k, k // 2


def _inputs(rng: np.random.Generator, channels: int, k: int) -> list[np.ndarray]:
    """Sizes: exactly k x k, divisible by k, not divisible by k (both ways), a thin one."""
    r = lambda: int(rng.integers(1, k)) if k > 1 else 0  # a remainder in 1..k-1
    sizes = [(k, k), (k * int(rng.integers(2, 4)), k * int(rng.integers(1, 4))),
             (k * int(rng.integers(1, 3)) + r(), k * int(rng.integers(2, 4)) + r()),
             (k + r(), k * 3 + r())]
    return [rng.normal(0.0, 1.0, (channels, m, n)) for m, n in sizes]


def _case(rng: np.random.Generator, channels: int, k: int, label: str) -> Case:
    return Case((channels, k), f"{label} (C = {channels}, k = {k})", context={"inputs": _inputs(rng, channels, k)})


def generate(rng: np.random.Generator, index: int) -> Case:
    kind = index % 5
    if kind == 0:
        return _case(rng, 1, int(rng.integers(2, 5)), "one channel")
    if kind == 1:
        return _case(rng, 3, 2, "three channels")
    if kind == 2:
        return _case(rng, 2, 3, "two channels")
    if kind == 3:
        return _case(rng, int(rng.integers(2, 5)), int(rng.integers(2, 5)), "random")
    return _case(rng, 2, 1, "pooling is the identity")


_EXAMPLE_RNG = np.random.default_rng(44)

PROBLEM = FunctionProblem(
    id="avgpool_as_conv",
    title="Average pooling as a convolution",
    statement=STATEMENT,
    function="avgpool_as_conv",
    signature="avgpool_as_conv(channels: int, k: int) -> tuple",
    returns="(weight (C, C, k, k), bias (C,) or None, stride, padding)",
    reference=reference,
    examples=(_case(_EXAMPLE_RNG, 1, 2, "one channel"), _case(_EXAMPLE_RNG, 3, 2, "three channels")),
    generate=generate,
    check=POOLING,
    public_count=3,
    hidden_count=5,
    show_expected=False,
    mistakes=(
        Mistake(STRIDE_ONE, stride_one),
        Mistake(ONE_OVER_K, one_over_k),
        Mistake(MIXED, mixed_channels),
        Mistake(BIAS, with_bias),
        Mistake(PADDING, same_padding),
    ),
)
