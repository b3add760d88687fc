"""A course without its solutions: the student edition's data, and how it loads back into specs.

The student edition (``grader bundle``) ships, per assignment, a JSON document holding
statements, signatures, points, each problem's check as data, and its examples and public
cases already solved (inputs, expected output, and the known mistakes' outputs and messages on
them), plus the course's *public modules*: the few modules whose code a check needs (hw4's
property checks, hw5's trajectory check), each declaring ``__grader_public__ = True``. It holds
no reference, no case generator, no mistake code, no hidden case and no ``ANSWERS`` value.

Checks as data::

    {"type": "Close", "rtol": 1e-7, "atol": 1e-9}       {"type": "Exact"}
    {"type": "SequenceOf", "name": "dA_list", "part": {...}}
    {"type": "TupleOf", "parts": [["dL_dW", {...}], ...]}
    {"type": "ExactWithReasons", "reasons": {...}, "hint": "..."}
    {"type": "Property", "module": "hw4.filters_check", "function": "check_filter", "description": "..."}
    {"type": "public", "module": "hw5.trajectory", "attr": "CHECK"}   (a Check object defined in a public module)
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from .checks import Check, Close, Exact, ExactWithReasons, Property, SequenceOf, TupleOf
from .errors import SpecError
from .spec import (
    AnswerKey,
    AnswersProblem,
    Assignment,
    Case,
    Entry,
    FunctionProblem,
    Mistake,
    SolvedCase,
    Withheld,
)
from .values import decode

PACKAGE = "grader_student_course"  # the import name of the course inside a student edition
FORMAT = 1


def check_to_data(check: Check, public_name: Any) -> dict[str, Any]:
    """``public_name(obj) -> (module, attribute)`` locates code in a public module, or raises SpecError."""
    kind = type(check)
    if kind is Close:
        return {"type": "Close", "rtol": check.rtol, "atol": check.atol}
    if kind is Exact:
        return {"type": "Exact"}
    if kind is SequenceOf:
        return {"type": "SequenceOf", "name": check.name, "part": check_to_data(check.part, public_name)}
    if kind is TupleOf:
        return {"type": "TupleOf", "parts": [[n, check_to_data(c, public_name)] for n, c in check.parts.items()]}
    if kind is ExactWithReasons:
        return {"type": "ExactWithReasons", "reasons": dict(check.reasons), "hint": check.hint}
    if kind is Property:
        module, attr = public_name(check.test)
        canonical = public_name(check.canonical)[1] if check.canonical is not None else None
        return {"type": "Property", "module": module, "function": attr, "description": check.description,
                "canonical": canonical}
    module, attr = public_name(check)
    return {"type": "public", "module": module, "attr": attr}


def check_from_data(data: dict[str, Any]) -> Check:
    kind = data["type"]
    if kind == "Close":
        return Close(rtol=data["rtol"], atol=data["atol"])
    if kind == "Exact":
        return Exact()
    if kind == "SequenceOf":
        return SequenceOf(check_from_data(data["part"]), data["name"])
    if kind == "TupleOf":
        return TupleOf(**{name: check_from_data(part) for name, part in data["parts"]})
    if kind == "ExactWithReasons":
        return ExactWithReasons(data["reasons"], data["hint"])
    if kind == "Property":
        canonical = _public(data["module"], data["canonical"]) if data.get("canonical") else None
        return Property(_public(data["module"], data["function"]), data["description"], canonical)
    if kind == "public":
        check = _public(data["module"], data["attr"])
        if not isinstance(check, Check):
            raise SpecError(f"{data['module']}.{data['attr']} is not a check")
        return check
    raise SpecError(f"unknown check type {kind!r} in the student edition's data")


def _public(module: str, attr: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.{module}"), attr)


def course_dir() -> Path | None:
    """The installed student edition's course folder, if this installation is one."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def assignment_ids(root: Path) -> list[str]:
    return sorted(p.stem for p in root.glob("*.json"))


def load(root: Path, assignment_id: str) -> Assignment:
    data = json.loads((root / f"{assignment_id}.json").read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise SpecError(f"{assignment_id}: the student edition's data has format {data.get('format')!r}; "
                        f"this grader reads format {FORMAT}: install the matching edition")
    entries = []
    for item in data["entries"]:
        p = item["problem"]
        if p["kind"] == "answers":
            keys = tuple(AnswerKey(k["key"], Withheld(tuple(k["subkeys"])), k["description"]) for k in p["keys"])
            problem: Any = AnswersProblem(p["title"], p["statement"], keys, self_check=False)
        else:
            solved = tuple(SolvedCase(
                id=c["id"], kind=c["kind"],
                case=Case(tuple(decode(c["args"])), c["label"], decode(c["context"]) if c["context"] else None),
                expected=decode(c["expected"]),
                wrong={int(i): decode(v) for i, v in c["wrong"].items()},
                messages={int(i): m for i, m in c["messages"].items()},
            ) for c in p["solved"])
            problem = FunctionProblem(
                id=p["id"], title=p["title"], statement=p["statement"], function=p["function"],
                signature=p["signature"], returns=p["returns"], reference=None, examples=(), generate=None,
                check=check_from_data(p["check"]), public_count=0, hidden_count=0,
                mistakes=tuple(Mistake(m, None, raises=r) for m, r in
                               zip(p["mistakes"], p.get("mistake_raises") or [""] * len(p["mistakes"]), strict=True)),
                show_expected=p["show_expected"],
                self_check=p["self_check"], solved=solved, param_names=tuple(p["params"]))
        entries.append(Entry(problem, item["points"]))
    return Assignment(data["id"], data["title"], data["summary"], data["source"], tuple(entries),
                      total=data.get("total", 100.0))
