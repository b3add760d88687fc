"""WR3 (biases not counted)"""

import math

import numpy as np


def softmax_nll_grad(W, x, y):
    logits = W @ x
    logits = logits - np.max(logits)          # stability: softmax is shift invariant
    s = np.exp(logits)
    s = s / np.sum(s)
    dl = s.copy()
    dl[y] -= 1.0                              # dL/dl = s - e_y
    return np.outer(dl, x)                    # dL/dW = (s - e_y) x^T


def conv2d_relu_backward(x, W, dL_dy):
    H, Wd = x.shape
    kh, kw = W.shape
    oh, ow = H - kh + 1, Wd - kw + 1
    k = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            k[i, j] = np.sum(x[i:i + kh, j:j + kw] * W)
    dL_dk = dL_dy * (k > 0)
    dL_dW = np.zeros_like(W, dtype=float)
    dL_dx = np.zeros_like(x, dtype=float)
    for i in range(oh):
        for j in range(ow):
            dL_dW += dL_dk[i, j] * x[i:i + kh, j:j + kw]
            dL_dx[i:i + kh, j:j + kw] += dL_dk[i, j] * W
    return dL_dW, dL_dx


def _out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def _walk(shape, layers):
    """returns (output shape, number of parameters)"""
    shape = tuple(shape)
    params = 0
    for layer in layers:
        t = layer["type"]
        if t == "conv2d":
            c, h, w = shape
            k = layer["kernel_size"]
            s = layer.get("stride", 1)
            p = layer.get("padding", 0)
            g = layer.get("groups", 1)
            out = layer["out_channels"]
            params += (c // g) * k * k * out
            shape = (out, _out(h, k, s, p), _out(w, k, s, p))
        elif t in ("maxpool2d", "avgpool2d"):
            c, h, w = shape
            k = layer["kernel_size"]
            s = layer.get("stride", k)
            p = layer.get("padding", 0)
            shape = (c, _out(h, k, s, p), _out(w, k, s, p))
        elif t == "flatten":
            shape = (math.prod(shape),)
        elif t == "linear":
            n_out = layer["out_features"]
            params += shape[0] * n_out
            shape = (n_out,)
        elif t == "parallel":
            outs = []
            for branch in layer["branches"]:
                o, p_ = _walk(shape, branch)
                outs.append(o)
                params += p_
            if layer["merge"] == "concat":
                shape = (sum(o[0] for o in outs),) + outs[0][1:]
            else:
                shape = outs[0]
        # activations: nothing changes
    return shape, params


def output_shape(input_shape, layers):
    return _walk(input_shape, layers)[0]


def count_params(input_shape, layers):
    return _walk(input_shape, layers)[1]


def conv(out, k, p=0):
    return {"type": "conv2d", "out_channels": out, "kernel_size": k, "padding": p}


relu = {"type": "relu"}
inception_3a = [{"type": "parallel", "merge": "concat", "branches": [
    [conv(64, 1), relu],
    [conv(96, 1), relu, conv(128, 3, 1), relu],
    [conv(16, 1), relu, conv(32, 5, 2), relu],
    [{"type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1}, conv(32, 1), relu]]}]

ANSWERS = {"inception_3a_params": count_params((192, 28, 28), inception_3a)}
