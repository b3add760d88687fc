# HW7 - additions: C_in k^2 - 1 per output (summing the products)
import numpy as np


# ---------------------------------------------------------------- problem 1

def nu_beta(x, beta):
    m = np.max(x)
    return float(m + np.log(np.sum(np.exp(beta * (x - m)))) / beta)


def grad_nu_beta(x, beta):
    z = beta * (x - np.max(x))
    e = np.exp(z)
    return e / e.sum()


# ---------------------------------------------------------------- problem 4 (b)

def conv1d_matvec(w, v):
    f = len(w)
    n = len(v)
    out = np.zeros(n - f + 1)
    for i in range(n - f + 1):
        out[i] = np.sum(w * v[i:i + f])
    return out


def conv1d_vecmat(u, w):
    f = len(w)
    n = len(u) + f - 1
    out = np.zeros(n)
    for i in range(len(u)):
        out[i:i + f] += u[i] * w
    return out


# ---------------------------------------------------------------- problem 4 (a)

def act(name, z):
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name == "sigmoid":
        return 0.5 * (1 + np.tanh(z / 2))
    if name == "tanh":
        return np.tanh(z)
    return z


def act_prime(name, z):
    if name == "relu":
        return (z > 0).astype(float)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, 0.01)
    if name == "sigmoid":
        s = act("sigmoid", z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    return np.ones_like(z)


def conv1d_net_grads(x, w_list, b_list, activation):
    L = len(w_list)
    ys = [x]
    zs = []
    for l in range(L):
        z = conv1d_matvec(w_list[l], ys[-1]) + b_list[l]
        zs.append(z)
        ys.append(act(activation, z) if l < L - 1 else z)
    dw_list = [None] * L
    db_list = [None] * L
    g = np.ones(1)  # dy_L/dy_L
    for l in range(L - 1, -1, -1):
        v = g if l == L - 1 else g * act_prime(activation, zs[l])
        f = len(w_list[l])
        dw_list[l] = np.array([np.dot(v, ys[l][k:k + len(v)]) for k in range(f)])
        db_list[l] = float(np.sum(v))
        g = conv1d_vecmat(v, w_list[l])
    return dw_list, db_list


# ---------------------------------------------------------------- problem 2

def _count(shape, layers):
    mults = adds = acts = 0
    for layer in layers:
        t = layer["type"]
        if t == "conv2d":
            c, h, w = shape
            k = layer["kernel_size"]
            s = layer.get("stride", 1)
            p = layer.get("padding", 0)
            g = layer.get("groups", 1)
            oh = (h + 2 * p - k) // s + 1
            ow = (w + 2 * p - k) // s + 1
            shape = (layer["out_channels"], oh, ow)
            n = shape[0] * oh * ow
            taps = c // g * k * k
            mults += n * taps
            adds += n * (taps - 1)
        elif t in ("maxpool2d", "avgpool2d"):
            c, h, w = shape
            k = layer["kernel_size"]
            s = layer.get("stride", k)
            p = layer.get("padding", 0)
            shape = (c, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
        elif t in ("relu", "sigmoid", "tanh"):
            acts += int(np.prod(shape))
        elif t == "flatten":
            shape = (int(np.prod(shape)),)
        elif t == "linear":
            n_in = shape[0]
            n_out = layer["out_features"]
            mults += n_in * n_out
            adds += n_out * (n_in - 1)
            shape = (n_out,)
        elif t == "parallel":
            outs = []
            for branch in layer["branches"]:
                s2, m2, a2, e2 = _count(shape, branch)
                outs.append(s2)
                mults, adds, acts = mults + m2, adds + a2, acts + e2
            if layer["merge"] == "sum":
                shape = outs[0]
                adds += (len(outs) - 1) * int(np.prod(shape))
            else:
                shape = (sum(o[0] for o in outs),) + tuple(outs[0][1:])
    return shape, mults, adds, acts


def count_ops(input_shape, layers):
    _, m, a, e = _count(tuple(input_shape), layers)
    return {"mults": m, "adds": a, "activations": e}


# conv: out_elems * (C_in k^2 mults + (C_in k^2 - 1) adds + 1 bias add) = out_elems * 2 C_in k^2
# fc: n_out * (n_in + n_in - 1 + 1) = 2 n_in n_out
ANSWERS = {
    "alexnet_ops": {
        "conv1": 64 * 55 * 55 * (2 * 3 * 11 * 11 - 1),
        "conv2": 192 * 27 * 27 * (2 * 64 * 5 * 5 - 1),
        "conv3": 384 * 13 * 13 * (2 * 192 * 3 * 3 - 1),
        "conv4": 256 * 13 * 13 * (2 * 384 * 3 * 3 - 1),
        "conv5": 256 * 13 * 13 * (2 * 256 * 3 * 3 - 1),
        "fc1": 4096 * (2 * 9216 - 1),
        "fc2": 4096 * (2 * 4096 - 1),
        "fc3": 1000 * (2 * 4096 - 1),
    },
}
ANSWERS["alexnet_ops"]["total"] = sum(ANSWERS["alexnet_ops"].values())
