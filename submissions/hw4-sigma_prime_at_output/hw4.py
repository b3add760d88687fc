"""HW4 - convolution as a tool, MLP Jacobians.

(sample: sigma' evaluated at the layer output y_l instead of z_l)
"""
import numpy as np


# ---------------- Problem 1: finite differences
def finite_difference_filters():
    F1 = np.array([[0, 0, 0],
                   [0, -1, 0],
                   [0, 1, 0]], dtype=float)   # X[i+1, j] - X[i, j]
    F2 = np.array([[0, 0, 0],
                   [0, -1, 1],
                   [0, 0, 0]], dtype=float)   # X[i, j+1] - X[i, j]
    return np.stack([F1, F2])


# ---------------- Problem 2: average pooling
def avgpool_as_conv(channels, k):
    w = np.zeros((channels, channels, k, k))
    for c in range(channels):
        w[c, c, :, :] = 1.0 / (k * k)
    return w, None, k, 0


# ---------------- Problem 3: greyscale
def greyscale_filter():
    w = np.zeros((1, 3, 1, 1))
    w[0, :, 0, 0] = [0.299, 0.587, 0.114]
    return w


# ---------------- Problem 4: max pooling and activations
def maxpool_commutes(activation):
    # sigma(max) = max(sigma) for every window iff sigma is nondecreasing
    nondecreasing = {"relu", "leaky_relu", "sigmoid", "tanh", "identity", "step"}
    return activation in nondecreasing


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
            jacs.append(np.diag(dact(activation, ys[l + 1])) @ A_list[l])
    return jacs


def mlp_param_grads(A_list, b_list, x, activation):
    zs, ys = forward(A_list, b_list, x, activation)
    L = len(A_list)
    dA = [None] * L
    db = [None] * L
    g = np.ones(1)            # dy_L / dy_L
    for l in range(L - 1, -1, -1):
        if l < L - 1:
            g = g * dact(activation, ys[l + 1])
        dA[l] = np.outer(g, ys[l])
        db[l] = g.copy()
        g = A_list[l].T @ g
    return dA, db
