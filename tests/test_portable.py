"""The portable runner (plain child processes, for macOS and Windows), forced on Linux.

It must grade exactly as the sandbox does (same per-case outcomes, messages
and hints), time out imports and calls from outside and carry on, survive
crashes, cap printed output, say so in one line, and be what "auto" picks
where the sandbox cannot run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from forged import forged_at_import, forged_frames_body, forged_result_head
from toy import COURSE  # tests/, on sys.path under pytest

from grader import sandbox
from grader.engine import Audience, grade
from grader.loader import load_assignment
from grader.sandbox import launch
from grader.sandbox.portable import CHILD_SCRIPT, PortableRunner
from grader.sandbox.process import SandboxRunner
from grader.sandbox.runner import Limits
from grader.submission import Submission, read_submission

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits(case_seconds=0.5, import_seconds=2.0)
PUBLIC = Audience()
SAMPLE_LIMITS = Limits(case_seconds=1.0, import_seconds=5.0)  # the torch sample alone can take 3 s to import
HALVES = "def halves(n):\n    return (n // 2, n - n // 2)\n"
ANSWERS = 'ANSWERS = {"answer": 42, "ops": {"a": 1, "b": 2}}\n'
HW7 = json.loads((ROOT / "tests" / "samples" / "hw7.json").read_text())


@pytest.fixture(scope="module")
def portable():
    with PortableRunner() as r:
        yield r


@pytest.fixture(scope="module")
def toy():
    return load_assignment("toy", COURSE)


def grade_source(toy, runner, double_body: str, prelude: str = "import numpy as np\n", audience: Audience = PUBLIC):
    source = f"{prelude}def double(x):\n" + "".join(f"    {line}\n" for line in double_body.splitlines())
    source += HALVES + ANSWERS
    return grade(toy, Submission("s", Path("toy.py"), source), runner, audience, LIMITS)


HIDDEN = Audience(hidden=True, secret="sandbox-tests", student="s")  # the examples, public and hidden cases


def verdicts(result) -> tuple:
    """Everything a student is told, apart from timings and the isolation itself."""
    return (result.status, result.message, result.score, result.output, result.output_bytes,
            tuple((p.id, p.status, p.score, p.message,
                   tuple((c.id, c.outcome, c.message, c.hint) for c in p.cases)) for p in result.problems))


def outcomes(result, problem: str = "double") -> set[str]:
    return {c.outcome for p in result.problems if p.id == problem for c in p.cases}


def assert_rest_graded(result) -> None:
    for problem in result.problems:
        if problem.id != "double":
            assert problem.score == problem.points, (problem.id, [c.message for c in problem.cases])


# ------------------------------------------------------------------ same verdicts as the sandbox


def test_isolation_says_portable_in_one_line(portable) -> None:
    isolation = portable.isolation
    assert isolation.mode == "reduced" and isolation.note.startswith("isolation: portable")
    assert "\n" not in isolation.note and "no namespaces, no seccomp" in isolation.note
    assert {"process", "wall-clock timeout", "rlimits"} <= set(isolation.layers)
    assert {"namespaces", "seccomp"} <= set(isolation.missing)


def test_every_hw7_sample_grades_as_in_the_sandbox(portable) -> None:
    assignment = load_assignment("hw7")
    with SandboxRunner(workers=2) as sandboxed:
        for key, spec in HW7.items():
            submission = read_submission(ROOT / "submissions" / key)
            audience = Audience(hidden=True, secret="samples", student=submission.student, reveal_answers=True)
            here = grade(assignment, submission, portable, audience, SAMPLE_LIMITS)
            there = grade(assignment, submission, sandboxed, audience, SAMPLE_LIMITS)
            assert verdicts(here) == verdicts(there), key
            assert here.status == spec["status"] and here.isolation == "reduced", key
            for problem_id, text in spec.get("hints", {}).items():
                problem = next(p for p in here.problems if p.id == problem_id)
                assert any(text in c.hint + " " + c.message for c in problem.cases if not c.passed), key


def test_hostile_samples_of_other_assignments_grade_as_in_the_sandbox(portable) -> None:
    with SandboxRunner(workers=1) as sandboxed:
        for key in ("hw5-infinite_loop/hw5.py", "wr3-syntax_error/wr3.py", "passes_all/wr3.py"):
            path = ROOT / "submissions" / key
            assignment = load_assignment(path.stem)
            submission = read_submission(path)
            here = grade(assignment, submission, portable, Audience(), SAMPLE_LIMITS)
            there = grade(assignment, submission, sandboxed, Audience(), SAMPLE_LIMITS)
            assert verdicts(here) == verdicts(there), key


# ------------------------------------------------------------------ timeouts, crashes, output


def test_infinite_loop_at_import_times_out(toy, portable) -> None:
    result = grade_source(toy, portable, "return 2 * x", "while True:\n    pass\n")
    assert result.status == "not_imported" and "importing the submission took longer" in result.message
    assert {p.status for p in result.problems} == {"not_run"}


@pytest.mark.parametrize("body", ["while True:\n    pass", "import time\ntime.sleep(100)"])
def test_loop_in_a_function_times_out_and_the_rest_runs(toy, portable, body: str) -> None:
    result = grade_source(toy, portable, body)
    assert outcomes(result) == {"timeout", "not_run"}
    cases = [c for p in result.problems if p.id == "double" for c in p.cases]
    assert sum("no answer within" in c.message + c.detail for c in cases) == LIMITS.timeouts_per_function
    assert all("already timed out" in c.message for c in cases if c.outcome == "not_run")
    assert_rest_graded(result)


def test_a_function_that_always_ends_its_process_is_stopped(toy, portable) -> None:
    result = grade_source(toy, portable, "import os\nos._exit(0)", audience=HIDDEN)
    cases = [c for p in result.problems if p.id == "double" for c in p.cases]
    most = LIMITS.crashes_per_function
    assert [c.outcome for c in cases[:most]] == ["error"] * most
    assert cases[most:] and all("ended its process" in c.message for c in cases[most:])
    assert_rest_graded(result)


def test_one_slow_case_does_not_cost_the_others(toy, portable) -> None:
    result = grade_source(toy, portable, "import time\nif list(x) == [1.0, 2.0]:\n    time.sleep(100)\nreturn 2 * x")
    double = next(p for p in result.problems if p.id == "double")
    assert [c.outcome for c in double.cases].count("timeout") == 1
    assert outcomes(result) == {"timeout", "passed"}
    assert_rest_graded(result)


@pytest.mark.parametrize(("body", "text"), [
    ("import os\nos._exit(3)", "exited with status 3"),
    ("import ctypes\nctypes.string_at(0)", "SIGSEGV"),
])
def test_a_crash_is_reported_and_later_calls_continue(toy, portable, body: str, text: str) -> None:
    crash_once = "if list(x) == [1.0, 2.0]:\n" + "".join(f"    {line}\n" for line in body.splitlines())
    result = grade_source(toy, portable, crash_once + "return 2 * x")
    double = next(p for p in result.problems if p.id == "double")
    crashed = [c for c in double.cases if c.outcome == "error"]
    assert len(crashed) == 1 and text in crashed[0].message + crashed[0].detail, crashed
    assert all(c.outcome == "passed" for c in double.cases if c not in crashed)
    assert_rest_graded(result)


@pytest.mark.parametrize(("body", "outcome", "text"), [
    ("import sys\nsys.exit(0)", "error", "sys.exit"),
    ("raise KeyboardInterrupt", "error", "KeyboardInterrupt"),
    ("return np.ones(10**11)", "error", "MemoryError"),
    ("import pickle\nreturn pickle.dumps(2 * x)", "invalid", "bytes"),
    ("class Yes:\n    def __eq__(self, other): return True\nreturn Yes()", "invalid", "Yes"),
    ("return 2 * x[:-1]", "invalid", "shape"),
])
def test_bad_returns_and_exits_fail_only_their_cases(toy, portable, body: str, outcome: str, text: str) -> None:
    result = grade_source(toy, portable, body)
    assert outcomes(result) == {outcome}
    double = next(p for p in result.problems if p.id == "double")
    assert all(text in c.message + c.detail + c.hint for c in double.cases), [c.message for c in double.cases]
    assert_rest_graded(result)


def test_a_forged_result_with_an_enormous_timing_costs_only_its_call(toy, portable) -> None:
    """Here the call loop runs in the grader's own process: float() of a forged 10**400 "seconds" used to raise
    there, ending the whole check."""
    body = forged_frames_body(forged_result_head("1" + "0" * 400))
    result = grade_source(toy, portable, body)
    assert result.status == "graded" and not result.grader_failed, result.message
    assert next(p for p in result.problems if p.id == "double").score == 0
    assert_rest_graded(result)


def test_a_student_cannot_pass_off_a_failure_as_the_graders(toy, portable) -> None:
    head = json.dumps({"type": "import", "status": "setup", "detail": "child setup failed: not my fault"})
    source = "import numpy as np\n" + forged_at_import(head) + "def double(x):\n    return 2 * x\n" + HALVES + ANSWERS
    result = grade(toy, Submission("s", Path("toy.py"), source), portable, PUBLIC, LIMITS)
    assert not result.grader_failed and result.status == "not_imported", result.message
    assert "broke the message protocol" in result.message


def test_crash_at_import_is_reported(toy, portable) -> None:
    result = grade_source(toy, portable, "return 2 * x", "import os\nos._exit(3)\n")
    assert result.status == "not_imported" and "status 3" in result.message


def test_print_flood_is_capped_and_ignored(toy, portable) -> None:
    result = grade_source(toy, portable, "print('PASSED 100/100 ' * 1000)\nreturn 2 * x")
    assert result.score == result.max_score
    assert result.output_bytes > 20_000 and len(result.output) <= LIMITS.output_kb * 1024
    assert result.output.startswith("PASSED 100/100")


def test_native_output_goes_to_the_output_not_the_results(toy, portable) -> None:
    result = grade_source(toy, portable, "import os\nos.write(1, b'native\\n')\nos.write(2, b'err\\n')\nreturn 2 * x")
    assert result.score == result.max_score and "native" in result.output and "err" in result.output


def test_each_child_gets_a_private_folder_and_no_grader_environment(toy, portable, monkeypatch) -> None:
    monkeypatch.setenv("GRADER_SECRET_FOR_TEST", "x")
    prelude = ("import numpy as np, os, tempfile\nassert os.listdir('.') == [], os.listdir('.')\n"
               "assert 'GRADER_SECRET_FOR_TEST' not in os.environ\nassert tempfile.gettempdir() == os.getcwd()\n"
               "open('mine', 'w').write('x')\n")
    with PortableRunner() as runner:  # a fresh runner: its children are started with the variable set
        for _ in range(2):  # the second submission does not see the first one's file
            result = grade_source(toy, runner, "return 2 * x", prelude)
            assert result.score == 10, result.message


def test_children_are_gone_after_close(toy) -> None:
    with PortableRunner() as runner:
        grade_source(toy, runner, "import time\nif list(x) == [1.0, 2.0]:\n    time.sleep(100)\nreturn 2 * x")
        spare = runner._spares[0]
    assert spare.proc.poll() is not None and not os.path.exists(spare.workdir)


def test_jobs_run_side_by_side(toy) -> None:
    with PortableRunner(workers=2) as runner:
        pending = [runner.submit(job) for job in (_job(toy, "return 2 * x"), _job(toy, "return x"))]
        reports = [p.wait() for p in pending]
    assert [r.imported.status for r in reports] == ["ok", "ok"]
    assert all(c.status == "ok" for r in reports for c in r.calls)


def test_close_kills_the_children_of_a_running_job(toy) -> None:
    runner = PortableRunner()
    pending = runner.submit(_job(toy, "while True: pass"))
    time.sleep(1.0)  # imported, looping in its first call
    live = list(runner._live)
    runner.close()
    report = pending.wait()
    assert live and all(c.proc.poll() is not None and not os.path.exists(c.workdir) for c in live)
    assert report.imported.status == "ok" and report.calls[-1].status == "error"


def _job(toy, body: str):
    from grader.engine import build_job, plan_cases

    source = f"def double(x):\n    {body}\n" + HALVES + ANSWERS
    plan = plan_cases(toy, Audience())
    return build_job(toy, Submission("s", Path("toy.py"), source), plan, LIMITS)


def test_a_child_without_posix_features_still_grades(toy, tmp_path: Path) -> None:
    """As on Windows: no resource module, no fork, no select, no /proc for the child."""
    shim = tmp_path / "shim.py"
    shim.write_text("import os, runpy, sys\n"
                    "for name in ('resource', 'select', 'selectors', 'fcntl', 'termios'):\n"
                    "    sys.modules[name] = None\n"
                    "del os.fork\n"
                    f"runpy.run_path({str(CHILD_SCRIPT)!r}, run_name='__main__')\n")
    with PortableRunner(argv=(sys.executable, "-I", str(shim))) as runner:
        assert grade_source(toy, runner, "return 2 * x").score == 10
        assert outcomes(grade_source(toy, runner, "while True:\n    pass")) == {"timeout", "not_run"}


# ------------------------------------------------------------------ selection and the command line


def test_auto_picks_portable_without_fork(monkeypatch) -> None:
    monkeypatch.delattr(os, "fork")
    runner = sandbox.open_runner("auto")
    try:
        assert isinstance(runner, PortableRunner) and "on this system" in runner.isolation.note
    finally:
        runner.close()


def test_auto_and_reduced_pick_portable_off_linux(monkeypatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert sandbox.sandbox_unavailable() == "not Linux (darwin)"
    for mode in ("auto", "reduced"):  # the reduced sandbox worker cannot start without Linux either
        runner = sandbox.open_runner(mode)
        runner.close()
        assert isinstance(runner, PortableRunner), mode


def test_explicit_portable_and_auto_here() -> None:
    launch.prestart("portable")  # an early worker for a mode the runner will not use: it is not needed
    early = launch._early[-1][2].proc
    runner = sandbox.open_runner("portable")
    runner.close()
    assert isinstance(runner, PortableRunner) and "as requested" in runner.isolation.note
    assert early.poll() is not None and not launch._early
    assert sandbox.sandbox_unavailable() == ""  # this machine runs the sandbox: auto keeps it
    with sandbox.open_runner("auto", workers=1) as runner:
        assert isinstance(runner, SandboxRunner)


def test_grader_check_through_the_portable_runner(tmp_path: Path) -> None:
    env = dict(os.environ, GRADER_ISOLATION="portable", COLUMNS="200")
    out = subprocess.run([sys.executable, "-m", "grader", "check", str(ROOT / "submissions" / "passes_all" / "hw7.py")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("isolation:") == 1 and "isolation: portable (a plain child process" in out.stdout
    assert "score: 100 / 100" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "grader", "check", "--timeout", "0.5", "--import-timeout", "2",
                          str(ROOT / "submissions" / "hw7-infinite_loop_at_import" / "hw7.py")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "did not finish importing" in bad.stdout
    assert bad.stdout.count("isolation:") == 1


def test_the_workers_stderr_goes_to_an_unnamed_file(tmp_path: Path, monkeypatch) -> None:
    """What tempfile.TemporaryFile makes on Linux, without importing tempfile before the worker starts; where
    the folder cannot hold an unnamed file, tempfile makes one after all."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with launch._unnamed_file() as fh:
        fh.write(b"worker's last words")
        fh.seek(0)
        assert fh.read() == b"worker's last words"
        assert list(tmp_path.iterdir()) == []  # nothing named, nothing left behind
    monkeypatch.setenv("TMPDIR", str(tmp_path / "missing"))
    with launch._unnamed_file() as fh:
        fh.write(b"still written")
        fh.seek(0)
        assert fh.read() == b"still written"
