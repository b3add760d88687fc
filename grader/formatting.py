"""Short, readable text for values shown in reports: inputs, expected and received outputs.

Results hold values as data (:mod:`grader.values`); renderers turn them into text here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .values import Cut, decode

LIMIT = 1500


def show(value: Any, limit: int = LIMIT) -> str:
    text = _show(value)
    return text if len(text) <= limit else text[: limit - 20] + f" ... ({len(text)} chars)"


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        body = np.array2string(value, precision=6, threshold=60, edgeitems=3, max_line_width=100)
        return f"{body}  # shape {value.shape}" if value.ndim >= 1 else body
    if isinstance(value, Cut):
        head = np.array2string(value.head, precision=6, threshold=20, edgeitems=3, max_line_width=100)
        return f"array of shape {value.shape} ({value.dtype}); first values: {head} ..."
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k!r}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, (np.ndarray, Cut)) for v in value):
        inner = ",\n".join(_show(v) for v in value)
        return ("[" if isinstance(value, list) else "(") + inner + ("]" if isinstance(value, list) else ")")
    return repr(value)


def show_args(names: Sequence[str], args: Sequence[Any], limit: int = LIMIT) -> str:
    if len(names) != len(args):
        names = [f"arg{i}" for i in range(len(args))]
    return "\n".join(f"{n} = {show(a, limit // max(1, len(args)) + 200)}" for n, a in zip(names, args, strict=True))


def case_values(values: Mapping[str, Any]) -> dict[str, str]:
    """A result's recorded values as text: ``inputs``, ``expected`` and ``got``, those present."""
    shown: dict[str, str] = {}
    if "inputs" in values:
        inputs = values["inputs"]
        shown["inputs"] = show_args(list(inputs), [decode(v) for v in inputs.values()])
    for key in ("expected", "got"):
        if key in values:
            shown[key] = show(decode(values[key]))
    return shown


# ----------------------------------------------------------------- values as Python code


class _NotCode(Exception):
    """A value that was not kept in full: it can only be described, in a comment."""


def _number_literal(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return repr(bool(x))
    if isinstance(x, (int, np.integer)):
        return repr(int(x))
    if isinstance(x, (complex, np.complexfloating)):
        z = complex(x)
        return f"complex({_number_literal(z.real)}, {_number_literal(z.imag)})"
    x = float(x)
    if x != x:
        return "np.nan"
    if x in (float("inf"), float("-inf")):
        return "np.inf" if x > 0 else "-np.inf"
    return repr(x)


def _nested(arr: np.ndarray, indent: int) -> str:
    if arr.ndim == 1:
        return "[" + ", ".join(_number_literal(x) for x in arr.tolist()) + "]"
    inner = [_nested(row, indent + 1) for row in arr]
    if arr.ndim == 2 and sum(len(s) for s in inner) < 70:
        return "[" + ", ".join(inner) + "]"
    pad = " " * (indent + 1)
    return "[" + (",\n" + pad).join(inner) + "]"


def _array_literal(arr: np.ndarray, indent: int) -> str:
    dtype = str(arr.dtype)
    if arr.dtype.kind not in "biufc":
        raise _NotCode(f"an array of dtype {dtype}")
    name = f"np.{dtype}" if dtype != "bool" else "bool"
    if arr.size == 0:
        return f"np.zeros({tuple(arr.shape)!r}, dtype={name})"
    body = _number_literal(arr.item()) if arr.ndim == 0 else _nested(arr, indent + len("np.array("))
    # dtype spelled out whenever np.array would infer another one from the literal (or the shape is odd)
    inferred = {"f": "float64", "i": "int64", "b": "bool", "c": "complex128"}.get(arr.dtype.kind)
    suffix = "" if dtype == inferred and arr.dtype.kind != "c" else f", dtype={name}"
    return f"np.array({body}{suffix})"


def _literal(value: Any, indent: int = 0) -> str:
    from .values import Opaque

    if isinstance(value, Cut):
        raise _NotCode(f"an array of shape {value.shape} ({value.dtype}), too large to keep in full")
    if isinstance(value, Opaque):
        raise _NotCode(f"a value not kept in full ({value.text})")
    if isinstance(value, np.ndarray):
        return _array_literal(value, indent)
    if value is None or isinstance(value, str):
        return repr(value)
    if isinstance(value, (bool, int, float, complex, np.generic)):
        text = _number_literal(value)
        if isinstance(value, np.generic) and not isinstance(value, np.bool_):
            text = f"np.{value.dtype}({text})"
        return text
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_literal(k, indent)}: {_literal(v, indent + 1)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        items = [_literal(v, indent + 1) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v, indent + 1) for v in value) + "]"
    raise _NotCode(f"a value of type {type(value).__name__}")


def python_literal(value: Any) -> str:
    """A decoded value as Python source that rebuilds it (``import numpy as np`` assumed): arrays keep
    their dtype and shape, floats their exact value. A value that was cut (too large to keep) cannot be
    rebuilt: it comes back as a comment (``# ...``) rather than as broken code."""
    try:
        return _literal(value)
    except _NotCode as exc:
        return f"# not shown as code: {exc}"


def python_assignments(values: Mapping[str, Any]) -> str:
    """``name = literal`` lines, ready to paste into a REPL; a value that cannot be rebuilt becomes a comment."""
    lines = ["import numpy as np"]
    for name, value in values.items():
        text = python_literal(value)
        if text.startswith("#"):
            lines.append(f"# {name} = ...  ({text.removeprefix('# not shown as code: ')})")
        else:
            lines.append(f"{name} = " + text.replace("\n", "\n" + " " * (len(name) + 3)))
    return "\n".join(lines)


# ----------------------------------------------------------------- expected and received, side by side

DIFF_RTOL = 1e-6  # for display only: the checks have their own tolerances
GRID_ROWS, GRID_COLS, LIST_ROWS, COMPONENTS = 12, 8, 24, 12


def _cell(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (complex, np.complexfloating)):
        return f"{complex(x):.6g}"
    return f"{float(x):.6g}"


def _numeric(value: Any) -> np.ndarray | None:
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return np.asarray(value)
    return None


def _differs(exp: np.ndarray, got: np.ndarray) -> np.ndarray:
    if exp.dtype.kind in "biu" and got.dtype.kind in "biu":
        return exp != got
    e, g = exp.astype(float), got.astype(float)
    with np.errstate(invalid="ignore", over="ignore"):
        return ~np.isclose(g, e, rtol=DIFF_RTOL, atol=1e-12, equal_nan=True)


def _index(prefix: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in prefix) + "]"


def _arrays(name: str, exp: np.ndarray, got: np.ndarray) -> dict[str, Any]:
    diff = _differs(exp, got)
    component: dict[str, Any] = {"name": name, "differs": bool(diff.any()),
                                 "shape": tuple(exp.shape), "ndiff": int(diff.sum()), "size": int(exp.size)}
    if exp.ndim <= 1:  # one table: index, expected, got
        e, g, d = exp.reshape(-1), got.reshape(-1), diff.reshape(-1)
        rows = [(_index((i,)) if exp.ndim else "", _cell(e[i]), _cell(g[i]), bool(d[i]))
                for i in range(min(len(e), LIST_ROWS))]
        component.update(mode="list", rows=rows, more=max(0, len(e) - LIST_ROWS))
        return component
    e2 = exp.reshape(-1, exp.shape[-1])
    g2, d2 = got.reshape(e2.shape), diff.reshape(e2.shape)
    labels = [_index(tuple(int(i) for i in np.unravel_index(r, exp.shape[:-1])))
              for r in range(min(len(e2), GRID_ROWS))]
    cols = min(e2.shape[1], GRID_COLS)

    def grid(a: np.ndarray) -> list[tuple[str, list[tuple[str, bool]]]]:
        return [(labels[r], [(_cell(a[r, c]), bool(d2[r, c])) for c in range(cols)]) for r in range(len(labels))]

    component.update(mode="grid", expected=grid(e2), got=grid(g2), cols=list(range(cols)),
                     more_rows=max(0, len(e2) - GRID_ROWS), more_cols=max(0, e2.shape[1] - GRID_COLS))
    return component


def _compare(name: str, exp: Any, got: Any, out: list[dict[str, Any]]) -> None:
    if len(out) >= COMPONENTS:
        return
    e, g = _numeric(exp), _numeric(got)
    if e is not None and g is not None and e.shape == g.shape:
        out.append(_arrays(name, e, g))
        return
    if isinstance(exp, (list, tuple)) and isinstance(got, (list, tuple)) and len(exp) == len(got) \
            and not any(isinstance(v, (Cut,)) for v in (*exp, *got)):
        for i, (a, b) in enumerate(zip(exp, got, strict=True)):
            _compare(f"{name}[{i}]", a, b, out)
        return
    if isinstance(exp, Mapping) and isinstance(got, Mapping) and list(exp) == list(got):
        for k in exp:
            _compare(f"{name}[{k!r}]", exp[k], got[k], out)
        return
    same = type(exp) is type(got) and show(exp) == show(got)
    out.append({"name": name, "mode": "text", "expected": show(exp), "got": show(got), "differs": not same})


def side_by_side(expected: Any, got: Any) -> list[dict[str, Any]]:
    """Decoded expected and received values, component by component (a tuple's items, a dict's keys),
    for a report to show next to each other: arrays of the same shape entry by entry, each entry marked
    ``differs`` when it is off by more than a relative 1e-6 (display only); anything else as text.
    Sizes are capped (``GRID_ROWS`` x ``GRID_COLS`` of a matrix, ``LIST_ROWS`` of a vector, ``COMPONENTS``)."""
    out: list[dict[str, Any]] = []
    _compare("", expected, got, out)
    return out


def spells_number(text: str, value: int) -> bool:
    """Does ``text`` write out the integer ``value`` (as 1234567, 1,234,567, 1_234_567 or 1 234 567)?"""
    plain = re.sub(r"(?<=\d)[,_ ](?=\d{3})", "", text)
    return re.search(rf"(?<![\d.]){abs(value)}(?!\d)", plain) is not None
