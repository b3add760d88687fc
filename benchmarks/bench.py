"""Grading speed and memory, measured, printed as figures (not asserted: machines are noisy).

    python benchmarks/bench.py                    # check latency, batch of 500, memory, floor
    python benchmarks/bench.py --layers           # also the cost of each isolation layer
    python benchmarks/bench.py --n 100 --quick    # a smaller run
    python benchmarks/bench.py --parts check      # only `grader check` (or batch, memory)
    python benchmarks/bench.py --parts floors     # what the targets are up against on this machine

Synthetic classes are built from the sample submissions: 60 % correct
(``passes_all``), 30 % with typical mistakes, 10 % crashing (``os._exit`` in
a function, or an exception at import). Samples that hang or import torch are
left out: a hang costs its timeouts, a torch import a one-off 3 s per worker.

Compare figures within one run, as ratios: absolute times on shared machines
drift by 10-60 % between runs.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pickle
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.threads import THREAD_VARS, one_numeric_thread  # noqa: E402

one_numeric_thread()  # as the `grader` command does, before numpy is imported

from grader import engine  # noqa: E402
from grader.batch import BatchOptions, grade_batch  # noqa: E402
from grader.engine import Audience, CaseBook, compute_expected, grade, plan_cases  # noqa: E402
from grader.loader import load_assignment  # noqa: E402
from grader.render.reports import write_reports  # noqa: E402
from grader.sandbox.inprocess import InProcessRunner  # noqa: E402
from grader.sandbox.isolation import Layers  # noqa: E402
from grader.sandbox.process import SandboxRunner, SandboxWorker  # noqa: E402
from grader.submission import Submission  # noqa: E402

SAMPLES = ROOT / "submissions"
SECRET = "benchmark-secret"
# What every `grader check` process imports besides the grader and the course: Python with its site, numpy (the
# checks), click (the command line) and rich (the terminal). Timed alone, it is the floor of a check's wall time.
IMPORT_FLOOR = "import numpy, click, rich.console"


def samples(assignment: str) -> tuple[str, list[str]]:
    """The correct sample and the mistaken ones that neither hang nor import torch."""
    good = (SAMPLES / "passes_all" / f"{assignment}.py").read_text()
    manifest = json.loads((ROOT / "tests" / "samples" / f"{assignment}.json").read_text())
    buggy = []
    for key, spec in manifest.items():
        path = SAMPLES / key
        if not key.startswith(f"{assignment}-") or path.suffix != ".py" or spec["status"] != "graded":
            continue
        text = path.read_text()
        hangs = any(word in key for word in ("loop", "hang", "sleep")) or "while True" in text or "sleep" in text
        if "torch" in text or hangs or any(o == "timeout" for o in spec.get("problems", {}).values()):
            continue
        buggy.append(text)
    return good, buggy


def crashing(good: str, function: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return good + f"\n\ndef {function}(*args, **kwargs):\n    import os\n    os._exit(1)\n"
    return good + "\n\nraise RuntimeError('unfinished homework')\n"


def make_class(assignment: str, n: int, folder: Path, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    good, buggy = samples(assignment)
    first = load_assignment(assignment).functions[0].function
    roster = []
    for i in range(n):
        roll = rng.random()
        source = good if roll < 0.6 or not buggy else (rng.choice(buggy) if roll < 0.9 else crashing(good, first, rng))
        student = f"s{i:04d}"
        (folder / student).mkdir(parents=True, exist_ok=True)
        (folder / student / f"{assignment}.py").write_text(source)
        roster.append((student, source))
    return roster


def floor_seconds(assignment: str, roster: list[tuple[str, str]]) -> float:
    """Calling the same functions on the same inputs directly, in one process: no grader at all."""
    warnings.simplefilter("ignore")  # the buggy samples overflow on purpose
    spec = load_assignment(assignment)
    total = 0.0
    for student, source in roster:
        plan = plan_cases(spec, Audience(hidden=True, secret=SECRET, student=student))
        calls = [(p.problem.function, p.case.args) for p in plan.cases if p.case is not None]
        began = time.perf_counter()
        namespace: dict = {}
        try:
            exec(compile(source, "bench.py", "exec"), namespace)  # noqa: S102 - our own samples
        except BaseException:  # noqa: BLE001
            total += time.perf_counter() - began
            continue
        for function, args in calls:
            try:
                if "os._exit" not in source:
                    namespace[function](*args)
            except Exception:  # noqa: BLE001
                pass
        total += time.perf_counter() - began
    return total


def inprocess_seconds(assignment: str, roster: list[tuple[str, str]], shared: bool = False) -> float:
    """The whole engine (cases, references, checks) with the unsafe in-process runner.

    ``shared``: one CaseBook for the class, as ``grade_batch`` has (the public cases and their known
    mistakes' outputs solved once); otherwise each submission solves them again, as a lone ``grader check``."""
    warnings.simplefilter("ignore")
    spec = load_assignment(assignment)
    runner = InProcessRunner()
    book = CaseBook() if shared else None
    began = time.perf_counter()
    for student, source in roster:
        source = source.replace("os._exit(1)", "raise SystemExit(1)")  # would end this process
        audience = Audience(hidden=True, secret=SECRET, student=student)
        grade(spec, Submission(student, Path(f"{assignment}.py"), source), runner, audience, book=book)
    return time.perf_counter() - began


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its descendants, the reaped ones included (/proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            children = [int(c) for c in fh.read().split()]
    except OSError:
        return 0.0
    own = sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
    return own + sum(_tree_cpu(c) for c in children)


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not ``ru_maxrss``: Linux carries it across exec from the process
    that forked this one (a benchmark run in a subprocess would report its parent's size); VmHWM is this
    process image's own."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def batch_run(assignment: str, folder: Path, jobs: int, layers: Layers | None = None, mode: str = "auto",
              keep: bool = True, reports: bool = False) -> dict:
    """One batch. ``keep=False`` keeps no judgement in the batch's CaseBook, as if every student's outputs
    differed from every other's in some bit (the synthetic class shares many outputs exactly).
    ``reports``: then write every report, as `grader grade` does (the peak memory is then the whole job's)."""
    spec = load_assignment(assignment)
    out = Path(tempfile.mkdtemp(prefix="bench-out-"))
    kept = engine.VERDICTS_KEPT
    engine.VERDICTS_KEPT = kept if keep else 0
    try:
        began = time.perf_counter()
        with SandboxRunner(workers=jobs, mode=mode, layers=layers) as runner:
            isolation = runner.isolation  # waits for the first worker's handshake
            started = time.perf_counter()
            cpu = resource.getrusage(resource.RUSAGE_SELF)
            batch = grade_batch(spec, folder, out, SECRET, runner, jobs, BatchOptions(fresh=True))
            graded = time.perf_counter()
            done = resource.getrusage(resource.RUSAGE_SELF)
            # the workers' processes (bubblewrap, the worker, its job manager and every child it reaped),
            # read before closing: a closed worker is killed, and never reaped by this process
            workers_cpu = sum(_tree_cpu(w.proc.pid) for w in runner._workers if w.proc)
        n = len(batch.submissions)
        written = time.perf_counter()
        if reports:
            write_reports(batch, out)
        reports_seconds = time.perf_counter() - written
        grader_cpu = (done.ru_utime - cpu.ru_utime) + (done.ru_stime - cpu.ru_stime)
        return {"n": n, "seconds": graded - started, "startup": started - began + 0.0,
                "rate": n / (graded - started), "isolation": isolation.mode, "layers": list(isolation.layers),
                "grader_cpu_ms": grader_cpu / n * 1000,  # the grader process alone (its threads), not the workers
                "workers_cpu_ms": workers_cpu / n * 1000,  # every worker process and its children, start-up included
                "reports_seconds": reports_seconds, "maxrss_mb": peak_rss_mb()}
    finally:
        engine.VERDICTS_KEPT = kept
        shutil.rmtree(out, ignore_errors=True)


def batch_in_subprocess(assignment: str, n: int, jobs: int) -> dict:
    """A fresh process per size, so that its peak memory is its own."""
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.bench import *; "
            f"import tempfile; d = Path(tempfile.mkdtemp()); make_class({assignment!r}, {n}, d); "
            f"print(json.dumps(batch_run({assignment!r}, d, {jobs}, reports=True))); shutil.rmtree(d)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_latency(assignment: str, repeats: int, python: Path | None = None,
                  floor: bool = False) -> tuple[list[float], list[float]]:
    """Wall time of a whole `grader check` process, with Python's bytecode cache written (as pip leaves an
    installed package: a machine that sets PYTHONDONTWRITEBYTECODE would otherwise recompile every module
    each time), after one untimed run that fills it. ``python``: another installation's (the student
    edition's), run from outside this repository. ``floor``: also time, run by run in alternation, a process
    of the same Python that only imports the libraries every check loads (IMPORT_FLOOR); returns both lists."""
    path = SAMPLES / "passes_all" / f"{assignment}.py"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update({v: "1" for v in THREAD_VARS})  # as the `grader` program sets them before numpy loads
    command = [str(python or sys.executable), "-m", "grader", "check", str(path)]
    bare = [str(python or sys.executable), "-c", IMPORT_FLOOR]
    cwd = python.parents[2] if python else ROOT
    subprocess.run(command, capture_output=True, check=True, cwd=cwd, env=env)
    times: list[float] = []
    floors: list[float] = []
    for _ in range(repeats):
        for timed, argv in ((times, command), (floors, bare)) if floor else ((times, command),):
            began = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True, cwd=cwd, env=env)
            timed.append(time.perf_counter() - began)
    return times, floors


def worker_boot(repeats: int, mode: str = "auto") -> list[float]:
    """Seconds from spawning a sandbox worker to its greeting (Python, numpy, the seccomp filter), the grader
    otherwise idle: the other path a `grader check` waits for."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        worker = SandboxWorker(mode)
        try:
            worker.launch()
            worker.ensure_started()
            times.append(time.perf_counter() - began)
        finally:
            worker.close()
    return times


def student_edition(work: Path) -> Path:
    """The student edition, built (`grader bundle all`) and installed with one `pip install FILE` into a fresh
    virtual environment, as a student installs it; returns that environment's python."""
    dist = work / "dist"
    subprocess.run([sys.executable, "-m", "grader", "bundle", "all", "--out", str(dist)], check=True, cwd=ROOT,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True, capture_output=True)
    python = work / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", *map(str, dist.glob("*.whl"))], check=True,
                   capture_output=True)
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500, help="submissions in the large batch")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--assignments", nargs="+", default=["wr3", "hw7", "hw4", "hw5", "hw6"])
    parser.add_argument("--layers", action="store_true", help="measure each isolation layer")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parts = ["check", "batch", "memory", "floors"]
    parser.add_argument("--parts", nargs="+", choices=parts, default=parts[:3],
                        help="what to measure (default: check, batch, memory)")
    parser.add_argument("--repeats", type=int, help="runs of each `grader check` (default 3 with --quick, else 5)")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 5)
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, jobs={args.jobs}")

    if "check" in args.parts:
        check_part(args.assignments, repeats)
    if "batch" in args.parts:
        batch_part(args.assignments, args.n, args.jobs)
    if "memory" in args.parts:
        memory_part(args.assignments[0], args.n, args.jobs, args.quick)
    if "floors" in args.parts:
        floors_part(args.assignments, repeats, args.n, args.jobs)
    if args.layers:
        layers_part(args.assignments[0])


def checks(assignments: list[str], repeats: int, floor: bool = False
           ) -> Iterator[tuple[str, list[tuple[str, list[float], list[float]]]]]:
    """Per assignment, ``check_latency`` on both installs: this repository's, and the student edition built and
    installed from its wheel for the run (what students run)."""
    with tempfile.TemporaryDirectory(prefix="bench-edition-") as tmp:
        edition = student_edition(Path(tmp))
        for assignment in assignments:
            yield assignment, [(name, *check_latency(assignment, repeats, python, floor))
                               for name, python in (("course", None), ("student edition", edition))]


def check_part(assignments: list[str], repeats: int) -> None:
    print("\n== grader check of a full-marks file (wall seconds, median of", repeats, "runs; target <= 0.3 s):"
          " this repository's install, and the student edition installed from its wheel (what students run)")
    for assignment, installs in checks(assignments, repeats):
        print(f"  {assignment}:" + "".join(f"  {name} median {statistics.median(times):.2f} s"
                                           f" (min {min(times):.2f}, max {max(times):.2f})"
                                           for name, times, _ in installs))


def batch_part(assignments: list[str], n: int, jobs: int) -> None:
    print(f"\n== batch grading, {n} synthetic submissions per assignment (target >= 60 per second)")
    print(f"  {'assignment':<10} {'subs/s':>7} {'grading s':>9} {'per sub ms':>10} {'grader cpu':>10} "
          f"{'worker cpu':>10} "
          f"{'floor ms':>8} {'in-proc ms':>10} {'in-proc/b':>9} {'engine ms':>9} {'overhead ms':>11} "
          f"{'worker start s':>14} {'unkept subs/s':>13} {'unkept grader cpu':>17}")
    for assignment in assignments:
        with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
            roster = make_class(assignment, n, Path(tmp))
            floor = floor_seconds(assignment, roster) / n * 1000
            inproc = inprocess_seconds(assignment, roster) / n * 1000
            shared = inprocess_seconds(assignment, roster, shared=True) / n * 1000
            run = batch_run(assignment, Path(tmp), jobs)
            unkept = batch_run(assignment, Path(tmp), jobs, keep=False)
        per_sub = run["seconds"] / run["n"] * 1000
        print(f"  {assignment:<10} {run['rate']:7.1f} {run['seconds']:9.2f} {per_sub:10.1f} "
              f"{run['grader_cpu_ms']:10.1f} {run['workers_cpu_ms']:10.1f} "
              f"{floor:8.2f} {inproc:10.2f} {shared:9.2f} {shared - floor:9.2f} "
              f"{per_sub - floor:11.1f} {run['startup']:14.2f} {unkept['rate']:13.1f} {unkept['grader_cpu_ms']:17.1f}")
    print("  (per sub = wall time / submissions with", jobs, "workers; grader cpu = the grader process's CPU"
          " per submission in that batch (its threads share one GIL), the workers' not counted; worker cpu = the"
          " workers' CPU per submission (their job managers and student processes, start-up included);"
          " floor = calling the functions directly; in-proc = the engine without isolation, one process, each"
          " submission solving the public cases again (as a lone `grader check`); in-proc/b = the same with one"
          " CaseBook for the class (as a batch); engine = in-proc/b - floor, the engine's own time; unkept = the"
          " same batch with no judgement kept in its CaseBook, as if no two students' outputs were equal)")


def do_nothing_class(assignment: str, n: int, folder: Path) -> None:
    """``n`` submissions whose every function returns 0 at once: grading them costs what the pipeline costs
    (a fresh confined process per student, every call framed, decoded, checked and diagnosed, the result
    journalled), with no student computation in it."""
    spec = load_assignment(assignment)
    source = "ANSWERS = {}\n" + "".join(f"\ndef {p.function}(*args, **kwargs):\n    return 0\n"
                                         for p in spec.functions)
    for i in range(n):
        (folder / f"s{i:04d}").mkdir(parents=True, exist_ok=True)
        (folder / f"s{i:04d}" / f"{assignment}.py").write_text(source)


def answers_only_class(assignment: str, n: int, folder: Path) -> None:
    """``n`` submissions that return each of their cases' expected outputs, read from a table in the file in
    the order the grader calls them: every case passes, and the student code costs next to nothing. Grading
    them costs what the pipeline costs for a correct class (a fresh confined process per student, every value
    framed, decoded, checked, the result journalled), with no student computation in it."""
    spec = load_assignment(assignment)
    namespace: dict = {}
    exec(compile((SAMPLES / "passes_all" / f"{assignment}.py").read_text(), "sample.py", "exec"),  # noqa: S102
         namespace)  # our own sample: its ANSWERS
    book = CaseBook()
    for i in range(n):
        student = f"s{i:04d}"
        plan = plan_cases(spec, Audience(hidden=True, secret=SECRET, student=student), book=book)
        table: dict[str, list] = {p.function: [] for p in spec.functions}
        for planned in plan.cases:
            if planned.case is not None:
                table[planned.problem.function].append(compute_expected(planned).expected)
        data = base64.b64encode(pickle.dumps((table, namespace.get("ANSWERS", {})))).decode()
        source = (f"import base64, pickle\n_TABLE, ANSWERS = pickle.loads(base64.b64decode({data!r}))\n"
                  + "".join(f"\ndef {p.function}(*args, **kwargs):\n    return _TABLE[{p.function!r}].pop(0)\n"
                            for p in spec.functions))
        (folder / student).mkdir(parents=True, exist_ok=True)
        (folder / student / f"{assignment}.py").write_text(source)


def floors_part(assignments: list[str], repeats: int, n: int, jobs: int) -> None:
    """What the two speed targets are up against on this machine, measured beside them."""
    print(f"\n== floors of `grader check` (wall seconds, median of {repeats} runs, alternating with the check): "
          f"a process that only imports what every check imports ({IMPORT_FLOOR!r}), and a sandbox worker's boot "
          "(spawn to greeting, the grader idle)")
    boot = worker_boot(repeats)
    print(f"  worker boot: median {statistics.median(boot):.3f} s (min {min(boot):.3f}, max {max(boot):.3f})")
    for assignment, installs in checks(assignments, repeats, floor=True):
        line = f"  {assignment}:"
        for name, times, floors in installs:
            check, bare = statistics.median(times), statistics.median(floors)
            line += f"  {name} check {check:.3f} s, imports alone {bare:.3f} s ({bare / check:.0%})"
        print(line)
    print(f"\n== batches of {n} submissions whose code costs next to nothing, {jobs} workers, full isolation: the"
          " pipeline's own cost (target >= 60 per second). answers only: every function returns its expected"
          " outputs from a table in the file, so every case passes; do nothing: every function returns 0, so every"
          " case fails and is diagnosed")
    print(f"  {'assignment':<10} {'class':<13} {'subs/s':>7} {'grader cpu ms':>13} {'worker cpu ms':>13}")
    for assignment in assignments:
        for name, make in (("answers only", answers_only_class), ("do nothing", do_nothing_class)):
            with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
                make(assignment, n, Path(tmp))
                run = batch_run(assignment, Path(tmp), jobs)
            print(f"  {assignment:<10} {name:<13} {run['rate']:7.1f} {run['grader_cpu_ms']:13.1f} "
                  f"{run['workers_cpu_ms']:13.1f}")


def memory_part(assignment: str, n: int, jobs: int, quick: bool) -> None:
    print("\n== peak memory of the grader process against batch size (grading and every report, as `grader grade`;"
          " flat in N is the target)")
    for size in [50, n] if quick else [50, 200, n]:
        run = batch_in_subprocess(assignment, size, jobs)
        print(f"  {assignment} N={size:<5} peak RSS {run['maxrss_mb']:6.1f} MB   {run['rate']:.1f} subs/s"
              f"   reports written in {run['reports_seconds']:.2f} s")


def layers_part(assignment: str) -> None:
    print("\n== cost of each isolation layer (", assignment, ", per submission, one worker)")
    configs = [
        ("process + rlimits only", "reduced", Layers(namespaces=False, seccomp=False, drop_uid=False)),
        ("+ unprivileged uid", "reduced", Layers(namespaces=False, seccomp=False, drop_uid=True)),
        ("+ seccomp", "reduced", Layers(namespaces=False, seccomp=True, drop_uid=True)),
        ("+ namespaces (full)", "auto", Layers()),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-layers-") as tmp:
        make_class(assignment, 200, Path(tmp), seed=1)
        base = None
        for name, mode, layers in configs:
            rates = [batch_run(assignment, Path(tmp), 1, layers, mode) for _ in range(2)]
            ms = min(r["seconds"] / r["n"] * 1000 for r in rates)
            base = base if base is not None else ms
            print(f"  {name:<24} {ms:7.2f} ms/submission  ({ms - base:+.2f} vs process only)"
                  f"  isolation={rates[0]['isolation']} start={rates[0]['startup']:.2f} s")


if __name__ == "__main__":
    main()
