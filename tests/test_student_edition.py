"""The student edition: built, installed into a fresh virtual environment with one `pip install FILE`,
it checks like the full course and holds no reference, case generator, mistake code, hidden case or
ANSWERS value; the bundler refuses a course that would leak."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from toy import COURSE

from grader.bundle import LeakError, course_files, reveals
from grader.loader import assignment_ids, load_assignment

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted(p for p in (ROOT / "submissions").glob("*/*") if p.suffix in (".py", ".ipynb"))

pytestmark = pytest.mark.sandbox


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, the fresh virtual environment's bin folder) with the student edition installed."""
    work = tmp_path_factory.mktemp("edition")
    built = _run([sys.executable, "-m", "grader", "bundle", "all", "--out", str(work / "dist")], ROOT)
    assert built.returncode == 0, built.stderr
    wheel = Path(built.stdout.strip().splitlines()[-1])
    assert wheel.parent == work / "dist" and wheel.name.startswith("dlmath_grader_student-") and wheel.exists()
    venv = work / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], work)
    assert made.returncode == 0, made.stderr
    # one pip install FILE, from an empty folder: no course repository, no torch
    installed = _run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], work, timeout=600)
    assert installed.returncode == 0, installed.stderr[-2000:]
    return wheel, venv / "bin"


def _site_files(bin_dir: Path) -> list[Path]:
    venv = bin_dir.parent
    site = next(venv.glob("lib/python3*/site-packages"))
    roots = [site / "grader", site / "grader_student_course", *site.glob("dlmath_grader_student-*.dist-info")]
    return [p for root in roots for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def test_the_installed_edition_holds_no_solution(edition) -> None:
    _, bin_dir = edition
    files = _site_files(bin_dir)
    assert any(p.name == "hw7.json" for p in files) and any(p.name == "property_checks.py" for p in files)
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)
    assert "def reference" not in text and "def generate" not in text
    assert "secret.key" not in {p.name for p in files}
    course = [p for p in files if "grader_student_course" in p.parts]
    assert {p.suffix for p in course} == {".json", ".py"}
    assert {p.name for p in course if p.suffix == ".py"} == {"__init__.py", "property_checks.py", "numconv.py",
                                                             "trajectory.py"}  # the public modules, and only them
    for assignment_id in assignment_ids():
        assignment = load_assignment(assignment_id)
        for problem in assignment.functions:
            source = inspect.getsource(problem.reference)
            body = [line.strip() for line in source.splitlines()[1:] if len(line.strip()) > 20]
            found = [line for line in body if line in text]
            assert " ".join(body) not in " ".join(line.strip() for line in text.splitlines())
            assert len(found) <= len(body) / 2, f"{problem.id}'s reference ships: {found}"
            assert not [line for line in found if line.startswith("return")], f"{problem.id}: {found}"
            for mistake in problem.mistakes:
                name = getattr(mistake.answer, "__name__", "<lambda>")
                if name != "<lambda>":
                    assert f"def {name}(" not in text, f"mistake {name} of {problem.id} ships"
            assert f"def {problem.generate.__name__}(" not in text
        if assignment.answers:
            for key in assignment.answers.keys:
                for _, value in key.leaves():
                    if isinstance(value, int) and abs(value) >= 100:
                        assert not reveals(text, value), f"an ANSWERS value of {assignment_id} ships"
    # no course package and no torch came with it
    probe = _run([str(bin_dir / "python"), "-c", "import importlib.util as u; "
                  "print(u.find_spec('problems'), u.find_spec('torch'))"], bin_dir)
    assert probe.stdout.strip() == "None None"


def _check(python_or_grader: list[str], file: Path, out: Path, env: dict[str, str] | None = None) -> dict:
    done = _run([*python_or_grader, "check", str(file), "--json", str(out), "--fail-under", "0"], file.parent, env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(out.read_text())


def _verdicts(result: dict) -> dict:
    problems = {}
    for p in result["problems"]:
        if p["kind"] == "answers":
            continue
        problems[p["id"]] = (p["status"], p["message"],
                             [(c["id"], c["outcome"], c["message"], c["hint"]) for c in p["cases"]])
    return {"status": result["status"], "message": result["message"], "problems": problems}


def test_checks_give_the_same_verdicts_and_hints_as_the_full_course(edition, tmp_path) -> None:
    _, bin_dir = edition

    def both(sample: Path) -> tuple[Path, dict, dict]:
        tag = f"{sample.parent.name}-{sample.stem}"
        full = _check([sys.executable, "-m", "grader"], sample, tmp_path / f"{tag}-full.json")
        student = _check([str(bin_dir / "grader")], sample, tmp_path / f"{tag}-student.json")
        return sample, full, student

    with ThreadPoolExecutor(max_workers=3) as pool:
        compared = list(pool.map(both, SAMPLES))
    assert len(compared) >= 40
    for sample, full, student in compared:
        if "import torch" in sample.read_text():  # torch is the student's own install, absent from this venv
            assert "No module named 'torch'" in student["message"]
            continue
        assert _verdicts(student) == _verdicts(full), sample
        assert not [p for p in student["problems"] if p["kind"] == "answers"], "ANSWERS are not self-checked"
    hints = [c["hint"] for _, _, s in compared for p in s["problems"] for c in p["cases"] if c["hint"]]
    assert len(hints) > 30  # targeted hints come through from the shipped mistake outputs


def test_student_commands_work_and_instructor_commands_refuse(edition, tmp_path) -> None:
    _, bin_dir = edition
    grader = str(bin_dir / "grader")
    listed = _run([grader, "list"], tmp_path)
    assert listed.returncode == 0 and "hw4" in listed.stdout and "wr3" in listed.stdout
    shown = _run([grader, "show", "hw5", "momentum_form1"], tmp_path)
    assert shown.returncode == 0 and "momentum_form1(" in shown.stdout and "float32 rounding" in shown.stdout
    init = _run([grader, "init", "hw7"], tmp_path)
    assert init.returncode == 0 and "alexnet_ops" in (tmp_path / "hw7.py").read_text()
    fresh = _run([grader, "check", "hw7.py"], tmp_path)
    assert fresh.returncode == 1 and "not implemented" in fresh.stdout and "ANSWERS" in fresh.stdout
    shutil.copy(ROOT / "submissions" / "hw7-plain_softmax" / "hw7.py", tmp_path / "hw7.py")
    replay = _run([grader, "replay", "hw7.py", "grad_nu_beta", "example-2"], tmp_path)
    assert replay.returncode == 1 and "beta is missing" in replay.stdout and "0.866813" in replay.stdout
    hidden = _run([grader, "replay", "hw7.py", "grad_nu_beta", "hidden-1"], tmp_path)
    assert hidden.returncode == 2 and "hidden-1" in hidden.stderr
    for command in (["grade", "hw7", str(tmp_path)], ["selftest"], ["bundle", "hw7"], ["gradescope", "hw7"],
                    ["report", str(tmp_path / "hw7.py")]):
        refused = _run([grader, *command], tmp_path)
        assert refused.returncode == 2 and "student edition" in refused.stderr, command


def test_the_portable_path_checks_the_same(edition, tmp_path) -> None:
    """Where bubblewrap, seccomp or fork are missing (macOS, Windows) each check runs in a plain child process."""
    _, bin_dir = edition
    sample = ROOT / "submissions" / "hw5-momentum_slips" / "hw5.py"
    sandboxed = _check([str(bin_dir / "grader")], sample, tmp_path / "a.json")
    portable = _check([str(bin_dir / "grader")], sample, tmp_path / "b.json", {"GRADER_ISOLATION": "portable"})
    assert _verdicts(portable) == _verdicts(sandboxed) and portable["isolation"] != "full"
    shown = _run([str(bin_dir / "grader"), "check", str(sample)], tmp_path, {"GRADER_ISOLATION": "portable"})
    assert sum("portable" in line for line in shown.stdout.splitlines()) == 1


# ------------------------------------------------------------------ the bundler refuses leaks (in process)


def _course(tmp_path: Path, files: dict[str, str]) -> Path:
    course = tmp_path / "course"
    shutil.copytree(COURSE, course)
    for name, text in files.items():
        (course / name).write_text(textwrap.dedent(text))
    return course


PROPERTY_PROBLEM = """
    import numpy as np
    from grader.checks import Property, passed, failed
    from grader.spec import Case, FunctionProblem
    {check_import}

    def reference():
        return np.ones(2)

    def generate(rng, index):
        return Case((), "c")

    PROBLEM = FunctionProblem(
        id="double", title="t", statement="s", function="double", signature="double()", returns="array",
        reference=reference, examples=(Case((), "e"),), generate=generate, check={check}, public_count=1)
"""


def test_the_bundler_ships_the_toy_course_without_answers(tmp_path) -> None:
    files = course_files(["toy"], COURSE)
    data = json.loads(files["grader_student_course/toy.json"])
    assert "42" not in json.dumps(data["entries"][2]) and set(files) == {"grader_student_course/__init__.py",
                                                                         "grader_student_course/toy.json"}


def test_the_bundler_refuses_check_code_in_a_private_module(tmp_path) -> None:
    course = _course(tmp_path, {"toy/double.py": PROPERTY_PROBLEM.format(
        check_import="def test(got, case):\n        return passed()",
        check='Property(test, "ones")')})
    with pytest.raises(LeakError, match="not declared public"):
        course_files(["toy"], course)


def test_the_bundler_refuses_a_public_module_that_holds_private_code(tmp_path) -> None:
    public = """
        from grader.checks import Property, passed
        from .halves import PROBLEM as _HALVES
        __grader_public__ = True
        REF = _HALVES.reference

        def test(got, case):
            return passed()

        CHECK = Property(test, "ones")
    """
    problem = PROPERTY_PROBLEM.format(check_import="from .checks import CHECK", check="CHECK")
    course = _course(tmp_path, {"toy/checks.py": public, "toy/double.py": problem})
    with pytest.raises(LeakError, match=r"not declared public|reference of halves"):
        course_files(["toy"], course)
    defines = public.replace("from .halves import PROBLEM as _HALVES", "").replace(
        "REF = _HALVES.reference", "def reference():\n            return 1")
    course = _course(tmp_path / "b", {"toy/checks.py": defines, "toy/double.py": problem})
    with pytest.raises(LeakError, match="defines reference"):
        course_files(["toy"], course)


def test_the_bundler_refuses_an_answer_that_would_ship(tmp_path) -> None:
    answers = (COURSE / "toy" / "answers.py").read_text().replace('AnswerKey("answer", 42', 'AnswerKey("answer", 4242')
    answers = answers.replace('statement="Fill in `ANSWERS`."', 'statement="Fill in `ANSWERS` (hint: 4,242)."')
    course = _course(tmp_path, {"toy/answers.py": answers})
    with pytest.raises(LeakError, match="ANSWERS value of toy"):
        course_files(["toy"], course)
