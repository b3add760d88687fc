"""Grade a folder of submissions: one sub-folder per student, every student in parallel.

Nothing is lost when a batch is interrupted: each student's result is
journalled atomically (write, fsync, rename) under ``<out>/<assignment>/.state/``
as soon as it is known, keyed by a fingerprint of everything that decides
the grade (submission, problems, secret, limits, grader version). Running the
same command again reuses every journalled result whose fingerprint still
matches and grades only the rest; half-written files are never read because
they never carry the final name.

The journal is kept per problem: beside a student's result it records the
key of everything but the problems (submission, secret, limits, isolation,
grader version) and each problem's version (:func:`problem_versions`: a hash
of the problem's module and the course modules it imports). When only some
problems changed, the student's other problems are reused as they are and
only the changed ones run again (``engine.grade(only=...)``); scores are
recomputed from the cases with the current points.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from . import __version__
from .engine import Audience, CaseBook, grade
from .errors import GraderError, SubmissionError
from .intake import IntakeEntry, collect, is_zip, opened
from .loader import assignment_ids, problems_root
from .results import (
    NOT_A_RESULT,
    BatchResult,
    ProblemInfo,
    ProblemResult,
    SubmissionResult,
    score_problem,
    submission_from_dict,
)
from .sandbox.runner import Isolation, Limits, Runner
from .seeding import CASES_SCHEME, secret_id
from .spec import Assignment, FunctionProblem
from .spool import ResultSpool, submission_json
from .submission import read_submission
from .text import shell_word

STATE_DIR = ".state"
_SAFE = re.compile(r"[^a-z0-9._-]")
_CANONICAL = re.compile(r"[a-z0-9_][a-z0-9._-]{0,63}")  # kept as is: lower case, no "~", short
_WINDOWS_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?")
SECRET_PLACEHOLDER = "<your secret file>"


@dataclass(frozen=True)
class BatchOptions:
    limits: Limits = field(default_factory=Limits)
    fresh: bool = False
    custom_secret: bool = False  # replay does not find this secret by itself: its commands ask for it (never its path)
    problems_dir: Path | None = None  # the course graded (None: the bundled one); its sources key the journal
    layout: str = "auto"  # how the folder holds the submissions (grader.intake.LAYOUTS)
    shown_root: Path | None = None  # named in labels instead of the folder graded (a .zip's temporary copy)


def safe_name(student: str) -> str:
    """The file name (without extension) of a student's page and journal; distinct ids never share one.

    An id already in canonical form (lower-case letters, digits, ``._-``, at most 64 characters, not a
    Windows device name) is kept as is. Any other id becomes its lower-cased, sanitised form, then ``~`` and
    16 hex digits of the SHA-256 of the exact id. A canonical name never contains ``~`` and a sanitised one
    always does, so the two kinds cannot meet; within each kind names differ (case-insensitively too: a
    canonical name is lower case, the hash keeps ``Bob`` and ``bob`` apart).
    """
    if _CANONICAL.fullmatch(student) and not _WINDOWS_RESERVED.fullmatch(student):
        return student
    readable = re.sub(r"^[.-]", "_", _SAFE.sub("_", student.lower())[:48])  # no hidden file, no option-like name
    return readable + "~" + hashlib.sha256(student.encode()).hexdigest()[:16]


def discover_students(folder: Path) -> list[tuple[str, Path]]:
    """The student folders of the ``folders`` layout (``grade_batch`` reads every layout through grader.intake)."""
    if not folder.is_dir():
        raise GraderError(f"{folder} is not a folder of student sub-folders")
    # A student folder that is a symbolic link is listed (p.is_dir() follows it) and graded as unreadable.
    return sorted((p.name, p) for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def course_assignments(problems_dir: Path | None = None) -> tuple[str, ...]:
    """The course's assignment ids (intake never suggests a file named after another assignment); () if unknown."""
    try:
        return tuple(assignment_ids(problems_dir))
    except Exception:  # noqa: BLE001 - only a hint
        return ()


def atomic_write(path: Path, text: str, encoding: str | None = None) -> None:
    """Write ``text`` exactly (no newline translation) in ``encoding``: by default UTF-8, and UTF-8 with a BOM
    (``utf-8-sig``) for a ``.csv`` file, so that spreadsheets read non-ASCII names correctly."""
    encoding = encoding or ("utf-8-sig" if path.suffix.lower() == ".csv" else "utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    data = text.encode(encoding)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    except FileNotFoundError:  # the folder is made only when missing (a batch writes one file per student)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        # Durable before it carries its name. fsync costs about 0.4 ms a file here, waited for outside the
        # GIL (measured: fdatasync is no cheaper on ext4); it is not on the grader's CPU path.
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


@contextmanager
def atomic_stream(path: Path, encoding: str = "utf-8") -> Iterator[TextIO]:
    """A text file written piece by piece that takes ``path``'s name only when complete and durable (as
    :func:`atomic_write`), for files too large to hold as one string (a batch's ``results.json``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding=encoding, newline="") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def problems_digest(root: Path | None = None) -> str:
    """Hash of the course's problem sources: a changed problem invalidates journalled results."""
    digest = hashlib.sha256()
    base = problems_root(root)
    for path in sorted(base.rglob("*.py")):
        digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _module_file(path: Path) -> Path | None:
    """The source of the module ``path`` names (``x.py`` or the package ``x/__init__.py``), if any."""
    if path.with_name(path.name + ".py").is_file():
        return path.with_name(path.name + ".py")
    return path / "__init__.py" if (path / "__init__.py").is_file() else None


def _course_imports(path: Path, base: Path) -> set[Path]:
    """The course files ``path`` imports (relative imports, or absolute ones of the course package), anywhere in
    it (inside functions too): a submodule named in ``from X import name``, else ``X`` itself."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return set()
    found: set[Path | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = path.parent
                for _ in range(node.level - 1):
                    anchor = anchor.parent
            elif node.module and node.module.split(".")[0] == base.name:
                anchor = base.parent
            else:
                continue
            target = anchor.joinpath(*node.module.split(".")) if node.module else anchor
            subs = [_module_file(target / a.name) for a in node.names]
            found.update(subs)
            if None in subs:  # a name defined in the module itself
                found.add(_module_file(target))
        elif isinstance(node, ast.Import):
            found.update(_module_file(base.parent.joinpath(*a.name.split("."))) for a in node.names
                         if a.name.split(".")[0] == base.name)
    return {p.resolve() for p in found if p is not None and p.resolve().is_relative_to(base)}


def _problem_file(problem: object, base: Path) -> Path | None:
    """The module of the course that defines ``problem`` (its ``PROBLEM``), among the modules loaded."""
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and getattr(module, "PROBLEM", None) is problem:
            path = Path(file).resolve()
            if path.is_relative_to(base):
                return path
    return None


def problem_versions(assignment: Assignment, root: Path | None = None) -> dict[str, str]:
    """Per problem id, a hash of its module's source and of every course module it imports, transitively. A
    problem whose module cannot be found gets the digest of the whole course (any change re-runs it)."""
    try:
        base = problems_root(root)
    except Exception:  # noqa: BLE001 - no course folder (the student edition): every problem is the course
        base = None
    whole: list[str] = []
    versions = {}
    for problem in assignment.problems:
        start = _problem_file(problem, base) if base is not None else None
        if start is None or base is None:
            if not whole:
                try:
                    whole.append(problems_digest(root))
                except Exception:  # noqa: BLE001
                    whole.append("unknown")
            versions[problem.id] = "course:" + whole[0]
            continue
        seen, todo = {start}, [start]
        while todo:
            for found in _course_imports(todo.pop(), base):
                if found not in seen:
                    seen.add(found)
                    todo.append(found)
        digest = hashlib.sha256()
        for path in sorted(seen):
            digest.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        versions[problem.id] = digest.hexdigest()
    return versions


def _rescored(problem: ProblemResult, points: float) -> ProblemResult:
    """A journalled problem under the assignment's current points (the engine's scoring)."""
    score = score_problem(points, problem.cases) if problem.status == "graded" else 0.0
    return replace(problem, points=points, score=score)


def merge_problems(assignment: Assignment, base: SubmissionResult, reused: dict[str, ProblemResult],
                   fresh: SubmissionResult | None) -> SubmissionResult:
    """``fresh`` (the changed problems, graded now) with the ``reused`` problems, in the assignment's order,
    rescored; the total as the engine computes it. Other fields come from ``fresh`` (the printed output from
    ``base``, a run of every problem)."""
    new = {p.id: p for p in fresh.problems} if fresh is not None else {}
    problems = []
    for entry in assignment.entries:
        found = new.get(entry.problem.id) or reused.get(entry.problem.id)
        if found is not None:
            problems.append(_rescored(found, entry.points))
    total = round(sum(p.score for p in problems), 2)
    return replace(fresh or base, problems=tuple(problems), score=total, max_score=sum(p.points for p in problems),
                   output=base.output, output_bytes=base.output_bytes)


class Journal:
    """Per-student results of one assignment, written atomically, trusted only when complete."""

    def __init__(self, out_dir: Path, fresh: bool) -> None:
        self.dir = out_dir / STATE_DIR
        self.dir.mkdir(parents=True, exist_ok=True)
        if fresh:
            for path in self.dir.glob("*.json"):
                path.unlink()

    def load(self, student: str, fingerprint: str) -> SubmissionResult | None:
        found = self.entry(student)
        if found is None or found[0].fingerprint != fingerprint:
            return None
        return found[0]

    def entry(self, student: str) -> tuple[SubmissionResult, dict] | None:
        """The student's journalled result and what keys it per problem (``{}`` for an older journal)."""
        path = self.dir / f"{safe_name(student)}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            result = submission_from_dict(data)
            meta = data.get("journal") or {}
            if not isinstance(meta, dict) or not isinstance(meta.get("problems", {}), dict):
                meta = {}
        except (OSError, *NOT_A_RESULT):
            return None
        if result.student != student:
            return None
        return result, meta

    def submission_sha(self, student: str, fingerprint: str) -> str | None:
        """The content hash of the submission the journal holds for ``student`` under ``fingerprint`` (the
        gradebook's record of what was graded), read without building the result."""
        try:
            data = json.loads((self.dir / f"{safe_name(student)}.json").read_text(encoding="utf-8"))
            if data.get("student") != student or data.get("fingerprint") != fingerprint:
                return None
            sha = (data.get("journal") or {}).get("submission_sha")
        except (OSError, ValueError, AttributeError):
            return None
        return sha if isinstance(sha, str) else None

    def save_text(self, student: str, text: str, meta: dict) -> None:
        """Journal a result already encoded (``grader.spool.submission_json``) with what keys it."""
        if not (text.startswith("{") and text.endswith("}")):
            raise ValueError("a journalled result is one JSON object")
        atomic_write(self.dir / f"{safe_name(student)}.json", f'{text[:-1]}, "journal": {json.dumps(meta)}}}')


def fingerprint(assignment: Assignment, source_sha: str, secret: str, limits: Limits, digest: str,
                isolation: str) -> str:
    parts = [__version__, assignment.id, source_sha, secret_id(secret), repr(limits), digest, isolation, CASES_SCHEME]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def grade_batch(assignment: Assignment, folder: Path, out_dir: Path, secret: str, runner: Runner,
                jobs: int, options: BatchOptions | None = None,
                on_done: Callable[[SubmissionResult, bool], None] | None = None) -> BatchResult:
    """Grade every student of ``folder`` (a folder or a .zip, in any layout of grader.intake) with ``jobs``
    sandboxed workers; ``on_done(result, reused)`` is called as each one finishes."""
    options = options or BatchOptions()
    if is_zip(folder):  # labels and replay commands name the files as `unzip -d <name> <name>.zip` places them
        with opened(folder) as (unpacked, _):
            return grade_batch(assignment, unpacked, out_dir, secret, runner, jobs,
                               replace(options, shown_root=options.shown_root or folder.with_suffix("")), on_done)
    intake = collect(folder, assignment.id, options.layout, course_assignments(options.problems_dir))
    journal = Journal(out_dir, options.fresh)
    versions = problem_versions(assignment, options.problems_dir)  # the journal's key, problem by problem
    isolation: Isolation = runner.isolation
    book = CaseBook()  # the cases every student shares, solved once for the batch
    # Replay commands go on students' pages: they never carry the secret's path.
    secret_hint = f" --secret-file {SECRET_PLACEHOLDER}" if options.custom_secret else ""

    def one(entry: IntakeEntry) -> tuple[SubmissionResult, bool, dict | None]:
        """One student, guarded as a whole: whatever goes wrong becomes this student's ``error``. Returns the
        result, whether it was resumed, and what the journal keys it by (None: not to be journalled)."""
        try:
            result, reused, meta = graded(entry)
        except Exception as exc:  # noqa: BLE001 - one submission must never stop the batch
            result, reused, meta = SubmissionResult(
                entry.student, assignment.id, shown(entry.file or entry.where / assignment.filename), "error",
                0.0, assignment.max_score, (),
                f"the grader could not grade this submission ({type(exc).__name__}: {str(exc)[:300]}); "
                "the rest of the class was graded", grader_failed=True, warnings=entry.warnings), False, None
        return replace(result, name=entry.name, submitted_at=entry.submitted_at or "", late=entry.late), reused, meta

    def shown(path: Path) -> str:
        return str(options.shown_root / path.relative_to(folder)) if options.shown_root else str(path)

    def graded(entry: IntakeEntry) -> tuple[SubmissionResult, bool, dict | None]:
        student, file = entry.student, entry.file
        label = shown(file) if file else f"{shown(entry.where)}/{assignment.filename}"
        # replay finds the assignment from the file's name: say it when the LMS named the file otherwise
        named = "" if file is None or file.stem == assignment.id else f" --assignment {shell_word(assignment.id)}"
        if file is None:
            return SubmissionResult(student, assignment.id, label, "no_submission", 0.0, assignment.max_score, (),
                                    entry.missing or f"no {assignment.filename} (or .ipynb)",
                                    warnings=entry.warnings), False, None
        try:
            submission = read_submission(file, student, root=intake.root)
        except SubmissionError as exc:
            return SubmissionResult(student, assignment.id, label, "unreadable", 0.0, assignment.max_score, (),
                                    str(exc), warnings=entry.warnings), False, None
        warnings = entry.warnings + submission.warnings
        base = fingerprint(assignment, submission.sha256, secret, options.limits, "per-problem", isolation.mode)
        key = hashlib.sha256(json.dumps([base, sorted(versions.items())]).encode()).hexdigest()
        found = None if options.fresh else journal.entry(student)
        if found is not None and found[0].fingerprint == key:  # nothing changed
            return replace(merge_problems(assignment, found[0], {p.id: p for p in found[0].problems}, None),
                           warnings=warnings), True, None
        audience = Audience(hidden=True, secret=secret, student=student, reveal_answers=True,
                            replay_prefix=f"grader replay {shell_word(label)}",
                            replay_suffix=f" --student {shell_word(student)}{named}{secret_hint}")
        result = None
        if found is not None and found[1].get("base") == base:  # same submission: reuse the unchanged problems
            cached, kept = found[0], found[1]["problems"]
            reused = {p.id: p for p in cached.problems if p.id in versions and kept.get(p.id) == versions[p.id]}
            changed = [p.id for p in assignment.problems if p.id not in reused]
            if reused:
                fresh = grade(assignment, submission, runner, audience, options.limits, label, only=changed,
                              book=book) if changed else None
                if fresh is None or (fresh.status == cached.status and not fresh.grader_failed):
                    result = merge_problems(assignment, cached, reused, fresh)
        if result is None:
            result = grade(assignment, submission, runner, audience, options.limits, label, book=book)
        result = replace(result, fingerprint=key, warnings=warnings, source=submission.code or submission.source)
        meta = {"base": base, "submission_sha": submission.sha256, "problems": versions}
        return result, False, None if result.grader_failed else meta

    # Each result goes to disk as soon as it is known: the grader's memory does not grow with the class.
    spool = ResultSpool(journal.dir, len(intake.entries))

    def spooled(index: int, entry: IntakeEntry) -> None:
        result, reused, meta = one(entry)
        try:  # encoded once, for the journal and the spool (a third of the grader's added cost per student)
            text = submission_json(result)
            if meta is not None:
                journal.save_text(result.student, text, meta)
        except (ValueError, TypeError, OSError) as exc:  # this student's error, not the batch's
            result = replace(result, status="error", score=0.0, problems=(), grader_failed=True,
                             message=f"the grader could not record this result ({type(exc).__name__}: {exc})"[:300])
            text = submission_json(result)
        spool.put_text(index, text)
        if on_done:
            on_done(result, reused)

    # Two submissions in flight per worker: one runs in the sandbox while the grader draws the
    # cases of, or checks, the other (measured: 1.5x the throughput of one per worker).
    with ThreadPoolExecutor(max_workers=2 * max(1, jobs)) as pool:
        for _ in pool.map(spooled, range(len(intake.entries)), intake.entries):
            pass
    return BatchResult(
        assignment=assignment.id, title=assignment.title, max_score=assignment.max_score,
        isolation=isolation.mode, isolation_layers=tuple(isolation.layers), isolation_note=isolation.note,
        secret_id=secret_id(secret), grader_version=__version__, submissions=spool,
        problems=describe_problems(assignment), summary=assignment.summary,
        graded_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def describe_problems(assignment: Assignment) -> tuple[ProblemInfo, ...]:
    """What reports show of each problem, kept in the results so that they render from results alone."""
    infos = []
    for entry in assignment.entries:
        problem = entry.problem
        if isinstance(problem, FunctionProblem):
            infos.append(ProblemInfo(problem.id, problem.title, "function", entry.points, problem.statement,
                                     problem.signature, problem.check.description))
        else:
            infos.append(ProblemInfo(problem.id, problem.title, "answers", entry.points, problem.statement,
                                     "", "exact, key by key"))
    return tuple(infos)
