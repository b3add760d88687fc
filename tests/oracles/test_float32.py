"""The course's precision policy: a correct solution computed in single precision gets full marks.

Every function problem has a float32 twin here: the computation a student would write with torch
in its default dtype (float32), from float32 copies of the inputs, returned as float32 (the checks
compare in float64, so float32 converted to float64 gives the same numbers). Each twin must pass
every example, every public case and 90 hidden-style cases (three secrets), as the grader checks
them. Problems without floating-point arithmetic (counts, shapes, yes/no) have the reference as
their twin, so that the test covers every problem of the course.

Torch is used with explicit dtypes: the other oracle modules set the default dtype to float64.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import ACTIVATIONS, oracle_cases  # tests/oracles, on sys.path under pytest

from grader.loader import load_assignment
from grader.spec import FunctionProblem

F32 = torch.float32
ASSIGNMENTS = ("wr3", "hw4", "hw5", "hw6", "hw7")

def f32(a: Any, grad: bool = False) -> torch.Tensor:
    """A float32 tensor of ``a``, as torch.tensor(x, dtype=torch.float32) makes it."""
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=F32, requires_grad=grad)


def out(t: torch.Tensor) -> np.ndarray:
    array = t.detach().numpy()
    assert array.dtype == np.float32
    return array


# ---------------------------------------------------------------- wr3


def softmax_nll_grad(W, x, y):
    Wt = f32(W, grad=True)
    (-F.log_softmax(Wt @ f32(x), dim=0)[int(y)]).backward()
    return out(Wt.grad)


def conv2d_relu_backward(x, W, dL_dy):
    xt, wt = f32(x)[None, None].requires_grad_(True), f32(W)[None, None].requires_grad_(True)
    torch.relu(F.conv2d(xt, wt)).backward(f32(dL_dy)[None, None])
    return out(wt.grad[0, 0]), out(xt.grad[0, 0])


# ---------------------------------------------------------------- hw4


def _forward(As, bs, y, activation):
    for index, (A, b) in enumerate(zip(As, bs, strict=True)):
        z = A @ y + b
        y = z if index == len(As) - 1 else ACTIVATIONS[activation](z)
    return y


def mlp_layer_jacobians(A_list, b_list, x, activation):
    As, bs, y = [f32(A) for A in A_list], [f32(b) for b in b_list], f32(x)
    jacobians = []
    for index, (A, b) in enumerate(zip(As, bs, strict=True)):
        last = index == len(As) - 1

        def layer(v, A=A, b=b, last=last):
            return A @ v + b if last else ACTIVATIONS[activation](A @ v + b)
        jacobians.append(out(torch.autograd.functional.jacobian(layer, y)))
        y = layer(y)
    return jacobians


def mlp_param_grads(A_list, b_list, x, activation):
    As, bs = [f32(A, grad=True) for A in A_list], [f32(b, grad=True) for b in b_list]
    _forward(As, bs, f32(x), activation).sum().backward()
    return [out(A.grad) for A in As], [out(b.grad) for b in bs]


def finite_difference_filters():
    from problems.hw4 import finite_difference_filters as module
    return np.asarray(module.reference(), dtype=np.float32)


def greyscale_filter():
    return np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(1, 3, 1, 1)


def avgpool_as_conv(channels, k):
    weight = torch.zeros(channels, channels, k, k, dtype=F32)
    for c in range(channels):
        weight[c, c] = 1.0 / k**2
    return out(weight), None, k, 0


# ---------------------------------------------------------------- hw5


def mlp_backprop(A_list, b_list, x, y):
    As, bs = [f32(A, grad=True) for A in A_list], [f32(b, grad=True) for b in b_list]
    h = f32(x)
    for index, (A, b) in enumerate(zip(As, bs, strict=True)):
        h = A @ h + b
        if index < len(As) - 1:
            h = torch.sigmoid(h)
    (0.5 * (h[0] - float(y)) ** 2).backward()
    return [out(A.grad) for A in As], [out(b.grad) for b in bs]


def momentum_form1(Q, c, theta0, alpha, beta, steps):
    Qt, ct = f32(Q), f32(c)
    theta = f32(theta0)
    previous, rows = theta.clone(), [theta.clone()]
    for _ in range(steps):
        theta, previous = theta - alpha * (Qt @ theta - ct) + beta * (theta - previous), theta
        rows.append(theta.clone())
    return out(torch.stack(rows))


def momentum_form2(Q, c, theta0, alpha, beta, steps):
    """torch.optim.SGD on f in float32: form II, as torch computes it."""
    theta = f32(theta0, grad=True)
    optimizer = torch.optim.SGD([theta], lr=alpha, momentum=beta)
    Qt, ct = f32(Q), f32(c)
    rows = [theta.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        (0.5 * theta @ Qt @ theta - ct @ theta).backward()
        optimizer.step()
        rows.append(theta.detach().clone())
    return out(torch.stack(rows))


# ---------------------------------------------------------------- hw6


def linear_net_output_variance(widths):
    v = np.float32(1.0)
    for n_in in widths[:-1]:
        v = v / np.float32(3.0) + np.float32(1.0) / (np.float32(3.0) * np.float32(n_in))
    return v


def resmlp_grads(A_list, b_list, x, activation):
    As, bs = [f32(A, grad=True) for A in A_list], [f32(b, grad=True) for b in b_list]
    y = f32(x)
    for k in range(len(As) - 1):
        z = ACTIVATIONS[activation](As[k] @ y + bs[k])
        y = z if k == 0 else z + y
    (As[-1] @ y + bs[-1]).sum().backward()
    return [out(A.grad) for A in As], [out(b.grad) for b in bs]


# ---------------------------------------------------------------- hw7


def nu_beta(x, beta):
    return np.float32(out(torch.logsumexp(beta * f32(x), dim=0) / beta))


def grad_nu_beta(x, beta):
    return out(torch.softmax(beta * f32(x), dim=0))


def conv1d_matvec(w, v):
    return out(F.conv1d(f32(v)[None, None], f32(w)[None, None])[0, 0])


def conv1d_vecmat(u, w):
    return out(F.conv_transpose1d(f32(u)[None, None], f32(w)[None, None])[0, 0])


def conv1d_net_grads(x, w_list, b_list, activation):
    ws = [f32(w, grad=True) for w in w_list]
    bs = [torch.tensor(float(b), dtype=F32, requires_grad=True) for b in b_list]
    y = f32(x)
    for index, (w, b) in enumerate(zip(ws, bs, strict=True)):
        z = F.conv1d(y[None, None], w[None, None])[0, 0] + b
        y = z if index == len(ws) - 1 else ACTIVATIONS[activation](z)
    y.sum().backward()
    return [out(w.grad) for w in ws], [np.float32(b.grad.item()) for b in bs]


TWINS: dict[str, Callable[..., Any]] = {
    name: function for name, function in globals().items()
    if callable(function) and getattr(function, "__module__", "") == __name__
    and name not in {"f32", "out", "_forward", "problems", "load_assignment", "oracle_cases"}
}
EXACT = {"output_shape", "count_params", "count_ops", "receptive_field", "maxpool_commutes", "dropout_commutes"}

PROBLEMS = [(a, p) for a in ASSIGNMENTS for p in load_assignment(a).functions]


def test_every_problem_has_a_twin_or_is_exact() -> None:
    for _, problem in PROBLEMS:
        assert (problem.id in TWINS) != (problem.id in EXACT), problem.id


@pytest.mark.parametrize(("assignment", "problem"), PROBLEMS, ids=lambda x: x if isinstance(x, str) else x.id)
def test_float32_twin_gets_full_marks(assignment: str, problem: FunctionProblem) -> None:
    twin = TWINS.get(problem.id, problem.reference)
    for case in oracle_cases(assignment, problem, 30):
        expected = problem.reference(*copy.deepcopy(case.args))
        got = twin(*copy.deepcopy(case.args))
        verdict = problem.check(got, expected, case)
        assert verdict.passed, f"{problem.id} {case.label}: {verdict.message} (inputs {case.args})"
