"""hw4: RGB to greyscale as a 1x1 convolution."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks import Property, Verdict, as_float_array, failed, invalid, passed, same_data
from grader.spec import Case, FunctionProblem, Mistake

from ..common.numconv import conv2d

STATEMENT = r"""
A colour image $X \in \mathbb{R}^{3 \times m \times n}$ has its channels in the order
**R, G, B** (channel 0 is red). Its luminance (greyscale) image is

$$Y_{0,i,j} = 0.299\, X_{0,i,j} + 0.587\, X_{1,i,j} + 0.114\, X_{2,i,j}.$$

Write `greyscale_filter()` returning the weight of a **$1\times 1$ convolution** that
computes it: a numpy array of shape **(1, 3, 1, 1)**, in the layout of a conv2d weight
`(C_out, C_in, kH, kW)`, such that `F.conv2d(X, weight)` (no bias, stride 1, no padding)
equals $Y$, of shape $(1, m, n)$.

The grader applies your weight to random images and compares with the formula.
"""

# The output is a sum of 3 products of values in [0, 1]: float64 is exact to ~1e-16. The
# tolerance 1e-6 also accepts the weights stored in float32 (0.299 is off by 5e-9 there),
# while any other weight (e.g. 0.3 instead of 0.299) is off by >= 1e-3 on some pixel.
RTOL = ATOL = 1e-6
LUMA = np.array([0.299, 0.587, 0.114])

BGR = ("the weights are in BGR order: channel 0 is red (0.299), channel 1 green (0.587), channel 2 blue (0.114), "
       "so weight[0, :, 0, 0] = [0.299, 0.587, 0.114]")
TRANSPOSED = ("shape (3, 1, 1, 1) means 3 output channels from 1 input channel: a conv2d weight is "
              "(C_out, C_in, kH, kW), so one grey channel from three colour channels is (1, 3, 1, 1)")
EQUAL = ("equal weights 1/3 give the plain average of R, G and B; the luminance weights are 0.299 (R), "
         "0.587 (G) and 0.114 (B)")


def reference() -> np.ndarray:
    return LUMA.reshape(1, 3, 1, 1).copy()


def bgr_order() -> np.ndarray:
    return LUMA[::-1].reshape(1, 3, 1, 1).copy()


def transposed() -> np.ndarray:
    return LUMA.reshape(3, 1, 1, 1).copy()


def equal_weights() -> np.ndarray:
    return np.full((1, 3, 1, 1), 1.0 / 3.0)


KNOWN = ((bgr_order, BGR), (equal_weights, EQUAL))


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
        want = np.tensordot(LUMA, x, axes=(0, -3))[..., None, :, :]
        err = np.abs(y - want)
        excess = err - (ATOL + RTOL * np.abs(want))
        worst = max(worst, float(err.max()))
        if excess.max() > 0:
            where = tuple(int(v) for v in np.unravel_index(int(np.argmax(excess)), want.shape))
            rgb = x[(*where[:-3], slice(None), *where[-2:])]
            hint = next((message for wrong, message in KNOWN if same_data(w, wrong(), RTOL, ATOL)), "")
            return failed(f"on a pixel with (R, G, B) = ({rgb[0]:.4g}, {rgb[1]:.4g}, {rgb[2]:.4g}) the grey value "
                          f"should be {want[where]:.6g}, your conv gives {y[where]:.6g}", hint=hint,
                          max_error=worst, where="[" + ", ".join(map(str, where)) + "]")
    return passed(worst)


def _images(rng: np.random.Generator, shapes: tuple[tuple[int, ...], ...]) -> list[np.ndarray]:
    return [rng.uniform(0.0, 1.0, shape) for shape in shapes]


def generate(rng: np.random.Generator, index: int) -> Case:
    kind = index % 3
    if kind == 0:
        shapes: tuple[tuple[int, ...], ...] = ((3, 1, 1), (3, 4, 4), (3, 2, 7))
        label = "small images"
    elif kind == 1:
        shapes = ((2, 3, 5, 3), (3, int(rng.integers(1, 9)), int(rng.integers(1, 9))))
        label = "a batch and a random size"
    else:
        shapes = tuple((3, int(rng.integers(1, 9)), int(rng.integers(1, 9))) for _ in range(3))
        label = "random sizes"
    return Case((), label, context={"images": _images(rng, shapes)})


EXAMPLE = Case((), "primary colours and random images", context={"images": [
    np.eye(3).reshape(3, 1, 3),  # pure red, green, blue pixels: the grey values are the three weights
    *_images(np.random.default_rng(3), ((3, 4, 5), (3, 1, 1))),
]})

PROBLEM = FunctionProblem(
    id="greyscale_filter",
    title="Greyscale as a 1x1 convolution",
    statement=STATEMENT,
    function="greyscale_filter",
    signature="greyscale_filter() -> np.ndarray",
    returns="array (1, 3, 1, 1)",
    reference=reference,
    examples=(EXAMPLE,),
    generate=generate,
    check=Property(check_filter, "conv2d with your 1x1 weight equals 0.299 R + 0.587 G + 0.114 B on random images, "
                                 f"within {ATOL:g} + {RTOL:g}*|expected|"),
    public_count=2,
    hidden_count=3,
    show_expected=False,
    mistakes=(
        Mistake(BGR, bgr_order),
        Mistake(TRANSPOSED, transposed),
        Mistake(EQUAL, equal_weights),
    ),
)
