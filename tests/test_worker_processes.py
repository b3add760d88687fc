"""The sandboxed worker's processes: the pristine worker forks every child, the job manager never forks,
and what a child leaves behind (processes, descriptors) is gone before the next job."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from grader.sandbox.isolation import WORKER_DIR, Layers
from grader.sandbox.process import SandboxRunner
from grader.sandbox.runner import Call, Job, Limits

pytestmark = pytest.mark.sandbox
LIMITS = Limits(case_seconds=5.0, import_seconds=10.0)

# Forks a daemon (possible without seccomp), which records its pid and sleeps, then returns.
DAEMON = '''import os, time

def leave(folder):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            open(os.path.join(folder, "daemon.pid"), "w").write(str(os.getpid()))
            time.sleep(3600)
        os._exit(0)
    path = os.path.join(folder, "daemon.pid")
    for _ in range(500):  # up to 5 s on a loaded machine
        if os.path.exists(path) and open(path).read():
            break
        time.sleep(0.01)
    return open(path).read()

def alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        return "another user's"
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return "zombie" if stat[0] == "Z" else "running"
'''


def run(runner: SandboxRunner, function: str, *args: object) -> object:
    report = runner.submit(Job(DAEMON, "d.py", "d", (Call(function, args),), ("leave", "alive"), False,
                               LIMITS)).wait()
    assert report.imported.status == "ok", report.imported.detail
    call = report.calls[0]
    assert call.status == "ok", (call.status, call.detail)
    return call.value


@pytest.mark.parametrize("layers", [Layers(seccomp=False, drop_uid=False), Layers(seccomp=False, namespaces=False)],
                         ids=["namespaces", "no namespaces"])
def test_a_daemon_a_child_leaves_is_killed_before_the_next_job(layers: Layers) -> None:
    folder = tempfile.mkdtemp(prefix="worker-daemon-")
    os.chmod(folder, 0o777)  # a child under a uid of its own writes here
    try:
        with SandboxRunner(workers=1, mode="auto" if layers.namespaces else "reduced", layers=layers) as runner:
            if layers.namespaces:
                # the folder is not visible inside: the daemon writes into the run's own folder, and the next
                # job, under the same uid (drop_uid off), looks for it in the same pid namespace
                assert runner.isolation.mode == "reduced" and "namespaces" in runner.isolation.layers
                pid = run(runner, "leave", ".")
                assert isinstance(pid, str) and pid.isdigit()
                assert run(runner, "alive", pid) == "gone"
            else:
                pid = run(runner, "leave", folder)
                assert isinstance(pid, str) and pid.isdigit()
                run(runner, "alive", pid)  # the next job has started: the last one is cleaned up
                assert not _running(int(pid)), "the daemon outlived its job"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_child_closes_every_other_descriptor_even_without_proc() -> None:
    """The child closes every number but its own up to the limit, without listing /proc."""
    code = f'''
import os, sys
sys.path.insert(0, {str(WORKER_DIR)!r})
import child
opened = [os.open(os.devnull, os.O_RDONLY) for _ in range(5)]
keep = {{opened[1], opened[3]}}
real = os.listdir
def no_proc(path="."):
    if str(path).startswith("/proc"):
        raise FileNotFoundError(path)
    return real(path)
os.listdir = no_proc
child._close_other_fds(keep | {{0, 1, 2}})
left = []
for fd in range(3, 256):
    try:
        os.fstat(fd)
        left.append(fd)
    except OSError:
        pass
print(json.dumps({{"left": left, "keep": sorted(keep)}}))
'''
    done = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["left"] == found["keep"]


LINGER = '''import os, time

def linger():
    for fd in range(3, 64):  # the result pipe among them: the job manager reads the end of its messages
        try:
            os.close(fd)
        except OSError:
            pass
    time.sleep(3600)

def fine():
    return 1.0
'''


def test_a_child_that_closes_its_pipe_and_lingers_is_ended_and_the_job_goes_on() -> None:
    with SandboxRunner(workers=1) as runner:
        report = runner.submit(Job(LINGER, "l.py", "l", (Call("linger", ()), Call("fine", ())), ("linger", "fine"),
                                   False, Limits(case_seconds=30.0, import_seconds=10.0))).wait()
    first, second = report.calls
    assert first.status == "crash" and "SIGKILL" in first.detail, (first.status, first.detail)
    assert second.status == "ok" and second.value == 1.0


MANAGER = r'''
import json, os, sys
sys.path.insert(0, sys.argv[1])
import jobrun, wire

class BrokenForks:
    """The worker's fork service failing in an unexpected way (not a lost worker)."""
    def preload(self, names):
        return []
    def fork(self, *fds):
        raise RuntimeError("no fork today")

grader_r, manager_w = os.pipe()  # manager -> grader
manager_r, grader_w = os.pipe()  # grader -> manager
job = wire.job_frame({"source": "", "filename": "s.py", "module": "s", "functions": ["f"], "want_answers": False,
                      "limits": {"job_seconds": 5, "case_seconds": 1, "import_seconds": 1, "timeouts_per_function": 2,
                                 "output_bytes": 1000, "cpu_seconds": 1},
                      "calls": [{"function": "f"}]}, [wire.args_bytes(())])
control = wire.message_frame({"op": "job", "preload": []})
os.write(grader_w, control + job + control + job + wire.message_frame({"op": "exit"}))
os.close(grader_w)
root = sys.argv[2]
code = jobrun.serve({"workdir_root": root}, BrokenForks(), manager_r, manager_w)
os.close(manager_w)
ends = []
buffer = bytearray(os.read(grader_r, 1 << 20))
while (taken := wire.take_message(buffer, 1 << 20)) is not None:
    if taken[0].get("type") == "job_end":
        ends.append(taken[0]["status"])
print(json.dumps({"code": code, "ends": ends, "left": os.listdir(root)}))
'''


def test_a_failure_inside_the_job_manager_ends_that_job_only(tmp_path) -> None:
    """An unexpected error while running a job is reported in its job_end (the grader marks that submission
    as a grader failure) and the manager serves the next job from a clean work area."""
    root = tmp_path / "work"
    root.mkdir()
    done = subprocess.run([sys.executable, "-c", MANAGER, str(WORKER_DIR), str(root)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"code": 0, "ends": [71, 71], "left": []}, (found, done.stderr[-2000:])
    assert "no fork today" in done.stderr  # the traceback goes to the worker's stderr, which the grader shows
