"""Parallel kernels over all m x n entries: the terms of the update on a
dense V, by tiles (BLAS for the products, called from the kernel), and the
implicit zeros' share of the update on a sparse V for beta other than 1 and
2 (fused, nothing stored).
"""

import numpy as np
from numba import prange

from .._jit import kernel, serial_kernel
from .elementwise import clamp, divergence, power
from .rows import GROUP, add_four_rows, add_row, four_dots, row_dot, zero_row


@kernel
def dense_tile_terms(X, weights, A, B, beta, eps, tile_rows, tile_cols, num, den, loss_parts, with_loss, with_den):
    """The numerator and denominator of the update of A on a dense X (p x q),
    tile by tile, with B (q x r):

        num = (M * X * (A B^T)^(beta - 2)) @ B
        den = (M * (A B^T)^(beta - 1)) @ B          (only ``with_den``)

    M holds ``weights`` (all ones when ``weights`` is empty). Entries whose
    weight is zero are never read from X (they may hold NaN). ``(A B^T)_ij``
    is clamped at ``eps`` for beta < 2. With ``with_loss``,
    ``loss_parts[b]`` receives the weighted objective of block ``b`` of
    ``tile_rows`` rows.

    Each parallel iteration owns a block of rows and walks its tiles of
    ``tile_cols`` columns: the tile of A B^T by one BLAS call, then the
    elementwise work on it while it is in cache, then its products with B by
    BLAS, added to the block's rows of ``num`` and ``den``. Nothing m x n is
    stored, and each BLAS call is small enough (``tile_rows * tile_cols * r``
    multiply-adds, at most 65,536 x 4, see :func:`fastnmf._terms.dense_tiles`)
    that OpenBLAS runs it on the calling thread: no BLAS threads spin next to
    Numba's (see :mod:`fastnmf._kernels.gram`). For the H update, X is V^T
    (a C-ordered copy), A = H^T and B = W.

    The tiles' size depends on r only, never on the number of threads, so
    neither do the results.
    """
    p = X.shape[0]
    for b in prange((p + tile_rows - 1) // tile_rows):
        first = b * tile_rows
        loss_parts[b] = _tile_rows(
            X, weights, A, B, beta, eps, first, min(first + tile_rows, p), tile_cols, num, den, with_loss, with_den
        )


@serial_kernel
def _tile_rows(X, weights, A, B, beta, eps, i0, i1, tile_cols, num, den, with_loss, with_den):
    """dense_tile_terms for rows i0..i1-1 of X, the tiles one after the
    other; returns their objective. (A serial function called once per block:
    compiled inside the parallel loop, the same code took 0.8 s longer to
    compile per dtype.)"""
    one = eps / eps
    q = X.shape[1]
    r = A.shape[1]
    rows = i1 - i0
    stacked = 2 * rows if with_den else rows  # the tile of A B^T, then the denominator's coefficients
    products = np.empty((stacked, r), dtype=A.dtype)
    for i in range(i0, i1):
        zero_row(num, i)
        if with_den:
            zero_row(den, i)
    part = 0.0
    for j0 in range(0, q, tile_cols):
        B_tile = B[j0 : min(j0 + tile_cols, q)]
        tiles = np.empty((stacked, B_tile.shape[0]), dtype=A.dtype)
        np.dot(A[i0:i1], B_tile.T, tiles[:rows])
        part += _tile_coefficients(X, weights, i0, j0, tiles, rows, beta, eps, with_loss, with_den)
        np.dot(tiles[:rows], B_tile, products[:rows])
        if with_den:  # a BLAS call of its own: stacked, the call would be twice the size
            np.dot(tiles[rows:], B_tile, products[rows:])
        for t in range(rows):
            add_row(num, i0 + t, products, t, one)
            if with_den:
                add_row(den, i0 + t, products, rows + t, one)
    return part


@serial_kernel
def _tile_coefficients(X, weights, i0, j0, tiles, rows, beta, eps, with_loss, with_den):
    """The tile ab = (A B^T)[i0:, j0:] in ``tiles[:rows]`` becomes the
    numerator's coefficients M X ab^(beta - 2), and ``tiles[rows:]`` receives
    the denominator's, M ab^(beta - 1) (``with_den``); returns the tile's
    objective (``with_loss``).

    Unweighted iterations without the objective take loops that LLVM
    vectorizes: Kullback-Leibler (x / ab), beta = 1.5 (a square root) and
    Itakura-Saito (a reciprocal): 1.7x, 2.7x and 1.9x faster than the general
    loop, whose per-entry branches keep it scalar (2,000 x 3,000, r = 10,
    float32, one thread, the whole kernel)."""
    cols = tiles.shape[1]
    ab = tiles[:rows]
    d = tiles[rows:]
    unit = weights.shape[0] == 0
    zero = eps - eps
    one = eps / eps
    half = one / (one + one)
    part = 0.0
    if unit and not with_loss and not with_den and beta == one:
        for t in range(rows):
            for u in range(cols):
                ab[t, u] = X[i0 + t, j0 + u] / max(ab[t, u], eps)
        return part
    if unit and not with_loss and with_den and beta == one + half:
        for t in range(rows):
            for u in range(cols):
                root = np.sqrt(max(ab[t, u], eps))
                ab[t, u] = X[i0 + t, j0 + u] / root
                d[t, u] = root
        return part
    if unit and not with_loss and with_den and beta == zero:
        for t in range(rows):
            for u in range(cols):
                inverse = one / max(ab[t, u], eps)
                ab[t, u] = X[i0 + t, j0 + u] * inverse * inverse
                d[t, u] = inverse
        return part
    num_expo = beta - (one + one)  # not 2 * one: Numba types an int times a float32 as float64
    den_expo = beta - one
    for t in range(rows):
        for u in range(cols):
            w = one if unit else weights[i0 + t, j0 + u]
            if w == zero:
                ab[t, u] = zero
                if with_den:
                    d[t, u] = zero
                continue
            v = X[i0 + t, j0 + u]
            y = ab[t, u]
            x = clamp(y, beta, eps)
            ab[t, u] = w * v * power(x, num_expo, one)
            if with_den:
                d[t, u] = w * power(x, den_expo, one)
            if with_loss:
                part += w * divergence(v, y, beta, eps)
    return part


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
