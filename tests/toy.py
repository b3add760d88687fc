"""The tiny course the engine, sandbox and CLI tests grade with, and a submission that earns full marks."""

from __future__ import annotations

from pathlib import Path

COURSE = Path(__file__).parent / "fixtures" / "course"
GOOD = """
import numpy as np
def double(x): return 2 * x
def halves(n): return (n // 2, n - n // 2)
ANSWERS = {"answer": 42, "ops": {"a": 1, "b": 2}}
"""
