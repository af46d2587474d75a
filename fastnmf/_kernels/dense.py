"""Parallel kernels on a dense V (m x n).

The products that cost O(m n r) (W H, R H^T, W^T R) are left to BLAS through
NumPy; these kernels do the elementwise work between them in one pass over
V, in place, with the work split into fixed row chunks.
"""

import numpy as np
from numba import prange

from .._jit import kernel, serial_kernel
from .elementwise import clamp, divergence, power
from .rows import GROUP, add_four_rows, add_row, four_dots, row_dot, zero_row


@kernel
def dense_terms(V, weights, beta, eps, bounds, wh, den, loss_parts, with_loss, with_den):
    """Turn ``wh`` = W H into the matrices whose products with the factors
    give the update's numerator and denominator:

        wh  <- M * V * (W H)^(beta - 2)     (so that num = wh @ H^T)
        den <- M * (W H)^(beta - 1)          (only ``with_den``)

    M holds ``weights`` (all ones when ``weights`` is empty). Entries whose
    weight is zero are never read from V (they may hold NaN). ``(W H)_ij`` is
    clamped at ``eps`` for beta < 2. With ``with_loss``, ``loss_parts[c]``
    receives the weighted objective of chunk ``c``.

    Fits call it for beta != 2 (beta = 2 needs no elementwise pass unmasked,
    and one product with M masked, see :class:`fastnmf._terms.DenseTerms`);
    it is exact for beta = 2 too. A branch for beta = 2 in the loop made
    LLVM compile two versions of it: 1.3 s more per dtype.
    """
    n = V.shape[1]
    unit = weights.shape[0] == 0
    zero = eps - eps
    one = eps / eps
    num_expo = beta - 2 * one
    den_expo = beta - one
    for c in prange(bounds.shape[0] - 1):
        part = 0.0
        for i in range(bounds[c], bounds[c + 1]):
            for j in range(n):
                w = one if unit else weights[i, j]
                ab = wh[i, j]
                if w == zero:
                    wh[i, j] = zero
                    if with_den:
                        den[i, j] = zero
                    continue
                v = V[i, j]
                x = clamp(ab, beta, eps)
                wh[i, j] = w * v * power(x, num_expo, one)
                if with_den:
                    den[i, j] = w * power(x, den_expo, one)
                if with_loss:
                    part += w * divergence(v, ab, beta, eps)
        loss_parts[c] = part


@serial_kernel
def _power_entry(ab, beta, eps, expo, half, one, with_loss):
    """For one entry ab = (A B^T)_ij: its coefficient clamp(ab)^(beta - 1) on
    B[j], and (with ``with_loss``) ab^beta (unclamped) in float64. Square
    roots for beta = 1.5 and 0.5."""
    if expo == half:
        x = np.sqrt(max(ab, eps))
        loss = float(ab) * np.sqrt(float(ab)) if with_loss else 0.0
    elif expo == -half:
        x = one / np.sqrt(max(ab, eps))
        loss = np.sqrt(float(ab)) if with_loss else 0.0
    else:
        x = power(clamp(ab, beta, eps), expo, one)
        loss = float(ab) ** float(beta) if with_loss else 0.0
    return x, loss


@kernel
def all_entries_power_product(A, B, beta, eps, bounds, den, loss_parts, with_loss):
    """den = clamp(A B^T)^(beta - 1) @ B over all m x n entries, fused: each
    (A B^T)_ij is formed, raised and accumulated in registers, so no block of
    A B^T is ever stored (BLAS would write and read it again: with r columns,
    that memory traffic costs more than the arithmetic). The clamp at ``eps``
    applies for beta < 2. With ``with_loss``, ``loss_parts[c]`` receives the
    sum of (A B^T)^beta (unclamped) over chunk ``c``, in float64.

    This is the implicit zeros' share of the unmasked update of a sparse V for
    a beta other than 1 and 2: O(m n r) time, no memory beyond the output.
    Square roots vectorize and ``pow`` does not, so beta = 1.5 and 0.5, the
    common non-integer betas, get them. The rows of B are taken four at a
    time, as in the CSR kernels (:mod:`fastnmf._kernels.csr`).
    """
    n = B.shape[0]
    zero = eps - eps
    one = eps / eps
    expo = beta - one
    half = one / (one + one)
    grouped = n // GROUP * GROUP
    for c in prange(bounds.shape[0] - 1):
        part = 0.0
        for i in range(bounds[c], bounds[c + 1]):
            zero_row(den, i)
            for j in range(0, grouped, GROUP):
                ab0, ab1, ab2, ab3 = four_dots(A, i, B, j, j + 1, j + 2, j + 3, zero)
                x0, l0 = _power_entry(ab0, beta, eps, expo, half, one, with_loss)
                x1, l1 = _power_entry(ab1, beta, eps, expo, half, one, with_loss)
                x2, l2 = _power_entry(ab2, beta, eps, expo, half, one, with_loss)
                x3, l3 = _power_entry(ab3, beta, eps, expo, half, one, with_loss)
                add_four_rows(den, i, B, j, j + 1, j + 2, j + 3, x0, x1, x2, x3)
                part += (l0 + l1) + (l2 + l3)
            for j in range(grouped, n):
                x, loss = _power_entry(row_dot(A, i, B, j, zero), beta, eps, expo, half, one, with_loss)
                add_row(den, i, B, j, x)
                part += loss
        loss_parts[c] = part
