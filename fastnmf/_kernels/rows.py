"""Row helpers shared by the kernels that sum scaled rows of a factor B into
a row of an output, or take dot products of a row of A with rows of B.

They are inlined by Numba (``inlined_kernel``) into the kernels that call
them: left as calls, a call per group of entries costs more than the grouping
saves (see :mod:`fastnmf._kernels.csr` for why rows are taken four at a
time).
"""

from .._jit import inlined_kernel

GROUP = 4  # stored entries whose rows of B are summed before out[i] is updated


@inlined_kernel
def add_row(out, i, B, j, c):
    """out[i] += c * B[j]."""
    for k in range(B.shape[1]):
        out[i, k] += c * B[j, k]


@inlined_kernel
def add_four_rows(out, i, B, j0, j1, j2, j3, c0, c1, c2, c3):
    """out[i] += c0 B[j0] + c1 B[j1] + c2 B[j2] + c3 B[j3], with one load and
    one store of out[i, k] per k."""
    for k in range(B.shape[1]):
        out[i, k] += (c0 * B[j0, k] + c1 * B[j1, k]) + (c2 * B[j2, k] + c3 * B[j3, k])


@inlined_kernel
def row_dot(A, i, B, j, zero):
    """A[i] . B[j], accumulated in the dtype of ``zero``."""
    s = zero
    for k in range(A.shape[1]):
        s += A[i, k] * B[j, k]
    return s


@inlined_kernel
def four_dots(A, i, B, j0, j1, j2, j3, zero):
    """A[i] . B[j0], ..., A[i] . B[j3] in one pass over A[i]."""
    s0 = s1 = s2 = s3 = zero
    for k in range(A.shape[1]):
        a = A[i, k]
        s0 += a * B[j0, k]
        s1 += a * B[j1, k]
        s2 += a * B[j2, k]
        s3 += a * B[j3, k]
    return s0, s1, s2, s3


@inlined_kernel
def zero_row(out, i):
    for k in range(out.shape[1]):
        out[i, k] = 0


@inlined_kernel
def group_end(start, end):
    """Where the groups of four of the entries start..end-1 end."""
    return start + (end - start) // GROUP * GROUP


@inlined_kernel
def add_four_rows_twice(num, den, i, B, j0, j1, j2, j3, n0, n1, n2, n3, d0, d1, d2, d3):
    """add_four_rows for ``num`` and ``den`` in one pass over the rows of B."""
    for k in range(B.shape[1]):
        b0, b1, b2, b3 = B[j0, k], B[j1, k], B[j2, k], B[j3, k]
        num[i, k] += (n0 * b0 + n1 * b1) + (n2 * b2 + n3 * b3)
        den[i, k] += (d0 * b0 + d1 * b1) + (d2 * b2 + d3 * b3)
