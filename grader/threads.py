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

# What sizes numpy's BLAS and OpenMP thread pools.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def one_numeric_thread(env: MutableMapping[str, str] = os.environ) -> None:
    """One BLAS/OpenMP thread, unless the environment says otherwise; effective before numpy is imported."""
    for var in THREAD_VARS:
        env.setdefault(var, "1")
