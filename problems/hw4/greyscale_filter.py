"""hw4: RGB to greyscale as a 1x1 convolution."""

from __future__ import annotations

import numpy as np

from grader.spec import Case, FunctionProblem, Mistake

from .property_checks import GREYSCALE, LUMA, TRANSPOSED

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


BGR = ("the weights are in BGR order: channel 0 is red (0.299), channel 1 green (0.587), channel 2 blue (0.114), "
       "so weight[0, :, 0, 0] = [0.299, 0.587, 0.114]")
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


BT709 = np.array([0.2126, 0.7152, 0.0722])


def bt709() -> np.ndarray:
    return BT709.reshape(1, 3, 1, 1).copy()


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
    check=GREYSCALE,
    public_count=2,
    hidden_count=3,
    show_expected=False,
    mistakes=(
        Mistake(BGR, bgr_order),
        Mistake(TRANSPOSED, transposed),
        Mistake(EQUAL, equal_weights),
        Mistake("these are the BT.709 (HDTV) luma weights 0.2126 R + 0.7152 G + 0.0722 B; this problem asks for "
                "the BT.601 weights 0.299 R + 0.587 G + 0.114 B", bt709),
    ),
)
