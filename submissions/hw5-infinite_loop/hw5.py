# HW5
import numpy as np


def sigmoid(z):
    # stable for large |z|
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


# ---------------------------------------------------------------- problem 1

def mlp_backprop(A_list, b_list, x, y):
    L = len(A_list)
    # forward pass, keep everything
    ys = [x]
    for l in range(L):
        z = A_list[l] @ ys[-1] + b_list[l]
        if l < L - 1:
            ys.append(sigmoid(z))
        else:
            ys.append(z)
    dy = ys[-1] - y  # dL/dy_L, shape (1,)
    dA_list = [None] * L
    db_list = [None] * L
    delta = dy
    for l in range(L - 1, -1, -1):
        dA_list[l] = np.outer(delta, ys[l])
        db_list[l] = delta
        if l > 0:
            s = ys[l]
            delta = (A_list[l].T @ delta) * s * (1 - s)
    return dA_list, db_list


# ---------------------------------------------------------------- problem 3

def momentum_form1(Q, c, theta0, alpha, beta, steps):
    thetas = [theta0.copy()]
    prev = theta0.copy()
    theta = theta0.copy()
    k = 0
    while k < steps:
        g = Q @ theta - c
        new = theta - alpha * g + beta * (theta - prev)
        prev = theta
        theta = new
        thetas.append(theta)
    return np.array(thetas)


def momentum_form2(Q, c, theta0, alpha, beta, steps):
    theta = theta0.copy()
    v = np.zeros_like(theta0)
    out = np.zeros((steps + 1, len(theta0)))
    out[0] = theta
    for k in range(steps):
        v = (Q @ theta - c) + beta * v
        theta = theta - alpha * v
        out[k + 1] = theta
    return out


# ---------------------------------------------------------------- problem 4

def _out_size(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def receptive_field(input_shape, layers, i, j):
    # sizes of every feature map
    H, W = input_shape[1], input_shape[2]
    sizes = [(H, W)]
    params = []
    for layer in layers:
        t = layer["type"]
        if t in ("relu", "sigmoid", "tanh"):
            params.append(None)
            sizes.append(sizes[-1])
            continue
        k = layer["kernel_size"]
        if t == "conv2d":
            s = layer.get("stride", 1)
        else:
            s = layer.get("stride", k)
        p = layer.get("padding", 0)
        params.append((k, s, p))
        h, w = sizes[-1]
        sizes.append((_out_size(h, k, s, p), _out_size(w, k, s, p)))
    r0, r1, c0, c1 = i, i, j, j
    for n in range(len(layers) - 1, -1, -1):
        if params[n] is None:
            continue
        k, s, p = params[n]
        h, w = sizes[n + 1]
        # only real positions of this map matter (padding depends on nothing)
        r0, r1 = max(r0, 0), min(r1, h - 1)
        c0, c1 = max(c0, 0), min(c1, w - 1)
        r0, r1 = r0 * s - p, r1 * s - p + k - 1
        c0, c1 = c0 * s - p, c1 * s - p + k - 1
    return (max(r0, 0), min(r1, H - 1)), (max(c0, 0), min(c1, W - 1))


# ---------------------------------------------------------------- problem 5

def _walk(shape, layers):
    """returns mults, adds, activations, output shape"""
    mults, adds, acts = 0, 0, 0
    for layer in layers:
        t = layer["type"]
        if t == "conv2d":
            C, H, W = shape
            k = layer["kernel_size"]
            s = layer.get("stride", 1)
            p = layer.get("padding", 0)
            g = layer.get("groups", 1)
            Cout = layer["out_channels"]
            Ho, Wo = _out_size(H, k, s, p), _out_size(W, k, s, p)
            n = Cout * Ho * Wo
            taps = (C // g) * k * k
            mults += n * taps
            adds += n * (taps - 1)
            if layer.get("bias", True):
                adds += n
            shape = (Cout, Ho, Wo)
        elif t in ("maxpool2d", "avgpool2d"):
            C, H, W = shape
            k = layer["kernel_size"]
            s = layer.get("stride", k)
            p = layer.get("padding", 0)
            shape = (C, _out_size(H, k, s, p), _out_size(W, k, s, p))
        elif t in ("relu", "sigmoid", "tanh"):
            acts += int(np.prod(shape))
        elif t == "flatten":
            shape = (int(np.prod(shape)),)
        elif t == "linear":
            n_in, n_out = shape[0], layer["out_features"]
            mults += n_in * n_out
            adds += (n_in - 1) * n_out
            if layer.get("bias", True):
                adds += n_out
            shape = (n_out,)
        elif t == "parallel":
            outs = []
            for branch in layer["branches"]:
                m, a, ac, out = _walk(shape, branch)
                mults += m
                adds += a
                acts += ac
                outs.append(out)
            if layer["merge"] == "sum":
                adds += (len(outs) - 1) * int(np.prod(outs[0]))
                shape = outs[0]
            else:
                shape = (sum(o[0] for o in outs),) + tuple(outs[0][1:])
    return mults, adds, acts, shape


def count_ops(input_shape, layers):
    m, a, ac, _ = _walk(tuple(input_shape), layers)
    return {"mults": m, "adds": a, "activations": ac}


ANSWERS = {
    # 1x1x256x128 + 3x3x256x192 + 5x5x256x96 + biases
    "naive_inception_params": 256 * 128 + 128 + 9 * 256 * 192 + 192 + 25 * 256 * 96 + 96,
    "bottleneck_inception_params": (256 * 128 + 128) + (256 * 64 + 64) + (9 * 64 * 192 + 192)
    + (256 * 64 + 64) + (25 * 64 * 96 + 96) + (256 * 64 + 64),
}
