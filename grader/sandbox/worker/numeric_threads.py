"""What sizes numpy's BLAS and OpenMP thread pools: read by the grader (``grader.threads``) and, as a top-level
module, by the worker and the portable child, which set each to one before numpy loads (a pool hangs or spins
under a process's tight limits). Standard library only."""

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
