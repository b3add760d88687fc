"""Lock down a freshly forked child before it runs student code.

Order matters: resource limits and the work directory are set while the child
is still privileged, then it drops to the job's unprivileged uid (when the
worker runs as root), sets no-new-privileges and finally loads the seccomp
filter, which needs its own pid for the rule that only lets it signal itself.
Building that filter with libseccomp costs milliseconds per child, so the
forking process builds it once (:func:`prepare_seccomp`) and each child only
writes its pid into a copy of the program and loads it.

The filter is what keeps one job from reaching the worker or the next job
even when the child shares the worker's uid (a grader not running as root):
no process creation, no System V or POSIX IPC (objects that would outlive the
job, outside every memory limit, readable by the next student), and the calls
that act on another process by pid (limits, priorities, scheduling, queued
signals) only on the caller itself.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import signal
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_bindings: list[Any] = []  # pyseccomp once imported (None if it cannot be): see _lib


def _lib() -> Any:
    """libseccomp's bindings, imported on first use (None when absent): an optional layer that needs
    libseccomp.so.2 at run time. Not at import: pyseccomp pulls in tempfile, threading and random, and
    the worker, which forks every child, must not load them (see :func:`prepare_seccomp_apart`)."""
    if not _bindings:
        try:
            with _sonames_first():
                import pyseccomp
        except Exception:  # noqa: BLE001 - any failure just means the layer is absent
            pyseccomp = None
        _bindings.append(pyseccomp)
    return _bindings[0]


_SONAMES = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}  # what pyseccomp looks up, as Linux names them


@contextmanager
def _sonames_first() -> Iterator[None]:
    """While pyseccomp loads: its libraries by their usual names when those load, without
    ``ctypes.util.find_library``, which runs ``ldconfig -p`` in a subprocess per name (a tenth of the
    worker's start-up). Any other name, or one that does not load so, is looked up as before."""
    import ctypes.util

    find = ctypes.util.find_library

    def known_first(name: str) -> str | None:
        soname = _SONAMES.get(name)
        if soname is not None:
            try:
                ctypes.CDLL(soname)
                return soname
            except OSError:
                pass
        return find(name)

    ctypes.util.find_library = known_first
    try:
        yield
    finally:
        ctypes.util.find_library = find

PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4
PR_SET_PDEATHSIG = 1
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
CLONE_THREAD = 0x00010000
_libc = ctypes.CDLL(None, use_errno=True)

# Syscalls that student code never needs: creating processes, talking to the
# network, inspecting other processes, changing namespaces or mounts.
DENIED_SYSCALLS = (
    "fork", "vfork", "execve", "execveat", "socket", "socketpair", "ptrace",
    "process_vm_readv", "process_vm_writev", "unshare", "setns", "mount", "umount2",
    "pivot_root", "chroot", "bpf", "perf_event_open", "keyctl", "add_key",
    "request_key", "userfaultfd", "io_uring_setup", "kcmp", "pidfd_open",
    "pidfd_getfd", "pidfd_send_signal", "setsid", "setpgid", "process_madvise", "process_mrelease",
    "ioprio_set",
)
# System V and POSIX IPC: shared memory, queues and semaphores persist after the job that made
# them (memory outside every limit, and a channel to the next student). ``ipc`` is the
# multiplexed call of some architectures (i386, s390, ...). POSIX shared memory is a file in
# /dev/shm, covered by the filesystem layout and the worker's clean-up instead.
IPC_SYSCALLS = (
    "shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl",
    "semget", "semop", "semtimedop", "semtimedop_time64", "semctl",
    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_notify", "mq_getsetattr", "ipc",
)
# Calls that act on the process given by an argument (index of the pid): allowed only with
# pid 0, which means the caller itself. A child sharing the worker's uid could otherwise lower
# the worker's limits, renice or pin it, and every later job on that worker would fail.
SELF_ONLY_SYSCALLS = (
    ("prlimit64", 0), ("setpriority", 1), ("sched_setaffinity", 0), ("sched_setscheduler", 0),
    ("sched_setparam", 0), ("sched_setattr", 0), ("migrate_pages", 0), ("move_pages", 0),
)
# Calls that signal a thread group given by an argument: only the caller's own pid.
OWN_PID_SYSCALLS = (("kill", 0), ("tgkill", 0), ("rt_sigqueueinfo", 0), ("rt_tgsigqueueinfo", 0))
PRIO_USER = 2  # setpriority(PRIO_USER, 0, ...) renices every process of the caller's uid
# fcntl(fd, F_SETOWN / F_SETOWN_EX, pid) + O_ASYNC makes the kernel send SIGIO to any pid of the uid.
FCNTL_SET_OWNER = (8, 15)

_BPF_INSN = struct.Struct("=HBBI")  # struct sock_filter: code, jt, jf, k in native byte order
_BPF_K = struct.Struct("=I")
_BPF_K_OFFSET = 4
# Two pids no process has (pid_max is at most 2**22): where the filters built for them differ
# is where the pid goes.
_SENTINEL_PIDS = (1_234_567_891, 1_987_654_321)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def seccomp_available() -> bool:
    sc = _lib()
    if sc is None:
        return False
    try:
        sc.SyscallFilter(defaction=sc.ALLOW)
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
    cap(resource.RLIMIT_MSGQUEUE, 0)  # no POSIX message queue can be created, even without seccomp
    if drop_uid:  # RLIMIT_NPROC is ignored for root, and counts all of a user's processes
        cap(resource.RLIMIT_NPROC, limits["processes"])


def drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def fresh_uid() -> int:
    """A uid for one job's student code: random, unprivileged, never the worker's."""
    return 1_000_000 + int.from_bytes(os.urandom(4), "little") % 1_000_000_000


def _build_filter(me: int) -> Any:
    """The libseccomp filter for a child whose pid is ``me`` (about 3 ms of CPU to build)."""
    sc = _lib()
    assert sc is not None
    deny = sc.ERRNO(errno.EPERM)
    filt = sc.SyscallFilter(defaction=sc.ALLOW)
    for name in DENIED_SYSCALLS + IPC_SYSCALLS:
        try:
            filt.add_rule(deny, name)
        except Exception:  # noqa: BLE001 - syscall unknown on this architecture
            continue
    # libseccomp takes one comparison per argument and rule, so "neither 0 nor me" cannot be
    # written: the pid-taking calls accept only 0 (self), the signalling ones only ``me``.
    for name, arg in SELF_ONLY_SYSCALLS:
        _add_optional(filt, deny, name, sc.Arg(arg, sc.NE, 0))
    _add_optional(filt, deny, "setpriority", sc.Arg(0, sc.EQ, PRIO_USER))
    for name, arg in OWN_PID_SYSCALLS:
        _add_optional(filt, deny, name, sc.Arg(arg, sc.NE, me))
    for name in ("fcntl", "fcntl64"):
        for command in FCNTL_SET_OWNER:
            _add_optional(filt, deny, name, sc.Arg(1, sc.EQ, command))
    # Threads are fine (numpy, torch); new processes are not.
    filt.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    # glibc falls back from clone3 to clone on ENOSYS, where the flags can be inspected.
    filt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    filt.add_rule(deny, "tkill")
    return filt


class SeccompTemplate:
    """The exported BPF program of :func:`_build_filter`, with the places that hold the pid.

    Made in the forking process, down to the ctypes structures the kernel reads: a forked
    child then writes only its pid and makes two calls, so it copies as few of the parent's
    pages as possible (each first write to one costs a page fault).
    """

    def __init__(self, program: bytes, pid_offsets: tuple[int, ...], set_nnp: bool) -> None:
        self.program = program  # struct sock_filter[], built for a sentinel pid
        self.pid_offsets = pid_offsets  # byte offsets of the ``k`` fields that hold the pid
        self.set_nnp = set_nnp  # libseccomp's load() sets no_new_privs itself (its CTL_NNP attribute)
        self._buffer = ctypes.create_string_buffer(program, len(program))
        self._fprog = _SockFprog(len(program) // _BPF_INSN.size, ctypes.addressof(self._buffer))
        self._fprog_ref = ctypes.byref(self._fprog)

    def for_pid(self, pid: int) -> bytes:
        """The program for ``pid``: what :meth:`load` installs in a process with that pid."""
        program = bytearray(self.program)
        _write_pid(program, self.pid_offsets, pid)
        return bytes(program)

    def load(self, pid: int) -> None:
        """Install the program for ``pid`` as libseccomp's load() does with its default attributes.

        With TSYNC, LOG and SSB off (checked when the template is made), libseccomp calls
        seccomp(SECCOMP_SET_MODE_FILTER, 0, prog): the kernel does the same for
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog). The buffer is this process's own
        copy after fork, so writing the pid into it leaves the parent's untouched.
        """
        _write_pid(self._buffer, self.pid_offsets, pid)
        if self.set_nnp:
            prctl(PR_SET_NO_NEW_PRIVS, 1)
        if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, self._fprog_ref, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))


def _write_pid(program: Any, pid_offsets: tuple[int, ...], pid: int) -> None:
    for offset in pid_offsets:
        _BPF_K.pack_into(program, offset, pid)


_template: SeccompTemplate | None = None
_prepared = False


def prepare_seccomp() -> SeccompTemplate | None:
    """Build the filter once in a process that forks children, so each child only patches its pid.

    Children forked afterwards inherit the template and load it in a fraction of a millisecond
    instead of rebuilding the filter with libseccomp. ``None`` when the template cannot be trusted to
    equal libseccomp's own program: children then build the filter themselves, as before.
    """
    global _template, _prepared
    if not _prepared:
        try:
            _template = _make_template()
        except Exception:  # noqa: BLE001 - no pyseccomp, export failed, ...: the slow path stays
            _template = None
        _prepared = True
    return _template


def prepare_seccomp_apart() -> bool:
    """Whether seccomp can be used here, with its template prepared (as :func:`prepare_seccomp`) by a
    short-lived child, so that this process, which forks every student child, never imports pyseccomp:
    the after-fork hooks of the modules it brings (threading, random) would cost every fork 0.5-1 ms.
    Where no template can be made, the bindings are loaded here after all, for children to build the
    filter themselves as before."""
    return finish_seccomp_helper(start_seccomp_helper())


def start_seccomp_helper() -> tuple[int, int]:
    """Fork the helper of :func:`prepare_seccomp_apart` and return (its pid, the pipe it answers on) at once:
    the worker forks it before it imports numpy, and the two run side by side."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the helper
        code = 1
        try:
            os.close(read)
            available, template = _probe()
            found = {"available": available, "template": None if template is None else
                     [template.program.hex(), list(template.pid_offsets), template.set_nnp]}
            with os.fdopen(write, "w") as fh:
                json.dump(found, fh)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return pid, read


def discard_seccomp_helper(helper: tuple[int, int]) -> None:
    """Reap a helper whose answer is not wanted (a worker started without seccomp)."""
    pid, read = helper
    os.close(read)
    os.waitpid(pid, 0)


def finish_seccomp_helper(helper: tuple[int, int]) -> bool:
    """The helper's answer (see :func:`prepare_seccomp_apart`): whether seccomp can be used here."""
    global _template, _prepared
    pid, read = helper
    with os.fdopen(read) as fh:
        text = fh.read()
    os.waitpid(pid, 0)
    try:
        found = json.loads(text)
        available = found["available"] is True
        made = found["template"]
        template = None if made is None else SeccompTemplate(bytes.fromhex(made[0]), tuple(int(o) for o in made[1]),
                                                             made[2] is True)
    except (ValueError, KeyError, TypeError, IndexError):  # the helper failed: do it here
        available, template = _probe()
    if available and template is None:
        _lib()  # children build the filter with libseccomp: load it while files are readable
    _template, _prepared = template, True
    return available


def _probe() -> tuple[bool, SeccompTemplate | None]:
    """Whether seccomp can be used, and its template if it can (what the helper reports)."""
    available = seccomp_available()
    return available, prepare_seccomp() if available else None


def _export(filt: Any) -> bytes:
    # libseccomp writes to a descriptor; a memfd works even on a read-only file system
    with os.fdopen(os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC), "r+b", buffering=0) as fh:
        filt.export_bpf(fh)
        fh.seek(0)
        return fh.read()


def _loads_with_default_flags(filt: Any) -> bool:
    """Whether libseccomp's load() would pass no seccomp flags, which a prctl() load also does."""
    attr = _lib().Attr
    for name in ("CTL_TSYNC", "CTL_LOG", "CTL_SSB"):
        try:
            if filt.get_attr(getattr(attr, name)):
                return False
        except OSError:  # attribute unknown to this libseccomp, hence never set
            continue
    return True


def _make_template() -> SeccompTemplate | None:
    sc = _lib()
    if sc is None:
        return None
    filters = [_build_filter(pid) for pid in _SENTINEL_PIDS]
    if not all(_loads_with_default_flags(f) for f in filters):
        return None
    first, second = (_export(f) for f in filters)
    size = _BPF_INSN.size
    if len(first) != len(second) or not first or len(first) % size or len(first) // size > 0xFFFF:
        return None
    # The pid may only change the k of comparisons against it; any other difference means the
    # program's shape depends on the pid, and patching it would not give libseccomp's program.
    offsets = []
    for at in range(0, len(first), size):
        a, b = _BPF_INSN.unpack_from(first, at), _BPF_INSN.unpack_from(second, at)
        if a == b:
            continue
        if a[:3] != b[:3] or (a[3], b[3]) != _SENTINEL_PIDS:
            return None
        offsets.append(at + _BPF_K_OFFSET)
    return SeccompTemplate(first, tuple(offsets), bool(filters[0].get_attr(sc.Attr.CTL_NNP)))


def load_seccomp() -> None:
    """Install the filter for this process: from the inherited template if there is one."""
    me = os.getpid()
    template = _template  # prepared by an ancestor that forks children, if any
    if template is None:
        _build_filter(me).load()
    else:
        template.load(me)


def _add_optional(filt: object, action: object, name: str, *args: object) -> None:
    try:
        filt.add_rule(action, name, *args)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - syscall unknown on this architecture
        pass


def confine(limits: dict[str, int], uid: int | None, use_seccomp: bool) -> list[str]:
    """Apply every layer that is configured; return the names of those applied."""
    applied = ["rlimits"]
    set_limits(limits, drop_uid=uid is not None)
    if uid is not None:
        drop_privileges(uid)
        applied.append("uid")
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the worker (a change of uid clears it: set after)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    applied.append("no_new_privs")
    if use_seccomp:
        load_seccomp()
        applied.append("seccomp")
    return applied
