"""Statements in the terminal: LaTeX as Unicode text; a fresh starter's check folds to one line per problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.loader import load_all
from grader.render.terminal import terminal_markdown
from grader.render.unicode_math import SUBSCRIPT, SUPERSCRIPT, SYMBOLS, WORDS, to_unicode
from grader.spec import FunctionProblem

MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$([^$\n]+?)\$", re.DOTALL)


def course_math() -> list[tuple[str, str, bool]]:
    """(where, latex, display) for every formula of every statement, summary and ANSWERS key of the course."""
    found = []
    for assignment in load_all():
        texts = [(assignment.id, assignment.summary)]
        for problem in assignment.problems:
            texts.append((f"{assignment.id}/{problem.id}", problem.statement))
            if not isinstance(problem, FunctionProblem):
                texts += [(f"{assignment.id}/{problem.id}/{k.key}", k.description) for k in problem.keys]
        for where, text in texts:
            for m in MATH.finditer(text):
                found.append((where, m.group(1) if m.group(1) is not None else m.group(2), m.group(1) is not None))
    return found


def test_every_formula_of_the_course_converts_without_a_backslash_left() -> None:
    formulas = course_math()
    assert len(formulas) > 300
    for where, latex, display in formulas:
        text = to_unicode(latex, display)
        assert text is not None, (where, latex)
        assert "\\" not in text, (where, latex, text)
        if "\\{" not in latex:  # grouping braces are gone (a cases block starts its rows with "{ ")
            assert "{" not in text.replace("{ ", ""), (where, latex, text)
        for command in re.findall(r"\\([A-Za-z]+)", latex):
            if command in SYMBOLS and command not in WORDS:
                symbol = SYMBOLS[command]
                forms = {symbol, SUPERSCRIPT.get(symbol, symbol), SUBSCRIPT.get(symbol, symbol)}
                assert symbol.strip() == "" or any(form in text for form in forms), (where, command, text)


@pytest.mark.parametrize(("latex", "expected"), [
    (r"\nu_\beta(x) = \frac{1}{\beta} \log \sum_{i=1}^{n} \exp(\beta x_i)", "νᵦ(x) = 1/β log Σᵢ₌₁ⁿ exp(β xᵢ)"),
    (r"\max_i x_i \le \nu_\beta(x) \le \max_i x_i + \frac{\log n}{\beta}", "maxᵢ xᵢ ≤ νᵦ(x) ≤ maxᵢ xᵢ + (log n)/β"),
    (r"m + \frac{1}{\beta}\log\sum_i \exp(\beta(x_i - m))", "m + 1/β log Σᵢ exp(β(xᵢ - m))"),
    (r"x \in \mathbb{R}^n", "x ∈ ℝⁿ"),
    (r"A_w \in \mathbb{R}^{(n-f+1)\times n}", "A_w ∈ ℝ^((n-f+1)× n)"),
    (r"u^\top A_w", "uᵀ A_w"),
    (r"\tfrac12 \|x\|^2", "½ ‖x‖²"),
    (r"\frac{a+b}{c}", "(a+b)/c"),
    (r"\left(-\frac{1}{\sqrt{n_{l-1}}}, \frac{1}{\sqrt{n_{l-1}}}\right)", "(-1/√nₗ₋₁, 1/√nₗ₋₁)"),
    (r"C_\text{in} \mathbf{1}_{n_l}", "Cᵢₙ 𝟏_(nₗ)"),
    (r"\partial\mathcal{L}/\partial A_\ell", "∂ℒ/∂ A_ℓ"),
    (r"\lfloor (H + 2p - k)/s \rfloor + 1", "⌊ (H + 2p - k)/s ⌋ + 1"),
    (r"\theta^{t+1} = \theta^t - \alpha\, \nabla_\theta L", "θᵗ⁺¹ = θᵗ - α ∇_θ L"),
])
def test_renderings(latex: str, expected: str) -> None:
    assert to_unicode(latex) == expected


def test_unknown_math_stays_latex_as_code() -> None:
    assert to_unicode(r"\weird{x} + 1") is None
    assert to_unicode(r"\frac{1}{2") is None  # unbalanced
    assert terminal_markdown(r"see $\weird{x}$ and $\beta \le 1$") == r"see `\weird{x}` and β ≤ 1"


def test_markdown_around_the_math() -> None:
    md = terminal_markdown("Code `$x$` stays, $x^*$ is escaped, and\n\n$$\\begin{cases} 1 & x > 0\\\\ 0 & "
                           "\\text{otherwise}\\end{cases}$$\n")
    assert "`$x$`" in md and r"x\*" in md
    assert "```\n{ 1    x > 0\n{ 0    otherwise\n```" in md


def test_show_prints_unicode_math() -> None:
    out = CliRunner().invoke(main, ["show", "hw7", "nu_beta"], env={"COLUMNS": "120"})
    assert out.exit_code == 0, out.output
    assert "νᵦ(x) = 1/β log Σᵢ₌₁ⁿ exp(β xᵢ)" in out.output and "x ∈ ℝⁿ" in out.output
    assert "\\beta" not in out.output and "\\frac" not in out.output


@pytest.mark.sandbox
def test_check_of_a_fresh_starter_is_one_line_per_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["init", "hw7"]).exit_code == 0
    out = runner.invoke(main, ["check", "hw7.py"], env={"COLUMNS": "120"})
    assert out.exit_code == 1, out.output
    lines = out.output.splitlines()
    assert len(lines) < 40, out.output
    assert "nu_beta  not implemented yet (raises NotImplementedError)  0/10" in lines
    assert "ANSWERS  not answered yet (None)  0/15" in lines
    assert "first failing case" not in out.output and "replay" not in out.output


def test_a_students_emoji_code_is_printed_as_text() -> None:
    """Rich would turn ":smile:" in a message into an emoji; the grader's console prints what the student wrote."""
    from grader.render.console import make_console

    console = make_console()
    with console.capture() as captured:
        console.print("NameError: name ':smile:' is not defined")
    assert ":smile:" in captured.get()
