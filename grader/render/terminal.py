"""Terminal output with rich: tables of problems and cases, and the first failure in detail."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..formatting import case_values
from ..results import BatchResult, CaseResult, ProblemResult, SubmissionResult
from ..text import printable
from .console import markup_of
from .unicode_math import to_unicode

if TYPE_CHECKING:
    from .reports import ClassDigest

STYLE = {"passed": "green", "partial": "yellow", "failed": "red", "missing": "magenta", "not_run": "magenta",
         "error": "red", "timeout": "red", "invalid": "magenta"}
REPLAY_LINES = 8
MARK = {"passed": "✔", "failed": "✘", "error": "!", "timeout": "⏱", "invalid": "?", "not_run": "-"}


_CODE = re.compile(r"(```.*?```|`[^`]*`)", re.DOTALL)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
_INLINE = re.compile(r"(?<![\\$])\$([^$\n]+?)\$")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def _display_math(match: re.Match) -> str:
    text = to_unicode(match.group(1), display=True)
    return "\n```\n" + (text if text is not None else match.group(1).strip()) + "\n```\n"


def _inline_math(match: re.Match) -> str:
    text = to_unicode(match.group(1))
    return "`" + match.group(1) + "`" if text is None else _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def terminal_markdown(text: str) -> str:
    """Markdown for rich with the math as Unicode text (``$\\nu_\\beta \\le \\max_i x_i$`` → ``νᵦ ≤ maxᵢ xᵢ``);
    display math is a block, and math the converter does not know stays LaTeX, as code."""
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):  # even parts are outside code spans
        chunk = _DISPLAY.sub(_display_math, parts[i])
        parts[i] = _INLINE.sub(_inline_math, chunk)
    return "".join(parts)


def isolation_line(mode: str, layers: tuple[str, ...], note: str) -> Text:
    if mode == "full":
        return Text(f"isolation: full ({', '.join(layers)})", style="dim")
    return Text(f"⚠ {note or 'REDUCED ISOLATION'}", style="bold white on red")


def _case_table(problem: ProblemResult) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    table.add_column("case")
    table.add_column("", justify="center")
    table.add_column("what")
    table.add_column("result", overflow="fold")
    for case in problem.cases:
        text = Text(case.outcome, style=STYLE[case.outcome])
        if not case.passed and case.message:
            text.append(": " + printable(case.message.splitlines()[0]), style="default")
        table.add_row(case.id, Text(MARK[case.outcome], style=STYLE[case.outcome]), markup_of(case.label), text)
    return table


def _detail(case: CaseResult) -> Panel:
    rows = Table.grid(padding=(0, 1))
    rows.add_column(style="bold", no_wrap=True)
    rows.add_column(overflow="fold")
    rows.add_row("case", markup_of(f"{case.id}  {case.label}".strip()))
    rows.add_row("result", Text(case.outcome, style=STYLE[case.outcome]).append(
        f"  {printable(case.message)}" if case.message else "", style="default"))
    if case.hint:
        rows.add_row("hint", Text(printable(case.hint), style="bold yellow"))
    if case.max_error is not None and not case.passed:
        rows.add_row("largest error", markup_of(f"{case.max_error:.6g}" + (f" at {case.where}" if case.where else "")))
    shown = case_values(case.values)
    if case.detail and case.outcome != "timeout":
        shown["traceback"] = case.detail
    for label, value in shown.items():
        rows.add_row(label, markup_of(value))
    return Panel(rows, title="first failing case", title_align="left", border_style=STYLE[case.outcome])


def _print_commands(console: Console, heading: str, commands: list[str], more: str = "") -> None:
    """Replay commands, each on one line as the terminal wraps it (``soft_wrap``): one copied from the screen
    or a CI log runs as it is. Wrapped by rich, a long one would be split by a newline."""
    console.print(heading, style="dim", markup=False, highlight=False)
    for command in commands:
        console.print(f"  {printable(command)}", style="cyan", markup=False, highlight=False, soft_wrap=True)
    if more:
        console.print(f"  {more}", style="dim", markup=False, highlight=False)


NOT_IMPLEMENTED = "not implemented yet"
NOT_ANSWERED = "is not answered yet"


def not_started(problem: ProblemResult) -> str:
    """Why every case of a problem failed when it is still the starter's stub ('' otherwise): a function that
    raises NotImplementedError, or ANSWERS values all None."""
    if not problem.cases:
        return ""
    if all(c.outcome == "error" and c.message.startswith(NOT_IMPLEMENTED) for c in problem.cases):
        return problem.cases[0].message.splitlines()[0]
    if all(c.outcome == "invalid" and NOT_ANSWERED in c.message for c in problem.cases):
        return "not answered yet (None)"
    return ""


def _problem_block(problem: ProblemResult) -> Group:
    style = STYLE.get(problem.outcome, "default")
    why = not_started(problem)
    if why:  # one line, not a table of identical failures
        return Group(Text.assemble((problem.id, "bold"), "  ", (why, "magenta"), "  ",
                                   (f"{problem.score:g}/{problem.points:g}", style)))
    head = Text.assemble((f"{problem.id}", "bold"), f"  {problem.title}  ",
                         (f"{problem.score:g}/{problem.points:g}", style),
                         f"  ({problem.passed_count}/{len(problem.cases)} cases)" if problem.cases else "")
    parts: list = [head]
    if problem.message:
        parts.append(Text("  " + printable(problem.message), style=style))
    if problem.cases:
        parts.append(_case_table(problem))
    failure = problem.first_failure
    if failure is not None:
        parts.append(_detail(failure))
    return Group(*parts)


def _print_replays(console: Console, problem: ProblemResult) -> None:
    """The commands that replay a started problem's failing cases, the first failing case's first."""
    failing = [c for c in problem.cases if not c.passed and c.replay]
    if not failing:
        return
    heading = "replay it:" if len(failing) == 1 else "replay the failing cases (the first is shown above):"
    more = "" if len(failing) <= REPLAY_LINES else \
        f"... {len(failing) - REPLAY_LINES} more: the same command with their case ids"
    _print_commands(console, heading, [c.replay for c in failing[:REPLAY_LINES]], more)


def print_submission(console: Console, result: SubmissionResult, note: str = "", what: str = "public cases") -> None:
    console.print(Text.assemble((printable(result.file), "bold"), f"  ·  {result.assignment}  ·  {what}"))
    console.print(isolation_line(result.isolation, result.isolation_layers, note))
    if result.message:
        console.print(Panel(markup_of(result.message), title="the submission did not import", border_style="red"))
    summary = Table(box=box.ROUNDED, title=None)
    summary.add_column("problem")
    summary.add_column("cases", justify="right")
    summary.add_column("score", justify="right")
    summary.add_column("result")
    for problem in result.problems:
        style = STYLE.get(problem.outcome, "default")
        cases = f"{problem.passed_count}/{len(problem.cases)}" if problem.cases else "-"
        outcome = Text("not started", style="magenta") if not_started(problem) else Text(problem.outcome, style=style)
        summary.add_row(problem.id, cases, f"{problem.score:g}/{problem.points:g}", outcome)
    console.print(summary)
    started = [p for p in result.problems if p.outcome != "passed" and not not_started(p)]
    for problem in started:
        console.print(_problem_block(problem))
        _print_replays(console, problem)
        console.print()
    stubs = [p for p in result.problems if p.outcome != "passed" and not_started(p)]
    for problem in stubs:  # one line each, after the problems that need a closer look
        console.print(_problem_block(problem))
    if stubs:
        console.print()
    if result.output_bytes:
        shown = result.output if len(result.output) < 2000 else result.output[:2000] + "\n..."
        console.print(Panel(markup_of(shown), title=f"your code printed {result.output_bytes:,} bytes",
                            border_style="dim"))
    style = "bold green" if result.score == result.max_score else "bold yellow"
    console.print(Text(f"score: {result.score:g} / {result.max_score:g}  ({result.percent:.1f}%)", style=style))


def print_batch(console: Console, batch: BatchResult | ClassDigest, out_dir: str) -> None:
    """The class's scores as a table; pass the digest ``write_reports`` returned to spare reading the batch."""
    from .reports import ClassDigest  # jinja2 and the page renderers: not for `grader check`

    digest = ClassDigest.of(batch)
    batch = digest.batch
    graded = digest.submitted
    table = Table(box=box.ROUNDED, title=f"{batch.assignment}: {len(graded)} submissions")
    table.add_column("student")
    table.add_column("score", justify="right")
    table.add_column("%", justify="right")
    table.add_column("status")
    for sub in graded:
        style = "green" if sub.score == sub.max_score else ("red" if sub.status != "graded" else "yellow")
        table.add_row(markup_of(sub.student), f"{sub.score:g}/{sub.max_score:g}", f"{sub.percent:.0f}",
                      Text(sub.status, style=style))
    console.print(table)
    for sub in digest.rows:
        for warning in sub.warnings:
            console.print(printable(f"warning: {sub.student}: {warning}"), style="yellow", markup=False,
                          soft_wrap=True)
        if sub.status == "no_submission" and "did you mean" in sub.message:  # a misnamed file: listed, not graded
            console.print(printable(f"not graded: {sub.student}: {sub.message}"), style="yellow", markup=False,
                          soft_wrap=True)
    missing = len(digest.rows) - len(graded)
    if missing:
        console.print(f"{missing} student folder(s) have no {batch.assignment} submission")
    if batch.isolation != "full":  # said at the start too; worth repeating under the results
        console.print(isolation_line(batch.isolation, batch.isolation_layers, batch.isolation_note))
    console.print(f"reports written to {out_dir}")


def print_replay(console: Console, result: SubmissionResult, note: str = "") -> None:
    console.print(isolation_line(result.isolation, result.isolation_layers, note))
    if result.message:
        console.print(Panel(markup_of(result.message), title="the submission did not import", border_style="red"))
    for problem in result.problems:
        if problem.message:
            console.print(Text(f"{problem.id}: {printable(problem.message)}",
                               style=STYLE.get(problem.outcome, "default")))
        for case in problem.cases:
            panel = _detail(case)
            panel.title = f"{problem.id} · {case.id}"
            console.print(panel)
            if case.replay:
                _print_commands(console, "run it again:", [case.replay])
