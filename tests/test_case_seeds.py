"""Same seeds, same cases: the generators may get faster, never different.

The digests below were recorded before the generators were optimised; every public and hidden case of every
assignment (inputs and labels) for three students under a fixed secret must still hash to them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from grader.engine import Audience, plan_cases
from grader.loader import load_assignment

DIGESTS = {
    "wr3": "74cf9d7846336133e1e0e389a8098e88ae72a39d256c3f9ab116f0cab858078b",
    "hw4": "d072b6b2e3beb56f719df48383f27ef3d627068b9343d6e13808ca2f4e563b22",
    "hw5": "8232d6167f34c41c6df4be4f626bc16b45da114e8d112f5e40c520fdcfb7418d",
    "hw6": "14ecc9da41976c6eb5f11936f9c0ed598f7041d450ef8fd9df0b992f737049af",
    "hw7": "ca85f853b6d07dd9d21873e10cf14a9b40c4b65b8327ec6b5a8c9da8649a5802",
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
