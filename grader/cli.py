"""The ``grader`` command: a thin layer over plain functions. Heavy imports happen inside commands."""

from __future__ import annotations

import os
import shlex
import sys
from contextlib import suppress
from pathlib import Path

import click

from .errors import GraderError
from .limits import Limits
from .sandbox import ISOLATION_MODES

LIMIT_OPTIONS = [  # defaults from grader/limits.py, the one place they live
    click.option("--timeout", "case_seconds", type=float, default=Limits.case_seconds, show_default=True,
                 help="Wall-clock seconds per case."),
    click.option("--import-timeout", "import_seconds", type=float, default=Limits.import_seconds, show_default=True,
                 help="Wall-clock seconds to import a submission."),
    click.option("--memory-mb", type=int, default=Limits.memory_mb, show_default=True,
                 help="Extra address space a submission may allocate."),
]


def _runner():
    """The runner the CLI was handed (``main(obj={"runner": factory})``, for in-process tests), else None:
    the commands then open the sandbox, or the portable runner where it cannot run."""
    ctx = click.get_current_context(silent=True)
    factory = (ctx.find_root().obj or {}).get("runner") if ctx is not None else None
    return factory


def limit_options(func):
    for option in reversed(LIMIT_OPTIONS):
        func = option(func)
    return func


def isolation_options(func):
    func = click.option("--require-isolation", is_flag=True,
                        help="Refuse to run student code without namespaces and seccomp.")(func)
    func = click.option("--isolation", type=click.Choice(ISOLATION_MODES), default="auto",
                        show_default=True, envvar="GRADER_ISOLATION",
                        help="'reduced' runs the worker without namespaces (debugging only).")(func)
    return func


def problems_option(func):
    return click.option("--problems", "problems_dir", type=click.Path(file_okay=False, path_type=Path),
                        envvar="GRADER_PROBLEMS", help="A course folder to use instead of the bundled problems.")(func)


def _mode(isolation: str, require: bool) -> str:
    return "full" if require else isolation


def _limits(case_seconds: float, import_seconds: float, memory_mb: int) -> Limits:
    if case_seconds <= 0 or import_seconds <= 0 or memory_mb <= 0:
        raise click.BadParameter("timeouts and memory must be positive")
    return Limits(case_seconds=case_seconds, import_seconds=import_seconds, memory_mb=memory_mb)


class GraderGroup(click.Group):
    """Turns GraderError into one clear line and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GraderError as exc:  # its text may quote a submission's file or folder name
            from .text import printable

            click.secho(printable(f"error: {exc}"), fg="red", err=True)
            sys.exit(2)


def run() -> None:
    """The console script's entry point in installs made before ``grader.program`` existed (pip writes the
    script at install time): it still works, without starting `grader check`'s worker early. Reinstall to
    get the current script."""
    from .program import run as program_run

    program_run()


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
    from rich.table import Table

    from .loader import load_all
    from .render.console import make_console

    table = Table(title="assignments", show_lines=True)
    for column in ("assignment", "points", "problems"):
        table.add_column(column, overflow="fold")
    assignments = load_all(problems_dir)
    for assignment in assignments:
        names = "\n".join(f"{p.id} ({e.points:g})" for e, p in zip(assignment.entries, assignment.problems,
                                                                     strict=True))
        table.add_row(f"[bold]{assignment.id}[/]\nsubmit {assignment.filename}\n[dim]{assignment.title}[/]",
                      f"{assignment.max_score:g}", names)
    make_console().print(table)
    click.echo("grader show <assignment> [problem] prints what each covers, statements and signatures.")
    _points_warnings(assignments)


def _points_warnings(assignments) -> None:
    """A warning (not an error) per assignment whose problems' points do not add up to its stated total."""
    for assignment in assignments:
        warning = assignment.points_warning()
        if warning:
            click.secho(f"warning: {warning}", fg="yellow", err=True)


@main.command()
@click.argument("assignment_id")
@click.argument("problem_id", required=False)
@problems_option
def show(assignment_id: str, problem_id: str | None, problems_dir: Path | None) -> None:
    """Show an assignment, or one problem's statement and signature."""
    from rich.markdown import Markdown
    from rich.panel import Panel

    from .loader import load_assignment
    from .render.console import make_console
    from .render.terminal import terminal_markdown
    from .spec import FunctionProblem

    console = make_console()
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
                    f"*checked by:* `{problem.check.description}`")
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
              help="Also write the public-case result in Gradescope's results.json format (feedback for "
                   "tooling, not a grade: a file can memorise the public cases; to grade on Gradescope use "
                   "`grader gradescope ASSIGNMENT`).")
@limit_options
@isolation_options
@problems_option
def check(file: Path, assignment_id: str | None, fail_under: float, only: tuple[str, ...], json_path: Path | None,
          junit_path: Path | None, gradescope_path: Path | None, case_seconds: float, import_seconds: float,
          memory_mb: int, isolation: str, require_isolation: bool, problems_dir: Path | None) -> None:
    """Check your submission on the public cases (students)."""
    from .selfcheck import check_file, resolve_assignment  # its worker was started by grader.program already

    factory = _runner()
    limits = _limits(case_seconds, import_seconds, memory_mb)
    assignment = resolve_assignment(file, assignment_id, problems_dir)  # loaded once (the student edition parses it)
    result, iso = check_file(file, assignment_id, problems_dir, limits, _mode(isolation, require_isolation),
                             only or None, factory(_mode(isolation, require_isolation), 1) if factory else None,
                             assignment, while_waiting=_import_terminal)
    from .render.console import make_console
    from .render.terminal import print_submission

    if result.status == "unreadable":  # the side outputs still say so (CI), then exit status 2 as before
        _write_side_outputs(result, json_path, junit_path, gradescope_path)
        _github_outputs(result, file, assignment)
        raise GraderError(result.message)
    console = make_console()
    print_submission(console, result, iso.note)
    checked = {p.id for p in result.problems}
    unchecked = [p for p in assignment.problems
                 if not p.self_check and p.id not in checked and (not only or p.id in only)]
    if unchecked:
        why = {"answers": "the student edition does not hold the answers",
               "function": "a yes/no verdict would give the answers away"}
        console.print("not self-checked, graded with your submission: "
                      + "; ".join(f"{p.id} ({why[p.kind]})" for p in unchecked), style="dim")
    _write_side_outputs(result, json_path, junit_path, gradescope_path)
    _github_outputs(result, file, assignment)
    if result.percent + 1e-9 < fail_under:
        click.secho(f"below --fail-under {fail_under:g}%", fg="red", err=True)
        sys.exit(1)


def _import_terminal() -> None:
    """The terminal renderer (rich: a tenth of a self-check's time), loaded while the worker runs the job."""
    import rich.console  # noqa: F401

    from .render import terminal  # noqa: F401


def _github_outputs(result, file: Path, assignment) -> None:
    """In GitHub Actions: a step summary ($GITHUB_STEP_SUMMARY) and annotations (GITHUB_ACTIONS=true)."""
    if not os.environ.get("GITHUB_STEP_SUMMARY") and os.environ.get("GITHUB_ACTIONS") != "true":
        return
    from .render.github import report_to_github

    functions = {p.id: p.function for p in assignment.functions}
    report_to_github(result, file, functions)


def _write_side_outputs(result, json_path: Path | None, junit_path: Path | None, gradescope_path: Path | None) -> None:
    if not (json_path or junit_path or gradescope_path):
        return  # nothing to write: `grader check` does not pay for importing the batch machinery
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
              help="Instructor secret for hidden cases (default: $GRADER_SECRET_FILE, else "
                   "$XDG_CONFIG_HOME/dlmath-grader/secret.key, ~/.config/... or %APPDATA%\\... on Windows; "
                   "created if missing). Keep it outside --out and private.")
@click.option("--fresh", is_flag=True, help="Ignore results saved by an earlier, interrupted run.")
@click.option("--layout", type=click.Choice(["auto", "folders", "canvas", "gradescope", "moodle"]), default="auto",
              show_default=True, help="How SUBMISSIONS holds the files: one folder per student, or the bulk "
                                      "download of Canvas, Gradescope or Moodle (auto: detected).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="The course gradebook (SQLite) each run is recorded in (default: OUT/gradebook.sqlite).")
@limit_options
@isolation_options
@problems_option
def grade(args: tuple[str, ...], out_dir: Path, jobs: int, secret_file: Path | None, fresh: bool, layout: str,
          db: Path | None, case_seconds: float, import_seconds: float, memory_mb: int, isolation: str,
          require_isolation: bool, problems_dir: Path | None) -> None:
    """Grade a folder of submissions (instructors): grader grade ASSIGNMENT... SUBMISSIONS_DIR.

    ASSIGNMENT may be repeated, or `all`. SUBMISSIONS_DIR holds one sub-folder
    per student (the folder name is the student id) with <assignment>.py or .ipynb,
    or is a Canvas, Gradescope or Moodle bulk download (a folder or its .zip).
    Re-running the same command after an interruption resumes where it stopped.
    Exit status 1 when no submission was found.
    """
    _instructor_only("grade")
    from .instructor import run_grade

    if len(args) < 2:
        raise click.UsageError("give at least one assignment id (or 'all') and the submissions folder")
    *assignments, folder = args
    found = run_grade(assignments, Path(folder), out_dir, jobs or (os.cpu_count() or 1), secret_file, fresh,
                      _limits(case_seconds, import_seconds, memory_mb), _mode(isolation, require_isolation),
                      problems_dir, layout, runner_factory=_runner(), db=db)
    if not found:
        sys.exit(1)


@main.command("gradebook")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Where gradebook.csv and canvas.csv go (and the reports whose student "
                                      "pages get the late summary).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path),
              help="The gradebook `grader grade` recorded (default: OUT/gradebook.sqlite).")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The late policy (TOML): due dates, grace, penalties, late days, exceptions.")
@click.option("--student", "student_id", help="Print this student's history instead: every run, every "
                                                  "resubmission, scores and penalties.")
@click.option("--use-mtime", is_flag=True, help="When the LMS gives no submission time or late mark, use the "
                                                "file's modification time.")
def gradebook(out_dir: Path, db: Path | None, policy_path: Path | None, student_id: str | None,
              use_mtime: bool) -> None:
    """The semester (instructors): every student's latest score per assignment after late penalties.

    Prints the table and writes OUT/gradebook.csv and OUT/canvas.csv (Canvas's gradebook import). With
    --policy, also adds the late summary to the student pages under OUT.
    """
    _instructor_only("gradebook")
    from .gradebook import DB_NAME, run_gradebook

    run_gradebook(db or out_dir / DB_NAME, out_dir, policy_path, student_id, use_mtime)


@main.command()
@click.argument("assignment_id")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder for <assignment>-gradescope.zip.")
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Instructor secret for hidden cases (default: the one `grader grade` uses; created if "
                   "missing). It is copied into the zip: keep the zip private.")
@click.option("--torch", is_flag=True, help="Also install torch==2.13.0 (CPU) in the image. Without it, a "
                                            "submission that imports torch fails to import, with a clear message.")
@click.option("--hidden-visibility", type=click.Choice(["after_due_date", "after_published", "hidden"]),
              default="after_due_date", show_default=True,
              help="When students see the hidden-case tests. Gradescope shows the total score unless a test is "
                   "'hidden'; with resubmissions, a visible total can reveal yes/no verdicts.")
@click.option("--time-limit", type=int, default=300, show_default=True,
              help="Seconds before run_autograder stops grading and reports it (keep it below the assignment's "
                   "Gradescope timeout, 10 min by default).")
@limit_options
def gradescope(assignment_id: str, out_dir: Path, secret_file: Path | None, torch: bool, hidden_visibility: str,
               time_limit: int, case_seconds: float, import_seconds: float, memory_mb: int) -> None:
    """Build a Gradescope autograder zip (instructors): hidden cases, one test per problem.

    Writes OUT/<assignment>-gradescope.zip: setup.sh, run_autograder, a wheel of the grader and the course,
    the secret and a config. Upload it as the assignment's autograder (Ubuntu 22.04 base image).
    """
    _instructor_only("gradescope")
    from .gradescope_zip import build_zip
    from .seeding import inside, load_or_create_secret, resolve_secret_file

    secret_path, _ = resolve_secret_file(secret_file)
    secret, created = load_or_create_secret(secret_path)
    if created:
        click.echo(f"created the hidden-case secret {secret_path} (keep it, and keep it private)")
    if inside(secret_path, out_dir):
        click.secho(f"warning: the secret {secret_path} is inside {out_dir}", fg="yellow", err=True)
    target = build_zip(assignment_id, out_dir, secret, _limits(case_seconds, import_seconds, memory_mb), torch,
                       hidden_visibility, time_limit)
    click.echo(f"wrote {target} (it holds the secret: keep it private); upload it on Gradescope: "
               "Configure Autograder > Zip file upload, base image Ubuntu 22.04")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("problem_id")
@click.argument("case_id")
@click.option("--assignment", "assignment_id", help="Assignment id (default: the file's name).")
@click.option("--student", default="", help="Student id, for hidden cases (default: the file's folder).")
@click.option("--secret-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Instructor secret, for hidden cases (default: the one `grader grade` uses by default: "
                   "$GRADER_SECRET_FILE, else $XDG_CONFIG_HOME/dlmath-grader/secret.key).")
@limit_options
@isolation_options
@problems_option
def replay(file: Path, problem_id: str, case_id: str, assignment_id: str | None, student: str,
           secret_file: Path | None, case_seconds: float, import_seconds: float, memory_mb: int, isolation: str,
           require_isolation: bool, problems_dir: Path | None) -> None:
    """Re-run exactly one case and show its inputs, expected and received values."""
    from .render.console import make_console
    from .render.terminal import print_replay
    from .selfcheck import replay_case

    factory = _runner()
    result, iso = replay_case(file, problem_id, case_id, assignment_id, student, secret_file, problems_dir,
                              _limits(case_seconds, import_seconds, memory_mb), _mode(isolation, require_isolation),
                              factory(_mode(isolation, require_isolation), 1) if factory else None)
    print_replay(make_console(), result, iso.note)
    if result.status != "graded" or any(not c.passed for p in result.problems for c in p.cases):
        sys.exit(1)


@main.command()
@click.argument("assignment_ids", nargs=-1)
@problems_option
def selftest(assignment_ids: tuple[str, ...], problems_dir: Path | None) -> None:
    """Check the course's problems: references earn full marks, known mistakes are caught."""
    from .loader import assignment_ids as all_ids
    from .loader import load_assignment
    _instructor_only("selftest")
    from .selftest import run_selftest

    findings = []
    for assignment_id in assignment_ids or all_ids(problems_dir):
        assignment = load_assignment(assignment_id, problems_dir)
        found = run_selftest(assignment)
        click.echo(f"{assignment_id}: {'ok' if not found else f'{len(found)} problem(s)'}")
        _points_warnings([assignment])
        findings += found
    for finding in findings:
        click.secho(f"  {finding}", fg="red")
    sys.exit(1 if findings else 0)


@main.command()
@click.argument("assignment_ids", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="Folder for the wheel.")
@problems_option
def bundle(assignment_ids: tuple[str, ...], out_dir: Path, problems_dir: Path | None) -> None:
    """Build the student edition: one wheel with statements and public cases, and no solutions.

    ASSIGNMENT may be repeated, or `all`. Students install it with `pip install FILE` and run
    `grader check hw7.py`. Refuses a course whose checks would ship private code or answers.
    """
    _instructor_only("bundle")
    from .bundle import build
    from .loader import assignment_ids as all_ids

    ids = list(all_ids(problems_dir)) if assignment_ids == ("all",) else list(assignment_ids)
    path = build(ids, out_dir, problems_dir)
    click.echo(str(path))


def _instructor_only(command: str) -> None:
    from .loader import student_edition

    if student_edition() is not None:
        raise GraderError(f"`grader {command}` needs the course package: this is the student edition, which holds "
                          "no reference solutions or hidden cases")


@main.command()
@click.argument("results", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Folder for the pages (one sub-folder per assignment).")
@click.option("--for-students", is_flag=True,
              help="Also write students-public/<student>.html: pages to give each student (no secret "
                   "placeholder, no other student, hidden cases' inputs and expected values withheld).")
@click.option("--release-hidden", is_flag=True,
              help="With --for-students: show hidden cases' inputs and expected values too.")
def report(results: tuple[Path, ...], out_dir: Path, for_students: bool, release_hidden: bool) -> None:
    """Render the HTML pages and gradebook again from results.json files alone (instructors)."""
    _instructor_only("report")
    from .batch import STATE_DIR
    from .render.reports import write_index, write_reports
    from .results import NOT_A_RESULT
    from .spool import read_results, release

    batches = []
    for path in results:
        try:  # read line by line into a spool under the output folder: memory flat in the class's size
            batch = read_results(path, out_dir / STATE_DIR)
        except (OSError, *NOT_A_RESULT) as exc:
            raise GraderError(f"{path} is not a results.json written by grader grade ({exc})") from None
        target = out_dir / batch.assignment
        batches.append(write_reports(batch, target,
                                     results_json=path.resolve() != (target / "results.json").resolve(),
                                     for_students=for_students, release_hidden=release_hidden))
        release(batch)
        click.echo(f"wrote {target}")
    with suppress(OSError):
        (out_dir / STATE_DIR).rmdir()  # the spools' parent, when nothing else is in it
    write_index(batches, out_dir)
    click.echo(f"open {out_dir / 'index.html'}")


@main.command()
@click.argument("assignment_id")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write similarity.html and similarity.csv (every pair) into this folder.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="Pairs to show.")
@problems_option
def similarity(assignment_id: str, folder: Path, out_dir: Path | None, top: int, problems_dir: Path | None) -> None:
    """Rank pairs of submissions by similarity of their code (instructors): a screening aid.

    FOLDER holds one sub-folder per student with <assignment>.py or .ipynb. Identifiers, comments and
    layout are ignored; code of the starter file and of the reference solutions does not count.
    """
    _instructor_only("similarity")
    from .loader import load_assignment
    from .render.console import make_console
    from .similarity import print_similarity, screen_folder, write_similarity

    result = screen_folder(load_assignment(assignment_id, problems_dir), folder)
    print_similarity(make_console(), result, top)
    if out_dir is not None:
        for path in write_similarity(result, out_dir, top):
            click.echo(f"wrote {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
