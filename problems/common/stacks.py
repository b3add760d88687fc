"""Random valid networks in the layer-spec language, for the counting and shape problems.

``random_network(rng, edge)`` draws an input shape and a layer list that is
valid for it. ``edge`` forces the situations students get wrong: a 1x1
input, a stride larger than the kernel, grouped convolutions, nested
``parallel`` blocks, a ``sum`` merge, padding on pools.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from .layers import ACTIVATIONS, SpecError, shape_step

T = TypeVar("T")
EDGES = ("one_by_one", "stride_gt_kernel", "groups", "nested_parallel", "sum_merge", "pool_padding", "random")


def pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    """One of ``options``, uniformly: like rng.choice, without its array conversion (6x faster)."""
    return options[int(rng.integers(len(options)))]


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _conv(rng: np.random.Generator, shape: tuple[int, ...], *, same: bool = False, groups: bool = False,
          stride_gt_kernel: bool = False, out: int | None = None) -> dict[str, Any]:
    c, h, w = shape
    room = min(h, w)
    if same:
        k = pick(rng, [1, 3, 5]) if room >= 2 else 1
        s, p = 1, k // 2
    else:
        k = int(rng.integers(1, min(room, 5) + 1))
        s = int(rng.integers(k + 1, k + 3)) if stride_gt_kernel else int(rng.integers(1, 3))
        p = int(rng.integers(0, k // 2 + 1))
    if groups:
        g = pick(rng, [d for d in _divisors(c) if d > 1] or [1])
        out_c = g * int(rng.integers(1, 4)) if out is None else out
    else:
        g = 1
        out_c = int(rng.integers(1, 17)) if out is None else out
    return {"type": "conv2d", "out_channels": out_c, "kernel_size": k, "stride": s, "padding": p,
            "groups": g, "bias": bool(rng.random() < 0.8)}


def _pool(rng: np.random.Generator, shape: tuple[int, ...], padding: bool = False) -> dict[str, Any]:
    room = min(shape[1], shape[2])
    k = int(rng.integers(1, min(room, 3) + 1))
    layer: dict[str, Any] = {"type": pick(rng, ["maxpool2d", "avgpool2d"]), "kernel_size": k}
    if rng.random() < 0.6:
        layer["stride"] = int(rng.integers(1, k + 2))
    if padding and k >= 2:
        layer["padding"] = int(rng.integers(1, k // 2 + 1))
    return layer


def _activation(rng: np.random.Generator) -> dict[str, Any]:
    return {"type": pick(rng, ACTIVATIONS)}


def _parallel(rng: np.random.Generator, shape: tuple[int, ...], merge: str, depth: int,
              memo: dict[int, Any] | None = None) -> dict[str, Any]:
    """Branches that keep H and W (stride 1, 'same' padding) so they can be merged. ``memo``: the blocks
    already walked (``layers.shape_step``), so that a nested block is not walked again by its parents."""
    out = int(rng.integers(1, 9))
    branches = []
    for _ in range(int(rng.integers(2, 4))):
        branch: list[dict[str, Any]] = []
        current = shape
        for _ in range(int(rng.integers(1, 3))):
            if depth > 0 and rng.random() < 0.5:
                inner = _parallel(rng, current, pick(rng, ["concat", "sum"]), depth - 1, memo)
                branch.append(inner)
            elif rng.random() < 0.3:
                k = pick(rng, [1, 3])
                branch.append({"type": "maxpool2d", "kernel_size": k, "stride": 1, "padding": k // 2})
            else:
                branch.append(_conv(rng, current, same=True))
            current = shape_step(current, branch[-1], memo)
        if merge == "sum":
            branch.append(_conv(rng, current, same=True, out=out))
        elif rng.random() < 0.5:
            branch.append(_activation(rng))
        branches.append(branch)
    return {"type": "parallel", "merge": merge, "branches": branches}


def _tail(rng: np.random.Generator) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = [{"type": "flatten"}]
    for _ in range(int(rng.integers(1, 3))):
        layers.append({"type": "linear", "out_features": int(rng.integers(1, 65)), "bias": bool(rng.random() < 0.8)})
        if rng.random() < 0.5:
            layers.append(_activation(rng))
    return layers


def random_network(rng: np.random.Generator, edge: str = "random", *, spatial_only: bool = False,
                   parallel: bool = True) -> tuple[tuple[int, int, int], list[dict[str, Any]]]:
    """An input shape and a valid layer list. ``spatial_only`` keeps to conv, pool and activations."""
    for _ in range(200):
        try:  # _draw checks every layer as it adds it (the flatten/linear tail is always valid)
            return _draw(rng, edge, spatial_only, parallel)
        except SpecError:
            continue
    raise RuntimeError(f"could not draw a valid network for edge case {edge!r}")


def _draw(rng: np.random.Generator, edge: str, spatial_only: bool, parallel: bool
          ) -> tuple[tuple[int, int, int], list[dict[str, Any]]]:
    if edge == "one_by_one":
        shape = (int(rng.integers(1, 9)), 1, 1)
    else:
        shape = (int(rng.integers(1, 9)), int(rng.integers(5, 41)), int(rng.integers(5, 41)))
    layers: list[dict[str, Any]] = []
    current: tuple[int, ...] = shape
    forced = {"stride_gt_kernel": "conv_stride", "groups": "conv_groups", "nested_parallel": "nested",
              "sum_merge": "sum", "pool_padding": "pool_pad"}.get(edge)
    if spatial_only and forced in ("nested", "sum"):
        forced = None
    steps = int(rng.integers(1, 6))
    memo: dict[int, Any] = {}  # parallel blocks walked so far: none is changed after its walk
    slot = int(rng.integers(0, steps))
    for step in range(steps):
        choice = forced if step == slot and forced else None
        if choice is None:
            options = ["conv", "conv", "pool", "act"] + (["concat"] if parallel and not spatial_only else [])
            choice = pick(rng, options)
        if choice in ("conv", "conv_stride", "conv_groups"):
            layer = _conv(rng, current, stride_gt_kernel=choice == "conv_stride", groups=choice == "conv_groups")
        elif choice in ("pool", "pool_pad"):
            layer = _pool(rng, current, padding=choice == "pool_pad")
        elif choice == "act":
            layer = _activation(rng)
        elif choice == "nested":
            layer = _parallel(rng, current, "concat", depth=2, memo=memo)
            if not any(b["type"] == "parallel" for br in layer["branches"] for b in br):
                layer["branches"][0].insert(0, _parallel(rng, current, "sum", depth=0, memo=memo))
        else:
            layer = _parallel(rng, current, "sum" if choice == "sum" else "concat", depth=1, memo=memo)
        layers.append(layer)
        current = shape_step(current, layer, memo)
    if not spatial_only and edge != "pool_padding" and rng.random() < 0.4:
        layers += _tail(rng)
    return shape, layers


def edge_for(index: int) -> str:
    return EDGES[index % len(EDGES)]
