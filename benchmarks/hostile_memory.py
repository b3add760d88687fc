"""The grader's peak memory with and without hostile students in a batch, and the course's largest answers.

    python benchmarks/hostile_memory.py                # N=40 honest wr3 students, then the same + 6 hostile
    python benchmarks/hostile_memory.py --n 100 --jobs 2
    python benchmarks/hostile_memory.py --size         # the largest correct answers (sizes Limits.value_*)

Each batch is graded by ``grade_batch`` (as ``grader grade`` does) in a fresh subprocess,
which prints its own peak RSS (``ru_maxrss`` of the grader process: workers not included).
Honest students are copies of ``submissions/passes_all/wr3.py``; hostile ones are the same
file with one function returning a huge structure: millions of tiny nested lists, a dict
with a million keys, 200,000 small arrays, or (writing raw bytes in place of the child's
wire text) an array header announcing 10^16 numbers and nesting 200,000 levels deep.

``--forward-all`` raises the per-value byte budget to 64 MiB so that the job runner forwards
every frame and only the grader's own decoder (its element budget) stands in the way.
Target: hostile within 2x of honest.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOOD = (ROOT / "submissions" / "passes_all" / "wr3.py").read_text()

RAW = """
import sys as _sys

def _send_raw(raw):  # the child's next wire text (its value's) becomes these bytes
    wire = _sys.modules["wire"]
    real = wire.dumps

    def once(obj):
        wire.dumps = real
        return raw

    wire.dumps = once
    return 0
"""

HOSTILE = {
    "nested_lists": "def softmax_nll_grad(W, x, y):\n    return [[0]] * 3_000_000\n",
    "million_keys": "def conv2d_relu_backward(x, W, dL_dy):\n    return {f'k{i}': 0 for i in range(1_000_000)}\n",
    "small_arrays": "def softmax_nll_grad(W, x, y):\n    return [np.zeros(1) for _ in range(200_000)]\n",
    "raw_nested_lists": RAW + "def softmax_nll_grad(W, x, y):\n"
                              "    return _send_raw(b'[' + b','.join([b'[0]'] * 3_000_000) + b']')\n",
    "raw_huge_shape": RAW + "def conv2d_relu_backward(x, W, dL_dy):\n"
                            "    return _send_raw(b'{\"a\":[\"f8\",[100000000,100000000],\"\"]}')\n",
    "raw_deep": RAW + "def softmax_nll_grad(W, x, y):\n    return _send_raw(b'[' * 200_000 + b']' * 200_000)\n",
}

CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from grader.batch import BatchOptions, grade_batch
from grader.loader import load_assignment
from grader.sandbox.process import SandboxRunner
from grader.sandbox.runner import Limits

limits = Limits(**{limits!r})
assignment = load_assignment("wr3")
began = time.perf_counter()
with SandboxRunner(workers={jobs}) as runner:
    batch = grade_batch(assignment, Path({folder!r}), Path({out!r}), "hostile-memory-secret", runner, {jobs},
                        BatchOptions(limits=limits, fresh=True))
outcomes = {{}}
for s in batch.submissions:
    for p in s.problems:
        for c in p.cases:
            if c.outcome != "passed":
                key = s.student.split("-")[0] + ":" + c.outcome
                outcomes[key] = outcomes.get(key, 0) + 1
messages = sorted({{c.message[:110] for s in batch.submissions if not s.student.startswith("honest")
                   for p in s.problems for c in p.cases if c.outcome != "passed"}})
print(json.dumps({{"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": time.perf_counter() - began, "students": len(batch.submissions),
                  "full_marks": sum(s.score == s.max_score for s in batch.submissions),
                  "not_passed": outcomes, "messages": messages}}))
"""


def grade_in_subprocess(folder: Path, jobs: int, limits: dict) -> dict:
    out = Path(tempfile.mkdtemp(prefix="hostile-out-"))
    try:
        script = CHILD.format(root=str(ROOT), folder=str(folder), out=str(out), jobs=jobs, limits=limits)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(out, ignore_errors=True)


def make_class(root: Path, honest: int, hostile: bool) -> Path:
    folder = root / ("with-hostile" if hostile else "honest-only")
    for i in range(honest):
        (folder / f"honest{i:03d}").mkdir(parents=True)
        (folder / f"honest{i:03d}" / "wr3.py").write_text(GOOD)
    if hostile:
        for name, code in HOSTILE.items():
            (folder / f"hostile-{name}").mkdir(parents=True)
            (folder / f"hostile-{name}" / "wr3.py").write_text(GOOD + "\n" + code)
    return folder


def largest_answers(seeds: int) -> None:
    """The largest correct answer of every problem and job, in the elements and bytes a budget charges."""
    from grader.engine import Audience, compute_expected, plan_cases
    from grader.loader import load_all
    from grader.sandbox.worker import wire
    from grader.spec import FunctionProblem

    answers: dict[str, tuple[int, int]] = {}
    jobs: dict[str, tuple[int, int]] = {}
    for assignment in load_all():
        for seed in range(seeds):
            plan = plan_cases(assignment, Audience(hidden=True, secret=f"size-{seed}", student=f"student-{seed}"))
            total = [0, 0]
            for planned in plan.cases:
                if not isinstance(planned.problem, FunctionProblem):
                    continue
                elements, size = wire.measure(compute_expected(planned).expected)
                total[0] += elements
                total[1] += size
                old = answers.get(planned.problem.id, (0, 0))
                answers[planned.problem.id] = (max(old[0], elements), max(old[1], size))
            if assignment.answers is not None:
                elements, size = wire.measure({k.key: k.expected for k in assignment.answers.keys})
                total[0] += elements
                total[1] += size
            old = jobs.get(assignment.id, (0, 0))
            jobs[assignment.id] = (max(old[0], total[0]), max(old[1], total[1]))
    print(f"{'problem':32} {'elements':>9} {'bytes':>8}")
    for problem, (elements, size) in sorted(answers.items(), key=lambda kv: -kv[1][0]):
        print(f"{problem:32} {elements:9,} {size:8,}")
    print(f"\n{'assignment (whole job)':32} {'elements':>9} {'bytes':>8}")
    for assignment_id, (elements, size) in sorted(jobs.items()):
        print(f"{assignment_id:32} {elements:9,} {size:8,}")
    top = max(answers.values())
    job_top = max(jobs.values())
    print(f"\nlargest answer: {top[0]:,} elements; largest job: {job_top[0]:,} elements "
          f"-> 4x: {4 * top[0]:,} per call, {4 * job_top[0]:,} per job")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40, help="honest students (default 40)")
    parser.add_argument("--jobs", type=int, default=2, help="sandboxed workers (default 2)")
    parser.add_argument("--forward-all", action="store_true",
                        help="let the job runner forward every frame: only the grader's decoder bounds the cost")
    parser.add_argument("--size", action="store_true", help="print the course's largest correct answers and exit")
    parser.add_argument("--seeds", type=int, default=100, help="secrets x students drawn for --size (default 100)")
    args = parser.parse_args()
    if args.size:
        largest_answers(args.seeds)
        return
    limits = {"case_seconds": 5.0}
    if args.forward_all:
        limits.update(value_bytes=64 * 2**20, job_value_bytes=256 * 2**20)
    root = Path(tempfile.mkdtemp(prefix="hostile-memory-"))
    try:
        figures = {}
        for hostile in (False, True):
            folder = make_class(root, args.n, hostile)
            figures[hostile] = grade_in_subprocess(folder, args.jobs, limits)
            label = f"{args.n} honest" + (f" + {len(HOSTILE)} hostile" if hostile else "")
            f = figures[hostile]
            print(f"{label:24} peak RSS {f['peak_mb']:7.1f} MB   {f['seconds']:6.1f} s   "
                  f"{f['full_marks']}/{f['students']} full marks   not passed: {f['not_passed']}")
        for message in figures[True]["messages"]:
            print(f"    {message}")
        ratio = figures[True]["peak_mb"] / figures[False]["peak_mb"]
        print(f"hostile / honest peak memory: {ratio:.2f}x (target: within 2x)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
