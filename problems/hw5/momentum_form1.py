"""hw5: heavy-ball momentum, form I (theta^{k+1} = theta^k - alpha grad + beta (theta^k - theta^{k-1})),
on the quadratic f(theta) = 1/2 theta^T Q theta - c^T theta. Shared by momentum_form2: the case
generator and the trajectory check."""

from __future__ import annotations

import numpy as np

from grader.spec import Case, FunctionProblem, Mistake

from .trajectory import CHECK

QUADRATIC = r"""
The objective is the quadratic

$$f(\theta) = \tfrac12\,\theta^\top Q\,\theta - c^\top \theta, \qquad \nabla f(\theta) = Q\theta - c,$$

with $Q$ a symmetric positive definite $d \times d$ array and $c, \theta^0$ **1-D arrays** of length $d$.
Return the iterates as one float array of shape `(steps + 1, d)`: **row 0 is $\theta^0$** and row $k$
is $\theta^k$, for $k = 0, \dots,$ `steps` (so `steps = 0` gives just $\theta^0$, shape `(1, d)`, and
$d = 1$ still gives a 2-D array).

The two forms of momentum in this assignment, form I

$$\theta^{k+1} = \theta^k - \alpha\nabla f(\theta^k) + \beta(\theta^k - \theta^{k-1}), \qquad \theta^{-1} = \theta^0,$$

and form II

$$v^{k+1} = \nabla f(\theta^k) + \beta v^k, \qquad \theta^{k+1} = \theta^k - \alpha v^{k+1}, \qquad v^0 = 0,$$

produce **the same trajectory** (this is what the homework proves by induction), and it is the one
`torch.optim.SGD(params, lr=alpha, momentum=beta)` follows. With $\beta = 0$ both are plain gradient
descent.
"""

STATEMENT = r"""
Write `momentum_form1(Q, c, theta0, alpha, beta, steps)` running **form I** of the momentum
method (heavy ball) for `steps` steps:

$$\theta^{k+1} = \theta^k - \alpha\nabla f(\theta^k) + \beta(\theta^k - \theta^{k-1}), \qquad k = 0, 1, \dots,
\qquad \theta^{-1} = \theta^0,$$

so the first step has no momentum term: $\theta^1 = \theta^0 - \alpha\nabla f(\theta^0)$.
""" + QUADRATIC + r"""
Example: $Q = \mathrm{diag}(2, 1)$, $c = (2, 1)$, $\theta^0 = (0, 0)$, $\alpha = 0.5$, $\beta = 0.5$,
`steps = 2` gives the rows $(0, 0)$, $(1, 0.5)$, $(1.5, 1)$.
"""

def gradient(Q: np.ndarray, c: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return Q @ theta - c


def _form1(Q, c, theta0, alpha, beta, steps, *, momentum_sign: float = 1.0, start_at_zero: bool = False,
           c_sign: float = -1.0, half_q: bool = False, extra: int = 0, keep_theta0: bool = True):
    Q, c = np.asarray(Q, dtype=np.float64), np.asarray(c, dtype=np.float64)
    theta = np.asarray(theta0, dtype=np.float64).reshape(-1).copy()
    previous = np.zeros_like(theta) if start_at_zero else theta.copy()
    rows = [theta.copy()]
    for _ in range(int(steps) + extra):
        grad = (0.5 if half_q else 1.0) * (Q @ theta) + c_sign * c
        new = theta - alpha * grad + momentum_sign * beta * (theta - previous)
        previous, theta = theta, new
        rows.append(theta.copy())
    out = np.array(rows, dtype=np.float64).reshape(len(rows), -1)
    return out if keep_theta0 else out[1:]


def reference(Q: np.ndarray, c: np.ndarray, theta0: np.ndarray, alpha: float, beta: float, steps: int) -> np.ndarray:
    return _form1(Q, c, theta0, alpha, beta, steps)


def moving_average(Q: np.ndarray, c: np.ndarray, theta0: np.ndarray, alpha: float, beta: float,
                   steps: int) -> np.ndarray:
    """The "exponentially weighted" momentum v = beta v + (1 - beta) grad, theta -= alpha v (v^0 = 0)."""
    Q, c = np.asarray(Q, dtype=np.float64), np.asarray(c, dtype=np.float64)
    theta = np.asarray(theta0, dtype=np.float64).reshape(-1).copy()
    v = np.zeros_like(theta)
    rows = [theta.copy()]
    for _ in range(int(steps)):
        v = beta * v + (1.0 - beta) * gradient(Q, c, theta)
        theta = theta - alpha * v
        rows.append(theta.copy())
    return np.array(rows, dtype=np.float64).reshape(len(rows), -1)


MOVING_AVERAGE = ("this is the moving-average (\"exponentially weighted\") form of momentum, "
                  "v = beta v + (1 - beta) grad f, which damps each gradient by (1 - beta); this assignment's "
                  "momentum adds the gradient undamped (form I: theta^(k+1) = theta^k - alpha grad f(theta^k) "
                  "+ beta (theta^k - theta^(k-1)); form II: v^(k+1) = grad f(theta^k) + beta v^k)")


def _spd(rng: np.random.Generator, d: int, low: float, high: float) -> np.ndarray:
    eigs = rng.uniform(low, high, d)
    eigs[0] = high  # pin the largest eigenvalue so the step size is known to be stable
    u, _ = np.linalg.qr(rng.normal(size=(d, d)))
    q = np.round((u * eigs) @ u.T, 3)
    return (q + q.T) / 2  # exactly symmetric; rounding moves eigenvalues by < d * 1e-3


def generate(rng: np.random.Generator, index: int) -> Case:
    """Stable, bounded trajectories: alpha * lambda_max in [0.2, 1.5] * (1 + beta) < 2 (1 + beta)."""
    kind = index % 5
    d = 1 if kind == 3 else int(rng.integers(2, 5))
    beta = {1: 0.0, 4: 0.9}.get(kind, float(np.round(rng.uniform(0.1, 0.9), 2)))
    low, high = (0.1, 4.0) if kind == 4 else (0.5, float(np.round(rng.uniform(1.0, 4.0), 1)))
    Q = _spd(rng, d, low, high)
    lam_max = float(np.linalg.eigvalsh(Q).max())
    alpha = float(np.round(rng.uniform(0.2, 1.5) * (1 + beta) / lam_max, 4))
    c = np.round(rng.normal(0.0, 2.0, d), 3)
    theta0 = np.round(rng.normal(0.0, 2.0, d), 3)
    steps = {2: 0, 4: 30}.get(kind, int(rng.integers(1, 21)))
    label = {0: "random", 1: "beta = 0 (gradient descent)", 2: "steps = 0", 3: "d = 1",
             4: "beta = 0.9, ill-conditioned Q, 30 steps"}[kind]
    return Case((Q, c, theta0, alpha, beta, steps), label)


def examples() -> tuple[Case, ...]:
    return (
        Case((np.diag([2.0, 1.0]), np.array([2.0, 1.0]), np.array([0.0, 0.0]), 0.5, 0.5, 2),
             "the example of the statement"),
        Case((np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0]), np.array([1.0, 2.0]), 0.4, 0.8, 10),
             "2-D, beta = 0.8, 10 steps"),
    )


NO_THETA0 = "row 0 must be theta0: return steps + 1 rows, theta^0, theta^1, ..., theta^steps"
C_SIGN = "the gradient of f(theta) = 1/2 theta^T Q theta - c^T theta is Q theta - c, not Q theta + c"

PROBLEM = FunctionProblem(
    id="momentum_form1",
    title="Momentum, form I (heavy ball)",
    statement=STATEMENT,
    function="momentum_form1",
    signature="momentum_form1(Q: np.ndarray, c: np.ndarray, theta0: np.ndarray, alpha: float, beta: float, "
              "steps: int) -> np.ndarray",
    returns="array of shape (steps + 1, d): theta^0, ..., theta^steps",
    reference=reference,
    examples=examples(),
    generate=generate,
    check=CHECK,
    public_count=5,
    hidden_count=10,
    mistakes=(
        Mistake(NO_THETA0, lambda *a: _form1(*a, keep_theta0=False)),
        Mistake("one step too many: steps = n means n updates, giving n + 1 rows including theta0",
                lambda *a: _form1(*a, extra=1)),
        Mistake("the momentum term has the wrong sign: it is + beta (theta^k - theta^(k-1)), "
                "continuing in the direction of the last step", lambda *a: _form1(*a, momentum_sign=-1.0)),
        Mistake("theta^(-1) = theta^0, so the first step has no momentum term; you started from theta^(-1) = 0",
                lambda *a: _form1(*a, start_at_zero=True)),
        Mistake(MOVING_AVERAGE, moving_average),
        Mistake(C_SIGN, lambda *a: _form1(*a, c_sign=1.0)),
        Mistake("the gradient of 1/2 theta^T Q theta is Q theta (Q symmetric), not 1/2 Q theta",
                lambda *a: _form1(*a, half_q=True)),
    ),
)
