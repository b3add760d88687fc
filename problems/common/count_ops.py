"""count_ops (hw5 and hw7): multiplications, additions and activation evaluations of a network."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks import Exact
from grader.spec import Case, FunctionProblem, Mistake

from . import layers as L
from .stacks import edge_for, random_network

STATEMENT = r"""
Networks are described in the **layer-spec language**: a list of layer dicts
applied to an input of shape `(C, H, W)`:

```
{"type": "conv2d", "out_channels": 64, "kernel_size": 11, "stride": 4, "padding": 0, "groups": 1, "bias": True}
{"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 0}   # stride defaults to kernel_size
{"type": "avgpool2d", "kernel_size": 2}
{"type": "relu"} | {"type": "sigmoid"} | {"type": "tanh"}
{"type": "flatten"}                                                 # (C,H,W) -> (C*H*W,)
{"type": "linear", "out_features": 4096, "bias": True}
{"type": "parallel", "merge": "concat" | "sum", "branches": [[layer, ...], [layer, ...]]}
```

Optional keys take the defaults shown (conv `stride` 1, `padding` 0, `groups` 1,
`bias` True; pool `stride` = `kernel_size`). Spatial sizes use floor division,
$\lfloor (H + 2p - k)/s \rfloor + 1$; `concat` joins branches along channels.

Write `count_ops(input_shape, layers)` returning
`{"mults": int, "adds": int, "activations": int}` for one forward pass, counting as follows:

- a **conv** output element costs $(C_\text{in}/g)\,k^2$ multiplications and
  $(C_\text{in}/g)\,k^2 - 1$ additions, plus **1 addition for the bias** when there is one;
  taps that land on zero padding count;
- a **linear** output costs $n_\text{in}$ multiplications and $n_\text{in} - 1$ additions,
  plus 1 for the bias;
- an **activation** layer costs one evaluation per element of its input;
- a `parallel` block with `merge: "sum"` costs $(\text{branches} - 1)\cdot\text{numel}$ additions
  (`concat` is free);
- pooling and flatten cost nothing.

Example: on an input of shape `(2, 5, 5)`,

```
[{"type": "parallel", "merge": "sum", "branches": [
     [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "bias": False}],
     [{"type": "conv2d", "out_channels": 4, "kernel_size": 1, "bias": False}]]},
 {"type": "tanh"}]
```

costs `{"mults": 2000, "adds": 1900, "activations": 100}`: the 3x3 branch has
100 outputs of 18 products and 17 additions each, the 1x1 branch 100 outputs of 2
products and 1 addition, the sum merge 100 additions, and tanh 100 evaluations.
"""


def reference(input_shape: tuple[int, ...], layers: list[dict[str, Any]]) -> dict[str, int]:
    return L.count_ops(input_shape, layers)


def _variant(input_shape: tuple[int, ...], layers: list[dict[str, Any]], *, bias_adds: bool = True,
             merge_adds: bool = True, activations: bool = True) -> dict[str, int]:
    """The reference with one convention dropped: the known slips."""
    flags = {"bias_adds": bias_adds, "merge_adds": merge_adds, "activations": activations}
    total = L.Ops()
    shape: tuple[int, ...] = tuple(input_shape)
    for layer in layers:
        out_shape, _, ops = L._layer_step(shape, layer)
        if layer["type"] == "parallel":
            branches = [_variant(shape, branch, **flags) for branch in layer["branches"]]
            adds = sum(b["adds"] for b in branches)
            if merge_adds and layer["merge"] == "sum":
                adds += (len(branches) - 1) * L.numel(out_shape)
            ops = L.Ops(sum(b["mults"] for b in branches), adds, sum(b["activations"] for b in branches))
        else:
            if not bias_adds and layer["type"] in ("conv2d", "linear") and layer.get("bias", True):
                ops = L.Ops(ops.mults, ops.adds - L.numel(out_shape), ops.activations)
            if not activations:
                ops = L.Ops(ops.mults, ops.adds, 0)
        total = total + ops
        shape = out_shape
    return total.as_dict()


def adds_equal_mults(input_shape: tuple[int, ...], layers: list[dict[str, Any]]) -> dict[str, int]:
    ops = L.count_ops(input_shape, layers)
    return {**ops, "adds": ops["mults"]}


def generate(rng: np.random.Generator, index: int) -> Case:
    edge = edge_for(index)
    shape, layers = random_network(rng, edge)
    return Case((shape, layers), edge.replace("_", " "))


def _sum_example() -> Case:
    branches = [[L.conv(4, 3, 1, 1, bias=False)], [L.conv(4, 1, bias=False)]]
    return Case(((2, 5, 5), [{"type": "parallel", "merge": "sum", "branches": branches}, {"type": "tanh"}]),
                "the example of the statement: a sum merge without biases")


def _stack_example() -> Case:
    layers = [L.conv(8, 3, 2), L.RELU, L.maxpool(2), L.conv(16, 3, 2), L.RELU, L.conv(16, 3, 1, 1), L.maxpool(2),
              L.FLATTEN, L.linear(10)]
    return Case(((4, 37, 37), layers), "conv/pool stack on (4, 37, 37) with a linear head")


PROBLEM = FunctionProblem(
    id="count_ops",
    title="Counting the operations of a network",
    statement=STATEMENT,
    function="count_ops",
    signature="count_ops(input_shape: tuple, layers: list) -> dict",
    returns='{"mults": int, "adds": int, "activations": int}',
    reference=reference,
    examples=(_sum_example(), _stack_example()),
    generate=generate,
    check=Exact(),
    public_count=5,
    hidden_count=7,  # one per kind of network in stacks.EDGES
    mistakes=(
        Mistake("the bias additions are missing: each conv or linear output with a bias costs one more addition",
                lambda s, layers: _variant(s, layers, bias_adds=False)),
        Mistake("the additions of a 'sum' merge are missing: (branches - 1) * numel",
                lambda s, layers: _variant(s, layers, merge_adds=False)),
        Mistake("activation layers are not counted: one evaluation per element",
                lambda s, layers: _variant(s, layers, activations=False)),
        Mistake("additions were set equal to multiplications: k^2*C_in products need k^2*C_in - 1 additions, "
                "plus one for the bias", adds_equal_mults),
    ),
)
