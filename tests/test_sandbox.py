"""The real sandboxed worker against the hostile basics: every attack fails its own case,
the rest of the submission and the batch are graded, nothing survives the run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from toy import COURSE  # tests/, on sys.path under pytest

from grader.engine import Audience, grade, plan_cases
from grader.errors import IsolationError
from grader.loader import load_assignment
from grader.sandbox import isolation as iso
from grader.sandbox.process import SandboxRunner
from grader.sandbox.runner import Call, Job, Limits
from grader.submission import Submission

pytestmark = pytest.mark.sandbox
LIMITS = Limits(case_seconds=0.5, import_seconds=2.0)
PUBLIC = Audience()
HALVES = "def halves(n):\n    return (n // 2, n - n // 2)\n"
ANSWERS = 'ANSWERS = {"answer": 42, "ops": {"a": 1, "b": 2}}\n'


@pytest.fixture(scope="module")
def toy():
    return load_assignment("toy", COURSE)


@pytest.fixture(scope="module")
def runner():
    with SandboxRunner(workers=1) as r:
        yield r


def grade_source(toy, runner, double_body: str, prelude: str = "import numpy as np\n", audience: Audience = PUBLIC):
    source = f"{prelude}def double(x):\n" + "".join(f"    {line}\n" for line in double_body.splitlines())
    source += HALVES + ANSWERS
    return grade(toy, Submission("s", Path("toy.py"), source), runner, audience, LIMITS)


HIDDEN = Audience(hidden=True, secret="sandbox-tests", student="s")  # the examples, public and hidden cases


def outcomes(result, problem="double"):
    return {c.outcome for p in result.problems if p.id == problem for c in p.cases}


def assert_rest_graded(result):
    halves = next(p for p in result.problems if p.id == "halves")
    answers = next(p for p in result.problems if p.id == "ANSWERS")
    assert halves.score == halves.points and answers.score == answers.points


def test_isolation_is_full_here(runner) -> None:
    isolation = runner.isolation
    assert isolation.mode == "full", isolation.note
    assert {"namespaces", "seccomp", "unprivileged uid"} <= set(isolation.layers)


@pytest.mark.parametrize(("body", "outcome", "text"), [
    ("class Yes:\n    def __eq__(self, other): return True\nreturn Yes()", "invalid", "Yes"),
    ("class A(np.ndarray):\n    def __eq__(self, o): return np.ones(self.shape, bool)\nreturn np.zeros(len(x)).view(A)",
     "failed", ""),
    ("import sys\nsys.exit(0)", "error", "sys.exit"),
    ("raise KeyboardInterrupt", "error", "KeyboardInterrupt"),
    ("import os\nos._exit(0)", "error", "exited with status 0"),
    ("while True:\n    pass", "timeout", "no answer within"),
    ("import time\ntime.sleep(100)", "timeout", "no answer within"),
    ("return np.ones(10**11)", "error", "MemoryError"),
    ("import os\nos.fork()", "error", "PermissionError"),
    ("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)", "error", "PermissionError"),
    ("import pickle\nreturn pickle.dumps(2 * x)", "invalid", "bytes"),
    ("return float('nan') * x", "failed", "NaN"),
    ("return 2 * x[:-1]", "invalid", "shape"),
])
def test_hostile_function_fails_only_its_cases(toy, runner, body: str, outcome: str, text: str) -> None:
    result = grade_source(toy, runner, body)
    # a function that timed out twice, or ended its process 3 times in a row, is not called again: its other
    # cases are "not run" (worker/calls.py)
    stops = outcome == "timeout" or "os._exit" in body
    assert outcomes(result) - {"not_run"} == {outcome} and ("not_run" not in outcomes(result) or stops)
    double = result.problems[0]
    assert double.score == 0
    assert all(re.search(text, c.message + c.detail + c.hint) for c in double.cases if c.outcome == outcome)
    assert_rest_graded(result)


def test_a_function_that_always_ends_its_process_is_stopped(toy, runner) -> None:
    """Each crash costs a fresh process: after crashes_per_function in a row, the function's other calls are
    skipped, and the other functions are graded."""
    result = grade_source(toy, runner, "import os\nos._exit(0)", audience=HIDDEN)
    cases = next(p for p in result.problems if p.id == "double").cases
    assert len(cases) > LIMITS.crashes_per_function + 1
    assert [c.outcome for c in cases[:LIMITS.crashes_per_function]] == ["error"] * LIMITS.crashes_per_function
    assert all(c.outcome == "not_run" and "ended its process 3 times in a row" in c.message
               for c in cases[LIMITS.crashes_per_function:])
    assert_rest_graded(result)


def test_crashes_on_some_inputs_keep_the_other_answers(toy, runner) -> None:
    """Only crashes in a row stop a function: one that dies on some inputs keeps every answer it gives."""
    result = grade_source(toy, runner, "import os\nif len(x) % 2:\n    os._exit(0)\nreturn 2 * x", audience=HIDDEN)
    cases = next(p for p in result.problems if p.id == "double").cases
    plan = [p for p in plan_cases(toy, HIDDEN).cases if p.problem.id == "double"]
    expected, in_a_row = [], 0
    for planned in plan:  # the policy, replayed on the inputs: odd lengths crash
        if in_a_row >= LIMITS.crashes_per_function:
            expected.append("not_run")
            continue
        crashes = len(planned.case.args[0]) % 2 == 1
        in_a_row = in_a_row + 1 if crashes else 0
        expected.append("error" if crashes else "passed")
    assert [c.outcome for c in cases] == expected
    assert "error" in expected and "passed" in expected[expected.index("error"):]  # an answer after a crash counts
    assert all("exited with status 0" in c.message for c in cases if c.outcome == "error")


def test_print_flood_is_capped_and_ignored(toy, runner) -> None:
    result = grade_source(toy, runner, "print('PASSED 100/100 ' * 1000)\nreturn 2 * x")
    assert result.score == result.max_score
    assert result.output_bytes > 20_000 and len(result.output) <= LIMITS.output_kb * 1024


@pytest.mark.parametrize(("prelude", "text"), [
    ("import sys\nsys.exit(0)\n", "sys.exit"),
    ("while True:\n    pass\n", "importing the submission took longer"),
    ("import os\nos._exit(3)\n", "status 3"),
    ("def broken(:\n", "SyntaxError"),
    ("raise SystemError('boom')\n", "boom"),
])
def test_import_failures_are_reported_per_submission(toy, runner, prelude: str, text: str) -> None:
    result = grade_source(toy, runner, "return 2 * x", prelude)
    assert result.status == "not_imported" and text in result.message, result.message
    assert {p.status for p in result.problems} == {"not_run"}


def test_nothing_written_reaches_the_next_submission(toy, runner) -> None:
    plant = ("import os, tempfile\nopen('mine', 'w').write('x')\ntempfile.mkstemp()\n"
             "for where in ('..', '/tmp', '/'):\n    try:\n"
             "        open(os.path.join(where, 'planted'), 'w').write('x')\n"
             "    except OSError:\n        pass\nreturn 2 * x")
    assert grade_source(toy, runner, plant).score == 10
    look = ("import os\nassert os.listdir('.') == []\n"
            "assert not any(os.path.exists(os.path.join(w, 'planted')) for w in ('..', '/tmp', '/'))\nreturn 2 * x")
    assert grade_source(toy, runner, look).score == 10


def test_batch_carries_on_after_hostile_submissions(toy, runner) -> None:
    for body in ("while True:\n    pass", "import os\nos._exit(1)", "return 2 * x"):
        result = grade_source(toy, runner, body)
    assert result.score == result.max_score


def test_no_process_is_left_behind(toy) -> None:
    source = ("import os, threading, time\n\ndef uid():\n"
              "    threading.Thread(target=time.sleep, args=(60,)).start()\n    return os.getuid()\n")
    with SandboxRunner(workers=1) as runner:
        report = runner.submit(Job(source, "uid.py", "uid", (Call("uid", ()),), ("uid",), False, LIMITS)).wait()
        uid = report.calls[0].value  # the job's own uid (fresh for every job when grading as root)
        assert isinstance(uid, int), report.calls[0]
        grade_source(toy, runner, "import threading, time\nthreading.Thread(target=time.sleep, args=(60,)).start()\n"
                                  "return 2 * x")
        pid = runner._workers[0].proc.pid
    owners = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/status") as fh:
                    owners += [int(line.split()[1]) for line in fh if line.startswith("Uid:")]
            except OSError:
                pass
    if uid != os.getuid():  # graded as an ordinary user, student code shares the worker's (and our) uid
        assert uid not in owners
    assert not os.path.exists(f"/proc/{pid}")


def test_reduced_mode_says_so_and_can_be_refused(toy, monkeypatch) -> None:
    monkeypatch.setattr(iso, "find_bwrap", lambda: None)
    with SandboxRunner(workers=1) as runner:
        isolation = runner.isolation
        assert isolation.mode == "reduced" and "namespaces" in isolation.missing
        assert "REDUCED ISOLATION" in isolation.note
        result = grade_source(toy, runner, "return 2 * x")
        assert result.score == result.max_score and result.isolation == "reduced"
    with pytest.raises(IsolationError, match="full isolation was required"):
        SandboxRunner(workers=1, mode="full")


def test_broken_bubblewrap_falls_back_loudly_or_refuses(toy, monkeypatch) -> None:
    monkeypatch.setattr(iso, "find_bwrap", lambda: "/bin/false")  # starts, then exits: namespaces blocked
    with SandboxRunner(workers=1) as runner:
        isolation = runner.isolation
        assert isolation.mode == "reduced" and "failed to start" in isolation.note
        assert grade_source(toy, runner, "return 2 * x").score == 10
    with pytest.raises(IsolationError, match="full isolation was required"):
        SandboxRunner(workers=1, mode="full").isolation  # noqa: B018 - the handshake raises


def test_the_work_area_never_hides_the_python_runtime(monkeypatch) -> None:
    roots = ["/tmp/checkout/.venv", "/root/.pyenv/versions/3.11.7"]  # a CI virtualenv lives under /tmp
    monkeypatch.setattr(iso, "python_roots", lambda: roots)
    argv = iso.bwrap_argv("bwrap", 64)
    mounted_over = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--tmpfs"]
    for root in roots:
        assert ["--ro-bind", root, root] == argv[argv.index(root) - 1: argv.index(root) + 2]
        assert not any(root == m or root.startswith(m.rstrip("/") + "/") for m in mounted_over), mounted_over
