"""Activations passed by name, with derivatives, in numpy. Leaky ReLU has slope 0.01.

Derivatives at the kinks follow PyTorch's autograd, so the references agree
with the oracles everywhere: relu'(0) = 0, leaky_relu'(0) = 0.01 (torch's
leaky_relu takes the negative slope for x <= 0), step and abs as in torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray
LEAKY_SLOPE = 0.01


def _sigmoid(z: Array) -> Array:
    # split by sign so that exp never overflows
    out = np.empty_like(z, dtype=np.float64)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


FUNCTIONS: dict[str, Callable[[Array], Array]] = {
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "identity": lambda z: np.asarray(z, dtype=np.float64).copy(),
}

DERIVATIVES: dict[str, Callable[[Array], Array]] = {
    "relu": lambda z: (z > 0).astype(np.float64),
    "leaky_relu": lambda z: np.where(z > 0, 1.0, LEAKY_SLOPE),
    "sigmoid": lambda z: _sigmoid(z) * (1.0 - _sigmoid(z)),
    "tanh": lambda z: 1.0 - np.tanh(z) ** 2,
    "identity": lambda z: np.ones_like(z, dtype=np.float64),
}

NAMES = tuple(FUNCTIONS)


def apply(name: str, z: Array) -> Array:
    return FUNCTIONS[name](np.asarray(z, dtype=np.float64))


def derivative(name: str, z: Array) -> Array:
    return DERIVATIVES[name](np.asarray(z, dtype=np.float64))
