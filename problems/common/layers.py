"""The layer-spec language of the counting problems, and its reference semantics.

A network is a JSON-able list of layer dicts applied to an input of shape
``(C, H, W)``::

    {"type": "conv2d", "out_channels": 64, "kernel_size": 11, "stride": 4, "padding": 0, "groups": 1, "bias": True}
    {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 0}   # stride defaults to kernel_size
    {"type": "avgpool2d", "kernel_size": 2}
    {"type": "relu"} | {"type": "sigmoid"} | {"type": "tanh"}
    {"type": "flatten"}                                                 # (C, H, W) -> (C*H*W,)
    {"type": "linear", "out_features": 4096, "bias": True}
    {"type": "parallel", "merge": "concat" | "sum", "branches": [[layer, ...], [layer, ...]]}

Spatial sizes use floor division, ``floor((H + 2p - k)/s) + 1``; ``concat``
joins along channels. Counting conventions (from the problem catalogue): a
conv output element costs ``(C_in/groups)*k^2`` multiplications and
``(C_in/groups)*k^2 - 1`` additions, plus one addition for the bias; a linear
output costs ``n_in`` multiplications and ``n_in - 1`` additions, plus one for
the bias; an activation costs one evaluation per element; a ``sum`` merge
costs ``(branches - 1)*numel`` additions; pooling and flatten cost nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

Shape = tuple[int, ...]
ACTIVATIONS = ("relu", "sigmoid", "tanh")
POOLS = ("maxpool2d", "avgpool2d")


class SpecError(ValueError):
    """A layer list that does not describe a valid network for its input."""


class Ops(NamedTuple):
    """Operation counts; a tuple because walks create many of them (faster than a dataclass)."""

    mults: int = 0
    adds: int = 0
    activations: int = 0

    def __add__(self, other: tuple) -> Ops:  # type: ignore[override]  # elementwise, not concatenation
        return Ops(self[0] + other[0], self[1] + other[1], self[2] + other[2])

    def as_dict(self) -> dict[str, int]:
        return {"mults": self.mults, "adds": self.adds, "activations": self.activations}


def _get(layer: dict[str, Any], key: str, default: Any = None) -> Any:
    value = layer.get(key, default)
    if value is None:
        raise SpecError(f"{layer.get('type')} layer needs {key!r}")
    return value


def window(layer: dict[str, Any]) -> tuple[int, int, int]:
    """(kernel, stride, padding) of a conv or pool layer, with the defaults applied."""
    k = int(_get(layer, "kernel_size"))
    default_stride = 1 if layer["type"] == "conv2d" else k
    return k, int(layer.get("stride", default_stride)), int(layer.get("padding", 0))


def spatial(size: int, k: int, s: int, p: int) -> int:
    return (size + 2 * p - k) // s + 1


def numel(shape: Shape) -> int:
    return math.prod(shape)


def _window_out(kind: str, shape: Shape, layer: dict[str, Any]) -> tuple[int, int, int, int]:
    """(channels, output height, output width, kernel) of a conv or pool, or the SpecError of a bad one."""
    if len(shape) != 3:
        raise SpecError(f"{kind} needs a (C, H, W) input, got {shape}")
    c, h, w = shape
    k, s, p = window(layer)
    if k < 1 or s < 1 or p < 0:
        raise SpecError(f"{kind}: kernel and stride must be >= 1 and padding >= 0")
    if h + 2 * p < k or w + 2 * p < k:
        raise SpecError(f"{kind}: kernel {k} does not fit the padded input {h}x{w} (padding {p})")
    return c, spatial(h, k, s, p), spatial(w, k, s, p), k


def _conv_channels(c: int, layer: dict[str, Any]) -> tuple[int, int]:
    """(output channels, groups) of a conv on ``c`` channels, or the SpecError of bad groups."""
    out_c, groups = int(_get(layer, "out_channels")), int(layer.get("groups", 1))
    if groups < 1 or c % groups or out_c % groups:
        raise SpecError(f"conv2d: groups={groups} must divide both {c} input and {out_c} output channels")
    return out_c, groups


def _merged(merge: Any, shapes: list[Shape]) -> Shape:
    """The output shape of a parallel block's merge, or the SpecError of branches that do not fit."""
    if merge == "sum":
        if len(set(shapes)) != 1:
            raise SpecError(f"sum merge needs equal branch shapes, got {shapes}")
        return shapes[0]
    if any(len(s) != 3 for s in shapes) or len({s[1:] for s in shapes}) != 1:
        raise SpecError(f"concat merge needs (C, H, W) branches of equal H, W, got {shapes}")
    return (sum(s[0] for s in shapes), *shapes[0][1:])


def _branches(layer: dict[str, Any]) -> tuple[Any, Any]:
    merge, branches = layer.get("merge"), layer.get("branches")
    if merge not in ("concat", "sum") or not branches:
        raise SpecError("parallel needs merge 'concat' or 'sum' and a non-empty list of branches")
    return merge, branches


def _layer_step(shape: Shape, layer: dict[str, Any]) -> tuple[Shape, int, Ops]:
    """Output shape, parameter count and operation count of one layer."""
    kind = layer.get("type")
    if kind == "conv2d" or kind in POOLS:
        c, out_h, out_w, k = _window_out(kind, shape, layer)
        if kind in POOLS:
            return (c, out_h, out_w), 0, Ops()
        out_c, groups = _conv_channels(c, layer)
        bias = bool(layer.get("bias", True))
        taps = (c // groups) * k * k
        out = (out_c, out_h, out_w)
        n = numel(out)
        params = taps * out_c + (out_c if bias else 0)
        return out, params, Ops(n * taps, n * (taps - 1) + (n if bias else 0), 0)
    if kind in ACTIVATIONS:
        return shape, 0, Ops(activations=numel(shape))
    if kind == "flatten":
        return (numel(shape),), 0, Ops()
    if kind == "linear":
        if len(shape) != 1:
            raise SpecError(f"linear needs a flat input (add a flatten layer), got {shape}")
        n_in, n_out = shape[0], int(_get(layer, "out_features"))
        bias = bool(layer.get("bias", True))
        return (n_out,), n_in * n_out + (n_out if bias else 0), \
            Ops(n_in * n_out, n_out * (n_in - 1) + (n_out if bias else 0), 0)
    if kind == "parallel":
        return _parallel(shape, layer)
    raise SpecError(f"unknown layer type {kind!r}")


def shape_step(shape: Shape, layer: dict[str, Any], memo: dict[int, tuple[Any, Shape, Shape]] | None = None
               ) -> Shape:
    """``_layer_step(shape, layer)[0]`` without the counting: the same output shape, and a SpecError in exactly
    the same cases (the random networks are drawn by trying layers, so which layers fail must not change).

    ``memo`` remembers the parallel blocks already walked (by identity and input shape), for a caller that
    builds a network block by block and never changes a block once it has been walked."""
    kind = layer.get("type")
    if kind == "conv2d" or kind in POOLS:
        c, out_h, out_w, _ = _window_out(kind, shape, layer)
        if kind in POOLS:
            return (c, out_h, out_w)
        return (_conv_channels(c, layer)[0], out_h, out_w)
    if kind in ACTIVATIONS:
        return shape
    if kind == "flatten":
        return (numel(shape),)
    if kind == "linear":
        if len(shape) != 1:
            raise SpecError(f"linear needs a flat input (add a flatten layer), got {shape}")
        return (int(_get(layer, "out_features")),)
    if kind == "parallel":
        if memo is not None:
            known = memo.get(id(layer))
            if known is not None and known[0] is layer and known[1] == shape:
                return known[2]
        merge, branches = _branches(layer)
        out = _merged(merge, [walk_shape(shape, branch, memo) for branch in branches])
        if memo is not None:
            memo[id(layer)] = (layer, shape, out)  # holding the layer keeps its id unique
        return out
    raise SpecError(f"unknown layer type {kind!r}")


def walk_shape(shape: Sequence[int], layers: Sequence[dict[str, Any]],
               memo: dict[int, tuple[Any, Shape, Shape]] | None = None) -> Shape:
    """``walk(shape, layers)[0]``, without the counting."""
    current: Shape = tuple(int(x) for x in shape)
    for layer in layers:
        current = shape_step(current, layer, memo)
    return current


def _parallel(shape: Shape, layer: dict[str, Any]) -> tuple[Shape, int, Ops]:
    merge, branches = _branches(layer)
    results = [walk(shape, branch) for branch in branches]
    shapes = [r[0] for r in results]
    params = sum(r[1] for r in results)
    ops = sum((r[2] for r in results), Ops())
    out = _merged(merge, shapes)
    if merge == "sum":
        ops = ops + Ops(adds=(len(shapes) - 1) * numel(out))
    return out, params, ops


def walk(shape: Sequence[int], layers: Sequence[dict[str, Any]]) -> tuple[Shape, int, Ops]:
    current: Shape = tuple(int(x) for x in shape)
    params, ops = 0, Ops()
    for layer in layers:
        current, p, o = _layer_step(current, layer)
        params, ops = params + p, ops + o
    return current, params, ops


def output_shape(input_shape: Sequence[int], layers: Sequence[dict[str, Any]]) -> Shape:
    return walk_shape(input_shape, layers, {})  # walk(...)[0], without counting


def count_params(input_shape: Sequence[int], layers: Sequence[dict[str, Any]]) -> int:
    return walk_params(input_shape, layers, {})  # walk(...)[1], without counting operations


def walk_params(shape: Sequence[int], layers: Sequence[dict[str, Any]],
                memo: dict[int, tuple[Any, Shape, Shape]] | None = None) -> int:
    """``walk(shape, layers)[1]``: the same count, and a SpecError in the same cases (``shape_step``'s)."""
    current: Shape = tuple(int(x) for x in shape)
    params = 0
    for layer in layers:
        out = shape_step(current, layer, memo)
        kind = layer.get("type")
        if kind == "conv2d":
            taps = (current[0] // int(layer.get("groups", 1))) * int(_get(layer, "kernel_size")) ** 2
            params += taps * out[0] + (out[0] if bool(layer.get("bias", True)) else 0)
        elif kind == "linear":
            params += current[0] * out[0] + (out[0] if bool(layer.get("bias", True)) else 0)
        elif kind == "parallel":
            params += sum(walk_params(current, branch, memo) for branch in layer["branches"])
        current = out
    return params


def count_ops(input_shape: Sequence[int], layers: Sequence[dict[str, Any]]) -> dict[str, int]:
    return walk(input_shape, layers)[2].as_dict()


def receptive_field(input_shape: Sequence[int], layers: Sequence[dict[str, Any]], i: int, j: int
                    ) -> tuple[tuple[int, int], tuple[int, int]]:
    """Inclusive input rows and columns that can influence output (i, j), clipped at every level."""
    sizes = [tuple(int(x) for x in input_shape)]
    for layer in layers:
        if layer["type"] not in ("conv2d", *POOLS, *ACTIVATIONS):
            raise SpecError(f"receptive fields are defined for conv, pool and activation layers, not {layer['type']}")
        sizes.append(shape_step(sizes[-1], layer))
    (r_lo, r_hi), (c_lo, c_hi) = (i, i), (j, j)
    for layer, after in zip(reversed(layers), reversed(sizes[1:]), strict=True):
        if layer["type"] in ACTIVATIONS:
            continue
        k, s, p = window(layer)
        if p >= k:
            raise SpecError(f"{layer['type']}: padding {p} >= kernel {k} leaves border outputs that see no input")
        r_lo, r_hi = max(r_lo, 0), min(r_hi, after[1] - 1)
        c_lo, c_hi = max(c_lo, 0), min(c_hi, after[2] - 1)
        r_lo, r_hi = r_lo * s - p, r_hi * s - p + k - 1
        c_lo, c_hi = c_lo * s - p, c_hi * s - p + k - 1
    h, w = sizes[0][1], sizes[0][2]
    return (max(r_lo, 0), min(r_hi, h - 1)), (max(c_lo, 0), min(c_hi, w - 1))


# ------------------------------------------------------------------ named networks


def conv(out: int, k: int, s: int = 1, p: int = 0, groups: int = 1, bias: bool = True) -> dict[str, Any]:
    return {"type": "conv2d", "out_channels": out, "kernel_size": k, "stride": s, "padding": p,
            "groups": groups, "bias": bias}


def maxpool(k: int, s: int | None = None, p: int = 0) -> dict[str, Any]:
    return {"type": "maxpool2d", "kernel_size": k, "stride": k if s is None else s, "padding": p}


def linear(out: int, bias: bool = True) -> dict[str, Any]:
    return {"type": "linear", "out_features": out, "bias": bias}


RELU = {"type": "relu"}
FLATTEN = {"type": "flatten"}


def alexnet() -> list[dict[str, Any]]:
    """AlexNet as in the HW7 seed, on (3, 227, 227)."""
    return [conv(64, 11, 4), RELU, maxpool(3, 2), conv(192, 5, 1, 2), RELU, maxpool(3, 2),
            conv(384, 3, 1, 1), RELU, conv(256, 3, 1, 1), RELU, conv(256, 3, 1, 1), RELU, maxpool(3, 2),
            FLATTEN, linear(4096), RELU, linear(4096), RELU, linear(1000)]


def naive_inception() -> list[dict[str, Any]]:
    """On (256, 32, 32)."""
    return [{"type": "parallel", "merge": "concat", "branches": [
        [conv(128, 1), RELU], [conv(192, 3, 1, 1), RELU], [conv(96, 5, 1, 2), RELU], [maxpool(3, 1, 1)]]}]


def bottleneck_inception() -> list[dict[str, Any]]:
    """On (256, 32, 32); ReLU after every conv."""
    return [{"type": "parallel", "merge": "concat", "branches": [
        [conv(128, 1), RELU],
        [conv(64, 1), RELU, conv(192, 3, 1, 1), RELU],
        [conv(64, 1), RELU, conv(96, 5, 1, 2), RELU],
        [maxpool(3, 1, 1), conv(64, 1), RELU]]}]


def inception_3a() -> list[dict[str, Any]]:
    """GoogLeNet inception(3a) on (192, 28, 28)."""
    return [{"type": "parallel", "merge": "concat", "branches": [
        [conv(64, 1), RELU],
        [conv(96, 1), RELU, conv(128, 3, 1, 1), RELU],
        [conv(16, 1), RELU, conv(32, 5, 1, 2), RELU],
        [maxpool(3, 1, 1), conv(32, 1), RELU]]}]


def stm_one_path() -> list[dict[str, Any]]:
    """Split-transform-merge, one wide path, on (256, 32, 32)."""
    return [conv(128, 1), RELU, conv(128, 3, 1, 1), RELU, conv(256, 1), RELU]


def stm_paths(paths: int = 32, width: int = 4) -> list[dict[str, Any]]:
    """Split-transform-merge with ``paths`` narrow paths summed, on (256, 32, 32)."""
    branch = [conv(width, 1), RELU, conv(width, 3, 1, 1), RELU, conv(256, 1), RELU]
    return [{"type": "parallel", "merge": "sum", "branches": [list(branch) for _ in range(paths)]}]
