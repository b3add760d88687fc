"""Files written by ``grader grade``: HTML pages (jinja2, autoescaped, self-contained),
``results.json``, a CSV gradebook and a Gradescope-style export per student.

Statements are Markdown with LaTeX; math is converted to MathML when the
report is written, so pages need no script and no network to show it.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..batch import atomic_write, safe_name
from ..results import BatchResult, CaseResult, SubmissionResult, to_json
from ..spec import Assignment, FunctionProblem

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


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("grader.render", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["markdown"] = markdown_html
    env.filters["pct"] = lambda x: f"{x:.0f}%"
    env.filters["num"] = lambda x: f"{x:g}"
    env.globals["css"] = Markup((Path(__file__).parent / "templates" / "style.css").read_text())
    return env


def _statements(assignment: Assignment) -> dict[str, dict]:
    info = {}
    for entry in assignment.entries:
        problem = entry.problem
        signature = problem.signature if isinstance(problem, FunctionProblem) else ""
        check = problem.check.description if isinstance(problem, FunctionProblem) else "exact, key by key"
        info[problem.id] = {"statement": problem.statement, "signature": signature, "check": check}
    return info


def student_page(assignment: Assignment, batch_note: str, result: SubmissionResult, link_back: str = "") -> str:
    return environment().get_template("student.html.j2").render(
        assignment=assignment, r=result, note=batch_note, problems=_statements(assignment), back=link_back)


def histogram(percents: Iterable[float]) -> list[dict]:
    counts = [0] * BINS
    for p in percents:
        counts[min(int(p // (100 / BINS)), BINS - 1)] += 1
    top = max(counts) or 1
    return [{"label": f"{i * 10}–{i * 10 + 10 if i < BINS - 1 else 100}", "count": c, "height": c / top}
            for i, c in enumerate(counts)]


def _reason(case: CaseResult) -> str:
    """What a failure is about, for counting: the targeted hint, else the first line of the message."""
    text = case.hint or (case.message.splitlines()[0] if case.message else case.outcome)
    return text[:160]


def summary_context(assignment: Assignment, batch: BatchResult) -> dict:
    submitted = [s for s in batch.submissions if s.status != "no_submission"]
    percents = [s.percent for s in submitted]
    per_problem = []
    for entry in assignment.entries:
        rows = [p for s in submitted for p in s.problems if p.id == entry.problem.id]
        full = sum(p.score == p.points for p in rows)
        mean = statistics.fmean(p.score / p.points for p in rows) if rows else 0.0
        per_problem.append({"id": entry.problem.id, "title": entry.problem.title, "points": entry.points,
                            "full": full, "rate": full / len(submitted) if submitted else 0.0, "mean": mean})
    failures: Counter[tuple[str, str]] = Counter()
    for s in submitted:
        seen = set()
        if s.status != "graded":
            seen.add(("(import)", s.message.splitlines()[0][:160] if s.message else s.status))
        for p in s.problems:
            if p.status == "missing":
                seen.add((p.id, p.message))
            seen.update((p.id, _reason(c)) for c in p.cases if not c.passed)
        failures.update(seen)
    return {
        "assignment": assignment, "batch": batch, "submitted": submitted,
        "absent": [s for s in batch.submissions if s.status == "no_submission"],
        "mean": statistics.fmean(percents) if percents else 0.0,
        "median": statistics.median(percents) if percents else 0.0,
        "histogram": histogram(percents), "per_problem": per_problem,
        "failures": failures.most_common(15), "page": lambda s: f"students/{safe_name(s.student)}.html",
    }


def gradebook_csv(assignment: Assignment, batch: BatchResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    ids = [e.problem.id for e in assignment.entries]
    writer.writerow(["student", "status", "score", "max_score", "percent", *ids, "file", "isolation"])
    for s in batch.submissions:
        scores = {p.id: p.score for p in s.problems}
        writer.writerow([s.student, s.status, f"{s.score:g}", f"{s.max_score:g}", f"{s.percent:.2f}",
                         *(f"{scores.get(i, 0):g}" for i in ids), s.file, s.isolation or batch.isolation])
    return buffer.getvalue()


def write_reports(assignment: Assignment, batch: BatchResult, target: Path) -> None:
    env = environment()
    atomic_write(target / "results.json", to_json(batch))
    atomic_write(target / "gradebook.csv", gradebook_csv(assignment, batch))
    for s in batch.submissions:
        if s.status != "no_submission":
            atomic_write(target / "students" / f"{safe_name(s.student)}.html",
                         student_page(assignment, batch.isolation_note, s, "../index.html"))
    summary = env.get_template("summary.html.j2").render(**summary_context(assignment, batch))
    atomic_write(target / "index.html", summary)


def write_index(batches: list[BatchResult], out_dir: Path) -> None:
    rows = []
    for b in batches:
        submitted = [s for s in b.submissions if s.status != "no_submission"]
        mean = statistics.fmean(s.percent for s in submitted) if submitted else 0.0
        rows.append({"batch": b, "submitted": len(submitted), "mean": mean})
    atomic_write(out_dir / "index.html", environment().get_template("index.html.j2").render(rows=rows))
