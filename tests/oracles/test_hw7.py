"""hw7 references against independent oracles: torch.logsumexp and autograd, F.conv1d,
F.conv_transpose1d, torch.utils.flop_counter and forward hooks on torch modules."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import ACTIVATIONS, agrees, oracle_cases, run, t  # tests/oracles, on sys.path under pytest
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from grader.checks import same_data
from grader.spec import Case, FunctionProblem
from problems.common import count_ops, stacks
from problems.common import layers as L
from problems.hw7 import ASSIGNMENT, answers, conv1d_matvec, conv1d_net_grads, conv1d_vecmat, grad_nu_beta, nu_beta

torch.set_default_dtype(torch.float64)


def cases(problem: FunctionProblem, per_secret: int = 30) -> list[Case]:
    return oracle_cases("hw7", problem, per_secret)


# ---------------------------------------------------------------- log-sum-exp


def lse_oracle(x: np.ndarray, beta: float) -> float:
    return float(torch.logsumexp(beta * t(x), dim=0) / beta)


def softmax_oracle(x: np.ndarray, beta: float) -> np.ndarray:
    xt = t(x).requires_grad_(True)
    (torch.logsumexp(beta * xt, dim=0) / beta).backward()
    return xt.grad.numpy()


def test_nu_beta_against_logsumexp() -> None:
    for case in cases(nu_beta.PROBLEM):
        agrees(nu_beta.PROBLEM, run(nu_beta.reference, case), lse_oracle(*case.args), case)


def test_nu_beta_public_example_value() -> None:
    assert nu_beta.reference(np.array([1000.0, 999.0, -5.0]), 1.0) == pytest.approx(1000.3132616875182, abs=1e-12)
    assert lse_oracle(np.array([1000.0, 999.0, -5.0]), 1.0) == pytest.approx(1000.3132616875182, abs=1e-12)


def test_nu_beta_bounds() -> None:
    for case in cases(nu_beta.PROBLEM):
        x, beta = case.args
        value = nu_beta.reference(x, beta)
        slack = 1e-9 * max(1.0, abs(x.max()))
        assert x.max() - slack <= value <= x.max() + math.log(len(x)) / beta + slack


def test_grad_nu_beta_against_autograd() -> None:
    for case in cases(grad_nu_beta.PROBLEM):
        got = run(grad_nu_beta.reference, case)
        agrees(grad_nu_beta.PROBLEM, got, softmax_oracle(*case.args), case)
        assert np.all(got >= 0) and got.sum() == pytest.approx(1.0, abs=1e-12)


def test_grad_nu_beta_example_and_ties() -> None:
    got = grad_nu_beta.reference(np.array([1000.0, 999.0, -5.0]), 1.0)
    assert got.tolist() == pytest.approx([0.7310585786300049, 0.2689414213699951, 0.0], abs=1e-15)
    tied = grad_nu_beta.reference(np.array([3.0, 1.0, 3.0, 3.0]), 50.0)
    assert tied == pytest.approx([1 / 3, 0.0, 1 / 3, 1 / 3], abs=1e-15)
    assert torch.allclose(torch.softmax(50.0 * t([3.0, 1.0, 3.0, 3.0]), 0), t(tied))


# ---------------------------------------------------------------- 1-D convolution


def matvec_oracle(w: np.ndarray, v: np.ndarray) -> np.ndarray:
    return F.conv1d(t(v)[None, None], t(w)[None, None])[0, 0].numpy()


def A(w: np.ndarray, n: int) -> np.ndarray:
    """The matrix A_w, built entry by entry from its definition (A_w)_{ij} = w_{j-i}."""
    f = len(w)
    return np.array([[w[j - i] if 0 <= j - i < f else 0.0 for j in range(n)] for i in range(n - f + 1)])


def test_conv1d_matvec_against_conv1d() -> None:
    for case in cases(conv1d_matvec.PROBLEM):
        w, v = case.args
        got = run(conv1d_matvec.reference, case)
        agrees(conv1d_matvec.PROBLEM, got, matvec_oracle(w, v), case)
        agrees(conv1d_matvec.PROBLEM, got, A(w, len(v)) @ v, case)


def test_conv1d_matvec_example_value() -> None:
    got = conv1d_matvec.reference(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, -1.0, 2.0, 1.0]))
    assert got.tolist() == [-2.0, 4.0, 6.0]


def test_conv1d_vecmat_against_conv_transpose_and_vjp() -> None:
    for case in cases(conv1d_vecmat.PROBLEM):
        u, w = case.args
        got = run(conv1d_vecmat.reference, case)
        transposed = F.conv_transpose1d(t(u)[None, None], t(w)[None, None])[0, 0].numpy()
        agrees(conv1d_vecmat.PROBLEM, got, transposed, case)
        v = torch.zeros(len(u) + len(w) - 1, requires_grad=True)  # u^T A_w is the VJP of v -> A_w v
        F.conv1d(v[None, None], t(w)[None, None])[0, 0].backward(t(u))
        agrees(conv1d_vecmat.PROBLEM, got, v.grad.numpy(), case)


def test_conv1d_vecmat_example_value() -> None:
    got = conv1d_vecmat.reference(np.array([1.0, -1.0, 2.0]), np.array([1.0, 2.0, 3.0]))
    assert got.tolist() == [1.0, 1.0, 3.0, 1.0, 6.0]


# ---------------------------------------------------------------- 1-D conv net gradients

TORCH_ACTIVATIONS = ACTIVATIONS


def net_grads_oracle(x, w_list, b_list, activation):
    ws = [t(w).requires_grad_(True) for w in w_list]
    bs = [torch.tensor(float(b), requires_grad=True) for b in b_list]
    y = t(x)
    for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
        z = F.conv1d(y[None, None], w[None, None])[0, 0] + b
        y = z if i == len(ws) - 1 else TORCH_ACTIVATIONS[activation](z)
    assert y.shape == (1,), "the last layer must have one output"
    y.sum().backward()
    return [w.grad.numpy() for w in ws], [float(b.grad) for b in bs]


def test_conv1d_net_grads_against_autograd() -> None:
    seen = set()
    for case in cases(conv1d_net_grads.PROBLEM):
        got = run(conv1d_net_grads.reference, case)
        agrees(conv1d_net_grads.PROBLEM, got, net_grads_oracle(*case.args), case)
        assert all(isinstance(b, float) for b in got[1])
        seen.add((case.args[3], len(case.args[1])))
    assert {a for a, _ in seen} == set(TORCH_ACTIVATIONS)
    assert {d for _, d in seen} == {1, 2, 3, 4}


def test_conv1d_net_grads_example_value() -> None:
    dws, dbs = conv1d_net_grads.reference(*conv1d_net_grads.PROBLEM.examples[0].args)
    assert [w.tolist() for w in dws] == [[0.0, 0.0], [0.0, 0.0, 0.0, 0.0]] and dbs == [0.0, 1.0]


# ---------------------------------------------------------------- operation counts


class Parallel(nn.Module):
    def __init__(self, branches: list[nn.Sequential], merge: str) -> None:
        super().__init__()
        self.branches, self.merge = nn.ModuleList(branches), merge

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        return torch.cat(outs, dim=1) if self.merge == "concat" else torch.stack(outs).sum(0)


def build(layers: list[dict[str, Any]], x: torch.Tensor) -> tuple[nn.Sequential, torch.Tensor]:
    """A torch module for a layer spec; shapes come from running torch on the meta device."""
    modules: list[nn.Module] = []
    for layer in layers:
        kind = layer["type"]
        if kind == "conv2d":
            module: nn.Module = nn.Conv2d(x.shape[1], layer["out_channels"], layer["kernel_size"],
                                          layer.get("stride", 1), layer.get("padding", 0),
                                          groups=layer.get("groups", 1), bias=layer.get("bias", True),
                                          device="meta")
        elif kind in ("maxpool2d", "avgpool2d"):
            pool = nn.MaxPool2d if kind == "maxpool2d" else nn.AvgPool2d
            module = pool(layer["kernel_size"], layer.get("stride"), layer.get("padding", 0))
        elif kind in ("relu", "sigmoid", "tanh"):
            module = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[kind]()
        elif kind == "flatten":
            module = nn.Flatten()
        elif kind == "linear":
            module = nn.Linear(x.shape[1], layer["out_features"], bias=layer.get("bias", True), device="meta")
        elif kind == "parallel":
            module = Parallel([build(branch, x)[0] for branch in layer["branches"]], layer["merge"])
        else:
            raise AssertionError(kind)
        x = module(x)
        modules.append(module)
    return nn.Sequential(*modules), x


def torch_count(input_shape, layers) -> tuple[dict[str, int], list[int]]:
    """mults from the flop counter (it counts 2 per multiply-accumulate), adds from the catalogue
    formula on torch's output sizes, activations from forward hooks; also mults + adds of every
    conv/linear layer in forward order."""
    x = torch.zeros(1, *input_shape, device="meta")
    model, _ = build(layers, x)
    weighted, activations, merges = [], [0], [0]

    def on_weighted(module, inputs, output):
        weighted.append((module, inputs[0], output.numel()))

    def on_activation(module, inputs, output):
        activations[0] += inputs[0].numel()

    def on_merge(module, inputs, output):
        if module.merge == "sum":
            merges[0] += (len(module.branches) - 1) * output.numel()

    hooks = []
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            hooks.append(module.register_forward_hook(on_weighted))
        elif isinstance(module, (nn.ReLU, nn.Sigmoid, nn.Tanh)):
            hooks.append(module.register_forward_hook(on_activation))
        elif isinstance(module, Parallel):
            hooks.append(module.register_forward_hook(on_merge))
    with FlopCounterMode(display=False) as counter:
        model(x)
    for hook in hooks:
        hook.remove()
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    per_layer, mults, adds = [], 0, merges[0]
    for module, inputs, n in weighted:
        with FlopCounterMode(display=False) as own:  # this layer alone
            module(inputs)
        layer_mults = own.get_total_flops() // 2
        layer_adds = layer_mults - n + (n if module.bias is not None else 0)  # taps - 1 per output, + bias
        mults, adds = mults + layer_mults, adds + layer_adds
        per_layer.append(layer_mults + layer_adds)
    assert mults == flops // 2, "the per-layer counts add up to the whole network's"
    return {"mults": mults, "adds": adds, "activations": activations[0]}, per_layer


def test_alexnet_per_layer_matches_catalogue() -> None:
    counts, per_layer = torch_count((3, 227, 227), L.alexnet())
    names = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc1", "fc2", "fc3"]
    catalogue = [140_553_600, 447_897_600, 224_280_576, 299_040_768, 199_360_512, 75_497_472, 33_554_432,
                 8_192_000]
    assert per_layer == catalogue
    assert dict(zip(names, per_layer, strict=True)) == {k: answers.ALEXNET_OPS[k] for k in names}
    assert counts == {"mults": 714_188_480, "adds": 714_188_480, "activations": 493_184}
    assert counts["mults"] + counts["adds"] == 1_428_376_960 == answers.ALEXNET_OPS["total"]
    assert sum(catalogue) == answers.ALEXNET_OPS["total"]
    assert sum(catalogue[:5]) == 1_311_133_056 and sum(catalogue[5:]) == 117_243_904


def test_named_networks_match_catalogue() -> None:
    for shape, layers, total, acts in [((256, 32, 32), L.naive_inception(), 2 * 1_115_684_864, 425_984),
                                       ((256, 32, 32), L.bottleneck_inception(), 2 * 354_418_688, 622_592)]:
        counts, _ = torch_count(shape, layers)
        assert counts["mults"] + counts["adds"] == total and counts["activations"] == acts
        assert count_ops.reference(shape, layers) == counts


def test_count_ops_against_flop_counter() -> None:
    problem = count_ops.PROBLEM
    seen = set()
    for case in cases(problem, per_secret=20):
        agrees(problem, run(problem.reference, case), torch_count(*case.args)[0], case)
        seen.add(case.label)
    for shape, layers in [((256, 32, 32), L.stm_one_path()), ((256, 32, 32), L.stm_paths()),
                          ((192, 28, 28), L.inception_3a())]:
        assert count_ops.reference(shape, layers) == torch_count(shape, layers)[0]
    assert seen >= {e.replace("_", " ") for e in stacks.EDGES}


# ---------------------------------------------------------------- ANSWERS


def test_answers_are_the_catalogue_values() -> None:
    assert answers.ALEXNET_OPS == {
        "conv1": 140_553_600, "conv2": 447_897_600, "conv3": 224_280_576, "conv4": 299_040_768,
        "conv5": 199_360_512, "fc1": 75_497_472, "fc2": 33_554_432, "fc3": 8_192_000, "total": 1_428_376_960}
    key = answers.PROBLEM.keys[0]
    assert dict(key.leaves()) == {f"alexnet_ops.{k}": v for k, v in answers.ALEXNET_OPS.items()}
    assert key.mistakes["alexnet_ops.conv5"][199_369_512] and key.mistakes["alexnet_ops.total"][1_428_385_960]
    for leaf, wrongs in key.mistakes.items():
        assert dict(key.leaves())[leaf] not in wrongs, leaf


def test_answers_no_bias_mistakes_match_a_biasless_alexnet() -> None:
    biasless = [dict(layer, bias=False) if layer["type"] in ("conv2d", "linear") else layer for layer in L.alexnet()]
    _, per_layer = torch_count((3, 227, 227), biasless)
    key = answers.PROBLEM.keys[0]
    names = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc1", "fc2", "fc3"]
    for name, value in zip(names, per_layer, strict=True):
        assert "bias" in key.mistakes[f"alexnet_ops.{name}"][value]
    assert "bias" in key.mistakes["alexnet_ops.total"][sum(per_layer)]


# ---------------------------------------------------------------- every mistake is a different answer

FUNCTION_PROBLEMS = [p for p in ASSIGNMENT.problems if isinstance(p, FunctionProblem)]


@pytest.mark.parametrize("problem", FUNCTION_PROBLEMS, ids=lambda p: p.id)
def test_each_mistake_differs_from_the_reference(problem: FunctionProblem) -> None:
    drawn = cases(problem, per_secret=8)
    expected = [run(problem.reference, c) for c in drawn]
    for mistake in problem.mistakes:
        differs = []
        for case, exp in zip(drawn, expected, strict=True):
            try:
                wrong = run(mistake.answer, case)
            except Exception as exc:  # noqa: BLE001 - a mistake that does not apply to these inputs
                differs.append(mistake.matches_error(f"{type(exc).__name__}: {exc}"))  # or known by its exception
                continue
            differs.append(not problem.check(wrong, exp, case).passed and not same_data(wrong, exp))
        assert any(differs), f"{problem.id}: mistake never differs: {mistake.message}"


def test_mistakes_are_what_their_messages_say() -> None:
    rng = np.random.default_rng(7)
    for _ in range(10):
        w, v = rng.normal(size=3), rng.normal(size=9)
        conv = F.conv1d(t(v)[None, None], t(w).flip(0)[None, None])[0, 0].numpy()  # a true convolution
        assert np.allclose(conv1d_matvec.flipped(w, v), conv)
        assert np.allclose(conv1d_vecmat.forward_product(v, w), matvec_oracle(w, v))
        x, beta = rng.normal(size=5) + 900, 1.0
        assert not np.isfinite(nu_beta.naive(x, beta)) and np.isnan(grad_nu_beta.naive(x, beta)).any()
        assert np.allclose(grad_nu_beta.log_softmax(x, 2.0), torch.log_softmax(2.0 * t(x), 0).numpy())
        assert np.allclose(grad_nu_beta.plain_softmax(x, 2.0), torch.softmax(t(x), 0).numpy())


def test_generators_are_deterministic_and_cover_edges() -> None:
    for problem in FUNCTION_PROBLEMS:
        for i in range(6):
            a = problem.generate(np.random.default_rng(i), i)
            b = problem.generate(np.random.default_rng(i), i)
            assert a.label == b.label and same_data(list(a.args), list(b.args), rtol=0, atol=0)
    first = {p.id: {p.generate(np.random.default_rng(1), i).label for i in range(p.hidden_count)}
             for p in FUNCTION_PROBLEMS}
    assert any("overflows" in label for label in first["nu_beta"])
    assert any("single" in label for label in first["grad_nu_beta"]) and any(
        "ties" in label for label in first["grad_nu_beta"])
    assert any("one output" in label for label in first["conv1d_matvec"])
    assert any("shorter" in label for label in first["conv1d_vecmat"])
    assert any("1 layer" in label for label in first["conv1d_net_grads"])
