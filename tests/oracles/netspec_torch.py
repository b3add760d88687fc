"""A torch oracle for the layer-spec language: build an ``nn.Module`` from a layer list.

It is written from the language's description, not from ``problems/common/layers.py``,
and computes no shape itself: convolutions and linear layers are torch's lazy modules
(``nn.LazyConv2d``, ``nn.LazyLinear``), which take their input size from the first
tensor they see, and the module is materialised by forwarding one zero input. Missing
optional keys take torch's own defaults where the language agrees with torch (a pool's
``stride=None`` means ``kernel_size``).

    module = build_module((3, 227, 227), layers)     # float64, batch dimension first
    output_shape((3, 227, 227), layers)              # shape of module(zeros) without the batch dimension
    count_parameters(module)                         # sum of numel of the parameters

``parallel`` feeds its input to every branch (each an ``nn.Sequential``, possibly with
further ``parallel`` blocks) and merges with ``torch.cat(dim=1)`` or an elementwise sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

DTYPE = torch.float64
_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class Parallel(nn.Module):
    """Feeds the same input to every branch; merges by channel concatenation or elementwise sum."""

    def __init__(self, branches: Sequence[nn.Module], merge: str) -> None:
        super().__init__()
        if merge not in ("concat", "sum"):
            raise ValueError(f"unknown merge {merge!r}")
        self.branches = nn.ModuleList(branches)
        self.merge = merge

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [branch(x) for branch in self.branches]
        if self.merge == "concat":
            return torch.cat(outs, dim=1)
        total = outs[0]
        for out in outs[1:]:
            total = total + out
        return total


def layer_module(layer: dict[str, Any]) -> nn.Module:
    """One layer dict as an (unmaterialised) torch module."""
    kind = layer["type"]
    if kind == "conv2d":
        return nn.LazyConv2d(int(layer["out_channels"]), int(layer["kernel_size"]),
                             stride=int(layer.get("stride", 1)), padding=int(layer.get("padding", 0)),
                             groups=int(layer.get("groups", 1)), bias=bool(layer.get("bias", True)), dtype=DTYPE)
    if kind in ("maxpool2d", "avgpool2d"):
        pool = nn.MaxPool2d if kind == "maxpool2d" else nn.AvgPool2d
        stride = layer.get("stride")  # None: torch's default, the kernel size
        return pool(int(layer["kernel_size"]), stride=None if stride is None else int(stride),
                    padding=int(layer.get("padding", 0)))
    if kind in _ACTIVATIONS:
        return _ACTIVATIONS[kind]()
    if kind == "flatten":
        return nn.Flatten()  # keeps the batch dimension: (N, C, H, W) -> (N, C*H*W)
    if kind == "linear":
        return nn.LazyLinear(int(layer["out_features"]), bias=bool(layer.get("bias", True)), dtype=DTYPE)
    if kind == "parallel":
        return Parallel([sequential(branch) for branch in layer["branches"]], layer["merge"])
    raise ValueError(f"unknown layer type {kind!r}")


def sequential(layers: Sequence[dict[str, Any]]) -> nn.Sequential:
    return nn.Sequential(*(layer_module(layer) for layer in layers))


def _forward_zeros(module: nn.Module, input_shape: Sequence[int]) -> torch.Tensor:
    with torch.no_grad():
        return module(torch.zeros((1, *(int(d) for d in input_shape)), dtype=DTYPE))


def build_module(input_shape: Sequence[int], layers: Sequence[dict[str, Any]]) -> nn.Module:
    """The network as a materialised float64 ``nn.Sequential`` for inputs of shape ``(N, *input_shape)``."""
    return build_and_run(input_shape, layers)[0]


def build_and_run(input_shape: Sequence[int], layers: Sequence[dict[str, Any]]) -> tuple[nn.Module, tuple[int, ...]]:
    """The module and the shape of its output for one input (batch dimension dropped)."""
    module = sequential(layers)
    out = _forward_zeros(module, input_shape)  # materialises the lazy layers
    return module, tuple(int(d) for d in out.shape[1:])


def output_shape(input_shape: Sequence[int], layers: Sequence[dict[str, Any]]) -> tuple[int, ...]:
    return build_and_run(input_shape, layers)[1]


def count_parameters(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))
