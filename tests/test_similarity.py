"""Similarity screening on a class with planted copies: every planted pair ranks above every independent pair.

The class (hw7) holds four independently written solutions (the sample ``passes_all``, the sample written
with torch, and two written here in other styles), three sample variants of ``passes_all`` (copies of it with
one mistake each) and four planted copies made by renaming variables, reordering functions, rewriting
comments and layout, and one turned into a notebook. A pair is planted when both come from the same origin.
``benchmarks/similarity_bench.py`` reuses these sources.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.loader import load_assignment
from grader.similarity import (
    assignment_boilerplate,
    boilerplate_hashes,
    fingerprint,
    normalise,
    screen_folder,
    screen_sources,
    similarity_csv,
    similarity_html,
    winnow,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "submissions"

SOLUTION_A = '''\
"""hw7 -- my solutions. Uses numpy's correlate/convolve where it can."""
import numpy as np
from math import prod


def nu_beta(x, beta):
    x = np.asarray(x, dtype=float)
    top = x.max()
    shifted = np.exp(beta * x - beta * top)
    return top + np.log(shifted.sum()) / beta


def grad_nu_beta(x, beta):
    a = beta * np.asarray(x, dtype=float)
    a -= a.max()
    p = np.exp(a)
    p /= p.sum()
    return p


def conv1d_matvec(w, v):
    return np.correlate(v, w, mode="valid")


def conv1d_vecmat(u, w):
    return np.convolve(u, w, mode="full")


SIGMA = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0) * 1.0),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
}


def conv1d_net_grads(x, w_list, b_list, activation):
    f, df = SIGMA[activation]
    inputs, pre = [], []
    y = np.asarray(x, dtype=float)
    depth = len(w_list)
    for i, (w, b) in enumerate(zip(w_list, b_list)):
        inputs.append(y)
        z = conv1d_matvec(np.asarray(w, float), y) + b
        pre.append(z)
        y = z if i == depth - 1 else f(z)
    delta = np.array([1.0])
    dws, dbs = [], []
    for i in reversed(range(depth)):
        if i < depth - 1:
            delta = delta * df(pre[i])
        dws.append(conv1d_matvec(delta, inputs[i]))
        dbs.append(float(delta.sum()))
        delta = conv1d_vecmat(delta, np.asarray(w_list[i], float))
    return dws[::-1], dbs[::-1]


def _out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def _walk(shape, layers, tally):
    for spec in layers:
        kind = spec["type"]
        if kind == "conv2d":
            cin, h, w = shape
            k, s, p = spec["kernel_size"], spec.get("stride", 1), spec.get("padding", 0)
            taps = (cin // spec.get("groups", 1)) * k * k
            shape = (spec["out_channels"], _out(h, k, s, p), _out(w, k, s, p))
            outs = prod(shape)
            tally["mults"] += outs * taps
            tally["adds"] += outs * (taps - 1 + int(spec.get("bias", True)))
        elif kind == "linear":
            nin, nout = shape[0], spec["out_features"]
            tally["mults"] += nin * nout
            tally["adds"] += nout * (nin - 1 + int(spec.get("bias", True)))
            shape = (nout,)
        elif kind in {"maxpool2d", "avgpool2d"}:
            k = spec["kernel_size"]
            s, p = spec.get("stride", k), spec.get("padding", 0)
            shape = (shape[0], _out(shape[1], k, s, p), _out(shape[2], k, s, p))
        elif kind == "flatten":
            shape = (prod(shape),)
        elif kind == "parallel":
            ends = [_walk(shape, branch, tally) for branch in spec["branches"]]
            if spec["merge"] == "concat":
                shape = (sum(e[0] for e in ends), *ends[0][1:])
            else:
                shape = ends[0]
                tally["adds"] += (len(ends) - 1) * prod(shape)
        else:
            tally["activations"] += prod(shape)
    return shape


def count_ops(input_shape, layers):
    tally = {"mults": 0, "adds": 0, "activations": 0}
    _walk(tuple(input_shape), layers, tally)
    return tally


def _conv(c_out, side, c_in, k):
    return 2 * c_out * side * side * c_in * k * k


ops = {
    "conv1": _conv(64, 55, 3, 11),
    "conv2": _conv(192, 27, 64, 5),
    "conv3": _conv(384, 13, 192, 3),
    "conv4": _conv(256, 13, 384, 3),
    "conv5": _conv(256, 13, 256, 3),
    "fc1": 2 * 256 * 6 * 6 * 4096,
    "fc2": 2 * 4096 * 4096,
    "fc3": 2 * 4096 * 1000,
}
ops["total"] = sum(ops.values())
ANSWERS = {"alexnet_ops": ops}
'''

SOLUTION_B = '''\
# Homework 7
import math

import numpy as np


def nu_beta(x, beta):
    values = [beta * float(t) for t in x]
    peak = max(values)
    total = 0.0
    for v in values:
        total += math.exp(v - peak)
    return (peak + math.log(total)) / beta


def grad_nu_beta(x, beta):
    scaled = beta * np.array(x, dtype=np.float64)
    weights = np.exp(scaled - np.max(scaled))
    return weights / np.sum(weights)


def conv1d_matvec(w, v):
    n, f = v.shape[0], w.shape[0]
    A = np.zeros((n - f + 1, n))
    for row in range(n - f + 1):
        A[row, row:row + f] = w
    return A @ v


def conv1d_vecmat(u, w):
    f = w.shape[0]
    n = u.shape[0] + f - 1
    A = np.zeros((u.shape[0], n))
    for row in range(u.shape[0]):
        A[row, row:row + f] = w
    return u @ A


def sigma(name, z, derivative=False):
    if name == "relu":
        return (z > 0).astype(np.float64) if derivative else np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, 0.01) if derivative else np.where(z > 0, z, 0.01 * z)
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 - s) if derivative else s
    if name == "tanh":
        t = np.tanh(z)
        return 1.0 - t * t if derivative else t
    return np.ones_like(z) if derivative else z


def conv1d_net_grads(x, w_list, b_list, activation):
    depth = len(w_list)
    outs = [np.array(x, dtype=np.float64)]
    zs = {}
    layer = 0
    while layer < depth:
        w = np.array(w_list[layer], dtype=np.float64)
        zs[layer] = conv1d_matvec(w, outs[layer]) + float(b_list[layer])
        last = layer + 1 == depth
        outs.append(zs[layer] if last else sigma(activation, zs[layer]))
        layer += 1
    grads_w, grads_b = {}, {}
    back = np.array([1.0])
    for layer in range(depth - 1, -1, -1):
        if layer + 1 != depth:
            back = back * sigma(activation, zs[layer], derivative=True)
        width = len(w_list[layer])
        grads_w[layer] = np.array([back @ outs[layer][j:j + back.size] for j in range(width)])
        grads_b[layer] = float(np.sum(back))
        back = conv1d_vecmat(back, np.array(w_list[layer], dtype=np.float64))
    return [grads_w[i] for i in range(depth)], [grads_b[i] for i in range(depth)]


def conv_cost(shape, layer):
    c, h, w = shape
    k = layer["kernel_size"]
    stride = layer.get("stride", 1)
    pad = layer.get("padding", 0)
    groups = layer.get("groups", 1)
    oh = math.floor((h + 2 * pad - k) / stride) + 1
    ow = math.floor((w + 2 * pad - k) / stride) + 1
    cout = layer["out_channels"]
    per_output = (c // groups) * k ** 2
    elements = cout * oh * ow
    bias = 1 if layer.get("bias", True) else 0
    return (cout, oh, ow), elements * per_output, elements * (per_output - 1 + bias)


def pool_shape(shape, layer):
    c, h, w = shape
    k = layer["kernel_size"]
    stride = layer.get("stride") or k
    pad = layer.get("padding", 0)
    return (c, (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1)


def numel(shape):
    total = 1
    for d in shape:
        total *= d
    return total


def network_cost(shape, layers):
    mults = adds = activations = 0
    for layer in layers:
        kind = layer["type"]
        if kind == "conv2d":
            shape, m, a = conv_cost(shape, layer)
            mults, adds = mults + m, adds + a
        elif kind == "linear":
            n_in, n_out = numel(shape), layer["out_features"]
            mults += n_in * n_out
            adds += (n_in - 1) * n_out + (n_out if layer.get("bias", True) else 0)
            shape = (n_out,)
        elif kind.endswith("pool2d"):
            shape = pool_shape(shape, layer)
        elif kind == "flatten":
            shape = (numel(shape),)
        elif kind == "parallel":
            shapes = []
            for branch in layer["branches"]:
                s, m, a, e = network_cost(shape, branch)
                mults, adds, activations = mults + m, adds + a, activations + e
                shapes.append(s)
            if layer["merge"] == "sum":
                adds += (len(shapes) - 1) * numel(shapes[0])
                shape = shapes[0]
            else:
                shape = (sum(s[0] for s in shapes),) + shapes[0][1:]
        else:
            activations += numel(shape)
    return shape, mults, adds, activations


def count_ops(input_shape, layers):
    _, m, a, e = network_cost(tuple(input_shape), layers)
    return dict(mults=m, adds=a, activations=e)


ANSWERS = {
    "alexnet_ops": {
        "conv1": 140553600,
        "conv2": 447897600,
        "conv3": 224280576,
        "conv4": 299040768,
        "conv5": 199360512,
        "fc1": 75497472,
        "fc2": 33554432,
        "fc3": 8192000,
        "total": 1428376960,
    }
}
'''


# ---------------------------------------------------------------- planting copies

def rename(source: str, mapping: dict[str, str]) -> str:
    """Rename whole identifiers (a cheater's find-and-replace)."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, mapping)) + r")\b")
    return pattern.sub(lambda m: mapping[m.group(1)], source)


def blocks(source: str) -> list[str]:
    """Top-level blocks: each starts at an unindented line that is not blank or a comment."""
    out: list[list[str]] = [[]]
    for line in source.splitlines():
        if line and not line[0].isspace() and not line.startswith(("#", ")", "]", "}")) and out[-1] \
                and any(x.strip() for x in out[-1]):
            out.append([])
        out[-1].append(line)
    return ["\n".join(b).strip("\n") for b in out if any(x.strip() for x in b)]


def reorder(source: str, seed: int) -> str:
    """Shuffle the function definitions among their places."""
    parts = blocks(source)
    where = [i for i, b in enumerate(parts) if b.startswith("def ")]
    defs = [parts[i] for i in where]
    random.Random(seed).shuffle(defs)
    for i, b in zip(where, defs, strict=True):
        parts[i] = b
    return "\n\n\n".join(parts) + "\n"


def recomment(source: str, seed: int) -> str:
    """Drop every comment and docstring line, add others, re-indent with two spaces, change blank lines."""
    rng = random.Random(seed)
    out = []
    for line in source.splitlines():
        code = re.sub(r"\s+#.*$", "", line) if "#" in line and '"' not in line.split("#", 1)[1] else line
        if code.strip().startswith("#") or not code.strip():
            continue
        indent = len(code) - len(code.lstrip(" "))
        body = code.strip()
        if body.startswith("def ") and rng.random() < 0.7:
            out.append("")
            out.append("# " + rng.choice(["helper", "see lecture 7", "TODO tidy", "works!", "from the notes"]))
        out.append(" " * (indent // 2) + body)
        if rng.random() < 0.1:
            out.append(" " * (indent // 2) + "# " + rng.choice(["check this", "ok", "vectorised"]))
    return "\n".join(out) + "\n"


def notebook(source: str) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# Homework 7"}]
    for part in blocks(source):
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                      "source": part.splitlines(keepends=True)})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def sample(name: str) -> str:
    return (SAMPLES / name / "hw7.py").read_text(encoding="utf-8")


def build_class(folder: Path) -> set[frozenset[str]]:
    """Write the class into ``folder`` (one sub-folder per student); return the planted pairs."""
    passes_all, torch_version = sample("passes_all"), sample("hw7-torch_tensors")
    students = {  # student: (origin, file name, content)
        "ada": ("P", "hw7.py", passes_all),
        "bob": ("T", "hw7.py", torch_version),
        "cem": ("A", "hw7.py", SOLUTION_A),
        "dia": ("B", "hw7.py", SOLUTION_B),
        # sample variants: passes_all with one mistake each
        "eve": ("P", "hw7.py", sample("hw7-plain_softmax")),
        "fay": ("P", "hw7.py", sample("hw7-naive_logsumexp")),
        "gus": ("P", "hw7.py", sample("hw7-bias_not_summed")),
        # planted copies
        "hal": ("P", "hw7.py", recomment(rename(passes_all, {"out": "result", "ys": "activations", "zs": "pre",
                                                            "g": "grad", "shape": "dims", "layer": "spec",
                                                            "act": "phi", "act_prime": "dphi", "f": "k"}), 1)),
        "ivy": ("A", "hw7.py", reorder(SOLUTION_A.replace("    ", "\t"), 2)),
        "jon": ("B", "hw7.ipynb", notebook(reorder(recomment(rename(SOLUTION_B, {
            "values": "vals", "peak": "mx", "weights": "probs", "A": "mat", "back": "delta", "outs": "ys",
            "zs": "pre", "network_cost": "walk", "conv_cost": "conv_ops", "numel": "size"}), 3), 4))),
        "kim": ("T", "hw7.py", rename(torch_version, {"ws": "weights", "bs": "biases", "shapes": "outs",
                                                      "m2": "mm", "a2": "aa", "e2": "ee", "s2": "ss"})),
    }
    for student, (_, name, text) in students.items():
        (folder / student).mkdir(parents=True)
        (folder / student / name).write_text(text, encoding="utf-8")
    (folder / "zed").mkdir()  # a student without a hw7 file
    return {frozenset((a, b)) for a, (oa, _, _) in students.items() for b, (ob, _, _) in students.items()
            if a < b and oa == ob}


def precision_at(pairs, planted: set[frozenset[str]], k: int) -> float:
    return sum(frozenset((p.a.student, p.b.student)) in planted for p in pairs[:k]) / k


# ---------------------------------------------------------------- tests

@pytest.fixture(scope="module")
def hw7():
    return load_assignment("hw7")


def test_normalisation_ignores_names_comments_strings_and_layout() -> None:
    one = "def f(a, b):\n    # add them\n    s = 'x'\n    return np.exp(a) + len(b) * 2\n"
    two = ("def g(x,y):\n  \"\"\"Doc.\"\"\"\n  t = \"yy\" 'zz'  # two strings, one token\n\n"
           "  return np.exp(x)+len(y)*2\n")
    assert [t.text for t in normalise(one)] == [t.text for t in normalise(two)]
    assert [t.text for t in normalise(one)] == ["def", "F", "(", "V", ",", "V", ")", ":", "V", "=", "S", "return",
                                                "V", ".", "exp", "(", "V", ")", "+", "len", "(", "V", ")", "*",
                                                "2"]
    assert [t.line for t in normalise(one)][-1] == 4


def test_winnowing_keeps_a_minimum_of_every_window() -> None:
    hashes = [77, 74, 42, 17, 98, 50, 17, 98, 8, 88, 67, 39, 77, 74, 42, 17, 98]
    chosen = winnow(hashes, 4)
    assert [hashes[i] for i in chosen] == [17, 17, 8, 39, 17]  # the example of Schleimer et al. (2003)
    for start in range(len(hashes) - 3):
        assert any(start <= i < start + 4 for i in chosen)
    assert winnow([], 4) == [] and winnow([5, 3], 4) == [1]


def test_the_starter_and_the_references_count_for_nothing(hw7) -> None:
    from grader.starter import starter_source

    common = boilerplate_hashes(assignment_boilerplate(hw7))
    assert len(assignment_boilerplate(hw7)) == 1 + sum(p.kind == "function" for p in hw7.problems)
    starter = fingerprint("s", "hw7.py", starter_source(hw7), common)
    assert starter.fingerprints == {}
    result = screen_sources(hw7, [("x", "hw7.py", starter_source(hw7)), ("y", "hw7.py", starter_source(hw7))])
    assert result.pairs[0].similarity == 0.0  # two untouched starters are not a copy


def test_planted_pairs_rank_above_every_independent_pair(tmp_path: Path, hw7) -> None:
    planted = build_class(tmp_path)
    result = screen_folder(hw7, tmp_path)
    assert len(result.documents) == 11 and result.absent == 1 and not result.skipped
    k = len(planted)
    assert k == 13
    assert precision_at(result.pairs, planted, k) == 1.0
    lowest_planted = min(p.similarity for p in result.pairs if frozenset((p.a.student, p.b.student)) in planted)
    highest_other = max(p.similarity for p in result.pairs if frozenset((p.a.student, p.b.student)) not in planted)
    assert lowest_planted > 0.5 > highest_other, (lowest_planted, highest_other)
    notebook_pair = next(p for p in result.pairs if {p.a.student, p.b.student} == {"dia", "jon"})
    assert notebook_pair.b.file == "hw7.ipynb" and notebook_pair.similarity > 0.5


def test_outputs(tmp_path: Path, hw7) -> None:
    build_class(tmp_path / "class")
    (tmp_path / "class" / "zz<script>").mkdir()
    (tmp_path / "class" / "zz<script>" / "hw7.py").write_text("# <b>hi</b>\n" + SOLUTION_A, encoding="utf-8")
    result = screen_folder(hw7, tmp_path / "class")
    page = similarity_html(result, top=5)
    assert "<script>" not in page and "zz&lt;script&gt;" in page  # autoescaped
    assert 'class="hit"' in page and "http" not in page.split("</style>", 2)[-1]  # self-contained
    rows = similarity_csv(result).splitlines()
    assert rows[0].startswith("rank,student_a,student_b,similarity") and len(rows) == 1 + 12 * 11 // 2


def test_cli(tmp_path: Path) -> None:
    build_class(tmp_path / "class")
    (tmp_path / "class" / "bad").mkdir()
    (tmp_path / "class" / "bad" / "hw7.py").write_bytes(b"\xff\xfe not utf-8")
    out = CliRunner().invoke(main, ["similarity", "hw7", str(tmp_path / "class"), "--out", str(tmp_path / "o"),
                                    "--top", "5"], env={"COLUMNS": "120"})
    assert out.exit_code == 0, out.output
    assert "11 submissions" in out.output and "skipped bad" in out.output
    assert (tmp_path / "o" / "similarity.html").exists() and (tmp_path / "o" / "similarity.csv").exists()
    rows = [line for line in out.output.splitlines() if line.startswith("│")]
    assert len(rows) == 1 + 5  # header and --top rows
