"""wr3 references against independent oracles: autograd for the two gradients, torch modules built
from the layer spec (tests/oracles/netspec_torch.py) for output shapes and parameter counts."""

from __future__ import annotations

import copy
import functools
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import oracle_cases, run  # tests/oracles, on sys.path under pytest
from torch import nn

from grader.seeding import case_rng
from grader.spec import Case
from problems.common import layers as L
from problems.common.stacks import EDGES, random_network
from problems.wr3 import ASSIGNMENT, answers, conv2d_relu_backward, count_params, output_shape, softmax_nll_grad

try:
    from .netspec_torch import build_and_run, count_parameters
except ImportError:  # tests/oracles is not a package: pytest puts this folder on sys.path
    from netspec_torch import build_and_run, count_parameters

SEEDS = (1, 2, 3)
PER_SEED = 30


def cases_of(problem, count: int = PER_SEED) -> list[Case]:
    return oracle_cases("wr3", problem, count)


# ------------------------------------------------------------------ softmax_nll_grad


def autograd_softmax_nll(W: np.ndarray, x: np.ndarray, y: int) -> np.ndarray:
    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    loss = -F.log_softmax(Wt @ torch.tensor(x, dtype=torch.float64), dim=0)[y]
    loss.backward()
    return Wt.grad.numpy()


def test_softmax_nll_grad_against_autograd() -> None:
    problem = softmax_nll_grad.PROBLEM
    cases = cases_of(problem)
    assert {c.label for c in cases} >= set(softmax_nll_grad.KINDS)
    for case in cases:
        W, x, y = case.args
        got = run(problem.reference, case)
        want = autograd_softmax_nll(W, x, y)
        assert got.shape == W.shape
        assert np.all(np.isfinite(got)), case.label
        assert np.allclose(got, want, rtol=1e-9, atol=1e-11), case.label


def test_softmax_large_logits_really_overflow_naively() -> None:
    problem = softmax_nll_grad.PROBLEM
    for case in cases_of(problem):
        if case.label.startswith("huge"):
            with np.errstate(all="ignore"):
                assert not np.all(np.isfinite(softmax_nll_grad.naive_softmax(*case.args))), case.label


# ------------------------------------------------------------------ conv2d_relu_backward


def autograd_conv_relu(x: np.ndarray, W: np.ndarray, dL_dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xt = torch.tensor(x, dtype=torch.float64)[None, None].requires_grad_(True)
    wt = torch.tensor(W, dtype=torch.float64)[None, None].requires_grad_(True)
    y = torch.relu(F.conv2d(xt, wt))  # torch: relu'(0) = 0
    y.backward(torch.tensor(dL_dy, dtype=torch.float64)[None, None])
    return wt.grad[0, 0].numpy(), xt.grad[0, 0].numpy()


def test_conv2d_relu_backward_catalogue_example() -> None:
    (case,) = conv2d_relu_backward.PROBLEM.examples
    dW, dx = run(conv2d_relu_backward.PROBLEM.reference, case)
    assert np.array_equal(dW, [[1, 0], [-1, -3]])
    assert np.array_equal(dx, [[3, -5, 2], [-3, -4, 4], [0, 0, 0]])


def test_conv2d_relu_backward_against_autograd() -> None:
    problem = conv2d_relu_backward.PROBLEM
    cases = cases_of(problem)
    assert {c.label for c in cases} >= set(conv2d_relu_backward.KINDS)
    for case in cases:
        x, W, dy = case.args
        dW, dx = run(problem.reference, case)
        want_dW, want_dx = autograd_conv_relu(x, W, dy)
        assert dW.shape == W.shape and dx.shape == x.shape
        assert np.allclose(dW, want_dW, rtol=1e-10, atol=1e-12), case.label
        assert np.allclose(dx, want_dx, rtol=1e-10, atol=1e-12), case.label


def test_conv2d_edge_cases_are_what_they_say() -> None:
    problem = conv2d_relu_backward.PROBLEM
    for case in cases_of(problem):
        x, W, dy = case.args
        k = F.conv2d(torch.tensor(x)[None, None], torch.tensor(W)[None, None])[0, 0].numpy()
        assert dy.shape == k.shape
        if case.label.startswith("k exactly 0"):
            assert np.any((k == 0) & (dy != 0)), "the integer case must put k = 0 where dL/dy != 0"
        elif case.label == "1x1 filter":
            assert W.shape == (1, 1)
        elif case.label == "filter as large as the image":
            assert W.shape == x.shape
        elif case.label == "non-square image and filter":
            assert x.shape[0] != x.shape[1] and W.shape[0] != W.shape[1]


# ------------------------------------------------------------------ output_shape and count_params


@functools.cache
def _torch_run(key: str) -> tuple[tuple[int, ...], int]:
    shape, layers = json.loads(key)
    module, out = build_and_run(shape, layers)
    return out, count_parameters(module)


def torch_net(shape, layers) -> tuple[tuple[int, ...], int]:
    """(output shape, parameter count) of the torch module built from the spec; each network built once."""
    return _torch_run(json.dumps([list(shape), layers], sort_keys=True))


def torch_output_shape(shape, layers) -> tuple[int, ...]:
    return torch_net(shape, layers)[0]


def torch_params(shape, layers) -> int:
    return torch_net(shape, layers)[1]


def spec_networks() -> list[tuple[tuple[int, ...], list[dict]]]:
    """Random stacks of every edge kind from stacks.random_network, with and without their tails."""
    rng = np.random.default_rng(20261125)
    nets = [random_network(rng, edge) for edge in EDGES for _ in range(6)]
    nets += [random_network(rng, edge, spatial_only=True) for edge in EDGES for _ in range(2)]
    return nets


def named_networks() -> list[tuple[str, tuple[int, ...], list[dict]]]:
    return [("alexnet", (3, 227, 227), L.alexnet()), ("naive", (256, 32, 32), L.naive_inception()),
            ("bottleneck", (256, 32, 32), L.bottleneck_inception()), ("3a", (192, 28, 28), L.inception_3a()),
            ("stm1", (256, 32, 32), L.stm_one_path()), ("stm32", (256, 32, 32), L.stm_paths(32, 4))]


def test_output_shape_catalogue_example() -> None:
    case = output_shape.PROBLEM.examples[0]
    assert case.args[0] == (4, 37, 37)
    assert run(output_shape.PROBLEM.reference, case) == (16, 2, 2)
    assert torch_output_shape(*case.args) == (16, 2, 2)


def test_output_shape_against_torch_modules() -> None:
    problem = output_shape.PROBLEM
    inputs = [c.args for c in cases_of(problem)] + spec_networks()
    inputs += [(s, n) for _, s, n in named_networks()]
    for shape, layers in inputs:
        got = output_shape.reference(shape, copy.deepcopy(layers))
        assert isinstance(got, tuple) and all(type(d) is int for d in got)
        assert got == torch_output_shape(shape, layers), layers


def test_output_shape_cases_cover_every_edge_kind() -> None:
    problem = output_shape.PROBLEM
    first = [problem.generate(case_rng("wr3", problem.id, "public", i), i) for i in range(len(output_shape.KINDS))]
    assert [c.label for c in first] == [k.replace("_", " ") for k in output_shape.KINDS]
    kinds = {c.label: c.args for c in first}
    assert kinds["one by one"][0][1:] == (1, 1)
    assert any(layer["type"] == "linear" for layer in kinds["flatten linear"][1])
    assert kinds["flatten"][1][-1]["type"] == "flatten"

    def has_nested(layers: list[dict], depth: int = 0) -> bool:
        return any(layer["type"] == "parallel" and (depth >= 1 or any(has_nested(b, depth + 1)
                                                                      for b in layer["branches"]))
                   for layer in layers)

    assert has_nested(kinds["nested parallel"][1])
    assert any(layer.get("groups", 1) > 1 for layer in kinds["groups"][1])


def test_count_params_catalogue_values() -> None:
    values = {"alexnet": 61_100_840, "naive": 1_089_952, "bottleneck": 346_720, "3a": 163_696,
              "stm1": 213_504, "stm32": 78_592}
    for name, shape, layers in named_networks():
        assert count_params.reference(shape, layers) == values[name], name
        assert torch_params(shape, layers) == values[name], name
    examples = count_params.PROBLEM.examples
    got = [count_params.reference(*c.args) for c in examples]
    assert got == [61_100_840, 17_792, 14_400, 4_434] == [torch_params(*c.args) for c in examples]


def test_count_params_against_torch_modules() -> None:
    problem = count_params.PROBLEM
    inputs = [c.args for c in cases_of(problem)] + spec_networks()
    for shape, layers in inputs:
        got = count_params.reference(shape, copy.deepcopy(layers))
        assert type(got) is int
        assert got == torch_params(shape, layers), layers


def test_inception_3a_answer_against_handmade_torch_module() -> None:
    """Built by hand from the module's description, not from the layer spec."""
    branches = [
        nn.Sequential(nn.Conv2d(192, 64, 1), nn.ReLU()),
        nn.Sequential(nn.Conv2d(192, 96, 1), nn.ReLU(), nn.Conv2d(96, 128, 3, padding=1), nn.ReLU()),
        nn.Sequential(nn.Conv2d(192, 16, 1), nn.ReLU(), nn.Conv2d(16, 32, 5, padding=2), nn.ReLU()),
        nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(192, 32, 1), nn.ReLU()),
    ]
    x = torch.zeros(1, 192, 28, 28)
    assert torch.cat([b(x) for b in branches], dim=1).shape == (1, 256, 28, 28)
    right = sum(p.numel() for b in branches for p in b.parameters())
    (key,) = answers.PROBLEM.keys
    assert key.expected == right == 163_696
    assert 2_160 in answers.MISTAKES  # the seed's answer
    no_bias = sum(p.numel() for b in branches for name, p in b.named_parameters() if name.endswith("weight"))
    assert no_bias in answers.MISTAKES
    assert right not in answers.MISTAKES


# ------------------------------------------------------------------ mistakes and variants


@pytest.mark.parametrize("problem", ASSIGNMENT.functions, ids=lambda p: p.id)
def test_every_mistake_differs_from_the_reference(problem) -> None:
    cases = cases_of(problem, count=20)
    expected = [run(problem.reference, c) for c in cases]
    for mistake in problem.mistakes:
        differs = 0
        for case, want in zip(cases, expected, strict=True):
            try:
                with np.errstate(all="ignore"):
                    wrong = mistake.answer(*copy.deepcopy(case.args))
            except Exception:  # noqa: BLE001 - a variant that breaks down on this network
                continue
            differs += not problem.check.agrees(wrong, want, case)
        assert differs > 0, mistake.message


def test_variant_walker_without_slips_is_the_reference() -> None:
    """The wrong variants differ from the right semantics only by their slip."""
    right = output_shape.Variant()
    inputs = [c.args for c in cases_of(count_params.PROBLEM)] + spec_networks()
    inputs += [(s, n) for _, s, n in named_networks()]
    for shape, layers in inputs:
        assert output_shape.walk_variant(shape, layers, right) == (L.output_shape(shape, layers),
                                                                   L.count_params(shape, layers))
