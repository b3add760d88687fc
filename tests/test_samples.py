"""The sample submissions in submissions/ get the verdicts their names promise.

Each assignment has a manifest, tests/samples/<assignment>.json, mapping
"<student folder>/<file>" to what grading must produce:

    {"status": "graded" | "not_imported",        # required
     "full_marks": true,                          # optional
     "problems": {"<problem id>": "passed" | "partial" | "failed" | "missing" | "not_run"},
     "hints": {"<problem id>": "substring of a failing case's hint or message"},
     "message": "substring of the submission's message"}

Problems not listed under "problems" must be "passed" when the status is
"graded". Grading runs in the real sandbox with hidden cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.engine import Audience, grade
from grader.loader import load_assignment
from grader.sandbox.process import SandboxRunner
from grader.sandbox.runner import Limits
from grader.submission import read_submission

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = sorted((ROOT / "tests" / "samples").glob("*.json"))
CASES = [(m.stem, key, spec) for m in MANIFESTS for key, spec in json.loads(m.read_text()).items()]


@pytest.fixture(scope="module")
def runner():
    with SandboxRunner(workers=2) as r:
        yield r


def test_every_sample_is_in_a_manifest() -> None:
    listed = {(a, k) for a, k, _ in CASES}
    on_disk = {(p.stem, f"{p.parent.name}/{p.name}") for p in (ROOT / "submissions").glob("*/*")
               if p.suffix in (".py", ".ipynb")}
    assert on_disk - listed == set(), "samples without an expected verdict"
    assert listed - on_disk == set(), "manifest entries without a sample file"


@pytest.mark.sandbox
@pytest.mark.parametrize(("assignment_id", "key", "spec"), CASES, ids=[f"{a}:{k}" for a, k, _ in CASES])
def test_sample_verdict(runner, assignment_id: str, key: str, spec: dict) -> None:
    assignment = load_assignment(assignment_id)
    path = ROOT / "submissions" / key
    submission = read_submission(path)
    audience = Audience(hidden=True, secret="samples", student=submission.student, reveal_answers=True)
    result = grade(assignment, submission, runner, audience, Limits(case_seconds=1.0, import_seconds=3.0))
    assert result.status == spec["status"], result.message
    if "message" in spec:
        assert spec["message"] in result.message
    if spec.get("full_marks"):
        assert result.score == result.max_score, [(p.id, p.outcome, p.first_failure) for p in result.problems]
    if result.status != "graded":
        return
    expected = {p.id: spec.get("problems", {}).get(p.id, "passed") for p in result.problems}
    assert {p.id: p.outcome for p in result.problems} == expected
    for problem_id, text in spec.get("hints", {}).items():
        problem = next(p for p in result.problems if p.id == problem_id)
        said = [c.hint + " " + c.message for c in problem.cases if not c.passed] + [problem.message]
        assert any(text in s for s in said), said
