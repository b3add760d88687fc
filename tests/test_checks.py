"""Comparisons: form before values, documented tolerance, NaN policy, generic diagnostics."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks import Close, Exact, Property, SequenceOf, TupleOf, failed, passed, same_data
from grader.spec import Case

CASE = Case(())


def test_close_passes_within_tolerance_and_reports_error() -> None:
    check = Close(rtol=1e-6, atol=1e-9)
    verdict = check(np.array([1.0, 2.0 + 1e-7]), np.array([1.0, 2.0]), CASE)
    assert verdict.passed and 0 < verdict.max_error < 2e-7


def test_close_reports_largest_error_and_where() -> None:
    exp = np.zeros((2, 3))
    got = exp.copy()
    got[1, 2] = 0.5
    verdict = Close()(got, exp, CASE)
    assert verdict.outcome == "failed" and verdict.where == "[1, 2]" and verdict.max_error == 0.5
    assert "expected 0, got 0.5" in verdict.message


def test_shape_is_checked_before_values() -> None:
    verdict = Close()(np.zeros((3, 1)), np.zeros(3), CASE)
    assert verdict.outcome == "invalid" and "1-D vector" in verdict.hint
    verdict = Close()(np.arange(6.0).reshape(3, 2), np.arange(6.0).reshape(3, 2).T, CASE)
    assert verdict.outcome == "invalid" and "transpose" in verdict.hint


@pytest.mark.parametrize("got", ["1.0", None, {"a": 1}, [[1, 2], [3]], True, np.array([True])])
def test_non_numbers_are_invalid(got) -> None:
    assert Close()(got, np.array([1.0]), CASE).outcome == "invalid"


def test_nan_and_inf_fail_with_location() -> None:
    verdict = Close()(np.array([1.0, np.nan]), np.array([1.0, 2.0]), CASE)
    assert verdict.outcome == "failed" and "NaN at [1]" in verdict.message
    verdict = Close()(np.inf, 3.0, CASE)
    assert verdict.outcome == "failed" and "infinity" in verdict.message


def test_generic_diagnostics() -> None:
    exp = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert "wrong sign" in Close()(-exp, exp, CASE).hint
    assert "transpose" in Close()(exp.T, exp, CASE).hint
    assert "times 2" in Close()(2 * exp, exp, CASE).hint
    assert Close()(exp + 1, exp, CASE).hint == ""


def test_lists_and_scalars_are_accepted_as_arrays() -> None:
    assert Close()([1.0, 2.0], np.array([1.0, 2.0]), CASE).passed
    assert Close()(np.array([3.0]), 3.0, CASE).passed
    assert Close()(3.0, np.array([3.0]), CASE).passed


def test_exact_ints_tuples_dicts_and_bools() -> None:
    check = Exact()
    assert check([16, 2, 2], (16, 2, 2), CASE).passed
    assert check(61100840.0, 61100840, CASE).passed
    assert check(True, 1, CASE).outcome == "invalid"
    assert check(1, True, CASE).outcome == "invalid"
    assert check(61100841, 61100840, CASE).outcome == "failed"
    assert "half" in check(5, 10, CASE).hint
    verdict = check({"mults": 1, "adds": 3}, {"mults": 1, "adds": 2}, CASE)
    assert verdict.outcome == "failed" and "adds" in verdict.message
    assert check({"mults": 1}, {"mults": 1, "adds": 2}, CASE).outcome == "invalid"
    assert check((16, 2), (16, 2, 2), CASE).outcome == "failed"
    assert check(1.5, 1, CASE).outcome == "invalid"


def test_sequence_and_tuple_name_the_failing_part() -> None:
    seq = SequenceOf(Close(), "dA_list")
    exp = [np.zeros(2), np.ones(2)]
    verdict = seq([np.zeros(2), np.zeros(2)], exp, CASE)
    assert verdict.outcome == "failed" and verdict.message.startswith("dA_list[1]")
    assert seq([np.zeros(2)], exp, CASE).outcome == "invalid"
    pair = TupleOf(dL_dW=Close(), dL_dx=Close())
    verdict = pair((np.zeros(2), np.ones(1)), (np.zeros(2), np.zeros(1)), CASE)
    assert verdict.message.startswith("dL_dx") and not verdict.passed
    assert pair(np.zeros(2), (np.zeros(2), np.zeros(1)), CASE).outcome == "invalid"


def test_property_ignores_expected() -> None:
    check = Property(lambda got, case: passed() if got == 3 else failed("not three"), "is three")
    assert check(3, 99, CASE).passed and not check(4, 4, CASE).passed


def test_same_data_handles_structures_and_nonfinite() -> None:
    assert same_data((np.array([1.0, np.inf]), 2), (np.array([1.0, np.inf]), 2.0))
    assert not same_data([np.zeros(2)], [np.zeros(3)])
    assert same_data({"a": 1}, {"a": 1.0}) and not same_data({"a": 1}, {"b": 1})


def test_agrees_never_raises() -> None:
    assert Exact().agrees(object(), 3, CASE) is False


# ------------------------------------------------------------------ precision policy and honest messages


def test_close_atol_is_relative_to_the_scale_of_the_values() -> None:
    """float32 rounding of an entry that cancels to ~0 in an array of size ~100 is accepted; the absolute
    part never shrinks below atol for small arrays."""
    exp = np.array([100.0, 1e-9])
    got = np.array([100.0, 5e-4])  # 5e-4 <= 1e-5 * 100
    assert Close(rtol=1e-4, atol=1e-5)(got, exp, CASE).passed
    assert not Close(rtol=1e-4, atol=1e-5)(np.array([1.0, 5e-4]), np.array([1.0, 1e-9]), CASE).passed
    assert Close(rtol=1e-4, atol=1e-5)(np.array([1e-6]), np.array([0.0]), CASE).passed
    assert "max(1, max|expected|)" in Close().description and "float32" in Close().description


def test_close_defaults_accept_float32_computations() -> None:
    check = Close()
    assert check.rtol >= 1e-4 and check.atol >= 1e-5  # the course's precision policy
    rng = np.random.default_rng(0)
    for _ in range(20):  # sums that cancel: float32 errs relative to the terms, not to each result
        a, b = rng.normal(size=(30, 40)), rng.normal(size=40)
        assert check(a.astype(np.float32) @ b.astype(np.float32), a @ b, CASE).passed
    assert check(np.float32(1000.3132616875182), 1000.3132616875182, CASE).passed


def test_failure_messages_show_enough_digits_to_differ() -> None:
    verdict = Close(rtol=1e-9, atol=1e-12)(np.array([-0.02284883]), np.array([-0.0228488]), CASE)
    assert "expected -0.0228488, got -0.02284883" in verdict.message
    close = Close(rtol=0.0, atol=1e-17)(1.0 + 2.0**-52, 1.0, CASE)
    assert "expected 1, got 1.0000000000000002" in close.message
    assert Close()(0.5, 0.0, CASE).message.endswith("expected 0, got 0.5")


def test_exact_shows_a_fractional_size() -> None:
    verdict = Exact()((16, 16.5, 16.5), (16, 16, 16), CASE)
    assert verdict.outcome == "invalid" and "got 16.5" in verdict.message
    assert "got 2.25" in Exact()(2.25, 2, CASE).message
    assert "got a str" in Exact()("2", 2, CASE).message


def test_exact_accepts_arrays_and_zero_d_arrays_for_numbers() -> None:
    bounds = ((3, 9), (0, 4))
    assert Exact()(np.array([[3, 9], [0, 4]]), bounds, CASE).passed  # a 2x2 array of bounds
    assert Exact()(np.array([[3.0, 9.0], [0.0, 4.0]]), bounds, CASE).passed
    assert Exact()([np.array([3, 9]), np.array([0, 4])], bounds, CASE).passed
    assert Exact()(np.array([[3, 9], [0, 5]]), bounds, CASE).outcome == "failed"
    assert Exact()(np.array(7), 7, CASE).passed and Exact()(np.array(7.0), 7, CASE).passed
    assert Exact()(np.int64(7), 7, CASE).passed and Exact()({"a": np.array(2)}, {"a": 2}, CASE).passed
    assert Close()(np.array(2.5), 2.5, CASE).passed and Close()(np.array([2.5]), 2.5, CASE).passed


def test_sequence_accepts_a_one_d_array_of_scalars() -> None:
    seq = SequenceOf(Close(), "db_list")
    assert seq(np.array([0.5, -1.0]), [0.5, -1.0], CASE).passed
    assert seq(np.array([[1.0, 2.0], [3.0, 4.0]]), [np.array([1.0, 2.0]), np.array([3.0, 4.0])], CASE).passed
    assert seq(np.array([0.5, -2.0]), [0.5, -1.0], CASE).outcome == "failed"
    assert seq(np.array(0.5), [0.5], CASE).outcome == "invalid"


# ------------------------------------------------------------------ hints on exceptions (Mistake.raises)


def _naive_math_source() -> str:
    from grader.selftest import reference_source
    from problems.hw7 import ASSIGNMENT
    return reference_source(ASSIGNMENT) + (
        "import math\n\n\n"
        "def nu_beta(x, beta):\n"
        "    return math.log(sum(math.exp(beta * v) for v in x)) / beta\n")


def test_mistake_raises_is_validated_and_matched() -> None:
    from grader.errors import SpecError
    from grader.spec import Mistake
    mistake = Mistake("overflow", None, raises="OverflowError")
    assert mistake.matches_error("OverflowError: math range error\n  hw7.py, line 3")
    assert mistake.matches_error("OverflowError")
    assert not mistake.matches_error("ValueError: math domain error")
    assert not mistake.matches_error("OverflowErrorX: no")
    assert not Mistake("m", None).matches_error("OverflowError: math range error")
    with pytest.raises(SpecError):
        Mistake("m", None, raises="not a name")


def _graded_nu_beta(assignment):
    from pathlib import Path

    from grader.engine import Audience, grade
    from grader.sandbox.inprocess import InProcessRunner
    from grader.submission import Submission
    result = grade(assignment, Submission("s", Path("hw7.py"), _naive_math_source()), InProcessRunner(), Audience(),
                   only=["nu_beta"])
    return next(p for p in result.problems if p.id == "nu_beta")


def test_a_hint_fires_on_the_exception_of_a_known_mistake() -> None:
    from grader.loader import load_assignment
    problem = _graded_nu_beta(load_assignment("hw7"))
    errors = [c for c in problem.cases if c.outcome == "error"]
    assert errors and all(c.message.startswith(("OverflowError", "ValueError")) for c in errors)
    for case in errors:  # only the exception the mistake names gets its message
        assert ("math.exp(beta*x_i) overflows" in case.hint) == case.message.startswith("OverflowError"), case
    assert any(c.hint for c in errors)
    assert all(c.passed for c in problem.cases if c.outcome != "error")  # right where it does not overflow


def test_the_student_edition_carries_raises(tmp_path) -> None:
    import json

    from grader import student_course
    from grader.bundle import course_files
    files = course_files(["hw7"])
    data = json.loads(files[f"{student_course.PACKAGE}/hw7.json"])
    nu = next(e["problem"] for e in data["entries"] if e["problem"].get("id") == "nu_beta")
    assert "OverflowError" in nu["mistake_raises"]
    (tmp_path / "hw7.json").write_bytes(files[f"{student_course.PACKAGE}/hw7.json"])
    edition = student_course.load(tmp_path, "hw7")
    problem = _graded_nu_beta(edition)
    assert any("math.exp(beta*x_i) overflows" in c.hint for c in problem.cases if c.outcome == "error")


def test_same_data_compares_floats_exactly_as_numpy_isclose() -> None:
    """same_data's quick comparison is np.isclose(equal_nan=True), infinities, NaN and overflow included."""
    import warnings

    from grader.checks import _isclose_all

    rng = np.random.default_rng(0)
    specials = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e308, -1e308, 1e-300]
    warnings.simplefilter("ignore")  # np.isclose itself overflows on +-1e308
    for _ in range(3000):
        shape = (int(rng.integers(1, 5)),)
        a = rng.normal(size=shape) * 10 ** rng.uniform(-5, 5)
        b = [a.copy(), a * (1 + rng.normal(size=shape) * 1e-7), rng.normal(size=shape)][int(rng.integers(3))]
        for arr in (a, b):
            arr[rng.random(shape) < 0.15] = specials[int(rng.integers(len(specials)))]
        for rtol, atol in ((1e-6, 1e-9), (1e-4, 1e-5), (0.0, 0.0)):
            assert _isclose_all(a, b, rtol, atol) == bool(np.all(np.isclose(a, b, rtol=rtol, atol=atol,
                                                                             equal_nan=True))), (a, b)
