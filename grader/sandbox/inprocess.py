"""An in-process runner: the fast test double for the engine. It gives no isolation at all.

It honours the same contract as the sandboxed worker (a fresh module per
job, every value sent through the wire format and back, exceptions turned
into ``error`` reports) but enforces no time or memory limit, so it must
only ever run trusted code: the references and wrong variants in the tests.
"""

from __future__ import annotations

import pickle
import time
import types
from dataclasses import dataclass

from .runner import ArgsCache, Call, CallReport, ImportReport, Isolation, Job, RunReport, value_key
from .worker import wire


@dataclass
class _Done:
    report: RunReport

    def wait(self) -> RunReport:
        return self.report


class InProcessRunner:
    isolation = Isolation(mode="none", layers=(), missing=("process",), note="in-process test runner")

    def __init__(self) -> None:
        self.args = ArgsCache()  # the shared calls' inputs, pickled once, as the sandboxed runner keeps them

    def submit(self, job: Job) -> _Done:
        return _Done(self.run(job))

    def run(self, job: Job) -> RunReport:
        began = time.perf_counter()
        module = types.ModuleType(job.module)
        module.__file__ = job.filename
        try:
            exec(compile(job.source, job.filename, "exec"), module.__dict__)  # noqa: S102 - trusted code only
        except BaseException as exc:  # noqa: BLE001
            skipped = CallReport(status="skipped", detail="not run: the submission did not import")
            return RunReport(ImportReport(status="error", detail=f"{type(exc).__name__}: {exc}"),
                             (skipped,) * len(job.calls))
        answers, answers_error = None, ""
        if job.want_answers:
            raw = module.__dict__.get("ANSWERS")
            if isinstance(raw, dict):
                try:
                    answers = wire.from_wire(wire.loads(wire.dumps(wire.to_wire(raw))))
                except wire.WireError as exc:
                    answers_error = f"ANSWERS cannot be read: {exc}"
            else:
                answers_error = "no module-level ANSWERS dict"
        defined = tuple(sorted(k for k, v in module.__dict__.items() if not k.startswith("_") and callable(v)))
        imported = ImportReport(status="ok", functions={f: callable(module.__dict__.get(f)) for f in job.functions},
                                defined=defined, answers=answers, answers_error=answers_error)
        return RunReport(imported, tuple(self._call(module, c) for c in job.calls),
                         seconds=time.perf_counter() - began)

    def _call(self, module: types.ModuleType, call: Call) -> CallReport:
        func = module.__dict__.get(call.function)
        fresh = pickle.loads(self.args.encoded(call))  # a fresh copy, as the worker's child gets; not the code's fault
        began = time.perf_counter()
        try:
            value = func(*fresh)  # type: ignore[misc]
            raw = wire.dumps(wire.to_wire(value))
            decoded = wire.from_wire(wire.loads(raw))
        except wire.WireError as exc:
            return CallReport(status="invalid", detail=str(exc))
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - as the worker reports sys.exit()
            return CallReport(status="error", detail=f"{type(exc).__name__}: {exc}",
                              seconds=time.perf_counter() - began,
                              not_implemented=isinstance(exc, NotImplementedError))
        return CallReport(status="ok", value=decoded, seconds=time.perf_counter() - began, key=value_key(raw))

    def close(self) -> None:
        pass
