"""The seccomp filter template: children load a copy patched with their pid instead of building it.

The proof of equivalence is byte for byte: the template patched with a pid is the program
libseccomp exports for a filter built with that pid, and where the kernel lets a tracer read
the installed filter back, the fast path installs exactly what libseccomp's own load() does.
The other tests check, in forked children, that the fast path really confines, and that a
template that cannot be trusted leaves every child on the slow path, which still confines.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from grader.sandbox.worker import confine

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(not confine.seccomp_available(), reason="needs pyseccomp and libseccomp.so.2"),
]

IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0
PTRACE_ATTACH, PTRACE_DETACH, PTRACE_SECCOMP_GET_FILTER = 16, 17, 0x420C
STATUS_LINES = ("NoNewPrivs", "Seccomp", "Seccomp_filters", "Speculation_Store_Bypass", "SpeculationIndirectBranch")


@pytest.fixture(autouse=True)
def fresh_template(monkeypatch) -> Iterator[None]:
    """Each test prepares its own template; none leaks into the next test."""
    monkeypatch.setattr(confine, "_template", None)
    monkeypatch.setattr(confine, "_prepared", False)
    yield


def in_child(body: Callable[[], dict[str, Any]], hold: bool = False) -> tuple[int, dict[str, Any], int | None]:
    """Run ``body`` in a forked child and return its pid and report.

    With ``hold`` the child then waits for a byte on a pipe, whose write end is returned, so
    the parent can inspect it while it still lives.
    """
    report_r, report_w = os.pipe()
    go_r, go_w = os.pipe() if hold else (None, None)
    pid = os.fork()
    if pid == 0:  # never return into pytest from here
        code = 0
        try:
            os.close(report_r)
            try:
                report = body()
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                report = {"error": repr(exc)}
            data = json.dumps(report).encode() + b"\n"
            os.write(report_w, data)
            os.close(report_w)
            if go_r is not None:
                os.read(go_r, 1)
        except BaseException:  # noqa: BLE001
            code = 1
        os._exit(code)
    os.close(report_w)
    if go_r is not None:
        os.close(go_r)
    with os.fdopen(report_r, "rb") as fh:
        line = fh.readline()
    if go_w is None:
        os.waitpid(pid, 0)
    report = json.loads(line) if line else {"error": "child died without a report"}
    return pid, report, go_w


def release(pid: int, go_w: int | None) -> None:
    if go_w is not None:
        os.write(go_w, b"x")
        os.close(go_w)
    os.waitpid(pid, 0)


def confined_probe() -> dict[str, Any]:
    """Load the filter as confine() does, then try what it must stop and what it must allow."""
    confine.prctl(confine.PR_SET_NO_NEW_PRIVS, 1)
    confine.load_seccomp()
    report: dict[str, Any] = {}
    try:
        child = os.fork()
        if child == 0:
            os._exit(0)
        os.waitpid(child, 0)
        report["fork"] = "allowed"
    except OSError as exc:
        report["fork"] = exc.errno
    try:
        os.kill(os.getppid(), 0)
        report["kill_other"] = "allowed"
    except OSError as exc:
        report["kill_other"] = exc.errno
    try:
        os.kill(os.getpid(), 0)
        report["kill_self"] = "allowed"
    except OSError as exc:
        report["kill_self"] = exc.errno
    libc = ctypes.CDLL(None, use_errno=True)
    shm = libc.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
    if shm >= 0:
        libc.shmctl(shm, IPC_RMID, None)  # the filter is not there: leave nothing behind
        report["shmget"] = "allowed"
    else:
        report["shmget"] = ctypes.get_errno()
    with open("/proc/self/status") as fh:
        report["status"] = {k: v.strip() for k, _, v in (line.partition(":") for line in fh) if k in STATUS_LINES}
    return report


def assert_confined(report: dict[str, Any]) -> None:
    assert "error" not in report, report
    assert report["fork"] == errno.EPERM
    assert report["kill_other"] == errno.EPERM
    assert report["kill_self"] == "allowed"
    assert report["shmget"] == errno.EPERM
    assert report["status"]["Seccomp"] == "2"
    assert report["status"]["NoNewPrivs"] == "1"


def forbid_building(monkeypatch) -> None:
    """After this, a child that builds the filter with libseccomp reports an error instead."""
    def refuse(me: int) -> Any:
        raise AssertionError("the child built the filter instead of using the template")

    monkeypatch.setattr(confine, "_build_filter", refuse)


def count_builds(monkeypatch) -> list[int]:
    """Record the pid of every filter built with libseccomp, in this process or a child."""
    built: list[int] = []
    real = confine._build_filter

    def spy(me: int) -> Any:
        built.append(me)
        return real(me)

    monkeypatch.setattr(confine, "_build_filter", spy)
    return built


def test_patched_template_is_the_program_libseccomp_builds_for_each_pid() -> None:
    template = confine.prepare_seccomp()
    assert template is not None
    assert template.pid_offsets, "kill's rule holds the pid on every architecture with kill"
    assert template.set_nnp
    for pid in (1, 2, 300, 4242, os.getpid(), 65535, 65536, 2**22 - 1, 2**22):
        assert template.for_pid(pid) == confine._export(confine._build_filter(pid)), pid


def test_prepare_is_done_once() -> None:
    first = confine.prepare_seccomp()
    assert confine.prepare_seccomp() is first


def test_fast_path_confines_the_child(monkeypatch) -> None:
    assert confine.prepare_seccomp() is not None
    forbid_building(monkeypatch)
    _, report, _ = in_child(confined_probe)
    assert_confined(report)


def test_fast_and_slow_path_leave_the_child_in_the_same_state(monkeypatch) -> None:
    _, slow, _ = in_child(confined_probe)
    assert confine.prepare_seccomp() is not None
    forbid_building(monkeypatch)
    _, fast, _ = in_child(confined_probe)
    assert_confined(slow)
    assert fast == slow


def test_a_helper_prepares_the_template_without_loading_pyseccomp_here() -> None:
    """The worker forks every child: it must not load pyseccomp, whose imports (tempfile, threading,
    random) add after-fork hooks that every child would run. A helper child builds the template."""
    code = f"""
import json, sys
sys.path.insert(0, {str(confine.__file__.rsplit("/", 1)[0])!r})
import confine
available = confine.prepare_seccomp_apart()
template = confine._template
loaded = sorted(m for m in ("pyseccomp", "tempfile", "threading", "random") if m in sys.modules)
print(json.dumps({{"available": available, "program": template.program.hex() if template else None,
                  "offsets": list(template.pid_offsets) if template else None, "loaded": loaded}}))
"""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["available"] is True
    assert found["loaded"] == []
    mine = confine.prepare_seccomp()  # built here, in this process, with libseccomp
    assert mine is not None
    assert found["program"] == mine.program.hex() and tuple(found["offsets"]) == mine.pid_offsets


def test_without_a_template_the_helper_leaves_the_bindings_loaded_for_the_children(monkeypatch) -> None:
    monkeypatch.setattr(confine, "_make_template", lambda: None)  # as when the template cannot be trusted

    def prepare() -> dict[str, Any]:
        confine._bindings.clear()  # in this fork only: as in a worker that never loaded them
        return {"available": confine.prepare_seccomp_apart(), "template": confine._template is not None,
                "bindings": confine._bindings != [] and confine._bindings[0] is not None}

    _, report, _ = in_child(prepare)
    assert report == {"available": True, "template": False, "bindings": True}


def installed_filter(pid: int) -> bytes | None:
    """The BPF program installed in stopped-able child ``pid``, or None where tracing is refused."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
    libc.ptrace.restype = ctypes.c_long
    if libc.ptrace(PTRACE_ATTACH, pid, None, None) != 0:
        return None
    try:
        os.waitpid(pid, 0)
        count = libc.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, None)
        if count <= 0:
            return None
        buffer = ctypes.create_string_buffer(count * 8)
        if libc.ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, buffer) != count:
            return None
        return buffer.raw
    finally:
        libc.ptrace(PTRACE_DETACH, pid, None, None)


def filter_loaded_in_child() -> tuple[int, bytes | None]:
    """A child that loads the seccomp filter as the worker's children do: its pid, and the program the kernel
    holds for it (None where the kernel does not let this process read it)."""
    def load() -> dict[str, Any]:
        confine.prctl(confine.PR_SET_NO_NEW_PRIVS, 1)
        confine.load_seccomp()
        return {}

    pid, report, go = in_child(load, hold=True)
    try:
        assert report == {}
        return pid, installed_filter(pid)
    finally:
        release(pid, go)


def test_the_installed_program_is_the_one_libseccomp_installs(monkeypatch) -> None:
    slow_pid, slow = filter_loaded_in_child()
    if slow is None:
        pytest.skip("the kernel does not let this process read a child's seccomp filter")
    template = confine.prepare_seccomp()
    assert template is not None
    assert slow == template.for_pid(slow_pid)  # libseccomp's load() installs what it exports
    forbid_building(monkeypatch)
    fast_pid, fast = filter_loaded_in_child()
    assert fast == template.for_pid(fast_pid)


def _export_fails(real: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    def export(filt: Any) -> bytes:
        raise OSError(errno.EBADF, "export failed")

    return export


def _other_instruction_differs(real: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    calls: list[int] = []

    def export(filt: Any) -> bytes:
        program = bytearray(real(filt))
        calls.append(1)
        if len(calls) == 2:
            program[2] ^= 1  # the first instruction's jt: the shape, not a pid
        return bytes(program)

    return export


def _lengths_differ(real: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    calls: list[int] = []

    def export(filt: Any) -> bytes:
        calls.append(1)
        program = real(filt)
        return program + program[-8:] if len(calls) == 2 else program

    return export


@pytest.mark.parametrize("breakage", [_export_fails, _other_instruction_differs, _lengths_differ],
                         ids=["export fails", "an instruction besides the pid differs", "lengths differ"])
def test_an_untrustworthy_template_leaves_children_on_the_slow_path(monkeypatch, breakage) -> None:
    monkeypatch.setattr(confine, "_export", breakage(confine._export))
    built = count_builds(monkeypatch)
    assert confine.prepare_seccomp() is None
    before = len(built)
    pid, report, _ = in_child(lambda: {**confined_probe(), "built": built[before:]})
    assert_confined(report)
    assert report["built"] == [pid]


def test_load_flags_other_than_the_defaults_leave_the_slow_path(monkeypatch) -> None:
    real = confine._build_filter

    def synced(me: int) -> Any:
        filt = real(me)
        filt.set_attr(confine._lib().Attr.CTL_TSYNC, 1)  # prctl() could not do what load() then does
        return filt

    monkeypatch.setattr(confine, "_build_filter", synced)
    assert confine.prepare_seccomp() is None


def test_without_pyseccomp_there_is_no_template(monkeypatch) -> None:
    monkeypatch.setattr(confine, "_lib", lambda: None)
    assert confine.prepare_seccomp() is None


def test_the_bindings_load_by_their_usual_names_without_running_ldconfig(monkeypatch) -> None:
    """pyseccomp looks up libc and libseccomp with ctypes.util.find_library, which runs `ldconfig -p` in a
    subprocess per name; while the bindings load, the usual Linux names are tried first."""
    import ctypes.util
    import subprocess

    asked: list[str] = []

    def slow_lookup(name: str) -> str | None:
        asked.append(name)
        return None

    def no_subprocess(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a subprocess was started: {args}")

    monkeypatch.setattr(ctypes.util, "find_library", slow_lookup)
    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    with confine._sonames_first():
        assert ctypes.util.find_library("seccomp") == "libseccomp.so.2"
        assert ctypes.util.find_library("c") == "libc.so.6"
        assert ctypes.util.find_library("m") is None  # any other name: looked up as before
    assert asked == ["m"]
    assert ctypes.util.find_library is slow_lookup  # put back afterwards
