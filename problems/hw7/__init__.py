"""hw7: log-sum-exp, operation counts, 1-D convolutional networks (seed document 000)."""

from grader.spec import Assignment, Entry

from ..common import count_ops
from . import answers, conv1d_matvec, conv1d_net_grads, conv1d_vecmat, grad_nu_beta, nu_beta

ASSIGNMENT = Assignment(
    id="hw7",
    title="HW7: log-sum-exp, operation counts, 1-D conv nets",
    summary="Stable log-sum-exp and its gradient, 1-D convolution as a matrix and its transpose, "
            "backprop through a 1-D conv net, and counting the operations of AlexNet.",
    source="seed 000 (MathDNN HW 7)",
    entries=(
        Entry(nu_beta.PROBLEM, 10),
        Entry(grad_nu_beta.PROBLEM, 10),
        Entry(conv1d_matvec.PROBLEM, 10),
        Entry(conv1d_vecmat.PROBLEM, 10),
        Entry(conv1d_net_grads.PROBLEM, 25),
        Entry(count_ops.PROBLEM, 20),
        Entry(answers.PROBLEM, 15),
    ),
)
