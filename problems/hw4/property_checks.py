"""hw4's property checks: apply a student's filters to random images and compare with the
definition. Public: the student edition ships this module, which holds the checks and the
feedback they give, and nothing of the solutions or the case generators."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks import (
    Property,
    Verdict,
    as_float_array,
    failed,
    fmt_pair,
    invalid,
    nonfinite_verdict,
    passed,
    type_name,
)
from grader.spec import Case

from ..common.numconv import avg_pool2d, conv2d, output_size, pair

__grader_public__ = True

# ------------------------------------------------------------- finite differences

# Integer filters make the conv exact up to the rounding of at most 9 products of O(1)
# image values (~1e-15). The tolerance 1e-6 (absolute and relative) also accepts filters
# stored as float32 (a torch tensor) while every wrong filter is off by O(1) somewhere.
RTOL = ATOL = 1e-6


def forward_differences(x: np.ndarray) -> np.ndarray:
    """The definition: (2, m, n) with zeros outside X."""
    out = np.empty((2, *x.shape))
    out[0], out[1] = -x, -x
    out[0, :-1] += x[1:]
    out[1, :, :-1] += x[:, 1:]
    return out


def _filters(got: Any) -> tuple[np.ndarray | None, Verdict | None]:
    arr, reason = as_float_array(got)
    if arr is None:
        return None, invalid(reason, hint="return a numpy array of shape (2, 3, 3)")
    if arr.shape == (2, 1, 3, 3):
        arr = arr[:, 0]
    if arr.shape != (2, 3, 3):
        hint = "w[0] and w[1] are the two 3x3 filters: shape (2, 3, 3)"
        if arr.shape == (3, 3, 2):
            hint = "the channel index comes first: w[c] is filter c, shape (2, 3, 3), not (3, 3, 2)"
        elif arr.shape == (3, 3):
            hint = "return both filters stacked, shape (2, 3, 3)"
        return None, invalid(f"expected an array of shape (2, 3, 3), got shape {arr.shape}", hint)
    if not np.all(np.isfinite(arr)):
        return None, failed("the filters contain NaN or infinity")
    return arr, None


def check_filters(got: Any, case: Case) -> Verdict:
    w, bad = _filters(got)
    if bad is not None:
        return bad
    assert w is not None and case.context is not None
    worst = 0.0
    for x in case.context["images"]:
        y = conv2d(x[None], w[:, None], padding=1)
        if (bad := nonfinite_verdict(y, f"on a {x.shape[0]}x{x.shape[1]} image, the output of your filters")):
            return bad
        want = forward_differences(x)
        err = np.abs(y - want)
        excess = err - (ATOL + RTOL * np.abs(want))
        worst = max(worst, float(err.max()))
        if excess.max() > 0:
            c, i, j = (int(v) for v in np.unravel_index(int(np.argmax(excess)), want.shape))
            formula = f"X[{i + 1}, {j}] - X[{i}, {j}]" if c == 0 else f"X[{i}, {j + 1}] - X[{i}, {j}]"
            m, n = x.shape
            should, gives = fmt_pair(float(want[c, i, j]), float(y[c, i, j]))
            return failed(f"on a {m}x{n} image, Y[{c}, {i}, {j}] should be {formula} = {should}, "
                          f"your filters give {gives}", max_error=worst,
                          where=f"[{c}, {i}, {j}]")
    return passed(worst)


def canonical_filters(got: Any, case: Case) -> np.ndarray | None:
    return _filters(got)[0]


DIFFERENCES = Property(check_filters, "conv2d (cross-correlation, zero padding 1) with your filters equals the "
                                      f"forward differences on random images, within {ATOL:g} + {RTOL:g}*|expected|",
                       canonical_filters)

# ------------------------------------------------------------- greyscale

# The output is a sum of 3 products of values in [0, 1]: float64 is exact to ~1e-16. The
# tolerance 1e-6 also accepts the weights stored in float32 (0.299 is off by 5e-9 there),
# while any other weight (e.g. 0.3 instead of 0.299) is off by >= 1e-3 on some pixel.
GREY_TOL = 1e-6
LUMA = np.array([0.299, 0.587, 0.114])

TRANSPOSED = ("shape (3, 1, 1, 1) means 3 output channels from 1 input channel: a conv2d weight is "
              "(C_out, C_in, kH, kW), so one grey channel from three colour channels is (1, 3, 1, 1)")


def check_filter(got: Any, case: Case) -> Verdict:
    w, reason = as_float_array(got)
    if w is None:
        return invalid(reason, hint="return a numpy array of shape (1, 3, 1, 1)")
    if w.shape != (1, 3, 1, 1):
        hint = TRANSPOSED if w.shape == (3, 1, 1, 1) else \
            "a conv2d weight is 4-D, (C_out, C_in, kH, kW): one output channel, three input channels, 1x1"
        return invalid(f"expected an array of shape (1, 3, 1, 1), got shape {w.shape}", hint)
    if not np.all(np.isfinite(w)):
        return failed("the weight contains NaN or infinity")
    assert case.context is not None
    worst = 0.0
    for x in case.context["images"]:
        y = conv2d(x, w)
        if (bad := nonfinite_verdict(y, f"on an image of shape {x.shape}, the output of your conv")):
            return bad
        want = np.tensordot(LUMA, x, axes=(0, -3))[..., None, :, :]
        err = np.abs(y - want)
        excess = err - (GREY_TOL + GREY_TOL * np.abs(want))
        worst = max(worst, float(err.max()))
        if excess.max() > 0:
            where = tuple(int(v) for v in np.unravel_index(int(np.argmax(excess)), want.shape))
            rgb = x[(*where[:-3], slice(None), *where[-2:])]
            should, gives = fmt_pair(float(want[where]), float(y[where]))
            return failed(f"on a pixel with (R, G, B) = ({rgb[0]:.4g}, {rgb[1]:.4g}, {rgb[2]:.4g}) the grey value "
                          f"should be {should}, your conv gives {gives}",
                          max_error=worst, where="[" + ", ".join(map(str, where)) + "]")
    return passed(worst)


GREYSCALE = Property(check_filter, "conv2d with your 1x1 weight equals 0.299 R + 0.587 G + 0.114 B on random "
                                   f"images, within {GREY_TOL:g} + {GREY_TOL:g}*|expected|")

# ------------------------------------------------------------- average pooling

POOL_TOL = 1e-6

STRIDE_ONE = ("stride 1: the windows overlap and the output is (m-k+1) x (n-k+1); average pooling moves the "
              "window by k (non-overlapping windows), so use stride k")
ONE_OVER_K = ("the weights are 1/k instead of 1/k^2: a k x k window holds k^2 values, so each must be "
              "weighted 1/k^2 (your outputs are k times too large)")
MIXED = ("the channels are mixed: weight[o, i] must be zero for i != o (each channel is pooled on its own); "
         "put the averaging filter only on the diagonal weight[c, c]")
BIAS = "the bias must be zero (or None): average pooling adds no constant"
PADDING = ("average pooling here has no padding: use padding 0 (windows that do not fit are dropped, "
           "as in avg_pool2d)")


def diagonal(channels: int, k: int, value: float) -> np.ndarray:
    weight = np.zeros((channels, channels, k, k))
    for c in range(channels):
        weight[c, c] = value
    return weight


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
    if channels > 1 and np.any(np.abs(w[~np.eye(channels, dtype=bool)]) > POOL_TOL):
        return MIXED
    if b is not None and np.any(np.abs(b) > POOL_TOL):
        return BIAS
    if k > 1 and np.allclose(w, diagonal(channels, k, 1.0 / k), POOL_TOL, POOL_TOL):
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
        if (bad := nonfinite_verdict(y, f"on a {channels}x{m}x{n} input, the output of your conv")):
            return bad
        err = np.abs(y - want)
        excess = err - (POOL_TOL + POOL_TOL * np.abs(want))
        worst = max(worst, float(err.max()))
        if excess.max() > 0:
            c, i, j = (int(v) for v in np.unravel_index(int(np.argmax(excess)), want.shape))
            should, gives = fmt_pair(float(want[c, i, j]), float(y[c, i, j]))
            return failed(f"on a {channels}x{m}x{n} input, output [{c}, {i}, {j}] should be the average "
                          f"{should} of X[{c}, {i * k}:{i * k + k}, {j * k}:{j * k + k}], "
                          f"your conv gives {gives}", hint=_hint(w, b, s, p, k), max_error=worst,
                          where=f"[{c}, {i}, {j}]")
    return passed(worst)


def canonical_pooling(got: Any, case: Case) -> tuple | None:
    """(weight, bias, stride, padding) with a None bias as zeros and stride and padding as pairs."""
    channels, k = case.args
    parts, bad = _structure(got, channels, k)
    if parts is None or bad is not None:
        return None
    w, b, s, p = parts
    return w, np.zeros(channels) if b is None else b, s, p


POOLING = Property(check_pooling, "conv2d with your (weight, bias, stride, padding) equals avg_pool2d(X, k) on "
                                 f"random inputs, within {POOL_TOL:g} + {POOL_TOL:g}*|expected|", canonical_pooling)
