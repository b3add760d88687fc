"""A batch's results kept on disk, so that the grader's memory does not grow with the class.

Each student's :class:`SubmissionResult` is written as one line of JSON the moment it is known, and
read back only when a renderer asks for it: a :class:`ResultSpool` is the ``submissions`` sequence
of a :class:`BatchResult` that ``grade_batch`` returns. Reports walk it once per file they write
(the results of 300 students held in memory took about 15 MB; measured by ``benchmarks/bench.py``).

The spool is a private folder under the batch's ``.state/``, removed when the spool is garbage
collected or the process exits. A folder left by a process that was killed is swept by the next
batch into the same output folder once it is a day old (it may belong to a batch still running).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import overload

from .results import NOT_A_RESULT, BatchResult, SubmissionResult, batch_from_json, submission_from_json, to_dict

PREFIX = "spool-"
STALE_SECONDS = 24 * 3600


def submission_json(result: SubmissionResult) -> str:
    """One result as one line of JSON, as the journal, the spool and ``results.json`` hold it. ASCII: the
    encoder is a quarter faster so (measured on a 40 KB result), and every grader pays it per student."""
    return json.dumps(to_dict(result), allow_nan=False)


def sweep(parent: Path, now: float | None = None) -> None:
    """Remove spool folders under ``parent`` that no process has touched for a day."""
    now = time.time() if now is None else now
    for path in parent.glob(PREFIX + "*"):
        try:
            if path.is_dir() and not path.is_symlink() and now - path.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


class ResultSpool(Sequence[SubmissionResult]):
    """``size`` results, put in any order by index, read in order; every index must be put before reading."""

    def __init__(self, parent: Path, size: int) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        sweep(parent)
        self.folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
        self.size = size
        self._remove = weakref.finalize(self, shutil.rmtree, self.folder, ignore_errors=True)

    def put(self, index: int, result: SubmissionResult) -> None:
        self.put_text(index, submission_json(result))

    def put_text(self, index: int, text: str) -> None:
        """A result already encoded by :func:`submission_json`."""
        if not 0 <= index < self.size:
            raise IndexError(f"spool index {index} outside 0..{self.size - 1}")
        self.file(index).write_text(text, encoding="utf-8")

    def file(self, index: int) -> Path:
        """Where the result at ``index`` is (read by the processes that render pages apart)."""
        return self.folder / f"{index}.json"

    def append_text(self, text: str) -> None:
        """One more result, at the end (a file read line by line, whose length is not known beforehand)."""
        self.size += 1
        self.put_text(self.size - 1, text)

    def text(self, index: int) -> str:
        """The result at ``index`` as its JSON line (written to ``results.json`` without decoding it)."""
        if not 0 <= index < self.size:
            raise IndexError(index)
        try:
            return self.file(index).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LookupError(f"result {index} of the batch was never put in its spool {self.folder}") from None

    def records(self) -> Iterator[tuple[str, SubmissionResult]]:
        """Each result with its JSON line, in order (the line is copied to ``results.json`` as it is)."""
        for i in range(self.size):
            text = self.text(i)
            yield text, submission_from_json(text)

    @overload
    def __getitem__(self, index: int) -> SubmissionResult: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[SubmissionResult, ...]: ...

    def __getitem__(self, index: int | slice) -> SubmissionResult | tuple[SubmissionResult, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(self.size)))
        if index < 0:
            index += self.size
        return submission_from_json(self.text(index))

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[SubmissionResult]:
        return (self[i] for i in range(self.size))

    def __eq__(self, other: object) -> bool:  # equal to any sequence of the same results (a tuple read back)
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(other) == self.size and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def close(self) -> None:
        """Remove the spool's folder now (it is removed anyway when the spool is collected)."""
        self._remove()

    def __repr__(self) -> str:
        return f"ResultSpool({self.size} results in {self.folder})"


SUBMISSIONS_LINE = ' "submissions": ['  # where write_reports starts the results, one per line


class _NotOneResultPerLine(Exception):
    pass


def read_results(path: Path, spool_parent: Path) -> BatchResult:
    """A ``results.json`` as a batch. One written by ``write_reports`` (one result per line) is read line by
    line into a spool under ``spool_parent``, each result checked as it goes, so that memory stays flat in the
    class's size; any other valid one (an earlier version's, indented throughout) is read whole. Raises one of
    ``NOT_A_RESULT`` (or OSError) for a file that is not a batch's results."""
    try:
        return _read_lines(path, spool_parent)
    except _NotOneResultPerLine:
        return batch_from_json(path.read_text(encoding="utf-8"))


def _read_lines(path: Path, spool_parent: Path) -> BatchResult:
    with path.open(encoding="utf-8") as file:
        head: list[str] = []
        for line in file:
            if line.rstrip("\n") == SUBMISSIONS_LINE:
                break
            head.append(line)
        else:
            raise _NotOneResultPerLine
        if not head or not head[-1].rstrip().endswith(","):
            raise _NotOneResultPerLine
        batch = batch_from_json("".join(head) + ' "submissions": []\n}')
        spool = ResultSpool(spool_parent, 0)
        try:
            rest = ""
            for line in file:
                text = line.rstrip("\n")
                if not text.startswith("{"):
                    rest = line + file.read()
                    break
                text = text[:-1] if text.endswith(",") else text
                try:
                    submission_from_json(text)
                except NOT_A_RESULT:
                    raise _NotOneResultPerLine from None
                spool.append_text(text)
            if rest.split() != ["]", "}"]:
                raise _NotOneResultPerLine
        except _NotOneResultPerLine:
            spool.close()
            raise
    return replace(batch, submissions=spool)


def release(batch: BatchResult) -> None:
    """Remove a spooled batch's folder now, once nothing will read it again (a batch held in memory: nothing)."""
    if isinstance(batch.submissions, ResultSpool):
        batch.submissions.close()
