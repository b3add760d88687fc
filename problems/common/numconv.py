"""2-D convolution and pooling in numpy, in PyTorch's layout and conventions.

Used by the property checks (apply a student's filter to random images) and
checked against ``torch.nn.functional`` in ``tests/oracles/test_hw4.py``.

- ``x`` is ``(N, C, H, W)`` or, without a batch, ``(C, H, W)``; the result has
  the same rank.
- ``conv2d`` is cross-correlation, like ``F.conv2d``: ``weight`` is
  ``(C_out, C_in/groups, kH, kW)``, ``bias`` is ``(C_out,)`` or None.
- ``stride`` and ``padding`` are an int or a pair ``(rows, cols)``; padding is
  with zeros; output sizes are ``floor((H + 2p - k)/s) + 1``.
- ``avg_pool2d`` counts the zero padding in the divisor (torch's default
  ``count_include_pad=True``); ``max_pool2d`` pads with ``-inf``. ``stride``
  defaults to the kernel size. No dilation, no ceil mode.

Sliding windows are strided views (``numpy.lib.stride_tricks.as_strided``), so a small image costs
a few tens of microseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

__grader_public__ = True  # the student edition ships this module: the property checks apply it

Pair = int | Sequence[int]


def pair(value: Pair, name: str = "value") -> tuple[int, int]:
    """``k`` -> ``(k, k)``; a pair of ints stays a pair. Raises ValueError otherwise."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an int or a pair of ints, got a bool")
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in value):
        return int(value[0]), int(value[1])
    raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _batched(x: np.ndarray) -> tuple[np.ndarray, bool]:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 3:
        return x[None], False
    if x.ndim == 4:
        return x, True
    raise ValueError(f"input must be (N, C, H, W) or (C, H, W), got shape {x.shape}")


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
             fill: float) -> np.ndarray:
    """(N, C, Ho, Wo, kH, kW) read-only strided view of the padded input's windows."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if min(kh, kw, sh, sw) < 1 or min(ph, pw) < 0:
        raise ValueError("kernel and stride must be >= 1 and padding >= 0")
    n, c, h, w = x.shape
    ho, wo = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
    if ho < 1 or wo < 1:
        raise ValueError(f"a {kh}x{kw} window with padding {(ph, pw)} does not fit a {h}x{w} input")
    if ph or pw:  # by hand: np.pad costs ~0.15 ms per call
        padded = np.full((n, c, h + 2 * ph, w + 2 * pw), fill)
        padded[:, :, ph : ph + h, pw : pw + w] = x
        x = padded
    else:
        x = np.ascontiguousarray(x)
    s0, s1, s2, s3 = x.strides
    return as_strided(x, (n, c, ho, wo, kh, kw), (s0, s1, s2 * sh, s3 * sw, s2, s3), writeable=False)


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, stride: Pair = 1,
           padding: Pair = 0, groups: int = 1) -> np.ndarray:
    """``F.conv2d(x, weight, bias, stride, padding, groups=groups)`` in float64."""
    x, batched = _batched(x)
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim != 4:
        raise ValueError(f"weight must be (C_out, C_in/groups, kH, kW), got shape {weight.shape}")
    n, c, _, _ = x.shape
    c_out, c_group, kh, kw = weight.shape
    if groups < 1 or c != c_group * groups or c_out % groups:
        raise ValueError(f"weight {weight.shape} with groups={groups} does not fit {c} input channels")
    win = _windows(x, (kh, kw), pair(stride, "stride"), pair(padding, "padding"), 0.0)
    _, _, ho, wo, _, _ = win.shape
    if groups == 1:
        out = np.tensordot(win, weight, axes=([1, 4, 5], [1, 2, 3]))  # (N, Ho, Wo, C_out)
        out = np.moveaxis(out, 3, 1)
    else:
        win = win.reshape(n, groups, c_group, ho, wo, kh, kw)
        w = weight.reshape(groups, c_out // groups, c_group, kh, kw)
        out = np.einsum("ngchwij,gocij->ngohw", win, w).reshape(n, c_out, ho, wo)
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float64)
        if bias.shape != (c_out,):
            raise ValueError(f"bias must have shape ({c_out},), got {bias.shape}")
        out = out + bias[None, :, None, None]
    out = np.ascontiguousarray(out)
    return out if batched else out[0]


def avg_pool2d(x: np.ndarray, kernel_size: Pair, stride: Pair | None = None, padding: Pair = 0) -> np.ndarray:
    """``F.avg_pool2d(x, kernel_size, stride, padding)`` (zero padding counted in the divisor)."""
    x, batched = _batched(x)
    kernel = pair(kernel_size, "kernel_size")
    win = _windows(x, kernel, pair(kernel_size if stride is None else stride, "stride"),
                   pair(padding, "padding"), 0.0)
    out = win.sum(axis=(4, 5)) / (kernel[0] * kernel[1])
    return out if batched else out[0]


def max_pool2d(x: np.ndarray, kernel_size: Pair, stride: Pair | None = None, padding: Pair = 0) -> np.ndarray:
    """``F.max_pool2d(x, kernel_size, stride, padding)``."""
    x, batched = _batched(x)
    win = _windows(x, pair(kernel_size, "kernel_size"), pair(kernel_size if stride is None else stride, "stride"),
                   pair(padding, "padding"), -np.inf)
    out = win.max(axis=(4, 5))
    return out if batched else out[0]
