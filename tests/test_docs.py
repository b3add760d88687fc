"""The README's two commands stay true: CI runs the test command, and both start from nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_readme_opens_with_setup_then_grade_and_setup_then_test() -> None:
    grade, test = readme_commands()
    for command in (grade, test):
        assert command.startswith("python3 -m venv .venv && ") and "pip install -q torch==2.13.0" in command
    assert "grader grade all submissions/ --out reports/" in grade
    assert test.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    _, test = readme_commands()
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()
