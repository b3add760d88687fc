"""The pages an instructor works in and a student learns from: a sortable class summary, a page per
problem with its failures grouped by cause, a student page with code, hints once, values side by side
and pasteable inputs, and the variant given to students."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from toy import COURSE, GOOD  # tests/, on sys.path under pytest

from grader.batch import SECRET_PLACEHOLDER, describe_problems, safe_name
from grader.engine import Audience, CaseBook, grade
from grader.formatting import python_assignments, python_literal, side_by_side
from grader.loader import load_assignment
from grader.render.reports import failure_groups, public_view, student_page, student_replay, write_reports
from grader.results import BatchResult
from grader.sandbox.inprocess import InProcessRunner
from grader.submission import Submission
from grader.values import decode, encode

HINT = "you added 2 instead of multiplying by 2"


def _public_inputs() -> str:
    """The toy course's example and public inputs of ``double``, as Python (what a memorising file holds)."""
    toy = load_assignment("toy", COURSE)
    problem = next(e.problem for e in toy.entries if e.problem.id == "double")
    planned = CaseBook().public("toy", problem)
    return "[" + ", ".join(python_literal(p.case.args[0]) for p in planned) + "]"


SOURCES = {
    "alpha-ann": GOOD,
    # the same known mistake, on different cases: the homework's example has two entries
    "beta-dee": GOOD.replace("def double(x): return 2 * x",
                             "def double(x):\n    if len(x) == 2:\n        return x + 2\n    return 2 * x"),
    "gamma-eve": GOOD.replace("def double(x): return 2 * x",
                              "def double(x):\n    if len(x) != 2:\n        return x + 2\n    return 2 * x"),
    # right on every public case, wrong on every hidden one
    "delta-gus": GOOD.replace("def double(x): return 2 * x",
                              f"PUBLIC = {_public_inputs()}\n"
                              "def double(x):\n"
                              "    if any(p.shape == x.shape and (p == x).all() for p in PUBLIC):\n"
                              "        return 2 * x\n"
                              "    return x + 2"),
}


@pytest.fixture(scope="module")
def batch() -> BatchResult:
    toy = load_assignment("toy", COURSE)
    runner = InProcessRunner()
    results = []
    for student, source in SOURCES.items():
        audience = Audience(hidden=True, secret="k", student=student, reveal_answers=True,
                            replay_prefix=f"grader replay submissions/{student}/toy.py",
                            replay_suffix=f" --student {student} --secret-file '{SECRET_PLACEHOLDER}'")
        results.append(grade(toy, Submission(student, Path("toy.py"), source), runner, audience))
    results = [replace(r, source=SOURCES[r.student]) for r in results]
    return BatchResult("toy", toy.title, toy.max_score, "full", ("namespaces",), "", "abc", "0", tuple(results),
                       problems=describe_problems(toy), summary=toy.summary, graded_at="2026-11-29 16:00 UTC")


@pytest.fixture(scope="module")
def pages(batch, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pages")
    write_reports(batch, out, course="Deep learning maths 2026", for_students=True)
    return out


def _student(pages: Path, student: str, folder: str = "students") -> str:
    return (pages / folder / f"{safe_name(student)}.html").read_text()


def _problem(batch: BatchResult, student: str, problem: str):
    s = next(s for s in batch.submissions if s.student == student)
    return next(p for p in s.problems if p.id == problem)


def test_the_summary_sorts_and_filters_with_one_inline_script(pages: Path, batch) -> None:
    page = (pages / "index.html").read_text()
    assert page.count("<script") == 1 and "<script>" in page  # inline, no src, no type to fetch
    (code,) = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert "sort" in code and "filter" in code
    assert not any(s.student in code for s in batch.submissions)  # data comes from the DOM, not the script
    assert not re.search(r"""<(link|iframe|img)\b|<[a-z][^>]*\ssrc\s*=|@import|url\(|https?://(?!www\.w3\.org/1998)""",
                         page)
    assert 'id="filter"' in page and 'id="students"' in page and "<thead>" in page and "data-v=" in page
    assert "double (6)" in page and "halves (2)" in page and "ANSWERS (2)" in page  # per-problem maxima
    assert "Deep learning maths 2026" in page and "2026-11-29 16:00 UTC" in page
    assert "@media print" in page and re.search(r"@media print \{[^@]*\.filterbar[^}]*display: none", page)
    assert re.search(r"@media print \{[^@]*tr[^{]*\{[^}]*break-inside: avoid", page)
    assert 'href="problems/double.html"' in page


def test_a_problem_page_groups_failures_by_the_mistake_behind_them(pages: Path, batch) -> None:
    dee, eve = _problem(batch, "beta-dee", "double"), _problem(batch, "gamma-eve", "double")
    dee_cases = {c.id for c in dee.cases if not c.passed}
    eve_cases = {c.id for c in eve.cases if not c.passed}
    assert dee_cases and eve_cases and not dee_cases & eve_cases  # the same mistake, on different cases
    assert {c.hint for c in dee.cases + eve.cases if not c.passed} == {HINT}

    groups = failure_groups(batch)["double"]
    (group,) = [g for g in groups if g["label"] == HINT]
    assert group["known"] and {row["s"].student for row in group["students"]} >= {"beta-dee", "gamma-eve"}
    assert sorted({c for row in group["students"] if row["s"].student == "beta-dee" for c in row["cases"]}) \
        == sorted(dee_cases)

    page = (pages / "problems" / "double.html").read_text()
    assert "<math" in page and "Double a vector" in page  # the statement, with its math
    assert page.count(HINT) == 1  # one group, labelled by the hint
    section = page[page.index(HINT):]
    section = section[:section.index("</section>")]
    assert "beta-dee" in section and "gamma-eve" in section
    assert "full marks" in page and "<svg" in page and "Deep learning maths 2026" in page
    assert "2026-11-29 16:00 UTC" in page
    for problem in batch.problems:
        assert (pages / "problems" / f"{safe_name(problem.id)}.html").exists()


def test_the_student_page_shows_code_values_and_one_hint(pages: Path, batch) -> None:
    page = _student(pages, "beta-dee")
    # the code, with the failing function marked
    marked = re.findall(r'<span class="ln bad"[^>]*>(.*?)</span>', page)
    assert marked and html.unescape(marked[0]).startswith("def double(x):")
    assert not any("def halves" in html.unescape(line) for line in marked)  # halves passes: not marked
    assert 'id="code-double"' in page and 'href="#code-double"' in page
    # one hint per problem, with the cases it applies to
    assert page.count(HINT) == 1
    # expected and got side by side, the differing entries marked
    assert "expected / got" in page and re.search(r'<td class="diff"[^>]*>', page)
    # inputs as Python that can be pasted into a REPL
    dee = _problem(batch, "beta-dee", "double")
    first = next(c for c in dee.cases if not c.passed and c.values)
    literal = html.unescape(re.search(r'<pre class="value py">(.*?)</pre>', page, re.S).group(1))
    namespace: dict = {}
    exec(literal, namespace)
    expected = decode(first.values["inputs"]["x"])
    assert isinstance(namespace["x"], np.ndarray) and namespace["x"].dtype == expected.dtype
    assert namespace["x"].shape == expected.shape and np.array_equal(namespace["x"], expected)


def test_cases_that_were_not_run_have_their_own_pill(batch) -> None:
    eve = next(s for s in batch.submissions if s.student == "gamma-eve")
    double = eve.problems[0]
    cases = (*double.cases[:-1], replace(double.cases[-1], outcome="not_run", message="not run", values={}))
    eve = replace(eve, problems=(replace(double, cases=cases), *eve.problems[1:]))
    page = student_page(batch, eve)
    assert '<span class="pill not_run">not run</span>' in page
    assert ".not_run {" in page


def test_the_page_given_to_students_withholds_hidden_cases(batch, pages: Path, tmp_path: Path) -> None:
    gus = _problem(batch, "delta-gus", "double")
    hidden = [c for c in gus.cases if not c.passed]
    assert hidden and all(c.kind == "hidden" for c in hidden) and hidden[0].values  # hidden failures, with values
    hidden_inputs = [python_literal(decode(c.values["inputs"]["x"])) for c in hidden if c.values]

    instructor = _student(pages, "delta-gus")
    assert "--student" in instructor and SECRET_PLACEHOLDER in html.unescape(instructor)
    assert all(text in html.unescape(instructor) for text in hidden_inputs)

    for student in SOURCES:
        page = html.unescape(_student(pages, student, "students-public"))
        assert "--secret-file" not in page and SECRET_PLACEHOLDER not in page and "--student" not in page
        assert not any(other in page for other in SOURCES if other != student)  # nobody else's name
        assert "../index.html" not in page  # no link to the class summary
    public = html.unescape(_student(pages, "delta-gus", "students-public"))
    assert not any(text in public for text in hidden_inputs)
    assert 'class="value py"' not in public and "are not shown" in public
    assert all(c.id in public for c in hidden) and "wrong value" in public
    dee = html.unescape(_student(pages, "beta-dee", "students-public"))
    assert "grader replay toy.py double example-1" in dee  # public cases: a replay the student can run

    for s in batch.submissions:  # withheld: every hidden case's label (it may describe the inputs) and values
        shown = [c for p in public_view(s).problems for c in p.cases if c.kind == "hidden"]
        assert shown and all(c.label == "" and not c.values and not c.replay and not c.detail for c in shown)

    write_reports(batch, tmp_path, for_students=True, release_hidden=True)
    released = html.unescape(_student(tmp_path, "delta-gus", "students-public"))
    assert all(text in released for text in hidden_inputs) and 'class="value py"' in released
    assert "--secret-file" not in released and "--student" not in released


def test_grader_report_writes_the_student_pages(pages: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from grader.cli import main

    again = tmp_path / "again"
    outcome = CliRunner().invoke(main, ["report", str(pages / "results.json"), "--out", str(again),
                                        "--for-students", "--release-hidden"])
    assert outcome.exit_code == 0, outcome.output
    public = again / "toy" / "students-public"
    assert sorted(p.name for p in public.glob("*.html")) == sorted(f"{safe_name(s)}.html" for s in SOURCES)
    outcome = CliRunner().invoke(main, ["report", str(pages / "results.json"), "--out", str(tmp_path / "plain")])
    assert outcome.exit_code == 0 and not (tmp_path / "plain" / "toy" / "students-public").exists()


def test_replay_commands_for_students() -> None:
    command = f"grader replay 'submissions/bob smith/hw7.py' nu_beta public-2 --student 'bob smith' " \
              f"--assignment hw7 --secret-file '{SECRET_PLACEHOLDER}'"
    assert student_replay(command) == "grader replay hw7.py nu_beta public-2 --assignment hw7"


def test_python_literals_rebuild_the_value_exactly() -> None:
    values = [np.arange(6.0).reshape(2, 3) / 7, np.array([1, 2], dtype=np.int32), np.zeros((0, 3)),
              np.array(1.5), np.array([np.nan, np.inf, -np.inf]), np.ones((2, 2, 2), dtype=np.float32),
              np.array([True, False]), (1, 2.5, [3, None]), {"a": 0.1, "b": "s"}, 0.1 + 0.2]
    for value in values:
        back = eval(python_literal(decode(encode(value))), {"np": np})
        if isinstance(value, np.ndarray):
            assert back.dtype == value.dtype and back.shape == value.shape
            assert np.array_equal(back, value, equal_nan=True)
        else:
            assert repr(back) == repr(value)
    cut = decode(encode(np.zeros((100, 100))))
    assert python_literal(cut).startswith("#")
    code = python_assignments({"x": cut, "beta": 2.0})
    assert "# x = ..." in code and "beta = 2.0" in code
    exec(code, {})


def test_side_by_side_marks_the_entries_that_differ() -> None:
    (matrix, number) = side_by_side((np.eye(2), 3), (np.eye(2) + np.array([[0, 1e-3], [0, 0]]), 3))
    assert matrix["mode"] == "grid" and matrix["ndiff"] == 1
    assert [d for _, cells in matrix["got"] for _, d in cells] == [False, True, False, False]
    assert number["mode"] == "list" and not number["differs"]
    (vector,) = side_by_side(np.arange(100.0), np.arange(100.0) * (1 + 1e-9))  # display threshold: relative 1e-6
    assert not vector["differs"] and len(vector["rows"]) < 100 and vector["more"]
    (shape,) = side_by_side(np.zeros(3), np.zeros((3, 1)))
    assert shape["mode"] == "text" and shape["differs"]
