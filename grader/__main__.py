"""``python -m grader`` is the ``grader`` command."""

from .cli import run

run()
