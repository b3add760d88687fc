"""The benchmark's floors measure what they say: an answers-only class gets full marks on every case, hidden
ones included; a do-nothing class imports, defines every function and runs every case; the import floor loads
the libraries a check loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader import api
from grader.loader import load_assignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench import IMPORT_FLOOR, SECRET, answers_only_class, do_nothing_class  # noqa: E402


@pytest.mark.parametrize("assignment", ["wr3", "hw5"])
def test_an_answers_only_class_gets_full_marks_on_every_case(tmp_path: Path, assignment: str) -> None:
    answers_only_class(assignment, 2, tmp_path / "class")
    batch = api.grade(api.load(assignment), tmp_path / "class", tmp_path / "out", SECRET, runner=api.InProcessRunner())
    results = list(batch.submissions)
    assert len(results) == 2
    for result in results:
        assert result.status == "graded" and result.score == result.max_score, (result.student, result.score)
        cases = [c for p in result.problems for c in p.cases]
        assert any(c.kind == "hidden" for c in cases) and all(c.passed for c in cases)


@pytest.mark.parametrize("assignment", ["wr3", "hw5"])
def test_a_do_nothing_submission_runs_every_case_and_scores_nothing(tmp_path: Path, assignment: str) -> None:
    do_nothing_class(assignment, 2, tmp_path)
    files = sorted(tmp_path.glob(f"*/{assignment}.py"))
    assert len(files) == 2 and files[0].read_text() == files[1].read_text()
    result = api.check(files[0], runner=api.InProcessRunner())
    spec = load_assignment(assignment)
    functions = {p.id for p in spec.functions}
    checked = {p.id: p for p in result.problems if p.id in functions}
    assert checked and set(checked) == {p.id for p in spec.functions if p.self_check}
    for problem in checked.values():
        assert problem.status == "graded", (problem.id, problem.status, problem.message)  # imported and defined
        assert problem.cases and all(c.outcome != "not_run" for c in problem.cases)  # every case was called
        assert problem.score < problem.points  # returning 0 solves no problem (a case may expect 0)


def test_the_import_floor_loads_what_a_check_loads() -> None:
    wanted = "('numpy', 'click', 'rich.console')"
    probe = f"{IMPORT_FLOOR}; import sys; print(sorted(m for m in {wanted} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "['click', 'numpy', 'rich.console']"
    check = subprocess.run([sys.executable, "-c", "import sys; from grader.cli import main; "
                            "from grader.render import terminal; from grader import selfcheck; "
                            "print(all(m in sys.modules for m in ('numpy', 'click', 'rich.console')))"],
                           capture_output=True, text=True, check=True, timeout=120, cwd=ROOT)
    assert check.stdout.strip() == "True"  # the check's own modules load every library the floor counts
