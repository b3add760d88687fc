"""A batch keeps its results on disk: the grader's memory does not grow with the class, and nothing is lost."""

from __future__ import annotations

import gc
import json
import os
import time
from pathlib import Path

import pytest
from toy import COURSE, GOOD  # tests/, on sys.path under pytest

from grader import batch as batch_module
from grader.batch import BatchOptions, Journal, atomic_stream, grade_batch
from grader.errors import GraderError
from grader.loader import load_assignment
from grader.render import pages_apart
from grader.render import reports as reports_module
from grader.render.reports import ClassDigest, gradebook_csv, write_reports
from grader.results import CaseResult, ProblemResult, SubmissionResult, batch_from_json, to_json
from grader.sandbox.inprocess import InProcessRunner
from grader.spool import PREFIX, STALE_SECONDS, ResultSpool, read_results, sweep

WRONG = GOOD.replace("return 2 * x", "return 3 * x")


def _result(student: str, score: float = 1.0) -> SubmissionResult:
    case = CaseResult("c1", "public", "passed" if score else "failed", message="" if score else "wrong")
    problem = ProblemResult("p", "P", "function", 1.0, score, "graded", (case,))
    return SubmissionResult(student, "toy", f"{student}/toy.py", "graded", score, 1.0, (problem,))


def test_a_spool_gives_back_what_was_put_in_order_whatever_order_it_came(tmp_path: Path) -> None:
    results = [_result(name, score) for name, score in (("ann", 1.0), ("bo", 0.0), ("cy", 1.0))]
    spool = ResultSpool(tmp_path, 3)
    for i in (2, 0, 1):
        spool.put(i, results[i])
    assert list(spool) == results and len(spool) == 3
    assert spool[-1] == results[2] and spool[1:] == tuple(results[1:])
    assert spool == tuple(results) and tuple(results) == spool and spool != tuple(results[:2])
    assert json.loads(spool.text(1))["student"] == "bo"
    with pytest.raises(IndexError):
        spool.put(3, results[0])
    with pytest.raises(IndexError):
        spool.text(3)
    folder = spool.folder
    assert folder.parent == tmp_path and folder.name.startswith(PREFIX)
    spool.close()
    assert not folder.exists()


def test_a_result_never_put_is_an_error_not_a_silent_gap(tmp_path: Path) -> None:
    spool = ResultSpool(tmp_path, 2)
    spool.put(0, _result("ann"))
    with pytest.raises(LookupError, match="never put"):
        list(spool)


def test_a_spool_is_removed_when_nothing_holds_it_and_stale_ones_are_swept(tmp_path: Path) -> None:
    spool = ResultSpool(tmp_path, 1)
    folder = spool.folder
    del spool
    gc.collect()
    assert not folder.exists()

    old, fresh, other = tmp_path / f"{PREFIX}old", tmp_path / f"{PREFIX}fresh", tmp_path / "keep-me"
    for path in (old, fresh, other):
        path.mkdir()
        (path / "0.json").write_text("{}")
    long_ago = time.time() - STALE_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    sweep(tmp_path)
    assert not old.exists() and fresh.exists() and other.exists()  # a batch still running keeps its spool


def _class(root: Path, n: int) -> Path:
    for i in range(n):
        (root / f"s{i:02d}").mkdir(parents=True)
        (root / f"s{i:02d}" / "toy.py").write_text(GOOD if i % 2 else WRONG)
    return root


def _live(kind: type) -> int:
    gc.collect()
    return sum(isinstance(o, kind) for o in gc.get_objects())


def test_a_batch_holds_no_result_in_memory_and_its_reports_read_each_once(tmp_path: Path) -> None:
    toy = load_assignment("toy", COURSE)
    subs = _class(tmp_path / "subs", 12)
    before = _live(CaseResult), _live(SubmissionResult)
    batch = grade_batch(toy, subs, tmp_path / "out", "k", InProcessRunner(), 2, BatchOptions(fresh=True))
    assert isinstance(batch.submissions, ResultSpool) and len(batch.submissions) == 12
    assert (_live(CaseResult), _live(SubmissionResult)) == before  # all of them are on disk

    digest = write_reports(batch, tmp_path / "out")
    assert (_live(CaseResult), _live(SubmissionResult)) == before  # the digest keeps rows, not results
    assert len(digest.rows) == 12 and [r.student for r in digest.rows] == [f"s{i:02d}" for i in range(12)]

    # results.json holds every result, one line per student, and reads back as the batch
    text = (tmp_path / "out" / "results.json").read_text(encoding="utf-8")
    assert json.loads(text) == json.loads(to_json(batch))
    assert batch_from_json(text).submissions == batch.submissions
    assert sum(line.startswith('{"student": ') for line in text.splitlines()) == 12
    # the digest's gradebook is the batch's
    assert gradebook_csv(digest) == gradebook_csv(batch)
    wrong = [r for r in digest.rows if r.score < r.max_score]
    assert len(wrong) == 6 and all(r.student in {f"s{i:02d}" for i in range(0, 12, 2)} for r in wrong)
    groups = ClassDigest.of(batch).groups()
    assert {row["s"].student for g in groups["double"] for row in g["students"]} == {r.student for r in wrong}


def test_a_result_that_cannot_be_written_costs_only_its_student(tmp_path: Path, monkeypatch) -> None:
    toy = load_assignment("toy", COURSE)
    subs = _class(tmp_path / "subs", 4)
    real_json, real_save = batch_module.submission_json, Journal.save_text

    def refuse_s02(result: SubmissionResult) -> str:
        if result.student == "s02" and result.status != "error":
            raise ValueError("Out of range float values are not JSON compliant")
        return real_json(result)

    def disk_refuses_s03(self: Journal, student: str, text: str, meta: dict) -> None:
        if student == "s03":
            raise OSError(28, "No space left on device")
        real_save(self, student, text, meta)

    monkeypatch.setattr(batch_module, "submission_json", refuse_s02)
    monkeypatch.setattr(Journal, "save_text", disk_refuses_s03)
    batch = grade_batch(toy, subs, tmp_path / "out", "k", InProcessRunner(), 2, BatchOptions(fresh=True))
    found = {s.student: s for s in batch.submissions}
    for student, why in (("s02", "ValueError"), ("s03", "No space left")):
        assert found[student].status == "error" and found[student].grader_failed
        assert "could not record" in found[student].message and why in found[student].message
    assert [found[s].status for s in ("s00", "s01")] == ["graded"] * 2
    assert found["s01"].score == found["s01"].max_score
    journalled = sorted(p.stem for p in (tmp_path / "out" / ".state").glob("*.json"))
    assert journalled == ["s00", "s01"]  # the failed ones are graded again next time
    again = Journal(tmp_path / "out", fresh=False).entry("s01")
    assert again is not None and again[0] == found["s01"] and again[1]["submission_sha"]


def test_a_stream_that_fails_leaves_neither_a_half_file_nor_its_temporary(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_text("the previous run")
    with pytest.raises(RuntimeError), atomic_stream(target) as file:
        file.write("half of it")
        raise RuntimeError("disk gone")
    assert target.read_text() == "the previous run" and [p.name for p in tmp_path.iterdir()] == ["results.json"]
    with atomic_stream(target) as file:
        file.write("all of it")
    assert target.read_text() == "all of it" and [p.name for p in tmp_path.iterdir()] == ["results.json"]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_large_class_pages_rendered_apart_equal_those_rendered_in_line(tmp_path: Path, monkeypatch) -> None:
    toy = load_assignment("toy", COURSE)
    batch = grade_batch(toy, _class(tmp_path / "subs", 9), tmp_path / "out", "k", InProcessRunner(), 2,
                        BatchOptions(fresh=True))
    write_reports(batch, tmp_path / "inline", workers=1, for_students=True)
    monkeypatch.setattr(pages_apart, "PAGES_APART", 4)  # as if 9 students were a large class
    monkeypatch.setattr(pages_apart, "PER_PROCESS", 3)
    assert pages_apart.page_processes(batch, 8) == 3 and pages_apart.page_processes(batch, 1) == 0

    def not_here(*args: object, **kwargs: object) -> None:
        raise AssertionError("a student page was rendered in the grader's process")

    monkeypatch.setattr(reports_module, "write_student_pages", not_here)
    write_reports(batch, tmp_path / "apart", workers=3, for_students=True)
    inline, apart = _files(tmp_path / "inline"), _files(tmp_path / "apart")
    assert sum(name.startswith("students-public") for name in apart) == 9
    assert apart == inline


def test_a_page_process_that_fails_is_reported_and_loses_no_result(tmp_path: Path, monkeypatch) -> None:
    toy = load_assignment("toy", COURSE)
    batch = grade_batch(toy, _class(tmp_path / "subs", 6), tmp_path / "out", "k", InProcessRunner(), 2,
                        BatchOptions(fresh=True))
    monkeypatch.setattr(pages_apart, "PAGES_APART", 4)
    monkeypatch.setattr(pages_apart, "PER_PROCESS", 3)
    target = tmp_path / "report"
    target.mkdir()
    (target / "students").write_text("a file where the pages' folder should be")
    with pytest.raises(GraderError, match="rendering student pages failed"):
        write_reports(batch, target, workers=2)
    written = json.loads((target / "results.json").read_text(encoding="utf-8"))
    assert [s["student"] for s in written["submissions"]] == [f"s{i:02d}" for i in range(6)]


def test_grader_report_reads_results_json_line_by_line_into_a_spool(tmp_path: Path) -> None:
    toy = load_assignment("toy", COURSE)
    batch = grade_batch(toy, _class(tmp_path / "subs", 8), tmp_path / "out", "k", InProcessRunner(), 2,
                        BatchOptions(fresh=True))
    write_reports(batch, tmp_path / "first")
    path = tmp_path / "first" / "results.json"
    before = _live(CaseResult), _live(SubmissionResult)
    read = read_results(path, tmp_path / "spools")
    assert isinstance(read.submissions, ResultSpool) and len(read.submissions) == 8
    assert (_live(CaseResult), _live(SubmissionResult)) == before  # checked line by line, none kept
    assert read == batch_from_json(path.read_text(encoding="utf-8"))

    # an earlier version's results.json, indented throughout, is read whole
    old = tmp_path / "old.json"
    old.write_text(to_json(batch), encoding="utf-8")
    again = read_results(old, tmp_path / "spools")
    assert isinstance(again.submissions, tuple) and again == read

    # a damaged line is not skipped: the file is then read whole, and fails as a whole
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if line.startswith('{"student": "s03"'))
    lines[cut] = lines[cut][: len(lines[cut]) // 2] + ",\n"
    damaged = tmp_path / "damaged.json"
    damaged.write_text("".join(lines), encoding="utf-8")
    spools = set((tmp_path / "spools").iterdir())
    with pytest.raises(ValueError):
        read_results(damaged, tmp_path / "spools")
    assert set((tmp_path / "spools").iterdir()) == spools  # the half-made spool went with it
