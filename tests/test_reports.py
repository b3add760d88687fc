"""HTML, CSV and JSON reports: escaped, self-contained, readable math, one source of scores."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from toy import COURSE, GOOD  # tests/, on sys.path under pytest

from grader.batch import describe_problems, safe_name
from grader.engine import Audience, grade
from grader.loader import load_assignment
from grader.render.gradescope import gradescope_json
from grader.render.junit import junit_xml
from grader.render.reports import gradebook_csv, histogram, markdown_html, write_index, write_reports
from grader.results import BatchResult, batch_from_json, submission_from_dict, to_dict, to_json
from grader.sandbox.inprocess import InProcessRunner
from grader.submission import Submission

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "grader" / "schema" / "results.schema.json").read_text())
HOSTILE = GOOD.replace("def double(x): return 2 * x",
                       "def double(x):\n    print('<script>alert(1)</script>')\n"
                       "    return '<img src=x onerror=alert(2)>'")


@pytest.fixture(scope="module")
def batch():
    toy = load_assignment("toy", COURSE)
    runner = InProcessRunner()
    results = []
    for student, source in (("ann", GOOD), ("<b>bob</b>", HOSTILE), ("cy", "def double(x:\n")):
        audience = Audience(hidden=True, secret="k", student=student, reveal_answers=True)
        results.append(grade(toy, Submission(student, Path("toy.py"), source), runner, audience))
    # the in-process runner captures no output: add what a hostile submission would print
    results[1] = replace(results[1], output="<script>alert(1)</script>", output_bytes=25)
    return toy, BatchResult("toy", toy.title, toy.max_score, "full", ("namespaces",), "", "abc", "0", tuple(results),
                            problems=describe_problems(toy), summary=toy.summary, graded_at="2026-11-29 16:00 UTC")


def test_results_round_trip_and_match_the_schema(batch) -> None:
    _, result = batch
    text = to_json(result)
    jsonschema.validate(json.loads(text), SCHEMA)
    assert batch_from_json(text) == result
    one = result.submissions[0]
    assert submission_from_dict(to_dict(one)) == one
    jsonschema.validate(json.loads(to_json(one)), SCHEMA)


def test_closed_vocabularies_are_enforced(batch) -> None:
    _, result = batch
    data = json.loads(to_json(result.submissions[0]))
    data["problems"][0]["cases"][0]["outcome"] = "probably fine"
    with pytest.raises(ValueError, match="case outcome"):
        submission_from_dict(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)


def test_html_is_escaped_and_self_contained(batch, tmp_path: Path) -> None:
    _toy, result = batch
    write_reports(result, tmp_path / "toy")
    write_index([result], tmp_path)
    students = list((tmp_path / "toy" / "students").glob("*.html"))
    pages = [tmp_path / "index.html", tmp_path / "toy" / "index.html", *students,
             *(tmp_path / "toy" / "problems").glob("*.html")]
    assert len(pages) == 8
    for page in pages:
        html = page.read_text()
        assert "<img" not in html and "<b>bob" not in html
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), page  # nothing fetched at view time
        assert not re.search(r"""<(link|iframe|object|embed|img)\b|<[a-z][^>]*\ssrc\s*=|@import|url\(""", html), page
        # one inline script at most (the summary's sorting and filter), never fetched, never with student text
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
        assert len(scripts) == html.count("<script") == (1 if page == tmp_path / "toy" / "index.html" else 0) \
            or (page in students and len(scripts) <= 1), page
        for attributes, code in scripts:
            assert attributes.strip() in ("", 'type="application/json"'), page
            assert not any(s.student in code or (s.name and s.name in code) for s in result.submissions), page
            assert "alert" not in code and "</" not in code
    bob = (tmp_path / "toy" / "students" / f"{safe_name('<b>bob</b>')}.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in bob and "&lt;img src=x" in bob


def test_statements_render_math_as_mathml() -> None:
    html = markdown_html(r"Let $x_i^2$ and $$\frac{1}{\beta}\log\sum_i e^{\beta x_i}$$")
    assert html.count("<math") == 2 and "<mfrac>" in html and "$" not in html


def test_summary_counts_and_gradebook(batch, tmp_path: Path) -> None:
    _toy, result = batch
    rows = list(csv.reader(io.StringIO(gradebook_csv(result))))
    assert rows[0] == ["student", "status", "score", "max_score", "percent", "double", "halves", "ANSWERS", "file",
                       "isolation"]
    assert rows[1][-1] == "none"  # the in-process runner: no isolation, and the gradebook says so
    assert rows[1][:5] == ["ann", "graded", "10", "10", "100.00"]
    assert rows[3][1] == "not_imported"
    assert [b["count"] for b in histogram([0, 5, 55, 100, 100])] == [2, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    write_reports(result, tmp_path)
    summary = (tmp_path / "index.html").read_text()
    assert "Most frequent failures" in summary and "SyntaxError" in summary


def test_junit_and_gradescope_exports(batch) -> None:
    import xml.etree.ElementTree as ET

    _, result = batch
    bob = result.submissions[1]
    root = ET.fromstring(junit_xml(bob))
    assert root.find("testsuite/properties/property[@name='isolation']").get("value") == bob.isolation
    failures = root.findall(".//failure")
    assert failures and all(f.get("type") in ("failed", "invalid") for f in failures)
    data = json.loads(gradescope_json(bob))
    assert data["score"] == bob.score and sum(t["max_score"] for t in data["tests"]) == bob.max_score


def test_reports_render_again_from_results_json_alone(batch, tmp_path: Path) -> None:
    """grader report results.json gives the same pages as grading did (statements included)."""
    from click.testing import CliRunner

    from grader.cli import main

    _, result = batch
    first = tmp_path / "first"
    write_reports(result, first / "toy")
    write_index([result], first)
    again = tmp_path / "again"
    outcome = CliRunner().invoke(main, ["report", str(first / "toy" / "results.json"), "--out", str(again)])
    assert outcome.exit_code == 0, outcome.output
    pages = sorted(p.relative_to(first) for p in first.rglob("*.html"))
    assert pages == sorted(p.relative_to(again) for p in again.rglob("*.html")) and len(pages) == 8
    for page in pages:
        assert (first / page).read_text() == (again / page).read_text(), page
    bob = (again / "toy" / "students" / f"{safe_name('<b>bob</b>')}.html").read_text()
    assert "Return <math" in bob or "<math" in bob  # the statement, with its math, came from results.json
    assert (first / "toy" / "results.json").read_text() == (again / "toy" / "results.json").read_text()
    broken = tmp_path / "broken.json"
    broken.write_text('{"assignment": 1}')
    outcome = CliRunner().invoke(main, ["report", str(broken), "--out", str(tmp_path / "x")])
    assert outcome.exit_code == 2 and "not a results.json" in outcome.output


def test_values_are_stored_as_data_and_cut_at_the_limit() -> None:
    import numpy as np

    from grader.limits import VALUE_ELEMENTS
    from grader.values import Cut, decode, encode

    value = (np.arange(6.0).reshape(2, 3), [1, 2.5, float("nan")], {"k": np.int64(3)}, None, True, "s")
    data = encode(value)
    json.dumps(data, allow_nan=False)  # plain JSON: non-finite numbers are tagged
    back = decode(data)
    assert isinstance(back, tuple) and np.array_equal(back[0], value[0]) and back[0].shape == (2, 3)
    assert back[1][:2] == [1, 2.5] and np.isnan(back[1][2]) and back[2] == {"k": 3} and back[3:] == (None, True, "s")
    big = decode(encode(np.zeros((1000, 1000))))
    assert isinstance(big, Cut) and big.shape == (1000, 1000) and big.head.size == VALUE_ELEMENTS
    many = encode([[0]] * 1_000_000)
    assert len(json.dumps(many)) < 50 * VALUE_ELEMENTS and many[-1] == {"$more": 1_000_000 - VALUE_ELEMENTS}
    keys = encode({i: i for i in range(1_000_000)})
    assert len(json.dumps(keys)) < 50 * VALUE_ELEMENTS
    student_dict = {"$array": 1}  # a student's dict can never pass for a tagged value
    assert decode(encode(student_dict)) == student_dict


def test_every_text_in_a_result_is_cut_at_one_limit() -> None:
    from grader.limits import MESSAGE_CHARS, OUTPUT_CHARS
    from grader.results import CaseResult, SubmissionResult

    case = CaseResult("public-1", "public", "failed", message="x" * 10**6, hint="h" * 10**6, detail="d" * 10**6)
    assert max(len(case.message), len(case.hint), len(case.detail)) <= MESSAGE_CHARS
    assert "cut: 1,000,000 characters" in case.message
    sub = SubmissionResult("s", "toy", "toy.py", "graded", 0, 10, (), message="m" * 10**6, output="o" * 10**7)
    assert len(sub.message) <= MESSAGE_CHARS and len(sub.output) <= OUTPUT_CHARS


def test_report_size_stays_proportional_to_the_class(tmp_path: Path) -> None:
    """Hostile values (a dict with a million keys, huge arrays, floods of text) cost a bounded page each."""
    import numpy as np

    from grader.limits import MESSAGE_CHARS, OUTPUT_CHARS, VALUE_ELEMENTS

    toy = load_assignment("toy", COURSE)
    hostile_values = [{f"k{i}": i for i in range(1_000_000)}, np.zeros((2000, 2000)), [[0]] * 1_000_000,
                      "x" * 10_000_000]

    class Hostile(InProcessRunner):
        def submit(self, job):
            done = super().submit(job)
            report = done.report
            calls = tuple(c._replace(status="ok", value=hostile_values[i % len(hostile_values)],
                                     detail="d" * 10**6) for i, c in enumerate(report.calls))
            done.report = report._replace(calls=calls, output="o" * 10**7, output_bytes=10**7)
            return done

    results = [grade(toy, Submission(f"s{i}", Path("toy.py"), GOOD), Hostile(),
                     Audience(hidden=True, secret="k", student=f"s{i}", reveal_answers=True)) for i in range(3)]
    batch = BatchResult("toy", toy.title, toy.max_score, "full", (), "", "abc", "0", tuple(results),
                        problems=describe_problems(toy))
    write_reports(batch, tmp_path / "toy")
    pages = list((tmp_path / "toy" / "students").glob("*.html"))
    bound = 60 * MESSAGE_CHARS + 3 * 3 * 40 * VALUE_ELEMENTS + 2 * OUTPUT_CHARS + 50_000  # texts, values, output
    assert len(pages) == 3 and all(p.stat().st_size < bound for p in pages), [p.stat().st_size for p in pages]
    assert (tmp_path / "toy" / "results.json").stat().st_size < 3 * bound
    assert (tmp_path / "toy" / "index.html").stat().st_size < 100_000
