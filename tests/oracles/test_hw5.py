"""hw5 references against independent oracles: autograd (backprop), torch.optim.SGD (momentum),
the support of the input gradient of a torch network (receptive fields), torch modules'
parameter counts (ANSWERS) and torch.utils.flop_counter (count_ops on hw5's examples)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from helpers import agrees, oracle_cases, run, t  # tests/oracles, on sys.path under pytest
from netspec_torch import build_module, count_parameters  # tests/oracles, on sys.path under pytest
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from grader.spec import Case, FunctionProblem
from problems.common import count_ops, stacks
from problems.common import layers as L
from problems.hw5 import ASSIGNMENT, answers, mlp_backprop, momentum_form1, momentum_form2, receptive_field

torch.set_default_dtype(torch.float64)


def cases(problem: FunctionProblem, per_secret: int = 30) -> list[Case]:
    return oracle_cases("hw5", problem, per_secret)


def test_assignment_total_is_100() -> None:
    assert ASSIGNMENT.max_score == 100
    assert ASSIGNMENT.source == "seed 001 (MFDNN Homework 5)"


def mistakes_differ(problem: FunctionProblem) -> None:
    """Every Mistake fails the problem's own check on some generated case."""
    pool = cases(problem, per_secret=10)
    for mistake in problem.mistakes:
        assert any(not problem.check(run(mistake.answer, c), run(problem.reference, c), c).passed for c in pool), \
            mistake.message


# ---------------------------------------------------------------- backprop


def backprop_oracle(A_list, b_list, x, y) -> tuple[list[np.ndarray], list[np.ndarray]]:
    As = [t(A).requires_grad_(True) for A in A_list]
    bs = [t(b).requires_grad_(True) for b in b_list]
    h = t(x)
    for ell, (A, b) in enumerate(zip(As, bs, strict=True)):
        h = A @ h + b
        if ell < len(As) - 1:
            h = torch.sigmoid(h)
    assert h.shape == (1,)
    loss = 0.5 * (h[0] - float(y)) ** 2
    grads = torch.autograd.grad(loss, As + bs)
    n = len(As)
    return [g.numpy() for g in grads[:n]], [g.numpy() for g in grads[n:]]


def test_backprop_statement_example() -> None:
    dA, db = mlp_backprop.reference([np.array([[1.0, 2.0]])], [np.array([0.5])], np.array([1.0, -1.0]), 1.0)
    np.testing.assert_allclose(dA[0], [[-1.5, 1.5]])
    np.testing.assert_allclose(db[0], [-1.5])


def test_backprop_against_autograd() -> None:
    pool = cases(mlp_backprop.PROBLEM)
    assert {len(c.args[0]) for c in pool} == {1, 2, 3, 4}
    assert any(all(A.shape == (1, 1) for A in c.args[0]) for c in pool)
    saturated = 0
    for case in pool:
        got = run(mlp_backprop.reference, case)
        oracle = backprop_oracle(*case.args)
        agrees(mlp_backprop.PROBLEM, got, oracle, case)
        for g, o in zip(got[0] + got[1], oracle[0] + oracle[1], strict=True):  # far tighter than the check
            np.testing.assert_allclose(g, o, rtol=1e-10, atol=1e-14)
        # saturated units really occur: some hidden pre-activation beyond 10
        h = np.asarray(case.args[2])
        for A, b in zip(case.args[0][:-1], case.args[1][:-1], strict=True):
            z = A @ h + b
            saturated += bool(np.any(np.abs(z) > 10))
            h = 1 / (1 + np.exp(-z))
    assert saturated >= 10


def test_backprop_mistakes_differ() -> None:
    mistakes_differ(mlp_backprop.PROBLEM)


# ---------------------------------------------------------------- momentum


def sgd_oracle(Q, c, theta0, alpha, beta, steps) -> np.ndarray:
    theta = t(theta0).clone().requires_grad_(True)
    opt = torch.optim.SGD([theta], lr=alpha, momentum=beta)
    Qt, ct = t(Q), t(c)
    rows = [theta.detach().clone().numpy()]
    for _ in range(steps):
        opt.zero_grad()
        f = 0.5 * theta @ Qt @ theta - ct @ theta
        f.backward()
        opt.step()
        rows.append(theta.detach().clone().numpy())
    return np.array(rows).reshape(steps + 1, -1)


def test_momentum_statement_example() -> None:
    args = (np.diag([2.0, 1.0]), np.array([2.0, 1.0]), np.array([0.0, 0.0]), 0.5, 0.5, 2)
    expected = [[0, 0], [1, 0.5], [1.5, 1]]
    np.testing.assert_allclose(momentum_form1.reference(*args), expected, atol=1e-15)
    np.testing.assert_allclose(momentum_form2.reference(*args), expected, atol=1e-15)


@pytest.mark.parametrize("problem", [momentum_form1.PROBLEM, momentum_form2.PROBLEM], ids=lambda p: p.id)
def test_momentum_against_torch_sgd(problem: FunctionProblem) -> None:
    pool = cases(problem)
    assert any(c.args[4] == 0 for c in pool) and any(c.args[5] == 0 for c in pool)
    assert any(len(c.args[2]) == 1 for c in pool)
    worst = 0.0
    for case in pool:
        Q = case.args[0]
        assert np.array_equal(Q, Q.T) and np.linalg.eigvalsh(Q).min() > 0, "Q must be symmetric positive definite"
        got = run(problem.reference, case)
        oracle = sgd_oracle(*case.args)
        assert got.shape == (case.args[5] + 1, len(case.args[2]))
        agrees(problem, got, oracle, case)
        scale = max(1.0, float(np.abs(oracle).max()))
        assert scale < 1e3, "trajectories must stay bounded"
        worst = max(worst, float(np.abs(got - oracle).max()) / scale)
    assert worst < 1e-12, f"the tolerance margin is thinner than documented: {worst:g}"


def test_both_forms_and_the_scaled_velocity_agree() -> None:
    for case in cases(momentum_form1.PROBLEM) + cases(momentum_form2.PROBLEM):
        one = run(momentum_form1.reference, case)
        for other in (momentum_form2.reference, momentum_form2.scaled_velocity):
            agrees(momentum_form1.PROBLEM, run(other, case), one, case)


@pytest.mark.parametrize("problem", [momentum_form1.PROBLEM, momentum_form2.PROBLEM], ids=lambda p: p.id)
def test_momentum_mistakes_differ(problem: FunctionProblem) -> None:
    mistakes_differ(problem)


# ---------------------------------------------------------------- receptive fields


def positive_network(input_shape, layers) -> nn.Module:
    """The spec as a torch network whose input-gradient support is the structural receptive field:
    conv weights positive, inputs positive (so ReLUs are active and nothing cancels), and max
    pooling replaced by average pooling with the same window (max pooling routes the gradient to
    one argmax only). Without grouped convs, convs get at most 3 output channels: the field does
    not depend on the channel counts, and the VGG examples at 224 x 224 stay fast."""
    if all(layer.get("groups", 1) == 1 for layer in layers):
        layers = [dict(layer, out_channels=min(layer["out_channels"], 3)) if layer["type"] == "conv2d" else layer
                  for layer in layers]
    module = build_module(input_shape, layers)
    generator = torch.Generator().manual_seed(0)
    for index, sub in enumerate(module):
        if isinstance(sub, nn.Conv2d):
            fan_in = sub.weight[0].numel()
            with torch.no_grad():
                sub.weight.copy_((0.5 + torch.rand(sub.weight.shape, generator=generator)) / fan_in)
                if sub.bias is not None:
                    sub.bias.fill_(0.1)
        elif isinstance(sub, nn.MaxPool2d):
            module[index] = nn.AvgPool2d(sub.kernel_size, sub.stride, sub.padding)
    return module


def support_oracle(module: nn.Module, input_shape, positions) -> dict[tuple[int, int], Any]:
    x = (0.5 + torch.rand((1, *input_shape), generator=torch.Generator().manual_seed(1))).requires_grad_(True)
    out = module(x)
    found = {}
    for i, j in positions:
        (grad,) = torch.autograd.grad(out[0, :, i, j].sum(), x, retain_graph=True)
        mask = grad[0].abs().sum(0) > 0
        rows = torch.nonzero(mask.any(1)).flatten()
        cols = torch.nonzero(mask.any(0)).flatten()
        assert rows.numel() and cols.numel(), "an output position that depends on no input pixel"
        found[(i, j)] = ((int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max())))
    return found


def test_receptive_field_statement_examples() -> None:
    vgg = receptive_field.vgg_front()
    assert L.output_shape((3, 224, 224), vgg) == (128, 56, 56)
    for i in range(56):
        lo, hi = max(4 * i - 6, 0), min(4 * i + 9, 223)
        assert receptive_field.reference((3, 224, 224), vgg, i, 55 - i) == ((lo, hi), (max(4 * (55 - i) - 6, 0),
                                                                                       min(4 * (55 - i) + 9, 223)))
    assert receptive_field.reference((3, 224, 224), vgg, 10, 20) == ((34, 49), (74, 89))
    assert receptive_field.reference((3, 224, 224), vgg, 0, 0) == ((0, 9), (0, 9))
    assert receptive_field.reference((3, 224, 224), vgg[:5], 7, 0) == ((12, 17), (0, 3))  # seed: 2i-2 .. 2i+3


def test_receptive_field_vgg_against_gradient_support() -> None:
    # the VGG front at a smaller size (the field does not depend on the channel counts)
    vgg = [dict(layer, out_channels=2) if layer["type"] == "conv2d" else layer
           for layer in receptive_field.vgg_front()]
    module = positive_network((1, 40, 40), vgg)
    positions = [(i, j) for i in range(10) for j in (0, 3, 9)]
    for (i, j), oracle in support_oracle(module, (1, 40, 40), positions).items():
        assert receptive_field.reference((1, 40, 40), vgg, i, j) == oracle


def test_receptive_field_generated_cases_against_gradient_support() -> None:
    pool = cases(receptive_field.PROBLEM)
    labels = " ".join(c.label for c in pool[:12])
    for what in ("corner", "dropped border", "stride gt kernel", "pool padding", "one by one", "groups"):
        assert what in labels, what
    for case in pool:
        shape, layers, i, j = case.args
        oracle = support_oracle(positive_network(shape, layers), shape, [(i, j)])[(i, j)]
        got = run(receptive_field.reference, case)
        assert got == oracle, (case.label, shape, layers, i, j)
        agrees(receptive_field.PROBLEM, got, oracle, case)


def test_receptive_field_every_position_of_small_networks() -> None:
    """Every output position (so every border and corner) of a few small networks."""
    rng = np.random.default_rng(5)
    nets = [receptive_field._dropped_border(rng) for _ in range(4)]
    edges = ("stride_gt_kernel", "pool_padding", "groups", "random")
    while len(nets) < 16:
        shape, layers = stacks.random_network(rng, edges[len(nets) % len(edges)], spatial_only=True)
        if shape[1] * shape[2] <= 300:
            nets.append((shape, layers))
    checked = 0
    for shape, layers in nets:
        _, h, w = L.output_shape(shape, layers)
        positions = [(i, j) for i in range(h) for j in range(w)]
        for (i, j), oracle in support_oracle(positive_network(shape, layers), shape, positions).items():
            assert receptive_field.reference(shape, layers, i, j) == oracle, (shape, layers, i, j)
            checked += 1
    assert checked > 200


def test_clipping_at_every_layer_is_what_the_gradient_says() -> None:
    """The 'clip only at the input' slip differs from the reference on generated cases, and the
    gradient support agrees with the reference (clipping at every layer)."""
    clip_at_input = next(m for m in receptive_field.PROBLEM.mistakes if "only at the input" in m.message)
    differing = 0
    for case in cases(receptive_field.PROBLEM):
        wrong, right = run(clip_at_input.answer, case), run(receptive_field.reference, case)
        if wrong != right:
            shape, layers, i, j = case.args
            assert support_oracle(positive_network(shape, layers), shape, [(i, j)])[(i, j)] == right
            differing += 1
    assert differing >= 10
    # a hand-made instance: rows 0..6, conv k2 s3 reads rows 0..4 (rows 5, 6 never), then conv k3 p1
    layers = [L.conv(1, 2, 3, 0), L.conv(1, 3, 1, 1)]
    assert L.output_shape((1, 7, 7), layers) == (1, 2, 2)
    assert receptive_field.reference((1, 7, 7), layers, 1, 1) == ((0, 4), (0, 4))
    assert clip_at_input.answer((1, 7, 7), layers, 1, 1) == ((0, 6), (0, 6))
    assert support_oracle(positive_network((1, 7, 7), layers), (1, 7, 7), [(1, 1)])[(1, 1)] == ((0, 4), (0, 4))


def test_receptive_field_mistakes_differ() -> None:
    mistakes_differ(receptive_field.PROBLEM)


# ---------------------------------------------------------------- ANSWERS and count_ops


def test_answers_against_torch_parameter_counts() -> None:
    keys = {k.key: k for k in answers.PROBLEM.keys}
    naive = build_module((256, 32, 32), L.naive_inception())
    bottleneck = build_module((256, 32, 32), L.bottleneck_inception())
    assert count_parameters(naive) == keys["naive_inception_params"].expected == 1_089_952
    assert count_parameters(bottleneck) == keys["bottleneck_inception_params"].expected == 346_720
    # the seed's wrong value, and the bias-free counts, from torch too
    seed_naive = nn.ModuleList([nn.Conv2d(256, 128, 1), nn.Conv2d(256, 192, 3), nn.Conv2d(256, 96, 3)])
    assert 696_736 == count_parameters(seed_naive) in keys["naive_inception_params"].mistakes["naive_inception_params"]
    no_bias = sum(m.weight.numel() for m in bottleneck.modules() if isinstance(m, nn.Conv2d))
    assert no_bias == 346_112 in keys["bottleneck_inception_params"].mistakes["bottleneck_inception_params"]
    with torch.no_grad():
        out = bottleneck(torch.zeros(1, 256, 32, 32))
    assert out.shape == (1, 128 + 192 + 96 + 64, 32, 32)


@pytest.mark.parametrize("network", [L.naive_inception, L.bottleneck_inception])
def test_count_ops_inception_against_flop_counter(network) -> None:
    """hw5's count_ops examples: torch's flop counter gives 2 x mults (one multiply-add = 2 flops),
    and forward hooks give the activation count. The general count_ops oracle is in test_hw7."""
    layers = network()
    module = build_module((256, 32, 32), layers).to("meta")
    x = torch.zeros((1, 256, 32, 32), device="meta")
    with FlopCounterMode(display=False) as counter:
        module(x)
    ops = count_ops.reference((256, 32, 32), layers)
    assert counter.get_total_flops() == 2 * ops["mults"]
    relu_elements = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: relu_elements.append(out.numel()))
             for m in module.modules() if isinstance(m, nn.ReLU)]
    module(x)
    for hook in hooks:
        hook.remove()
    assert sum(relu_elements) == ops["activations"]
    expected = {"naive_inception": (1_115_684_864, 425_984), "bottleneck_inception": (354_418_688, 622_592)}
    mults, activations = expected[network.__name__]
    assert ops == {"mults": mults, "adds": mults, "activations": activations}
