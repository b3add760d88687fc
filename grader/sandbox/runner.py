"""The boundary between the grader and whatever runs student code.

A runner takes a :class:`Job` (a submission's source and the inputs of its
calls: never expected values) and returns a :class:`RunReport` of plain
data. :class:`~grader.sandbox.process.SandboxRunner` runs jobs in the
sandboxed worker; :class:`~grader.sandbox.inprocess.InProcessRunner` is a
fast, unsafe double for the engine's unit tests.
"""

from __future__ import annotations

import hashlib
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

from ..limits import Limits
from .worker import wire

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Limits"]

ImportStatus = Literal["ok", "error", "timeout", "crash", "invalid", "setup", "lost"]
CallStatus = Literal["ok", "error", "invalid", "timeout", "crash", "skipped", "lost"]


class Call(NamedTuple):
    function: str
    args: tuple[Any, ...]
    shared: bool = False  # the same args go to every student (examples, public cases): worth encoding once


class ArgsCache:
    """Calls' pickled inputs (``wire.args_bytes``), kept for the shared calls: a batch sends the same cases to
    many students, and encodes each once. Owned by a runner; a race only encodes the same call twice."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, int], tuple[tuple[Any, ...], bytes]] = {}

    def encoded(self, call: Call) -> bytes:
        if not call.shared:
            return wire.args_bytes(call.args)
        key = (call.function, id(call.args))
        kept = self._kept.get(key)
        if kept is None:
            kept = self._kept[key] = (call.args, wire.args_bytes(call.args))  # holding the args keeps their id unique
        return kept[1]


class Job(NamedTuple):
    source: str
    filename: str
    module: str
    calls: tuple[Call, ...]
    functions: tuple[str, ...]
    want_answers: bool
    limits: Limits = Limits()  # frozen: one default instance serves every job
    preload: tuple[str, ...] = ()


class ImportReport(NamedTuple):
    status: ImportStatus
    detail: str = ""
    functions: Mapping[str, bool] = MappingProxyType({})  # read-only: the default is shared
    defined: tuple[str, ...] = ()
    answers: Any = None
    answers_error: str = ""


class CallReport(NamedTuple):
    status: CallStatus
    value: Any = None
    detail: str = ""
    seconds: float = 0.0
    not_implemented: bool = False
    # Names the value: two reports with the same non-empty key hold equal values (a digest of the value's wire
    # form, see value_key), so whatever is computed from a value alone can be kept under it. b"": unknown.
    key: bytes = b""


def value_key(raw: bytes) -> bytes:
    """The ``CallReport.key`` of a value whose wire form (``wire.dumps``) is ``raw``: 16 bytes of BLAKE2b,
    as a student cannot make two different values collide."""
    return hashlib.blake2b(raw, digest_size=16).digest()


class Isolation(NamedTuple):
    """What protects the grader from student code, as achieved (not merely requested)."""

    mode: Literal["full", "reduced", "none"]
    layers: tuple[str, ...]
    missing: tuple[str, ...] = ()
    note: str = ""

    @property
    def reduced(self) -> bool:
        return self.mode != "full"


class RunReport(NamedTuple):
    imported: ImportReport
    calls: tuple[CallReport, ...]
    output: str = ""
    output_bytes: int = 0
    seconds: float = 0.0
    isolation: Isolation | None = None  # of the worker that ran the job


class PendingRun(Protocol):
    def wait(self) -> RunReport: ...


class Runner(Protocol):
    """Runs jobs. ``submit`` returns at once so the grader can compute expected values meanwhile."""

    isolation: Isolation

    def submit(self, job: Job) -> PendingRun: ...

    def close(self) -> None: ...
