"""Comparisons between a student's output and the expected one.

Every check looks at the form first (type, then shape) and only then at the
values, and returns a :class:`Verdict`: ``passed``, ``failed`` (right form,
wrong values) or ``invalid`` (wrong form). Values are decoded wire data, so
no student code runs here.

Tolerance (:class:`Close`): elementwise ``|got - expected| <= atol*max(1, max|expected|) + rtol*|expected|``:
the rule of ``numpy.isclose`` with the absolute part measured on the scale of the values (an entry that is
the difference of larger terms carries an absolute rounding error proportional to them). The course's
precision policy: a correct computation in single precision (float32, torch's default dtype) always passes,
so every problem's tolerance is at least ``rtol = 1e-4, atol = 1e-5`` and larger where the computation is
ill-conditioned (see README, "How answers are checked"). NaN and infinity policy: expected values are
always finite; a NaN or an infinity in the student's output fails the case
and the message says where it is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from .spec import Case  # annotations only: spec needs nothing of this module at run time either

Outcome = Literal["passed", "failed", "invalid"]


class Verdict(NamedTuple):
    outcome: Outcome
    message: str = ""
    hint: str = ""
    max_error: float | None = None
    where: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    def prefixed(self, prefix: str) -> Verdict:
        """The same verdict about a part of the output (``dA_list[1]``)."""
        if self.message.startswith(prefix):  # a named part already said where it is
            return self
        where = f"{prefix}{self.where}" if self.where.startswith("[") or not self.where else f"{prefix} {self.where}"
        return Verdict(self.outcome, f"{prefix}: {self.message}" if self.message else "", self.hint,
                       self.max_error, where)


def passed(max_error: float | None = None) -> Verdict:
    return Verdict("passed", max_error=max_error)


def failed(message: str, hint: str = "", max_error: float | None = None, where: str = "") -> Verdict:
    return Verdict("failed", message, hint, max_error, where)


def invalid(message: str, hint: str = "") -> Verdict:
    return Verdict("invalid", message, hint)


class Check(ABC):
    """A comparison; ``description`` documents it for students and instructors."""

    description: str = ""

    @abstractmethod
    def __call__(self, got: Any, expected: Any, case: Case) -> Verdict: ...

    def agrees(self, got: Any, expected: Any, case: Case) -> bool:
        try:
            return self(got, expected, case).passed
        except Exception:  # noqa: BLE001 - a diagnostic probe must never break grading
            return False


def type_name(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


_REAL_KINDS = "iuf"  # numpy dtype kinds that are real numbers (not bool, complex, object, text)


def _not_numbers(value: Any) -> str:
    """'' when ``value`` (a number, an array, nested lists/tuples of them) holds only real numbers,
    else what it holds instead. A bool is never a number and text never is, even "1.0"."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, np.ndarray):
            if item.dtype.kind == "b":
                return "booleans (True/False are not numbers)"
            if item.dtype.kind not in _REAL_KINDS:
                return f"an array of dtype {item.dtype}"
        elif isinstance(item, (bool, np.bool_)):
            return f"{item} (a bool is never a number)"
        elif isinstance(item, str):
            return "text (a str is not a number, even one that looks like a number)"
        elif not isinstance(item, (int, float, np.integer, np.floating)):
            return type_name(item)
    return ""


def as_float_array(value: Any) -> tuple[np.ndarray | None, str]:
    """A float array from decoded data (array, number, nested lists), or a reason it is not one.

    Only real numbers are accepted: a bool, a str (even ``"1.0"``), None or any other object, alone or inside
    a list, and an array of booleans, text or objects are refused rather than converted."""
    if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, (str, bytes, dict)):
        return None, f"expected numbers, got {type_name(value)}"
    if isinstance(value, np.ndarray):
        if value.dtype == bool:
            return None, "expected numbers, got an array of booleans"
        if value.dtype.kind not in _REAL_KINDS:
            return None, f"expected numbers, got an array of dtype {value.dtype}"
        return value.astype(np.float64), ""
    wrong = _not_numbers(value)
    if wrong:
        return None, f"expected numbers, got {type_name(value)} containing {wrong}"
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None, f"expected numbers, got {type_name(value)} that is not a rectangular array of numbers"
    return arr, ""


def nonfinite_verdict(values: Any, what: str) -> Verdict | None:
    """The rule "a non-finite value fails", for checks that compute with the student's answer (a property
    check's conv output, say): a failed verdict naming where the first NaN or infinity in ``values`` is, or
    None when every value is finite. Call it right after computing, before any comparison: ``max`` of an
    array holding NaN is NaN and ``NaN > tolerance`` is false, so a NaN would otherwise pass."""
    arr = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if not bad.any():
        return None
    where = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
    kind = "NaN" if np.isnan(arr[where]) else "an infinity"
    return failed(f"{what} contains {kind} at {index_text(where) or 'the value'}",
                  hint="every value must be finite: huge weights overflow (inf - inf gives NaN)",
                  where=index_text(where))


def index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]" if index else ""


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def fmt_pair(expected: float, got: float) -> tuple[str, str]:
    """Both numbers with as many significant digits as it takes for them to read differently (at least 6,
    at most 17, which tells any two different float64 values apart): never "expected 0.0228488, got 0.0228488"."""
    for digits in range(6, 18):
        a, b = f"{expected:.{digits}g}", f"{got:.{digits}g}"
        if a != b:
            return a, b
    return a, b


class Close(Check):
    """Floats and float arrays within a tolerance; the shape must match exactly.

    Elementwise ``|got - expected| <= atol * max(1, max|expected|) + rtol * |expected|``: the absolute
    part is relative to the scale of the whole array (at least 1), so an entry near zero that results
    from cancelling larger terms is judged on the rounding those terms carry. A number and a
    one-element (or 0-d) array are the same answer.
    """

    def __init__(self, rtol: float = 1e-4, atol: float = 1e-5) -> None:
        self.rtol, self.atol = rtol, atol
        self.description = (f"|got - expected| <= {atol:g} × max(1, max|expected|) + {rtol:g} × |expected| "
                            "elementwise (float32 rounding is accepted); shapes must match")

    def tolerance(self, exp: np.ndarray) -> np.ndarray:
        scale = max(1.0, float(np.max(np.abs(exp)))) if exp.size and np.all(np.isfinite(exp)) else 1.0
        return self.atol * scale + self.rtol * np.abs(exp)

    def within(self, got: np.ndarray, exp: np.ndarray) -> bool:
        return got.shape == exp.shape and bool(np.all(np.abs(got - exp) <= self.tolerance(exp)))

    def __call__(self, got: Any, expected: Any, case: Case) -> Verdict:
        exp = np.asarray(expected, dtype=np.float64)
        arr, reason = as_float_array(got)
        if arr is None:
            return invalid(reason)
        if exp.size == 1 and arr.size == 1:  # a number and a one-element array mean the same
            arr = arr.reshape(exp.shape)
        if arr.shape != exp.shape:
            return self._shape_verdict(arr, exp)
        # ndarray methods rather than the np.* wrappers: the same arithmetic, a fraction of the overhead on the
        # small arrays of this course (this runs for every case of every student)
        abs_exp = np.abs(exp)
        if not np.isfinite(abs_exp).all():  # only when matching a known wrong answer that overflowed
            same = np.array_equal(arr, exp, equal_nan=True)
            return passed() if same else failed("non-finite values differ")
        finite = np.isfinite(arr)
        if not finite.all():
            bad_nan = ~finite
            where = tuple(np.argwhere(bad_nan)[0]) if arr.ndim else ()
            kind = "NaN" if np.isnan(arr[where] if arr.ndim else arr) else "an infinity"
            return failed(f"{kind} at {index_text(where) or 'the result'} where {_fmt(float(exp[where]))} was expected",
                          hint="the computation overflowed or divided by zero: look for exp() of large "
                               "numbers or log(0); subtract the maximum before exponentiating",
                          where=index_text(where))
        if not exp.size:
            return passed(0.0)
        err = np.abs(arr - exp)
        # self.tolerance(exp), with |expected| computed once (exp is finite here)
        excess = err - (self.atol * max(1.0, float(abs_exp.max())) + self.rtol * abs_exp)
        worst = float(err.max())
        if excess.max() <= 0:
            return passed(worst)
        where = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), exp.shape)) if exp.ndim else ()
        shown_exp, shown_got = fmt_pair(float(exp[where]), float(arr[where]))
        message = (f"largest error {_fmt(float(err[where]))} at {index_text(where) or 'the value'}: "
                   f"expected {shown_exp}, got {shown_got}")
        return failed(message, hint=self._hint(arr, exp), max_error=worst, where=index_text(where))

    def agrees(self, got: Any, expected: Any, case: Case) -> bool:
        """``self(got, expected, case).passed`` without the message and hint of a failure (diagnosis probes
        compare many wrong answers: most of them fail)."""
        if type(self).__call__ is not Close.__call__:  # a subclass that checks otherwise
            return super().agrees(got, expected, case)
        try:
            exp = np.asarray(expected, dtype=np.float64)
            arr, _ = as_float_array(got)
            if arr is None:
                return False
            if exp.size == 1 and arr.size == 1:
                arr = arr.reshape(exp.shape)
            if arr.shape != exp.shape:
                return False
            abs_exp = np.abs(exp)
            if not np.isfinite(abs_exp).all():
                return bool(np.array_equal(arr, exp, equal_nan=True))
            if not np.isfinite(arr).all():
                return False
            if not exp.size:
                return True
            excess = np.abs(arr - exp) - (self.atol * max(1.0, float(abs_exp.max())) + self.rtol * abs_exp)
            return bool(excess.max() <= 0)
        except Exception:  # noqa: BLE001 - a diagnostic probe must never break grading
            return False

    def _shape_verdict(self, arr: np.ndarray, exp: np.ndarray) -> Verdict:
        message = f"expected shape {tuple(exp.shape)}, got {tuple(arr.shape)}"
        hint = ""
        if exp.ndim == 1 and arr.size == exp.size and arr.ndim == 2:
            hint = "return a 1-D vector, not a row or column matrix (use .ravel())"
        elif exp.ndim == 2 and arr.shape == exp.shape[::-1]:
            hint = "your result is the transpose of the expected one" if self.within(arr.T, exp) \
                else "your result has the transposed shape: check the order of the outer product"
        elif exp.ndim == 0:
            hint = "return a single number"
        return invalid(message, hint)

    def _hint(self, arr: np.ndarray, exp: np.ndarray) -> str:
        """Recognise slips that any array answer can make."""
        if self.within(-arr, exp):
            return "your result has the wrong sign"
        if exp.ndim == 2 and exp.shape[0] == exp.shape[1] and self.within(arr.T, exp):
            return "your result is the transpose of the expected one"
        nz = np.abs(exp) > 1e-12
        if nz.sum() >= 2:
            ratios = np.sort(arr[nz] / exp[nz])  # the median, as np.median computes it, at a tenth of its cost
            mid = ratios.size // 2
            ratio = float(ratios[mid]) if ratios.size % 2 else float((ratios[mid - 1] + ratios[mid]) / 2)
            if abs(ratio) > 1e-12 and abs(ratio - 1) > 1e-6 and self.within(arr / ratio, exp):
                return f"your result is the expected one times {ratio:.4g}: a constant factor is off"
        return ""


class Exact(Check):
    """Exact equality for ints, bools, strings and nested lists/tuples/dicts of them.

    Lists and tuples are interchangeable, integral floats count as ints, and
    booleans are never numbers.
    """

    description = "exact equality (lists and tuples interchangeable, integral floats accepted as ints)"

    def __call__(self, got: Any, expected: Any, case: Case) -> Verdict:
        return self._compare(got, expected, "")

    def _compare(self, got: Any, exp: Any, path: str) -> Verdict:
        here = path or "the result"
        if isinstance(exp, bool):
            if not isinstance(got, bool):
                return invalid(f"{here}: expected True or False, got {type_name(got)}")
            return passed() if got == exp else failed(f"{here}: expected {exp}, got {got}", where=path)
        if isinstance(exp, int):
            value = _as_int(got)
            if value is None:
                number = _as_number(got)
                if number is not None:  # a number, but not a whole one: say which
                    return invalid(f"{here}: expected an integer, got {number!r}")
                return invalid(f"{here}: expected an integer, got {type_name(got)}")
            if value == exp:
                return passed(0.0)
            if abs(value) >= 10**30:  # no count in this course is that large; keep its digits out of messages
                return failed(f"{here}: expected {exp:,}, got an integer of {len(str(abs(value)))} digits"
                              if abs(value) < 10**4000 else f"{here}: expected {exp:,}, got an enormous integer",
                              where=path)
            return failed(f"{here}: expected {exp:,}, got {value:,}", hint=_count_hint(value, exp),
                          max_error=float(abs(value - exp)), where=path)
        if isinstance(exp, (tuple, list)):
            if isinstance(got, np.ndarray) and got.ndim >= 1 and got.dtype.kind in "iuf":
                got = got.tolist()  # an array holds the same numbers as nested lists (a 2x2 array of bounds)
            if not isinstance(got, (tuple, list)):
                return invalid(f"{here}: expected a {type(exp).__name__} of length {len(exp)}, got {type_name(got)}")
            if len(got) != len(exp):
                return failed(f"{here}: expected {type(exp).__name__} of length {len(exp)} "
                              f"{_short(exp)}, got length {len(got)} {_short(got)}", where=path)
            for i, (g, e) in enumerate(zip(got, exp, strict=True)):
                verdict = self._compare(g, e, f"{path}[{i}]")
                if not verdict.passed:
                    if verdict.outcome == "failed" and not path:
                        return failed(f"expected {_short(exp)}, got {_short(got)}", verdict.hint,
                                      verdict.max_error, verdict.where)
                    return verdict
            return passed(0.0)
        if isinstance(exp, Mapping):
            if not isinstance(got, Mapping):
                return invalid(f"{here}: expected a dict with keys {sorted(exp)}, got {type_name(got)}")
            missing = [k for k in exp if k not in got]
            extra = [k for k in got if k not in exp]
            if missing or extra:
                return invalid(f"{here}: dict keys differ: missing {missing}, unexpected {extra}")
            for key in exp:
                verdict = self._compare(got[key], exp[key], f"{path}[{key!r}]")
                if not verdict.passed:
                    return verdict
            return passed(0.0)
        if isinstance(exp, str):
            return passed() if got == exp else failed(f"{here}: expected {exp!r}, got {_short(got)}")
        raise TypeError(f"Exact cannot compare expected values of type {type(exp).__name__}")


def _as_int(value: Any) -> int | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype != bool:
        return _as_int(value.item())
    return None


def _as_number(value: Any) -> float | None:
    """A finite real number (a float, or a 0-d or one-element float array), else None."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        value = value.reshape(()).item()
    if isinstance(value, (float, np.floating)) and np.isfinite(value):
        return float(value)
    return None


def _count_hint(got: int, exp: int) -> str:
    if exp and got * 2 == exp:
        return "exactly half the expected count"
    if got and exp * 2 == got:
        return "exactly twice the expected count"
    return ""


def _short(value: Any, limit: int = 80) -> str:
    text = repr(tuple(value) if isinstance(value, list) else value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SequenceOf(Check):
    """A list (or tuple) of parts, each checked by ``part``: ``dA_list`` and friends."""

    def __init__(self, part: Check, name: str) -> None:
        self.part, self.name = part, name
        self.description = f"{name}: a list, each element {part.description}"

    def __call__(self, got: Any, expected: Sequence[Any], case: Case) -> Verdict:
        if isinstance(got, np.ndarray) and got.ndim >= 1:
            got = list(got)  # a 1-D array of scalar biases is the list of them; a 2-D array, its rows
        if not isinstance(got, (list, tuple)):
            return invalid(f"{self.name}: expected a list of {len(expected)}, got {type_name(got)}")
        if len(got) != len(expected):
            return invalid(f"{self.name}: expected {len(expected)} elements, got {len(got)}")
        worst = 0.0
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            verdict = self.part(g, e, case)
            if not verdict.passed:
                return verdict.prefixed(f"{self.name}[{i}]")
            worst = max(worst, verdict.max_error or 0.0)
        return passed(worst)

    def agrees(self, got: Any, expected: Sequence[Any], case: Case) -> bool:
        """``self(got, expected, case).passed``, part by part through the parts' own ``agrees``."""
        if type(self).__call__ is not SequenceOf.__call__:
            return super().agrees(got, expected, case)
        try:
            if isinstance(got, np.ndarray) and got.ndim >= 1:
                got = list(got)
            if not isinstance(got, (list, tuple)) or len(got) != len(expected):
                return False
            return all(self.part.agrees(g, e, case) for g, e in zip(got, expected, strict=True))
        except Exception:  # noqa: BLE001 - a diagnostic probe must never break grading
            return False


class TupleOf(Check):
    """A fixed tuple of named parts, each with its own check: ``(dL_dW, dL_dx)``."""

    def __init__(self, **parts: Check) -> None:
        self.parts = parts
        self.description = "a tuple (" + ", ".join(parts) + "); " + "; ".join(
            f"{n}: {c.description}" for n, c in parts.items())

    def __call__(self, got: Any, expected: Sequence[Any], case: Case) -> Verdict:
        names = list(self.parts)
        if not isinstance(got, (list, tuple)) or len(got) != len(names):
            return invalid(f"expected a tuple ({', '.join(names)}), got {type_name(got)}")
        worst = 0.0
        for name, g, e in zip(names, got, expected, strict=True):
            verdict = self.parts[name](g, e, case)
            if not verdict.passed:
                return verdict.prefixed(name)
            worst = max(worst, verdict.max_error or 0.0)
        return passed(worst)

    def agrees(self, got: Any, expected: Sequence[Any], case: Case) -> bool:
        """``self(got, expected, case).passed``, part by part through the parts' own ``agrees``."""
        if type(self).__call__ is not TupleOf.__call__:
            return super().agrees(got, expected, case)
        try:
            names = list(self.parts)
            if not isinstance(got, (list, tuple)) or len(got) != len(names):
                return False
            return all(self.parts[name].agrees(g, e, case) for name, g, e in zip(names, got, expected, strict=True))
        except Exception:  # noqa: BLE001 - a diagnostic probe must never break grading
            return False


class ExactWithReasons(Check):
    """Exact equality, for questions asked once per named case ("does it hold for tanh?").

    A wrong answer's message names the case (its first argument) and adds the
    course's reason for that case, so the feedback explains instead of only
    correcting.
    """

    description = "exact: True or False; each case on its own"

    def __init__(self, reasons: Mapping[str, str], hint: str) -> None:
        self.reasons, self.hint = dict(reasons), hint

    def __call__(self, got: Any, expected: Any, case: Case) -> Verdict:
        verdict = Exact()(got, expected, case)
        if verdict.outcome != "failed":
            return verdict
        name = str(case.args[0]) if case.args else ""
        return failed(f"{name}: expected {expected}, got {got}. {self.reasons.get(name, '')}".strip(), hint=self.hint)


def same_data(a: Any, b: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Structural equality with a float tolerance: does an output equal a known (wrong) answer?"""
    if isinstance(b, Mapping):
        return isinstance(a, Mapping) and set(a) == set(b) and all(same_data(a[k], b[k], rtol, atol) for k in b)
    if isinstance(b, (list, tuple)) and not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in b):
        return isinstance(a, (list, tuple)) and len(a) == len(b) and all(
            same_data(x, y, rtol, atol) for x, y in zip(a, b, strict=True))
    if b is None:
        return a is None
    if isinstance(b, (str, bool)):
        return type(a) is type(b) and a == b
    arr, _ = as_float_array(a)
    exp, _ = as_float_array(b)
    return arr is not None and exp is not None and arr.shape == exp.shape and _isclose_all(arr, exp, rtol, atol)


def _isclose_all(arr: np.ndarray, exp: np.ndarray, rtol: float, atol: float) -> bool:
    """``np.all(np.isclose(arr, exp, rtol, atol, equal_nan=True))`` for float arrays of one shape, with a
    quick path for finite values (np.isclose costs ~30 us a call; diagnosis asks it of every known mistake)."""
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(arr - exp)
        tol = atol + rtol * np.abs(exp)
    if np.isfinite(tol).all():  # every expected value is finite
        if (diff <= tol).all():  # a NaN or infinite output compares False here
            return True
        if np.isfinite(arr).all():
            return False
    both = np.isfinite(arr) & np.isfinite(exp)
    with np.errstate(invalid="ignore"):
        close = np.where(both, diff <= tol, (arr == exp) | (np.isnan(arr) & np.isnan(exp)))
    return bool(close.all())


class Property(Check):
    """A check that tests what the output does rather than comparing it with one value.

    ``test(got, case)`` returns a Verdict; ``expected`` is ignored (the
    reference's output is still computed, to show as one right answer).
    ``canonical(got, case)``, when given, brings an output to one form (a
    ``(2, 1, 3, 3)`` filter to ``(2, 3, 3)``, a ``None`` bias to zeros) so that a
    known mistake is recognised whatever equivalent form the student returns;
    it returns None for an output it cannot read.
    """

    def __init__(self, test: Callable[[Any, Case], Verdict], description: str,
                 canonical: Callable[[Any, Case], Any] | None = None) -> None:
        self.test = test
        self.description = description
        self.canonical = canonical

    def same_answer(self, got: Any, wrong: Any, case: Case) -> bool:
        """Is ``got`` the known wrong answer ``wrong``, up to equivalent forms?"""
        if same_data(got, wrong):
            return True
        if self.canonical is None:
            return False
        a, b = self.canonical(got, case), self.canonical(wrong, case)
        return a is not None and b is not None and same_data(a, b)

    def __call__(self, got: Any, expected: Any, case: Case) -> Verdict:
        return self.test(got, case)
