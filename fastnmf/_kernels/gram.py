"""The r x r products of the Frobenius updates on sparse data: the Gram matrix
B^T B of a factor here (and in float64, for the objective, of a float32
factor), the product A G inside the update kernel
(:func:`fastnmf._kernels.update.multiplicative_update`); and the dense
products of HALS, X B for a dense X, by :func:`row_block_products`.

Both are handed to BLAS from inside the parallel loop, a block of rows per
call, each block small enough that BLAS runs it on the calling thread:
OpenBLAS starts its own threads only for a product whose m n k exceeds
65536 x GEMM_MULTITHREAD_THRESHOLD (4 by default), 262,144 multiply-adds
(``interface/gemm.c`` in OpenBLAS), and :data:`BLAS_BLOCK_WORK` is half
that. Numba's threads thus share the cores with no BLAS thread: a
multithreaded BLAS call between two kernels is what must not happen, since
OpenBLAS's threads keep spinning for a while afterwards and the next kernel
competes with them (measured on 2 cores, 20,000 x 50,000, 3M nonzeros,
r = 10, float64: a sparse-dense product took 11 ms after 1-thread BLAS calls
and 21-25 ms after 2-thread ones).

Blocked BLAS against the hand-written loops it replaced (20,000 x r,
medians of 21, one thread): B^T B 2.4x (r = 10) and 2.4-3.1x (r = 50)
faster, A G 1.7-3.4x and 2.1-2.7x, float32 and float64.
"""

import numpy as np
from numba import prange

from .._jit import kernel, serial_kernel

BLAS_SINGLE_THREAD_WORK = 65536 * 4  # the most multiply-adds OpenBLAS runs on the calling thread (2^18)
# per BLAS call at most (a block has at least one row: r^2 above r = 362)
BLAS_BLOCK_WORK = BLAS_SINGLE_THREAD_WORK // 2


@serial_kernel
def blas_block_rows(r):
    """Rows of an r-column factor per BLAS call (see BLAS_BLOCK_WORK)."""
    return max(1, BLAS_BLOCK_WORK // max(r * r, 1))


@kernel
def gram_parts(B, bounds, parts):
    """parts[c] = B[rows]^T B[rows] over the rows of chunk ``c``; the Gram
    matrix B^T B is ``parts.sum(axis=0)`` (added in chunk order, so the result
    does not depend on the number of threads). The parts are symmetric up
    to the order in which BLAS adds; :func:`fastnmf._terms.gram` makes the
    sum exactly symmetric."""
    r = B.shape[1]
    step = blas_block_rows(r)
    for c in prange(bounds.shape[0] - 1):
        block = np.empty((r, r), dtype=B.dtype)
        for l in range(r):
            for k in range(r):
                parts[c, l, k] = 0
        for start in range(bounds[c], bounds[c + 1], step):
            rows = B[start : min(start + step, bounds[c + 1])]
            np.dot(rows.T, rows, block)
            for l in range(r):
                for k in range(r):
                    parts[c, l, k] += block[l, k]


@kernel
def gram_parts_widened(B, bounds, parts):
    """:func:`gram_parts` in float64 for a float32 B: parts[c] = B[rows]^T
    B[rows] (float64) over the rows of chunk ``c``, each block of rows
    copied into a float64 buffer of the thread's before its BLAS call. For
    the Frobenius objective, which needs the Gram matrices in float64 (its
    terms nearly cancel near a good fit) and, so, no longer a float64 copy
    of the whole factor: on the 0.5M matrix (float32, r = 10, 2 threads, in
    a fit) the Gram matrix of H^T took 0.15-0.19 ms this way, and 0.36-0.46
    ms as a float64 copy (0.13-0.23 ms) and :func:`gram_parts` on it."""
    r = B.shape[1]
    step = blas_block_rows(r)
    for c in prange(bounds.shape[0] - 1):
        block = np.empty((r, r), dtype=np.float64)
        wide = np.empty((min(step, bounds[c + 1] - bounds[c]), r), dtype=np.float64)
        for l in range(r):
            for k in range(r):
                parts[c, l, k] = 0
        for start in range(bounds[c], bounds[c + 1], step):
            n = min(step, bounds[c + 1] - start)
            for i in range(n):
                for k in range(r):
                    wide[i, k] = B[start + i, k]
            rows = wide[:n]
            np.dot(rows.T, rows, block)
            for l in range(r):
                for k in range(r):
                    parts[c, l, k] += block[l, k]


@kernel
def row_block_products(X, B, step, out):
    """out = X B for a dense X, one BLAS call per block of ``step`` rows of X,
    the blocks in parallel.

    The caller holds BLAS to the calling thread
    (:func:`fastnmf._threads.blas_on_calling_thread`), since a block's
    product may be far above BLAS_SINGLE_THREAD_WORK: then Numba's threads
    are the only ones, and none of OpenBLAS's spins on after the call (see
    ``DenseTerms._products`` in :mod:`fastnmf._terms`). The caller's
    blocks depend on X's shape only, so the result does not depend on the
    number of threads."""
    for b in prange((X.shape[0] + step - 1) // step):
        start = b * step
        end = min(start + step, X.shape[0])
        np.dot(X[start:end], B, out[start:end])
