"""Entry point of the sandboxed worker: a pristine, long-lived parent of every student child.

    python -I zygote.py        (stdin/stdout: length-prefixed JSON frames)

Protocol, grader to worker: one config frame, then per job a control frame
``{"op": "job", "preload": [...]}`` followed by the job frame, or
``{"op": "exit"}``. Worker to grader: a ``hello`` frame describing the
isolation it achieved, then per job the ``import``, ``result`` and ``done``
frames and a closing ``job_end`` frame.

After the hello, this process forks the job manager (``jobrun.serve``), hands it
the grader's channel and keeps none of it: from then on it only forks, reaps
and kills children at the manager's request (``forks``). So its memory never
holds any submission, and every child starts from the same clean copy. It
holds no expected values, references or hidden seeds either: the grader only
ever sends sources and inputs.
"""

from __future__ import annotations

import gc
import os
import socket
import sys
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
from numeric_threads import THREAD_VARS  # noqa: E402

for _var in THREAD_VARS:
    os.environ[_var] = "1"  # thread pools hang or spin under tight limits

import confine  # noqa: E402

# The seccomp filter is built once, by a short-lived helper (every child inherits it, and this process never
# loads libseccomp). Forked first thing, before numpy loads here, so that the two run side by side: the
# worker's start is the longest part of a `grader check`.
_SECCOMP_HELPER = confine.start_seccomp_helper()

import forks  # noqa: E402
import jobrun  # noqa: E402
import wire  # noqa: E402

sys.path.remove(_HERE)
PR_SET_CHILD_SUBREAPER = 36

# Modules a submission commonly uses, imported while files are still readable:
# a child running under another uid may not be able to read the Python tree.
import collections  # noqa: E402, F401

import numpy  # noqa: E402


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
        "seccomp": bool(config.get("seccomp")),  # requested, and available (main)
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
    }


def main() -> int:
    stdin, stdout = 0, 1
    config = wire.read_frame(stdin)
    if config is None:
        return 1
    confine.prctl(confine.PR_SET_DUMPABLE, 0)  # children may not read this process
    confine.prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans come here to be killed, pid namespace or not
    if config.get("seccomp"):
        config["seccomp"] = confine.finish_seccomp_helper(_SECCOMP_HELPER)
    else:
        confine.discard_seccomp_helper(_SECCOMP_HELPER)
    # a fresh uid per job needs root with CAP_SETUID here; otherwise children share the worker's uid
    config["drop_uid"] = bool(config.get("drop_uid")) and os.geteuid() == 0 and can_setuid()
    hello = {"type": "hello", "isolation": describe(config)}
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    gc.freeze()  # forked copies then leave these objects' pages shared instead of copying them
    manager = os.fork()
    if manager == 0:
        ours.close()
        code = 1
        try:
            code = jobrun.serve(config, forks.Forks(theirs), stdin, stdout)
        except BaseException:  # noqa: BLE001 - the grader sees the worker's channel close
            traceback.print_exc()
        os._exit(code)
    theirs.close()
    wire.write_all(stdout, wire.message_frame(hello))  # the manager is running by now: the grader's first job finds it
    null = os.open(os.devnull, os.O_RDWR)  # the grader's channel is the manager's alone
    os.dup2(null, stdin)
    os.dup2(null, stdout)
    os.close(null)
    code = forks.ForkService(ours, manager).serve()
    try:
        os.waitpid(manager, 0)
    except ChildProcessError:
        pass
    return code


if __name__ == "__main__":
    sys.exit(main())
