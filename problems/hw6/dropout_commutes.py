"""hw6: for which activations does (inverted) dropout commute with the activation in training mode?"""

from __future__ import annotations

from typing import Any

from grader.checks import ExactWithReasons
from grader.spec import Case, FunctionProblem, Mistake

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "identity", "elu", "softplus")

STATEMENT = r"""
A linear layer produces $h = A x + b \in \mathbb{R}^m$. In **training mode**,
dropout with probability $0 < p < 1$ draws one mask
$\delta \in \{0, 1\}^m$ ($\delta_i = 0$ with probability $p$, independently) and,
as `torch.nn.Dropout` does (*inverted* dropout), scales the surviving units by
$\frac{1}{1-p}$:

$$\operatorname{drop}(h)_i = \frac{\delta_i}{1-p}\, h_i .$$

Compare the two orders, **with the same mask** $\delta$:

$$\text{(a) linear} \to \text{dropout} \to \sigma:\quad \sigma\big(\operatorname{drop}(h)\big)
\qquad\qquad
\text{(b) linear} \to \sigma \to \text{dropout}:\quad \operatorname{drop}\big(\sigma(h)\big),$$

where the activation $\sigma$ is applied elementwise.

Write `dropout_commutes(activation)` returning `True` if (a) and (b) are equal
for **every** input $x$, every weight $A$, $b$, every mask and every
$p \in (0, 1)$, and `False` otherwise. `activation` is one of the names

| name | $\sigma(z)$ |
|---|---|
| `"relu"` | $\max(z, 0)$ |
| `"leaky_relu"` | $z$ for $z > 0$, $0.01\,z$ otherwise |
| `"sigmoid"` | $1/(1 + e^{-z})$ |
| `"tanh"` | $\tanh z$ |
| `"identity"` | $z$ |
| `"elu"` | $z$ for $z > 0$, $e^{z} - 1$ otherwise ($\alpha = 1$) |
| `"softplus"` | $\log(1 + e^{z})$ |

Return a Python `bool` (`True`/`False`), not `0`/`1` or a string. Each
activation is graded as its own case.

Hint: look at one unit, first when it is dropped ($\delta_i = 0$), then when it
is kept ($\delta_i = 1$).
"""

# Why each activation does or does not commute: shown with every wrong answer for that activation.
REASONS = {
    "relu": "relu(0) = 0 and relu(c z) = c relu(z) for every c > 0 (positively homogeneous), so a dropped "
            "unit gives 0 in both orders and a kept unit gives relu(h/(1-p)) = relu(h)/(1-p)",
    "leaky_relu": "leaky_relu(0) = 0 and leaky_relu(c z) = c leaky_relu(z) for every c > 0 (both pieces are "
                  "linear through 0), so both orders agree for dropped and for kept units",
    "identity": "identity(0) = 0 and identity(c z) = c z: dropout is a linear map, and it commutes with "
                "the identity",
    "sigmoid": "sigmoid(0) = 1/2, not 0: a dropped unit gives sigmoid(0) = 1/2 when dropout comes first "
               "but 0 when dropout comes last",
    "tanh": "tanh(0) = 0, but tanh(c z) != c tanh(z) for c = 1/(1-p) > 1: with p = 1/2, z = 1, "
            "tanh(2) = 0.964 but 2 tanh(1) = 1.523, so kept units differ",
    "elu": "elu(0) = 0 and elu is linear for z > 0, but for z < 0, elu(c z) = exp(c z) - 1 != c (exp(z) - 1): "
           "with p = 1/2, z = -1, elu(-2) = -0.865 but 2 elu(-1) = -1.264, so kept negative units differ",
    "softplus": "softplus(0) = log 2, not 0: a dropped unit gives log 2 when dropout comes first but 0 "
                "when dropout comes last (and softplus(c z) != c softplus(z) for kept units)",
}


def reference(activation: str) -> bool:
    # The orders agree iff sigma(0) = 0 (dropped units) and sigma(c z) = c sigma(z) for c = 1/(1-p),
    # for every p in (0, 1), i.e. every c > 1 (kept units): sigma is positively homogeneous.
    return activation in ("relu", "leaky_relu", "identity")


# ------------------------------------------------------------------ known mistakes


def zero_is_enough(activation: str) -> bool:
    """Only checked the dropped units: sigma(0) = 0."""
    return activation in ("relu", "leaky_relu", "identity", "tanh", "elu")


def seed_answer(activation: str) -> bool:
    """The seed solution's list: ReLU and leaky ReLU, identity forgotten."""
    return activation in ("relu", "leaky_relu")


def monotone_is_enough(activation: str) -> bool:
    """Every listed activation is nondecreasing (the answer of the max-pooling question in hw4)."""
    return True


def linear_only(activation: str) -> bool:
    """Only a linear sigma commutes with the scaling: misses that c > 0 is all positive homogeneity needs."""
    return activation == "identity"




def generate(rng: Any, index: int) -> Case:
    name = ACTIVATIONS[index % len(ACTIVATIONS)]
    return Case((name,), name)


PROBLEM = FunctionProblem(
    id="dropout_commutes",
    title="Does dropout commute with the activation?",
    statement=STATEMENT,
    function="dropout_commutes",
    signature="dropout_commutes(activation: str) -> bool",
    returns="bool",
    reference=reference,
    examples=tuple(Case((name,), name) for name in ACTIVATIONS),
    generate=generate,
    check=ExactWithReasons(
        REASONS, hint="the orders agree exactly when sigma(0) = 0 and sigma(c z) = c sigma(z) for every c > 1"),
    public_count=0,
    hidden_count=0,
    # A yes/no verdict per activation gives the answer away, so a student's
    # self-check skips this problem; it is graded with the submission.
    self_check=False,
    mistakes=(
        # Order matters: a wrong bool for one activation is matched by the first mistake giving it.
        Mistake("sigma(0) = 0 only takes care of the dropped units: a kept unit is scaled by c = 1/(1-p) > 1, "
                "so sigma must also satisfy sigma(c z) = c sigma(z); tanh and ELU do not", zero_is_enough),
        Mistake("the identity commutes with dropout too (the seed solution missed it): identity(0) = 0 and "
                "identity(c z) = c identity(z); every positively homogeneous sigma commutes", seed_answer),
        Mistake("being nondecreasing is what max pooling needs, not dropout: dropout needs sigma(0) = 0 and "
                "sigma(c z) = c sigma(z) for c = 1/(1-p); sigmoid(0) = 1/2 and softplus(0) = log 2",
                monotone_is_enough),
        Mistake("sigma need not be linear: the scale 1/(1-p) is positive, and relu(c z) = c relu(z) "
                "(also for leaky ReLU) whenever c > 0", linear_only),
    ),
)
