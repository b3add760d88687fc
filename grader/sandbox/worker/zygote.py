"""Entry point of the sandboxed worker: a pristine, long-lived parent of job runners.

    python -I zygote.py        (stdin/stdout: length-prefixed JSON frames)

Protocol, grader to worker: one config frame, then per job a control frame
``{"op": "job", "preload": [...]}`` followed by the job frame, or
``{"op": "exit"}``. Worker to grader: a ``hello`` frame describing the
isolation it achieved, then per job the job runner's ``import``, ``result``
and ``done`` frames, closed by the worker's own ``job_end`` frame.

The worker never reads a job itself: it forks a job runner, which reads the
job frame from the shared stdin. So the worker's memory never holds any
submission, and each job starts from the same clean copy. It holds no
expected values, references or hidden seeds either: the grader only ever
sends sources and inputs.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import traceback

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # thread pools hang or spin under tight limits

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
import child  # noqa: E402
import confine  # noqa: E402
import jobrun  # noqa: E402
import wire  # noqa: E402

sys.path.remove(_HERE)

# Modules a submission commonly uses, imported while files are still readable:
# a child running under another uid may not be able to read the Python tree.
import collections  # noqa: E402, F401

import numpy  # noqa: E402


def write_frame(fd: int, message: dict) -> None:
    wire.write_all(fd, wire.message_frame(message))


def wipe(root: str) -> None:
    """Empty the work area between jobs, so nothing one submission writes reaches the next."""
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if os.path.isdir(path) and not os.path.islink(path):
            for top, dirs, _ in os.walk(path):  # a submission may have locked its own folders
                for d in dirs:
                    try:
                        os.chmod(os.path.join(top, d), 0o700)
                    except OSError:
                        pass
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def reap_orphans() -> None:
    """As the namespace's init (bwrap --as-pid-1), collect any process a job runner left behind."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def can_setuid() -> bool:
    """Whether this process holds CAP_SETUID (bit 7 of its effective capabilities)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> 7 & 1)
    except (OSError, ValueError):
        pass
    return False


def describe(config: dict) -> dict:
    """What this worker actually achieved, checked from the inside."""
    pid_ns = os.getpid() <= 3
    try:
        with open("/proc/net/dev") as fh:
            interfaces = [line.split(":")[0].strip() for line in fh.readlines()[2:]]
    except OSError:
        interfaces = []
    return {
        "pid": os.getpid(),
        "pid_namespace": pid_ns,
        "network_interfaces": interfaces,
        "uid": os.getuid(),
        "child_uid": None,  # no longer one uid per worker: see uid_per_job
        "uid_per_job": bool(config.get("drop_uid")),
        "seccomp": bool(config.get("seccomp")) and confine.seccomp_available(),
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
    }


def main() -> int:
    stdin, stdout = 0, 1
    config = wire.read_frame(stdin)
    if config is None:
        return 1
    confine.prctl(confine.PR_SET_DUMPABLE, 0)  # children may not read this process
    config["seccomp"] = bool(config.get("seccomp")) and confine.seccomp_available()
    if config["seccomp"]:
        confine.prepare_seccomp()  # built once here: every job runner's children inherit it
    # a fresh uid per job needs root with CAP_SETUID here; otherwise children share the worker's uid
    config["drop_uid"] = bool(config.get("drop_uid")) and os.geteuid() == 0 and can_setuid()
    write_frame(stdout, {"type": "hello", "isolation": describe(config)})
    while True:
        control = wire.read_frame(stdin)
        if control is None or control.get("op") != "job":
            return 0
        loaded = child.preload(list(control.get("preload", [])))
        gc.freeze()  # forked copies then leave these objects' pages shared instead of copying them
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                job = wire.read_message(stdin)
                if job is not None:
                    jobrun.run_job(config, job[0], wire.split_args(*job), stdout)
            except BaseException:  # noqa: BLE001 - reported through job_end
                traceback.print_exc()
                code = 71
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        reap_orphans()
        wipe(config["workdir_root"])
        write_frame(stdout, {"type": "job_end", "status": status, "preloaded": loaded})


if __name__ == "__main__":
    sys.exit(main())
