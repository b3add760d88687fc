# HW7 - with my quick test at the bottom left in
import numpy as np


def nu_beta(x, beta):
    m = np.max(x)
    return float(m + np.log(np.sum(np.exp(beta * (x - m)))) / beta)


def grad_nu_beta(x, beta):
    e = np.exp(beta * (x - np.max(x)))
    return e / e.sum()


def conv1d_matvec(w, v):
    f = len(w)
    out = []
    i = 0
    while i + f <= len(v):
        out.append(np.dot(w, v[i:i + f]))
        i += 1
    return np.array(out)


def conv1d_vecmat(u, w):
    f = len(w)
    out = np.zeros(len(u) + f - 1)
    j = 0
    while j < len(u):
        out[j:j + f] += u[j] * w
    return out


# quick test
print(conv1d_matvec(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, -1.0, 2.0, 1.0])))
print(conv1d_vecmat(np.array([1.0, -1.0, 2.0]), np.array([1.0, 2.0, 3.0])))
