"""Auto-grader for the mathematics of deep learning.

The public surface: load assignments, grade a submission, grade a batch, and
the result types every renderer reads. Everything else is internal.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
