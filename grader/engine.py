"""Grade one submission: plan cases, run them through a runner, check, score.

Expected values are computed here, in the grader process, while the runner
works; the runner only ever receives the inputs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, NamedTuple

from . import values
from .checks import Exact, Property, Verdict, same_data
from .formatting import spells_number
from .limits import DETAILED_FAILURES, VERDICTS_KEPT, Limits
from .results import CaseResult, ProblemResult, SubmissionResult, score_problem
from .sandbox.runner import Call, CallReport, ImportReport, Job, Runner, RunReport
from .seeding import case_rng, hidden_rng, hidden_variant
from .spec import AnswersProblem, Assignment, Case, FunctionProblem, Problem, SolvedCase
from .submission import Submission
from .text import shell_word


class Audience(NamedTuple):
    """Which cases run, and what the output may reveal.

    A student's self-check runs the examples and public cases and never shows
    ANSWERS values; an instructor's grading adds the hidden cases drawn from
    the secret and the student id.
    """

    hidden: bool = False
    secret: str = ""
    student: str = ""
    reveal_answers: bool = False
    details_always: bool = False  # replay shows inputs, expected and got even for a passing case
    replay_prefix: str = "grader replay <file>"
    replay_suffix: str = ""


class Planned(NamedTuple):
    problem: Problem
    id: str
    kind: str
    case: Case | None = None
    leaf: str = ""
    expected: Any = None
    solved: SolvedCase | None = None  # a case shipped as data (student edition)


class Plan:
    """The cases to run, in order (the engine fills in their expected values as it goes)."""

    def __init__(self, cases: list[Planned] | None = None) -> None:
        self.cases: list[Planned] = cases if cases is not None else []

    def for_problem(self, problem_id: str) -> list[Planned]:
        return [p for p in self.cases if p.problem.id == problem_id]


NOT_APPLICABLE = object()


class Judged(NamedTuple):
    """What a case's check and diagnosis make of one output."""

    verdict: Verdict
    hint: str
    mistake: int | None  # the known mistake the hint names; None: the check's own hint


class CaseBook:
    """What every student shares, computed once per book: the examples and public cases with their
    expected outputs, and the known mistakes' outputs on them. A batch owns one book; a self-check
    makes its own. A problem shipped as data (the student edition) brings these already solved."""

    def __init__(self) -> None:
        self._public: dict[tuple[str, int], list[Planned]] = {}
        self._hidden: dict[tuple[str, int, int, int, str], Planned] = {}
        self._wrong: dict[tuple[int, int], tuple[Case, Any]] = {}
        self._judged: dict[tuple[int, bytes], tuple[Case, Judged]] = {}
        self._shown: dict[int, tuple[Case, dict[str, Any]]] = {}

    def public(self, assignment: str, problem: FunctionProblem) -> list[Planned]:
        key = (assignment, id(problem))
        cached = self._public.get(key)
        if cached is None:
            if problem.solved is not None:
                cached = [Planned(problem, s.id, s.kind, s.case, expected=s.expected, solved=s) for s in problem.solved]
            else:
                planned = [Planned(problem, f"example-{i + 1}", "example", c) for i, c in enumerate(problem.examples)]
                for i in range(problem.public_count):
                    case = problem.generate(case_rng(assignment, problem.id, "public", i), i)
                    planned.append(Planned(problem, f"public-{i + 1}", "public", case))
                cached = [compute_expected(p) for p in planned]
            cached = self._public.setdefault(key, cached)  # racing threads solve it twice, and all keep one
        return cached

    def hidden(self, assignment: str, problem: FunctionProblem, index: int, variant: int, secret: str) -> Planned:
        """Variant ``variant`` of hidden slot ``index``, solved; drawn once per book, as the students who get
        it share it (``seeding.HIDDEN_VARIANTS``)."""
        key = (assignment, id(problem), index, variant, secret)  # the cached case holds the problem: its id is unique
        cached = self._hidden.get(key)
        if cached is None:
            case = problem.generate(hidden_rng(assignment, problem.id, index, variant, secret), index)
            fresh = compute_expected(Planned(problem, f"hidden-{index + 1}", "hidden", case))
            cached = self._hidden.setdefault(key, fresh)  # racing threads solve it twice, and all keep one
        return cached

    def judge(self, problem: FunctionProblem, planned: Planned, got: Any, key: bytes) -> Judged:
        """The check's verdict on ``got``, and its diagnosis (the hint, the known mistake it names).

        Both are functions of the case and the output alone, and a class returns the same outputs over and
        over (every exact answer, every copy of a common slip, the outputs of one approach), so they are kept
        per case and output: ``key`` is the runner's name for the value (``CallReport.key``: equal keys, equal
        values; b"" keeps nothing), up to VERDICTS_KEPT of them (a few hundred bytes each, whatever the output)."""
        entry = (id(planned.case), key) if key else None
        kept = self._judged.get(entry) if entry is not None else None
        if kept is not None:
            return kept[1]
        try:
            verdict = problem.check(got, planned.expected, planned.case)
        except Exception as exc:  # noqa: BLE001 - a checker bug must not stop the batch
            verdict = Verdict("invalid", f"the grader could not check this output ({type(exc).__name__}: {exc})")
        judged = Judged(verdict, *_diagnose(problem, planned, got, verdict, self))
        if entry is not None and len(self._judged) < VERDICTS_KEPT:
            self._judged[entry] = (planned.case, judged)  # holding the case keeps its id unique
        return judged

    def shown(self, planned: Planned) -> dict[str, Any]:
        """A case's inputs and (if the problem shows it) expected value as result data, encoded once per case."""
        assert planned.case is not None and isinstance(planned.problem, FunctionProblem)
        key = id(planned.case)
        kept = self._shown.get(key)
        if kept is None:
            shown = {"inputs": _inputs(planned.problem, planned.case.args)}
            if planned.problem.show_expected:
                shown["expected"] = values.encode(planned.expected)
            kept = self._shown.setdefault(key, (planned.case, shown))  # the case held: its id stays unique
        return kept[1]

    def wrong_answer(self, problem: FunctionProblem, planned: Planned, index: int) -> Any:
        """Mistake ``index``'s output on this case, or NOT_APPLICABLE (it does not apply, or it is right here)."""
        if planned.solved is not None:
            return planned.solved.wrong.get(index, NOT_APPLICABLE)
        assert planned.case is not None
        key = (id(planned.case), index)
        cached = self._wrong.get(key)
        if cached is not None:
            return cached[1]
        wrong = mistake_output(problem, planned, index)
        self._wrong[key] = (planned.case, wrong)  # holding the case keeps its id unique
        return wrong


def mistake_output(problem: FunctionProblem, planned: Planned, index: int) -> Any:
    """What mistake ``index`` answers on a case; NOT_APPLICABLE when it does not apply or agrees with the
    reference there (a hint must never be shown to a right answer)."""
    assert planned.case is not None
    try:  # mistakes, like references, must not mutate their inputs (the self-test checks)
        wrong = problem.mistakes[index].answer(*planned.case.args)
        if same_data(wrong, planned.expected) or problem.check.agrees(wrong, planned.expected, planned.case):
            return NOT_APPLICABLE
    except Exception:  # noqa: BLE001 - a mistake that does not apply to these inputs
        return NOT_APPLICABLE
    return wrong


def function_cases(assignment: str, problem: FunctionProblem, audience: Audience, book: CaseBook) -> list[Planned]:
    planned = list(book.public(assignment, problem))
    if audience.hidden:
        for i in range(problem.hidden_count):
            variant = hidden_variant(assignment, problem.id, i, audience.secret, audience.student)
            planned.append(book.hidden(assignment, problem, i, variant, audience.secret))
    return planned


def plan_cases(assignment: Assignment, audience: Audience, only: Iterable[str] | None = None,
               case_id: str | None = None, book: CaseBook | None = None) -> Plan:
    """Every case of the problems in ``only`` (default all); just ``case_id`` when given."""
    book = book or CaseBook()
    wanted = set(only) if only is not None else None
    plan = Plan()
    for problem in assignment.problems:
        if wanted is not None and problem.id not in wanted:
            continue
        if isinstance(problem, FunctionProblem):
            if problem.self_check or audience.hidden:
                plan.cases += function_cases(assignment.id, problem, audience, book)
        elif problem.self_check or audience.hidden:
            for key in problem.keys:
                plan.cases += [Planned(problem, leaf, "answer", leaf=leaf, expected=value)
                               for leaf, value in key.leaves()]
    if case_id is not None:
        plan.cases = [p for p in plan.cases if p.id == case_id]
    return plan


def compute_expected(planned: Planned) -> Planned:
    """The reference's answer. References must not mutate their inputs (the self-test checks)."""
    if not isinstance(planned.problem, FunctionProblem) or planned.case is None or planned.expected is not None:
        return planned
    # dataclasses.replace, spelled out: it runs for every hidden case of every student
    return Planned(planned.problem, planned.id, planned.kind, planned.case, planned.leaf,
                   planned.problem.reference(*planned.case.args), planned.solved)


def build_job(assignment: Assignment, submission: Submission, plan: Plan, limits: Limits) -> Job:
    # every case comes from the book, shared by the students who get it: its inputs are worth encoding once
    calls = tuple(Call(p.problem.function, p.case.args, shared=True) for p in plan.cases
                  if isinstance(p.problem, FunctionProblem) and p.case is not None)
    return Job(
        source=submission.source,
        filename=submission.path.name if submission.path.suffix == ".py" else f"{assignment.id}.py",
        module=assignment.id,
        calls=calls,
        functions=tuple(p.function for p in assignment.functions),
        want_answers=assignment.answers is not None,
        limits=limits,
        preload=("torch",) if submission.imports_torch else (),
    )


# ------------------------------------------------------------------ checking


def _finite(x: float | None) -> float | None:
    return x if x is None or math.isfinite(x) else None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


Diagnosis = tuple[str, int | None]  # the hint, and the index of the known mistake it names (None: the check's own)


def _mistake_message(planned: Planned, index: int, mistake: Any) -> str:
    """What mistake ``index`` says on this case (the student edition ships it per case)."""
    if planned.solved is not None:
        return planned.solved.messages.get(index) or (mistake.message if isinstance(mistake.message, str) else "")
    assert planned.case is not None
    return mistake.describe(planned.case.args)


def _diagnose(problem: FunctionProblem, planned: Planned, got: Any, verdict: Verdict, book: CaseBook) -> Diagnosis:
    """The targeted message of a known mistake the output matches, else the checker's own hint."""
    if verdict.outcome == "passed" or planned.case is None:
        return verdict.hint, None
    check = problem.check
    for index, mistake in enumerate(problem.mistakes):
        wrong = book.wrong_answer(problem, planned, index)
        if wrong is NOT_APPLICABLE:
            continue
        try:
            matched = check.same_answer(got, wrong, planned.case) if isinstance(check, Property) \
                else same_data(got, wrong) or check.agrees(got, wrong, planned.case)
        except Exception:  # noqa: BLE001 - outputs that cannot even be compared do not match
            continue
        if matched:
            return _mistake_message(planned, index, mistake), index
    return verdict.hint, None


def _diagnose_error(problem: FunctionProblem, planned: Planned, detail: str) -> Diagnosis:
    """A known mistake recognised by the exception it raises (``Mistake.raises``), else ('', None)."""
    for index, mistake in enumerate(problem.mistakes):
        if mistake.matches_error(detail):
            return _mistake_message(planned, index, mistake), index
    return "", None


def _cause(outcome: str, mistake: int | None, detail: str = "") -> str:
    """What produced a failure, the same for every student it happens to (reports group failures by it):
    ``mistake:<index>`` for a known mistake, else the check's own verdict or the kind of error."""
    if mistake is not None:
        return f"mistake:{mistake}"
    if outcome == "error":
        kind = detail.split(":", 1)[0].strip() if detail else ""
        return f"error:{kind}" if kind.isidentifier() else "error"
    return {"failed": "values", "invalid": "form"}.get(outcome, outcome)


def _inputs(problem: FunctionProblem, args: tuple[Any, ...]) -> dict[str, Any]:
    names = problem.params if len(problem.params) == len(args) else tuple(f"arg{i}" for i in range(len(args)))
    return {name: values.encode(arg) for name, arg in zip(names, args, strict=True)}


def _guarded(planned: Planned, replay: str, check: Callable[[], CaseResult]) -> CaseResult:
    """A case's result; an exception while checking, diagnosing or formatting makes it ``invalid``."""
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - whatever an output does to a checker, the batch carries on
        return CaseResult(id=planned.id, kind=planned.kind, outcome="invalid", replay=replay,
                          label=planned.case.label if planned.case else "",
                          message=f"the grader could not check this output ({type(exc).__name__}: {str(exc)[:200]})")


def check_call(planned: Planned, report: CallReport, audience: Audience, replay: str, book: CaseBook,
               details: bool = True) -> CaseResult:
    """One case's result; ``details`` adds the inputs and values as data (not for every case: size)."""
    problem = planned.problem
    assert isinstance(problem, FunctionProblem) and planned.case is not None
    base: dict[str, Any] = {"id": planned.id, "kind": planned.kind, "label": planned.case.label,
                            "seconds": round(report.seconds, 6), "replay": replay}
    if report.status == "ok":
        verdict, hint, mistake = book.judge(problem, planned, report.value, report.key)
        if verdict.passed and not audience.details_always:
            return CaseResult(outcome="passed", max_error=_finite(verdict.max_error), **base)
        shown: dict[str, Any] = {}
        if details or audience.details_always:
            shown.update(book.shown(planned))
            shown["got"] = values.encode(report.value)
        return CaseResult(outcome=verdict.outcome, message=verdict.message, hint=hint,
                          max_error=_finite(verdict.max_error), where=verdict.where, values=shown,
                          cause=_cause(verdict.outcome, mistake), **base)
    outcome, message, hint = {
        "error": ("error", _first_line(report.detail) or "the function raised an exception", ""),
        "invalid": ("invalid", report.detail or "the returned value could not be read", ""),
        "timeout": ("timeout", report.detail, "look for an infinite loop, or an algorithm far slower than needed"),
        "crash": ("error", f"the process running your code died: {report.detail}", ""),
        "skipped": ("not_run", report.detail, ""),
        "lost": ("error", f"grader failure, not caused by your code: {report.detail}", ""),
    }[report.status]
    if report.not_implemented:
        message, hint = "not implemented yet (raises NotImplementedError)", ""
    elif "MemoryError" in report.detail:
        hint = "the memory limit was exceeded"
    mistake = None
    if report.status == "error" and not report.not_implemented and "MemoryError" not in report.detail:
        found, mistake = _diagnose_error(problem, planned, report.detail)
        hint = found or hint
    cause = "not implemented" if report.not_implemented else _cause(outcome, mistake, report.detail)
    return CaseResult(outcome=outcome, message=message, hint=hint, detail=report.detail,
                      values={"inputs": book.shown(planned)["inputs"]} if details else {}, cause=cause, **base)


def _lookup(answers: dict[str, Any], leaf: str) -> tuple[bool, Any]:
    value: Any = answers
    for part in leaf.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def check_answer(problem: AnswersProblem, planned: Planned, answers: dict[str, Any], audience: Audience,
                 replay: str) -> CaseResult:
    base: dict[str, Any] = {"id": planned.id, "kind": "answer", "replay": replay}
    key = next(k for k in problem.keys if planned.leaf == k.key or planned.leaf.startswith(k.key + "."))
    present, got = _lookup(answers, planned.leaf)
    path = "ANSWERS" + "".join(f"[{p!r}]" for p in planned.leaf.split("."))
    if not present:
        return CaseResult(outcome="invalid", message=f"{path} is missing", **base)
    if got is None:
        return CaseResult(outcome="invalid", message=f"{path} is not answered yet (None)", **base)
    verdict = Exact()(got, planned.expected, Case(()))
    if verdict.passed:
        return CaseResult(outcome="passed", max_error=0.0,
                          values={"got": values.encode(got)} if audience.details_always else {}, **base)
    hint = next((msg for wrong, msg in key.mistakes.get(planned.leaf, {}).items()
                 if Exact().agrees(got, wrong, Case(()))), "")
    if not audience.reveal_answers and _reveals(hint, planned.expected):
        hint = ""  # a self-check never shows an ANSWERS value, not even inside a hint
    message = f"{path}: wrong value" if not audience.reveal_answers else f"{path}: {verdict.message}"
    shown = {"got": values.encode(got)}
    if audience.reveal_answers:
        shown["expected"] = values.encode(planned.expected)
    return CaseResult(outcome=verdict.outcome if verdict.outcome == "invalid" else "failed",
                      message=verdict.message if verdict.outcome == "invalid" else message, hint=hint,
                      values=shown, **base)


def _reveals(text: str, expected: Any) -> bool:
    """Does ``text`` spell out the ANSWERS value ``expected``?"""
    return bool(text) and isinstance(expected, int) and not isinstance(expected, bool) \
        and spells_number(text, expected)


# ------------------------------------------------------------------ assembling


def replay_command(audience: Audience, problem_id: str, case_id: str) -> str:
    return f"{audience.replay_prefix} {shell_word(problem_id)} {shell_word(case_id)}{audience.replay_suffix}"


def _did_you_mean(name: str, defined: Iterable[str]) -> str:
    import difflib  # only for a missing function; a check imports it otherwise for nothing (3 ms)

    close = difflib.get_close_matches(name, list(defined), n=1, cutoff=0.6)
    return f" (did you mean to name {close[0]!r} {name!r}?)" if close else ""


def assemble(assignment: Assignment, submission: Submission, plan: Plan, report: RunReport,
             audience: Audience, file_label: str, isolation: Any, seconds: float,
             book: CaseBook | None = None) -> SubmissionResult:
    book = book or CaseBook()
    imported: ImportReport = report.imported
    call_reports = iter(report.calls)
    problems: list[ProblemResult] = []
    total = 0.0
    for entry in assignment.entries:
        problem = entry.problem
        planned = plan.for_problem(problem.id)
        if not planned:
            continue
        kind = problem.kind
        if imported.status != "ok":
            if isinstance(problem, FunctionProblem):
                for _ in planned:
                    next(call_reports)
            problems.append(ProblemResult(problem.id, problem.title, kind, entry.points, 0.0, "not_run", (),
                                          "not run: the submission did not import"))
            continue
        if isinstance(problem, FunctionProblem):
            reports = [next(call_reports) for _ in planned]
            if not imported.functions.get(problem.function, False):
                message = (f"{problem.function} is not defined in {submission.path.name}"
                           + _did_you_mean(problem.function, imported.defined))
                problems.append(ProblemResult(problem.id, problem.title, kind, entry.points, 0.0, "missing", (),
                                              message))
                continue
            results: list[CaseResult] = []
            failures = 0
            for p, r in zip(planned, reports, strict=True):
                replay = replay_command(audience, problem.id, p.id)
                results.append(_guarded(p, replay, partial(check_call, p, r, audience, replay, book,
                                                           failures < DETAILED_FAILURES)))
                failures += not results[-1].passed
            cases = tuple(results)
        else:
            if not isinstance(imported.answers, dict):
                problems.append(ProblemResult(problem.id, problem.title, kind, entry.points, 0.0, "missing", (),
                                              imported.answers_error or "no ANSWERS dict"))
                continue
            cases = tuple(_guarded(p, replay_command(audience, problem.id, p.id),
                                   partial(check_answer, problem, p, imported.answers, audience,
                                           replay_command(audience, problem.id, p.id))) for p in planned)
        score = score_problem(entry.points, cases)
        total += score
        problems.append(ProblemResult(problem.id, problem.title, kind, entry.points, score, "graded", cases))
    max_score = sum(assignment.entry(p.id).points for p in problems)
    status = "graded" if imported.status == "ok" else "not_imported"
    grader_failed = imported.status in ("setup", "lost") or any(c.status == "lost" for c in report.calls)
    message = "" if imported.status == "ok" else _import_message(imported)
    return SubmissionResult(
        student=submission.student, assignment=assignment.id, file=file_label, status=status,
        score=round(total, 2), max_score=max_score, problems=tuple(problems), message=message,
        output=report.output, output_bytes=report.output_bytes,
        isolation=isolation.mode, isolation_layers=tuple(isolation.layers), seconds=round(seconds, 3),
        grader_failed=grader_failed,
    )


def _import_message(imported: ImportReport) -> str:
    prefix = {
        "error": "the submission raised an error while it was imported",
        "timeout": "the submission did not finish importing",
        "crash": "the submission's process died while it was imported",
        "invalid": "the submission's process broke the grading protocol while it was imported",
        "setup": "the sandbox could not be set up (grader problem, not your code)",
        "lost": "grader failure, not caused by your code",
    }.get(imported.status, imported.status)
    return f"{prefix}: {imported.detail}" if imported.detail else prefix


def grade(assignment: Assignment, submission: Submission, runner: Runner, audience: Audience,
          limits: Limits | None = None, file_label: str | None = None,
          only: Iterable[str] | None = None, case_id: str | None = None,
          book: CaseBook | None = None, while_waiting: Callable[[], object] | None = None) -> SubmissionResult:
    """Grade one submission end to end; never raises for anything the submission does.

    ``book`` holds the cases every student shares; a batch passes one book to all its students.
    ``while_waiting`` is the caller's own work to do while the worker runs the job (``grader check``
    imports its terminal renderer then)."""
    began = time.perf_counter()
    book = book or CaseBook()
    plan = plan_cases(assignment, audience, only, case_id, book)
    job = build_job(assignment, submission, plan, limits or Limits())
    pending = runner.submit(job)
    try:
        plan.cases = [compute_expected(p) for p in plan.cases]  # overlaps with the worker
        if while_waiting is not None:
            while_waiting()
    finally:
        report = pending.wait()
    return assemble(assignment, submission, plan, report, audience, file_label or submission.path.name,
                    report.isolation or runner.isolation, time.perf_counter() - began, book)
