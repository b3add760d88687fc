"""hw5: backpropagation, momentum, receptive fields, inception modules (seed document 001)."""

from grader.spec import Assignment, Entry

from ..common import count_ops
from . import answers, mlp_backprop, momentum_form1, momentum_form2, receptive_field

ASSIGNMENT = Assignment(
    id="hw5",
    title="HW5: backprop, momentum, receptive fields, inception",
    summary="Backpropagation through a sigmoid MLP with the squared loss, the two equivalent forms of "
            "momentum, receptive fields of conv/pool stacks, and counting the parameters and operations "
            "of inception modules.",
    source="seed 001 (MFDNN Homework 5)",
    entries=(
        Entry(mlp_backprop.PROBLEM, 25),
        Entry(momentum_form1.PROBLEM, 14),
        Entry(momentum_form2.PROBLEM, 14),
        Entry(receptive_field.PROBLEM, 22),
        Entry(count_ops.PROBLEM, 15),
        Entry(answers.PROBLEM, 10),
    ),
)
