# HW7 done with PyTorch: every function returns torch tensors (float64), which is allowed.
import torch
import torch.nn.functional as F


def nu_beta(x, beta):
    x = torch.as_tensor(x)
    return torch.logsumexp(beta * x, dim=0) / beta


def grad_nu_beta(x, beta):
    x = torch.as_tensor(x).clone().requires_grad_(True)
    y = torch.logsumexp(beta * x, dim=0) / beta
    y.backward()
    return x.grad


def conv1d_matvec(w, v):
    w, v = torch.as_tensor(w), torch.as_tensor(v)
    return F.conv1d(v.view(1, 1, -1), w.view(1, 1, -1)).view(-1)


def conv1d_vecmat(u, w):
    u, w = torch.as_tensor(u), torch.as_tensor(w)
    return F.conv_transpose1d(u.view(1, 1, -1), w.view(1, 1, -1)).view(-1)


ACT = {
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "identity": lambda z: z,
}


def conv1d_net_grads(x, w_list, b_list, activation):
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in w_list]
    bs = [torch.tensor(float(b), dtype=torch.float64, requires_grad=True) for b in b_list]
    y = torch.as_tensor(x)
    for l in range(len(ws)):
        z = F.conv1d(y.view(1, 1, -1), ws[l].view(1, 1, -1)).view(-1) + bs[l]
        y = z if l == len(ws) - 1 else ACT[activation](z)
    y.sum().backward()
    return [w.grad for w in ws], [b.grad for b in bs]


def _count(shape, layers):
    """(mults, adds, activations, output shape), running meta tensors through torch modules."""
    x = torch.zeros(1, *shape, device="meta")
    mults = adds = acts = 0
    for layer in layers:
        t = layer["type"]
        if t == "conv2d":
            m = torch.nn.Conv2d(x.shape[1], layer["out_channels"], layer["kernel_size"], layer.get("stride", 1),
                                layer.get("padding", 0), groups=layer.get("groups", 1),
                                bias=layer.get("bias", True), device="meta")
        elif t == "linear":
            m = torch.nn.Linear(x.shape[1], layer["out_features"], bias=layer.get("bias", True), device="meta")
        elif t == "maxpool2d":
            x = F.max_pool2d(x, layer["kernel_size"], layer.get("stride"), layer.get("padding", 0))
            continue
        elif t == "avgpool2d":
            x = F.avg_pool2d(x, layer["kernel_size"], layer.get("stride"), layer.get("padding", 0))
            continue
        elif t == "flatten":
            x = x.flatten(1)
            continue
        elif t in ("relu", "sigmoid", "tanh"):
            acts += x.numel()
            continue
        else:  # parallel
            shapes = []
            for branch in layer["branches"]:
                m2, a2, e2, s2 = _count(tuple(x.shape[1:]), branch)
                mults, adds, acts = mults + m2, adds + a2, acts + e2
                shapes.append(s2)
            if layer["merge"] == "sum":
                x = torch.zeros(1, *shapes[0], device="meta")
                adds += (len(shapes) - 1) * x.numel()
            else:
                x = torch.zeros(1, sum(s[0] for s in shapes), *shapes[0][1:], device="meta")
            continue
        x = m(x)
        n = x.numel()
        per = m.weight[0].numel()  # (C_in/groups) k^2 for a conv, n_in for a linear layer
        mults += n * per
        adds += n * (per - 1) + (n if m.bias is not None else 0)
    return mults, adds, acts, tuple(x.shape[1:])


def count_ops(input_shape, layers):
    m, a, e, _ = _count(tuple(input_shape), layers)
    return {"mults": m, "adds": a, "activations": e}


def _alexnet_layer(shape, layer):
    m, a, _, _ = _count(shape, [layer])
    return m + a


ANSWERS = {"alexnet_ops": {
    "conv1": _alexnet_layer((3, 227, 227), {"type": "conv2d", "out_channels": 64, "kernel_size": 11, "stride": 4}),
    "conv2": _alexnet_layer((64, 27, 27), {"type": "conv2d", "out_channels": 192, "kernel_size": 5, "padding": 2}),
    "conv3": _alexnet_layer((192, 13, 13), {"type": "conv2d", "out_channels": 384, "kernel_size": 3, "padding": 1}),
    "conv4": _alexnet_layer((384, 13, 13), {"type": "conv2d", "out_channels": 256, "kernel_size": 3, "padding": 1}),
    "conv5": _alexnet_layer((256, 13, 13), {"type": "conv2d", "out_channels": 256, "kernel_size": 3, "padding": 1}),
    "fc1": _alexnet_layer((9216,), {"type": "linear", "out_features": 4096}),
    "fc2": _alexnet_layer((4096,), {"type": "linear", "out_features": 4096}),
    "fc3": _alexnet_layer((4096,), {"type": "linear", "out_features": 1000}),
}}
ANSWERS["alexnet_ops"]["total"] = sum(ANSWERS["alexnet_ops"].values())
