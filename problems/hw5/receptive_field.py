"""hw5: the receptive field of one output position of a conv/pool network, clipped to the input."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks import Exact
from grader.spec import Case, FunctionProblem, Mistake

from ..common import layers as L
from ..common.stacks import random_network

STATEMENT = r"""
A network is a list of layer dicts (the layer-spec language) applied to an input of shape
`(C, H, W)`; here only these layers occur:

```
{"type": "conv2d", "out_channels": 64, "kernel_size": 3, "stride": 1, "padding": 1, "groups": 1, "bias": True}
{"type": "maxpool2d", "kernel_size": 2, "stride": 2, "padding": 0}   # stride defaults to kernel_size
{"type": "avgpool2d", "kernel_size": 2}
{"type": "relu"} | {"type": "sigmoid"} | {"type": "tanh"}
```

Optional keys take the defaults shown (conv `stride` 1, `padding` 0; **pool `stride` =
`kernel_size`** when it is missing). Kernels are square; "conv" is cross-correlation, so output
row $r$ of a layer with kernel $k$, stride $s$ and zero padding $p$ reads input rows
$rs - p, \dots, rs - p + k - 1$ of that layer's input (rows outside $0, \dots, H-1$ are padding,
which depends on nothing). Spatial sizes use floor division, $\lfloor (H + 2p - k)/s \rfloor + 1$,
so some rows at the bottom (columns at the right) may never be read.

Write `receptive_field(input_shape, layers, i, j)` returning
`((row_lo, row_hi), (col_lo, col_hi))`: the smallest and largest row index, and the smallest and
largest column index, of the **input pixels that can influence the output at position
$(i, j)$** (any channel). Indices are **0-based** and the bounds are **inclusive**;
$(i, j)$ is a position of the final output, $0 \le i < H_\text{out}$, $0 \le j < W_\text{out}$.

- The result lies inside the input: $0 \le$ `row_lo` $\le$ `row_hi` $\le H - 1$ (same for columns).
- Padding influences nothing, at **every** layer: a window that sticks out past the border of an
  intermediate feature map does not reach any further into the input through the padded positions.
- Activations do not change the field; channels and groups do not matter for it.

Example (the front of VGG, on `(3, 224, 224)`): conv 3×3 padding 1, ReLU, conv 3×3 padding 1,
ReLU, maxpool 2, conv 3×3 padding 1, ReLU, conv 3×3 padding 1, ReLU, maxpool 2 (output
$56 \times 56$). Output $(i, j)$ sees rows $4i - 6, \dots, 4i + 9$ and columns
$4j - 6, \dots, 4j + 9$, clipped to the input: `receptive_field((3, 224, 224), vgg, 10, 20)`
is `((34, 49), (74, 89))` and `receptive_field((3, 224, 224), vgg, 0, 0)` is `((0, 9), (0, 9))`.
"""

POOLS = ("maxpool2d", "avgpool2d")


def reference(input_shape: tuple, layers: list, i: int, j: int) -> tuple[tuple[int, int], tuple[int, int]]:
    return L.receptive_field(input_shape, layers, int(i), int(j))


def _window(layer: dict[str, Any], pool_stride_one: bool) -> tuple[int, int, int]:
    k, s, p = L.window(layer)
    if pool_stride_one and layer["type"] in POOLS and "stride" not in layer:
        s = 1
    return k, s, p


def _field(input_shape, layers, i, j, *, clip_each: bool = True, clip_end: bool = True, padding: bool = True,
           pools: bool = True, pool_stride_one: bool = False, exclusive: bool = False):
    """The interval recursion backwards from (i, j), with switches for the known slips."""
    sizes = [tuple(int(x) for x in input_shape)]
    for layer in layers:
        sizes.append(L.output_shape(sizes[-1], [layer]))
    rows, cols = [int(i), int(i)], [int(j), int(j)]
    for layer, after in zip(reversed(layers), reversed(sizes[1:]), strict=True):
        if layer["type"] not in ("conv2d", *POOLS) or (not pools and layer["type"] in POOLS):
            continue
        k, s, p = _window(layer, pool_stride_one)
        p = p if padding else 0
        for span, size in ((rows, after[1]), (cols, after[2])):
            if clip_each:
                span[0], span[1] = max(span[0], 0), min(span[1], size - 1)
            span[0], span[1] = span[0] * s - p, span[1] * s - p + k - 1
    h, w = sizes[0][1], sizes[0][2]
    if clip_end:
        rows = [max(rows[0], 0), min(rows[1], h - 1)]
        cols = [max(cols[0], 0), min(cols[1], w - 1)]
    extra = 1 if exclusive else 0
    return (rows[0], rows[1] + extra), (cols[0], cols[1] + extra)


def _stride_product_off(input_shape, layers, i, j):
    """The closed form u = i prod(s) - sum p_l prod_{m<l} s_m, but with prod_{m<=l} (own stride included)."""
    windows = [L.window(layer) for layer in layers if layer["type"] in ("conv2d", *POOLS)]
    total = int(np.prod([s for _, s, _ in windows])) if windows else 1
    lo_i, hi_i, lo_j, hi_j = i * total, i * total, j * total, j * total
    product = 1
    for k, s, p in windows:
        product *= s  # should be multiplied in after this layer's term
        lo_i, lo_j = lo_i - p * product, lo_j - p * product
        hi_i, hi_j = hi_i + (k - 1 - p) * product, hi_j + (k - 1 - p) * product
    h, w = int(input_shape[1]), int(input_shape[2])
    return (max(lo_i, 0), min(hi_i, h - 1)), (max(lo_j, 0), min(hi_j, w - 1))


def popular_script(input_shape, layers, i, j):
    """The receptive-field arithmetic of the popular script ("A guide to receptive field arithmetic for
    CNNs", computeReceptiveField.py): per layer, forward, the output size n, the jump j, the field size r
    and the centre of the first output's field, start, with the padding taken from the output size,
    actualP = (n_out - 1) s - n_in + k and pL = floor(actualP / 2) (the 'SAME'-style split, not the
    layer's p); output (i, j) sees the r pixels centred on start + i * jump, clipped only at the end."""
    h, w = int(input_shape[1]), int(input_shape[2])
    fields = []
    for n_in, index in ((h, int(i)), (w, int(j))):
        n, jump, r, start = n_in, 1, 1, 0.5  # start: the centre of pixel 0 in continuous coordinates
        for layer in layers:
            if layer["type"] not in ("conv2d", *POOLS):
                continue
            k, s, p = L.window(layer)
            n_out = (n - k + 2 * p) // s + 1
            actual_p = (n_out - 1) * s - n + k
            p_left = actual_p // 2
            start = start + ((k - 1) / 2 - p_left) * jump
            r, jump, n = r + (k - 1) * jump, jump * s, n_out
        centre = start + index * jump
        lo, hi = round(centre - r / 2), round(centre + r / 2) - 1  # whole numbers: r/2 and start are halves
        fields.append((max(lo, 0), min(hi, n_in - 1)))
    return fields[0], fields[1]


def vgg_front() -> list[dict[str, Any]]:
    return [L.conv(64, 3, 1, 1), L.RELU, L.conv(64, 3, 1, 1), L.RELU, L.maxpool(2),
            L.conv(128, 3, 1, 1), L.RELU, L.conv(128, 3, 1, 1), L.RELU, L.maxpool(2)]


def _dropped_border(rng: np.random.Generator) -> tuple[tuple[int, int, int], list[dict[str, Any]]]:
    """A strided layer that never reads the last rows/columns, then a padded layer: the case where
    clipping at every layer matters (a window over the padding must not reach the unread pixels)."""
    k = int(rng.integers(1, 4))
    s = int(rng.integers(2, 4))
    h = s * int(rng.integers(2, 6)) + k + int(rng.integers(1, s))  # (h - k) % s != 0: pixels dropped
    w = s * int(rng.integers(2, 6)) + k + int(rng.integers(1, s))
    first: dict[str, Any] = (L.conv(int(rng.integers(1, 5)), k, s, 0) if rng.random() < 0.5
                             else {"type": "avgpool2d", "kernel_size": k, "stride": s})
    second = (L.conv(int(rng.integers(1, 5)), 3, 1, 1) if rng.random() < 0.5
              else {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1})
    layers = [first, {"type": str(rng.choice(L.ACTIVATIONS))}, second]
    return (int(rng.integers(1, 4)), h, w), layers


EDGES = ("dropped_border", "stride_gt_kernel", "pool_padding", "one_by_one", "groups", "random")


def generate(rng: np.random.Generator, index: int) -> Case:
    edge = EDGES[index % len(EDGES)]
    if edge == "dropped_border":
        shape, layers = _dropped_border(rng)
    else:
        shape, layers = random_network(rng, edge, spatial_only=True)
    _, h_out, w_out = L.output_shape(shape, layers)
    where = index % 4  # corners and borders first: that is where clipping matters
    if edge == "dropped_border" or where == 0:
        i, j, at = h_out - 1, w_out - 1, "bottom-right corner"
    elif where == 1:
        i, j, at = 0, 0, "top-left corner"
    elif where == 2:
        i, j, at = (0, w_out - 1, "top-right corner") if rng.random() < 0.5 else (h_out - 1, 0, "bottom-left corner")
    else:
        i, j, at = int(rng.integers(0, h_out)), int(rng.integers(0, w_out)), "random position"
    return Case((shape, layers, i, j), f"{edge.replace('_', ' ')} network, {at}")


def _examples() -> tuple[Case, ...]:
    vgg = vgg_front()
    return (
        Case(((3, 224, 224), vgg, 10, 20), "VGG front, output (10, 20)"),
        Case(((3, 224, 224), vgg, 0, 0), "VGG front, output (0, 0)"),
        Case(((3, 224, 224), vgg, 55, 55), "VGG front, output (55, 55): the last one"),
        Case(((3, 224, 224), vgg[:5], 7, 0), "VGG front up to the first maxpool, output (7, 0)"),
    )


PROBLEM = FunctionProblem(
    id="receptive_field",
    title="Receptive field of an output position",
    statement=STATEMENT,
    function="receptive_field",
    signature="receptive_field(input_shape: tuple, layers: list, i: int, j: int) -> tuple",
    returns="((row_lo, row_hi), (col_lo, col_hi)), inclusive, 0-based, inside the input",
    reference=reference,
    examples=_examples(),
    generate=generate,
    check=Exact(),
    public_count=6,
    hidden_count=12,
    mistakes=(
        Mistake("the field was not clipped to the input: rows and columns outside 0..H-1 are padding",
                lambda *a: _field(*a, clip_each=False, clip_end=False)),
        Mistake("the field was clipped only at the input: clip at every layer, since a window over the padding "
                "of an intermediate map does not reach the input pixels that strided layers never read",
                lambda *a: _field(*a, clip_each=False)),
        Mistake("this is the popular receptive-field script's arithmetic (jump, size and start per layer, the "
                "padding inferred from the output size as floor(((n_out - 1) s - n_in + k) / 2), clipped only at "
                "the end): here every layer pads p on each side, and since padding influences nothing, the field "
                "must be clipped at every layer", popular_script),
        Mistake("the padding offset is missing: output row r of a layer reads rows r*s - p ... r*s - p + k - 1",
                lambda *a: _field(*a, padding=False)),
        Mistake("the bounds are exclusive (Python-range style): return inclusive bounds, the last row and column "
                "that can influence the output", lambda *a: _field(*a, exclusive=True)),
        Mistake("pooling layers were ignored: a pool widens the field like a conv with the same kernel, "
                "stride and padding", lambda *a: _field(*a, pools=False)),
        Mistake("a pool layer without a 'stride' key has stride = kernel_size, not 1",
                lambda *a: _field(*a, pool_stride_one=True)),
        Mistake("the stride products are off by one layer: a layer's padding and kernel are scaled by the "
                "product of the strides of the layers before it, not including its own",
                _stride_product_off),
    ),
)
