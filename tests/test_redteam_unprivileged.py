"""Red team, graded as an ordinary user: student code then shares the worker's uid.

Without a uid of its own, student code could lower the worker's resource
limits, renice or pin it, or queue signals to it, and every later student on
that worker would fail. The seccomp filter lets those calls act only on the
caller itself. These tests start the grader as an unprivileged user (uid
65534) when they run as root, as CI does, and also run the whole red-team
suite that way. When the tests already run as an ordinary user, they attack
directly and the suite itself is the unprivileged run.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.sandbox.isolation import python_roots

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534


def _hidden_ancestor(path: str) -> str | None:
    """The topmost ancestor of ``path`` that other users cannot enter, if any."""
    parts = Path(path).parts
    for i in range(2, len(parts) + 1):
        folder = os.path.join(*parts[:i])
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return folder
    return None


def as_ordinary_user(argv: list[str], scratch: Path) -> tuple[list[str], dict[str, str]]:
    """A command line running ``argv`` as uid and gid 65534, and its environment.

    A root-only home directory holding the Python runtime (pyenv under /root) is
    shadowed, in a private mount namespace, by an empty world-readable tmpfs into
    which only the runtime is bound back: nothing is copied, nothing else is shown.
    """
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    if os.geteuid() != 0:
        return argv, env
    missing = [tool for tool in ("unshare", "setpriv", "mount") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"cannot run as an ordinary user: {', '.join(missing)} not installed")
    os.chown(home, NOBODY, NOBODY)
    needed = sorted({*python_roots(), str(ROOT)})
    hidden: dict[str, list[str]] = {}
    for path in needed:
        ancestor = _hidden_ancestor(path)
        if ancestor is not None:
            hidden.setdefault(ancestor, []).append(path)
    stash = scratch / "stash"
    stash.mkdir(exist_ok=True)
    lines = ["set -e", f"mount -t tmpfs tmpfs {shlex.quote(str(stash))}"]
    for n, paths in enumerate(hidden.values()):
        for m, path in enumerate(paths):
            lines += [f"mkdir -p {stash}/{n}-{m}", f"mount --bind {shlex.quote(path)} {stash}/{n}-{m}"]
    for n, (ancestor, paths) in enumerate(hidden.items()):
        lines.append(f"mount -t tmpfs -o mode=0755 tmpfs {shlex.quote(ancestor)}")
        for m, path in enumerate(paths):
            lines += [f"mkdir -p {shlex.quote(path)}", f"mount --bind {stash}/{n}-{m} {shlex.quote(path)}"]
    lines.append(f'exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups -- "$@"')
    command = ["unshare", "-m", "--propagation", "private", "sh", "-c", "\n".join(lines), "sh", *argv]
    check = subprocess.run([*command[:-len(argv)], sys.executable, "-c", "import numpy, pyseccomp, grader"],
                           env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if check.returncode != 0:
        pytest.skip(f"cannot run the grader as uid {NOBODY} here: {check.stderr.strip()[-500:]}")
    return command, env


# Every call that acts on another process by pid, aimed at every other process the student can
# see (the worker, its job manager, bubblewrap's init), and the same calls on itself, which stay
# allowed. Signals are 0 (a permission check only); the limits set would break the worker.
ATTACK = r'''
import ctypes, errno, fcntl, os, resource, signal
libc = ctypes.CDLL(None, use_errno=True)
me, out = os.getpid(), {}
NUMBERS = {"x86_64": {"tkill": 200, "rt_tgsigqueueinfo": 297, "rt_sigqueueinfo": 129},
           "aarch64": {"tkill": 130, "rt_tgsigqueueinfo": 240, "rt_sigqueueinfo": 138}}.get(os.uname().machine, {})
info = ctypes.create_string_buffer(128)
ctypes.memmove(info, (ctypes.c_int * 3)(0, 0, -1), 12)  # si_signo 0, si_errno 0, si_code SI_QUEUE

def attempt(label, call):
    try:
        result = call()
        if isinstance(result, int) and result < 0:
            raise OSError(ctypes.get_errno(), "")
        out[label] = "done"
    except OSError as exc:
        out[label] = errno.errorcode.get(exc.errno, str(exc.errno))

def attacks(pid):
    yield "prlimit", lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE, (8, 8))
    yield "prlimit nproc", lambda: resource.prlimit(pid, resource.RLIMIT_NPROC, (1, 1))
    yield "setpriority", lambda: os.setpriority(os.PRIO_PROCESS, pid, 19)
    yield "setpriority pgrp", lambda: os.setpriority(os.PRIO_PGRP, pid, 19)
    yield "sched_setaffinity", lambda: os.sched_setaffinity(pid, {0})
    yield "sched_setscheduler", lambda: os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
    yield "sched_setparam", lambda: os.sched_setparam(pid, os.sched_param(0))
    yield "kill", lambda: os.kill(pid, 0)
    yield "sigqueue", lambda: libc.sigqueue(pid, 0, ctypes.c_void_p(0))
    yield "tgkill", lambda: libc.tgkill(pid, pid, 0)
    for name in ("tkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        if name in NUMBERS:
            extra = (pid, 0, info) if name == "rt_tgsigqueueinfo" else (0, info) if name == "rt_sigqueueinfo" else (0,)
            yield name, lambda n=NUMBERS[name], e=extra: libc.syscall(n, pid, *e)
    yield "F_SETOWN", lambda: fcntl.fcntl(1, fcntl.F_SETOWN, pid)

others = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me)
for pid in others:
    for label, call in attacks(pid):
        attempt(f"{label} {pid}", call)
attempt("setpriority user", lambda: os.setpriority(os.PRIO_USER, 0, 19))
own = {}
nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
for label, call in (("setrlimit", lambda: resource.setrlimit(resource.RLIMIT_NOFILE, nofile)),
                    ("prlimit 0", lambda: resource.prlimit(0, resource.RLIMIT_CORE, (0, 0))),
                    ("nice", lambda: os.setpriority(os.PRIO_PROCESS, 0, 1)),
                    ("sched_setaffinity 0", lambda: os.sched_setaffinity(0, os.sched_getaffinity(0))),
                    ("signal self", lambda: os.kill(me, 0))):
    attempt(label, call)
    own[label] = out.pop(label)
return {"others": others, "attacks": out, "own": own}
'''

SCRIPT = r'''
import json, os, sys
sys.path.insert(0, sys.argv[1])
from grader.sandbox.process import SandboxRunner
from grader.sandbox.runner import Call, Job, Limits

def descendants(pid):
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        for child in open(f"/proc/{pid}/task/{task}/children").read().split():
            found += [int(child), *descendants(int(child))]
    return found

def state(pid):
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return {"limits": open(f"/proc/{pid}/limits").read(), "nice": stat[16], "policy": stat[38],
            "affinity": sorted(os.sched_getaffinity(pid))}

def job(source, function, *args):
    report = runner.submit(Job(source, "s.py", "s", (Call(function, args),), (function,), False,
                               Limits(case_seconds=5.0, import_seconds=10.0))).wait()
    call = report.calls[0]
    return {"import": report.imported.status, "status": call.status, "value": call.value, "detail": call.detail}

attack = "import os\n\ndef attack():\n" + "".join(f"    {line}\n" for line in sys.argv[2].splitlines())
honest = "import numpy as np\n\ndef double(x):\n    return (2 * np.asarray(x)).tolist()\n"
with SandboxRunner(workers=1) as runner:
    isolation = runner.isolation
    worker = runner._workers[0].proc.pid
    argvs = {p: open(f"/proc/{p}/cmdline", "rb").read().split(b"\0") for p in descendants(worker)}
    zygotes = [p for p, a in argvs.items() if b"bwrap" not in a[0] and any(x.endswith(b"zygote.py") for x in a)]
    before = {p: state(p) for p in zygotes}
    first = job(honest, "double", [1.0, 2.0])
    attacked = job(attack, "attack")
    after = {p: state(p) for p in zygotes}
    honest_after = [job(honest, "double", [1.0, 2.0]) for _ in range(3)]
print(json.dumps({"uid": os.getuid(), "isolation": [isolation.mode, list(isolation.layers), list(isolation.missing)],
                  "zygotes": len(zygotes), "unchanged": before == after, "first": first, "attack": attacked,
                  "honest_after": honest_after}))
'''


@pytest.fixture
def scratch():
    """A folder an ordinary user can reach (pytest's own tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="redteam-unprivileged-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_attacks_on_the_worker_fail_when_grading_as_an_ordinary_user(scratch: Path) -> None:
    command, env = as_ordinary_user([sys.executable, "-c", SCRIPT, str(ROOT), ATTACK], scratch)
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["uid"] != 0
    mode, layers, missing = found["isolation"]
    assert mode == "full" and "unprivileged uid" not in layers + missing, found["isolation"]  # said as it is
    assert found["zygotes"] == 2  # the pristine worker and its job manager (a fork of it, same command line)
    assert found["first"]["status"] == "ok", found["first"]
    attack = found["attack"]
    assert attack["status"] == "ok", attack
    result = attack["value"]
    assert result["others"], "the attack saw no other process"
    allowed = {label: what for label, what in result["attacks"].items() if what not in ("EPERM", "ESRCH")}
    assert allowed == {}, allowed
    assert set(result["own"].values()) == {"done"}, result["own"]  # a student may still act on itself
    assert found["unchanged"], "the worker's limits, priority or affinity changed"
    for honest in found["honest_after"]:
        assert honest["status"] == "ok" and honest["value"] == [2.0, 4.0], honest


def test_the_redteam_suite_passes_as_an_ordinary_user(scratch: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("already an ordinary user: this run of tests/test_redteam.py is the unprivileged one")
    argv = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "test_redteam.py"), "-q", "-p", "no:cacheprovider",
            "--basetemp", str(scratch / "home" / "pytest")]
    command, env = as_ordinary_user(argv, scratch)
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, (done.stdout[-4000:], done.stderr[-2000:])
    assert "[100%]" in done.stdout, done.stdout[-2000:]
