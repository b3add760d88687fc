"""Entry point of a portable child: one plain process that runs one submission's calls.

    python -I portable_child.py

Started with ``subprocess`` (no fork, so it works on Windows and macOS) by
:mod:`grader.sandbox.portable`, usually before any job is known, so that it
boots while the grader does other work. Protocol, all length-prefixed frames:
stdin carries a start frame ``{"start": i, "report_import": bool, "preload":
[...]}`` and then the job frame (the same job the sandboxed worker gets).
stdout carries this child's ``ready`` frame and then :mod:`child`'s
``import`` and ``result`` frames. Whatever the submission prints, from Python
or native code, goes to stderr, which the grader reads with a cap.

The import, the calls and the error descriptions are :mod:`child`'s own; this
script only replaces the fork-time setup (namespaces, uid, seccomp) with what
a plain process can do: a private working folder and, on POSIX, rlimits.
Timeouts are enforced from outside, by killing this process.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)  # -I leaves the script's folder off sys.path
from numeric_threads import THREAD_VARS  # noqa: E402

for _var in THREAD_VARS:
    os.environ[_var] = "1"  # thread pools hang or spin under tight limits

import child  # noqa: E402 - imports wire and numpy: the slow part of booting, done before the job arrives

sys.path.remove(_HERE)

def _vm_size_bytes() -> int:
    """This process's virtual size (Linux only): the base for an address-space limit."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def limit_resources(limits: dict[str, int]) -> list[str]:
    """Apply the rlimits this system has (none on Windows); return the names of those applied."""
    try:
        import resource
    except ImportError:
        return []
    used = resource.getrusage(resource.RUSAGE_SELF)  # booting counts too here: a forked child starts at zero
    spent = int(used.ru_utime + used.ru_stime) + 1
    caps = [("core", resource.RLIMIT_CORE, 0), ("cpu", resource.RLIMIT_CPU, limits["cpu_seconds"] + spent),
            ("file", resource.RLIMIT_FSIZE, limits["file_bytes"]),
            ("open files", resource.RLIMIT_NOFILE, limits["open_files"])]
    base = _vm_size_bytes()
    if base:  # macOS reports a huge virtual size and does not enforce RLIMIT_AS: only limit it where it works
        caps.append(("memory", resource.RLIMIT_AS, base + limits["memory_bytes"]))
    applied = []
    for name, kind, value in caps:
        try:
            _soft, hard = resource.getrlimit(kind)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(kind, (value, value))
            applied.append(name)
        except (ValueError, OSError):  # refused by this system: the wall-clock timeouts still hold
            pass
    return applied


def main() -> int:
    result_fd = os.dup(1)  # results go here; fd 1 itself is pointed at the output pipe below
    if sys.platform == "win32":
        import msvcrt

        for fd in (0, result_fd):
            msvcrt.setmode(fd, os.O_BINARY)
    read = child.read_orders(0)
    if read is None:
        return 1
    start, job, call_args = read
    child.preload([str(p) for p in start.get("preload") or []])
    child._send(result_fd, {"type": "ready"})
    try:
        workdir = os.getcwd()  # a fresh private folder, chosen by the grader
        for var in ("HOME", "TMPDIR", "TEMP", "TMP", "USERPROFILE"):
            os.environ[var] = workdir
        child._redirect_output(os.dup(2))  # stdin from the null device; fds 1 and 2 both to the output pipe
        limit_resources(job["limits"])
    except BaseException as exc:  # noqa: BLE001
        child._send(result_fd, {"type": "import", "status": "setup", "detail": f"child setup failed: {exc!r}"})
        os._exit(70)
    child.run_submission(job, call_args, int(start.get("start") or 0), result_fd, start.get("report_import") is True)


if __name__ == "__main__":
    sys.exit(main())
