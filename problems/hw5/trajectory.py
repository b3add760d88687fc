"""hw5's trajectory check, shared by both momentum forms. Public: the student edition ships this
module (it holds the check and nothing of the solution)."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks import Check, Close, Verdict, as_float_array, invalid
from grader.spec import Case

__grader_public__ = True

# Tolerance, scaled by the size of the trajectory (the course's precision policy: a correct float32
# computation passes, see README). Each step is a matrix-vector product and a few axpys, so rounding
# errors are ~eps times the magnitudes involved (|theta|, alpha |Q theta|, |c|), not times each entry:
# an entry crossing zero carries an absolute error ~eps * scale. The iteration is stable
# (alpha * lambda_max <= 1.5 (1 + beta), beta < 1) with modest transient growth, so after <= 30 steps
# a correct implementation, in either form or as torch's SGD, is within ~100 eps * scale of the
# reference: ~1e-13 * scale in float64 and ~9e-7 * scale in float32 (the worst float32 twin,
# tests/oracles/test_float32.py). TOL = 1e-5 * max(1, max|theta^k|), plus rtol 1e-4, leaves a margin
# of ~10 over float32, while every listed mistake is off by ~alpha |grad f| after one step.
TOL = 1e-5
RTOL = 1e-4


class TrajectoryClose(Check):
    """Close, with an absolute tolerance proportional to the largest entry of the expected trajectory."""

    def __init__(self, tol: float = TOL, rtol: float = RTOL) -> None:
        self.tol, self.rtol = tol, rtol
        self.close = Close(rtol=rtol, atol=tol)  # Close scales atol by max(1, max|expected|)
        self.description = (f"|got - expected| <= {tol:g} × max(1, max|expected|) + {rtol:g} × |expected| elementwise "
                            "(the tolerance scales with the size of the trajectory; float32 rounding is "
                            "accepted); the shape must be (steps + 1, d)")

    def __call__(self, got: Any, expected: Any, case: Case) -> Verdict:
        exp = np.asarray(expected, dtype=np.float64)
        verdict = self.close(got, exp, case)
        arr, _ = as_float_array(got)
        if verdict.outcome == "invalid" and arr is not None and arr.ndim == 1 and arr.size == exp.size:
            return invalid(verdict.message, "return a 2-D array of shape (steps + 1, d), one row per iterate, "
                                            "even when d = 1")
        return verdict


CHECK = TrajectoryClose()
