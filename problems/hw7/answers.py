"""hw7 ANSWERS: the operation count of AlexNet, layer by layer (seed 000, problem 2)."""

from __future__ import annotations

from grader.spec import AnswerKey, AnswersProblem

STATEMENT = r"""
Fill in the module-level dict `ANSWERS` of your `hw7.py`:

```python
ANSWERS = {
    "alexnet_ops": {"conv1": ..., "conv2": ..., "conv3": ..., "conv4": ..., "conv5": ...,
                    "fc1": ..., "fc2": ..., "fc3": ..., "total": ...},
}
```

Each value is an **integer**: the number of multiplications **plus** additions of one forward pass
of AlexNet (one image) in that layer, and `total` is the sum over the eight layers.

The network, on an input of shape $(3, 227, 227)$ (as `torch.nn` modules):

```
conv1: Conv2d(3, 64, kernel_size=11, stride=4)             ReLU   MaxPool2d(3, stride=2)
conv2: Conv2d(64, 192, kernel_size=5, padding=2)           ReLU   MaxPool2d(3, stride=2)
conv3: Conv2d(192, 384, kernel_size=3, padding=1)          ReLU
conv4: Conv2d(384, 256, kernel_size=3, padding=1)          ReLU
conv5: Conv2d(256, 256, kernel_size=3, padding=1)          ReLU   MaxPool2d(3, stride=2)
flatten
fc1:   Linear(256*6*6, 4096)   ReLU
fc2:   Linear(4096, 4096)      ReLU
fc3:   Linear(4096, 1000)
```

Count as in `count_ops`: every layer has a bias; a conv output element costs $C_\text{in} k^2$
multiplications and $C_\text{in} k^2 - 1$ additions, plus 1 addition for the bias (taps on zero
padding count); a linear output costs $n_\text{in}$ multiplications and $n_\text{in} - 1$ additions,
plus 1 for the bias. ReLU, pooling and flatten are not counted here. Spatial sizes are
$\lfloor (H + 2p - k)/s \rfloor + 1$.
"""

# mults + adds per layer (checked against torch.utils.flop_counter in tests/oracles/test_hw7.py)
ALEXNET_OPS = {
    "conv1": 140_553_600,
    "conv2": 447_897_600,
    "conv3": 224_280_576,
    "conv4": 299_040_768,
    "conv5": 199_360_512,
    "fc1": 75_497_472,
    "fc2": 33_554_432,
    "fc3": 8_192_000,
    "total": 1_428_376_960,
}

# output elements of each layer: the bias additions a count without biases misses
_OUTPUTS = {"conv1": 64 * 55 * 55, "conv2": 192 * 27 * 27, "conv3": 384 * 13 * 13, "conv4": 256 * 13 * 13,
            "conv5": 256 * 13 * 13, "fc1": 4096, "fc2": 4096, "fc3": 1000}
_NO_BIAS = "the bias additions are missing: each output element costs one more addition for its bias"
_MULTS_ONLY = "this is only the multiplications; add the additions (as many as the multiplications here)"


def _mistakes() -> dict[str, dict[int, str]]:
    found: dict[str, dict[int, str]] = {layer: {} for layer in ALEXNET_OPS}
    for layer, outputs in _OUTPUTS.items():
        found[layer][ALEXNET_OPS[layer] - outputs] = _NO_BIAS
        found[layer][ALEXNET_OPS[layer] // 2] = _MULTS_ONLY
    found["total"][ALEXNET_OPS["total"] - sum(_OUTPUTS.values())] = _NO_BIAS
    found["total"][ALEXNET_OPS["total"] // 2] = _MULTS_ONLY
    found["conv5"][199_369_512] = "digit slip: 256*13*13*(256*2*3^2) = 199,360,512"
    found["total"][1_428_385_960] = ("the conv5 digit slip (199,369,512 instead of 199,360,512) carried into "
                                     "the total")
    conv_total = sum(ALEXNET_OPS[f"conv{i}"] for i in range(1, 6))
    found["total"][conv_total] = "this is only the five conv layers; add fc1, fc2 and fc3"
    found["total"][conv_total + 9_000] = ("this is only the five conv layers (with the conv5 digit slip); "
                                          "add fc1, fc2 and fc3")
    found["conv1"][64 * 54 * 54 * (2 * 3 * 11 * 11)] = ("computed for a 224x224 input (54x54 outputs); on "
                                                        "227x227, conv1 has 55x55 outputs")
    found["conv2"][192 * 55 * 55 * (2 * 64 * 5 * 5)] = ("the max-pool after conv1 was skipped: conv2 sees a "
                                                        "27x27 input, not 55x55")
    found["fc1"][2 * 256 * 13 * 13 * 4096] = ("the input of fc1 was taken before the last max-pool: it is "
                                              "256*6*6 = 9216, not 256*13*13")
    for layer in _OUTPUTS:  # n products summed with n additions, plus the bias
        found[layer].setdefault(ALEXNET_OPS[layer] + _OUTPUTS[layer],
                                "one addition too many per output: n products need n - 1 additions to sum, "
                                "plus one for the bias")
    found["total"][ALEXNET_OPS["total"] + sum(_OUTPUTS.values())] = (
        "one addition too many per output: n products need n - 1 additions to sum, plus one for the bias")
    return {f"alexnet_ops.{layer}": wrongs for layer, wrongs in found.items()}


PROBLEM = AnswersProblem(
    title="Operation count of AlexNet",
    statement=STATEMENT,
    keys=(
        AnswerKey("alexnet_ops", dict(ALEXNET_OPS),
                  "multiplications + additions of each AlexNet layer on (3, 227, 227), and their total",
                  mistakes=_mistakes()),
    ),
)
