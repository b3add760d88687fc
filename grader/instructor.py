"""The instructor's side: ``grader grade`` over one or more assignments, with progress and reports."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .batch import BatchOptions, course_assignments, grade_batch
from .intake import collect, opened
from .loader import assignment_ids, load_assignment
from .render.console import make_console
from .render.terminal import isolation_line, print_batch
from .results import SubmissionResult
from .sandbox import open_runner
from .sandbox.runner import Limits, Runner
from .seeding import inside, load_or_create_secret, resolve_secret_file
from .spool import release
from .text import printable

RunnerFactory = Callable[[str, int], Runner]


def run_grade(assignments: list[str], folder: Path, out_dir: Path, jobs: int, secret_file: Path | None,
              fresh: bool, limits: Limits, mode: str, problems_dir: Path | None, layout: str = "auto",
              runner_factory: RunnerFactory | None = None, db: Path | None = None) -> int:
    """Grade, write the reports; returns how many submissions were found (0: nobody was graded).
    ``runner_factory(mode, workers)`` makes the runner (default: the sandbox, or the portable runner).
    Each assignment's batch is recorded in the gradebook ``db`` (default ``<out_dir>/gradebook.sqlite``)."""
    with opened(folder) as (root, notes):  # a .zip is unpacked once, for every assignment
        return _run_grade(assignments, root, out_dir, jobs, secret_file, fresh, limits, mode, problems_dir, layout,
                          folder, notes, runner_factory or open_runner, db)


def _run_grade(assignments: list[str], folder: Path, out_dir: Path, jobs: int, secret_file: Path | None,
               fresh: bool, limits: Limits, mode: str, problems_dir: Path | None, layout: str, given: Path,
               notes: list[str], runner_factory: RunnerFactory, db: Path | None = None) -> int:
    from .gradebook import DB_NAME, connect, file_times, record_batch
    from .render.reports import write_index, write_reports

    console = make_console()
    ids = assignment_ids(problems_dir) if assignments == ["all"] else assignments
    loaded = [load_assignment(a, problems_dir) for a in ids]  # fail early on a typo
    connect(db or out_dir / DB_NAME).close()  # and on a gradebook that cannot be opened
    secret_path, found_by_replay = resolve_secret_file(secret_file)
    if inside(secret_path, out_dir):
        console.print(f"warning: the secret {secret_path} is inside the output folder {out_dir}: keep it out of "
                      "what you publish (move it, or use the default location)", style="yellow", markup=False,
                      soft_wrap=True)
    secret, created = load_or_create_secret(secret_path)
    if created:
        console.print(f"created the hidden-case secret {secret_path} (keep it, and keep it private: replaying "
                      "hidden cases needs it)", markup=False, soft_wrap=True)
    options = BatchOptions(limits=limits, fresh=fresh, custom_secret=not found_by_replay, problems_dir=problems_dir,
                           layout=layout, shown_root=given.with_suffix("") if given != folder else None)
    course = course_assignments(problems_dir)
    intakes = {a.id: collect(folder, a.id, layout, course) for a in loaded}  # a wrong folder fails before grading
    listed = set()
    digests = []
    with closing(runner_factory(mode, jobs)) as runner:
        isolation = runner.isolation
        console.print(isolation_line(isolation.mode, isolation.layers, isolation.note))
        for assignment in loaded:
            target = out_dir / assignment.id
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[reused]} resumed"), TimeElapsedColumn(),
                          console=console, transient=False) as progress:
                task = progress.add_task(assignment.id, total=len(intakes[assignment.id].entries), reused=0)
                resumed = [0]

                def done(result: SubmissionResult, reused: bool, task=task, progress=progress,
                         resumed=resumed) -> None:
                    resumed[0] += reused
                    progress.update(task, advance=1, reused=resumed[0])

                batch = grade_batch(assignment, folder, target, secret, runner, jobs, options, done)
            digests.append(write_reports(batch, target))
            record_batch(db or out_dir / DB_NAME, batch, assignment, target, problems_dir,
                         file_times(intakes[assignment.id].entries, folder, given))
            print_batch(console, digests[-1], str(target))
            release(batch)  # every report is written: its spool's folder goes now, not at exit
            intake = intakes[assignment.id]
            fresh_notes = [n for n in [*notes, *intake.unplaced] if n not in listed]
            listed.update(fresh_notes)
            if fresh_notes:
                console.print(f"not placed ({intake.layout} layout): {len(fresh_notes)} item(s) belong to no "
                              "student and were not graded:", style="yellow", markup=False, soft_wrap=True)
                for note in fresh_notes[:50]:
                    console.print(printable(f"  {note}"), markup=False, soft_wrap=True)
                if len(fresh_notes) > 50:
                    console.print(f"  ... and {len(fresh_notes) - 50} more", markup=False)
    write_index(digests, out_dir)
    console.print(f"open {out_dir / 'index.html'}; recorded in the gradebook {db or out_dir / DB_NAME} "
                  "(grader gradebook)", markup=False, soft_wrap=True)
    found = sum(len(d.submitted) for d in digests)
    if not found:
        layouts = sorted({i.layout for i in intakes.values()})
        console.print(f"graded nobody: no submission of {', '.join(a.id for a in loaded)} was found in {given} "
                      f"(read as the {'/'.join(layouts)} layout). Check the folder and --layout "
                      "(auto, folders, canvas, gradescope or moodle).", style="red", markup=False, soft_wrap=True)
    return found
