"""How many threads numpy's BLAS and OpenMP pools run in the grader's processes: one.

Students' processes are limited and share the machine; the grader's own arrays are small and its cores
belong to the sandboxed workers (measured: a pool's start-up made `grader check` 15 % slower on 2 cores).
Imports nothing heavy: the ``grader`` program reads it before it starts a self-check's worker.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import MutableMapping

from .sandbox.worker.numeric_threads import THREAD_VARS  # the worker reads the same list

__all__ = ["THREAD_VARS", "one_numeric_thread"]


def one_numeric_thread(env: MutableMapping[str, str] = os.environ) -> None:
    """One BLAS/OpenMP thread, unless the environment says otherwise; effective before numpy is imported."""
    for var in THREAD_VARS:
        env.setdefault(var, "1")
