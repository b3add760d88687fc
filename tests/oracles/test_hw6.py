"""hw6 references against independent oracles: dropout applied with torch (manual mask and nn.Dropout),
Monte Carlo over real nn.Linear default initialisations, autograd, and nn.Conv2d parameter counts."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import ACTIVATIONS, assert_mistakes_differ, seeded_cases  # tests/oracles, on sys.path under pytest
from torch import nn

from grader.checks import same_data
from problems.common import layers as L
from problems.hw6 import ASSIGNMENT, answers, dropout_commutes, linear_net_output_variance, resmlp_grads

torch.set_default_dtype(torch.float64)

TORCH_ACTIVATIONS = {
    **ACTIVATIONS,
    "elu": F.elu,
    "softplus": F.softplus,
}


# ------------------------------------------------------------------ dropout_commutes


def dropout_orders_agree(activation: str, seed: int) -> bool:
    """Empirically: random linear layers and inputs, one mask per trial; False as soon as the orders differ."""
    sigma = TORCH_ACTIVATIONS[activation]
    gen = torch.Generator().manual_seed(seed)
    agree = True
    for p in (0.1, 0.3, 0.5, 0.8):
        for trial in range(5):
            torch.manual_seed(seed * 1000 + trial)
            lin = nn.Linear(6, 8)
            x = 3.0 * torch.randn(64, 6, generator=gen)  # scale 3: both signs, large and small |h|
            with torch.no_grad():
                h = lin(x)
                # one Bernoulli(1-p) mask, applied with inverted scaling, in both orders
                keep = (torch.rand(h.shape, generator=gen) >= p).to(h.dtype)
                a = sigma(h * keep / (1 - p))
                b = sigma(h) * keep / (1 - p)
                agree &= torch.allclose(a, b, rtol=1e-12, atol=1e-12)
                # the same with nn.Dropout in training mode: the same seed gives the same mask
                drop = nn.Dropout(p).train()
                torch.manual_seed(seed + trial)
                mask = drop(torch.ones_like(h))
                assert set(torch.unique(mask).tolist()) <= {0.0, 1 / (1 - p)}
                torch.manual_seed(seed + trial)
                a2 = sigma(drop(h))
                torch.manual_seed(seed + trial)
                b2 = drop(sigma(h))
                assert torch.allclose(a2, sigma(h * mask), rtol=1e-12, atol=1e-12)
                agree &= torch.allclose(a2, b2, rtol=1e-12, atol=1e-12)
    return bool(agree)


@pytest.mark.parametrize("activation", dropout_commutes.ACTIVATIONS)
def test_dropout_commutes_matches_torch(activation: str) -> None:
    assert dropout_commutes.reference(activation) is dropout_orders_agree(activation, seed=7)


def test_dropout_examples_are_all_activations() -> None:
    assert [c.args[0] for c in dropout_commutes.PROBLEM.examples] == list(dropout_commutes.ACTIVATIONS)
    assert set(dropout_commutes.REASONS) == set(dropout_commutes.ACTIVATIONS)


def test_dropout_mistakes_differ() -> None:
    for mistake in dropout_commutes.PROBLEM.mistakes:
        assert any(mistake.answer(a) != dropout_commutes.reference(a) for a in dropout_commutes.ACTIVATIONS), \
            mistake.message


# ------------------------------------------------------------------ linear_net_output_variance

# Budget of random numbers per Monte Carlo estimate: keeps each estimate under ~0.15 s.
MC_BUDGET = 6_000_000
SIGMAS = 5.0  # a statistic of ~20 000 IID terms is near normal: |z| > 5 has probability ~6e-7


def mc_variance(widths: list[int], seed: int, networks: int | None = None, batch: int = 4) -> tuple[float, float]:
    """Estimate Var(y_L[i]) over fresh default initialisations and IID inputs; return (estimate, standard error).

    R networks are drawn at once: nn.Linear(n_in, R * n_out) initialises every entry exactly as
    nn.Linear(n_in, n_out) does (its bound 1/sqrt(n_in) depends on fan-in only), and its rows split
    into R independent layers. Each network sees ``batch`` inputs; its statistic s_r = mean of y^2 over
    inputs and outputs has mean Var(y) (E y = 0 by symmetry), and the s_r are IID across networks.
    """
    params = sum(a * b + b for a, b in pairwise(widths))
    R = networks or int(min(20_000, max(2_000, MC_BUDGET // params)))
    torch.manual_seed(seed)
    n0 = widths[0]
    kind = seed % 3  # any IID input with mean 0 and variance 1 will do: normal, Rademacher, uniform
    if kind == 0:
        y = torch.randn(R, batch, n0)
    elif kind == 1:
        y = torch.randint(0, 2, (R, batch, n0)).to(torch.float64) * 2 - 1
    else:
        y = (torch.rand(R, batch, n0) * 2 - 1) * math.sqrt(3)
    with torch.no_grad():
        for n_in, n_out in pairwise(widths):
            big = nn.Linear(n_in, R * n_out)
            W = big.weight.view(R, n_out, n_in)
            b = big.bias.view(R, n_out)
            y = torch.einsum("rbi,roi->rbo", y, W) + b[:, None, :]
    s = (y**2).mean(dim=(1, 2))
    return float(s.mean()), float(s.std() / math.sqrt(R))


def mc_fresh_modules(widths: list[int], seed: int, networks: int) -> tuple[float, float]:
    """The literal experiment, slower: a fresh nn.Sequential of nn.Linear per draw, one input each."""
    torch.manual_seed(seed)
    samples = torch.empty(networks)
    with torch.no_grad():
        for r in range(networks):
            net = nn.Sequential(*[nn.Linear(a, b) for a, b in pairwise(widths)])
            samples[r] = (net(torch.randn(widths[0])) ** 2).mean()
    return float(samples.mean()), float(samples.std() / math.sqrt(networks))


def variance_cases():
    problem = linear_net_output_variance.PROBLEM
    return list(problem.examples) + seeded_cases(problem, 20, seed=61)


def test_variance_against_monte_carlo() -> None:
    for i, case in enumerate(variance_cases()):
        widths = case.args[0]
        expected = linear_net_output_variance.reference(*case.args)
        estimate, se = mc_variance(widths, seed=1000 + i)
        assert abs(estimate - expected) <= SIGMAS * se, (widths, expected, estimate, se)
        # the test has power: its tolerance is a small fraction of the value
        assert SIGMAS * se <= 0.08 * expected, (widths, se / expected)


def test_variance_literal_modules_agree() -> None:
    """The batched trick above is the same experiment as fresh nn.Linear modules per draw."""
    for i, widths in enumerate(([3, 2, 2], [1, 4, 1, 2])):
        expected = linear_net_output_variance.reference(widths)
        estimate, se = mc_fresh_modules(widths, seed=77 + i, networks=2500)
        assert abs(estimate - expected) <= SIGMAS * se, (widths, expected, estimate, se)
        wrong = linear_net_output_variance.seed_product(widths)
        assert abs(estimate - wrong) > SIGMAS * se, (widths, wrong, estimate, se)


def test_monte_carlo_rejects_the_wrong_formulas() -> None:
    """The same statistical test rejects each known mistake wherever it differs clearly (>= 15%)."""
    rejected = {m.answer.__name__: 0 for m in linear_net_output_variance.PROBLEM.mistakes}
    nets = [[4, 3, 2], [1, 1, 1, 1], [2, 5, 1, 3], [64, 32, 16, 10], [10, 1, 10], [3, 8, 8, 8, 2]]
    for i, widths in enumerate(nets):
        expected = linear_net_output_variance.reference(widths)
        estimate, se = mc_variance(widths, seed=5000 + i)
        assert abs(estimate - expected) <= SIGMAS * se
        for mistake in linear_net_output_variance.PROBLEM.mistakes:
            wrong = mistake.answer(widths)
            if abs(wrong - expected) >= 0.15 * expected:
                assert abs(estimate - wrong) > SIGMAS * se, (mistake.answer.__name__, widths, wrong, estimate, se)
                rejected[mistake.answer.__name__] += 1
    assert all(count >= 2 for count in rejected.values()), rejected
    # the catalogue's wrong formula, in particular, on the seed's own kind of network
    assert rejected["seed_product"] >= 4


def test_variance_mistakes_differ() -> None:
    assert_mistakes_differ(linear_net_output_variance.PROBLEM, variance_cases())


# ------------------------------------------------------------------ resmlp_grads


def autograd_resmlp(A_list, b_list, x, activation):
    sigma = TORCH_ACTIVATIONS[activation]
    As = [torch.tensor(A, requires_grad=True) for A in A_list]
    bs = [torch.tensor(b, requires_grad=True) for b in b_list]
    y = torch.tensor(x)
    for k in range(len(As) - 1):
        out = sigma(As[k] @ y + bs[k])
        y = out if k == 0 else out + y
    yL = As[-1] @ y + bs[-1]
    assert yL.shape == (1,)
    yL.sum().backward()
    return [A.grad.numpy() for A in As], [b.grad.numpy() for b in bs]


def resmlp_cases():
    problem = resmlp_grads.PROBLEM
    return list(problem.examples) + seeded_cases(problem, 240, seed=5)


def test_resmlp_grads_against_autograd() -> None:
    for case in resmlp_cases():
        dA, db = resmlp_grads.reference(*case.args)
        tA, tb = autograd_resmlp(*case.args)
        assert len(dA) == len(tA) and len(db) == len(tb)
        for got, want, param in zip(dA + db, tA + tb, list(case.args[0]) + list(case.args[1]), strict=True):
            assert got.shape == want.shape == np.shape(param), case.label
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=case.label)


def test_resmlp_example_values_in_statement() -> None:
    dA, db = resmlp_grads.reference(*resmlp_grads.PROBLEM.examples[0].args)
    assert same_data(dA, [np.array([[2.0, 1.0], [-1.0, -0.5]]), np.array([[0.5, 0.5], [0.0, 0.0]]),
                          np.array([[1.5, 0.5]])])
    assert same_data(db, [np.array([2.0, -1.0]), np.array([1.0, 0.0]), np.array([1.0])])


def test_resmlp_dead_layers_still_pass_gradient() -> None:
    """The generator's dead-ReLU cases: a residual layer has zero bias gradient, the layers below do not."""
    seen = 0
    for i, case in enumerate(seeded_cases(resmlp_grads.PROBLEM, 60, seed=9)):
        if i % 6 != 0:
            continue
        _, db = autograd_resmlp(*case.args)
        dead = [k for k in range(1, len(db) - 1) if np.all(db[k] == 0)]
        assert dead, case.label
        assert any(np.any(db[k] != 0) for k in range(dead[0])), case.label
        seen += 1
    assert seen == 10


def test_resmlp_no_kinks() -> None:
    for case in resmlp_cases():
        A_list, b_list, x, activation = case.args
        if activation not in ("relu", "leaky_relu"):
            continue
        y = x
        for k in range(len(A_list) - 1):
            z = A_list[k] @ y + b_list[k]
            assert np.min(np.abs(z)) > 1e-4, case.label
            out = np.maximum(z, 0) if activation == "relu" else np.where(z > 0, z, 0.01 * z)
            y = out if k == 0 else out + y


def test_resmlp_mistakes_differ() -> None:
    cases = resmlp_cases()[:60]
    for mistake in resmlp_grads.PROBLEM.mistakes:
        differs = 0
        for case in cases:
            try:
                wrong = mistake.answer(*case.args)
            except ValueError:
                continue
            differs += not same_data(wrong, resmlp_grads.reference(*case.args))
        assert differs >= 3, mistake.message


# ------------------------------------------------------------------ ANSWERS


def conv(c_in: int, c_out: int, k: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias)


def one_path(bias: bool = True) -> nn.Module:
    return nn.Sequential(conv(256, 128, 1, bias), nn.ReLU(), conv(128, 128, 3, bias), nn.ReLU(),
                         conv(128, 256, 1, bias), nn.ReLU())


class SplitTransformMerge(nn.Module):
    def __init__(self, paths: int = 32, width: int = 4, bias: bool = True) -> None:
        super().__init__()
        self.paths = nn.ModuleList(
            nn.Sequential(conv(256, width, 1, bias), nn.ReLU(), conv(width, width, 3, bias), nn.ReLU(),
                          conv(width, 256, 1, bias), nn.ReLU()) for _ in range(paths))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(path(x) for path in self.paths)


def params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def test_answers_against_torch_modules() -> None:
    keys = {k.key: k for k in answers.PROBLEM.keys}
    one, many = one_path(), SplitTransformMerge()
    x = torch.zeros(1, 256, 32, 32)
    assert one(x).shape == many(x).shape == (1, 256, 32, 32)
    assert keys["stm_one_path_params"].expected == params(one) == L.count_params((256, 32, 32), L.stm_one_path())
    assert keys["stm_32_paths_params"].expected == params(many) == L.count_params((256, 32, 32), L.stm_paths())
    # the seed's values are the counts without biases
    assert 212_992 in keys["stm_one_path_params"].mistakes["stm_one_path_params"]
    assert params(one_path(bias=False)) == 212_992
    assert params(SplitTransformMerge(bias=False)) == 70_144
    assert 70_144 in keys["stm_32_paths_params"].mistakes["stm_32_paths_params"]
    assert params(SplitTransformMerge(bias=False)) + 32 * 8 + 256 == 70_656
    assert params(SplitTransformMerge(paths=1)) == 2_456


def test_assignment_points() -> None:
    assert ASSIGNMENT.id == "hw6" and ASSIGNMENT.max_score == 100
