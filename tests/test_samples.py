"""The sample submissions in submissions/ get the verdicts their names promise.

Each assignment has a manifest, tests/samples/<assignment>.json, mapping
"<student folder>/<file>" to what grading must produce:

    {"status": "graded" | "not_imported",        # required
     "full_marks": true,                          # optional
     "problems": {"<problem id>": "passed" | "partial" | "failed" | "missing" | "not_run"},
     "hints": {"<problem id>": "substring of a failing case's hint or message"},
     "message": "substring of the submission's message",
     "slip": {...}}                               # optional: see tests/samples/generate.py

Problems not listed under "problems" must be "passed" when the status is
"graded". Grading runs in the real sandbox with hidden cases.

A sample with a "slip" is made from submissions/passes_all/<file> with the slip
applied; it is graded as generated here, and its committed folder (what
`grader grade all submissions/` reads) must equal what
`python -m tests.samples.generate` writes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from samples import generate  # tests/, on sys.path under pytest

from grader.engine import Audience, grade
from grader.loader import load_assignment
from grader.sandbox.process import SandboxRunner
from grader.sandbox.runner import Limits
from grader.submission import Submission, read_submission

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
    if "slip" in spec:  # passes_all with the slip made, as the manifest says (the committed file is checked below)
        submission = Submission(student=path.parent.name, path=path, source=generate.render(key, spec["slip"]))
    else:
        submission = read_submission(path)
    audience = Audience(hidden=True, secret="samples", student=submission.student, reveal_answers=True)
    # torch takes 1.5-4 s to import on a loaded 2-core machine: give such samples room, the rest a tight limit
    imports = 10.0 if submission.imports_torch else 3.0
    result = grade(assignment, submission, runner, audience, Limits(case_seconds=1.0, import_seconds=imports))
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


# ---------------------------------------------------------------- samples generated from passes_all + a slip


def test_committed_slipped_samples_equal_the_generated_ones() -> None:
    """submissions/ stays in step with passes_all + slips: `python -m tests.samples.generate` changes nothing."""
    assert generate.out_of_step() == [], "run: python -m tests.samples.generate"
    assert generate.main(["--check"]) == 0


def test_hw7_and_wr3_slipped_samples_are_generated() -> None:
    slipped = {key for _, key, _ in generate.slipped()}
    for assignment_id, key, _ in CASES:
        if assignment_id in ("hw7", "wr3") and key.endswith(".py") and not key.startswith("passes_all/"):
            hand_written = key in ("hw7-torch_tensors/hw7.py", "hw7-infinite_loop_at_import/hw7.py")
            assert (key in slipped) != hand_written, key


def test_every_slip_changes_its_correct_file() -> None:
    for _, key, slip in generate.slipped():
        assert generate.render(key, slip) != generate.correct_file(key).read_text(encoding="utf-8"), key


CORRECT = '''# HW - title
import numpy as np


@staticmethod
def f(x):
    return x + 1


def g(x):
    return 2 * x
'''


def test_slip_replaces_a_function_with_its_decorators_or_appends_it() -> None:
    out = generate.apply_slip(CORRECT, {"functions": {"f": ["def f(x):", "    return x - 1"],
                                                      "h": "def h():\n    return 0\n"}})
    assert "@staticmethod" not in out and "return x - 1" in out and "return x + 1" not in out
    assert out.index("def f(") < out.index("def g(") < out.index("def h(")
    assert compile(out, "slip.py", "exec")


def test_slip_text_replacement_and_header() -> None:
    slip = {"replace": [["    return 2 * x", "    return 3 * x"]], "header": "# HW (a slip)"}
    out = generate.apply_slip(CORRECT, slip)
    assert out.splitlines()[0] == "# HW (a slip)" and "return 3 * x" in out and "return 2 * x" not in out
    assert out.count("\n") == CORRECT.count("\n")


@pytest.mark.parametrize("slip", [
    {"replace": [["not in the file", "x"]]},     # a slip that stopped applying is an error, not a no-op
    {"replace": [["    return", "    yield"]]},  # ambiguous: occurs twice
    {"rename": {}},                               # unknown key
])
def test_slip_that_does_not_apply_is_an_error(slip: dict) -> None:
    with pytest.raises(generate.SlipError):
        generate.apply_slip(CORRECT, slip)


def test_generate_rewrites_a_stale_sample(tmp_path, monkeypatch) -> None:
    (tmp_path / "samples").mkdir()
    (tmp_path / "subs" / "passes_all").mkdir(parents=True)
    (tmp_path / "subs" / "passes_all" / "hw.py").write_text(CORRECT)
    manifest = {"passes_all/hw.py": {"status": "graded"},
                "hw-g/hw.py": {"status": "graded", "slip": {"replace": [["2 * x", "x"]]}}}
    (tmp_path / "samples" / "hw.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(generate, "MANIFESTS", tmp_path / "samples")
    monkeypatch.setattr(generate, "SUBMISSIONS", tmp_path / "subs")
    assert generate.out_of_step() == ["hw-g/hw.py"] and generate.main(["--check"]) == 1
    assert generate.main([]) == 0
    assert (tmp_path / "subs" / "hw-g" / "hw.py").read_text() == CORRECT.replace("2 * x", "x")
    assert generate.out_of_step() == [] and generate.main(["--check"]) == 0
