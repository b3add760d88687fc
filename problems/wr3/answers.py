"""wr3 ANSWERS: the parameter count of GoogLeNet's inception(3a) module."""

from __future__ import annotations

from grader.spec import AnswerKey, AnswersProblem

from ..common import layers as L

STATEMENT = r"""
Answer in the module-level dict `ANSWERS` of your `wr3.py`:

- `ANSWERS["inception_3a_params"]`: the number of trainable parameters
  (weights **and** biases) of GoogLeNet's **inception(3a)** module, whose
  input has shape $(192, 28, 28)$. It has four parallel branches whose outputs
  are concatenated along the channels:

  1. a $1\times1$ conv with 64 filters;
  2. a $1\times1$ conv with 96 filters, then a $3\times3$ conv (padding 1) with 128 filters;
  3. a $1\times1$ conv with 16 filters, then a $5\times5$ conv (padding 2) with 32 filters;
  4. a $3\times3$ max pool (stride 1, padding 1), then a $1\times1$ conv with 32 filters.

  Every conv has a bias, `groups` 1 (each filter spans **all** the channels
  of its input) and is followed by a ReLU. Give an `int`.

You may compute it with your `count_params`; in the layer-spec language the module is

```
[{"type": "parallel", "merge": "concat", "branches": [
    [conv(64, 1), relu],
    [conv(96, 1), relu, conv(128, 3, padding=1), relu],
    [conv(16, 1), relu, conv(32, 5, padding=2), relu],
    [maxpool(3, stride=1, padding=1), conv(32, 1), relu]]}]
```
"""


def _conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_in * k * k * c_out + (c_out if bias else 0)


RIGHT = L.count_params((192, 28, 28), L.inception_3a())
assert RIGHT == 163_696
BIASES = 64 + 96 + 128 + 16 + 32 + 32

MISTAKES: dict[int, str] = {
    2_160: "each filter's input depth was ignored (a k x k filter on C_in channels has C_in*k^2 weights), "
           "and the biases were left out",
    2_160 + BIASES: "each filter's input depth was ignored: a k x k filter on C_in channels has C_in*k^2 weights",
    RIGHT - BIASES: "the biases were left out: every conv has one bias per filter",
    RIGHT - _conv(16, 32, 5) + _conv(16, 32, 3): "the 5x5 branch was counted as 3x3",
    RIGHT - _conv(192, 32, 1): "the 1x1 conv after the max pool (32 filters on 192 channels) is missing",
    _conv(192, 64, 1) + _conv(192, 96, 1) + _conv(192, 128, 3) + _conv(192, 16, 1) + _conv(192, 32, 5)
    + _conv(192, 32, 1): "the 3x3 and 5x5 convs see the 96 and 16 channels of the 1x1 reductions before "
                         "them, not the module's 192 input channels",
    RIGHT * 28 * 28: "the parameters were counted once per output position: a filter's weights are shared "
                     "by all 28 x 28 positions",
}

PROBLEM = AnswersProblem(
    title="Parameters of inception(3a)",
    statement=STATEMENT,
    keys=(
        AnswerKey("inception_3a_params", RIGHT, "trainable parameters of GoogLeNet's inception(3a) on (192, 28, 28)",
                  mistakes={"inception_3a_params": MISTAKES}),
    ),
)
