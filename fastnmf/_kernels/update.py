"""The multiplicative update itself, shared by every loss and layout."""

import numpy as np
from numba import prange

from .._jit import inlined_kernel, kernel
from .gram import blas_block_rows


@kernel
def multiplicative_update(A, num, den, gram, l1, l2, gamma, eps, tiny):
    """A <- A * (num / (den + l1 + l2 A)) ** gamma, in place.

    ``l1`` and ``l2`` hold one penalty weight per row of A (the same value in
    every row unless the penalty scales with each row's observed entries).

    ``den`` has A's shape, or one row that every row of A shares. When
    ``gram`` is not empty (G = B^T B, r x r), ``den`` is only storage: it
    first receives A G, from A before it changes, by BLAS on blocks of rows
    (see :mod:`fastnmf._kernels.gram`). That is the Frobenius denominator on
    sparse data, formed here rather than by a kernel of its own (each kernel
    costs compile time).

    A zero denominator becomes ``eps`` and entries below ``tiny`` are flushed
    to zero (the epsilon policy, :mod:`fastnmf._epsilon`). ``gamma`` is the
    majorization-minimization exponent of the beta-divergence.
    """
    r = A.shape[1]
    shared = den.shape[0] == 1
    with_gram = gram.shape[0] > 0
    if with_gram:
        step = blas_block_rows(r)
        for b in prange((A.shape[0] + step - 1) // step):
            start = b * step
            end = min(start + step, A.shape[0])
            np.dot(A[start:end], gram, den[start:end])
    for i in prange(A.shape[0]):
        # den[row, k], not a view den[row]: a view in a parallel loop costs an
        # atomic reference count on den, which every thread updates in turn
        row = i - i if shared else i  # (a literal 0 would unify with the loop index as a float)
        update_row(A, A, i, num, den, row, l1, l2, gamma, eps, tiny)


@inlined_kernel
def update_row(out, A, i, num, den, row, l1, l2, gamma, eps, tiny):
    """out[i] = row i of A after :func:`multiplicative_update` (den's row
    ``row``); ``out`` may be A itself, or num (each entry is read before it
    is written). The masked CSR kernel's loops run it too, on each row once
    its terms are summed (:func:`fastnmf._kernels.csr._updated_row`), and
    its vector paths the same operations in LLVM code
    (:meth:`fastnmf._kernels.rowcode.RowCode.updated`)."""
    zero = eps - eps
    one = eps / eps
    for k in range(A.shape[1]):
        a = A[i, k]
        d = den[row, k] + l1[i] + l2[i] * a
        if d == zero:
            d = eps
        ratio = num[i, k] / d
        if gamma != one:
            ratio = ratio**gamma
        a = a * ratio
        if a < tiny:
            a = zero
        out[i, k] = a
