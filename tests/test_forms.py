"""Equivalent forms of a right answer get full marks.

For every problem of the course: the return form the catalogue gives, and the other reasonable forms
of the same answer the grader accepts (a list for a tuple, an array for nested lists, float32, a 0-d
array for a number, a 2x2 array of bounds, a 1-D array of scalar biases, ...). Each form wraps the
reference solution in a submission that goes through the engine (in process, through the wire
format like a sandboxed call) and must earn full marks on the public cases (the yes/no problems,
which have no self-check, on the graded cases).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.engine import Audience, grade
from grader.loader import load_assignment
from grader.sandbox.inprocess import InProcessRunner
from grader.selftest import reference_source
from grader.submission import Submission

# problem -> {form name: expression of the reference's output ``out``}; the first is the catalogue's form
ARRAY = {
    "catalogue: float64 array": "out",
    "float32 array": "np.asarray(out, dtype=np.float32)",
    "nested lists": "np.asarray(out).tolist()",
}
LIST_OF_ARRAYS = {
    "catalogue: list of arrays": "out",
    "tuple of arrays": "tuple(out)",
    "list of nested lists": "[np.asarray(a).tolist() for a in out]",
    "list of float32 arrays": "[np.asarray(a, dtype=np.float32) for a in out]",
}
PAIR_OF_LISTS = {
    "catalogue: (dA_list, db_list)": "out",
    "a list [dA_list, db_list]": "list(out)",
    "tuples of float32 arrays": "tuple(tuple(np.asarray(a, dtype=np.float32) for a in part) for part in out)",
    "nested lists": "([np.asarray(a).tolist() for a in out[0]], [np.asarray(b).tolist() for b in out[1]])",
}
NUMBER = {
    "catalogue: float": "out",
    "0-d array": "np.array(out)",
    "one-element array": "np.array([out])",
    "float32 scalar": "np.float32(out)",
    "0-d float32 array": "np.array(out, dtype=np.float32)",
}
INT = {
    "catalogue: int": "out",
    "integral float": "float(out)",
    "numpy int64": "np.int64(out)",
    "0-d int array": "np.array(out)",
    "0-d float array": "np.array(float(out))",
}
COUNTS = {
    "catalogue: dict of ints": "out",
    "numpy ints": "{k: np.int64(v) for k, v in out.items()}",
    "integral floats": "{k: float(v) for k, v in out.items()}",
    "0-d arrays": "{k: np.array(v) for k, v in out.items()}",
}
BOOL = {
    "catalogue: bool": "out",
    "numpy bool": "np.bool_(out)",
}

FORMS: dict[tuple[str, str], dict[str, str]] = {
    ("wr3", "softmax_nll_grad"): ARRAY,
    ("wr3", "conv2d_relu_backward"): {
        "catalogue: (dL_dW, dL_dx)": "out",
        "a list": "list(out)",
        "float32 arrays": "tuple(np.asarray(a, dtype=np.float32) for a in out)",
        "nested lists": "tuple(np.asarray(a).tolist() for a in out)",
    },
    ("wr3", "output_shape"): {
        "catalogue: tuple of ints": "out",
        "list": "list(out)",
        "1-D int array": "np.array(out)",
        "integral floats": "tuple(float(d) for d in out)",
        "numpy ints": "tuple(np.int64(d) for d in out)",
    },
    ("wr3", "count_params"): INT,
    ("hw4", "finite_difference_filters"): {
        **ARRAY,
        "conv2d weight layout (2, 1, 3, 3)": "np.asarray(out).reshape(2, 1, 3, 3)",
    },
    ("hw4", "avgpool_as_conv"): {
        "catalogue: (weight, None, k, 0)": "out",
        "a list": "list(out)",
        "zero bias array": "(out[0], np.zeros(out[0].shape[0]), out[2], out[3])",
        "stride and padding as pairs": "(out[0], out[1], (out[2], out[2]), (out[3], out[3]))",
        "float32 weight": "(np.asarray(out[0], dtype=np.float32), None, out[2], out[3])",
    },
    ("hw4", "greyscale_filter"): ARRAY,
    ("hw4", "maxpool_commutes"): BOOL,
    ("hw4", "mlp_layer_jacobians"): LIST_OF_ARRAYS,
    ("hw4", "mlp_param_grads"): PAIR_OF_LISTS,
    ("hw5", "mlp_backprop"): PAIR_OF_LISTS,
    ("hw5", "momentum_form1"): {**ARRAY, "list of row arrays": "list(np.asarray(out))"},
    ("hw5", "momentum_form2"): {**ARRAY, "list of row arrays": "list(np.asarray(out))"},
    ("hw5", "receptive_field"): {
        "catalogue: ((row_lo, row_hi), (col_lo, col_hi))": "out",
        "lists": "[list(out[0]), list(out[1])]",
        "2x2 int array": "np.array(out)",
        "2x2 float array": "np.array(out, dtype=float)",
        "two 1-D arrays": "(np.array(out[0]), np.array(out[1]))",
        "numpy ints": "tuple(tuple(np.int64(v) for v in pair) for pair in out)",
    },
    ("hw5", "count_ops"): COUNTS,
    ("hw6", "dropout_commutes"): BOOL,
    ("hw6", "linear_net_output_variance"): NUMBER,
    ("hw6", "resmlp_grads"): PAIR_OF_LISTS,
    ("hw7", "nu_beta"): NUMBER,
    ("hw7", "grad_nu_beta"): ARRAY,
    ("hw7", "conv1d_matvec"): ARRAY,
    ("hw7", "conv1d_vecmat"): ARRAY,
    ("hw7", "conv1d_net_grads"): {
        "catalogue: (dw_list, db_list of floats)": "out",
        "a list": "list(out)",
        "db_list as a 1-D array": "(out[0], np.array(out[1]))",
        "db_list of 0-d arrays": "(out[0], [np.array(b) for b in out[1]])",
        "db_list of one-element arrays": "(out[0], [np.array([b]) for b in out[1]])",
        "float32 everywhere": "([np.asarray(w, dtype=np.float32) for w in out[0]], np.array(out[1], np.float32))",
        "tuples": "(tuple(out[0]), tuple(out[1]))",
    },
    ("hw7", "count_ops"): COUNTS,
}

COURSE = ("wr3", "hw4", "hw5", "hw6", "hw7")


def test_every_problem_lists_its_forms() -> None:
    problems = {(a, p.id) for a in COURSE for p in load_assignment(a).functions}
    assert problems == set(FORMS)


def _source(assignment, problem, expression: str) -> str:
    module = problem.reference.__module__
    return reference_source(assignment) + (
        "import numpy as np\n"
        f"_reference = importlib.import_module({module!r}).PROBLEM.reference\n\n\n"
        f"def {problem.function}(*args):\n"
        f"    out = _reference(*args)\n"
        f"    return {expression}\n")


CASES = [(a, p, name, expression) for (a, p), forms in FORMS.items() for name, expression in forms.items()]


@pytest.mark.parametrize(("assignment_id", "problem_id", "form", "expression"), CASES,
                         ids=[f"{a}-{p}-{n}" for a, p, n, _ in CASES])
def test_equivalent_form_gets_full_marks(assignment_id: str, problem_id: str, form: str, expression: str) -> None:
    assignment = load_assignment(assignment_id)
    problem = next(p for p in assignment.functions if p.id == problem_id)
    submission = Submission("forms", Path(assignment.filename), _source(assignment, problem, expression))
    # a yes/no problem has no self-check: it is graded with the hidden cases
    audience = Audience() if problem.self_check else Audience(hidden=True, secret="forms", student="forms")
    result = grade(assignment, submission, InProcessRunner(), audience, only=[problem_id])
    graded = next(p for p in result.problems if p.id == problem_id)
    bad = graded.first_failure
    assert graded.cases and graded.score == graded.points, f"{form}: {bad.id}: {bad.message}" if bad else form
