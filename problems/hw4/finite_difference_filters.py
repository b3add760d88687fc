"""hw4: two 3x3 filters whose conv (padding 1) gives the forward differences of an image."""

from __future__ import annotations

import numpy as np

from grader.spec import Case, FunctionProblem, Mistake

from .property_checks import DIFFERENCES

STATEMENT = r"""
An image $X \in \mathbb{R}^{m \times n}$ has one channel. Its **forward differences**
are the two images $Y \in \mathbb{R}^{2 \times m \times n}$ with

$$Y_{0,i,j} = X_{i+1,j} - X_{i,j}, \qquad Y_{1,i,j} = X_{i,j+1} - X_{i,j},$$

where indices are **0-based** and a value outside $X$ counts as $0$ (so on the last
row $Y_{0,m-1,j} = -X_{m-1,j}$, on the last column $Y_{1,i,n-1} = -X_{i,n-1}$).

Write `finite_difference_filters()` returning a numpy array `w` of shape **(2, 3, 3)**
such that a convolution of $X$ with the two $3\times 3$ filters `w[0]`, `w[1]` and
**zero padding 1** (stride 1, no bias) gives exactly $Y$.

"Convolution" means **cross-correlation**, as `torch.nn.functional.conv2d` computes it:
with $X$ padded by one ring of zeros,

$$Y_{c,i,j} = \sum_{a=0}^{2}\sum_{b=0}^{2} w_{c,a,b}\, X_{i+a-1,\,j+b-1},$$

so `w[c, 1, 1]` (the centre) multiplies $X_{i,j}$. In torch this is
`F.conv2d(X.reshape(1, 1, m, n), w.reshape(2, 1, 3, 3), padding=1)`; the layout of a
conv2d weight, shape `(2, 1, 3, 3)`, is accepted too.

The grader applies your filters to random images of several sizes, including
$1\times 1$, $1 \times n$ and $m \times 1$ images, and compares with the definition.
"""


SWAPPED = ("the two filters are swapped (or transposed): channel 0 must give the difference with the next "
           "row, X[i+1, j] - X[i, j], and channel 1 the difference with the next column, X[i, j+1] - X[i, j]")
SIGN = ("the sign is flipped: your filters compute X[i, j] - X[i+1, j] and X[i, j] - X[i, j+1]; put +1 on "
        "the neighbour and -1 on the centre")
FLIPPED = ("your filters are flipped, as if for true convolution: conv2d is cross-correlation, w[c, a, b] "
           "multiplies X[i+a-1, j+b-1], so the neighbour below is w[0, 2, 1] and the one to the right is "
           "w[1, 1, 2]; yours take X[i-1, j] and X[i, j-1]")
BACKWARD = ("these are backward differences X[i, j] - X[i-1, j] and X[i, j] - X[i, j-1]: the +1 belongs on the "
            "next row / column (w[0, 2, 1] and w[1, 1, 2]), the -1 on the centre w[c, 1, 1]")
OFF_CENTRE = ("the filters are not centred: with padding 1 the centre w[c, 1, 1] sits on X[i, j]; yours are "
              "anchored at the top-left corner w[c, 0, 0], which sits on X[i-1, j-1]")


def reference() -> np.ndarray:
    w = np.zeros((2, 3, 3))
    w[0, 1, 1], w[0, 2, 1] = -1.0, 1.0  # X[i+1, j] - X[i, j]
    w[1, 1, 1], w[1, 1, 2] = -1.0, 1.0  # X[i, j+1] - X[i, j]
    return w


def swapped() -> np.ndarray:
    return reference()[::-1].copy()


def sign_flipped() -> np.ndarray:
    return -reference()


def true_convolution() -> np.ndarray:
    return reference()[:, ::-1, ::-1].copy()


def backward_differences() -> np.ndarray:
    return -reference()[:, ::-1, ::-1]


def off_centre() -> np.ndarray:
    w = np.zeros((2, 3, 3))
    w[0, 0, 0], w[0, 1, 0] = -1.0, 1.0
    w[1, 0, 0], w[1, 0, 1] = -1.0, 1.0
    return w


KNOWN = ((swapped, SWAPPED), (sign_flipped, SIGN), (true_convolution, FLIPPED),
         (backward_differences, BACKWARD), (off_centre, OFF_CENTRE))


SIZES = (
    ((1, 1), (1, 6), (5, 1), (2, 2), (3, 3)),   # degenerate images: only part of each filter is used
    ((3, 5), (5, 5), (7, 3), (1, 1)),           # odd sizes
    ((4, 6), (6, 4), (2, 7), (1, 1), (1, 2)),   # even and mixed sizes
)


def _images(rng: np.random.Generator, sizes: tuple[tuple[int, int], ...], integers: bool = False) -> list:
    if integers:
        return [rng.integers(-9, 10, size).astype(np.float64) for size in sizes]
    return [rng.normal(0.0, 1.0, size) for size in sizes]


def _case(images: list, label: str) -> Case:
    sizes = ", ".join(f"{x.shape[0]}x{x.shape[1]}" for x in images)
    return Case((), f"{label}: images {sizes}", context={"images": images})


def generate(rng: np.random.Generator, index: int) -> Case:
    kind = index % 4
    if kind < 3:
        return _case(_images(rng, SIZES[kind]), ("degenerate sizes", "odd sizes", "mixed sizes")[kind])
    sizes = ((1, 1), *((int(rng.integers(1, 9)), int(rng.integers(1, 9))) for _ in range(4)))
    return _case(_images(rng, sizes), "random sizes")


EXAMPLE = _case(_images(np.random.default_rng(2024), ((1, 1), (1, 5), (4, 1), (3, 3), (5, 7)), integers=True),
                "integer images")

PROBLEM = FunctionProblem(
    id="finite_difference_filters",
    title="Forward differences as a convolution",
    statement=STATEMENT,
    function="finite_difference_filters",
    signature="finite_difference_filters() -> np.ndarray",
    returns="array (2, 3, 3)",
    reference=reference,
    examples=(EXAMPLE,),
    generate=generate,
    check=DIFFERENCES,
    public_count=2,
    hidden_count=4,
    show_expected=False,
    mistakes=tuple(Mistake(message, wrong) for wrong, message in KNOWN),
)
