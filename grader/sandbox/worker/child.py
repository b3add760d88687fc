"""The process that runs student code: import the submission, call functions, send data back.

It starts as a fork of the pristine worker, so it already has numpy imported,
and reads its job from the job manager (:func:`start`). It never sees expected
values: it holds the submission's source and the inputs of its cases, nothing
else. Whatever it sends is treated by the grader as untrusted data, so nothing
here needs to be tamper-proof; it only needs to be helpful to honest submissions.
"""

from __future__ import annotations

import io
import itertools
import linecache
import os
import pickle
import sys
import time
import traceback
import types
from typing import Any, NoReturn

import wire
from calls import MAX_DETAIL

PRELOADABLE = {"torch"}  # heavy libraries imported before a job's import clock starts


def preload(names: list[str]) -> list[str]:
    """Import the heavy libraries a submission uses (torch) before its import is timed; return those loaded."""
    loaded = []
    for name in names:
        if name in PRELOADABLE and name not in sys.modules:
            try:
                __import__(name)
            except Exception:  # noqa: BLE001 - the student's own import will report it
                continue
            if name == "torch":
                sys.modules["torch"].set_num_threads(1)
        if name in sys.modules:
            loaded.append(name)
    return loaded


def _send(fd: int, message: dict[str, Any], value: bytes = b"") -> None:
    wire.write_all(fd, wire.message_frame(message, value))


def describe_exception(exc: BaseException, filename: str) -> str:
    """One line for the exception plus the student's own frames, bounded in size."""
    try:
        # the "Type: message" line last in Python's layout goes first here (a SyntaxError's
        # location and caret lines follow it)
        lines = "".join(traceback.format_exception_only(type(exc), exc)).rstrip().splitlines()
        head = "\n".join([lines[-1], *lines[:-1]]) if lines else type(exc).__name__
    except BaseException:  # noqa: BLE001 - a hostile __str__ must not escape
        head = f"{type(exc).__name__}: <unprintable>"
    if isinstance(exc, SystemExit):
        head = f"SystemExit({exc.code!r}): the submission called sys.exit()"
    try:
        # a notebook's cells are compiled one by one as "cell N" (grader.submission): their frames are the student's
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if f.filename == filename or f.filename.startswith("cell ")]
        lines = [f"  {f.filename}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}" for f in frames[-4:]]
    except BaseException:  # noqa: BLE001
        lines = []
    text = "\n".join([head, *lines])
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."


def _redirect_output(out_fd: int) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    if devnull != 0:
        os.dup2(devnull, 0)
        os.close(devnull)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True, errors="replace")
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True, errors="replace")


def _close_other_fds(keep: set[int]) -> None:
    """Close every descriptor but ``keep``: a child inherits the worker's, such as its line to the manager.

    By ranges (one close_range call each where the kernel has it) rather than by listing /proc/self/fd:
    cheaper in a fresh fork, and it works without /proc.
    """
    import resource  # here: the portable child shares this module where resource does not exist

    top = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    bounds = [-1, *sorted(keep), top if top != resource.RLIM_INFINITY else 1 << 20]
    for low, high in itertools.pairwise(bounds):
        if low + 1 < high:  # an empty range is not a no-op: os.closerange(0, 0) closes everything
            os.closerange(low + 1, high)


def _import_submission(job: dict[str, Any]) -> types.ModuleType:
    filename, source = job["filename"], job["source"]
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(job["module"])
    module.__file__ = filename
    sys.modules[job["module"]] = module
    code = compile(source, filename, "exec", dont_inherit=True)
    exec(code, module.__dict__)  # noqa: S102 - this is the sandboxed child
    return module


def _answers(module: types.ModuleType) -> tuple[Any, str]:
    answers = module.__dict__.get("ANSWERS")
    if answers is None:
        return None, "no module-level ANSWERS dict"
    if not isinstance(answers, dict):
        return None, f"ANSWERS is a {type(answers).__name__}, not a dict"
    try:
        return wire.to_wire(dict(answers)), ""
    except wire.WireError as exc:
        return None, f"ANSWERS cannot be read: {exc}"
    except BaseException as exc:  # noqa: BLE001
        return None, describe_exception(exc, "")


def read_orders(fd: int) -> tuple[dict[str, Any], dict[str, Any], list[bytes]] | None:
    """A child's orders (where to start, whether to report the import, ...) and its job with the calls'
    pickled inputs, as two frames on ``fd``; None when they do not come whole."""
    orders = wire.read_frame(fd)
    message = wire.read_message(fd)
    if not isinstance(orders, dict) or message is None or not isinstance(message[0], dict):
        return None
    return orders, message[0], wire.split_args(*message)


def start(job_fd: int, result_fd: int, out_fd: int) -> NoReturn:
    """Child main, just forked by the pristine worker: read this child's orders and the job from the
    manager on ``job_fd``, then confine itself and run the submission. Never returns."""
    try:
        _close_other_fds({job_fd, result_fd, out_fd})
        read = read_orders(job_fd)
        os.close(job_fd)
    except BaseException:  # noqa: BLE001
        read = None
    if read is None:
        os._exit(72)  # the manager went away: nobody reads this child
    orders, job, call_args = read
    run(job, call_args, int(orders["start"]), result_fd, out_fd, str(orders["workdir"]), orders.get("uid"),
        bool(orders.get("seccomp")), bool(orders.get("report_import")))


def run(job: dict[str, Any], call_args: list[bytes], start: int, result_fd: int, out_fd: int, workdir: str,
        uid: int | None, use_seccomp: bool, report_import: bool) -> NoReturn:
    """Confine this process (holding no descriptor but these two), then import the submission and run its
    calls: never returns."""
    try:
        _redirect_output(out_fd)
        os.chdir(workdir)
        for var in ("HOME", "TMPDIR"):  # tempfile and friends write into the run's own folder
            os.environ[var] = workdir
        os.setpgid(0, 0)
        import confine  # here, not at the top: the portable child reuses this module where confine cannot load

        confine.confine(job["limits"], uid, use_seccomp)
    except BaseException as exc:  # noqa: BLE001
        detail = f"sandbox setup failed: {exc!r} " + traceback.format_exc()[-800:]
        _send(result_fd, {"type": "import", "status": "setup", "detail": detail})
        os._exit(70)
    run_submission(job, call_args, start, result_fd, report_import)


def run_submission(job: dict[str, Any], call_args: list[bytes], start: int, result_fd: int,
                   report_import: bool) -> NoReturn:
    """Import the submission, report it, then run its calls from ``start``: never returns.

    Shared by the forked child (after :func:`run` confines it) and the portable child.
    """
    filename = job["filename"]
    _send(result_fd, {"type": "set_up"})  # student code runs from here on: it can no longer report "setup"
    try:
        module = _import_submission(job)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and friends included
        _send(result_fd, {"type": "import", "status": "error", "detail": describe_exception(exc, filename)})
        os._exit(0)
    if report_import:
        functions = {name: callable(module.__dict__.get(name)) for name in job["functions"]}
        defined = sorted(str(k) for k, v in module.__dict__.items()
                         if isinstance(k, str) and not k.startswith("_") and callable(v))[:200]
        answers, answers_error = _answers(module) if job["want_answers"] else (None, "")
        _send(result_fd, {"type": "import", "status": "ok", "functions": functions, "defined": defined,
                          "answers": answers, "answers_error": answers_error})
    else:
        _send(result_fd, {"type": "import", "status": "ok"})
    for index in range(start, len(job["calls"])):
        call = job["calls"][index]
        func = module.__dict__.get(call["function"])
        message: dict[str, Any] = {"type": "result", "index": index}
        value_json = b""
        began = time.perf_counter()
        try:
            if not callable(func):
                raise NameError(f"{call['function']} is not defined as a function")
            args = pickle.loads(call_args[index])  # the grader's own inputs (wire.args_bytes)
            value = func(*args)
            message["seconds"] = time.perf_counter() - began
            value_json = wire.dumps(wire.to_wire(value))
            message["status"] = "ok"
        except wire.WireError as exc:
            message.update(status="invalid", detail=str(exc)[:MAX_DETAIL])
        except BaseException as exc:  # noqa: BLE001
            message.update(status="error", detail=describe_exception(exc, filename),
                           not_implemented=isinstance(exc, NotImplementedError))
        message.setdefault("seconds", time.perf_counter() - began)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        _send(result_fd, message, value_json)
    os._exit(0)
