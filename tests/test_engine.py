"""The engine with the in-process runner: planning, seeds, checking, scoring, feedback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from toy import COURSE, GOOD  # tests/, on sys.path under pytest

from grader.engine import Audience, grade, plan_cases
from grader.errors import AssignmentError, SpecError
from grader.loader import assignment_ids, load_assignment
from grader.sandbox.inprocess import InProcessRunner
from grader.submission import Submission
from grader.values import decode

BROKEN = Path(__file__).parent / "fixtures" / "broken"


@pytest.fixture(scope="module")
def toy():
    return load_assignment("toy", COURSE)


def run(assignment, source: str, audience: Audience | None = None, student: str = "s1"):
    submission = Submission(student, Path("toy.py"), source)
    return grade(assignment, submission, InProcessRunner(), audience or Audience())


def test_full_marks(toy) -> None:
    result = run(toy, GOOD, Audience(hidden=True, secret="k", student="s1"))
    assert result.status == "graded" and result.score == result.max_score == 10
    assert all(c.passed for p in result.problems for c in p.cases)
    kinds = {c.kind for c in result.problems[0].cases}
    assert kinds == {"example", "public", "hidden"}


def test_partial_credit_is_the_fraction_of_cases(toy) -> None:
    source = GOOD.replace("return 2 * x", "return 2 * x if len(x) == 2 else x")
    result = run(toy, source)
    double = result.problems[0]
    assert 0 < double.score < double.points
    assert double.score == round(6 * double.passed_count / len(double.cases), 2)
    assert result.score == double.score + 4


def test_answers_are_graded_key_by_key_and_hidden_from_students(toy) -> None:
    source = GOOD.replace('"answer": 42', '"answer": 24').replace('"b": 2', '"b": 3')
    result = run(toy, source)
    answers = result.problems[2]
    assert [c.outcome for c in answers.cases] == ["failed", "passed", "failed"]
    assert answers.cases[0].hint == "digits swapped" and answers.cases[2].hint == "b is off by one"
    assert answers.score == round(2 / 3, 2)
    assert all("expected" not in c.values and "42" not in c.message for c in answers.cases)
    assert answers.cases[0].values["got"] == 24  # what the student wrote is data in the result
    revealed = run(toy, source, Audience(reveal_answers=True))
    assert revealed.problems[2].cases[0].values["expected"] == 42


def test_missing_answers_and_none_values(toy) -> None:
    result = run(toy, GOOD.replace('"answer": 42, ', '"answer": None, '))
    assert result.problems[2].cases[0].outcome == "invalid" and "not answered" in result.problems[2].cases[0].message
    result = run(toy, GOOD.replace("ANSWERS =", "answers ="))
    assert result.problems[2].status == "missing" and "ANSWERS" in result.problems[2].message


def test_known_mistake_gets_its_targeted_message(toy) -> None:
    result = run(toy, GOOD.replace("return 2 * x", "return x + 2"))
    failing = [c for c in result.problems[0].cases if not c.passed]
    assert failing and all(c.hint == "you added 2 instead of multiplying by 2" for c in failing)
    assert {c.cause for c in failing} == {"mistake:0"}  # reports group failures by the mistake that made them
    other = run(toy, GOOD.replace("return 2 * x", "return 3 * x"))
    assert {c.cause for c in other.problems[0].cases if not c.passed} == {"values"}
    raising = run(toy, GOOD.replace("return 2 * x", "return 1 / 0"))
    assert {c.cause for c in raising.problems[0].cases} == {"error:ZeroDivisionError"}
    first = failing[0]
    assert set(first.values) == {"inputs", "expected", "got"} and first.replay
    x = decode(first.values["inputs"]["x"])
    assert isinstance(x, np.ndarray) and np.array_equal(decode(first.values["got"]), x + 2)
    assert np.array_equal(decode(first.values["expected"]), 2 * x)


def test_missing_function_suggests_a_close_name(toy) -> None:
    result = run(toy, GOOD.replace("def double(", "def doubel("))
    assert result.problems[0].status == "missing" and "doubel" in result.problems[0].message
    assert result.problems[1].status == "graded"


def test_import_error_marks_every_problem_not_run(toy) -> None:
    result = run(toy, "def double(x:\n")
    assert result.status == "not_imported" and "SyntaxError" in result.message
    assert {p.status for p in result.problems} == {"not_run"} and result.score == 0


def test_exceptions_and_not_implemented(toy) -> None:
    result = run(toy, GOOD.replace("return 2 * x", "raise NotImplementedError").replace(
        "return (n // 2, n - n // 2)", "return 1 / 0"))
    assert {c.message for c in result.problems[0].cases} == {"not implemented yet (raises NotImplementedError)"}
    assert all(c.outcome == "error" and "ZeroDivisionError" in c.message for c in result.problems[1].cases)


def test_wrong_types_are_invalid(toy) -> None:
    result = run(toy, GOOD.replace("return 2 * x", "return 'twice'").replace(
        "return (n // 2, n - n // 2)", "return object()"))
    assert {c.outcome for c in result.problems[0].cases} == {"invalid"}
    assert {c.outcome for c in result.problems[1].cases} == {"invalid"}


def test_public_cases_are_fixed_and_hidden_depend_on_secret_and_student(toy) -> None:
    def args(audience, kinds=("example", "public", "hidden")):
        return [tuple(np.asarray(a).tolist() for a in p.case.args) for p in plan_cases(toy, audience).cases
                if p.case is not None and p.kind in kinds]

    public = args(Audience())
    assert public == args(Audience())
    a1 = args(Audience(hidden=True, secret="k1", student="alice"))
    assert a1 == args(Audience(hidden=True, secret="k1", student="alice"))
    assert a1 != args(Audience(hidden=True, secret="k1", student="bob"))
    assert a1 != args(Audience(hidden=True, secret="k2", student="alice"))
    hidden = Audience(hidden=True, secret="k1", student="alice")
    assert args(hidden, ("example", "public")) == public  # hidden grading also runs the public cases
    drawn = args(hidden, ("hidden",))
    floats = [h for h in drawn if isinstance(h[0], list)]  # double's random vectors; halves' ints may coincide
    assert floats and all(h not in public for h in floats)


def test_every_failing_case_has_a_replay_command(toy) -> None:
    audience = Audience(hidden=True, secret="k", student="s1", replay_prefix="grader replay toy.py",
                        replay_suffix=" --student s1 --secret-file key")
    result = run(toy, GOOD.replace("return 2 * x", "return x"), audience)
    for case in result.problems[0].cases:
        assert case.replay == f"grader replay toy.py double {case.id} --student s1 --secret-file key"


def test_the_runner_never_receives_expected_values(toy) -> None:
    sent = []

    class Spy(InProcessRunner):
        def submit(self, job):
            sent.append(job)
            return super().submit(job)

    grade(toy, Submission("s", Path("toy.py"), GOOD), Spy(), Audience(hidden=True, secret="topsecret", student="s"))
    job = sent[0]
    text = repr(job)
    assert "topsecret" not in text and "reference" not in text and "expected" not in text
    assert [c.function for c in job.calls].count("double") == 1 + 2 + 4


def test_the_callers_work_runs_once_after_the_job_is_sent_and_before_its_report_is_awaited(toy) -> None:
    events: list[str] = []

    class Pending:
        def __init__(self, done) -> None:
            self.done = done

        def wait(self):
            events.append("wait")
            return self.done.wait()

    class Spy(InProcessRunner):
        def submit(self, job):
            events.append("submit")
            return Pending(super().submit(job))

    result = grade(toy, Submission("s", Path("toy.py"), GOOD), Spy(), Audience(),
                   while_waiting=lambda: events.append("caller's work"))
    assert events == ["submit", "caller's work", "wait"] and result.score == result.max_score
    with pytest.raises(ImportError):  # the caller's failure is the caller's: not a grade of the submission
        grade(toy, Submission("s", Path("toy.py"), GOOD), Spy(), Audience(),
              while_waiting=lambda: __import__("no_such_module_here"))
    assert events[-2:] == ["submit", "wait"]  # the job's report is still collected (the worker is freed)


def test_only_and_case_selection(toy) -> None:
    plan = plan_cases(toy, Audience(), ["halves"], "public-1")
    assert [(p.problem.id, p.id) for p in plan.cases] == [("halves", "public-1")]


def test_loader_refuses_malformed_specs() -> None:
    assert assignment_ids(BROKEN) == ["bad", "noassign"]
    with pytest.raises(SpecError, match="signature must start with 'f\\('"):
        load_assignment("bad", BROKEN)
    with pytest.raises(SpecError, match="must define ASSIGNMENT"):
        load_assignment("noassign", BROKEN)
    with pytest.raises(AssignmentError, match="available: bad, noassign"):
        load_assignment("nope", BROKEN)


def test_selftest_catches_a_reference_that_mutates_its_inputs() -> None:
    from grader.checks import Close
    from grader.selftest import run_selftest
    from grader.spec import Assignment, Case, Entry, FunctionProblem, Mistake

    def sloppy(x):
        x *= 2  # in place: the grader would show students the doubled inputs
        return x

    problem = FunctionProblem(
        id="double", title="t", statement="s", function="double", signature="double(x)", returns="array",
        reference=sloppy, examples=(Case((np.array([1.0, 2.0]),)),),
        generate=lambda rng, i: Case((rng.normal(size=3),)), check=Close(),
        mistakes=(Mistake("plus two", lambda x: x + 2),))
    findings = run_selftest(Assignment("mut", "t", "s", "x", (Entry(problem, 1),)))
    assert any(f.variant == "reference" and "mutates" in f.problem_text for f in findings)


def test_a_self_check_hint_never_spells_out_an_answer(toy) -> None:
    from dataclasses import replace

    answers = toy.answers
    key = replace(answers.keys[0], mistakes={"answer": {24: "digits swapped: the answer is 42, not 24"}})
    problem = replace(answers, keys=(key, *answers.keys[1:]))
    course = replace(toy, entries=tuple(replace(e, problem=problem) if e.problem is answers else e
                                        for e in toy.entries))
    source = GOOD.replace('"answer": 42', '"answer": 24')
    student = run(course, source).problems[2].cases[0]
    assert student.outcome == "failed" and student.hint == "" and "42" not in student.message
    instructor = run(course, source, Audience(reveal_answers=True)).problems[2].cases[0]
    assert instructor.hint == "digits swapped: the answer is 42, not 24"
    grouped = replace(key, expected=1_234_567, mistakes={"answer": {24: "the total is 1,234,567"}})
    course = replace(course, entries=tuple(replace(e, problem=replace(problem, keys=(grouped, *answers.keys[1:])))
                                           if e.problem is problem else e for e in course.entries))
    assert run(course, source).problems[2].cases[0].hint == ""


def test_property_verdicts_are_kept_per_case_and_output(monkeypatch) -> None:
    """A batch checks each distinct output of a property problem once per case: the same results as checking
    every student afresh, with far fewer runs of the (costly) property tests."""
    from grader.checks import Property
    from grader.engine import CaseBook
    from grader.submission import read_submission

    hw4 = load_assignment("hw4")
    calls = 0
    for problem in hw4.functions:
        if isinstance(problem.check, Property):
            def counting(got, case, _test=problem.check.test):
                nonlocal calls
                calls += 1
                return _test(got, case)
            monkeypatch.setattr(problem.check, "test", counting)
    root = Path(__file__).parents[1] / "submissions"
    sources = [read_submission(root / "passes_all" / "hw4.py").source,
               read_submission(root / "hw4-true_convolution" / "hw4.py").source]
    book = CaseBook()
    students = [(f"s{i}", sources[i % 2]) for i in range(8)]

    def results(book_for):
        out = []
        for student, source in students:
            audience = Audience(hidden=True, secret="k", student=student)
            out.append(grade(hw4, Submission(student, Path("hw4.py"), source), InProcessRunner(), audience,
                             book=book_for()))
        return [[(c.id, c.outcome, c.message, c.hint) for p in r.problems for c in p.cases] for r in out]

    fresh = results(CaseBook)
    unkept = calls
    calls = 0
    assert results(lambda: book) == fresh
    assert 0 < calls < unkept  # the public cases' verdicts are shared by the students with the same output
    calls = 0
    assert results(lambda: book) == fresh and calls == 0  # every (case, output) seen: nothing runs again


@pytest.mark.parametrize("assignment", ["wr3", "hw5"])
def test_verdicts_and_hints_are_kept_per_case_and_output(monkeypatch, assignment) -> None:
    """A batch's book judges each distinct output of a case once (check and diagnosis): a class of right and
    slipped submissions gets exactly the results of grading every student afresh, with far fewer judgements."""
    import grader.engine as engine
    from grader.engine import CaseBook
    from grader.submission import read_submission

    spec = load_assignment(assignment)
    judgements = 0
    diagnose = engine._diagnose

    def counting(*args, **kwargs):
        nonlocal judgements
        judgements += 1
        return diagnose(*args, **kwargs)

    monkeypatch.setattr(engine, "_diagnose", counting)
    root = Path(__file__).parents[1] / "submissions"
    slips = sorted(f.name for f in root.iterdir() if f.name.startswith(f"{assignment}-")
                   and "loop" not in f.name and "import_error" not in f.name)
    folders = ["passes_all", *slips]
    sources = [read_submission(root / f / f"{assignment}.py").source for f in folders
               if (root / f / f"{assignment}.py").exists()]
    students = [(f"s{i}", sources[i % len(sources)]) for i in range(2 * len(sources))]

    def results(book_for):
        out = []
        for student, source in students:
            audience = Audience(hidden=True, secret="k", student=student)
            out.append(grade(spec, Submission(student, Path(f"{assignment}.py"), source), InProcessRunner(),
                             audience, book=book_for()))
        return [[(c.id, c.outcome, c.message, c.hint, c.cause, repr(c.values)) for p in r.problems for c in p.cases]
                for r in out]

    fresh = results(CaseBook)
    unkept, judgements = judgements, 0
    book = CaseBook()
    assert results(lambda: book) == fresh
    assert 0 < judgements < unkept / 2  # the same outputs of the same cases are judged once
    judgements = 0
    assert results(lambda: book) == fresh and judgements == 0  # every (case, output) seen: nothing runs again


def test_kept_verdicts_are_bounded(monkeypatch) -> None:
    """The store of verdicts holds at most VERDICTS_KEPT entries, each keyed by the runner's 16-byte key of the
    output (not the output: a hostile class's 32 KiB answers cost nothing there), and past the cap every
    output is still checked, correctly."""
    import grader.engine as engine
    from grader.engine import CaseBook
    from grader.sandbox.runner import value_key
    from grader.sandbox.worker import wire

    hw4 = load_assignment("hw4")
    problem = next(p for p in hw4.functions if p.check.__class__.__name__ == "Property")
    planned = next(p for p in plan_cases(hw4, Audience()).cases if p.problem is problem and p.case is not None)
    monkeypatch.setattr(engine, "VERDICTS_KEPT", 3)
    book = CaseBook()
    outputs = [np.full((2, 3, 3), float(i)) for i in range(6)] + [planned.expected]
    judged = [book.judge(problem, planned, got, value_key(wire.dumps(wire.to_wire(got)))) for got in outputs]
    assert [j.verdict.outcome for j in judged] == [problem.check(g, planned.expected, planned.case).outcome
                                                   for g in outputs]
    assert judged[-1].verdict.passed and len(book._judged) == 3
    assert all(len(key) == 16 for _, key in book._judged)
    unnamed = book.judge(problem, planned, outputs[-1], b"")  # an output the runner gave no key: nothing kept
    assert unnamed.verdict.passed and len(book._judged) == 3


