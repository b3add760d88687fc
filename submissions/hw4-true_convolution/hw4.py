"""HW4 - convolution as a tool, MLP Jacobians.

(sample: filters written for true convolution, BGR weights, 'sigma(0) = 0' for max pooling)
"""
import numpy as np


# ---------------- Problem 1: finite differences
def finite_difference_filters():
    # convolution flips the kernel, so the +1 goes above / to the left
    F1 = np.array([[0, 1, 0],
                   [0, -1, 0],
                   [0, 0, 0]], dtype=float)
    F2 = np.array([[0, 0, 0],
                   [1, -1, 0],
                   [0, 0, 0]], dtype=float)
    return np.stack([F1, F2]).reshape(2, 1, 3, 3)   # (out, in, kh, kw) like nn.Conv2d


# ---------------- Problem 2: average pooling
def avgpool_as_conv(channels, k):
    w = np.zeros((channels, channels, k, k))
    for c in range(channels):
        w[c, c, :, :] = 1.0 / (k * k)
    return w, None, k, 0


# ---------------- Problem 3: greyscale
def greyscale_filter():
    w = np.zeros((1, 3, 1, 1))
    w[0, :, 0, 0] = [0.114, 0.587, 0.299]   # B, G, R
    return w


# ---------------- Problem 4: max pooling and activations
def maxpool_commutes(activation):
    # sigma(max) = max(sigma) for every window iff sigma is nondecreasing
    # works when sigma(0) = 0
    return activation in ["relu", "leaky_relu", "tanh", "identity", "neg", "square", "abs"]


# ---------------- Problem 6: MLP
def act(name, z):
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    return z


def dact(name, z):
    if name == "relu":
        return (z > 0).astype(float)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, 0.01)
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    return np.ones_like(z)


def forward(A_list, b_list, x, activation):
    ys = [x]
    zs = []
    L = len(A_list)
    for l in range(L):
        z = A_list[l] @ ys[-1] + b_list[l]
        zs.append(z)
        if l == L - 1:
            ys.append(z)
        else:
            ys.append(act(activation, z))
    return zs, ys


def mlp_layer_jacobians(A_list, b_list, x, activation):
    zs, ys = forward(A_list, b_list, x, activation)
    L = len(A_list)
    jacs = []
    for l in range(L):
        if l == L - 1:
            jacs.append(A_list[l].copy())
        else:
            jacs.append(np.diag(dact(activation, zs[l])) @ A_list[l])
    return jacs


def mlp_param_grads(A_list, b_list, x, activation):
    zs, ys = forward(A_list, b_list, x, activation)
    L = len(A_list)
    dA = [None] * L
    db = [None] * L
    g = np.ones(1)            # dy_L / dy_L
    for l in range(L - 1, -1, -1):
        if l < L - 1:
            g = g * dact(activation, zs[l])
        dA[l] = np.outer(g, ys[l])
        db[l] = g.copy()
        g = A_list[l].T @ g
    return dA, db
