"""GitHub Actions output of ``grader check``: a step summary in Markdown and workflow-command annotations.

- ``$GITHUB_STEP_SUMMARY`` (a file GitHub sets per step): the score, a row per problem, and each failing
  problem's first failing case with its hint. GitHub refuses a step summary over 1 MiB; this one is capped
  at :data:`SUMMARY_LIMIT` characters.
- ``GITHUB_ACTIONS=true``: ``::error file=F,line=L,title=T::message`` for each failing problem (at most
  :data:`MAX_ERRORS`, GitHub shows 10 per step), the line being the ``def`` of the problem's function (or
  the ``ANSWERS =`` line) found with :mod:`ast`; notebooks get no line. Then one ``::notice`` with the score.
  Escaping follows actions/toolkit ``command.ts``: in data ``%`` ``\\r`` ``\\n``; in properties also ``:``
  and ``,``.

A public-case check is feedback, not a grade: the summary says so.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from ..results import ProblemResult, SubmissionResult

MAX_ERRORS = 10
SUMMARY_LIMIT = 60_000  # characters; GitHub's limit is 1 MiB per step
CELL_LIMIT = 300


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: str | int | None) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v not in (None, ""))
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def definition_lines(file: Path) -> tuple[dict[str, int], int | None]:
    """({top-level function or assigned name: line of its definition}, line of a syntax error). Notebooks and
    unreadable files give nothing: their lines do not map to a file on GitHub."""
    if file.suffix != ".py":
        return {}, None
    try:
        source = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return {}, None
    try:
        tree = ast.parse(source, filename=file.name)
    except SyntaxError as exc:
        return {}, exc.lineno or None
    except (ValueError, RecursionError, MemoryError):
        return {}, None
    lines: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines[node.name] = node.lineno  # the last definition wins, as in Python
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    lines[target.id] = node.lineno
    return lines, None


def annotation_path(file: Path) -> str:
    """The file as GitHub wants it: relative to the repository ($GITHUB_WORKSPACE) when inside it."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    resolved = file.resolve()
    for base in (workspace, os.getcwd()):
        if base:
            try:
                return resolved.relative_to(Path(base).resolve()).as_posix()
            except ValueError:
                continue
    return file.as_posix()


def _first_failure_text(problem: ProblemResult) -> tuple[str, str]:
    """(what failed, hint) for one problem."""
    if problem.status != "graded":
        return problem.message or problem.status, ""
    failure = problem.first_failure
    if failure is None:
        return "", ""
    label = f" ({failure.label})" if failure.label else ""
    return f"{failure.id}{label}: {failure.outcome}: {failure.message}", failure.hint


def annotations(result: SubmissionResult, file: Path, functions: Mapping[str, str] | None = None) -> list[str]:
    functions = functions or {}
    path = annotation_path(file)
    lines, syntax_line = definition_lines(file)
    errors: list[str] = []
    if result.status != "graded":
        title = "cannot read the file" if result.status == "unreadable" else "the file did not import"
        errors.append(command("error", result.message or result.status, file=path, line=syntax_line, title=title))
    for problem in result.problems:
        if problem.outcome == "passed" or problem.status == "not_run":  # not_run: said once, above
            continue
        what, hint = _first_failure_text(problem)
        name = functions.get(problem.id, problem.id)
        message = f"{problem.id}: {problem.score:g}/{problem.points:g}. {what}" + (f"\nhint: {hint}" if hint else "")
        errors.append(command("error", message, file=path, line=lines.get(name),
                              title=f"{problem.id}: {problem.outcome}"))
    out = errors[:MAX_ERRORS]
    out.append(command("notice", f"public cases: {result.score:g} / {result.max_score:g} ({result.percent:.1f}%). "
                                 "Feedback, not a grade: hidden cases are graded with your submission.",
                       file=path, title=f"grader check {result.assignment}"))
    return out


def _cell(text: str, limit: int = CELL_LIMIT) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped, HTML neutralised, cut."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _code(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def step_summary(result: SubmissionResult, file: Path) -> str:
    icon = {"passed": "✅", "partial": "🟡", "failed": "❌"}
    lines = [f"### grader check `{_cell(result.file)}` ({result.assignment}): "
             f"{result.score:g} / {result.max_score:g} ({result.percent:.1f}%)", ""]
    if result.status != "graded":
        lines += [f"**{result.status}**: {_cell(result.message, 1000)}", ""]
    if result.problems:
        lines += ["| problem | cases | score | result | first failing case | hint |",
                  "|---|---|---|---|---|---|"]
        for p in result.problems:
            what, hint = _first_failure_text(p)
            cases = f"{p.passed_count}/{len(p.cases)}" if p.cases else "-"
            lines.append(f"| {_cell(p.id)} | {cases} | {p.score:g}/{p.points:g} | "
                         f"{icon.get(p.outcome, '❌')} {p.outcome} | {_cell(what)} | {_cell(hint)} |")
        lines.append("")
    for p in result.problems:
        failure = p.first_failure if p.status == "graded" else None
        if failure is None or not failure.replay:
            continue
        lines += [f"<details><summary>{_cell(p.id)}: {_cell(failure.id)}</summary>", "",
                  _code(f"{failure.message}\n{'hint: ' + failure.hint if failure.hint else ''}".strip()
                        + f"\nreplay: {failure.replay}"), "", "</details>", ""]
    lines += ["Public cases only: this is feedback, not a grade. A file can pass every public case and still "
              "fail the hidden cases it is graded on.", ""]
    text = "\n".join(lines)
    if len(text) > SUMMARY_LIMIT:
        text = text[: SUMMARY_LIMIT - 60] + "\n\n... (summary cut)\n"
    return text


def report_to_github(result: SubmissionResult, file: Path, functions: Mapping[str, str] | None = None,
                     stream: TextIO | None = None) -> None:
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(step_summary(result, file) + "\n")
        except OSError as exc:
            print(f"warning: cannot append to GITHUB_STEP_SUMMARY ({exc.strerror})", file=sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        stream = stream or sys.stdout
        for line in annotations(result, file, functions):
            stream.write(line + "\n")
        stream.flush()
