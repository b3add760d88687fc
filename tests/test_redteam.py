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
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from forged import forged_at_import, forged_frames_body, forged_result_head
from toy import COURSE, GOOD  # tests/, on sys.path under pytest
from tracking import tracked

from grader.engine import Audience, grade
from grader.loader import load_assignment
from grader.sandbox import isolation
from grader.sandbox.isolation import Layers, python_roots
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


def attack(toy, runner, double_body: str, prelude: str = "", limits: Limits = LIMITS):
    """Grade a submission whose ``double`` is hostile; the other problems are honest."""
    source = "import numpy as np\nimport os, sys\n" + prelude + "\ndef double(x):\n"
    source += "".join(f"    {line}\n" for line in double_body.splitlines())
    source += GOOD.split("def double(x): return 2 * x\n")[1]
    return grade(toy, Submission("mallory", Path("toy.py"), source), runner, Audience(), limits)


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
    # "not_run": after two timeouts (a 20-million-element list takes about a second to build on a loaded machine)
    assert {c.outcome for c in result.problems[0].cases} <= {"failed", "invalid", "error", "timeout", "not_run"}
    assert result.problems[0].score == 0


def test_printing_fake_results_changes_nothing(toy, runner) -> None:
    fake = json.dumps({"score": 100, "outcome": "passed"})
    result = attack(toy, runner, f"print({fake!r})\nprint('score: 10 / 10  (100.0%)')\nreturn x")
    assert_contained(result)
    assert "score: 10 / 10" in result.output  # captured, shown as output, never parsed


def test_writing_fake_frames_to_every_descriptor_changes_nothing(toy, runner) -> None:
    body = forged_frames_body(json.dumps({"type": "result", "index": 0, "status": "ok"}), json.dumps([1.0] * 100), 20)
    result = attack(toy, runner, body)
    assert_contained(result)


@pytest.mark.parametrize("seconds", ["1" + "0" * 400, "-1", "true", '"slow"', "[1, 2]", "1e308"])
def test_a_forged_result_with_any_timing_costs_only_its_call(toy, runner, seconds: str) -> None:
    """The child's timing of a call is its own word: a forged result claiming 10**400 seconds used to end the job
    manager (float() raised), losing the whole job as a grader failure, honest problems included."""
    body = forged_frames_body(forged_result_head(seconds))  # a wrong value: whichever call takes it earns nothing
    result = attack(toy, runner, body)
    assert_contained(result)
    assert not result.grader_failed and result.status == "graded", result.message


def test_a_student_cannot_pass_off_a_failure_as_the_graders(toy, runner) -> None:
    """Only the child's own set-up, before any student code, may report "the sandbox could not be set up (grader
    problem, not your code)": the same report forged at import time is a broken protocol, the student's own."""
    head = json.dumps({"type": "import", "status": "setup", "detail": "sandbox setup failed: not my fault"})
    source = "import numpy as np\n" + forged_at_import(head) + GOOD
    result = grade(toy, Submission("mallory", Path("toy.py"), source), runner, Audience(), LIMITS)
    assert not result.grader_failed and result.status == "not_imported", result.message
    assert "not caused by your code" not in result.message and "grader problem" not in result.message
    assert "broke the message protocol" in result.message


@pytest.mark.parametrize(("messages", "outcome"), [
    ([{"type": "set_up"}, {"type": "import", "status": "ok"}], "ok"),
    ([{"type": "set_up"}, {"type": "import", "status": "error", "detail": "NameError"}], "error"),
    ([{"type": "import", "status": "setup", "detail": "rlimit refused"}], "setup"),  # before any student code
    ([{"type": "set_up"}, {"type": "import", "status": "setup"}], "invalid"),  # after it: forged
    ([{"type": "import", "status": "ok"}], "invalid"),  # no child reports an import it was not set up for
    ([{"type": "set_up"}, {"type": "result", "index": 0}], "invalid"),
    ([{"type": "set_up"}], "timeout"),
])
def test_the_import_report_is_read_in_the_childs_order(messages: list, outcome: str) -> None:
    from grader.sandbox.worker.calls import ChildGone, read_import

    queue = list(messages)

    def read_message(deadline: float):
        if not queue:
            raise ChildGone("timeout", "")
        return queue.pop(0), b""

    try:
        first, _ = read_import(read_message, 1.0)
        got = first["status"]
    except ChildGone as gone:
        got = gone.kind
    assert got == outcome


def test_a_childs_reported_seconds_are_read_as_a_finite_non_negative_float() -> None:
    from grader.sandbox.worker.calls import reported_seconds

    assert reported_seconds(0.25) == 0.25 and reported_seconds(3) == 3.0
    for bad in (10**400, -1.0, float("inf"), float("nan"), True, "1", None, [1], {"s": 1}):
        assert reported_seconds(bad) == 0.0, bad


@pytest.mark.parametrize("seconds", [10**400, -1.0, "1", None, [1]])
def test_the_grader_reads_the_workers_timings_as_untrusted_too(seconds) -> None:
    """The grader reads every frame from the worker as untrusted: a timing the job manager would never pass on
    (a forged one, should a child ever get past it) is 0 s there too, and neither the call nor the job is lost."""
    from grader.sandbox.process import _Collector
    from grader.sandbox.worker import wire

    collected = _Collector(1)
    collected.add({"type": "import", "status": "ok", "functions": {"double": True}})
    collected.add({"type": "result", "index": 0, "status": "ok", "seconds": seconds}, wire.dumps(wire.to_wire(4)))
    collected.add({"type": "done", "output": "", "output_bytes": 0, "seconds": seconds})
    report = collected.report()
    assert report.calls[0].status == "ok" and report.calls[0].value == 4 and report.calls[0].seconds == 0.0
    assert report.seconds == 0.0


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
    # Attacks that the memory, process or file limits must stop get a generous clock, so that a loaded machine
    # (filling 530 MB took up to 4 s on two busy cores) cannot turn them into timeouts: the limit under test acts.
    limits = LIMITS if outcome == "timeout" else replace(LIMITS, case_seconds=15.0)
    result = attack(toy, runner, body, limits=limits)
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
        "others = [p for p in out['pids'] if p != os.getpid()]",  # the worker, the job manager, bwrap
        "for name in ('mem', 'environ', 'cmdline', 'maps'):",
        "    for pid in (*others, args[0]):",
        "        try:",
        "            out[f'{pid}/{name}'] = len(open(f'/proc/{pid}/{name}', 'rb').read(4096))",
        "        except OSError as e:",
        "            out[f'{pid}/{name}'] = type(e).__name__",
        "import signal",
        "for target in (args[0], *others, -1, 0):",
        "    try:",
        "        os.kill(target, signal.SIGKILL)",
        "        out[f'kill {target}'] = 'sent'",
        "    except OSError as e:",
        "        out[f'kill {target}'] = type(e).__name__",
        "try:",
        "    import ctypes",
        "    out['ptrace'] = [ctypes.CDLL(None).ptrace(16, p, 0, 0) for p in others]",  # PTRACE_ATTACH
        "except Exception as e:",
        "    out['ptrace'] = type(e).__name__",
        "return out",
    ]), grader_pid)
    # its own pid space: the worker, its job manager (which holds other students' jobs) and itself
    assert 3 <= len(found["pids"]) <= 4, found["pids"]
    for key, value in found.items():
        # memory, environment and mappings of every other process are closed; command lines of the
        # sandbox's own processes are public (bwrap's paths), but the grader's is not even visible
        if key.endswith(("/mem", "/environ", "/maps")) or key.startswith(f"{grader_pid}/"):
            assert value in ("PermissionError", "FileNotFoundError", "ProcessLookupError"), (key, value)
        if key.startswith("kill"):
            assert value in ("PermissionError", "ProcessLookupError"), (key, value)
    assert found["ptrace"] == [-1] * (len(found["pids"]) - 1)
    assert os.getpid() == grader_pid  # still here


def test_a_child_inherits_no_after_fork_hooks(runner) -> None:
    """The worker forks every child: modules that run code in each fresh fork (threading, random) stay
    out of it, and so do libseccomp's bindings, which bring them."""
    found = probe(runner, "return sorted(m for m in ('threading', 'random', 'tempfile', 'pyseccomp') "
                          "if m in sys.modules)")
    assert found == []


def test_a_child_holds_no_descriptor_but_its_own(runner) -> None:
    """Only stdin (/dev/null), its output and its result pipe: nothing of the worker's or the manager's."""
    found = probe(runner, "\n".join([
        "import stat",
        "fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))",
        "kinds = []",
        "for fd in fds:",
        "    try:",
        "        mode = os.fstat(fd).st_mode",
        "        kinds.append([fd, 'fifo' if stat.S_ISFIFO(mode) else 'char' if stat.S_ISCHR(mode) else 'other'])",
        "    except OSError:",
        "        pass",  # the listing's own descriptor, closed by now
        "return kinds",
    ]))
    assert isinstance(found, list)
    kinds = [kind for _, kind in found]
    assert [fd for fd, _ in found[:3]] == [0, 1, 2], found
    assert kinds == ["char", "fifo", "fifo", "fifo"], found  # and the result pipe alone: no socket, no file


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
    assert len(after) <= 4  # bwrap's init, the worker, its job manager and this child


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
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "grade", "toy", str(subs), "--out", str(out),
               "--timeout", "1", "-j", "2"]
    env = dict(os.environ, GRADER_PROBLEMS=str(COURSE))
    # another grader on the same machine, started while this one runs, is none of this test's business
    with tracked(command, tmp_path, env=env) as run, SandboxRunner(workers=1) as other:
        done, survivors = run.finish()
        assert probe(other, "return 1") == 1
    assert done.returncode == 0, done.stderr
    assert survivors == [], survivors  # nothing the run started outlives it
    results = {s["student"]: s for s in json.loads((out / "toy" / "results.json").read_text())["submissions"]}
    for name in ("honest1", "honest2", "honest3"):
        assert results[name]["score"] == 10
    for name in attacks:
        double = next((p for p in results[name]["problems"] if p["id"] == "double"), None)
        assert double is None or double["score"] == 0


def test_the_leftover_check_sees_what_the_run_left(tmp_path: Path) -> None:
    daemon = "import subprocess\nsubprocess.Popen(['sleep', '60'], start_new_session=True)\n"
    with tracked([sys.executable, "-c", daemon], tmp_path, grace=1.0) as run:
        done, survivors = run.finish(timeout=60)
    assert done.returncode == 0 and len(survivors) == 1 and survivors[0].startswith("sleep 60"), survivors


# ---------------------------------------------------------------- nothing outlives a job

# System V shared memory, a queue and semaphores, and a POSIX queue, filled by one student
# and read by the next one graded on the same worker.
IPC_WRITER = """
import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
key, name, out = args[0], args[1].encode(), {}
def note(call, value):
    out[call] = 'ok' if value >= 0 else errno_name(ctypes.get_errno())
def errno_name(number):
    import errno
    return errno.errorcode.get(number, str(number))
shm = libc.shmget(key, 1 << 20, 0o1666)
note('shmget', shm)
if shm >= 0:
    address = libc.shmat(shm, None, 0)
    if address not in (None, 2**64 - 1):
        ctypes.memmove(address, b'SECRET', 6)
        libc.shmdt(ctypes.c_void_p(address))
msq = libc.msgget(key, 0o1666)
note('msgget', msq)
if msq >= 0:
    note('msgsnd', libc.msgsnd(msq, struct.pack('l', 1) + b'SECRET', 6, 0))
note('semget', libc.semget(key, 1, 0o1666))
mq = libc.mq_open(name, os.O_CREAT | os.O_RDWR, 0o666, None)
note('mq_open', mq)
if mq >= 0:
    note('mq_send', libc.mq_send(mq, b'SECRET', 6, 0))
return out
"""

IPC_READER = """
import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
key, name, seen = args[0], args[1].encode(), {}
shm = libc.shmget(key, 0, 0)
if shm >= 0:
    address = libc.shmat(shm, None, 0o10000)  # SHM_RDONLY
    seen['shm'] = ctypes.string_at(address, 6).decode('latin-1') if address not in (None, 2**64 - 1) else 'id'
msq = libc.msgget(key, 0)
if msq >= 0:
    buffer = ctypes.create_string_buffer(64)
    got = libc.msgrcv(msq, buffer, 32, 0, 0o4000)  # IPC_NOWAIT
    seen['msg'] = buffer.raw[8:8 + got].decode('latin-1') if got >= 0 else 'id'
if libc.semget(key, 1, 0) >= 0:
    seen['sem'] = 'id'
mq = libc.mq_open(name, os.O_RDONLY | os.O_NONBLOCK)
if mq >= 0:
    buffer = ctypes.create_string_buffer(1 << 16)
    got = libc.mq_receive(mq, buffer, 1 << 16, None)
    seen['mq'] = buffer.raw[:got].decode('latin-1') if got >= 0 else 'queue'
for table in ('shm', 'msg', 'sem'):
    rows = open(f'/proc/sysvipc/{table}').read().splitlines()[1:]
    if rows:
        seen[f'/proc/sysvipc/{table}'] = rows
if os.path.isdir('/dev/mqueue') and os.listdir('/dev/mqueue'):
    seen['/dev/mqueue'] = os.listdir('/dev/mqueue')
return seen
"""


def ipc_names() -> tuple[int, str]:
    return int.from_bytes(os.urandom(3), "little") + 1, f"/redteam-{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("layers", [Layers(), Layers(seccomp=False)], ids=["all layers", "clean-up alone"])
def test_ipc_does_not_reach_the_next_student(layers) -> None:
    key, name = ipc_names()
    with SandboxRunner(workers=1, layers=layers) as one_worker:
        written = probe(one_worker, IPC_WRITER, key, name)
        seen = probe(one_worker, IPC_READER, key, name)
    assert seen == {}, seen  # whatever got through, the next student finds nothing
    if layers.seccomp:  # and with the filter, nothing gets through at all
        assert set(written.values()) == {"EPERM"}, written


def test_every_job_runs_under_a_fresh_uid(runner) -> None:
    if os.geteuid() != 0:
        pytest.skip("only a grader running as root can give student code uids of its own")
    uids = [probe(runner, "return os.getuid(), os.getgid()") for _ in range(3)]
    assert len({u for u, _ in uids}) == 3 and 0 not in {u for u, _ in uids}, uids
    assert all(u == g for u, g in uids)


def host_ipc() -> dict[str, object]:
    seen: dict[str, object] = {}
    for table in ("shm", "msg", "sem"):
        seen[table] = Path(f"/proc/sysvipc/{table}").read_text().splitlines()[1:]
    for folder in ("/dev/shm", "/dev/mqueue"):
        seen[folder] = sorted(os.listdir(folder)) if os.path.isdir(folder) else None
    return seen


def remove_host_ipc(keys: list[int], names: list[str]) -> list[str]:
    """Remove (and name) whatever the attackers left in this machine's IPC namespace."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    left = []
    for key in keys:
        for kind, get, ctl in (("shm", libc.shmget, libc.shmctl), ("msg", libc.msgget, libc.msgctl)):
            ident = get(key, 0, 0)
            if ident >= 0:
                left.append(f"{kind} {key}")
                ctl(ident, 0, None)  # IPC_RMID
        ident = libc.semget(key, 0, 0)
        if ident >= 0:
            left.append(f"sem {key}")
            libc.semctl(ident, 0, 0)
    for name in names:
        if libc.mq_unlink(name.encode()) == 0:
            left.append(f"mq {name}")
        planted = Path("/dev/shm") / name.strip("/")
        if planted.exists():
            left.append(str(planted))
            planted.unlink()
    return left


@pytest.mark.parametrize("mode", ["full", "reduced"])
def test_host_ipc_is_unchanged_by_attackers(mode: str, monkeypatch) -> None:
    if mode == "reduced":  # the worker shares this machine's IPC namespace and /dev/shm
        monkeypatch.setattr(isolation, "find_bwrap", lambda: None)
    # a plain file in /dev/shm is POSIX shared memory; a reduced-mode worker that is not root cannot
    # tell a student's file there from its user's own, so that attack needs root (a uid per job)
    posix = mode == "full" or os.geteuid() == 0
    before = host_ipc()
    keys, names = [], []
    try:
        with SandboxRunner(workers=1, mode=mode) as one_worker:
            for _ in range(3):
                key, name = ipc_names()
                keys.append(key)
                names.append(name)
                probe(one_worker, IPC_WRITER, key, name)
                if posix:
                    probe(one_worker, "try:\n    open('/dev/shm' + args[0], 'wb').write(b'x' * 4096)\n"
                                      "except OSError:\n    pass\nreturn 0", name)
        after = host_ipc()
    finally:
        left = remove_host_ipc(keys, names)  # never leave an attack's objects on this machine
    assert left == [] and after == before, left
