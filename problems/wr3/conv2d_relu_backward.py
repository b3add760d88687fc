"""wr3: backpropagation through a one-channel valid convolution followed by a ReLU."""

from __future__ import annotations

import numpy as np

from grader.checks import Close, TupleOf
from grader.spec import Case, FunctionProblem, Mistake

STATEMENT = r"""
A one-channel image $x$ of shape $M \times N$ goes through a convolution with
the filter $W$ of shape $P \times Q$ (no bias, stride 1, no padding: a *valid*
convolution) and a ReLU:

$$k_{ij} = \sum_{a=0}^{P-1} \sum_{b=0}^{Q-1} W_{ab} x_{i+a, j+b},$$

$$y_{ij} = \operatorname{ReLU}(k_{ij}) = \max(k_{ij}, 0),$$

so $k$ and $y$ have shape $(M - P + 1) \times (N - Q + 1)$. As in PyTorch,
"conv" means **cross-correlation** (the filter is *not* flipped:
`torch.nn.functional.conv2d` computes exactly this), and indices are **0-based**.

Given the upstream gradient $\partial L / \partial y$ (same shape as $y$), write
`conv2d_relu_backward(x, W, dL_dy)` returning the tuple `(dL_dW, dL_dx)`:

- `dL_dW`: $\partial L / \partial W$, shape $(P, Q)$ (the shape of `W`);
- `dL_dx`: $\partial L / \partial x$, shape $(M, N)$ (the shape of `x`).

Conventions:

- All inputs are 2-D float64 arrays (`x` the image, `W` the filter, `dL_dy`
  the gradient); shapes need not be square, and the filter may be
  $1 \times 1$ or as large as the image.
- The derivative of ReLU at 0 is taken to be **0** (as in PyTorch):
  $\partial y_{ij}/\partial k_{ij} = 1$ if $k_{ij} > 0$, else $0$. Some tests
  use small integers, where $k_{ij}$ can be exactly 0.
- Return the two arrays in this order, as a tuple (or list).

Example (the homework's numbers):

```
x     = [[1, 2, 3], [1, 1, 0], [0, -1, -2]]
W     = [[-1, 1], [1, 2]]
dL_dy = [[-3, 2], [0, 1]]
```

gives $k = [[4, 2], [-2, -6]]$, so
`dL_dW = [[1, 0], [-1, -3]]` and
`dL_dx = [[3, -5, 2], [-3, -4, 4], [0, 0, 0]]`.
"""


def _correlate(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Valid cross-correlation: out[i, j] = sum_ab w[a, b] x[i + a, j + b]."""
    kh, kw = w.shape
    oh, ow = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((oh, ow))
    for a in range(kh):
        for b in range(kw):
            out += w[a, b] * x[a:a + oh, b:b + ow]
    return out


def _backward(x: np.ndarray, w: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of sum(g * correlate(x, w)): (correlate(x, g), full convolution of g with w)."""
    kh, kw = w.shape
    oh, ow = g.shape
    dw = _correlate(x, g)
    dx = np.zeros(x.shape)
    for a in range(kh):
        for b in range(kw):
            dx[a:a + oh, b:b + ow] += w[a, b] * g
    return dw, dx


def _arrays(x: np.ndarray, W: np.ndarray, dL_dy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.asarray(x, dtype=np.float64), np.asarray(W, dtype=np.float64),
            np.asarray(dL_dy, dtype=np.float64))


def reference(x: np.ndarray, W: np.ndarray, dL_dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, W, dL_dy = _arrays(x, W, dL_dy)
    k = _correlate(x, W)
    return _backward(x, W, dL_dy * (k > 0))


# ------------------------------------------------------------------ known mistakes


def no_relu_mask(x: np.ndarray, W: np.ndarray, dL_dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, W, dL_dy = _arrays(x, W, dL_dy)
    return _backward(x, W, dL_dy)


def mask_includes_zero(x: np.ndarray, W: np.ndarray, dL_dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, W, dL_dy = _arrays(x, W, dL_dy)
    return _backward(x, W, dL_dy * (_correlate(x, W) >= 0))


def mask_times_output(x: np.ndarray, W: np.ndarray, dL_dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, W, dL_dy = _arrays(x, W, dL_dy)
    return _backward(x, W, dL_dy * np.maximum(_correlate(x, W), 0.0))


def true_convolution(x: np.ndarray, W: np.ndarray, dL_dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # the whole layer done with a flipped filter (a true convolution), consistently forward and backward
    x, W, dL_dy = _arrays(x, W, dL_dy)
    flipped = W[::-1, ::-1]
    dw, dx = _backward(x, flipped, dL_dy * (_correlate(x, flipped) > 0))
    return dw[::-1, ::-1], dx


def dx_unflipped(x: np.ndarray, W: np.ndarray, dL_dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # dL/dx as a full *correlation* of the padded dL/dk with W (the filter must be rotated by 180 degrees)
    x, W, dL_dy = _arrays(x, W, dL_dy)
    g = dL_dy * (_correlate(x, W) > 0)
    kh, kw = W.shape
    padded = np.pad(g, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    return _correlate(x, g), _correlate(padded, W)


def dw_rotated(x: np.ndarray, W: np.ndarray, dL_dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # dL/dW as a true convolution of x with dL/dk (rotated by 180 degrees)
    dw, dx = reference(x, W, dL_dy)
    return dw[::-1, ::-1], dx


def swapped(x: np.ndarray, W: np.ndarray, dL_dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dw, dx = reference(x, W, dL_dy)
    return dx, dw


# ------------------------------------------------------------------ cases

KINDS = ("k exactly 0 somewhere (integer entries)", "1x1 filter", "filter as large as the image",
         "non-square image and filter", "random")


def _zero_somewhere(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Small integers, with k[i, j] = 0 exactly at a position where dL/dy is not 0."""
    h, w = int(rng.integers(2, 7)), int(rng.integers(2, 7))
    kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
    if kh * kw == h * w:  # keep at least two output positions so the mask has something to choose from
        kh = max(1, kh - 1)
    x = rng.integers(-3, 4, (h, w)).astype(np.float64)
    W = rng.integers(-2, 3, (kh, kw)).astype(np.float64)
    a, b = int(rng.integers(0, kh)), int(rng.integers(0, kw))
    W[a, b] = 1.0
    k = _correlate(x, W)
    i, j = int(rng.integers(0, k.shape[0])), int(rng.integers(0, k.shape[1]))
    x[i + a, j + b] -= k[i, j]  # x[i+a, j+b] enters k[i, j] only through W[a, b] = 1, so k[i, j] becomes 0
    dy = rng.integers(-3, 4, k.shape).astype(np.float64)
    dy[i, j] = float(rng.choice([-2.0, -1.0, 1.0, 2.0]))
    return x, W, dy


def generate(rng: np.random.Generator, index: int) -> Case:
    kind = KINDS[index % len(KINDS)]
    if kind == KINDS[0]:
        return Case(_zero_somewhere(rng), kind)
    h, w = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    if kind == "1x1 filter":
        kh = kw = 1
    elif kind == "filter as large as the image":
        kh, kw = h, w
    elif kind == "non-square image and filter":
        h, w = int(rng.integers(2, 8)), int(rng.integers(2, 8))
        while w == h:
            w = int(rng.integers(2, 8))
        kh = kw = 1
        while kh == kw:  # h != w and both >= 2, so a non-square filter exists
            kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
    else:
        h, w = int(rng.integers(3, 8)), int(rng.integers(3, 8))
        kh, kw = int(rng.integers(2, min(h, 4) + 1)), int(rng.integers(2, min(w, 4) + 1))
    x, W = rng.normal(0, 1, (h, w)), rng.normal(0, 1, (kh, kw))
    dy = rng.normal(0, 1, (h - kh + 1, w - kw + 1))
    return Case((x, W, dy), kind)


EXAMPLE = Case((np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 0.0], [0.0, -1.0, -2.0]]),
                np.array([[-1.0, 1.0], [1.0, 2.0]]),
                np.array([[-3.0, 2.0], [0.0, 1.0]])), "the homework's example")

# Tolerance (the course's precision policy: a correct float32 computation passes, see README). Each output entry
# is a sum of at most H*W <= 49 products of O(1) numbers: well conditioned. A float32 implementation (any
# summation order, loops, np.einsum, torch autograd) errs by ~1e-7 relative to those products (worst float32
# twin: 5e-7 of max|entry|); the course defaults rtol 1e-4 / atol 1e-5 * max(1, max|entry|) leave a wide margin
# and still reject every known mistake, which is off by O(1). The ReLU mask is decided on k: continuous inputs
# keep |k| far from 0 almost surely, and in the integer cases k is computed exactly.
PART = Close(rtol=1e-4, atol=1e-5)

PROBLEM = FunctionProblem(
    id="conv2d_relu_backward",
    title="Backpropagation through conv + ReLU",
    statement=STATEMENT,
    function="conv2d_relu_backward",
    signature="conv2d_relu_backward(x: np.ndarray, W: np.ndarray, dL_dy: np.ndarray) -> tuple",
    returns="(dL_dW of shape W.shape, dL_dx of shape x.shape)",
    reference=reference,
    examples=(EXAMPLE,),
    generate=generate,
    check=TupleOf(dL_dW=PART, dL_dx=PART),
    public_count=5,
    hidden_count=10,
    # mask_includes_zero comes first: where no k is negative it coincides with no_relu_mask, and then
    # the k = 0 position is the only thing wrong
    mistakes=(
        Mistake("relu'(0) must be 0 (as in PyTorch): use the mask k > 0, not k >= 0", mask_includes_zero),
        Mistake("the ReLU was not backpropagated: multiply dL/dy by relu'(k) = 1[k > 0] before going "
                "through the convolution", no_relu_mask),
        Mistake("dL/dy was multiplied by relu(k) instead of relu'(k) = 1[k > 0]", mask_times_output),
        Mistake("you used a true convolution (flipped filter); here conv means cross-correlation, as in "
                "torch.nn.functional.conv2d: k[i,j] = sum_ab W[a,b] x[i+a, j+b]", true_convolution),
        Mistake("dL/dx: each dL/dk[i,j] spreads back as W[a,b] * dL/dk[i,j] onto x[i+a, j+b]; as a "
                "full correlation of the padded dL/dk this needs the filter rotated by 180 degrees",
                dx_unflipped),
        Mistake("dL/dW is rotated by 180 degrees: dL/dW[a,b] = sum_ij dL/dk[i,j] x[i+a, j+b] is a "
                "cross-correlation of x with dL/dk, not a convolution", dw_rotated),
        Mistake("the two gradients are swapped: return (dL_dW, dL_dx) in this order", swapped),
    ),
)
