"""hw4: for which activations does max pooling commute with the activation?"""

from __future__ import annotations

from typing import Any

from grader.checks import ExactWithReasons
from grader.spec import Case, FunctionProblem, Mistake

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "identity", "neg", "square", "abs", "cos", "step")

STATEMENT = r"""
Max pooling $\rho$ replaces each window of an image by its largest entry (any window size,
any stride; if there is padding, it pads with $-\infty$). An activation $\sigma$ acts
elementwise. Do the two orders agree,

$$\sigma\big(\rho(X)\big) = \rho\big(\sigma(X)\big) \qquad \text{for every real input } X\text{?}$$

Write `maxpool_commutes(activation)` returning `True` if they agree for **every** $X$
(and every window size and stride), `False` if there is some $X$ where they differ.
`activation` is one of the names

| name | $\sigma(x)$ |
|---|---|
| `"relu"` | $\max(x, 0)$ |
| `"leaky_relu"` | $x$ for $x > 0$, $0.01\,x$ otherwise |
| `"sigmoid"` | $1/(1 + e^{-x})$ |
| `"tanh"` | $\tanh x$ |
| `"identity"` | $x$ |
| `"neg"` | $-x$ |
| `"square"` | $x^2$ |
| `"abs"` | $\lvert x \rvert$ |
| `"cos"` | $\cos x$ |
| `"step"` | $1$ if $x \ge 0$, else $0$ |

Return a Python `bool` (`True`/`False`), not `0`/`1` or a string. Each activation is
graded as its own case.

Hint: look at one window. Which property of $\sigma$ guarantees that $\sigma$ of the
largest entry is the largest of the $\sigma$ values?
"""

# Why each activation does or does not commute: shown with every wrong answer for that activation.
REASONS = {
    "relu": "relu is nondecreasing (flat for x < 0, then increasing): x_i <= max x gives relu(x_i) <= relu(max x), "
            "so relu(max x) is the largest relu(x_i)",
    "leaky_relu": "leaky_relu is increasing (slope 0.01, then 1), so it keeps the order of the entries and "
                  "leaky_relu(max x) is the largest value",
    "sigmoid": "sigmoid is increasing, so sigmoid(max x) = max sigmoid(x_i); that it is bounded or that "
               "sigmoid(0) = 1/2 does not matter",
    "tanh": "tanh is increasing, so tanh(max x) = max tanh(x_i); saturation does not matter",
    "identity": "the identity changes nothing, so both orders give max x",
    "neg": "neg is decreasing: it turns the max into the min. For the window (1, 2): neg(max) = -2 but "
           "max(neg 1, neg 2) = -1",
    "square": "square decreases for x < 0: for the window (-3, 1), square(max) = 1 but max(9, 1) = 9",
    "abs": "abs decreases for x < 0: for the window (-3, 1), abs(max) = 1 but max(3, 1) = 3",
    "cos": "cos is not monotone: for the window (0, pi), cos(max) = cos(pi) = -1 but max(cos 0, cos pi) = 1",
    "step": "step is nondecreasing (it jumps up, never down): x_i <= max x gives step(x_i) <= step(max x), so "
            "both orders agree; continuity is not needed",
}


def reference(activation: str) -> bool:
    # The orders agree for every X iff sigma is nondecreasing: if sigma(a) > sigma(b) for some a < b,
    # the window (a, b) is a counterexample; if sigma is nondecreasing, sigma(max x) >= sigma(x_i).
    return activation in ("relu", "leaky_relu", "sigmoid", "tanh", "identity", "step")


# ------------------------------------------------------------------ known mistakes
# A wrong bool for one activation is matched by the first mistake giving it, so each mistake
# below owns a distinct set of (activation, wrong answer) pairs and its message is written
# to be right on every case it can be shown on.


def continuous_and_monotone(activation: str) -> bool:
    """Required continuity as well: step excluded."""
    return activation in ("relu", "leaky_relu", "sigmoid", "tanh", "identity")


def strictly_increasing(activation: str) -> bool:
    """Required sigma to be strictly increasing: relu and step excluded."""
    return activation in ("leaky_relu", "sigmoid", "tanh", "identity")


def unbounded_increasing(activation: str) -> bool:
    """Thought saturating (bounded) activations break it: sigmoid, tanh and step excluded."""
    return activation in ("relu", "leaky_relu", "identity")


def zero_at_zero(activation: str) -> bool:
    """Answered sigma(0) = 0 instead of monotone."""
    return activation in ("relu", "leaky_relu", "tanh", "identity", "neg", "square", "abs")


def continuous(activation: str) -> bool:
    """Answered True for every continuous activation."""
    return activation != "step"




def generate(rng: Any, index: int) -> Case:
    name = ACTIVATIONS[index % len(ACTIVATIONS)]
    return Case((name,), name)


PROBLEM = FunctionProblem(
    id="maxpool_commutes",
    title="Does max pooling commute with the activation?",
    statement=STATEMENT,
    function="maxpool_commutes",
    signature="maxpool_commutes(activation: str) -> bool",
    returns="bool",
    reference=reference,
    examples=tuple(Case((name,), name) for name in ACTIVATIONS),
    generate=generate,
    check=ExactWithReasons(REASONS, hint="max pooling commutes with sigma exactly when sigma is nondecreasing"),
    public_count=0,
    hidden_count=0,
    # A yes/no verdict per activation gives the answer away, so a student's
    # self-check skips this problem; it is graded with the submission.
    self_check=False,
    mistakes=(
        Mistake("step is nondecreasing (it only jumps up), so step(max x) is still the largest step(x_i): "
                "a jump does not break it, only monotonicity matters", continuous_and_monotone),
        Mistake("sigma need not be strictly increasing: relu is nondecreasing, and where it is flat equal values "
                "stay equal, so relu(max x) is still the largest relu(x_i); nondecreasing is enough",
                strictly_increasing),
        Mistake("sigmoid and tanh are increasing, so sigma(max x) = max sigma(x_i): neither saturation "
                "(boundedness) nor the value sigma(0) matters, only monotonicity", unbounded_increasing),
        Mistake("sigma(0) = 0 (or continuity) is not the condition: sigma must be nondecreasing. neg, square and "
                "abs decrease somewhere, and a window (a, b) with a < b and sigma(a) > sigma(b) gives "
                "sigma(max) = sigma(b) < sigma(a) = max sigma", zero_at_zero),
        Mistake("continuity is not enough: cos is continuous but decreases on [0, pi], so for the window "
                "(0, pi) cos(max) = -1 while max(cos 0, cos pi) = 1; sigma must be nondecreasing", continuous),
    ),
)
