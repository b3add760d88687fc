"""Similarity screening: runtime and precision on a synthetic class, printed as figures (not asserted).

    python benchmarks/similarity_bench.py              # 200 submissions of hw7, 20 planted copies
    python benchmarks/similarity_bench.py --n 500 --planted 40

Each synthetic student's hw7.py is assembled part by part (the two log-sum-exp functions, the two 1-D
convolutions, the conv-net gradients, count_ops, ANSWERS; each with its helpers) from four independently
written solutions: the samples ``passes_all`` and ``hw7-torch_tensors`` and the two solutions of
``tests/test_similarity.py``; each student then gets its own comments and layout. Two students therefore
share some parts verbatim by chance (as many as a student copying two functions would). A planted copy is
a student's file with variables renamed, functions reordered, comments and indentation rewritten.

Figures: the time to screen the folder (reading, tokenising, fingerprinting, every pair), the precision
at k (k = planted pairs: the share of planted pairs among the top k) and, for reference, how many
independent pairs share at least half of their parts by construction.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_similarity import SOLUTION_A, SOLUTION_B, blocks, recomment, rename, reorder, sample  # noqa: E402

from grader.loader import load_assignment  # noqa: E402
from grader.similarity import screen_folder  # noqa: E402

PARTS = ("nu_beta", "grad_nu_beta", "conv1d_matvec", "conv1d_vecmat", "conv1d_net_grads", "count_ops")


def split_parts(source: str) -> dict[str, list[str]]:
    """Top-level blocks grouped by the required function they serve: a helper goes with the next required
    function; what precedes the first definition is the header, what follows count_ops the answers."""
    parts: dict[str, list[str]] = {"header": [], **{p: [] for p in PARTS}, "answers": []}
    pending: list[str] = []
    seen_def = False
    for block in blocks(source):
        name = re.match(r"def (\w+)", block)
        if not seen_def and not block.startswith(("def ", "ACT", "SIGMA")):
            parts["header"].append(block)
            continue
        seen_def = True
        if name and name.group(1) in PARTS:
            parts[name.group(1)] += [*pending, block]
            pending = []
        else:
            pending.append(block)
    parts["answers"] += pending
    return parts


def identifiers(source: str) -> list[str]:
    return sorted(set(re.findall(r"^\s*([a-z_][a-z0-9_]*)\s*=", source, re.MULTILINE)) - {"ANSWERS"})


def build(folder: Path, n: int, planted: int, seed: int) -> tuple[set[frozenset[str]], dict, dict[str, int]]:
    """Write the class; return the planted pairs, each student's parts ("part:origin") and each part's lines."""
    rng = random.Random(seed)
    origins = [split_parts(s) for s in (sample("passes_all"), sample("hw7-torch_tensors"), SOLUTION_A, SOLUTION_B)]
    keys = ["header", *PARTS, "answers"]
    choice: dict[str, tuple[str, ...]] = {}
    sources: dict[str, str] = {}
    for i in range(n - planted):
        student = f"s{i:04d}"
        picks = tuple(rng.randrange(len(origins)) for _ in (*PARTS, "answers"))
        header = "\n".join(dict.fromkeys(line for o in set(picks) for b in origins[o]["header"]
                                         for line in b.splitlines() if line.startswith(("import", "from"))))
        body = [b for key, o in zip(keys[1:], picks, strict=True) for b in origins[o][key]]
        choice[student] = tuple(f"{k}:{o}" for k, o in zip(keys[1:], picks, strict=True))
        sources[student] = recomment("\n\n\n".join([header, *body]) + "\n", rng.randrange(10**6))
    copies: set[frozenset[str]] = set()
    originals = rng.sample(sorted(sources), planted)
    for j, original in enumerate(originals):
        text = sources[original]
        names = identifiers(text)
        mapping = {name: f"{name}_{rng.choice(['v', 'tmp', 'my', 'x'])}{j}"
                   for name in rng.sample(names, len(names) // 2)}
        text = rename(text, mapping) if mapping else text
        copy = recomment(reorder(text, rng.randrange(10**6)), rng.randrange(10**6))
        student = f"c{j:04d}"
        sources[student] = copy
        choice[student] = choice[original]
        copies.add(frozenset((original, student)))
    for student, text in sources.items():
        (folder / student).mkdir(parents=True)
        (folder / student / "hw7.py").write_text(text, encoding="utf-8")
    sizes = {f"{key}:{o}": sum(1 for b in origin[key] for line in b.splitlines() if line.strip())
             for o, origin in enumerate(origins) for key in keys[1:]}
    return copies, choice, sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="submissions (planted copies included)")
    parser.add_argument("--planted", type=int, default=20, help="planted copies")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (the best is reported)")
    args = parser.parse_args()
    assignment = load_assignment("hw7")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        copies, choice, sizes = build(folder, args.n, args.planted, args.seed)
        times, cpu = [], []
        for _ in range(args.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            result = screen_folder(assignment, folder)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    k = len(copies)
    key = lambda p: frozenset((p.a.student, p.b.student))
    rank_of = {key(p): i for i, p in enumerate(result.pairs, 1)}
    planted_sims = sorted(p.similarity for p in result.pairs if key(p) in copies)
    shared = {key(p): overlap(choice[p.a.student], choice[p.b.student], sizes) for p in result.pairs}
    print(f"submissions: {len(result.documents)}, pairs: {len(result.pairs)}, planted copies: {k}")
    print(f"screening time: best {min(times):.2f} s wall, {min(cpu):.2f} s CPU, of {len(times)} runs "
          f"({', '.join(f'{t:.2f}' for t in times)} s wall; one process)")
    print(f"planted pairs: similarity min {planted_sims[0]:.2f}, median {planted_sims[k // 2]:.2f}; "
          f"lowest-ranked at rank {max(rank_of[c] for c in copies)}")
    for threshold in (0.5, 0.3):
        copied = copies | {c for c, f in shared.items() if f >= threshold}
        ranked = [p for p in result.pairs if key(p) in copied or shared[key(p)] < threshold]
        hits = sum(key(p) in copied for p in ranked[:len(copied)])
        worst_other = max((p.similarity for p in ranked if key(p) not in copied), default=0.0)
        print(f"copied = planted or sharing >= {threshold:.0%} of code by construction ({len(copied)} pairs): "
              f"precision@{len(copied)} = {hits / len(copied):.3f}; highest other pair {worst_other:.2f}")
    clean = [p for p in result.pairs if key(p) in copies or shared[key(p)] < 0.3]
    hits = sum(key(p) in copies for p in clean[:k])
    print(f"planted vs pairs sharing < 30% by construction: precision@{k} = {hits / k:.3f}")


def overlap(a: tuple[str, ...], b: tuple[str, ...], sizes: dict[str, int]) -> float:
    """Share of the larger file's lines that two synthetic students have verbatim in common."""
    same = sum(sizes[x] for x, y in zip(a, b, strict=True) if x == y)
    return same / max(sum(sizes[x] for x in a), sum(sizes[y] for y in b))

if __name__ == "__main__":
    main()
