"""No student can stop the batch: whatever goes wrong while reading or grading one student
becomes that student's outcome, everyone else is graded and every report is written."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from toy import COURSE, GOOD  # tests/, on sys.path under pytest

from grader import engine
from grader.batch import BatchOptions, grade_batch
from grader.checks import Close
from grader.loader import load_assignment
from grader.render.reports import write_reports
from grader.sandbox.inprocess import InProcessRunner
from grader.spec import Assignment

SECRET = "s3cret"


@pytest.fixture
def toy() -> Assignment:
    return load_assignment("toy", COURSE)


def _notebook(code: str) -> str:
    return json.dumps({"cells": [{"cell_type": "code", "source": code, "metadata": {}, "outputs": []}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def make_class(root: Path, files: dict[str, tuple[str, str]]) -> Path:
    """``files``: student -> (file name, content)."""
    subs = root / "subs"
    for student, (name, text) in files.items():
        (subs / student).mkdir(parents=True)
        (subs / student / name).write_text(text)
    return subs


def run(assignment: Assignment, subs: Path, out: Path):
    batch = grade_batch(assignment, subs, out, SECRET, InProcessRunner(), jobs=2, options=BatchOptions(fresh=True))
    write_reports(batch, out)
    return {s.student: s for s in batch.submissions}


def test_hostile_answers_and_notebooks_only_cost_their_author(toy, tmp_path) -> None:
    huge_int = "9" * 600
    deep = "[" * 300_000 + "]" * 300_000
    files = {
        "honest": ("toy.py", GOOD),
        "big_answer": ("toy.py", GOOD.replace('"answer": 42', f'"answer": {huge_int}')),
        "big_answer_dict": ("toy.py", GOOD.replace('"a": 1', f'"a": -{huge_int}')),
        "nb_big_int": ("toy.ipynb", _notebook(GOOD)[:-1] + ', "x": ' + "7" * 5000 + "}"),
        "nb_deep": ("toy.ipynb", '{"cells": ' + deep + "}"),
        "honest_nb": ("toy.ipynb", _notebook(GOOD)),
    }
    out = tmp_path / "out"
    results = run(toy, make_class(tmp_path, files), out)
    assert results["honest"].score == results["honest"].max_score
    assert results["honest_nb"].score == results["honest_nb"].max_score
    answer = next(p for p in results["big_answer"].problems if p.id == "ANSWERS")
    assert answer.cases[0].outcome in ("failed", "invalid") and huge_int not in answer.cases[0].message
    assert results["big_answer"].score == pytest.approx(results["big_answer"].max_score - answer.points / 3, abs=0.01)
    ops = next(p for p in results["big_answer_dict"].problems if p.id == "ANSWERS")
    assert [c.passed for c in ops.cases] == [True, False, True]
    for student in ("nb_big_int", "nb_deep"):
        assert results[student].status == "unreadable", results[student].message
        assert "not a valid notebook" in results[student].message
    assert (out / "index.html").exists() and (out / "results.json").exists()
    assert len(list((out / "students").glob("*.html"))) == len(files)


class Raising(Close):
    """A checker with a bug that only one student's output triggers."""

    def __call__(self, got, expected, case):
        if float(got[0]) == 666.0:
            raise RuntimeError("checker bug")
        return super().__call__(got, expected, case)


def test_text_no_file_can_hold_costs_nobody_anything(toy, tmp_path) -> None:
    """Lone surrogates (a JSON escape in what a sandboxed submission sends, or a folder name that is not UTF-8)
    cannot be written to any file: one student's used to stop every report of the class."""
    files = {
        "honest": ("toy.py", GOOD),
        "surrogates": ("toy.py", GOOD.replace("def double(x): return 2 * x",
                                              "def double(x):\n    raise ValueError('lone \\udcff half')")
                                     .replace("def halves(n): return (n // 2, n - n // 2)",
                                              "def halves(n): return ['\\ud800', n]")
                                     .replace('"answer": 42', '"answer\\udcff": 42')),
    }
    subs = make_class(tmp_path, files)
    latin = os.path.join(os.fsencode(subs), b"caf\xe9")  # a folder name that is not UTF-8
    os.mkdir(latin)
    with open(os.path.join(latin, b"toy.py"), "w") as fh:
        fh.write(GOOD)
    out = tmp_path / "out"
    results = run(toy, subs, out)
    assert results["honest"].score == results["honest"].max_score
    assert results["caf\\xe9"].score == 10  # named as valid text, the byte shown
    hostile = results["surrogates"]
    double = next(p for p in hostile.problems if p.id == "double")
    assert all("lone \ufffd half" in c.message for c in double.cases), [c.message for c in double.cases]
    written = json.loads((out / "results.json").read_text())  # every report was written, and reads back
    assert len(written["submissions"]) == 3
    assert len(list((out / "students").glob("*.html"))) == 3
    assert any("lone \ufffd half" in c["message"] for sub in written["submissions"] for p in sub["problems"]
               for c in p["cases"])


def test_a_checker_that_raises_makes_that_case_invalid(toy, tmp_path) -> None:
    entries = tuple(replace(e, problem=replace(e.problem, check=Raising())) if e.problem.id == "double" else e
                    for e in toy.entries)
    assignment = replace(toy, entries=entries)
    files = {"honest": ("toy.py", GOOD),
             "trigger": ("toy.py", GOOD.replace("def double(x): return 2 * x",
                                                "def double(x):\n    y = 2 * x\n    y[0] = 666.0\n    return y"))}
    results = run(assignment, make_class(tmp_path, files), tmp_path / "out")
    assert results["honest"].score == results["honest"].max_score
    double = next(p for p in results["trigger"].problems if p.id == "double")
    assert double.cases and all(c.outcome == "invalid" for c in double.cases)
    assert "checker bug" in double.cases[0].message and "could not check" in double.cases[0].message


def test_any_exception_while_grading_a_student_becomes_their_error(toy, tmp_path, monkeypatch) -> None:
    real = engine.assemble

    def exploding(assignment, submission, *args, **kwargs):
        if submission.student == "victim":
            raise MemoryError("while rendering a value")
        return real(assignment, submission, *args, **kwargs)

    monkeypatch.setattr(engine, "assemble", exploding)
    files = {s: ("toy.py", GOOD) for s in ("ann", "victim", "zed")}
    out = tmp_path / "out"
    results = run(toy, make_class(tmp_path, files), out)
    assert results["ann"].score == results["zed"].score == toy.max_score
    victim = results["victim"]
    assert victim.status == "error" and victim.score == 0 and victim.grader_failed
    assert "MemoryError" in victim.message
    # not journalled: the next run grades the student again
    assert not (out / ".state" / "victim.json").exists() and (out / ".state" / "ann.json").exists()
    monkeypatch.setattr(engine, "assemble", real)
    again = grade_batch(toy, tmp_path / "subs", out, SECRET, InProcessRunner(), jobs=1)
    assert {s.student: s.score for s in again.submissions}["victim"] == toy.max_score
