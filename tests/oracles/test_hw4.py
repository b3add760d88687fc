"""hw4 references (and the numpy conv helper the property checks use) against PyTorch oracles.

- numconv.conv2d / avg_pool2d / max_pool2d against torch.nn.functional on random configurations;
- the filter problems through F.conv2d, compared with definitions written independently in torch
  and with F.avg_pool2d;
- maxpool_commutes by a counterexample search with F.max_pool2d plus a monotonicity check on a grid;
- the MLP problems against torch.autograd (functional.jacobian and backward), in float64.

Every problem is checked on its examples and on many generated cases from several seeds, and
every known mistake must differ from the reference (or fail the property) on some generated case.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import ACTIVATIONS, assert_mistakes_differ, seeded_cases, t  # tests/oracles, on sys.path

from grader.engine import CaseBook, _diagnose
from grader.spec import Case
from problems.common import numconv
from problems.hw4 import (
    avgpool_as_conv,
    finite_difference_filters,
    greyscale_filter,
    maxpool_commutes,
    mlp_layer_jacobians,
    mlp_param_grads,
    property_checks,
)

torch.set_default_dtype(torch.float64)
SEEDS = (0, 1, 2)
N_GENERATED = 30


def cases(problem, n: int = N_GENERATED) -> list[Case]:
    """The examples plus n generated cases (index 0..n-1, so every edge case appears) per seed."""
    out = list(problem.examples)
    for seed in SEEDS:
        out += seeded_cases(problem, n, seed)
    return out


# ------------------------------------------------------------------ numconv


def test_numconv_conv2d_matches_torch() -> None:
    rng = np.random.default_rng(11)
    for trial in range(300):
        groups = int(rng.choice([1, 1, 2, 3]))
        c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        kh, kw = (int(v) for v in rng.integers(1, 4, 2))
        stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) if trial % 2 else int(rng.integers(1, 3))
        padding = (int(rng.integers(0, 2)), int(rng.integers(0, 2))) if trial % 3 else int(rng.integers(0, 2))
        h, w = int(rng.integers(kh, 8)), int(rng.integers(kw, 8))
        batched = trial % 2 == 0
        x = rng.normal(size=(2, c_in, h, w) if batched else (c_in, h, w))
        weight = rng.normal(size=(c_out, c_in // groups, kh, kw))
        bias = rng.normal(size=c_out) if trial % 4 else None
        got = numconv.conv2d(x, weight, bias, stride, padding, groups)
        want = F.conv2d(t(x), t(weight), None if bias is None else t(bias), stride, padding, 1, groups).numpy()
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_numconv_pooling_matches_torch() -> None:
    rng = np.random.default_rng(12)
    for trial in range(300):
        k = int(rng.integers(1, 4))
        stride = None if trial % 3 == 0 else int(rng.integers(1, 4))
        padding = int(rng.integers(0, k // 2 + 1))  # torch requires padding <= k/2
        h, w = int(rng.integers(k, 9)), int(rng.integers(k, 9))
        x = rng.normal(size=(2, 3, h, w) if trial % 2 else (3, h, w))
        for ours, theirs in ((numconv.avg_pool2d, F.avg_pool2d), (numconv.max_pool2d, F.max_pool2d)):
            got = ours(x, k, stride, padding)
            want = theirs(t(x), k, stride, padding).numpy()
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_numconv_rejects_bad_arguments() -> None:
    x = np.zeros((1, 3, 3))
    with pytest.raises(ValueError):
        numconv.conv2d(x, np.zeros((1, 1, 5, 5)))  # kernel larger than the input
    with pytest.raises(ValueError):
        numconv.conv2d(x, np.zeros((1, 2, 1, 1)))  # channel mismatch
    with pytest.raises(ValueError):
        numconv.pair((1, 2, 3))


# ------------------------------------------------------------------ finite_difference_filters


def torch_forward_differences(x: torch.Tensor) -> torch.Tensor:
    """Written independently of the module's definition: shifted copies with zeros outside."""
    down = torch.zeros_like(x)
    down[:-1, :] = x[1:, :]
    right = torch.zeros_like(x)
    right[:, :-1] = x[:, 1:]
    return torch.stack([down - x, right - x])


def fd_images(case: Case) -> list[np.ndarray]:
    assert case.context is not None
    return case.context["images"]


def test_finite_difference_reference_through_conv2d() -> None:
    w = t(finite_difference_filters.reference()).reshape(2, 1, 3, 3)
    seen = set()
    for case in cases(finite_difference_filters.PROBLEM):
        for x in fd_images(case):
            seen.add(x.shape)
            got = F.conv2d(t(x)[None, None], w, padding=1)[0]
            want = torch_forward_differences(t(x))
            torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
            np.testing.assert_allclose(property_checks.forward_differences(x), want.numpy(), atol=1e-12)
    assert {(1, 1), (1, 6), (5, 1)} <= seen  # the edge sizes appear


def test_finite_difference_property_accepts_reference_and_conv2d_layout() -> None:
    check = finite_difference_filters.PROBLEM.check
    ref = finite_difference_filters.reference()
    for case in cases(finite_difference_filters.PROBLEM, 8):
        assert check(ref, None, case).passed
        assert check(ref.reshape(2, 1, 3, 3).tolist(), None, case).passed
        assert check(ref.astype(np.float32), None, case).passed
        assert check(ref.reshape(3, 3, 2), None, case).outcome == "invalid"


def test_finite_difference_mistakes_fail_with_their_message() -> None:
    problem = finite_difference_filters.PROBLEM
    book = CaseBook()
    w_ref = t(finite_difference_filters.reference()).reshape(2, 1, 3, 3)
    for mistake in problem.mistakes:
        wrong = mistake.answer()
        x = t(np.random.default_rng(5).normal(size=(4, 5)))[None, None]
        assert not torch.allclose(F.conv2d(x, t(wrong)[:, None], padding=1), F.conv2d(x, w_ref, padding=1))
        for planned in book.public("hw4", problem):
            got = wrong.reshape(2, 1, 3, 3)  # the conv2d layout: recognised through the check's canonical form
            verdict = problem.check(got, None, planned.case)
            assert verdict.outcome == "failed" and _diagnose(problem, planned, got, verdict, book)[0] == mistake.message


# ------------------------------------------------------------------ avgpool_as_conv


def test_avgpool_reference_matches_avg_pool2d() -> None:
    for case in cases(avgpool_as_conv.PROBLEM):
        channels, k = case.args
        weight, bias, stride, padding = avgpool_as_conv.reference(channels, k)
        assert case.context is not None
        for x in case.context["inputs"]:
            assert x.shape[0] == channels and min(x.shape[1:]) >= k
            want = F.avg_pool2d(t(x)[None], k)
            got = F.conv2d(t(x)[None], t(weight), bias if bias is None else t(bias), stride, padding)
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
        assert avgpool_as_conv.PROBLEM.check((weight, bias, stride, padding), None, case).passed
        assert avgpool_as_conv.PROBLEM.check([weight.tolist(), np.zeros(channels), (k, k), [0, 0]], None, case).passed


def test_avgpool_cases_cover_edges() -> None:
    generated = cases(avgpool_as_conv.PROBLEM)
    assert any(c.args[0] == 1 for c in generated)
    assert any(c.args[0] > 1 and c.args[1] > 1 for c in generated)
    shapes = [(x.shape[1:], c.args[1]) for c in generated for x in c.context["inputs"]]  # type: ignore[index]
    assert any(m % k or n % k for (m, n), k in shapes)  # sizes not divisible by k


def test_avgpool_mistakes_differ_from_avg_pool2d() -> None:
    for mistake in avgpool_as_conv.PROBLEM.mistakes:
        differs = False
        for case in cases(avgpool_as_conv.PROBLEM, 10):
            channels, k = case.args
            weight, bias, stride, padding = mistake.answer(channels, k)
            for x in case.context["inputs"]:  # type: ignore[index]
                want = F.avg_pool2d(t(x)[None], k)
                got = F.conv2d(t(x)[None], t(weight), t(bias), stride, padding)
                differs |= got.shape != want.shape or not torch.allclose(got, want)
            verdict = avgpool_as_conv.PROBLEM.check((weight, None if not bias.any() else bias, stride, padding),
                                                    None, case)
            if not verdict.passed:
                assert verdict.hint == mistake.message, (mistake.message, verdict)
        assert differs, mistake.message


# ------------------------------------------------------------------ greyscale_filter


def test_greyscale_reference_through_conv2d() -> None:
    w = t(greyscale_filter.reference())
    for case in cases(greyscale_filter.PROBLEM):
        for x in case.context["images"]:  # type: ignore[index]
            xt = t(x) if x.ndim == 4 else t(x)[None]
            got = F.conv2d(xt, w)
            want = (0.299 * xt[:, 0] + 0.587 * xt[:, 1] + 0.114 * xt[:, 2])[:, None]
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
        assert greyscale_filter.PROBLEM.check(greyscale_filter.reference().astype(np.float32), None, case).passed


def test_greyscale_mistakes_caught() -> None:
    x = t(np.random.default_rng(8).uniform(size=(1, 3, 4, 4)))
    want = F.conv2d(x, t(greyscale_filter.reference()))
    for mistake in greyscale_filter.PROBLEM.mistakes:
        wrong = mistake.answer()
        if wrong.shape == (1, 3, 1, 1):
            assert not torch.allclose(F.conv2d(x, t(wrong)), want)
        else:  # the transposed weight makes 3 output channels from 1 input: conv2d rejects the RGB image
            with pytest.raises(RuntimeError):
                F.conv2d(x, t(wrong))
    book = CaseBook()
    problem = greyscale_filter.PROBLEM
    for planned in book.public("hw4", problem):
        for mistake in problem.mistakes:
            verdict = problem.check(mistake.answer(), None, planned.case)
            assert not verdict.passed
            assert _diagnose(problem, planned, mistake.answer(), verdict, book)[0] == mistake.message


# ------------------------------------------------------------------ maxpool_commutes

TORCH_ACTIVATIONS = {
    **ACTIVATIONS,
    "neg": lambda z: -z,
    "square": lambda z: z**2,
    "abs": torch.abs,
    "cos": torch.cos,
    "step": lambda z: (z >= 0).to(z.dtype),
}


def find_counterexample(sigma, rng: np.random.Generator, trials: int = 300) -> bool:
    for trial in range(trials):
        k = int(rng.integers(2, 4))
        stride = int(rng.integers(1, k + 1))
        scale = (0.5, 2.0, 5.0)[trial % 3]
        x = t(rng.normal(0.0, scale, (1, 1, 6, 6)))
        if trial % 5 == 0:  # exact ties and zeros, where step and relu could misbehave
            x = torch.round(x)
        # a tolerance: torch's vectorised and scalar kernels may round sigmoid(x) differently in the last bit
        if not torch.allclose(sigma(F.max_pool2d(x, k, stride)), F.max_pool2d(sigma(x), k, stride),
                              rtol=1e-12, atol=1e-12):
            return True
    return False


def test_maxpool_commutes_reference_against_search_and_monotonicity() -> None:
    assert {c.args[0] for c in maxpool_commutes.PROBLEM.examples} == set(TORCH_ACTIVATIONS)
    grid = torch.linspace(-10.0, 10.0, 20001)
    grid = torch.cat([grid, torch.tensor([0.0, -0.0, 1e-300, -1e-300])]).sort().values
    for name, sigma in TORCH_ACTIVATIONS.items():
        answer = maxpool_commutes.reference(name)
        assert isinstance(answer, bool)
        found = find_counterexample(sigma, np.random.default_rng(list(map(ord, name))))
        assert found != answer, name
        nondecreasing = bool(torch.all(sigma(grid).diff() >= 0))
        assert nondecreasing == answer, name


def test_maxpool_commutes_reasons_and_mistakes() -> None:
    problem = maxpool_commutes.PROBLEM
    for case in problem.examples:
        name = case.args[0]
        verdict = problem.check(not maxpool_commutes.reference(name), maxpool_commutes.reference(name), case)
        assert verdict.outcome == "failed" and name in verdict.message
        assert problem.check(1, True, case).outcome == "invalid"  # 1 is not a bool
    for mistake in problem.mistakes:
        assert any(mistake.answer(n) != maxpool_commutes.reference(n) for n in TORCH_ACTIVATIONS)


# ------------------------------------------------------------------ MLP problems


def torch_forward(A_list, b_list, y, activation: str, last: int):
    sigma = TORCH_ACTIVATIONS[activation]
    for index, (A, b) in enumerate(zip(A_list, b_list, strict=True)):
        z = A @ y + b
        y = z if index == last else sigma(z)
    return y


def torch_layer_jacobians(A_list, b_list, x, activation: str) -> list[np.ndarray]:
    As, bs = [t(A) for A in A_list], [t(b) for b in b_list]
    L = len(As)
    sigma = TORCH_ACTIVATIONS[activation]
    out, y = [], t(x)
    for index in range(L):
        layer = (lambda v, A=As[index], b=bs[index]: A @ v + b) if index == L - 1 else \
            (lambda v, A=As[index], b=bs[index]: sigma(A @ v + b))
        out.append(torch.autograd.functional.jacobian(layer, y).numpy())
        y = layer(y)
    return out


def test_mlp_layer_jacobians_against_autograd() -> None:
    generated = cases(mlp_layer_jacobians.PROBLEM)
    assert {c.args[3] for c in generated} == set(mlp_layer_jacobians.NAMES)
    assert any(len(c.args[0]) == 1 for c in generated) and any(len(c.args[0]) == 4 for c in generated)
    assert any(1 in c.args[0][0].shape for c in generated)  # width-1 layers
    for case in generated:
        got = mlp_layer_jacobians.reference(*case.args)
        want = torch_layer_jacobians(*case.args)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_mlp_layer_jacobians_mistakes_differ() -> None:
    assert_mistakes_differ(mlp_layer_jacobians.PROBLEM, cases(mlp_layer_jacobians.PROBLEM, 10))


def torch_param_grads(A_list, b_list, x, activation: str) -> tuple[list, list]:
    As = [t(A).requires_grad_() for A in A_list]
    bs = [t(b).requires_grad_() for b in b_list]
    y = torch_forward(As, bs, t(x), activation, len(As) - 1)
    assert y.shape == (1,)
    y.sum().backward()
    return [A.grad.numpy() for A in As], [b.grad.numpy() for b in bs]


def test_mlp_param_grads_against_autograd() -> None:
    generated = cases(mlp_param_grads.PROBLEM)
    assert {c.args[3] for c in generated} == set(mlp_param_grads.NAMES)
    assert {len(c.args[0]) for c in generated} == {1, 2, 3, 4}
    for case in generated:
        dA, db = mlp_param_grads.reference(*case.args)
        want_dA, want_db = torch_param_grads(*case.args)
        for got, want in itertools.chain(zip(dA, want_dA, strict=True), zip(db, want_db, strict=True)):
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_mlp_param_grads_mistakes_differ() -> None:
    assert_mistakes_differ(mlp_param_grads.PROBLEM, cases(mlp_param_grads.PROBLEM, 10))


def test_mlp_pre_activations_stay_away_from_kinks() -> None:
    """relu'(0) is a convention; the statement promises that no pre-activation is exactly 0."""
    for problem in (mlp_layer_jacobians, mlp_param_grads):
        for case in cases(problem.PROBLEM):
            zs, _ = mlp_layer_jacobians.forward(*case.args)
            assert all(np.all(np.abs(z) > 1e-9) for z in zs)
