"""No lost results: a batch killed mid-way resumes with the same command to the same results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from toy import COURSE, GOOD  # tests/, on sys.path under pytest
from tracking import tracked

SLOW = GOOD.replace("def double(x): return 2 * x",
                    "import time\ndef double(x):\n    time.sleep(0.05)\n    return 2 * x")
VARIANTS = [SLOW, SLOW.replace("return 2 * x", "return x + 2"), "def double(x:\n",
            SLOW.replace('"answer": 42', '"answer": 24')]
STUDENTS = 24

pytestmark = pytest.mark.sandbox


def make_class(root: Path) -> Path:
    subs = root / "subs"
    for i in range(STUDENTS):
        (subs / f"s{i:02d}").mkdir(parents=True)
        (subs / f"s{i:02d}" / "toy.py").write_text(VARIANTS[i % len(VARIANTS)])
    return subs


def command(subs: Path, out: Path, secret: Path) -> list[str]:
    return [sys.executable, "-m", "grader", "grade", "toy", str(subs), "--out", str(out), "--secret-file", str(secret),
            "--jobs", "2"]


def env() -> dict[str, str]:
    return dict(os.environ, GRADER_PROBLEMS=str(COURSE))


def comparable(out: Path) -> list[dict]:
    """Results without timings, which differ between any two runs."""
    data = json.loads((out / "toy" / "results.json").read_text())
    for sub in data["submissions"]:
        sub.pop("seconds")
        for problem in sub["problems"]:
            for case in problem["cases"]:
                case.pop("seconds")
    return data["submissions"]


def test_killed_batch_resumes_to_identical_results(tmp_path: Path) -> None:
    subs = make_class(tmp_path)
    secret = tmp_path / "secret.key"
    secret.write_text("resume-test-secret\n")

    reference_out = tmp_path / "uninterrupted"
    done = subprocess.run(command(subs, reference_out, secret), env=env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr

    out = tmp_path / "interrupted"
    # The grader runs under a subreaper that collects whatever outlives it: only what this test started is
    # looked at, never another grader's processes on the same machine.
    with tracked(command(subs, out, secret), tmp_path, grace=3.0, env=env()) as run:
        state = out / "toy" / ".state"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(state.glob("*.json")) if state.exists() else []) < 6:
            time.sleep(0.02)
        grader = run.children()[0]
        os.kill(grader, signal.SIGKILL)  # killed mid-batch: no chance to clean up
        _, survivors = run.finish(timeout=120)
    journalled = len(list(state.glob("*.json")))
    assert 6 <= journalled < STUDENTS, "the batch was not interrupted mid-way"
    assert not (out / "toy" / "results.json").exists()
    assert survivors == [], f"sandbox processes outlived the killed grader: {survivors}"

    # debris of an interrupted write must not be trusted
    trusted = journalled - int((state / "s23.json").exists())
    (state / ".s05.json.123.456.tmp").write_text('{"half": ')
    (state / "s23.json").write_text('{"student": "s23", "score": 10')
    resumed = subprocess.run(command(subs, out, secret), env=env(), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{trusted} resumed" in resumed.stdout
    assert comparable(out) == comparable(reference_out)


def test_changed_submission_is_regraded(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    (subs / "amy").mkdir(parents=True)
    (subs / "amy" / "toy.py").write_text(GOOD.replace("return 2 * x", "return x"))
    secret = tmp_path / "secret.key"
    secret.write_text("k\n")
    out = tmp_path / "out"
    subprocess.run(command(subs, out, secret), env=env(), check=True, capture_output=True, timeout=300)
    first = comparable(out)[0]["score"]
    (subs / "amy" / "toy.py").write_text(GOOD)
    again = subprocess.run(command(subs, out, secret), env=env(), capture_output=True, text=True, timeout=300)
    assert "0 resumed" in again.stdout
    assert first < 10 == comparable(out)[0]["score"]
