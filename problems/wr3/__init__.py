"""wr3: softmax/NLL gradient, backprop through conv + ReLU, output shapes and parameter counts (seed 002)."""

from grader.spec import Assignment, Entry

from . import answers, conv2d_relu_backward, count_params, output_shape, softmax_nll_grad

ASSIGNMENT = Assignment(
    id="wr3",
    title="WR3: softmax gradient, conv backprop, shapes and parameters",
    summary="The gradient of softmax + negative log-likelihood with respect to the weights (computed stably), "
            "backpropagation through a one-channel convolution followed by a ReLU, the output shape and the "
            "parameter count of networks in the layer-spec language, and the parameters of GoogLeNet's "
            "inception(3a) module.",
    source="seed 002 (Deep Learning HW WR 3)",
    entries=(
        Entry(softmax_nll_grad.PROBLEM, 25),
        Entry(conv2d_relu_backward.PROBLEM, 30),
        Entry(output_shape.PROBLEM, 20),
        Entry(count_params.PROBLEM, 20),
        Entry(answers.PROBLEM, 5),
    ),
)
