"""Numbers are numbers (a bool never is, nor is text that looks like one), and a non-finite value never passes,
in property checks as much as in comparisons."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from grader.checks import Close, as_float_array, nonfinite_verdict, same_data
from grader.spec import Case
from problems.hw4 import avgpool_as_conv, finite_difference_filters, greyscale_filter

CASE = Case(())
BIG = 1e308  # finite, but twice it is not: 2 * BIG - 2 * BIG is inf - inf = NaN


@pytest.mark.parametrize("got", [
    ["1.0", "2"], [1.0, "2"], [[1.0, 2.0], ["3", 4.0]], [True, False], [1.0, True], [[1.0], [np.True_]],
    (1.0, None), np.array(["1.0", "2"]), np.array([1.0, 2.0], dtype=object), [np.array([True, False])], b"12",
])
def test_text_and_booleans_inside_a_list_or_array_are_invalid(got) -> None:
    arr, reason = as_float_array(got)
    assert arr is None and reason.startswith("expected numbers")
    verdict = Close()(got, np.array([1.0, 2.0]), CASE)
    assert verdict.outcome == "invalid", verdict


@pytest.mark.parametrize("got", [
    [1.0, 2.0], [1, 2], (1.0, 2), [np.float64(1.0), np.int64(2)], np.array([1, 2]), np.array([1.0, 2.0]),
    np.array([1.0, 2.0], dtype=np.float32), [np.array(1.0), 2.0],
])
def test_real_numbers_in_any_form_pass_and_the_reason_names_what_is_not_a_number(got) -> None:
    assert Close()(got, np.array([1.0, 2.0]), CASE).passed
    assert "bool" in as_float_array([1.0, True])[1]
    assert "str" in as_float_array(["1.0", "2"])[1]
    assert "object" in as_float_array(np.array([1, 2], dtype=object))[1]


def test_same_data_keeps_booleans_apart_from_numbers() -> None:
    assert same_data([True, False], [True, False]) and not same_data([1, 0], [True, False])
    assert same_data([1, 2.0], [1.0, 2])


def test_nonfinite_verdict() -> None:
    assert nonfinite_verdict(np.ones((2, 2)), "x") is None
    y = np.ones((2, 3))
    y[1, 2] = np.nan
    verdict = nonfinite_verdict(y, "the output")
    assert verdict is not None and verdict.outcome == "failed" and verdict.where == "[1, 2]"
    assert "the output contains NaN at [1, 2]" in verdict.message
    verdict = nonfinite_verdict(np.float64(-np.inf), "the value")
    assert verdict is not None and "an infinity" in verdict.message


def _quiet(check, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the overflow is the point
        return check(*args)


def _check(module, got, case):
    """The problem's property check, as the engine calls it."""
    return module.PROBLEM.check(got, None, case)


def _one_nan(module, monkeypatch) -> None:
    """Make the conv the problem's check uses put one NaN in its (otherwise exact) output, whatever order BLAS
    adds in. The check may live in the problem's module or in a module of checks."""
    home = sys.modules[module.PROBLEM.check.test.__module__]
    real = home.conv2d

    def conv2d(*args, **kwargs):
        y = real(*args, **kwargs).copy()
        y.flat[-1] = np.nan
        return y

    monkeypatch.setattr(home, "conv2d", conv2d)


# Finite weights near the float maximum: on an image of 2s the products overflow to +inf and -inf, and their sum
# is NaN or an infinity depending on the order BLAS adds them in. A NaN used to pass (NaN > tolerance is false);
# the second half of each test makes the NaN certain.


def test_finite_difference_filters_nan_never_passes(monkeypatch) -> None:
    w = finite_difference_filters.reference()
    w[:, 0, 0], w[:, 0, 2] = BIG, -BIG
    case = Case((), "huge filters", context={"images": [np.full((3, 4), 2.0)]})
    assert _quiet(_check, finite_difference_filters, w, case).outcome == "failed"
    reference = finite_difference_filters.reference()
    assert _check(finite_difference_filters, reference, case).passed
    _one_nan(finite_difference_filters, monkeypatch)
    verdict = _check(finite_difference_filters, reference, case)
    assert verdict.outcome == "failed" and "on a 3x4 image, the output of your filters contains NaN" in verdict.message


def test_avgpool_nan_never_passes(monkeypatch) -> None:
    weight = np.zeros((1, 1, 2, 2))
    weight[0, 0, 0, 0], weight[0, 0, 1, 1] = BIG, -BIG
    case = Case((1, 2), "huge weights", context={"inputs": [np.full((1, 2, 2), 2.0)]})
    assert _quiet(_check, avgpool_as_conv, (weight, None, 2, 0), case).outcome == "failed"
    bias = _quiet(_check, avgpool_as_conv, (np.full((1, 1, 2, 2), 0.25), np.array([BIG]), 2, 0), case)
    assert bias.outcome == "failed"
    assert _check(avgpool_as_conv, avgpool_as_conv.reference(1, 2), case).passed
    _one_nan(avgpool_as_conv, monkeypatch)
    verdict = _check(avgpool_as_conv, avgpool_as_conv.reference(1, 2), case)
    assert verdict.outcome == "failed" and "the output of your conv contains NaN" in verdict.message


def test_greyscale_nan_never_passes(monkeypatch) -> None:
    weight = np.array([BIG, -BIG, 0.0]).reshape(1, 3, 1, 1)
    case = Case((), "bright images", context={"images": [np.full((3, 2, 2), 2.0), np.full((2, 3, 1, 1), 2.0)]})
    assert _quiet(_check, greyscale_filter, weight, case).outcome == "failed"
    assert _check(greyscale_filter, greyscale_filter.reference(), case).passed
    _one_nan(greyscale_filter, monkeypatch)
    verdict = _check(greyscale_filter, greyscale_filter.reference(), case)
    assert verdict.outcome == "failed" and "the output of your conv contains NaN" in verdict.message


@pytest.mark.parametrize("module, answer", [
    (finite_difference_filters, [[["0", "1", "0"]] * 3] * 2), (greyscale_filter, [[[[True]], [[False]], [[True]]]]),
])
def test_property_checks_refuse_text_and_booleans(module, answer) -> None:
    check = module.PROBLEM.check
    case = module.PROBLEM.examples[0]
    assert check(answer, None, case).outcome == "invalid"
