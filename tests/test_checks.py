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
