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

from grader.batch import safe_name
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
    return toy, BatchResult("toy", toy.title, toy.max_score, "full", ("namespaces",), "", "abc", "0", tuple(results))


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
    toy, result = batch
    write_reports(toy, result, tmp_path / "toy")
    write_index([result], tmp_path)
    pages = [tmp_path / "index.html", tmp_path / "toy" / "index.html",
             *(tmp_path / "toy" / "students").glob("*.html")]
    assert len(pages) == 5
    for page in pages:
        html = page.read_text()
        assert "<script" not in html and "<img" not in html and "<b>bob" not in html
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), page  # nothing fetched at view time
    bob = (tmp_path / "toy" / "students" / f"{safe_name('<b>bob</b>')}.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in bob and "&lt;img src=x" in bob


def test_statements_render_math_as_mathml() -> None:
    html = markdown_html(r"Let $x_i^2$ and $$\frac{1}{\beta}\log\sum_i e^{\beta x_i}$$")
    assert html.count("<math") == 2 and "<mfrac>" in html and "$" not in html


def test_summary_counts_and_gradebook(batch, tmp_path: Path) -> None:
    toy, result = batch
    rows = list(csv.reader(io.StringIO(gradebook_csv(toy, result))))
    assert rows[0] == ["student", "status", "score", "max_score", "percent", "double", "halves", "ANSWERS", "file",
                       "isolation"]
    assert rows[1][-1] == "none"  # the in-process runner: no isolation, and the gradebook says so
    assert rows[1][:5] == ["ann", "graded", "10", "10", "100.00"]
    assert rows[3][1] == "not_imported"
    assert [b["count"] for b in histogram([0, 5, 55, 100, 100])] == [2, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    write_reports(toy, result, tmp_path)
    summary = (tmp_path / "index.html").read_text()
    assert "Most frequent failures" in summary and "SyntaxError" in summary


def test_junit_and_gradescope_exports(batch) -> None:
    import xml.etree.ElementTree as ET

    _, result = batch
    bob = result.submissions[1]
    root = ET.fromstring(junit_xml(bob))
    assert root.find("properties/property[@name='isolation']").get("value") == bob.isolation
    failures = root.findall(".//failure")
    assert failures and all(f.get("type") in ("failed", "invalid") for f in failures)
    data = json.loads(gradescope_json(bob))
    assert data["score"] == bob.score and sum(t["max_score"] for t in data["tests"]) == bob.max_score
