"""MathDNN HW6 -- my solutions."""

import numpy as np


# Problem 1: dropout and activations
def dropout_commutes(activation):
    # dropped unit: need sigma(0) = 0
    # kept unit: need sigma(h / (1-p)) = sigma(h) / (1-p) for all p, i.e. positively homogeneous
    homogeneous = {"relu", "leaky_relu", "identity"}
    return activation in homogeneous


# Problem 2: variance of the output of a linear network with default nn.Linear init
def linear_net_output_variance(widths):
    var = 1.0  # input has unit variance
    for n_in in widths[:-1]:
        # Var(a) = Var(b) = (1/sqrt(n_in))^2 / 3
        var = n_in * (1.0 / (3 * n_in)) * var + 1.0 / (3 * n_in)
    return float(var)


# Problem 3: residual MLP
def _act(name, z):
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    return z


def _dact(name, z):
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


def resmlp_grads(A_list, b_list, x, activation):
    L = len(A_list)
    ys = [x]
    zs = []
    for l in range(L - 1):
        z = A_list[l] @ ys[-1] + b_list[l]
        y = _act(activation, z)
        if l > 0:
            y = y + ys[-1]
        zs.append(z)
        ys.append(y)

    dA_list = [None] * L
    db_list = [None] * L
    dA_list[L - 1] = ys[-1].reshape(1, -1)
    db_list[L - 1] = np.ones(1)
    g = A_list[L - 1][0]
    for l in range(L - 2, -1, -1):
        delta = g * _dact(activation, zs[l])
        dA_list[l] = np.outer(delta, ys[l])
        db_list[l] = delta
        if l > 0:
            g = A_list[l].T @ delta + g
        else:
            g = A_list[l].T @ delta
    return dA_list, db_list


# Problem 4
ANSWERS = {
    "stm_one_path_params": (256 * 128 + 128) + (128 * 128 * 9 + 128) + (128 * 256 + 256),
    "stm_32_paths_params": 32 * ((256 * 4 + 4) + (4 * 4 * 9 + 4) + (4 * 256 + 256)),
}


if __name__ == "__main__":
    print(linear_net_output_variance([1, 1]))
