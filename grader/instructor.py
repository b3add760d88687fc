"""The instructor's side: ``grader grade`` over one or more assignments, with progress and reports."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .batch import BatchOptions, discover_students, grade_batch
from .loader import assignment_ids, load_assignment
from .render.terminal import isolation_line, print_batch
from .results import SubmissionResult
from .sandbox.process import SandboxRunner
from .sandbox.runner import Limits
from .seeding import load_or_create_secret


def run_grade(assignments: list[str], folder: Path, out_dir: Path, jobs: int, secret_file: Path | None,
              fresh: bool, limits: Limits, mode: str, problems_dir: Path | None) -> None:
    from .render.reports import write_index, write_reports

    console = Console()
    ids = assignment_ids(problems_dir) if assignments == ["all"] else assignments
    loaded = [load_assignment(a, problems_dir) for a in ids]  # fail early on a typo
    secret_path = secret_file or out_dir / "secret.key"
    secret, created = load_or_create_secret(secret_path)
    if created:
        console.print(f"created the hidden-case secret {secret_path} (keep it: replaying hidden cases needs it)")
    options = BatchOptions(limits=limits, fresh=fresh, secret_file=str(secret_path), problems_dir=problems_dir)
    batches = []
    with SandboxRunner(workers=jobs, mode=mode) as runner:
        isolation = runner.isolation
        console.print(isolation_line(isolation.mode, isolation.layers, isolation.note))
        for assignment in loaded:
            target = out_dir / assignment.id
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[reused]} resumed"), TimeElapsedColumn(),
                          console=console, transient=False) as progress:
                task = progress.add_task(assignment.id, total=len(discover_students(folder)), reused=0)
                resumed = [0]

                def done(result: SubmissionResult, reused: bool, task=task, progress=progress,
                         resumed=resumed) -> None:
                    resumed[0] += reused
                    progress.update(task, advance=1, reused=resumed[0])

                batch = grade_batch(assignment, folder, target, secret, runner, jobs, options, done)
            write_reports(assignment, batch, target)
            print_batch(console, batch, str(target))
            batches.append(batch)
    write_index(batches, out_dir)
    console.print(f"open {out_dir / 'index.html'}")
