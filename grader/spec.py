"""How a problem and an assignment are specified, and how a spec is validated.

A problem module in ``problems/`` defines ``PROBLEM``: a :class:`FunctionProblem`
(a function the student writes, with a reference solution, fixed examples, a
seeded case generator and a checker) or an :class:`AnswersProblem` (keys of
the module-level ``ANSWERS`` dict). An assignment package defines
``ASSIGNMENT``, an :class:`Assignment` listing its problems with points.
Everything is validated when constructed, so a malformed spec fails at load
time with a message naming the field.
"""

from __future__ import annotations

import inspect
import keyword
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import SpecError

if TYPE_CHECKING:
    import numpy as np

    from .checks import Check

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _require(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise SpecError(f"{where}: {message}")


def _identifier(value: Any, where: str, what: str) -> None:
    _require(isinstance(value, str) and bool(_ID.match(value)) and not keyword.iskeyword(value),
             where, f"{what} must be a Python identifier, got {value!r}")


@dataclass(frozen=True)
class Case:
    """One set of inputs. ``context`` holds grader-only data for property checks; it is never sent."""

    args: tuple[Any, ...]
    label: str = ""
    context: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.args, tuple):
            raise SpecError(f"Case.args must be a tuple, got {type(self.args).__name__}")


@dataclass(frozen=True)
class SolvedCase:
    """An example or public case shipped as data (the student edition): its inputs, the expected
    output, and each known mistake's output and message on it (by the mistake's index), so that
    checks and targeted hints work without any reference or mistake code."""

    id: str
    kind: str  # "example" | "public"
    case: Case
    expected: Any
    wrong: Mapping[int, Any] = field(default_factory=dict)
    messages: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Withheld:
    """An ``ANSWERS`` value left out of the student edition; ``subkeys`` when it is a dict."""

    subkeys: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: if the student's output matches ``answer(*args)``, say ``message``.

    ``message`` may also be a function of the case's arguments, for feedback that
    names the case ("tanh(0) = 0 but tanh is not homogeneous"). ``answer`` may
    raise when the mistake cannot apply to a case; it is then simply not matched.

    ``raises`` names an exception type ("OverflowError"): the mistake is then recognised by the
    exception the student's function raised (a call whose detail starts with that type name),
    since such a mistake returns nothing to compare. ``answer`` still computes it (the self-test
    runs it and requires the message), and raising that exception on some case.
    """

    message: str | Callable[..., str]
    answer: Callable[..., Any] | None  # None in the student edition: outputs ship with each SolvedCase
    raises: str = ""

    def __post_init__(self) -> None:
        _require(self.raises == "" or (isinstance(self.raises, str) and bool(_ID.match(self.raises))),
                 "Mistake", f"raises must be an exception type name such as 'OverflowError', got {self.raises!r}")

    def matches_error(self, detail: str) -> bool:
        """Does a call's error detail ("OverflowError: math range error ...") show this mistake's exception?"""
        if not self.raises or not detail.startswith(self.raises):
            return False
        rest = detail[len(self.raises):]
        return rest == "" or rest[0] in ": \n("

    def describe(self, args: tuple[Any, ...]) -> str:
        return self.message(*args) if callable(self.message) else self.message


@dataclass(frozen=True)
class FunctionProblem:
    id: str
    title: str
    statement: str
    function: str
    signature: str
    returns: str
    reference: Callable[..., Any] | None  # None in the student edition, which ships ``solved`` instead
    examples: tuple[Case, ...]
    generate: Callable[[np.random.Generator, int], Case] | None
    check: Check
    public_count: int = 3
    hidden_count: int = 8
    mistakes: tuple[Mistake, ...] = ()
    show_expected: bool = True  # False for property checks, where "expected" is not one value
    self_check: bool = True  # False when any feedback would give the answer away (yes/no per case)
    solved: tuple[SolvedCase, ...] | None = None  # the student edition's examples and public cases, as data
    param_names: tuple[str, ...] = ()  # argument names, when there is no reference to take them from

    kind = "function"

    def __post_init__(self) -> None:
        where = f"problem {self.id!r}"
        _identifier(self.id, where, "id")
        _identifier(self.function, where, "function")
        for name in ("title", "statement", "signature", "returns"):
            value = getattr(self, name)
            _require(isinstance(value, str) and value.strip() != "", where, f"{name} must be a non-empty string")
        _require(self.signature.startswith(self.function + "("), where,
                 f"signature must start with '{self.function}(', got {self.signature!r}")
        if self.solved is None:
            _require(callable(self.reference), where, "reference must be callable")
            _require(callable(self.generate), where, "generate must be callable (rng, index) -> Case")
        else:
            _require(isinstance(self.solved, tuple) and all(isinstance(c, SolvedCase) for c in self.solved), where,
                     "solved must be a tuple of SolvedCase")
        _require(callable(self.check) and hasattr(self.check, "description"), where,
                 "check must be a grader.checks.Check")
        _require(isinstance(self.examples, tuple) and all(isinstance(c, Case) for c in self.examples),
                 where, "examples must be a tuple of Case")
        for name in ("public_count", "hidden_count"):
            value = getattr(self, name)
            _require(isinstance(value, int) and value >= 0, where, f"{name} must be a non-negative int")
        _require(len(self.examples) + self.public_count > 0 or self.solved is not None, where,
                 "needs at least one public case")
        _require(isinstance(self.mistakes, tuple) and all(isinstance(m, Mistake) for m in self.mistakes),
                 where, "mistakes must be a tuple of Mistake")

    @property
    def params(self) -> tuple[str, ...]:
        """Argument names, taken from the reference solution's signature."""
        if self.param_names or self.reference is None:
            return self.param_names
        try:
            return tuple(inspect.signature(self.reference).parameters)
        except (TypeError, ValueError):
            return ()


@dataclass(frozen=True)
class AnswerKey:
    """One key of ``ANSWERS``. A dict ``expected`` is graded key by key (``key.sub``)."""

    key: str
    expected: Any
    description: str
    mistakes: Mapping[str, Mapping[Any, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"ANSWERS key {self.key!r}"
        _identifier(self.key, where, "key")
        _require(isinstance(self.description, str) and self.description.strip() != "", where,
                 "description must be a non-empty string")
        _require(self.expected is not None and not isinstance(self.expected, bool), where,
                 "expected must be a number or a dict of numbers")
        leaves = dict(self.leaves())
        for leaf in self.mistakes:
            _require(leaf in leaves, where, f"mistake for unknown leaf {leaf!r}")

    def leaves(self) -> list[tuple[str, Any]]:
        if isinstance(self.expected, Withheld) and self.expected.subkeys:
            return [(f"{self.key}.{sub}", Withheld()) for sub in self.expected.subkeys]
        if isinstance(self.expected, Mapping):
            return [(f"{self.key}.{sub}", value) for sub, value in self.expected.items()]
        return [(self.key, self.expected)]


@dataclass(frozen=True)
class AnswersProblem:
    title: str
    statement: str
    keys: tuple[AnswerKey, ...]
    id: str = "ANSWERS"
    self_check: bool = True  # False in the student edition, where the values are withheld

    kind = "answers"

    def __post_init__(self) -> None:
        where = "ANSWERS problem"
        _require(self.id == "ANSWERS", where, "id must be 'ANSWERS'")
        _require(isinstance(self.keys, tuple) and len(self.keys) > 0
                 and all(isinstance(k, AnswerKey) for k in self.keys), where, "keys must be a non-empty tuple")
        names = [k.key for k in self.keys]
        _require(len(set(names)) == len(names), where, f"duplicate keys in {names}")
        _require(isinstance(self.statement, str) and self.statement.strip() != "", where, "needs a statement")


Problem = FunctionProblem | AnswersProblem


@dataclass(frozen=True)
class Entry:
    problem: Problem
    points: float


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    summary: str
    source: str
    entries: tuple[Entry, ...]
    total: float = 100  # the stated total; the entries' points should add up to it (see points_warning)

    def __post_init__(self) -> None:
        where = f"assignment {self.id!r}"
        _require(isinstance(self.total, (int, float)) and not isinstance(self.total, bool) and self.total > 0,
                 where, f"total must be a positive number, got {self.total!r}")
        _identifier(self.id, where, "id")
        _require(isinstance(self.entries, tuple) and len(self.entries) > 0, where, "needs problems")
        ids: set[str] = set()
        for entry in self.entries:
            _require(isinstance(entry, Entry), where, "entries must be Entry(problem, points)")
            if not isinstance(entry.problem, (FunctionProblem, AnswersProblem)):  # the repr only when it fails
                raise SpecError(f"{where}: {entry.problem!r} is not a FunctionProblem or AnswersProblem")
            _require(isinstance(entry.points, (int, float)) and entry.points > 0, where,
                     f"points of {entry.problem.id!r} must be positive")
            _require(entry.problem.id not in ids, where, f"duplicate problem id {entry.problem.id!r}")
            ids.add(entry.problem.id)
        for name in ("title", "summary", "source"):
            _require(isinstance(getattr(self, name), str) and getattr(self, name).strip() != "", where,
                     f"{name} must be a non-empty string")

    @property
    def filename(self) -> str:
        return f"{self.id}.py"

    @property
    def problems(self) -> tuple[Problem, ...]:
        return tuple(e.problem for e in self.entries)

    @property
    def max_score(self) -> float:
        return float(sum(e.points for e in self.entries))

    def points_warning(self) -> str | None:
        """A warning when the problems' points do not add up to the stated ``total`` (else None).

        Not an error: a course may be mid-edit; ``grader list`` and ``grader selftest`` print it."""
        if abs(self.max_score - self.total) <= 1e-9 * max(1.0, abs(self.total)):
            return None
        points = " + ".join(f"{e.points:g}" for e in self.entries)
        return (f"{self.id}: the points of its problems add up to {self.max_score:g} ({points}), "
                f"not its stated total {self.total:g}")

    @property
    def functions(self) -> tuple[FunctionProblem, ...]:
        return tuple(p for p in self.problems if isinstance(p, FunctionProblem))

    @property
    def answers(self) -> AnswersProblem | None:
        return next((p for p in self.problems if isinstance(p, AnswersProblem)), None)

    def entry(self, problem_id: str) -> Entry:
        from .errors import AssignmentError

        for entry in self.entries:
            if entry.problem.id == problem_id:
                return entry
        names = ", ".join(e.problem.id for e in self.entries)
        raise AssignmentError(f"{self.id} has no problem {problem_id!r}; its problems are: {names}")
