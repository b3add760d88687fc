"""hw5: momentum, form II (velocity form, as torch.optim.SGD computes it), on the same quadratic."""

from __future__ import annotations

import numpy as np

from grader.spec import FunctionProblem, Mistake

from .momentum_form1 import C_SIGN, MOVING_AVERAGE, NO_THETA0, QUADRATIC, examples, generate
from .trajectory import CHECK

STATEMENT = r"""
Write `momentum_form2(Q, c, theta0, alpha, beta, steps)` running **form II** of the momentum
method for `steps` steps, with a velocity $v$:

$$v^{k+1} = \nabla f(\theta^k) + \beta v^k, \qquad \theta^{k+1} = \theta^k - \alpha v^{k+1},
\qquad k = 0, 1, \dots, \qquad v^0 = 0.$$

Update $v$ first, then $\theta$ with the **new** velocity $v^{k+1}$; return the iterates $\theta^k$
(not the velocities).
""" + QUADRATIC + r"""
Example: $Q = \mathrm{diag}(2, 1)$, $c = (2, 1)$, $\theta^0 = (0, 0)$, $\alpha = 0.5$, $\beta = 0.5$,
`steps = 2` gives the rows $(0, 0)$, $(1, 0.5)$, $(1.5, 1)$, as in form I.
"""


def _form2(Q, c, theta0, alpha, beta, steps, *, momentum_sign: float = 1.0, dampening: bool = False,
           stale: bool = False, c_sign: float = -1.0, keep_theta0: bool = True):
    Q, c = np.asarray(Q, dtype=np.float64), np.asarray(c, dtype=np.float64)
    theta = np.asarray(theta0, dtype=np.float64).reshape(-1).copy()
    v = np.zeros_like(theta)
    rows = [theta.copy()]
    for _ in range(int(steps)):
        grad = Q @ theta + c_sign * c
        new_v = (1.0 - beta if dampening else 1.0) * grad + momentum_sign * beta * v
        theta = theta - alpha * (v if stale else new_v)
        v = new_v
        rows.append(theta.copy())
    out = np.array(rows, dtype=np.float64).reshape(len(rows), -1)
    return out if keep_theta0 else out[1:]


def reference(Q: np.ndarray, c: np.ndarray, theta0: np.ndarray, alpha: float, beta: float, steps: int) -> np.ndarray:
    return _form2(Q, c, theta0, alpha, beta, steps)


def scaled_velocity(Q: np.ndarray, c: np.ndarray, theta0: np.ndarray, alpha: float, beta: float,
                    steps: int) -> np.ndarray:
    """u^{k+1} = beta u^k + alpha grad, theta -= u: u = alpha v, so this is the SAME trajectory.

    Not a mistake (the oracle test checks that it agrees with the reference); kept to document why
    this common way of writing momentum is accepted.
    """
    Q, c = np.asarray(Q, dtype=np.float64), np.asarray(c, dtype=np.float64)
    theta = np.asarray(theta0, dtype=np.float64).reshape(-1).copy()
    u = np.zeros_like(theta)
    rows = [theta.copy()]
    for _ in range(int(steps)):
        u = beta * u + alpha * (Q @ theta - c)
        theta = theta - u
        rows.append(theta.copy())
    return np.array(rows).reshape(len(rows), -1)


PROBLEM = FunctionProblem(
    id="momentum_form2",
    title="Momentum, form II (velocity)",
    statement=STATEMENT,
    function="momentum_form2",
    signature="momentum_form2(Q: np.ndarray, c: np.ndarray, theta0: np.ndarray, alpha: float, beta: float, "
              "steps: int) -> np.ndarray",
    returns="array of shape (steps + 1, d): theta^0, ..., theta^steps",
    reference=reference,
    examples=examples(),
    generate=generate,
    check=CHECK,
    public_count=5,
    hidden_count=10,
    mistakes=(
        Mistake(NO_THETA0, lambda *a: _form2(*a, keep_theta0=False)),
        Mistake("the velocity update has the wrong sign: v^(k+1) = grad f(theta^k) + beta v^k",
                lambda *a: _form2(*a, momentum_sign=-1.0)),
        Mistake(MOVING_AVERAGE, lambda *a: _form2(*a, dampening=True)),
        Mistake("theta was updated with the old velocity v^k: update v first, then "
                "theta^(k+1) = theta^k - alpha v^(k+1) (with v^0 = 0 your first step does not move)",
                lambda *a: _form2(*a, stale=True)),
        Mistake(C_SIGN, lambda *a: _form2(*a, c_sign=1.0)),
    ),
)
