"""``python -m grader`` is the ``grader`` command."""

from .program import run

if __name__ == "__main__":  # not when a process that renders pages (spawned) imports this module as its main
    run()
