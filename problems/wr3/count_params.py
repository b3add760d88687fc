"""wr3: the number of trainable parameters of a network described in the layer-spec language."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks import Exact
from grader.spec import Case, FunctionProblem, Mistake

from ..common import layers as L
from .output_shape import LANGUAGE, Variant, network, walk_variant

STATEMENT = LANGUAGE + r"""
Write `count_params(input_shape, layers)` returning the number of trainable
parameters (weights and biases) of the network, as an `int`:

- a **conv** layer has $(C_\text{in}/g)\cdot k^2 \cdot C_\text{out}$ weights
  (each of the $C_\text{out}$ filters is $k \times k$ and sees $C_\text{in}/g$
  input channels), plus $C_\text{out}$ biases when `bias` is True; the
  weights are shared by all output positions;
- a **linear** layer has $n_\text{in}\cdot n_\text{out}$ weights plus
  $n_\text{out}$ biases when `bias` is True ($n_\text{in}$ is the length of
  its flat input: after `flatten` that is $C \cdot H \cdot W$);
- activations, pooling, `flatten` and the merges of `parallel` blocks have no
  parameters; the parameters of a `parallel` block are those of all its
  branches (branches never share weights).

This is what `sum(p.numel() for p in module.parameters())` gives for the
corresponding PyTorch module.

Examples: AlexNet on `(3, 227, 227)` has 61,100,840 parameters; the grouped
bottleneck `[conv 1x1 -> 64, relu, conv 3x3 p1 -> 64 with groups=32, relu,
conv 1x1 -> 128, relu]` on `(128, 16, 16)` has 17,792.
"""


def reference(input_shape: tuple[int, ...], layers: list[dict[str, Any]]) -> int:
    return int(L.count_params(input_shape, layers))


SHAPE_SLIP = ("the input size of a linear layer after flatten is C*H*W, with H and W from "
              "floor((H + 2p - k)/s) + 1 at every conv and pool before it: check the floor and the + 1")


def generate(rng: np.random.Generator, index: int) -> Case:
    return network(rng, index, keep_tail=True)


def variant_params(v: Variant):
    def answer(input_shape: tuple[int, ...], layers: list[dict[str, Any]]) -> int:
        return walk_variant(input_shape, layers, v)[1]
    return answer


EXAMPLES = (
    Case(((3, 227, 227), L.alexnet()), "AlexNet on (3, 227, 227): 61,100,840"),
    # The inception and split-transform-merge networks of the catalogue are hw5's and hw6's
    # ANSWERS: public examples here would hand those answers out, so these are other networks.
    Case(((128, 16, 16), [L.conv(64, 1), L.RELU, L.conv(64, 3, 1, 1, groups=32), L.RELU, L.conv(128, 1), L.RELU]),
         "grouped bottleneck on (128, 16, 16): 17,792"),
    Case(((16, 8, 8), [{"type": "parallel", "merge": "sum", "branches": [
        [L.conv(32, 3, 1, 1), L.RELU, L.conv(32, 3, 1, 1)], [L.conv(32, 1, bias=False)]]}, L.RELU]),
         "residual block with a 1x1 projection (no bias), summed: 14,400"),
    Case(((4, 37, 37), [L.conv(8, 3, 2), L.RELU, L.maxpool(2), L.conv(16, 3, 2), L.RELU, L.conv(16, 3, 1, 1),
                        L.maxpool(2), L.FLATTEN, L.linear(10)]), "conv/pool stack with a linear head: 4,434"),
)

PROBLEM = FunctionProblem(
    id="count_params",
    title="Counting the parameters of a network",
    statement=STATEMENT,
    function="count_params",
    signature="count_params(input_shape: tuple, layers: list) -> int",
    returns="int",
    reference=reference,
    examples=EXAMPLES,
    generate=generate,  # random networks as in output_shape (tails kept): every edge case comes first
    check=Exact(),  # counts are integers: no tolerance
    public_count=9,
    hidden_count=9,  # one per kind of network: with the 9 public ones, every edge case twice
    mistakes=(
        Mistake("the biases are not counted: a conv layer has C_out biases, a linear layer n_out "
                "(when 'bias' is True)", variant_params(Variant(params="no_bias"))),
        Mistake("groups ignored: with groups g each filter sees only C_in/g input channels, so a conv has "
                "(C_in/g)*k^2*C_out weights", variant_params(Variant(params="no_groups"))),
        Mistake("the weights were counted once per output position: a conv's filters are shared by all "
                "positions, so H_out and W_out do not enter the count",
                variant_params(Variant(params="per_position"))),
        Mistake("each filter's input depth was ignored: a k x k filter on C_in/g channels has "
                "(C_in/g)*k^2 weights, not k^2", variant_params(Variant(params="no_depth"))),
        Mistake("a k x k kernel has k^2 weights per input channel, not k",
                variant_params(Variant(params="k_not_squared"))),
        Mistake("every branch of a parallel block starts from the block's input, not from the previous "
                "branch's output", variant_params(Variant(chain_branches=True))),
        # Both slips only show through n_in = C*H*W of a linear layer, where they can give the same
        # number: one message for both.
        Mistake(SHAPE_SLIP, variant_params(Variant(plus_one=False))),
        Mistake(SHAPE_SLIP, variant_params(Variant(ceil=True))),
    ),
)
