"""Same seeds, same cases: the generators may get faster, never different.

The digests below pin every public and hidden case of every assignment (inputs and labels) for three students
under a fixed secret. They were recorded when hidden cases became per-slot variants shared by a class
(``seeding.HIDDEN_VARIANTS``); optimising a generator must leave them unchanged.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

import numpy as np
import pytest

from grader.engine import Audience, CaseBook, plan_cases
from grader.loader import load_assignment
from grader.seeding import HIDDEN_VARIANTS

DIGESTS = {
    "wr3": "095b88b7ed8709a249ae34c18036f7d1259cc90f6d1c545be130b34258dcbf98",
    "hw4": "9d0360348025a94c906e10c1583367d5a01b3e04fba4f5b48ebb824402f04928",
    "hw5": "6202f81048e094608a16723e2ed9180f9b1dee0871f089781ee660187507b6d8",
    "hw6": "6a68dd30eeda94b5d65fef7d49db4c69bcaf93fef1bee88c3e308dd31bb1c04e",
    "hw7": "44085ba5bc7e264e7ac0b1ff2f108e32cafa1733b88c1edc1256ff390e9f384c",
}


def _feed(h: Any, value: Any) -> None:
    """Hash a case's inputs exactly: arrays by dtype, shape and bytes; containers in order; the rest by repr."""
    if isinstance(value, np.ndarray):
        h.update(f"a{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        h.update(b"{")
        for key, item in value.items():
            _feed(h, key)
            _feed(h, item)
        h.update(b"}")
    elif isinstance(value, (list, tuple)):
        h.update(b"(" if isinstance(value, tuple) else b"[")
        for item in value:
            _feed(h, item)
        h.update(b")")
    else:
        h.update(f"{type(value).__name__}:{value!r};".encode())


@pytest.mark.parametrize("assignment", sorted(DIGESTS))
def test_same_seeds_draw_the_same_cases(assignment: str) -> None:
    spec = load_assignment(assignment)
    h = hashlib.sha256()
    for student in ("s0001", "alice", "bob"):
        for planned in plan_cases(spec, Audience(hidden=True, secret="same-seeds", student=student)).cases:
            h.update(planned.id.encode())
            if planned.case is not None:
                h.update(planned.case.label.encode())
                _feed(h, planned.case.args)
    assert h.hexdigest() == DIGESTS[assignment]


def _same_typed(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (arrays: same dtype, shape and bytes)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes() and a.flags.writeable
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same_typed(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_typed(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (a != a and b != b)  # NaN


@pytest.mark.parametrize("assignment", sorted(DIGESTS))
def test_inputs_arrive_as_the_tagged_json_would_deliver_them(assignment: str) -> None:
    """Calls' inputs travel as pickles (wire.args_bytes), not as wire JSON: a student's function must get the
    very types and values it got when they went through to_wire/from_wire (plain ints, float64 arrays...)."""
    from grader.sandbox.worker import wire

    spec = load_assignment(assignment)
    for planned in plan_cases(spec, Audience(hidden=True, secret="same-seeds", student="s0001")).cases:
        if planned.case is None:
            continue
        pickled = pickle.loads(wire.args_bytes(planned.case.args))
        via_json = wire.from_wire(wire.loads(wire.dumps(wire.to_wire(tuple(planned.case.args)))))
        assert _same_typed(pickled, via_json), (planned.problem.id, planned.id)


def _hidden_inputs(spec: Any, student: str, secret: str = "same-seeds", book: CaseBook | None = None) -> list[bytes]:
    from grader.sandbox.worker import wire

    plan = plan_cases(spec, Audience(hidden=True, secret=secret, student=student), book=book)
    return [wire.args_bytes(p.case.args) for p in plan.cases if p.kind == "hidden" and p.case is not None]


def test_hidden_cases_differ_between_students_and_secrets() -> None:
    """Each hidden slot is one of HIDDEN_VARIANTS variants, chosen per student with the secret: no two of 60
    students get the same hidden inputs, every slot takes several variants across them, and another secret
    changes them all."""
    spec = load_assignment("wr3")
    book = CaseBook()
    students = [f"s{i:03d}" for i in range(60)]
    seen = [_hidden_inputs(spec, s, book=book) for s in students]
    assert len({tuple(inputs) for inputs in seen}) == len(students)
    for slot in range(len(seen[0])):
        assert len({inputs[slot] for inputs in seen}) >= 8, slot  # of 16 variants, 60 students see most
    assert seen[0] == _hidden_inputs(spec, students[0])  # the same with a fresh book: replay finds them
    other = _hidden_inputs(spec, students[0], secret="another-secret")
    assert not set(other) & set(seen[0])


def test_a_class_draws_each_hidden_variant_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch's book draws and solves a variant the first time a student gets it, never again."""
    import grader.engine as engine

    spec = load_assignment("hw6")
    drawn: list[tuple[str, int, int]] = []
    original = engine.hidden_rng

    def counting(assignment: str, problem: str, index: int, variant: int, secret: str) -> Any:
        drawn.append((problem, index, variant))
        return original(assignment, problem, index, variant, secret)

    monkeypatch.setattr(engine, "hidden_rng", counting)
    book = CaseBook()
    for i in range(200):
        plan_cases(spec, Audience(hidden=True, secret="same-seeds", student=f"s{i}"), book=book)
    slots = sum(p.hidden_count for p in spec.functions)
    assert len(drawn) == len(set(drawn)) <= slots * HIDDEN_VARIANTS
    assert len(drawn) > slots * HIDDEN_VARIANTS // 2  # 200 students reach most variants of every slot
