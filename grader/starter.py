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
        if isinstance(key.expected, dict):
            inner = ", ".join(f"{sub!r}: None" for sub in key.expected)
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
              "lists/tuples of them, or torch tensors. Vectors are 1-D arrays.")
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
