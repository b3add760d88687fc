"""hw6: dropout and activations, the output variance of a linear net, residual MLP gradients (seed document 004)."""

from grader.spec import Assignment, Entry

from . import answers, dropout_commutes, linear_net_output_variance, resmlp_grads

ASSIGNMENT = Assignment(
    id="hw6",
    title="HW6: dropout, initialisation, residual networks",
    summary="When dropout commutes with an activation, the output variance of a linear network under "
            "PyTorch's default initialisation, gradients of a residual MLP, and parameter counts of "
            "split-transform-merge blocks.",
    source="seed 004 (MathDNN HW 6)",
    entries=(
        Entry(dropout_commutes.PROBLEM, 20),
        Entry(linear_net_output_variance.PROBLEM, 20),
        Entry(resmlp_grads.PROBLEM, 45),
        Entry(answers.PROBLEM, 15),
    ),
)
