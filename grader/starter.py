"""``grader init``: a starter file with every function stubbed and the ANSWERS keys listed."""

from __future__ import annotations

import textwrap

from .spec import AnswersProblem, Assignment, FunctionProblem


def _docstring(text: str, indent: str) -> str:
    body = textwrap.dedent(text).strip().replace('"""', "'''")
    lines = [indent + line if line.strip() else "" for line in body.splitlines()]
    return f'{indent}r"""\n' + "\n".join(lines) + f'\n{indent}"""'


def _function(problem: FunctionProblem) -> str:
    doc = f"{problem.title}\n\n{problem.statement.strip()}\n\nReturns: {problem.returns}"
    return f"def {problem.signature}:\n{_docstring(doc, '    ')}\n    raise NotImplementedError\n"


def _answers(problem: AnswersProblem) -> str:
    lines = ["ANSWERS = {"]
    for key in problem.keys:
        lines.append(f"    # {key.description}")
        subkeys = [leaf.split(".", 1)[1] for leaf, _ in key.leaves() if "." in leaf]
        if subkeys:
            inner = ", ".join(f"{sub!r}: None" for sub in subkeys)
            lines.append(f"    {key.key!r}: {{{inner}}},")
        else:
            lines.append(f"    {key.key!r}: None,")
    lines.append("}")
    return "\n".join(lines) + "\n"


def starter_source(assignment: Assignment) -> str:
    header = (f"{assignment.id}: {assignment.title}\n\n{assignment.summary}\n\n"
              f"Fill in every function{' and the ANSWERS dict' if assignment.answers else ''}, "
              "then check your work with:\n\n"
              f"    grader check {assignment.filename}\n\n"
              "Arrays arrive as float64 numpy arrays; return numpy arrays, Python numbers,\n"
              "lists/tuples of them, or torch tensors. Vectors are 1-D arrays.\n\n"
              f"Working in a notebook? Submit {assignment.id}.ipynb (a {assignment.filename} next to it wins).\n"
              "Its code cells run in document order (not the order you ran them); a cell\n"
              "that raises is skipped (its error is printed) and the next one runs; a cell\n"
              "tagged skip-grading or starting with '# grader: skip' is not run; a cell that\n"
              "starts with a cell magic (%%time, %%capture, %%bash, %%writefile, ...) is not\n"
              "run at all, so keep graded code out of such cells; line magics (%matplotlib)\n"
              "and shell lines (!pip install) do nothing. Errors name the cell and line:\n"
              "'cell 7, line 3' is the 7th cell of the notebook, markdown cells counted.")
    parts = [f'"""{header}\n"""', "", "import numpy as np", ""]
    for problem in assignment.problems:
        parts.append("")
        if isinstance(problem, FunctionProblem):
            parts.append(_function(problem))
        else:
            parts.append(f"# {problem.title}\n" + "\n".join(
                "# " + line if line else "#" for line in problem.statement.strip().splitlines()))
            parts.append(_answers(problem))
    return "\n".join(parts).rstrip() + "\n"
