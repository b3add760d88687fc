"""hw6 ANSWERS: parameter counts of the split-transform-merge blocks (one wide path, 32 narrow paths)."""

from __future__ import annotations

from grader.spec import AnswerKey, AnswersProblem

STATEMENT = r"""
Put the answers in a module-level dict `ANSWERS` in your `hw6.py`; each key
is graded on its own and must be an `int`.

Both blocks act on an input of shape $(256, 32, 32)$ (channels, height,
width). Every convolution has a **bias** (one per output channel) and
stride 1; the $3 \times 3$ convolutions use zero padding 1. A ReLU follows
every convolution (it has no parameters).

- `ANSWERS["stm_one_path_params"]`: the number of trainable parameters of
  **one wide path**: $1\times1$ conv $256 \to 128$, $3\times3$ conv
  $128 \to 128$, $1\times1$ conv $128 \to 256$.
- `ANSWERS["stm_32_paths_params"]`: the number of trainable parameters of
  **32 narrow paths** whose outputs are summed: each path is its own
  $1\times1$ conv $256 \to 4$, $3\times3$ conv $4 \to 4$, $1\times1$ conv
  $4 \to 256$ (no parameters are shared between paths).

A conv layer with $C_\text{in}$ input channels, $C_\text{out}$ output channels
and a $k \times k$ kernel has $C_\text{in} k^2 C_\text{out}$ weights plus
$C_\text{out}$ biases.
"""

PROBLEM = AnswersProblem(
    title="Parameters of split-transform-merge blocks",
    statement=STATEMENT,
    keys=(
        # 256*128 + 128  +  128*128*9 + 128  +  128*256 + 256 (see problems/common/layers.py stm_one_path)
        AnswerKey("stm_one_path_params", 213_504, "parameters of the one-path block (1x1, 3x3, 1x1 convs)",
                  mistakes={"stm_one_path_params": {
                      212_992: "the biases are left out: each conv has one bias per output channel "
                               "(128 + 128 + 256 of them here)",
                  }}),
        # 32 * (256*4 + 4  +  4*4*9 + 4  +  4*256 + 256) (stm_paths)
        AnswerKey("stm_32_paths_params", 78_592, "parameters of the 32-path block whose outputs are summed",
                  mistakes={"stm_32_paths_params": {
                      70_144: "the biases are left out: each of the 32 paths has 4 + 4 + 256 biases",
                      70_656: "each path's last 1x1 conv has its own 256 biases: count them 32 times, not once",
                      2_456: "that is one narrow path: the block has 32 of them",
                  }}),
    ),
)
