"""Files written by ``grader grade`` and ``grader report``: HTML pages (jinja2, autoescaped,
self-contained), ``results.json`` and a CSV gradebook. Everything is rendered from a
:class:`BatchResult` alone (statements included), so ``results.json`` re-renders the same pages.

Statements are Markdown with LaTeX; math is converted to MathML when the
report is written, so pages need no script and no network to show it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import statistics
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from markupsafe import escape as _html_escape

from ..batch import atomic_stream, atomic_write, safe_name
from ..formatting import case_values, python_assignments, show, side_by_side
from ..limits import DETAILED_FAILURES
from ..results import (
    BatchResult,
    CaseResult,
    ProblemInfo,
    ProblemResult,
    SubmissionResult,
    to_dict,
)
from ..spool import ResultSpool, submission_json
from ..text import printable
from ..values import decode
from .pages_apart import PagesApart, page_processes


def _finalize(value: object) -> object:
    """What a template prints: plain text with its control characters shown as ``\\xNN``, as in the terminal
    and JUnit (a submission's output, messages or source can hold escape sequences, which a page would show
    as empty boxes); ``Markup`` is already HTML."""
    return printable(value) if type(value) is str else value


def escape(text: object) -> Markup:
    """HTML-escaped, as a template prints it (:func:`_finalize`)."""
    return _html_escape(_finalize(text))


BINS = 10


@lru_cache(maxsize=1)
def _markdown():
    import latex2mathml.converter
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    def math(content: str, options: dict) -> str:
        display = "block" if options.get("display_mode") else "inline"
        try:
            return latex2mathml.converter.convert(content, display=display)
        except Exception:  # noqa: BLE001 - show the source rather than fail the report
            return f"<code>{content}</code>"

    return MarkdownIt("commonmark").use(dollarmath_plugin, double_inline=True, renderer=math)


@lru_cache(maxsize=256)
def markdown_html(text: str) -> Markup:
    """Course-authored Markdown (trusted) to HTML with MathML."""
    return Markup(_markdown().render(text))


_HINT_MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$|`([^`\n]+)`")


@lru_cache(maxsize=512)
def hint_html(text: str) -> Markup:
    """A hint with its math shown like the statements': ``$...$`` (and ``$$...$$``) as MathML, `code` as
    code, everything else as plain escaped text. Not full Markdown: hints are written as plain text, where
    ``5*5*C_in`` is a product, not emphasis. Hints are course text (a known mistake's message, a check's
    own hint: grader/engine.py), never a student's; they are escaped all the same."""
    import latex2mathml.converter

    parts: list[str] = []
    last = 0
    for m in _HINT_MATH.finditer(text):
        parts.append(str(escape(text[last:m.start()])))
        math, code = m.group(1) or m.group(2), m.group(3)
        if code is not None:
            parts.append(f"<code>{escape(code)}</code>")
        else:
            try:
                parts.append(latex2mathml.converter.convert(math, display="inline"))
            except Exception:  # noqa: BLE001 - show the source rather than fail the report
                parts.append(f"<code>{escape(math)}</code>")
        last = m.end()
    parts.append(str(escape(text[last:])))
    return Markup("".join(parts))


@lru_cache(maxsize=256)
def pill(text: str, cls: str | None = None) -> Markup:
    """An outcome or status as a coloured label (a cached Python function: pages show one per case, and a
    template macro costs ten times as much per call)."""
    return Markup(f'<span class="pill {escape(cls or text)}">{escape("not run" if text == "not_run" else text)}</span>')


def bar(fraction: float) -> Markup:
    return Markup(f'<span class="bar"><span style="width: {100 * fraction:.1f}%"></span></span>')


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("grader.render", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True,
                      finalize=_finalize)
    env.filters["markdown"] = markdown_html
    env.filters["pct"] = lambda x: f"{x:.0f}%"
    env.filters["num"] = lambda x: f"{x:g}"
    env.filters["values"] = case_values
    env.filters["hint"] = hint_html
    env.filters["case_rows"] = case_rows
    env.globals["css"] = Markup((Path(__file__).parent / "templates" / "style.css").read_text())
    env.globals["detailed_failures"] = DETAILED_FAILURES
    env.globals["pill"] = pill
    env.globals["bar"] = bar
    return env


def _heading(batch: BatchResult) -> dict[str, str]:
    return {"id": batch.assignment, "title": batch.title, "summary": batch.summary}


def student_page(batch: BatchResult, result: SubmissionResult, link_back: str = "", *, public: bool = False,
                 release_hidden: bool = False, course: str = "", late: dict | None = None) -> str:
    """One student's page; ``public=True``: the variant given to the student (no secret placeholder, no
    ``--student`` flag, no link to the class, hidden cases' inputs and expected values only if released).
    ``late``: the late-policy summary (grader.late.LateOutcome.summary), shown under the score."""
    if public:
        result, link_back = public_view(result, release_hidden), ""
    problems = {p.id: p for p in batch.problems}
    return environment().get_template("student.html.j2").render(
        assignment=_heading(batch), r=result, note=batch.isolation_note, problems=problems,
        back=link_back, graded_at=batch.graded_at, course=course, public=public, late=late,
        views={p.id: problem_view(p, problems.get(p.id), withheld=public and not release_hidden)
               for p in result.problems},
        code=code_listing(result, problems))


# ----------------------------------------------------------------- the student page: code, hints, values


def function_name(info: ProblemInfo | None, problem: ProblemResult) -> str:
    """The name a problem's code goes by in a submission: the signature's function, or ANSWERS."""
    if problem.kind == "answers":
        return "ANSWERS"
    name = (info.signature.split("(", 1)[0].strip() if info and info.signature else "") or problem.id
    return name if name.isidentifier() else ""


def _block_end(lines: list[str], start: int) -> int:
    """The last line of the definition that starts at ``start``: until a line indented no deeper."""
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start
    for i in range(start + 1, len(lines)):
        text = lines[i]
        if not text.strip():
            continue
        depth = len(text) - len(text.lstrip())
        if depth <= indent and not text.lstrip().startswith((")", "]", "}")):
            break
        end = i
    return end


def code_listing(result: SubmissionResult, problems: dict[str, ProblemInfo]) -> dict[str, Any]:
    """The graded code, line by line, with the definitions of failing problems marked."""
    lines = result.source.splitlines()
    marks: dict[int, str] = {}
    anchors: dict[int, str] = {}
    spans: dict[str, tuple[int, int]] = {}
    for p in result.problems:
        name = function_name(problems.get(p.id), p)
        if not name or name in spans:
            continue
        pattern = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(" if name != "ANSWERS"
                             else r"^ANSWERS\s*(?::[^=]*)?=")
        starts = [i for i, text in enumerate(lines) if pattern.match(text)]
        if not starts:
            continue
        start = starts[-1]  # the last definition is the one Python keeps
        end = _block_end(lines, start)
        spans[name] = (start + 1, end + 1)
        anchors[start] = f"code-{name}"
        if p.outcome in ("failed", "partial"):
            for i in range(start, end + 1):
                marks[i] = p.id
    return {"html": _code_html(lines, marks, anchors), "lines": len(lines), "spans": spans}


def _code_html(lines: list[str], marks: dict[int, str], anchors: dict[int, str]) -> Markup:
    """The code view's lines, written here rather than in the template: a page has a hundred of them, and a
    template loop costs about 1 ms a page more (a class's pages are most of its reports' time)."""
    parts = []
    for i, text in enumerate(lines):
        mark, anchor = marks.get(i, ""), anchors.get(i, "")
        parts.append(f'<span class="ln{" bad" if mark else ""}" data-n="{i + 1}"'
                     + (f' id="{escape(anchor)}"' if anchor else "")
                     + (f' title="{escape(mark)} fails"' if mark else "") + f">{escape(text or ' ')}</span>")
    return Markup("".join(parts))


def case_rows(cases: Iterable[CaseResult]) -> Markup:
    """A problem's table of cases, one row each (in Python for the reason of :func:`_code_html`)."""
    parts = []
    for c in cases:
        replay = f'<br><code class="replay small">{escape(c.replay)}</code>' if not c.passed and c.replay else ""
        parts.append(f"<tr><td>{escape(c.id)}</td><td>{escape(c.label)}</td><td>{pill(c.outcome)}</td>\n"
                     f"<td>{escape(c.message)}{replay}</td></tr>\n")
    return Markup("".join(parts))


def _hints(problem: ProblemResult) -> list[dict[str, Any]]:
    """Each distinct hint once, with the cases it applies to, in order of first appearance."""
    groups: dict[str, list[str]] = {}
    for c in problem.cases:
        if c.hint and not c.passed:
            groups.setdefault(c.hint, []).append(c.id)
    return [{"text": text, "cases": ids} for text, ids in groups.items()]


def case_detail(case: CaseResult) -> dict[str, Any]:
    """A failing case's recorded values, ready to show: inputs as Python, expected and got side by side."""
    values = case.values or {}
    detail: dict[str, Any] = {"inputs": "", "compare": [], "texts": {}}
    if "inputs" in values:
        detail["inputs"] = python_assignments({name: decode(v) for name, v in values["inputs"].items()})
    if "expected" in values and "got" in values:
        detail["compare"] = side_by_side(decode(values["expected"]), decode(values["got"]))
    else:
        detail["texts"] = {key: show(decode(values[key])) for key in ("expected", "got") if key in values}
    return detail


def problem_view(problem: ProblemResult, info: ProblemInfo | None, withheld: bool = False) -> dict[str, Any]:
    """What the student page shows of a problem besides its cases: hints once each, the failing cases'
    values, the function's name in the code, and (``withheld``) the failing cases whose values are not given."""
    failing = [c for c in problem.cases if not c.passed]
    shown = [c for c in failing if c.values or c.detail][:DETAILED_FAILURES]
    return {"hints": _hints(problem), "function": function_name(info, problem),
            "details": [(c, case_detail(c)) for c in shown],
            "withheld": [c.id for c in failing if withheld and c.kind in _SECRET_CASES]}


# ----------------------------------------------------------------- the variant given to students

_SECRET_CASES = ("hidden", "answer")  # drawn from the secret, or the course's fixed answers
_WITHHELD = {"failed": "wrong value", "invalid": "wrong type or shape", "timeout": "timed out",
             "not_run": "not run"}


def student_replay(command: str) -> str:
    """A replay command as a student runs it: their own file name, no ``--student``, no ``--secret-file``."""
    try:
        words = shlex.split(command)
    except ValueError:
        return ""
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word in ("--student", "--secret-file"):
            skip = True
            continue
        if word.startswith(("--student=", "--secret-file=")):
            continue
        kept.append(word)
    if len(kept) >= 3 and kept[:2] == ["grader", "replay"]:
        kept[2] = Path(kept[2]).name
    return shlex.join(kept)


def _public_case(case: CaseResult, release_hidden: bool) -> CaseResult:
    replay = "" if case.kind == "hidden" else student_replay(case.replay)  # a hidden case needs the secret
    if case.kind not in _SECRET_CASES or release_hidden:
        return replace(case, replay=replay)
    if case.passed:  # a hidden case's label may describe its inputs
        return replace(case, replay=replay, label="", values={})
    message = _WITHHELD.get(case.outcome, case.message)
    if case.outcome == "error":
        kind = case.cause.split(":", 1)[1] if case.cause.startswith("error:") else ""
        message = case.message if case.cause == "not implemented" else f"your function raised {kind or 'an error'}"
    if case.kind == "answer":
        message = f"ANSWERS[{case.id!r}]: {message}" if case.outcome != "invalid" else case.message
    return replace(case, replay=replay, label="", message=message, where="", detail="", values={})


def public_view(result: SubmissionResult, release_hidden: bool = False) -> SubmissionResult:
    """What a student may see of their own result: hidden cases' inputs, expected values and labels
    withheld (unless ``release_hidden``), replay commands they can run themselves."""
    problems = tuple(replace(p, cases=tuple(_public_case(c, release_hidden) for c in p.cases))
                     for p in result.problems)
    return replace(result, problems=problems)


def histogram(percents: Iterable[float]) -> list[dict]:
    counts = [0] * BINS
    for p in percents:
        counts[min(int(p // (100 / BINS)), BINS - 1)] += 1
    top = max(counts) or 1
    return [{"label": f"{i * 10}–{i * 10 + 10 if i < BINS - 1 else 100}", "count": c, "height": c / top}
            for i, c in enumerate(counts)]


_CAUSES = {"values": "wrong values", "form": "wrong type or shape", "timeout": "timed out",
           "not implemented": "not implemented yet", "not_run": "not run (timed out twice before)",
           "error": "raised an exception", "failed": "wrong values", "invalid": "wrong type or shape"}
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def failure_key(case: CaseResult) -> tuple[str, str]:
    """What produced a failure, for grouping (``CaseResult.cause``; never a message with numbers in it),
    and the text that labels the group: a known mistake's hint, else what went wrong."""
    cause = case.cause or case.outcome
    if cause.startswith("mistake:") and case.hint:
        return cause, case.hint
    if case.kind == "answer" and case.hint:  # a known wrong value of an ANSWERS key: its message is the mistake
        return f"mistake:{case.hint}", case.hint
    label = f"raised {cause.split(':', 1)[1]}" if cause.startswith("error:") else _CAUSES.get(cause, cause)
    if case.hint:  # a check's own hint (wrong sign, transposed, a constant factor): its numbers vary
        return f"{cause}|{_NUMBER.sub('#', case.hint)}", f"{label}: {case.hint}"
    return cause, label


class Points(NamedTuple):
    """A problem's score out of its points."""

    score: float
    points: float


@dataclass(frozen=True)
class StudentRow:
    """What the class-wide pages and tables show of one student: scores, no cases and no code, so that a
    batch of any size keeps one small row per student while its full results stay on disk."""

    student: str
    name: str
    status: str
    score: float
    max_score: float
    file: str
    isolation: str
    scores: dict[str, Points]  # by problem id
    warnings: tuple[str, ...]
    message: str  # why it was not graded (empty when it was)

    @classmethod
    def of(cls, s: SubmissionResult) -> StudentRow:
        return cls(s.student, s.name, s.status, s.score, s.max_score, s.file, s.isolation,
                   {sys.intern(p.id): Points(p.score, p.points) for p in s.problems}, s.warnings,
                   s.message if s.status != "graded" else "")

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


class ClassDigest:
    """A batch read once: a row per student, failures grouped by cause, case counts per problem. Every
    class-wide page and the gradebook are rendered from it, so a batch is read from disk once."""

    def __init__(self, batch: BatchResult) -> None:
        self.batch = batch
        self.rows: list[StudentRow] = []
        self.cases: dict[str, list[int]] = {}  # problem id -> [passed, run]
        self._found: dict[tuple[str, str], dict[str, Any]] = {}

    @classmethod
    def of(cls, batch: BatchResult | ClassDigest) -> ClassDigest:
        """The digest of ``batch``, read once (a digest already read is returned as it is)."""
        if isinstance(batch, ClassDigest):
            return batch
        digest = cls(batch)
        for s in batch.submissions:
            digest.add(s)
        return digest

    def add(self, s: SubmissionResult) -> None:
        row = StudentRow.of(s)
        self.rows.append(row)
        if s.status == "no_submission":
            return
        if s.status != "graded":
            self._fail("(import)", s.status, s.message.splitlines()[0][:160] if s.message else s.status, row)
        for p in s.problems:
            counts = self.cases.setdefault(sys.intern(p.id), [0, 0])
            counts[0] += p.passed_count
            counts[1] += len(p.cases)
            if p.status == "missing":
                self._fail(p.id, "missing", "not defined in the submission", row)
            for c in p.cases:
                if not c.passed:
                    key, label = failure_key(c)
                    self._fail(p.id, key, label, row, c.id)

    def _fail(self, problem: str, key: str, label: str, row: StudentRow, case_id: str = "") -> None:
        group = self._found.get((problem, key))
        if group is None:
            group = self._found[(sys.intern(problem), sys.intern(key))] = {
                "problem": problem, "key": key, "labels": Counter(), "students": {}}
        group["labels"][sys.intern(label)] += 1
        cases = group["students"].setdefault(row.student, {"s": row, "cases": []})
        if case_id:
            cases["cases"].append(sys.intern(case_id))

    @property
    def submitted(self) -> list[StudentRow]:
        return [r for r in self.rows if r.status != "no_submission"]

    def groups(self) -> dict[str, list[dict[str, Any]]]:
        """Per problem, its failures grouped by cause, each with the students behind it and their cases,
        most students first. Submissions that did not import form the group ``(import)``."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for found in self._found.values():
            labels = found["labels"]
            (label, _), = labels.most_common(1)
            if len(labels) > 1 and not found["key"].startswith("mistake:"):
                label = _NUMBER.sub("…", label)
            students = list(found["students"].values())
            groups.setdefault(found["problem"], []).append({
                "problem": found["problem"], "key": found["key"], "label": label,
                "known": found["key"].startswith("mistake:"),  # labelled by a known mistake's hint
                "variants": len(labels), "students": students, "count": len(students)})
        for rows in groups.values():
            rows.sort(key=lambda g: (-g["count"], g["label"]))
        return groups


def failure_groups(batch: BatchResult) -> dict[str, list[dict[str, Any]]]:
    """Per problem, its failures grouped by cause (:meth:`ClassDigest.groups`)."""
    return ClassDigest.of(batch).groups()


def summary_context(digest: ClassDigest, groups: dict[str, list[dict[str, Any]]], course: str = "") -> dict:
    batch = digest.batch
    submitted = digest.submitted
    percents = [s.percent for s in submitted]
    per_problem = []
    for info in batch.problems:
        rows = [found for s in submitted if (found := s.scores.get(info.id)) is not None]
        full = sum(p.score == p.points for p in rows)
        mean = statistics.fmean(p.score / p.points if p.points else 0.0 for p in rows) if rows else 0.0
        per_problem.append({"id": info.id, "title": info.title, "points": info.points,
                            "full": full, "rate": full / len(submitted) if submitted else 0.0, "mean": mean})
    failures = sorted((g for rows in groups.values() for g in rows), key=lambda g: (-g["count"], g["problem"],
                                                                                     g["label"]))
    return {
        "assignment": _heading(batch), "batch": batch, "submitted": submitted,
        "absent": [s for s in digest.rows if s.status == "no_submission"],
        "mean": statistics.fmean(percents) if percents else 0.0,
        "median": statistics.median(percents) if percents else 0.0,
        "histogram": histogram(percents), "per_problem": per_problem,
        "failures": failures[:15],  # ties in a stable order
        "page": lambda s: f"students/{safe_name(s.student)}.html",
        "problem_page": problem_page_name, "course": course, "graded_at": batch.graded_at,
    }


def problem_page_name(problem_id: str) -> str:
    return f"problems/{safe_name(problem_id)}.html"


def problem_context(digest: ClassDigest, info: ProblemInfo, groups: list[dict[str, Any]], course: str = "") -> dict:
    """One problem across the class: statement, pass rate, score distribution, failures and who made them."""
    batch = digest.batch
    submitted = digest.submitted
    rows = [found for s in submitted if (found := s.scores.get(info.id)) is not None]
    percents = [100 * p.score / p.points if p.points else 0.0 for p in rows]
    full = sum(p.score == p.points for p in rows)
    passed, cases = digest.cases.get(info.id, (0, 0))
    return {"assignment": _heading(batch), "batch": batch, "info": info, "submitted": submitted, "full": full,
            "rate": full / len(submitted) if submitted else 0.0,
            "mean": statistics.fmean(percents) if percents else 0.0, "histogram": histogram(percents),
            "case_rate": passed / cases if cases else 0.0, "cases": cases,
            "groups": groups, "course": course, "graded_at": batch.graded_at,
            "page": lambda s: f"../students/{safe_name(s.student)}.html"}


def gradebook_csv(batch: BatchResult | ClassDigest) -> str:
    from .csvsafe import safe_row  # text cells that could start a formula are quoted; atomic_write adds the BOM

    digest = ClassDigest.of(batch)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    ids = [p.id for p in digest.batch.problems]
    writer.writerow(safe_row(["student", "status", "score", "max_score", "percent", *ids, "file", "isolation"]))
    for s in digest.rows:
        writer.writerow(safe_row([s.student, s.status, f"{s.score:g}", f"{s.max_score:g}", f"{s.percent:.2f}",
                                  *(f"{s.scores[i].score if i in s.scores else 0:g}" for i in ids), s.file,
                                  s.isolation or digest.batch.isolation]))
    return buffer.getvalue()


def _records(batch: BatchResult) -> Iterator[tuple[str, SubmissionResult]]:
    """Each result with its JSON line; a spooled batch's lines are copied as written, never encoded again."""
    if isinstance(batch.submissions, ResultSpool):
        yield from batch.submissions.records()
    else:
        for s in batch.submissions:
            yield submission_json(s), s


def _results_json_ends(batch: BatchResult) -> tuple[str, str]:
    """``results.json`` around its submissions: one object, indented, with one line per submission."""
    head = to_dict(replace(batch, submissions=()))
    del head["submissions"]
    text = json.dumps(head, indent=1, allow_nan=False, ensure_ascii=False)
    return text[:-2] + ',\n "submissions": [', "\n ]\n}\n"


def write_student_pages(batch: BatchResult, s: SubmissionResult, target: Path, course: str, for_students: bool,
                         release_hidden: bool) -> None:
    if s.status == "no_submission":
        return
    atomic_write(target / "students" / f"{safe_name(s.student)}.html",
                 student_page(batch, s, "../index.html", course=course))
    if for_students:
        atomic_write(target / "students-public" / f"{safe_name(s.student)}.html",
                     student_page(batch, s, public=True, release_hidden=release_hidden, course=course))


def write_reports(batch: BatchResult, target: Path, results_json: bool = True, *, course: str = "",
                  for_students: bool = False, release_hidden: bool = False,
                  workers: int | None = None) -> ClassDigest:
    """Every file of one assignment's report; ``results_json=False`` when re-rendering from it. The batch is
    read once (a spooled batch from disk: memory stays flat in the class's size); returns what was read.

    ``for_students`` also writes ``students-public/<student>.html``, the pages to hand out (see
    :func:`public_view`); ``release_hidden`` shows hidden cases' inputs and expected values there.
    ``course`` names the course at the top of every page. ``workers``: processes that render a large
    spooled class's student pages (default: one per core; 1 or fewer: in this process)."""
    env = environment()
    digest = ClassDigest(batch)
    apart = page_processes(batch, workers)
    with PagesApart(batch, apart, target, course, for_students, release_hidden) if apart else nullcontext() as pages:
        with atomic_stream(target / "results.json") if results_json else nullcontext() as results:
            head, tail = _results_json_ends(batch)
            if results:
                results.write(head)
            for i, (text, s) in enumerate(_records(batch)):
                if results:
                    results.write(("\n" if i == 0 else ",\n") + text)
                digest.add(s)
                if not apart:
                    write_student_pages(batch, s, target, course, for_students, release_hidden)
            if results:
                results.write(tail)
        if pages:
            pages.wait()  # after results.json is complete: a failure here loses no result
    atomic_write(target / "gradebook.csv", gradebook_csv(digest))
    groups = digest.groups()
    for info in batch.problems:
        atomic_write(target / problem_page_name(info.id), env.get_template("problem.html.j2").render(
            **problem_context(digest, info, groups.get(info.id, []), course)))
    summary = env.get_template("summary.html.j2").render(**summary_context(digest, groups, course))
    atomic_write(target / "index.html", summary)
    return digest


def write_index(batches: Sequence[BatchResult | ClassDigest], out_dir: Path, course: str = "") -> None:
    """The course's front page; pass the digests ``write_reports`` returned to spare reading each batch again."""
    rows = []
    for b in batches:
        digest = ClassDigest.of(b)
        submitted = digest.submitted
        mean = statistics.fmean(s.percent for s in submitted) if submitted else 0.0
        rows.append({"batch": digest.batch, "submitted": len(submitted), "mean": mean})
    graded_at = max((row["batch"].graded_at for row in rows), default="")
    atomic_write(out_dir / "index.html", environment().get_template("index.html.j2").render(
        rows=rows, course=course, graded_at=graded_at))
