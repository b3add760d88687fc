"""The ``grader`` command: a thin layer over plain functions. Heavy imports happen inside commands."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import click

from .errors import GraderError

LIMIT_OPTIONS = [
    click.option("--timeout", "case_seconds", type=float, default=2.0, show_default=True,
                 help="Wall-clock seconds per case."),
    click.option("--import-timeout", "import_seconds", type=float, default=5.0, show_default=True,
                 help="Wall-clock seconds to import a submission."),
    click.option("--memory-mb", type=int, default=512, show_default=True,
                 help="Extra address space a submission may allocate."),
]


def limit_options(func):
    for option in reversed(LIMIT_OPTIONS):
        func = option(func)
    return func


def isolation_options(func):
    func = click.option("--require-isolation", is_flag=True,
                        help="Refuse to run student code without namespaces and seccomp.")(func)
    func = click.option("--isolation", type=click.Choice(["auto", "full", "reduced"]), default="auto",
                        show_default=True, envvar="GRADER_ISOLATION",
                        help="'reduced' runs the worker without namespaces (debugging only).")(func)
    return func


def problems_option(func):
    return click.option("--problems", "problems_dir", type=click.Path(file_okay=False, path_type=Path),
                        envvar="GRADER_PROBLEMS", help="A course folder to use instead of the bundled problems.")(func)


def _mode(isolation: str, require: bool) -> str:
    return "full" if require else isolation


def _limits(case_seconds: float, import_seconds: float, memory_mb: int):
    from .sandbox.runner import Limits

    if case_seconds <= 0 or import_seconds <= 0 or memory_mb <= 0:
        raise click.BadParameter("timeouts and memory must be positive")
    return Limits(case_seconds=case_seconds, import_seconds=import_seconds, memory_mb=memory_mb)


class GraderGroup(click.Group):
    """Turns GraderError into one clear line and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=GraderGroup)
@click.version_option(package_name="dlmath-grader")
def main() -> None:
    """Grade homework on the mathematics of deep learning.

    Students: `grader init hw7`, then `grader check hw7.py`.
    Instructors: `grader grade wr3 submissions/ --out reports/`.
    """


@main.command("list")
@problems_option
def list_cmd(problems_dir: Path | None) -> None:
    """List assignments and their problems."""
    from rich.console import Console
    from rich.table import Table

    from .loader import load_all

    table = Table(title="assignments", show_lines=True)
    for column in ("assignment", "points", "problems"):
        table.add_column(column, overflow="fold")
    for assignment in load_all(problems_dir):
        names = "\n".join(f"{p.id} ({e.points:g})" for e, p in zip(assignment.entries, assignment.problems,
                                                                     strict=True))
        table.add_row(f"[bold]{assignment.id}[/]\nsubmit {assignment.filename}\n[dim]{assignment.title}[/]",
                      f"{assignment.max_score:g}", names)
    Console().print(table)
    click.echo("grader show <assignment> [problem] prints what each covers, statements and signatures.")


@main.command()
@click.argument("assignment_id")
@click.argument("problem_id", required=False)
@problems_option
def show(assignment_id: str, problem_id: str | None, problems_dir: Path | None) -> None:
    """Show an assignment, or one problem's statement and signature."""
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.panel import Panel

    from .loader import load_assignment
    from .render.terminal import terminal_markdown
    from .spec import FunctionProblem

    console = Console()
    assignment = load_assignment(assignment_id, problems_dir)
    entries = [assignment.entry(problem_id)] if problem_id else list(assignment.entries)
    if not problem_id:
        console.print(f"[bold]{assignment.id}[/]: {assignment.title}  ({assignment.max_score:g} points, "
                      f"submit {assignment.filename})\n{assignment.summary}\n")
    for entry in entries:
        problem = entry.problem
        head = f"{problem.id} — {problem.title} ({entry.points:g} points)"
        if isinstance(problem, FunctionProblem):
            body = (f"`{problem.signature}`\n\nreturns: {problem.returns}\n\n{problem.statement.strip()}\n\n"
                    f"*checked by:* {problem.check.description}")
        else:
            keys = "\n".join(f"- `ANSWERS[{k.key!r}]`: {k.description}" for k in problem.keys)
            body = f"{problem.statement.strip()}\n\n{keys}"
        console.print(Panel(Markdown(terminal_markdown(body)), title=head, title_align="left"))


@main.command()
@click.argument("assignment_id")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the starter (default: ./<assignment>.py).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@problems_option
def init(assignment_id: str, out_path: Path | None, force: bool, problems_dir: Path | None) -> None:
    """Write a starter file with every function stubbed and the ANSWERS keys."""
    from .loader import load_assignment
    from .starter import starter_source

    assignment = load_assignment(assignment_id, problems_dir)
    path = out_path or Path(assignment.filename)
    if path.exists() and not force:
        raise GraderError(f"{path} already exists; use --force to overwrite it")
    path.write_text(starter_source(assignment), encoding="utf-8")
    click.echo(f"wrote {path}: fill in the functions, then run: grader check {shlex.quote(str(path))}")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--assignment", "assignment_id", help="Assignment id (default: the file's name, e.g. hw7).")
@click.option("--fail-under", type=float, default=100.0, show_default=True,
              help="Exit with status 1 when the score is below this percentage.")
@click.option("--problem", "only", multiple=True, help="Check only this problem (repeatable).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write results JSON.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a JUnit XML report (for CI).")
@click.option("--gradescope", "gradescope_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a Gradescope results.json.")
@limit_options
@isolation_options
@problems_option
def check(file: Path, assignment_id: str | None, fail_under: float, only: tuple[str, ...], json_path: Path | None,
          junit_path: Path | None, gradescope_path: Path | None, case_seconds: float, import_seconds: float,
          memory_mb: int, isolation: str, require_isolation: bool, problems_dir: Path | None) -> None:
    """Check your submission on the public cases (students)."""
    from .sandbox import launch

    launch.prestart(_mode(isolation, require_isolation))  # boots while the grader loads
    from rich.console import Console

    from .render.terminal import print_submission
    from .selfcheck import check_file, resolve_assignment

    result, iso = check_file(file, assignment_id, problems_dir, _limits(case_seconds, import_seconds, memory_mb),
                             _mode(isolation, require_isolation), only or None)
    console = Console()
    print_submission(console, result, iso.note)
    checked = {p.id for p in result.problems}
    unchecked = [p.id for p in resolve_assignment(file, assignment_id, problems_dir).functions
                 if not p.self_check and p.id not in checked and (not only or p.id in only)]
    if unchecked:
        console.print(f"not self-checked (a yes/no verdict would give the answers away; graded with your "
                      f"submission): {', '.join(unchecked)}", style="dim")
    _write_side_outputs(result, json_path, junit_path, gradescope_path)
    if result.percent + 1e-9 < fail_under:
        click.secho(f"below --fail-under {fail_under:g}%", fg="red", err=True)
        sys.exit(1)


def _write_side_outputs(result, json_path: Path | None, junit_path: Path | None, gradescope_path: Path | None) -> None:
    from .batch import atomic_write
    from .results import to_json

    if json_path:
        atomic_write(json_path, to_json(result))
    if junit_path:
        from .render.junit import junit_xml

        atomic_write(junit_path, junit_xml(result))
    if gradescope_path:
        from .render.gradescope import gradescope_json

        atomic_write(gradescope_path, gradescope_json(result))


@main.command()
@click.argument("args", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Folder for the reports (one sub-folder per assignment).")
@click.option("--jobs", "-j", type=int, default=0, help="Parallel workers (default: the number of CPUs).")
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Instructor secret for hidden cases (default: <out>/secret.key, created if missing).")
@click.option("--fresh", is_flag=True, help="Ignore results saved by an earlier, interrupted run.")
@limit_options
@isolation_options
@problems_option
def grade(args: tuple[str, ...], out_dir: Path, jobs: int, secret_file: Path | None, fresh: bool,
          case_seconds: float, import_seconds: float, memory_mb: int, isolation: str, require_isolation: bool,
          problems_dir: Path | None) -> None:
    """Grade a folder of submissions (instructors): grader grade ASSIGNMENT... SUBMISSIONS_DIR.

    ASSIGNMENT may be repeated, or `all`. SUBMISSIONS_DIR holds one sub-folder
    per student (the folder name is the student id) with <assignment>.py or .ipynb.
    Re-running the same command after an interruption resumes where it stopped.
    """
    from .instructor import run_grade

    if len(args) < 2:
        raise click.UsageError("give at least one assignment id (or 'all') and the submissions folder")
    *assignments, folder = args
    run_grade(assignments, Path(folder), out_dir, jobs or (os.cpu_count() or 1), secret_file, fresh,
              _limits(case_seconds, import_seconds, memory_mb), _mode(isolation, require_isolation), problems_dir)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("problem_id")
@click.argument("case_id")
@click.option("--assignment", "assignment_id", help="Assignment id (default: the file's name).")
@click.option("--student", default="", help="Student id, for hidden cases (default: the file's folder).")
@click.option("--secret-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Instructor secret, for hidden cases.")
@limit_options
@isolation_options
@problems_option
def replay(file: Path, problem_id: str, case_id: str, assignment_id: str | None, student: str,
           secret_file: Path | None, case_seconds: float, import_seconds: float, memory_mb: int, isolation: str,
           require_isolation: bool, problems_dir: Path | None) -> None:
    """Re-run exactly one case and show its inputs, expected and received values."""
    from rich.console import Console

    from .render.terminal import print_replay
    from .selfcheck import replay_case

    result, iso = replay_case(file, problem_id, case_id, assignment_id, student, secret_file, problems_dir,
                              _limits(case_seconds, import_seconds, memory_mb), _mode(isolation, require_isolation))
    print_replay(Console(), result, iso.note)
    if result.status != "graded" or any(not c.passed for p in result.problems for c in p.cases):
        sys.exit(1)


@main.command()
@click.argument("assignment_ids", nargs=-1)
@problems_option
def selftest(assignment_ids: tuple[str, ...], problems_dir: Path | None) -> None:
    """Check the course's problems: references earn full marks, known mistakes are caught."""
    from .loader import assignment_ids as all_ids
    from .loader import load_assignment
    from .selftest import run_selftest

    findings = []
    for assignment_id in assignment_ids or all_ids(problems_dir):
        found = run_selftest(load_assignment(assignment_id, problems_dir))
        click.echo(f"{assignment_id}: {'ok' if not found else f'{len(found)} problem(s)'}")
        findings += found
    for finding in findings:
        click.secho(f"  {finding}", fg="red")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
