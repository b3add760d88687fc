"""`grader gradescope`: the zip, and its real run_autograder on a Gradescope-like tree.

run_autograder runs with GRADER_PYTHON set to this venv's Python and the wheel NOT installed: it unpacks
the bundled wheel and puts it on PYTHONPATH (the grader it imports is checked to be the unpacked one).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from grader.gradescope_run import find_candidates, student_id

ROOT = Path(__file__).resolve().parents[1]
FULL_MARKS = (ROOT / "submissions" / "passes_all" / "hw7.py").read_text()
SECRET = "gradescope-test-secret-0123456789"
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("gradescope")
    (tmp / "secret.key").write_text(SECRET + "\n")
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp / "config"))
    env.pop("GRADER_PROBLEMS", None)
    out = subprocess.run([sys.executable, "-m", "grader", "gradescope", "hw7", "--out", str(tmp / "out"),
                          "--secret-file", str(tmp / "secret.key")], cwd=tmp, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    target = tmp / "out" / "hw7-gradescope.zip"
    assert target.is_file() and "keep it private" in out.stdout
    assert target.stat().st_mode & 0o077 == 0  # the zip holds the secret
    return target


def test_zip_entries(built: Path) -> None:
    with zipfile.ZipFile(built) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        wheel_name = next(n for n in infos if n.endswith(".whl"))
        assert set(infos) == {"setup.sh", "run_autograder", wheel_name, "secret.key", "grader-gradescope.json"}
        assert all("/" not in n and "__pycache__" not in n for n in infos)  # everything at the zip root
        for name in ("setup.sh", "run_autograder"):
            mode = infos[name].external_attr >> 16
            assert mode & 0o111 == 0o111 and infos[name].create_system == 3, name
            text = archive.read(name).decode()
            assert text.startswith("#!/usr/bin/env bash\n") and "\r" not in text and "@@" not in text
        assert (infos["secret.key"].external_attr >> 16) & 0o777 == 0o600
        assert archive.read("secret.key").decode().strip() == SECRET
        config = json.loads(archive.read("grader-gradescope.json"))
        assert config["assignment"] == "hw7" and config["max_score"] == 100 and config["torch"] is False
        assert config["wheel"] == wheel_name and set(config["limits"]) == {"case_seconds", "import_seconds",
                                                                           "memory_mb"}
        setup = archive.read("setup.sh").decode()
        assert "python3.11 python3.11-venv" in setup and "/venv" in setup and "pip install torch" not in setup
        assert "/usr/bin/python3" not in setup  # the system python3 is left alone
        with zipfile.ZipFile(io.BytesIO(archive.read(wheel_name))) as wheel:
            names = wheel.namelist()
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    for needed in ("grader/gradescope_run.py", "grader/sandbox/worker/zygote.py", "grader/schema/results.schema.json",
                   "problems/hw7/__init__.py", "problems/common/__init__.py"):
        assert needed in names, needed


def make_root(tmp: Path, built: Path, files: dict[str, str | bytes],
              metadata: Any = None) -> Path:
    """A Gradescope-like tree: source/ (the unpacked zip), submission/, results/, submission_metadata.json."""
    root = tmp / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    with zipfile.ZipFile(built) as archive:  # as unzip does: with each entry's mode
        for info in archive.infolist():
            os.chmod(archive.extract(info, root / "source"), (info.external_attr >> 16) & 0o777)
    for name, content in files.items():
        path = root / "submission" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    if metadata is None:
        metadata = {"id": 987, "created_at": "2026-11-29T10:00:00.000000-08:00", "submission_method": "upload",
                    "users": [{"email": "ann@example.edu", "id": 4242, "name": "Ann"}],
                    "assignment": {"id": 1, "total_points": "100.0"}, "previous_submissions": []}
    if metadata != "absent":
        text = metadata if isinstance(metadata, str) else json.dumps(metadata)
        (root / "submission_metadata.json").write_text(text)
    return root


def run_autograder(root: Path, python: str = sys.executable) -> tuple[dict[str, Any], subprocess.CompletedProcess]:
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), GRADER_PYTHON=python)
    for var in ("GRADER_PROBLEMS", "PYTHONPATH", "GRADER_SECRET_FILE"):
        env.pop(var, None)
    done = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (root / "results" / "results.json").read_text()
    return json.loads(text), done


def validate(data: dict[str, Any], max_score: float = 100) -> None:
    """Gradescope's results.json, field by field (GS docs specs.md)."""
    assert isinstance(data, dict)
    assert set(data) <= {"score", "execution_time", "output", "output_format", "test_output_format",
                         "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
    assert isinstance(data["score"], (int, float)) and not isinstance(data["score"], bool)
    assert isinstance(data["output"], str) and data["output"]
    assert data["visibility"] in VISIBILITIES and data["stdout_visibility"] == "hidden"
    assert isinstance(data.get("extra_data", {}), dict)
    if "execution_time" in data:
        assert isinstance(data["execution_time"], (int, float)) and data["execution_time"] >= 0
    tests = data["tests"]
    assert isinstance(tests, list) and tests
    for test in tests:
        assert set(test) <= {"score", "max_score", "name", "name_format", "output_format", "tags", "visibility",
                             "extra_data", "status", "number", "output"}
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"] + 1e-9
        assert test["status"] in ("passed", "failed")
        if test["score"] < test["max_score"]:
            assert test["status"] == "failed"
        elif test["max_score"] > 0:
            assert test["status"] == "passed"
        assert test["visibility"] in VISIBILITIES - {"hidden"}
        assert isinstance(test["output"], str)
        assert all(isinstance(t, str) for t in test.get("tags", []))
    total = sum(t["score"] for t in tests)
    assert abs(total - data["score"]) < 1e-6  # the tests sum to the score
    assert data["score"] <= sum(t["max_score"] for t in tests) + 1e-9
    assert abs(sum(t["max_score"] for t in tests) - max_score) < 1e-6


def test_full_marks_with_hidden_cases_and_odd_name(built: Path, tmp_path: Path) -> None:
    source = FULL_MARKS + '\nprint("STUDENT-PRINT-MARKER")\n'
    root = make_root(tmp_path, built, {"hw7 (2).py": source})
    began = time.perf_counter()
    data, done = run_autograder(root)
    seconds = time.perf_counter() - began
    print(f"\nrun_autograder, full-marks hw7: {seconds:.2f} s wall")
    validate(data)
    assert data["score"] == 100
    hidden = [t for t in data["tests"] if t["visibility"] == "after_due_date"]
    visible = [t for t in data["tests"] if t["visibility"] == "visible"]
    assert hidden and visible and all("hidden" in t["tags"] for t in hidden)
    assert {t["tags"][0] for t in visible} >= {"nu_beta", "grad_nu_beta", "count_ops", "ANSWERS"}
    assert "graded file: hw7 (2).py" in data["output"] and "isolation:" in data["output"]
    extra = data["extra_data"]
    assert extra["student"] == "4242" and extra["student_from"] == "users[0].id" and extra["status"] == "graded"
    assert extra["isolation"] in ("full", "reduced", "none") and extra["isolation_layers"]
    assert Path(extra["grader_location"]).resolve().is_relative_to(root.resolve())  # the wheel, not the checkout
    text = (root / "results" / "results.json").read_text()
    assert "STUDENT-PRINT-MARKER" not in text and SECRET not in text
    assert "STUDENT-PRINT-MARKER" not in done.stdout  # not even in the instructor's stdout
    assert seconds < 60


def test_notebook_upload(built: Path, tmp_path: Path) -> None:
    notebook = {"cells": [{"cell_type": "markdown", "source": ["# my work"]},
                          {"cell_type": "code", "source": FULL_MARKS.splitlines(keepends=True), "outputs": []}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    root = make_root(tmp_path, built, {"My Notebook.ipynb": json.dumps(notebook)}, metadata="absent")
    data, _ = run_autograder(root)
    validate(data)
    assert data["score"] == 100 and "graded file: My Notebook.ipynb" in data["output"]
    assert data["extra_data"]["student"] == "student"  # no metadata: tolerated


def test_syntax_error(built: Path, tmp_path: Path) -> None:
    root = make_root(tmp_path, built, {"hw7.py": "import numpy as np\ndef nu_beta(x, beta:\n    return 0\n"},
                     metadata={"id": 55, "users": [{"email": "bo@example.edu"}]})
    data, _ = run_autograder(root)
    validate(data)
    assert data["score"] == 0 and "SyntaxError" in data["output"]
    assert data["extra_data"]["student"] == "bo@example.edu" and data["extra_data"]["status"] == "not_imported"
    assert all(t["status"] == "failed" for t in data["tests"])


def test_binary_upload(built: Path, tmp_path: Path) -> None:
    root = make_root(tmp_path, built, {"hw7.py": b"\x7fELF\xff\xfe\x00\x01binary"}, metadata="{not json")
    data, _ = run_autograder(root)
    validate(data)
    assert data["score"] == 0 and "not UTF-8" in data["output"]
    assert data["extra_data"]["status"] == "unreadable"


def test_empty_upload(built: Path, tmp_path: Path) -> None:
    root = make_root(tmp_path, built, {})
    data, _ = run_autograder(root)
    validate(data)
    assert data["score"] == 0 and "No submission to grade" in data["output"] and "hw7.py" in data["output"]


def test_grader_failure_corrupt_config(built: Path, tmp_path: Path) -> None:
    root = make_root(tmp_path, built, {"hw7.py": FULL_MARKS})
    (root / "source" / "grader-gradescope.json").write_text("{corrupt")
    data, done = run_autograder(root)
    validate(data, max_score=0)
    assert data["score"] == 0 and "autograder failed" in data["output"] and "JSONDecodeError" in data["output"]
    assert "Traceback" in done.stderr  # for the instructor, in Gradescope's stdout/stderr log


def test_no_python_fallback_from_bash(built: Path, tmp_path: Path) -> None:
    root = make_root(tmp_path, built, {"hw7.py": FULL_MARKS})
    data, _ = run_autograder(root, python=str(tmp_path / "no such python \"quoted\""))
    validate(data)
    assert data["score"] == 0 and "no Python at" in data["output"] and '"quoted"' in data["output"]
    assert data["extra_data"]["fallback"] == "run_autograder"


def test_crash_fallback_from_bash(built: Path, tmp_path: Path) -> None:
    root = make_root(tmp_path, built, {"hw7.py": FULL_MARKS})
    fake = tmp_path / "crashing-python"
    fake.write_text("#!/bin/sh\necho 'boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    data, _ = run_autograder(root, python=str(fake))
    validate(data)
    assert data["score"] == 0 and "status 3" in data["output"]


def test_several_candidates_precedence(tmp_path: Path) -> None:
    folder = tmp_path / "submission"
    for name in ("notes.py", "zz/hw7.py", "hw7-final.ipynb", "hw7 (2).py", "hw70.py", "__init__.py",
                 ".ipynb_checkpoints/hw7-checkpoint.ipynb", "readme.txt"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x = 1\n")
    order = [str(p.relative_to(folder)) for p in find_candidates(folder, "hw7")]
    assert order == ["zz/hw7.py", "hw7 (2).py", "hw7-final.ipynb", "hw70.py", "notes.py"]
    (folder / "HW7.py").write_text("x = 1\n")
    assert find_candidates(folder, "hw7")[0].name == "HW7.py"  # exact name (any case), least nested


def test_several_candidates_reported(built: Path, tmp_path: Path) -> None:
    root = make_root(tmp_path, built, {"helpers.py": "x = 1\n", "hw7 (1).py": FULL_MARKS})
    data, _ = run_autograder(root)
    validate(data)
    assert data["score"] == 100 and "2 files could be graded; chose hw7 (1).py" in data["output"]
    assert "helpers.py" in data["output"]


def test_student_id_fallbacks(tmp_path: Path) -> None:
    def sid(metadata: Any) -> str:
        (tmp_path / "submission_metadata.json").write_text(metadata if isinstance(metadata, str)
                                                            else json.dumps(metadata))
        return student_id(tmp_path)[0]

    assert sid({"id": 1, "users": [{"id": 7, "email": "a@b"}]}) == "7"
    assert sid({"id": 1, "users": [{"email": "a@b"}]}) == "a@b"
    assert sid({"id": 1, "users": []}) == "submission-1"
    assert sid({"users": "nope"}) == "student"
    assert sid("[1, 2") == "student" and sid("[]") == "student"
    shutil.rmtree(tmp_path)
    assert student_id(tmp_path)[0] == "student"
