"""`grader check` in a student's CI: the workflow's command as docs/ci.md gives it, run here as GitHub runs it
(GITHUB_ACTIONS=true, GITHUB_STEP_SUMMARY set): summary, annotations, exit status, and a JUnit file of the
common shape, also for an unreadable file and a syntax error."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.render.github import MAX_ERRORS, annotations, command, escape_data, escape_property, step_summary
from grader.results import CaseResult, ProblemResult, SubmissionResult

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "submissions" / "hw7-plain_softmax" / "hw7.py"  # 94/100: grad_nu_beta fails
FULL = ROOT / "submissions" / "passes_all" / "hw7.py"
HW7_PROBLEMS = ("nu_beta", "grad_nu_beta", "conv1d_matvec", "conv1d_vecmat", "conv1d_net_grads", "count_ops",
                "ANSWERS")
ANNOTATION = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")

pytestmark = pytest.mark.sandbox


def docs_command() -> list[str]:
    """The check command of docs/ci.md's GitHub workflow (the GitLab job must run the same one)."""
    text = (ROOT / "docs" / "ci.md").read_text()
    github = re.search(r"```yaml\n(name: check homework.+?)```", text, re.S).group(1)
    gitlab = re.search(r"```yaml\n(check-hw7:.+?)```", text, re.S).group(1)
    line = next(x.strip() for x in github.splitlines() if "run: grader check" in x)
    args = shlex.split(line.split("run: ", 1)[1])
    assert f"- {shlex.join(args)}" in gitlab and "when: always" in gitlab and "junit: junit.xml" in gitlab
    assert "mikepenz/action-junit-report" in github and "checks: write" in github
    return args


def check(tmp_path: Path, source: Path | bytes | str, *extra: str, name: str = "hw7.py",
          args: list[str] | None = None) -> tuple[subprocess.CompletedProcess[str], str, list[tuple[str, dict, str]]]:
    work = tmp_path / "repo"
    work.mkdir(exist_ok=True)
    target = work / name
    if isinstance(source, Path):
        target.write_bytes(source.read_bytes())
    elif isinstance(source, bytes):
        target.write_bytes(source)
    else:
        target.write_text(source)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    env = dict(os.environ, GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary), GITHUB_WORKSPACE=str(work),
               COLUMNS="120", XDG_CONFIG_HOME=str(tmp_path / "config"))
    env.pop("GRADER_PROBLEMS", None)
    argv = list(args or docs_command())
    argv = [name if a == "hw7.py" else a for a in argv]
    out = subprocess.run([sys.executable, "-m", "grader", *argv[1:], *extra], cwd=work, env=env,
                         capture_output=True, text=True, timeout=300)
    parsed = []
    for line in out.stdout.splitlines():
        if line.startswith("::"):
            match = ANNOTATION.match(line)
            assert match, line
            props = dict(p.split("=", 1) for p in match.group(2).split(",")) if match.group(2) else {}
            for value in props.values():  # properties are escaped: no raw ':' or ','
                assert ":" not in value and "," not in value and "\n" not in value
            parsed.append((match.group(1), props, match.group(3)))
    text = summary.read_text()
    assert text.startswith("earlier step\n")  # appended, never overwritten
    return out, text[len("earlier step\n"):], parsed


def assert_junit(path: Path) -> ET.Element:
    """The common JUnit shape (no XSD here): testsuites > testsuite (properties first, if any) > testcase >
    failure|error with type and message; no properties on the root; classname + name unique."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and root.find("properties") is None
    suites = root.findall("testsuite")
    assert suites
    seen = set()
    for suite in suites:
        assert suite.get("name") and suite.get("tests", "").isdigit()
        children = list(suite)
        assert [c.tag for c in children if c.tag == "properties"] == ["properties"] and children[0].tag == "properties"
        assert all(p.tag == "property" and p.get("name") and p.get("value") is not None for p in children[0])
        failures = errors = 0
        for case in suite.findall("testcase"):
            key = (case.get("classname"), case.get("name"))
            assert all(key) and key not in seen
            seen.add(key)
            for outcome in case:
                assert outcome.tag in ("failure", "error", "skipped", "system-out", "system-err")
                if outcome.tag in ("failure", "error"):
                    assert outcome.get("type") and outcome.get("message")
                    failures += outcome.tag == "failure"
                    errors += outcome.tag == "error"
        assert int(suite.get("failures")) == failures and int(suite.get("errors")) == errors
        assert set(c.tag for c in children) <= {"properties", "testcase", "system-out", "system-err"}
    return root


def def_line(path: Path, name: str) -> int:
    return next(n.lineno for n in ast.parse(path.read_text()).body if getattr(n, "name", None) == name)


def test_failing_sample_summary_annotations_exit_status_junit(tmp_path: Path) -> None:
    out, summary, notes = check(tmp_path, SAMPLE)
    assert out.returncode == 0, out.stdout + out.stderr  # 94 % >= --fail-under 80
    assert "94 / 100 (94.0%)" in summary
    for problem in HW7_PROBLEMS:
        assert re.search(rf"^\| {problem} \| .* \|$", summary, re.M), problem
    row = next(x for x in summary.splitlines() if x.startswith("| grad_nu_beta |"))
    assert "example-2" in row and "largest error" in row and "beta is missing from the exponent" in row
    assert "grader replay hw7.py grad_nu_beta example-2" in summary and "not a grade" in summary
    assert len(summary.encode()) < 100_000

    errors = [n for n in notes if n[0] == "error"]
    assert len(errors) == 1
    _, props, message = errors[0]
    assert props["file"] == "hw7.py" and int(props["line"]) == def_line(SAMPLE, "grad_nu_beta")
    assert props["title"] == "grad_nu_beta%3A partial"
    assert "%0Ahint: beta is missing" in message and "\n" not in message and "example-2" in message
    notices = [n for n in notes if n[0] == "notice"]
    assert len(notices) == 1 and "94 / 100 (94.0%25)" in notices[0][2]

    junit = assert_junit(tmp_path / "repo" / "junit.xml")
    failure = junit.find("testsuite[@name='hw7.grad_nu_beta']/testcase[@name='example-2']/failure")
    assert failure.get("type") == "failed" and "beta is missing" in failure.text

    below, _, _ = check(tmp_path, SAMPLE, "--fail-under", "95")
    assert below.returncode == 1 and "below --fail-under 95%" in below.stderr
    assert_junit(tmp_path / "repo" / "junit.xml")


def test_full_marks(tmp_path: Path) -> None:
    out, summary, notes = check(tmp_path, FULL, "--fail-under", "100")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "100 / 100 (100.0%)" in summary and summary.count("✅") == len(HW7_PROBLEMS)
    assert [n[0] for n in notes] == ["notice"] and "100 / 100" in notes[0][2]
    root = assert_junit(tmp_path / "repo" / "junit.xml")
    assert not root.findall(".//failure") and not root.findall(".//error")


def test_unreadable_file_still_writes_junit_and_summary(tmp_path: Path) -> None:
    out, summary, notes = check(tmp_path, b"\x7fELF\xff\xfe\x00binary", "--json", "r.json", "--gradescope", "gs.json")
    assert out.returncode == 2 and "not UTF-8" in out.stderr and "Traceback" not in out.stderr
    assert "unreadable" in summary and "not UTF-8" in summary
    errors = [n for n in notes if n[0] == "error"]
    assert len(errors) == 1 and "line" not in errors[0][1] and "not UTF-8" in errors[0][2]
    root = assert_junit(tmp_path / "repo" / "junit.xml")
    error = root.find("testsuite/testcase/error")
    assert error.get("type") == "unreadable" and "not UTF-8" in error.get("message")
    result = json.loads((tmp_path / "repo" / "r.json").read_text())
    assert result["status"] == "unreadable" and result["score"] == 0
    gradescope = json.loads((tmp_path / "repo" / "gs.json").read_text())
    assert gradescope["score"] == 0 and gradescope["tests"] and "not UTF-8" in gradescope["output"]


def test_syntax_error(tmp_path: Path) -> None:
    source = "import numpy as np\n\n\ndef nu_beta(x, beta):\n    return np.log(np.sum(np.exp(beta * x)) / beta\n"
    out, summary, notes = check(tmp_path, source)
    assert out.returncode == 1
    errors = [n for n in notes if n[0] == "error"]
    assert len(errors) == 1 and errors[0][1]["line"].isdigit() and "SyntaxError" in errors[0][2]
    assert int(errors[0][1]["line"]) in (4, 5)
    assert "0 / 100" in summary
    root = assert_junit(tmp_path / "repo" / "junit.xml")
    assert root.find("testsuite/testcase/error").get("type") == "not_imported"


def test_notebook_gets_no_line(tmp_path: Path) -> None:
    notebook = {"cells": [{"cell_type": "code", "source": SAMPLE.read_text(), "outputs": []}], "metadata": {},
                "nbformat": 4, "nbformat_minor": 5}
    out, _, notes = check(tmp_path, json.dumps(notebook), name="hw7.ipynb",
                          args=["grader", "check", "hw7.ipynb", "--fail-under", "80", "--junit", "junit.xml"])
    assert out.returncode == 0, out.stdout + out.stderr
    errors = [n for n in notes if n[0] == "error"]
    assert len(errors) == 1 and errors[0][1]["file"] == "hw7.ipynb" and "line" not in errors[0][1]


def test_no_github_output_outside_actions(tmp_path: Path) -> None:
    (tmp_path / "hw7.py").write_bytes(SAMPLE.read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    out = subprocess.run([sys.executable, "-m", "grader", "check", "hw7.py", "--fail-under", "0"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "::error" not in out.stdout and "::notice" not in out.stdout


def test_escaping_and_cap() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a: b, c%\n") == "a%3A b%2C c%25%0A"
    assert command("error", "x,y: z", file="dir/a b.py", line=3, title="t: 1, 2") == \
        "::error file=dir/a b.py,line=3,title=t%3A 1%2C 2::x,y: z"
    assert command("notice", "m", file="f.py", line=None) == "::notice file=f.py::m"
    cases = (CaseResult("public-1", "public", "failed", message="wrong | <b>bold</b>", hint="try `x`"),)
    problems = tuple(ProblemResult(f"p{i}", f"P{i}", "function", 1.0, 0.0, "graded", cases) for i in range(15))
    result = SubmissionResult("s", "toy", "toy.py", "graded", 0.0, 15.0, problems)
    lines = annotations(result, Path("toy.py"))
    assert sum(x.startswith("::error") for x in lines) == MAX_ERRORS and lines[-1].startswith("::notice")
    text = step_summary(result, Path("toy.py"))
    assert "wrong \\| &lt;b&gt;bold&lt;/b&gt;" in text and len(re.findall(r"^\| p\d+ \|", text, re.M)) == 15


def test_gradescope_option_is_not_presented_as_grading(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "grader", "check", "--help"], capture_output=True, text=True,
                         env=dict(os.environ, COLUMNS="200"), timeout=60)
    assert "not a grade" in " ".join(out.stdout.split()) and "grader gradescope" in out.stdout
