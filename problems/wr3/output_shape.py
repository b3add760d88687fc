"""wr3: the output shape of a network described in the layer-spec language."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.checks import Exact
from grader.spec import Case, FunctionProblem, Mistake

from ..common import layers as L
from ..common.stacks import EDGES, random_network

LANGUAGE = r"""
Networks are described in the **layer-spec language**: a list of layer dicts
applied, in order, to an input of shape `(C, H, W)` (channels, height, width;
there is no batch dimension):

```
{"type": "conv2d", "out_channels": 64, "kernel_size": 11,
 "stride": 4, "padding": 0, "groups": 1, "bias": True}
{"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 0}
{"type": "avgpool2d", "kernel_size": 2}
{"type": "relu"} | {"type": "sigmoid"} | {"type": "tanh"}
{"type": "flatten"}
{"type": "linear", "out_features": 4096, "bias": True}
{"type": "parallel", "merge": "concat" | "sum",
 "branches": [[layer, ...], [layer, ...], ...]}
```
- Optional keys may be missing and then take these defaults: conv `stride` 1,
  `padding` 0, `groups` 1, `bias` True; pool `stride` = `kernel_size`,
  `padding` 0.
- Kernels are square (`kernel_size` $k$ means $k \times k$); padding $p$ adds
  $p$ rows/columns of zeros on **each** side. Conv and pool output sizes use
  floor division, exactly like `torch.nn.Conv2d` / `MaxPool2d`:
  $H_\text{out} = \left\lfloor \dfrac{H + 2p - k}{s} \right\rfloor + 1$
  (and the same for $W$).
- A conv with `groups` $g$ splits the input channels into $g$ groups; each
  output channel sees $C_\text{in}/g$ input channels.
- Activations keep the shape; `flatten` turns `(C, H, W)` into `(C*H*W,)`;
  `linear` maps `(n_in,)` to `(out_features,)`.
- `parallel` feeds the **same input** to every branch (each branch is itself
  a layer list, possibly containing further `parallel` blocks) and merges the
  branch outputs: `"concat"` joins them along the channel axis (the heights
  and widths are equal), `"sum"` adds them elementwise (all shapes are equal).
"""

STATEMENT = LANGUAGE + r"""
Write `output_shape(input_shape, layers)` returning the shape of the
network's output as a **tuple of ints**: `(C, H, W)` for a spatial output,
`(n,)` for a flat one. `input_shape` is a tuple `(C, H, W)`, `layers` a list
of layer dicts as above; every test network is valid for its input.

Example (the homework's network):

```
output_shape((4, 37, 37), [
    {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "stride": 2},
    {"type": "conv2d", "out_channels": 16, "kernel_size": 3,
     "padding": 1},
    {"type": "maxpool2d", "kernel_size": 2},
])  # -> (16, 2, 2)
```

(the intermediate shapes are (8, 18, 18), (8, 9, 9), (16, 4, 4), (16, 4, 4)).
"""


def reference(input_shape: tuple[int, ...], layers: list[dict[str, Any]]) -> tuple[int, ...]:
    return tuple(int(d) for d in L.output_shape(input_shape, layers))


# ------------------------------------------------------------------ wrong variants


@dataclass(frozen=True)
class Variant:
    """The layer-spec semantics with one known slip (the defaults are the right semantics)."""

    ceil: bool = False              # ceil instead of floor in the size formula
    true_division: bool = False     # / instead of //: non-integral sizes, carried to the next layers
    pad_sides: int = 2              # padding counted on 2 sides (right), once, or not at all
    plus_one: bool = True           # the + 1 of the size formula
    pool_stride_one: bool = False   # a missing pool stride taken as 1 instead of kernel_size
    concat_all_dims: bool = False   # concat adds H and W as well as C
    sum_as_concat: bool = False     # a sum merge adds the channel counts
    chain_branches: bool = False    # each parallel branch starts from the previous branch's output
    params: str = "right"           # right | no_bias | no_groups | per_position | no_depth | k_not_squared


def _size(n: int, k: int, s: int, p: int, v: Variant) -> int | float:
    top = n + v.pad_sides * p - k
    q = top / s if v.true_division else math.ceil(top / s) if v.ceil else top // s
    return q + (1 if v.plus_one else 0)


def _conv_params(c_in: int, out_shape: tuple[int, ...], layer: dict[str, Any], v: Variant) -> int:
    out_c, k = int(layer["out_channels"]), int(layer["kernel_size"])
    groups = int(layer.get("groups", 1))
    bias = out_c if layer.get("bias", True) else 0
    if v.params == "no_bias":
        return (c_in // groups) * k * k * out_c
    if v.params == "no_groups":
        return c_in * k * k * out_c + bias
    if v.params == "per_position":
        return ((c_in // groups) * k * k * out_c + bias) * out_shape[1] * out_shape[2]
    if v.params == "no_depth":
        return k * k * out_c + bias
    if v.params == "k_not_squared":
        return (c_in // groups) * k * out_c + bias
    return (c_in // groups) * k * k * out_c + bias


def walk_variant(shape: tuple[int, ...], layers: list[dict[str, Any]], v: Variant) -> tuple[tuple[int, ...], int]:
    """(output shape, parameter count) under the variant's semantics; raises ValueError when it breaks down."""
    current, params = tuple(int(d) for d in shape), 0
    for layer in layers:
        kind = layer["type"]
        if kind == "conv2d" or kind in L.POOLS:
            if len(current) != 3:
                raise ValueError("spatial layer on a flat input")
            c, h, w = current
            k = int(layer["kernel_size"])
            s = int(layer.get("stride", 1 if kind == "conv2d" or v.pool_stride_one else k))
            p = int(layer.get("padding", 0))
            out_hw = (_size(h, k, s, p, v), _size(w, k, s, p, v))
            if kind in L.POOLS:
                current = (c, *out_hw)
            else:
                current = (int(layer["out_channels"]), *out_hw)
                params += _conv_params(c, current, layer, v)
        elif kind in L.ACTIVATIONS:
            pass
        elif kind == "flatten":
            current = (math.prod(current),)
        elif kind == "linear":
            n_out = int(layer["out_features"])
            bias = n_out if layer.get("bias", True) and v.params != "no_bias" else 0
            params += current[0] * n_out + bias
            current = (n_out,)
        elif kind == "parallel":
            shapes, start = [], current
            for branch in layer["branches"]:
                out, p_branch = walk_variant(start, branch, v)
                shapes.append(out)
                params += p_branch
                if v.chain_branches:
                    start = out
            if layer["merge"] == "sum" and not v.sum_as_concat:
                current = shapes[0]
            elif v.concat_all_dims:
                current = tuple(sum(d) for d in zip(*shapes, strict=False))
            else:
                current = (sum(s[0] for s in shapes), *shapes[0][1:])
        else:
            raise ValueError(f"unknown layer {kind!r}")
    return current, params


def variant_shape(v: Variant):
    def answer(input_shape: tuple[int, ...], layers: list[dict[str, Any]]) -> tuple[int, ...]:
        return walk_variant(input_shape, layers, v)[0]
    return answer


# ------------------------------------------------------------------ cases

KINDS = (*EDGES, "flatten", "flatten_linear")


def network(rng: np.random.Generator, index: int, keep_tail: bool) -> Case:
    """A random valid network; every edge case of stacks.EDGES, a flatten and a flatten + linear tail come first.

    Without ``keep_tail`` the flatten/linear tail that random_network sometimes appends is cut off
    (except for the two tail kinds), so that the output shape shows what the earlier layers did.
    """
    kind = KINDS[index % len(KINDS)]
    if kind in ("flatten", "flatten_linear"):
        for _ in range(100):
            shape, layers = random_network(rng, "random")
            if any(layer["type"] == "linear" for layer in layers):
                break
        if kind == "flatten" and any(layer["type"] == "flatten" for layer in layers):
            layers = layers[:[layer["type"] for layer in layers].index("flatten") + 1]
    else:
        shape, layers = random_network(rng, kind)
        if not keep_tail and any(layer["type"] == "flatten" for layer in layers):
            layers = layers[:[layer["type"] for layer in layers].index("flatten")]
    return Case((shape, layers), kind.replace("_", " "))


def generate(rng: np.random.Generator, index: int) -> Case:
    return network(rng, index, keep_tail=False)


EXAMPLE_LAYERS: list[dict[str, Any]] = [
    {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "stride": 2},
    {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1},
    {"type": "maxpool2d", "kernel_size": 2},
]

EXAMPLES = (
    Case(((4, 37, 37), EXAMPLE_LAYERS), "the homework's network: (4, 37, 37) -> (16, 2, 2)"),
    Case(((3, 227, 227), L.alexnet()), "AlexNet on (3, 227, 227)"),
    Case(((256, 32, 32), L.naive_inception()), "naive inception module on (256, 32, 32)"),
)

PROBLEM = FunctionProblem(
    id="output_shape",
    title="Output shape of a network",
    statement=STATEMENT,
    function="output_shape",
    signature="output_shape(input_shape: tuple, layers: list) -> tuple",
    returns="tuple of ints",
    reference=reference,
    examples=EXAMPLES,
    generate=generate,
    check=Exact(),  # shapes are integers: no tolerance
    public_count=9,
    hidden_count=9,  # one per kind of network: with the 9 public ones, every edge case twice
    mistakes=(
        Mistake("off by one: the output size is floor((H + 2p - k)/s) + 1; the + 1 is missing",
                variant_shape(Variant(plus_one=False))),
        Mistake("rounded up: the output size uses floor division, floor((H + 2p - k)/s) + 1, not ceil",
                variant_shape(Variant(ceil=True))),
        Mistake("true division: the output size floor((H + 2p - k)/s) + 1 is an integer; use floor division "
                "(//), not /, which gives fractional sizes when s does not divide H + 2p - k",
                variant_shape(Variant(true_division=True))),
        Mistake("padding ignored: a padding p adds 2p to H and W before the kernel slides",
                variant_shape(Variant(pad_sides=0))),
        Mistake("padding counted once: p zeros are added on each side, so H becomes H + 2p",
                variant_shape(Variant(pad_sides=1))),
        Mistake("a pooling layer without a 'stride' key has stride = kernel_size, not 1",
                variant_shape(Variant(pool_stride_one=True))),
        Mistake("concat joins along channels only: the heights and widths stay the same",
                variant_shape(Variant(concat_all_dims=True))),
        Mistake("a 'sum' merge adds the branches elementwise: the channel count does not change",
                variant_shape(Variant(sum_as_concat=True))),
        Mistake("every branch of a parallel block starts from the block's input, not from the previous "
                "branch's output", variant_shape(Variant(chain_branches=True))),
    ),
)
