"""The course keeps the checklist of docs/writing-problems.md ("Adding a problem"):

- every FunctionProblem has an oracle test: some ``tests/oracles/test_*.py`` imports the module that
  defines its ``PROBLEM`` (``from problems.hw7 import nu_beta``, ``from problems.hw7.nu_beta import
  reference`` or ``import problems.hw7.nu_beta``; a problem shared by two assignments, such as
  ``problems.common.count_ops``, is covered by one import; ruff's unused-import rule makes sure the
  import is used). ``test_float32.py`` does not count: it loads every problem and covers none by name;
- every assignment has a sample manifest ``tests/samples/<assignment>.json``;
- every module that holds check code (a ``Property`` test or canonical form, a custom ``Check``)
  declares ``__grader_public__ = True``;
- the points of every assignment add up to its stated ``total``;
- the bundler accepts every assignment: ``grader.bundle.course_files([id])`` does not raise.

Each rule is a function returning its findings, tested here on the course (no findings) and on a
broken example (the finding is reported).
"""

from __future__ import annotations

import ast
import dataclasses
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from toy import COURSE  # tests/, on sys.path under pytest

from grader.bundle import course_files
from grader.checks import Close, Property
from grader.cli import main
from grader.errors import SpecError
from grader.loader import assignment_ids, load_assignment
from grader.spec import Assignment, Case, Entry, FunctionProblem, Mistake
from grader.student_course import check_to_data

ROOT = Path(__file__).resolve().parents[1]
ORACLES = ROOT / "tests" / "oracles"
SAMPLES = ROOT / "tests" / "samples"
NOT_PER_PROBLEM = {"test_float32.py"}  # covers every problem through the loader, none by its module
ASSIGNMENTS = [load_assignment(a) for a in assignment_ids()]


def problem_module(problem: FunctionProblem) -> str:
    """The dotted name of the module that defines the problem (its reference lives there)."""
    return problem.reference.__module__


def oracle_imports(folder: Path = ORACLES) -> set[str]:
    """Every module the per-problem oracle tests import: ``from a.b import c`` counts ``a.b`` and ``a.b.c``."""
    found: set[str] = set()
    for path in sorted(folder.glob("test_*.py")):
        if path.name in NOT_PER_PROBLEM:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def untested_problems(assignments: list[Assignment], folder: Path = ORACLES) -> list[str]:
    imported = oracle_imports(folder)
    return [f"{a.id}/{p.id}: no oracle test imports {problem_module(p)}"
            for a in assignments for p in a.functions if problem_module(p) not in imported]


def missing_manifests(assignments: list[Assignment], folder: Path = SAMPLES) -> list[str]:
    return [f"{a.id}: no sample manifest {folder.name}/{a.id}.json"
            for a in assignments if not (folder / f"{a.id}.json").is_file()]


def check_modules(problem: FunctionProblem) -> set[str]:
    """The modules holding the code of the problem's check (none for Close, Exact, ... as data)."""
    modules: set[str] = set()

    def locate(obj: object) -> tuple[str, str]:
        modules.add(getattr(obj, "__module__", None) or type(obj).__module__)
        return "", ""

    check_to_data(problem.check, locate)
    return modules


def private_check_modules(assignments: list[Assignment]) -> list[str]:
    return [f"{a.id}/{p.id}: check code in {name}, which does not declare __grader_public__ = True"
            for a in assignments for p in a.functions for name in sorted(check_modules(p))
            if not getattr(sys.modules.get(name), "__grader_public__", False)]


def points_findings(assignments: list[Assignment]) -> list[str]:
    return [w for w in (a.points_warning() for a in assignments) if w]


# ---------------------------------------------------------------- the course keeps the checklist


def test_every_function_problem_has_an_oracle_test() -> None:
    assert sum(len(a.functions) for a in ASSIGNMENTS) >= 20  # the rule saw the course
    assert untested_problems(ASSIGNMENTS) == []


def test_every_assignment_has_a_sample_manifest() -> None:
    assert missing_manifests(ASSIGNMENTS) == []


def test_check_code_lives_in_public_modules() -> None:
    assert private_check_modules(ASSIGNMENTS) == []
    assert {m for a in ASSIGNMENTS for p in a.functions for m in check_modules(p)} >= {
        "problems.hw4.property_checks", "problems.hw5.trajectory"}  # the rule looks where check code is


def test_points_add_up_to_the_stated_total() -> None:
    assert points_findings(ASSIGNMENTS) == []
    assert all(a.total == 100 for a in ASSIGNMENTS)


@pytest.mark.parametrize("assignment_id", [a.id for a in ASSIGNMENTS])
def test_every_assignment_passes_the_bundler(assignment_id: str) -> None:
    files = course_files([assignment_id])  # raises LeakError when the course would leak
    assert any(name.endswith(f"/{assignment_id}.json") for name in files)


# ---------------------------------------------------------------- the rules catch what they are for


def test_a_problem_without_an_oracle_test_is_reported(tmp_path: Path) -> None:
    for path in ORACLES.glob("test_*.py"):
        if path.name != "test_hw7.py":
            shutil.copy(path, tmp_path / path.name)
    found = untested_problems(ASSIGNMENTS, tmp_path)
    hw7_only = {"nu_beta", "grad_nu_beta", "conv1d_matvec", "conv1d_vecmat", "conv1d_net_grads"}
    assert {line.split(":")[0] for line in found} == {f"hw7/{p}" for p in hw7_only}  # count_ops: hw5 covers it
    (tmp_path / "test_float32.py").write_text("from problems.hw7 import nu_beta\n")  # does not count
    assert len(untested_problems(ASSIGNMENTS, tmp_path)) == len(hw7_only)
    (tmp_path / "test_hw7.py").write_text("import problems.hw7.nu_beta\nfrom problems.hw7.grad_nu_beta import x\n"
                                          "from problems.hw7 import conv1d_matvec, conv1d_vecmat\n")
    assert [line.split(":")[0] for line in untested_problems(ASSIGNMENTS, tmp_path)] == ["hw7/conv1d_net_grads"]


def test_a_missing_manifest_is_reported(tmp_path: Path) -> None:
    for path in SAMPLES.glob("*.json"):
        if path.stem != "wr3":
            shutil.copy(path, tmp_path / path.name)
    assert missing_manifests(ASSIGNMENTS, tmp_path) == [f"wr3: no sample manifest {tmp_path.name}/wr3.json"]


def _double_property(got, case) -> bool:  # check code in this (not public) module
    return True


def test_check_code_in_a_private_module_is_reported() -> None:
    problem = FunctionProblem(
        id="double", title="Double", statement="Return 2x.", function="double", signature="double(x)",
        returns="float", reference=lambda x: 2 * x, examples=(Case((1.0,)),), generate=lambda rng, i: Case((1.0,)),
        check=Property(_double_property, "doubles"), mistakes=(Mistake("added", lambda x: x + 2),))
    course = Assignment("meta", "Meta", "One problem.", "tests", (Entry(problem, 100),))
    assert private_check_modules([course]) == [
        f"meta/double: check code in {__name__}, which does not declare __grader_public__ = True"]
    plain = dataclasses.replace(problem, check=Close())
    assert private_check_modules([dataclasses.replace(course, entries=(Entry(plain, 100),))]) == []


# ---------------------------------------------------------------- Assignment.total and its warning


def _course(total: float = 100, points: tuple[float, ...] = (60, 40)) -> Assignment:
    base = ASSIGNMENTS[0]
    problems = base.problems[:len(points)]
    return dataclasses.replace(base, entries=tuple(Entry(p, n) for p, n in zip(problems, points, strict=True)),
                               total=total)


def test_points_warning_when_the_points_do_not_add_up() -> None:
    assert _course().points_warning() is None
    assert _course(total=10, points=(6, 4)).points_warning() is None
    assert _course(points=(0.1, 0.2)).points_warning() is not None
    assert _course(total=0.30000000000000004, points=(0.1, 0.2)).points_warning() is None  # rounding is no slip
    warning = _course(points=(60, 30)).points_warning()
    assert warning == (f"{ASSIGNMENTS[0].id}: the points of its problems add up to 90 (60 + 30), "
                       "not its stated total 100")
    assert points_findings([_course(points=(60, 30)), _course()]) == [warning]


@pytest.mark.parametrize("total", [0, -5, "100", True])
def test_total_must_be_a_positive_number(total: object) -> None:
    with pytest.raises(SpecError, match="total must be a positive number"):
        _course(total=total)  # type: ignore[arg-type]


def _toy_copy(tmp_path: Path, total: float | None) -> Path:
    """The toy course (6 + 2 + 2 = 10 points), with ``total`` set in its ASSIGNMENT (None: the default 100)."""
    root = tmp_path / f"course_{str(total).replace('.', '_')}"
    shutil.copytree(COURSE, root, ignore=shutil.ignore_patterns("__pycache__"))
    if total is not None:
        init = root / "toy" / "__init__.py"
        init.write_text(init.read_text() + f"\nimport dataclasses\nASSIGNMENT = dataclasses.replace(ASSIGNMENT, "
                                           f"total={total})\n")
    return root


@pytest.mark.parametrize("command", [["list"], ["selftest", "toy"]])
def test_list_and_selftest_warn_when_the_points_do_not_add_up(tmp_path: Path, command: list[str]) -> None:
    runner = CliRunner()
    wrong = runner.invoke(main, [*command, "--problems", str(_toy_copy(tmp_path, None))])
    assert wrong.exit_code == 0, wrong.output
    assert "warning: toy: the points of its problems add up to 10 (6 + 2 + 2), not its stated total 100" \
        in wrong.stderr
    right = runner.invoke(main, [*command, "--problems", str(_toy_copy(tmp_path, 10))])
    assert right.exit_code == 0, right.output
    assert "warning" not in right.stderr and "warning" not in right.stdout
