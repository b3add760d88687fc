"""Lock down a freshly forked child before it runs student code.

Order matters: resource limits and the work directory are set while the child
is still privileged, then it drops to the job's unprivileged uid (when the
worker runs as root), sets no-new-privileges and finally loads the seccomp
filter, which needs its own pid for the rule that only lets it signal itself.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource

try:  # optional layer: needs libseccomp.so.2 at run time
    import pyseccomp as _seccomp
except Exception:  # noqa: BLE001 - any failure just means the layer is absent
    _seccomp = None

PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4
CLONE_THREAD = 0x00010000
_libc = ctypes.CDLL(None, use_errno=True)

# Syscalls that student code never needs: creating processes, talking to the
# network, inspecting other processes, changing namespaces or mounts.
DENIED_SYSCALLS = (
    "fork", "vfork", "execve", "execveat", "socket", "socketpair", "ptrace",
    "process_vm_readv", "process_vm_writev", "unshare", "setns", "mount", "umount2",
    "pivot_root", "chroot", "bpf", "perf_event_open", "keyctl", "add_key",
    "request_key", "userfaultfd", "io_uring_setup", "kcmp", "pidfd_open",
    "pidfd_getfd", "pidfd_send_signal", "setsid", "setpgid",
)


def seccomp_available() -> bool:
    if _seccomp is None:
        return False
    try:
        _seccomp.SyscallFilter(defaction=_seccomp.ALLOW)
    except Exception:  # noqa: BLE001
        return False
    return True


def prctl(option: int, value: int) -> None:
    if _libc.prctl(option, value, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def vm_size_bytes() -> int:
    """Current virtual size of this process: the base for an address-space limit."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def set_limits(limits: dict[str, int], drop_uid: bool) -> None:
    def cap(kind: int, value: int) -> None:
        resource.setrlimit(kind, (value, value))

    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_CPU, limits["cpu_seconds"])
    cap(resource.RLIMIT_FSIZE, limits["file_bytes"])
    cap(resource.RLIMIT_NOFILE, limits["open_files"])
    cap(resource.RLIMIT_AS, vm_size_bytes() + limits["memory_bytes"])
    if drop_uid:  # RLIMIT_NPROC is ignored for root, and counts all of a user's processes
        cap(resource.RLIMIT_NPROC, limits["processes"])


def drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def load_seccomp() -> None:
    sc = _seccomp
    assert sc is not None
    deny = sc.ERRNO(errno.EPERM)
    filt = sc.SyscallFilter(defaction=sc.ALLOW)
    for name in DENIED_SYSCALLS:
        try:
            filt.add_rule(deny, name)
        except Exception:  # noqa: BLE001 - syscall unknown on this architecture
            continue
    # Threads are fine (numpy, torch); new processes are not.
    filt.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    # glibc falls back from clone3 to clone on ENOSYS, where the flags can be inspected.
    filt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    me = os.getpid()
    filt.add_rule(deny, "kill", sc.Arg(0, sc.NE, me))
    filt.add_rule(deny, "tgkill", sc.Arg(0, sc.NE, me))
    filt.add_rule(deny, "tkill")
    filt.load()


def confine(limits: dict[str, int], uid: int | None, use_seccomp: bool) -> list[str]:
    """Apply every layer that is configured; return the names of those applied."""
    applied = ["rlimits"]
    set_limits(limits, drop_uid=uid is not None)
    if uid is not None:
        drop_privileges(uid)
        applied.append("uid")
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    applied.append("no_new_privs")
    if use_seccomp:
        load_seccomp()
        applied.append("seccomp")
    return applied
