"""Values as JSON data: what results store (inputs, expected and received values) and what the
student edition ships (public cases and their expected outputs).

Plain JSON carries numbers, strings, booleans, None and lists as themselves; the rest is tagged
with a one-key object whose key starts with ``$``, so a student's dict can never pass for one:

    {"$array": {"dtype": "float64", "shape": [2, 3], "data": [...flat...], "truncated": false}}
    {"$tuple": [...]}     {"$dict": [[key, value], ...]}     {"$float": "nan" | "inf" | "-inf"}
    {"$int": "<digits>"} (beyond 2**63)     {"$more": n} (the last item of a list cut short)
    {"$cut": "<what>"} (nesting or budget exceeded)     {"$repr": "..."} (anything else)

``encode(value)`` keeps at most ``elements`` numbers in all (default: the report limit) and cuts
the rest, saying so; ``encode(value, elements=None)`` is exact, for the student edition.
``decode`` rebuilds numpy arrays, tuples and dicts; a cut array decodes to :class:`Cut`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .limits import VALUE_DEPTH, VALUE_ELEMENTS
from .text import valid_text

_INT_LIMIT = 2**63
_STRING_CHARS = 2_000


@dataclass(frozen=True)
class Cut:
    """An array shown only in part: its shape, dtype and first values."""

    dtype: str
    shape: tuple[int, ...]
    head: np.ndarray


def _number(x: float) -> Any:
    if math.isfinite(x):
        return x
    return {"$float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


class _Encoder:
    def __init__(self, elements: int | None, depth: int) -> None:
        self.left = elements  # None: no budget
        self.depth = depth

    def take(self, n: int) -> int:
        if self.left is None:
            return n
        n = min(n, max(self.left, 0))
        self.left -= n
        return n

    def __call__(self, value: Any, depth: int = 0) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            value = valid_text(value)  # a lone surrogate (a JSON escape a submission sent) cannot be stored
            return value if len(value) <= _STRING_CHARS else value[:_STRING_CHARS] + f"... ({len(value)} chars)"
        if isinstance(value, (np.bool_,)):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            self.take(1)
            value = int(value)
            if -_INT_LIMIT < value < _INT_LIMIT:
                return value
            digits = len(str(abs(value))) if abs(value) < 10**4000 else 4000
            return {"$int": str(value) if digits <= 60 else f"<an integer of {digits}+ digits>"}
        if isinstance(value, (float, np.floating)):
            self.take(1)
            return _number(float(value))
        if depth >= self.depth:
            return {"$cut": "nested too deeply"}
        if isinstance(value, np.ndarray):
            return self.array(value)
        if isinstance(value, (list, tuple)):
            items: list[Any] = []
            for i, item in enumerate(value):
                if self.left is not None and self.left <= 0:
                    items.append({"$more": len(value) - i})
                    break
                items.append(self(item, depth + 1))
            return items if isinstance(value, list) else {"$tuple": items}
        if isinstance(value, Mapping):
            pairs: list[Any] = []
            for i, (k, v) in enumerate(value.items()):
                if self.left is not None and self.left <= 0:
                    pairs.append([{"$more": len(value) - i}, None])
                    break
                self.take(1)
                pairs.append([self(k, depth + 1), self(v, depth + 1)])
            return {"$dict": pairs}
        text = repr(value)
        return {"$repr": text if len(text) <= 200 else text[:200] + "..."}

    def array(self, arr: np.ndarray) -> Any:
        kept = self.take(int(arr.size))
        flat = arr.reshape(-1)[:kept]
        if arr.dtype.kind == "f":
            data = [_number(float(x)) for x in flat.tolist()]
        elif arr.dtype.kind in "iub":
            data = flat.tolist()
        elif arr.dtype.kind == "c":
            data = [[_number(float(x.real)), _number(float(x.imag))] for x in flat.tolist()]
        else:
            return {"$repr": f"<array of dtype {arr.dtype}, shape {arr.shape}>"}
        return {"$array": {"dtype": arr.dtype.str.lstrip("<>|="), "shape": list(arr.shape), "data": data,
                           "truncated": kept < arr.size}}


def encode(value: Any, elements: int | None = VALUE_ELEMENTS, depth: int = VALUE_DEPTH) -> Any:
    """JSON-ready data for ``value``; at most ``elements`` numbers (None: all, exactly)."""
    return _Encoder(elements, depth)(value)


def _float(x: Any) -> float:
    if isinstance(x, dict):
        return float(x["$float"])
    return float(x)


def decode(data: Any) -> Any:
    """The value ``encode`` described: numpy arrays, tuples and dicts rebuilt (a cut array as :class:`Cut`)."""
    if isinstance(data, list):
        return [decode(x) for x in data]
    if not isinstance(data, dict) or len(data) != 1:
        return data
    (tag, body), = data.items()
    if tag == "$array":
        dtype = np.dtype(body["dtype"])
        raw = body["data"]
        if dtype.kind == "f":
            flat = np.array([_float(x) for x in raw], dtype=dtype)
        elif dtype.kind == "c":
            flat = np.array([complex(_float(r), _float(i)) for r, i in raw], dtype=dtype)
        else:
            flat = np.array(raw, dtype=dtype)
        shape = tuple(int(n) for n in body["shape"])
        if body.get("truncated"):
            return Cut(str(dtype), shape, flat)
        return flat.reshape(shape)
    if tag == "$tuple":
        return tuple(decode(x) for x in body)
    if tag == "$dict":
        return {_key(decode(k)): decode(v) for k, v in body}
    if tag == "$float":
        return float(body)
    if tag == "$int":
        return int(body) if body.lstrip("-").isdigit() else Opaque(body)
    if tag in ("$more", "$cut", "$repr"):
        return Opaque(f"... {body} more" if tag == "$more" else str(body))
    return data


def _key(key: Any) -> Any:
    try:
        hash(key)
    except TypeError:
        return repr(key)
    return key


@dataclass(frozen=True)
class Opaque:
    """A part of a value that was not kept; shown as its description."""

    text: str

    def __repr__(self) -> str:
        return self.text
