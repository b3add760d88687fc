"""The public API (grader/api.py) and the CLI as a thin layer over it, both run in-process with the
in-process runner: no sandbox starts here (the sandbox keeps its own tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from toy import COURSE, GOOD

from grader import api
from grader.cli import main
from grader.sandbox import process


@pytest.fixture(autouse=True)
def no_sandbox(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a sandbox was started by an in-process test")

    monkeypatch.setattr(process, "SandboxRunner", refuse)
    monkeypatch.setattr(process.SandboxWorker, "launch", refuse)


def invoke(*args: str, tmp_path: Path):
    runner = CliRunner()
    return runner.invoke(main, list(args), obj={"runner": lambda mode, workers: api.InProcessRunner()},
                         env={"GRADER_PROBLEMS": str(COURSE), "XDG_CONFIG_HOME": str(tmp_path / "config")},
                         catch_exceptions=False)


def test_api_loads_checks_replays_and_grades(tmp_path) -> None:
    assert "toy" in api.assignments(COURSE)
    toy = api.load("toy", COURSE)
    (tmp_path / "toy.py").write_text(GOOD.replace("return 2 * x", "return x + 2"))
    result = api.check(tmp_path / "toy.py", problems_dir=COURSE, runner=api.InProcessRunner())
    assert isinstance(result, api.SubmissionResult) and result.score < result.max_score
    double = result.problems[0]
    assert double.cases[0].hint == "you added 2 instead of multiplying by 2"
    one = api.replay(tmp_path / "toy.py", "double", "example-1", problems_dir=COURSE, runner=api.InProcessRunner())
    assert [c.id for p in one.problems for c in p.cases] == ["example-1"]
    for student, source in (("ann", GOOD), ("bob", "def double(x:\n")):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "toy.py").write_text(source)
    batch = api.grade(toy, tmp_path / "class", tmp_path / "out", "secret", runner=api.InProcessRunner())
    scores = {s.student: (s.status, s.score) for s in batch.submissions}
    assert scores == {"ann": ("graded", toy.max_score), "bob": ("not_imported", 0.0)}
    assert api.batch_from_json(api.to_json(batch)) == batch
    api.report(batch, tmp_path / "pages", course="Maths 101")
    written = json.loads((tmp_path / "pages" / "results.json").read_text(encoding="utf-8"))
    assert api.batch_from_json(json.dumps(written)) == batch
    assert "Maths 101" in (tmp_path / "pages" / "students" / "ann.html").read_text(encoding="utf-8")
    assert (tmp_path / "pages" / "gradebook.csv").exists() and (tmp_path / "pages" / "index.html").exists()


def test_cli_commands_in_process(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    listed = invoke("list", tmp_path=tmp_path)
    assert listed.exit_code == 0 and "toy" in listed.output
    shown = invoke("show", "toy", "double", tmp_path=tmp_path)
    assert shown.exit_code == 0 and "double(x: np.ndarray)" in shown.output
    init = invoke("init", "toy", tmp_path=tmp_path)
    assert init.exit_code == 0 and (tmp_path / "toy.py").exists()
    fresh = invoke("check", "toy.py", tmp_path=tmp_path)
    assert fresh.exit_code == 1 and "not implemented" in fresh.output
    (tmp_path / "toy.py").write_text(GOOD)
    good = invoke("check", "toy.py", "--json", "r.json", tmp_path=tmp_path)
    assert good.exit_code == 0 and "score: 10 / 10" in good.output.replace("  ", " ")
    assert json.loads((tmp_path / "r.json").read_text())["isolation"] == "none"  # the in-process runner
    (tmp_path / "toy.py").write_text(GOOD.replace("return 2 * x", "return x + 2"))
    replay = invoke("replay", "toy.py", "double", "example-1", tmp_path=tmp_path)
    assert replay.exit_code == 1 and "you added 2" in replay.output
    for student in ("ann", "cy"):
        (tmp_path / "class" / student).mkdir(parents=True)
    (tmp_path / "class" / "ann" / "toy.py").write_text(GOOD)
    graded = invoke("grade", "toy", "class", "--out", "reports", tmp_path=tmp_path)
    assert graded.exit_code == 0, graded.output
    results = json.loads((tmp_path / "reports" / "toy" / "results.json").read_text())
    assert not list((tmp_path / "reports" / "toy" / ".state").glob("spool-*"))  # removed once reported
    assert {s["student"]: s["status"] for s in results["submissions"]} == {"ann": "graded", "cy": "no_submission"}
    again = invoke("report", "reports/toy/results.json", "--out", "again", tmp_path=tmp_path)
    assert again.exit_code == 0 and (tmp_path / "again" / "toy" / "index.html").exists()
    (tmp_path / "empty").mkdir()
    nobody = invoke("grade", "toy", "empty", "--out", "reports2", tmp_path=tmp_path)
    assert nobody.exit_code == 1 and "graded nobody" in nobody.output


def test_limit_defaults_live_in_one_place() -> None:
    help_text = CliRunner().invoke(main, ["check", "--help"]).output
    assert f"[default: {api.Limits().case_seconds}]" in help_text
    assert f"[default: {api.Limits().memory_mb}]" in help_text


def test_check_loads_its_assignment_once(tmp_path, monkeypatch) -> None:
    """`grader check` reads the assignment once (the student edition parses its data on every load)."""
    from grader import selfcheck

    loads = []
    real = selfcheck.load_assignment
    monkeypatch.setattr(selfcheck, "load_assignment", lambda *a, **k: loads.append(a) or real(*a, **k))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "toy.py").write_text(GOOD)
    checked = invoke("check", "toy.py", tmp_path=tmp_path)
    assert checked.exit_code == 0 and len(loads) == 1


def test_building_an_assignment_formats_no_problem(monkeypatch) -> None:
    """Validating an assignment never formats its problems: a problem's repr holds its cases (the student
    edition's solved cases are hundreds of arrays: printing them made every self-check 0.2 s slower)."""
    from dataclasses import replace

    from grader.spec import Assignment, FunctionProblem

    toy = api.load("toy", COURSE)

    def refuse(self) -> str:
        raise AssertionError("a problem was formatted while its assignment was validated")

    monkeypatch.setattr(FunctionProblem, "__repr__", refuse)
    rebuilt = replace(toy, title="again")  # runs Assignment.__post_init__
    assert isinstance(rebuilt, Assignment) and rebuilt.entries == toy.entries
