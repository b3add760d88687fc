"""hw5 ANSWERS: trainable parameters of the naive and the bottleneck inception modules (seed 001, problem 5)."""

from __future__ import annotations

import copy
from typing import Any

from grader.spec import AnswerKey, AnswersProblem

from ..common import layers as L

INPUT = (256, 32, 32)

STATEMENT = r"""
Fill in the module-level dict `ANSWERS` with integers. Both modules take an input of shape
$(256, 32, 32)$ (channels, height, width), every conv has a bias, every conv is followed by a
ReLU, and the branch outputs are concatenated along channels. A $k \times k$ conv from
$C_\text{in}$ to $C_\text{out}$ channels has $k^2 C_\text{in} C_\text{out} + C_\text{out}$
trainable parameters; pooling and ReLU have none.

- `ANSWERS["naive_inception_params"]`: the **naive** inception module, four branches
  1×1 conv → 128 ‖ 3×3 conv (padding 1) → 192 ‖ 5×5 conv (padding 2) → 96 ‖
  3×3 max pool (stride 1, padding 1).
- `ANSWERS["bottleneck_inception_params"]`: the inception module **with bottlenecks**:
  1×1 conv → 128 ‖ 1×1 conv → 64, then 3×3 conv (padding 1) → 192 ‖
  1×1 conv → 64, then 5×5 conv (padding 2) → 96 ‖ 3×3 max pool (stride 1, padding 1), then
  1×1 conv → 64.
"""


def _map_convs(layers: list[dict[str, Any]], change) -> list[dict[str, Any]]:
    """A copy of a layer list with ``change`` applied to every conv (inside parallel blocks too)."""
    out = []
    for layer in copy.deepcopy(layers):
        if layer["type"] == "parallel":
            layer["branches"] = [_map_convs(branch, change) for branch in layer["branches"]]
        elif layer["type"] == "conv2d":
            layer = change(layer)
        out.append(layer)
    return out


def _params(layers: list[dict[str, Any]]) -> int:
    return L.count_params(INPUT, layers)


def _no_bias(layer: dict[str, Any]) -> dict[str, Any]:
    return {**layer, "bias": False}


def _five_as_three(layer: dict[str, Any]) -> dict[str, Any]:
    return {**layer, "kernel_size": 3, "padding": 1} if layer["kernel_size"] == 5 else layer


NAIVE = _params(L.naive_inception())                    # 1,089,952
BOTTLENECK = _params(L.bottleneck_inception())          # 346,720

NO_BIAS = "the biases are left out: each conv also has one bias per output channel"
FIVE_AS_THREE = "the 5x5 branch was counted as a 3x3 conv: its filters have 5*5*C_in weights"

_bottleneck = L.bottleneck_inception()
_no_pool_projection = copy.deepcopy(_bottleneck)
_no_pool_projection[0]["branches"][3] = [L.maxpool(3, 1, 1)]

PROBLEM = AnswersProblem(
    title="Parameters of inception modules",
    statement=STATEMENT,
    keys=(
        AnswerKey("naive_inception_params", NAIVE, "trainable parameters of the naive inception module",
                  mistakes={"naive_inception_params": {
                      _params(_map_convs(L.naive_inception(), _five_as_three)): FIVE_AS_THREE,   # 696,736
                      _params(_map_convs(L.naive_inception(), _no_bias)): NO_BIAS,               # 1,089,536
                  }}),
        AnswerKey("bottleneck_inception_params", BOTTLENECK,
                  "trainable parameters of the inception module with 1x1 bottlenecks",
                  mistakes={"bottleneck_inception_params": {
                      _params(_map_convs(_bottleneck, _no_bias)): NO_BIAS,                       # 346,112
                      _params(_map_convs(_bottleneck, _five_as_three)): FIVE_AS_THREE,           # 248,416
                      _params(_no_pool_projection): "the 1x1 conv after the max pool (64 filters) is missing",
                  }}),
    ),
)
