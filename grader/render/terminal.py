"""Terminal output with rich: tables of problems and cases, and the first failure in detail."""

from __future__ import annotations

import re

from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..results import BatchResult, CaseResult, ProblemResult, SubmissionResult

STYLE = {"passed": "green", "partial": "yellow", "failed": "red", "missing": "magenta", "not_run": "magenta",
         "error": "red", "timeout": "red", "invalid": "magenta"}
REPLAY_LINES = 8
MARK = {"passed": "✔", "failed": "✘", "error": "!", "timeout": "⏱", "invalid": "?"}


_CODE = re.compile(r"(```.*?```|`[^`]*`)", re.DOTALL)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
_INLINE = re.compile(r"(?<![\\$])\$([^$\n]+?)\$")


def terminal_markdown(text: str) -> str:
    """Markdown for rich with LaTeX kept verbatim: math becomes code, so backslashes survive."""
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):  # even parts are outside code spans
        chunk = _DISPLAY.sub(lambda m: "\n```\n" + m.group(1).strip() + "\n```\n", parts[i])
        parts[i] = _INLINE.sub(lambda m: "`" + m.group(1) + "`", chunk)
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
            text.append(": " + case.message.splitlines()[0], style="default")
        table.add_row(case.id, Text(MARK[case.outcome], style=STYLE[case.outcome]), escape(case.label), text)
    return table


def _detail(case: CaseResult) -> Panel:
    rows = Table.grid(padding=(0, 1))
    rows.add_column(style="bold", no_wrap=True)
    rows.add_column(overflow="fold")
    rows.add_row("case", escape(f"{case.id}  {case.label}".strip()))
    rows.add_row("result", Text(case.outcome, style=STYLE[case.outcome]).append(
        f"  {case.message}" if case.message else "", style="default"))
    if case.hint:
        rows.add_row("hint", Text(case.hint, style="bold yellow"))
    if case.max_error is not None and not case.passed:
        rows.add_row("largest error", escape(f"{case.max_error:.6g}" + (f" at {case.where}" if case.where else "")))
    for label, value in (("inputs", case.inputs), ("expected", case.expected), ("got", case.got),
                         ("traceback", case.detail if case.outcome != "timeout" else "")):
        if value:
            rows.add_row(label, escape(value))
    rows.add_row("replay", Text(case.replay, style="cyan"))
    return Panel(rows, title="first failing case", title_align="left", border_style=STYLE[case.outcome])


def _problem_block(problem: ProblemResult) -> Group:
    style = STYLE.get(problem.outcome, "default")
    head = Text.assemble((f"{problem.id}", "bold"), f"  {problem.title}  ",
                         (f"{problem.score:g}/{problem.points:g}", style),
                         f"  ({problem.passed_count}/{len(problem.cases)} cases)" if problem.cases else "")
    parts: list = [head]
    if problem.message:
        parts.append(Text("  " + problem.message, style=style))
    if problem.cases:
        parts.append(_case_table(problem))
    failure = problem.first_failure
    if failure is not None:
        parts.append(_detail(failure))
        others = [c for c in problem.cases if not c.passed and c is not failure]
        if others:
            lines = Text("replay the other failing cases:\n", style="dim")
            for case in others[:REPLAY_LINES]:
                lines.append(f"  {case.replay}\n", style="cyan")
            if len(others) > REPLAY_LINES:
                lines.append(f"  ... {len(others) - REPLAY_LINES} more: the same command with their case ids\n",
                             style="dim")
            parts.append(lines)
    return Group(*parts)


def print_submission(console: Console, result: SubmissionResult, note: str = "", what: str = "public cases") -> None:
    console.print(Text.assemble((result.file, "bold"), f"  ·  {result.assignment}  ·  {what}"))
    console.print(isolation_line(result.isolation, result.isolation_layers, note))
    if result.message:
        console.print(Panel(escape(result.message), title="the submission did not import", border_style="red"))
    summary = Table(box=box.ROUNDED, title=None)
    summary.add_column("problem")
    summary.add_column("cases", justify="right")
    summary.add_column("score", justify="right")
    summary.add_column("result")
    for problem in result.problems:
        style = STYLE.get(problem.outcome, "default")
        cases = f"{problem.passed_count}/{len(problem.cases)}" if problem.cases else "-"
        summary.add_row(problem.id, cases, f"{problem.score:g}/{problem.points:g}", Text(problem.outcome, style=style))
    console.print(summary)
    for problem in result.problems:
        if problem.outcome != "passed":
            console.print(_problem_block(problem))
            console.print()
    if result.output_bytes:
        shown = result.output if len(result.output) < 2000 else result.output[:2000] + "\n..."
        console.print(Panel(escape(shown), title=f"your code printed {result.output_bytes:,} bytes",
                            border_style="dim"))
    style = "bold green" if result.score == result.max_score else "bold yellow"
    console.print(Text(f"score: {result.score:g} / {result.max_score:g}  ({result.percent:.1f}%)", style=style))


def print_batch(console: Console, batch: BatchResult, out_dir: str) -> None:
    graded = [s for s in batch.submissions if s.status != "no_submission"]
    table = Table(box=box.ROUNDED, title=f"{batch.assignment}: {len(graded)} submissions")
    table.add_column("student")
    table.add_column("score", justify="right")
    table.add_column("%", justify="right")
    table.add_column("status")
    for sub in graded:
        style = "green" if sub.score == sub.max_score else ("red" if sub.status != "graded" else "yellow")
        table.add_row(escape(sub.student), f"{sub.score:g}/{sub.max_score:g}", f"{sub.percent:.0f}",
                      Text(sub.status, style=style))
    console.print(table)
    missing = len(batch.submissions) - len(graded)
    if missing:
        console.print(f"{missing} student folder(s) have no {batch.assignment} submission")
    if batch.isolation != "full":  # said at the start too; worth repeating under the results
        console.print(isolation_line(batch.isolation, batch.isolation_layers, batch.isolation_note))
    console.print(f"reports written to {out_dir}")


def print_replay(console: Console, result: SubmissionResult, note: str = "") -> None:
    console.print(isolation_line(result.isolation, result.isolation_layers, note))
    if result.message:
        console.print(Panel(escape(result.message), title="the submission did not import", border_style="red"))
    for problem in result.problems:
        if problem.message:
            console.print(Text(f"{problem.id}: {problem.message}", style=STYLE.get(problem.outcome, "default")))
        for case in problem.cases:
            panel = _detail(case)
            panel.title = f"{problem.id} · {case.id}"
            console.print(panel)
