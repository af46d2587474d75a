"""X B for a dense X (m x n) and a narrow factor B (n x r, r small), without
BLAS: each entry of the output is a dot product of a row of X with a column
of B, taken along the rows of X and of B^T, both contiguous.

OpenBLAS makes such thin products at a fraction of the machine's multiply-add
rate (about 60 GFlop/s at r = 10 in float32 on the 2 cores of
docs/performance.md, where a core can do over 150). Here a block of four
rows of X meets four rows of B^T in one pass over n: sixteen sums at once,
each entry of the eight rows read once for four of them, in a loop that
LLVM vectorizes along n. Against the faster of NumPy's two orientations on
2 OpenBLAS threads (the Intel Xeon of docs/performance.md, 2 threads,
medians of 21; 1,259 x 470, 2,000 x 3,000, 400 x 10,304 and their
transposes, float32 and float64): r = 5 1.6-2.5x faster, r = 10
1.4-2.1x, r = 12 0.93-1.7x, r = 16 0.84-1.5x (docs/kernel_log.md, "Thin
dense products without BLAS"). Blocks of two rows and four columns, or
four rows and two columns, ran 0.68-1.03x as fast at r = 10.

No BLAS thread is started, so none is left spinning next to the kernels
that follow (see :mod:`fastnmf._kernels.gram`). Each entry of the output is
one thread's sum in a fixed order: the result does not depend on the
number of threads. Each block sets the processor to take subnormal numbers
as zero (:mod:`fastnmf._kernels.fpmode`), as the other kernels that
multiply entries of the factors do.
"""

import numpy as np
from numba import prange

from .._jit import kernel
from .fpmode import restore_fp_mode, subnormals_off

ROWS = 4  # rows of X per block
COLUMNS = 4  # rows of B^T per pass over a block's rows


@kernel
def row_dots(X, Bt, out):
    """out = X Bt^T (m x r) for X (m x n) and Bt = B^T (r x n), C-ordered,
    m and r at least four.

    Block b takes rows 4b..4b+3, the last one rows m-4..m-1 (it overlaps
    the one before when four does not divide m, and writes only its own
    rows). A block's passes take rows k..k+3 of Bt for k = 0, 4, ..., the
    last one ending at row r - 1 (it overlaps the one before when four does
    not divide r: those columns are computed twice, to the same values)."""
    m, n = X.shape
    r = Bt.shape[0]
    if m < ROWS or r < COLUMNS or Bt.shape[1] != n or out.shape[0] != m or out.shape[1] != r:
        raise ValueError("row_dots needs X (m x n), Bt (r x n) and out (m x r) with m and r at least 4")
    zero = np.zeros(1, dtype=out.dtype)[0]
    for b in prange((m + ROWS - 1) // ROWS):
        mode = subnormals_off()
        own = b * ROWS
        i = min(own, m - ROWS)
        k = 0
        while k < r:
            k = min(k, r - COLUMNS)
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
            for j in range(n):
                x0, x1, x2, x3 = X[i, j], X[i + 1, j], X[i + 2, j], X[i + 3, j]
                b0, b1, b2, b3 = Bt[k, j], Bt[k + 1, j], Bt[k + 2, j], Bt[k + 3, j]
                s00 += x0 * b0
                s01 += x0 * b1
                s02 += x0 * b2
                s03 += x0 * b3
                s10 += x1 * b0
                s11 += x1 * b1
                s12 += x1 * b2
                s13 += x1 * b3
                s20 += x2 * b0
                s21 += x2 * b1
                s22 += x2 * b2
                s23 += x2 * b3
                s30 += x3 * b0
                s31 += x3 * b1
                s32 += x3 * b2
                s33 += x3 * b3
            if i >= own:
                out[i, k], out[i, k + 1], out[i, k + 2], out[i, k + 3] = s00, s01, s02, s03
            if i + 1 >= own:
                out[i + 1, k], out[i + 1, k + 1], out[i + 1, k + 2], out[i + 1, k + 3] = s10, s11, s12, s13
            if i + 2 >= own:
                out[i + 2, k], out[i + 2, k + 1], out[i + 2, k + 2], out[i + 2, k + 3] = s20, s21, s22, s23
            out[i + 3, k], out[i + 3, k + 1], out[i + 3, k + 2], out[i + 3, k + 3] = s30, s31, s32, s33
            k += COLUMNS
        restore_fp_mode(mode)
