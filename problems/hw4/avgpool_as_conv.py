"""hw4: average pooling written as a convolution (weight, bias, stride, padding)."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks import Property, Verdict, as_float_array, failed, invalid, passed, type_name
from grader.spec import Case, FunctionProblem, Mistake

from ..common.numconv import avg_pool2d, conv2d, output_size, pair

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
RTOL = ATOL = 1e-6

STRIDE_ONE = ("stride 1: the windows overlap and the output is (m-k+1) x (n-k+1); average pooling moves the "
              "window by k (non-overlapping windows), so use stride k")
ONE_OVER_K = ("the weights are 1/k instead of 1/k^2: a k x k window holds k^2 values, so each must be "
              "weighted 1/k^2 (your outputs are k times too large)")
MIXED = ("the channels are mixed: weight[o, i] must be zero for i != o (each channel is pooled on its own); "
         "put the averaging filter only on the diagonal weight[c, c]")
BIAS = "the bias must be zero (or None): average pooling adds no constant"
PADDING = ("average pooling here has no padding: use padding 0 (windows that do not fit are dropped, "
           "as in avg_pool2d)")


def _diagonal(channels: int, k: int, value: float) -> np.ndarray:
    weight = np.zeros((channels, channels, k, k))
    for c in range(channels):
        weight[c, c] = value
    return weight


def reference(channels: int, k: int) -> tuple[np.ndarray, None, int, int]:
    return _diagonal(channels, k, 1.0 / k**2), None, k, 0


# The wrong variants return a zero bias array rather than None: grader.checks.same_data cannot
# compare a student's bias array with None (see the report); the property check's own hints
# recognise these mistakes whatever the student returns for a zero bias.


def stride_one(channels: int, k: int) -> tuple:
    return _diagonal(channels, k, 1.0 / k**2), np.zeros(channels), 1, 0


def one_over_k(channels: int, k: int) -> tuple:
    return _diagonal(channels, k, 1.0 / k), np.zeros(channels), k, 0


def mixed_channels(channels: int, k: int) -> tuple:
    return np.full((channels, channels, k, k), 1.0 / k**2), np.zeros(channels), k, 0


def with_bias(channels: int, k: int) -> tuple:
    return _diagonal(channels, k, 1.0 / k**2), np.ones(channels), k, 0


def same_padding(channels: int, k: int) -> tuple:
    return _diagonal(channels, k, 1.0 / k**2), np.zeros(channels), k, k // 2


def _structure(got: Any, channels: int, k: int) -> tuple[tuple | None, Verdict | None]:
    """(weight, bias or None, stride pair, padding pair), or an 'invalid' verdict."""
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        return None, invalid(f"expected a tuple (weight, bias, stride, padding), got {type_name(got)}")
    weight, bias, stride, padding = got
    w, reason = as_float_array(weight)
    if w is None:
        return None, invalid(f"weight: {reason}")
    if w.shape != (channels, channels, k, k):
        hint = ""
        if w.shape == (channels, 1, k, k) and channels > 1:
            hint = ("(C, 1, k, k) is a depthwise weight (groups = C); this conv has groups = 1, so weight[o, i] "
                    "connects input channel i to output channel o: use (C, C, k, k) with zeros off the diagonal")
        elif w.shape == (k, k):
            hint = "a conv2d weight is 4-D: (C_out, C_in, k, k)"
        return None, invalid(f"weight: expected shape ({channels}, {channels}, {k}, {k}), got {w.shape}", hint)
    if not np.all(np.isfinite(w)):
        return None, failed("weight contains NaN or infinity")
    b = None
    if bias is not None:
        b, reason = as_float_array(bias)
        if b is None or b.shape != (channels,):
            shape = reason or f"shape {b.shape}"  # type: ignore[union-attr]
            return None, invalid(f"bias: expected None or an array of shape ({channels},), got {shape}")
        if not np.all(np.isfinite(b)):
            return None, failed("bias contains NaN or infinity")
    try:
        s, p = pair(stride, "stride"), pair(padding, "padding")
    except ValueError as exc:
        return None, invalid(str(exc))
    if min(s) < 1 or min(p) < 0:
        return None, invalid(f"stride must be >= 1 and padding >= 0, got stride {stride!r}, padding {padding!r}")
    return (w, b, s, p), None


def _hint(w: np.ndarray, b: np.ndarray | None, s: tuple[int, int], p: tuple[int, int], k: int) -> str:
    channels = w.shape[0]
    if s == (1, 1) and k > 1:
        return STRIDE_ONE
    if p != (0, 0):
        return PADDING
    if s != (k, k):
        return f"average pooling moves the window by k = {k} in both directions: use stride {k}"
    if channels > 1 and np.any(np.abs(w[~np.eye(channels, dtype=bool)]) > ATOL):
        return MIXED
    if b is not None and np.any(np.abs(b) > ATOL):
        return BIAS
    if k > 1 and np.allclose(w, _diagonal(channels, k, 1.0 / k), RTOL, ATOL):
        return ONE_OVER_K
    return ""


def check_pooling(got: Any, case: Case) -> Verdict:
    channels, k = case.args
    parts, bad = _structure(got, channels, k)
    if bad is not None:
        return bad
    assert parts is not None and case.context is not None
    w, b, s, p = parts
    worst = 0.0
    for x in case.context["inputs"]:
        _, m, n = x.shape
        want = avg_pool2d(x, k)
        shape = (output_size(m, k, s[0], p[0]), output_size(n, k, s[1], p[1]))
        if shape != want.shape[1:]:
            return failed(f"on a {channels}x{m}x{n} input your conv gives {shape[0]}x{shape[1]} outputs per channel, "
                          f"avg_pool2d(X, {k}) gives {want.shape[1]}x{want.shape[2]}", hint=_hint(w, b, s, p, k))
        if max(p) > m + n + 2 * k:  # cannot happen with a matching shape unless the stride is huge
            return failed(f"padding {p} is far larger than the input", hint=PADDING)
        y = conv2d(x, w, b, s, p)
        err = np.abs(y - want)
        excess = err - (ATOL + RTOL * np.abs(want))
        worst = max(worst, float(err.max()))
        if excess.max() > 0:
            c, i, j = (int(v) for v in np.unravel_index(int(np.argmax(excess)), want.shape))
            return failed(f"on a {channels}x{m}x{n} input, output [{c}, {i}, {j}] should be the average "
                          f"{want[c, i, j]:.6g} of X[{c}, {i * k}:{i * k + k}, {j * k}:{j * k + k}], "
                          f"your conv gives {y[c, i, j]:.6g}", hint=_hint(w, b, s, p, k), max_error=worst,
                          where=f"[{c}, {i}, {j}]")
    return passed(worst)


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
    check=Property(check_pooling, "conv2d with your (weight, bias, stride, padding) equals avg_pool2d(X, k) on "
                                   f"random inputs, within {ATOL:g} + {RTOL:g}*|expected|"),
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
