"""Short, readable text for values shown in reports: inputs, expected and received outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

LIMIT = 1500


def show(value: Any, limit: int = LIMIT) -> str:
    text = _show(value)
    return text if len(text) <= limit else text[: limit - 20] + f" ... ({len(text)} chars)"


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        body = np.array2string(value, precision=6, threshold=60, edgeitems=3, max_line_width=100)
        return f"{body}  # shape {value.shape}" if value.ndim >= 1 else body
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k!r}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) for v in value):
        inner = ",\n".join(_show(v) for v in value)
        return ("[" if isinstance(value, list) else "(") + inner + ("]" if isinstance(value, list) else ")")
    return repr(value)


def show_args(names: Sequence[str], args: Sequence[Any], limit: int = LIMIT) -> str:
    if len(names) != len(args):
        names = [f"arg{i}" for i in range(len(args))]
    return "\n".join(f"{n} = {show(a, limit // max(1, len(args)) + 200)}" for n, a in zip(names, args, strict=True))
