"""hw4: convolution as a tool (filters, pooling, 1x1 convs), max pooling and activations,
MLP Jacobians and parameter gradients (seed document 003)."""

from grader.spec import Assignment, Entry

from . import (
    avgpool_as_conv,
    finite_difference_filters,
    greyscale_filter,
    maxpool_commutes,
    mlp_layer_jacobians,
    mlp_param_grads,
)

ASSIGNMENT = Assignment(
    id="hw4",
    title="HW4: convolution as a tool, MLP Jacobians",
    summary="Finite differences, average pooling and greyscale conversion written as convolutions; "
            "which activations commute with max pooling; the layer Jacobians of an MLP and the gradients "
            "of its output with respect to every weight and bias.",
    source="seed 003 (MathDNN HW 4)",
    entries=(
        Entry(finite_difference_filters.PROBLEM, 10),
        Entry(avgpool_as_conv.PROBLEM, 15),
        Entry(greyscale_filter.PROBLEM, 10),
        Entry(maxpool_commutes.PROBLEM, 15),
        Entry(mlp_layer_jacobians.PROBLEM, 25),
        Entry(mlp_param_grads.PROBLEM, 25),
    ),
)
