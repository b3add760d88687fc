"""WR3 - softmax gradient, conv backprop, output shapes, parameter counts."""

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
            if layer.get("bias", True):
                params += out
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
            params += shape[0] * n_out + (n_out if layer.get("bias", True) else 0)
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


ANSWERS = {
    # 1x1: 192*64+64, 3x3 branch: 192*96+96 + 96*9*128+128, 5x5 branch: 192*16+16 + 16*25*32+32, pool: 192*32+32
    "inception_3a_params": 12352 + 18528 + 110720 + 3088 + 12832 + 6176,
}
