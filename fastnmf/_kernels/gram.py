"""The Gram matrix B^T B of a factor, by a parallel kernel (the product A G
that the Frobenius update needs next is formed inside the update kernel,
:func:`fastnmf._kernels.update.multiplicative_update`).

It is small next to the sparse products, and BLAS would do it as fast,
but a fit on sparse data calls no BLAS at all during its iterations: after a
multithreaded call, OpenBLAS's threads keep spinning for a while before they
sleep, and the Numba kernel that runs next competes with them for the cores.
Measured on 2 cores (20,000 x 50,000, 3M nonzeros, r = 10, float64): a
sparse-dense product took 11 ms after 1-thread BLAS calls and 21-25 ms after
2-thread ones.
"""

from numba import prange

from .._jit import kernel


@kernel
def gram_parts(B, bounds, parts):
    """parts[c] = B[rows]^T B[rows] over the rows of chunk ``c``; the Gram
    matrix B^T B is ``parts.sum(axis=0)`` (added in chunk order, so the result
    does not depend on the number of threads).

    Rows are taken in pairs, so that each entry of parts[c] is loaded and
    stored once per two rows.
    """
    r = B.shape[1]
    for c in prange(bounds.shape[0] - 1):
        for l in range(r):
            for k in range(r):
                parts[c, l, k] = 0
        start, end = bounds[c], bounds[c + 1]
        paired = start + (end - start) // 2 * 2
        for i in range(start, paired, 2):
            for l in range(r):
                b0, b1 = B[i, l], B[i + 1, l]
                for k in range(r):
                    parts[c, l, k] += b0 * B[i, k] + b1 * B[i + 1, k]
        for i in range(paired, end):
            for l in range(r):
                b = B[i, l]
                for k in range(r):
                    parts[c, l, k] += b * B[i, k]

