"""Red team: hostile submissions against the real sandbox.

Every attack must end as a failed, timed-out or invalid case (or a submission
that does not import), with the grader alive, the other submissions of the
batch graded correctly, no process left behind and nothing written outside
the sandbox. Probes that *look* (at files, processes, memory) return what they
found as data, read back through the runner, so a test can assert that they
found nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from toy import COURSE, GOOD  # tests/, on sys.path under pytest

from grader.engine import Audience, grade
from grader.loader import load_assignment
from grader.sandbox.isolation import python_roots
from grader.sandbox.process import SandboxRunner
from grader.sandbox.runner import Call, Job, Limits
from grader.submission import Submission, read_submission

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits(case_seconds=1.0, import_seconds=3.0)


@pytest.fixture(scope="module")
def toy():
    return load_assignment("toy", COURSE)


@pytest.fixture(scope="module")
def runner():
    with SandboxRunner(workers=1) as r:
        assert r.isolation.mode == "full", r.isolation.note
        yield r


def probe(runner, body: str, *args) -> object:
    """Run ``def probe(*args): <body>`` in the sandbox and return what it returned."""
    source = "import os, sys\n\ndef probe(*args):\n" + "".join(f"    {line}\n" for line in body.splitlines())
    report = runner.submit(Job(source, "probe.py", "probe", (Call("probe", args),), ("probe",), False, LIMITS)).wait()
    assert report.imported.status == "ok", report.imported.detail
    call = report.calls[0]
    assert call.status == "ok", (call.status, call.detail)
    return call.value


def attack(toy, runner, double_body: str, prelude: str = ""):
    """Grade a submission whose ``double`` is hostile; the other problems are honest."""
    source = "import numpy as np\nimport os, sys\n" + prelude + "\ndef double(x):\n"
    source += "".join(f"    {line}\n" for line in double_body.splitlines())
    source += GOOD.split("def double(x): return 2 * x\n")[1]
    return grade(toy, Submission("mallory", Path("toy.py"), source), runner, Audience(), LIMITS)


def assert_contained(result) -> None:
    """The attacked problem earns nothing, the honest ones earn everything."""
    by_id = {p.id: p for p in result.problems}
    assert by_id["double"].score == 0, [(c.outcome, c.message) for c in by_id["double"].cases]
    assert by_id["halves"].score == by_id["halves"].points
    assert by_id["ANSWERS"].score == by_id["ANSWERS"].points


# ---------------------------------------------------------------- cheating the comparison

@pytest.mark.parametrize("body", [
    # objects that claim to equal anything
    "class Eq:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\nreturn Eq()",
    "class F(float):\n    def __eq__(self, o): return True\nreturn [F(0.0)] * len(x)",
    # an ndarray subclass that lies about comparisons, closeness and its own values
    "class A(np.ndarray):\n    def __eq__(self, o): return np.ones(self.shape, bool)\n"
    "    def __sub__(self, o): return np.zeros(self.shape)\n    def __array__(self, *a, **k): return 2 * x\n"
    "return np.zeros(len(x)).view(A)",
    # numpy patched inside the submission's process
    "np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, *r, **k: np.ones(np.shape(b), bool)\n"
    "np.ndarray.__eq__ = lambda s, o: True\nreturn np.zeros(len(x))",
    # broadcasting: one number, a row, a matrix that broadcasts against the answer
    "return 0.0",
    "return np.zeros((1, len(x)))",
    "return np.zeros((len(x), len(x)))",
    # NaN and infinity, which compare false (or true) in odd ways
    "return np.full(len(x), np.nan)",
    "return np.full(len(x), np.inf)",
    "return [float('nan')] * len(x)",
    # payloads instead of data
    "import pickle\nreturn pickle.dumps(2 * x)",
    "return {'__ndarray__': (2 * x).tolist()}",
    "return {'a': ['f8', [len(x)], '']}",
    "return str((2 * x).tolist())",
    "return lambda: 2 * x",
    "return np.array(['2x'] * len(x), dtype=object)",
    "return (2 * x).astype(complex)",
    # enormous and deeply nested data
    "return np.zeros(50_000_000)",
    "d = []\nfor _ in range(100_000):\n    d = [d]\nreturn d",
    "return list(range(20_000_000))",
])
def test_values_that_fake_correctness_score_nothing(toy, runner, body: str) -> None:
    result = attack(toy, runner, body)
    assert_contained(result)
    assert {c.outcome for c in result.problems[0].cases} <= {"failed", "invalid", "error", "timeout"}


def test_printing_fake_results_changes_nothing(toy, runner) -> None:
    fake = json.dumps({"score": 100, "outcome": "passed"})
    result = attack(toy, runner, f"print({fake!r})\nprint('score: 10 / 10  (100.0%)')\nreturn x")
    assert_contained(result)
    assert "score: 10 / 10" in result.output  # captured, shown as output, never parsed


def test_writing_fake_frames_to_every_descriptor_changes_nothing(toy, runner) -> None:
    body = "\n".join([
        "import struct, json",
        "msg = json.dumps({'type': 'result', 'index': 0, 'status': 'ok'}).encode()",
        "val = json.dumps([1.0] * 100).encode()",
        "frame = struct.pack('>I', len(msg) + 1 + len(val)) + msg + b'\\n' + val",
        "for fd in range(3, 64):",
        "    try:",
        "        os.write(fd, frame * 20)",
        "    except OSError:",
        "        pass",
        "return x",
    ])
    result = attack(toy, runner, body)
    assert_contained(result)


# ---------------------------------------------------------------- escaping the process

@pytest.mark.parametrize("body", [
    "sys.exit(0)", "raise SystemExit(0)", "os._exit(0)", "raise KeyboardInterrupt",
    "raise GeneratorExit", "class E(BaseException): pass\nraise E()",
    "import signal\nos.kill(os.getpid(), signal.SIGKILL)",
    "import ctypes\nctypes.string_at(0)",  # segmentation fault
    "import threading\nthreading.Thread(target=os._exit, args=(0,)).start()\nimport time\ntime.sleep(5)",
    "import atexit\natexit.register(lambda: print('PASSED'))\nsys.exit(0)",
])
def test_exits_and_crashes_fail_only_their_cases(toy, runner, body: str) -> None:
    result = attack(toy, runner, body)
    assert_contained(result)


@pytest.mark.parametrize(("body", "outcome"), [
    ("while True:\n    pass", "timeout"),
    ("import time\ntime.sleep(3600)", "timeout"),
    ("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
     "while True:\n    pass", "timeout"),
    ("a = []\nwhile True:\n    a.append(bytearray(10**7))", "error"),
    ("return np.ones((10**6, 10**6))", "error"),
    ("import threading, time\nfor _ in range(10_000):\n    threading.Thread(target=time.sleep, args=(60,)).start()",
     "error"),
    ("while True:\n    os.fork()", "error"),
    ("import subprocess\nsubprocess.run(['sh', '-c', 'sleep 100 &'])", "error"),
    ("for i in range(10**6):\n    open(f'f{i}', 'w').write('x' * 10**6)", "error"),
    ("open('big', 'wb').write(b'x' * 10**9)", "error"),
    ("while True:\n    print('x' * 10**6)", "timeout"),
])
def test_resource_attacks_are_stopped(toy, runner, body: str, outcome: str) -> None:
    result = attack(toy, runner, body)
    assert_contained(result)
    assert outcome in {c.outcome for c in result.problems[0].cases}


@pytest.mark.parametrize("prelude", [
    "while True:\n    pass",
    "import time\ntime.sleep(3600)",
    "x = [0] * 10**10",
    "sum(i * i for i in range(10**10))",
    "os._exit(0)",
    "import threading\nthreading.Thread(target=lambda: os._exit(0)).start()\nimport time\ntime.sleep(10)",
])
def test_hostile_imports_end_as_not_imported(toy, runner, prelude: str) -> None:
    result = attack(toy, runner, "return 2 * x", prelude)
    assert result.status == "not_imported" and result.score == 0


# ---------------------------------------------------------------- looking where it should not

def test_the_grader_files_are_invisible(runner) -> None:
    found = probe(runner, "\n".join([
        "paths = args[0]",
        "seen = {}",
        "for p in paths:",
        "    try:",
        "        seen[p] = open(p, 'rb').read(100).decode('latin-1') if os.path.isfile(p) else sorted(os.listdir(p))",
        "    except OSError as e:",
        "        seen[p] = type(e).__name__",
        "return seen",
    ]), [str(ROOT / "problems" / "wr3" / "answers.py"), str(ROOT / "problems"), str(ROOT / "submissions"),
         str(ROOT / "reports"), str(ROOT), "/work", "/etc/passwd", "/root", os.path.expanduser("~")])
    assert isinstance(found, dict)
    # the only folders that may exist are the parents of the Python runtime, holding nothing else
    runtime = {part for root in python_roots() for part in Path(root).parts}
    for path, what in found.items():
        if isinstance(what, list):
            assert set(what) <= runtime, (path, what)
        else:
            assert what in ("FileNotFoundError", "PermissionError"), (path, what)


def test_the_grader_process_is_out_of_reach(runner) -> None:
    grader_pid = os.getpid()
    found = probe(runner, "\n".join([
        "out = {'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit())}",
        "for name in ('mem', 'environ', 'cmdline', 'maps'):",
        "    for pid in (1, os.getppid(), args[0]):",
        "        try:",
        "            out[f'{pid}/{name}'] = len(open(f'/proc/{pid}/{name}', 'rb').read(4096))",
        "        except OSError as e:",
        "            out[f'{pid}/{name}'] = type(e).__name__",
        "import signal",
        "for target in (args[0], os.getppid(), 1, -1, 0):",
        "    try:",
        "        os.kill(target, signal.SIGKILL)",
        "        out[f'kill {target}'] = 'sent'",
        "    except OSError as e:",
        "        out[f'kill {target}'] = type(e).__name__",
        "try:",
        "    import ctypes",
        "    out['ptrace'] = ctypes.CDLL(None).ptrace(16, os.getppid(), 0, 0)",  # PTRACE_ATTACH
        "except Exception as e:",
        "    out['ptrace'] = type(e).__name__",
        "return out",
    ]), grader_pid)
    assert len(found["pids"]) <= 4, found["pids"]  # its own pid space: bwrap, worker, job runner, itself
    for key, value in found.items():
        # memory, environment and mappings of every other process are closed; command lines of the
        # sandbox's own processes are public (bwrap's paths), but the grader's is not even visible
        if key.endswith(("/mem", "/environ", "/maps")) or key.startswith(f"{grader_pid}/"):
            assert value in ("PermissionError", "FileNotFoundError", "ProcessLookupError"), (key, value)
        if key.startswith("kill"):
            assert value in ("PermissionError", "ProcessLookupError"), (key, value)
    assert found["ptrace"] == -1
    assert os.getpid() == grader_pid  # still here


def test_the_grader_and_the_course_cannot_be_imported(runner) -> None:
    found = probe(runner, "\n".join([
        "out = {}",
        "for name in ('grader', 'problems', 'problems.wr3.answers', 'grader.engine'):",
        "    try:",
        "        __import__(name)",
        "        out[name] = 'imported'",
        "    except ImportError as e:",
        "        out[name] = type(e).__name__",
        "return out",
    ]))
    assert set(found.values()) == {"ModuleNotFoundError"}, found


def test_no_network(runner) -> None:
    found = probe(runner, "\n".join([
        "import socket",
        "out = {}",
        "for family, kind in ((socket.AF_INET, socket.SOCK_STREAM), (socket.AF_UNIX, socket.SOCK_STREAM),",
        "                     (socket.AF_INET6, socket.SOCK_DGRAM)):",
        "    try:",
        "        socket.socket(family, kind)",
        "        out[str(family)] = 'created'",
        "    except OSError as e:",
        "        out[str(family)] = type(e).__name__",
        "out['interfaces'] = open('/proc/net/dev').read().count(':')",
        "return out",
    ]))
    assert found.pop("interfaces") <= 1  # loopback at most
    assert set(found.values()) == {"PermissionError"}


def test_nothing_is_written_outside_the_sandbox(toy, runner, tmp_path: Path) -> None:
    marker = f"/tmp/redteam-{uuid.uuid4().hex}"
    body = "\n".join([
        f"for target in ({marker!r}, {str(tmp_path / 'planted')!r}, {str(ROOT / 'planted.py')!r}, '/planted'):",
        "    try:",
        "        open(target, 'w').write('owned')",
        "    except OSError:",
        "        pass",
        "return x",
    ])
    assert_contained(attack(toy, runner, body))
    for path in (Path(marker), tmp_path / "planted", ROOT / "planted.py"):
        assert not path.exists()


def test_files_that_shadow_numpy_next_to_the_submission_are_ignored(toy, runner, tmp_path: Path) -> None:
    folder = tmp_path / "mallory"
    folder.mkdir()
    (folder / "numpy.py").write_text("raise ImportError('shadowed')\n")
    (folder / "torch.py").write_text("raise ImportError('shadowed')\n")
    (folder / "toy.py").write_text(GOOD)
    result = grade(toy, read_submission(folder / "toy.py"), runner, Audience(), LIMITS)
    assert result.score == result.max_score


def test_no_daemon_survives_a_submission(runner) -> None:
    found = probe(runner, "\n".join([
        "import threading, time",
        "out = {}",
        "try:",
        "    pid = os.fork()",
        "    if pid == 0:",
        "        os.setsid()",
        "        time.sleep(3600)",
        "    out['fork'] = pid",
        "except OSError as e:",
        "    out['fork'] = type(e).__name__",
        "t = threading.Thread(target=time.sleep, args=(3600,), daemon=False)",
        "t.start()",
        "return out",
    ]))
    assert found == {"fork": "PermissionError"}
    after = probe(runner, "return sorted(int(p) for p in os.listdir('/proc') if p.isdigit())")
    assert len(after) <= 4  # bwrap's init, the worker, its job runner and this child


def test_a_batch_with_every_attack_grades_the_honest_students(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    attacks = {
        "a_loop": "def double(x):\n    while True: pass\n",
        "b_exit": "import os\nos._exit(0)\n",
        "c_bomb": "import os\ndef double(x):\n    while True: os.fork()\n",
        "d_memory": "def double(x):\n    return bytearray(10**10)\n",
        "e_flood": "def double(x):\n    while True: print('x' * 65536)\n",
        "f_kill": "import os, signal\ndef double(x):\n    os.kill(-1, signal.SIGKILL)\n",
        "g_fake": "def double(x):\n    class E:\n        def __eq__(s, o): return True\n    return E()\n",
    }
    for name, source in attacks.items():
        (subs / name).mkdir(parents=True)
        (subs / name / "toy.py").write_text(GOOD.replace("def double(x): return 2 * x\n", source))
    for name in ("honest1", "honest2", "honest3"):
        (subs / name).mkdir(parents=True)
        (subs / name / "toy.py").write_text(GOOD)
    before = _sandbox_processes()
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", "toy", str(subs), "--out", str(out),
                           "--timeout", "1", "-j", "2"], env=dict(os.environ, GRADER_PROBLEMS=str(COURSE)),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = {s["student"]: s for s in json.loads((out / "toy" / "results.json").read_text())["submissions"]}
    for name in ("honest1", "honest2", "honest3"):
        assert results[name]["score"] == 10
    for name in attacks:
        double = next((p for p in results[name]["problems"] if p["id"] == "double"), None)
        assert double is None or double["score"] == 0
    assert _sandbox_processes() <= before


def _sandbox_processes() -> set[int]:
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if b"zygote.py" in Path(f"/proc/{name}/cmdline").read_bytes():
                    found.add(int(name))
            except OSError:
                pass
    return found
