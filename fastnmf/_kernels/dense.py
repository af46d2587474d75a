"""The parallel kernels over all m x n entries: the terms of the update on a
dense V, and the denominator over every entry of a sparse V for beta other
than 1 and 2, by tiles (BLAS for the products, called from the kernel), behind
:func:`dense_tile_terms`.
"""

import numpy as np
from numba import prange

from .._jit import block_kernel, first_class, inlined_kernel, kernel
from .elementwise import NORMAL_MIN, clamp, divergence, kl_log_term, log_of_normal, power
from .fpmode import restore_fp_mode, subnormals_off
from .rows import add_row, zero_row


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

    An X with no rows stands for X = 0 of A's rows by B's rows (beta > 0,
    ``with_den``, no weights): only ``den`` is computed (``num`` is not
    touched and may be empty), and the objective is the sum of
    d(0 | ab) = ab^beta / beta. That is the denominator of the update on a
    sparse V for beta other than 1 and 2, which involves every entry, zeros
    included (:func:`fastnmf._terms.all_entries_power_product`).

    Each parallel iteration owns a block of rows and walks its tiles of
    ``tile_cols`` columns: the tile of A B^T by one BLAS call, then the
    elementwise work on it while it is in cache, then its products with B by
    BLAS, added to the block's rows of ``num`` and ``den``. Nothing m x n is
    stored, and each BLAS call runs on the calling thread, so that no BLAS
    threads spin next to Numba's (see :mod:`fastnmf._kernels.gram`): either
    it is small enough (``tile_rows * tile_cols * r`` multiply-adds, at most
    65,536 x 4, which OpenBLAS never splits) or the caller holds BLAS to one
    thread for the call (:func:`fastnmf._terms.tile_terms`, which picks the
    tiles with :func:`fastnmf._terms.dense_tiles`). For the H update, X is
    V^T (a C-ordered copy), A = H^T and B = W.

    The tiles' size depends on r only, never on the number of threads, so
    neither do the results.

    The parallel loop is :func:`tile_row_blocks`, which runs
    :func:`tile_block` on each block of rows; that turns each tile of
    A B^T into coefficients by :func:`tile_coefficients` or
    :func:`weighted_tile_coefficients`, which leave any beta their loops do
    not cover to :func:`general_coefficients`. All four are block kernels
    (:func:`fastnmf._jit.block_kernel`), passed down as first-class
    functions: each is compiled once, and a fit compiles only the
    coefficients it needs (with the weighted and unweighted loops in one
    function, the first dense KL fit on a machine took 10.0 s instead of
    5.8 s).
    """
    coefficients = weighted_tile_coefficients if weights.shape[0] else tile_coefficients
    bodies = (first_class(body, A.dtype) for body in (tile_block, coefficients, general_coefficients))
    tile_row_blocks(
        *bodies, X, weights, A, B, beta, eps, tile_rows, tile_cols, num, den, loss_parts, with_loss, with_den,
    )  # fmt: skip


@kernel
def tile_row_blocks(
    block, coefficients, general, X, weights, A, B, beta, eps, tile_rows, tile_cols, num, den, loss_parts, with_loss,
    with_den,
):  # fmt: skip
    """The parallel loop of :func:`dense_tile_terms`: ``block`` (:func:`tile_block`)
    on each block of ``tile_rows`` rows."""
    p = A.shape[0]
    for b in prange((p + tile_rows - 1) // tile_rows):
        first = b * tile_rows
        last = min(first + tile_rows, p)
        mode = subnormals_off()  # for the BLAS calls of the block as well
        loss_parts[b] = block(
            coefficients, general, X, weights, A, B, beta, eps, first, last, tile_cols, num, den, with_loss, with_den
        )
        restore_fp_mode(mode)


@block_kernel("q", "RRnnAnxxbb")
def general_coefficients(X, weights, i0, j0, tiles, rows, beta, eps, with_loss, with_den):
    """The general per-entry loop of :func:`tile_coefficients` and
    :func:`weighted_tile_coefficients`: any beta, weights or not, X = 0 or
    not; scalar (its branches and powers keep LLVM from vectorizing it).

    Without weights and with the denominator, beta = 0.5 takes loops of its
    own, with X and for X = 0, by square roots, which LLVM vectorizes (the
    objective too, by the logarithm-free formula of :func:`_half_entry`);
    without weights or the objective, and with the denominator (most
    iterations of an unweighted fit), any other beta takes a loop that
    computes only the powers it needs (X = 0 needs no numerator).
    Against the per-entry loop below (the tile kernel on 2,000 x 3,000,
    r = 10, one thread, minima of 7): beta = 0.5 float32 43 -> 13.4 ms,
    float64 55 -> 19.7 ms; X = 0, beta = 0.5 42 -> 4.8 and 52 -> 12.0 ms,
    beta = 2.5 39 -> 13 and 40 -> 21.5 ms, beta = 1.2 102 -> 44 and 186 ->
    86 ms."""
    cols = tiles.shape[1]
    ab = tiles[:rows]
    d = tiles[rows:]
    unit = weights.shape[0] == 0
    zero = eps - eps
    one = eps / eps
    num_expo = beta - (one + one)  # not 2 * one: Numba types an int times a float32 as float64
    den_expo = beta - one
    x_zero = X.shape[0] == 0
    part = 0.0
    half = one / (one + one)
    if unit and not x_zero and with_den and beta == half:
        for t in range(rows):
            for u in range(cols):
                ab[t, u], d[t, u], loss = _half_entry(X[i0 + t, j0 + u], ab[t, u], eps, zero, with_loss)
                part += loss
        return part
    if unit and x_zero and with_den and beta == half:
        for t in range(rows):
            for u in range(cols):
                y = ab[t, u]
                d[t, u] = one / np.sqrt(max(y, eps))
                if with_loss:
                    part += np.sqrt(np.float64(y))  # d(0 | y) = y^0.5 / 0.5
        return 2.0 * part
    if unit and not x_zero and not with_loss and with_den:
        for t in range(rows):
            for u in range(cols):
                x = clamp(ab[t, u], beta, eps)
                ab[t, u] = X[i0 + t, j0 + u] * power(x, num_expo, one)
                d[t, u] = power(x, den_expo, one)
        return part
    if unit and x_zero and not with_loss and with_den:
        for t in range(rows):
            for u in range(cols):
                d[t, u] = power(clamp(ab[t, u], beta, eps), den_expo, one)
        return part
    for t in range(rows):
        for u in range(cols):
            w = one if unit else weights[i0 + t, j0 + u]
            if w == zero:
                ab[t, u] = zero
                if with_den:
                    d[t, u] = zero
                continue
            v = zero if x_zero else X[i0 + t, j0 + u]
            y = ab[t, u]
            x = clamp(y, beta, eps)
            ab[t, u] = w * v * power(x, num_expo, one)
            if with_den:
                d[t, u] = w * power(x, den_expo, one)
            if with_loss:
                part += w * divergence(v, y, beta, eps)
    return part


@block_kernel("q", "FRRnnAnxxbb", functions=(general_coefficients,))
def tile_coefficients(general, X, weights, i0, j0, tiles, rows, beta, eps, with_loss, with_den):
    """The tile ab = (A B^T)[i0:, j0:] in ``tiles[:rows]`` becomes the
    numerator's coefficients M X ab^(beta - 2), and ``tiles[rows:]`` receives
    the denominator's, M ab^(beta - 1) (``with_den``); returns the tile's
    objective (``with_loss``).

    Unweighted, Kullback-Leibler (x / ab), beta = 1.5 (a square root) and
    Itakura-Saito (a reciprocal) take loops that LLVM vectorizes, around the
    per-entry helpers below (:func:`_kl_entry` and the next two): 1.7x,
    2.7x and 1.9x faster than the general loop (:func:`general_coefficients`),
    whose per-entry branches keep it scalar (2,000 x 3,000, r = 10, float32,
    one thread, the whole kernel, without the objective). They compute the
    objective too, with square roots and the logarithm that vectorizes
    (:func:`~fastnmf._kernels.elementwise.log_of_normal`), where the
    general loop's scalar ``pow`` and ``log`` made an iteration that
    evaluates it cost 3-9 times one that does not (2,000 x 3,000, 2
    threads, fits of 50 iterations: beta = 1.5 1.6-2.0x faster, 5.8-7.6x
    with a callback; Itakura-Saito 1.05-1.3x and 2.4-3.0x; KL with a
    callback 2-3.5x). With X = 0 (an X of no rows) the numerator's
    coefficients are not needed; beta = 1.5 takes a loop of its own
    (square roots, vectorized, the objective too), other beta
    :func:`general_coefficients`, which has loops of its own for X = 0."""
    cols = tiles.shape[1]
    ab = tiles[:rows]
    d = tiles[rows:]
    unit = weights.shape[0] == 0
    zero = eps - eps
    one = eps / eps
    half = one / (one + one)
    part = 0.0
    x_zero = X.shape[0] == 0  # X = 0: general_coefficients, or for beta = 1.5 this loop
    if x_zero and with_den and beta == one + half:
        for t in range(rows):
            for u in range(cols):
                y = ab[t, u]
                d[t, u] = np.sqrt(max(y, eps))
                if with_loss:
                    part += float(y) * np.sqrt(float(y))  # d(0 | y) = y^1.5 / 1.5
        return part / 1.5
    # One loop per loss, each vectorized by LLVM (one loop with the loss chosen inside took 32 s to compile)
    if not x_zero and unit and not with_den and beta == one:
        for t in range(rows):
            for u in range(cols):
                ab[t, u], _, loss = _kl_entry(X[i0 + t, j0 + u], one, ab[t, u], eps, zero, with_loss)
                part += loss
        return part
    if not x_zero and unit and with_den and beta == one + half:
        for t in range(rows):
            for u in range(cols):
                ab[t, u], d[t, u], loss = _root_entry(X[i0 + t, j0 + u], one, ab[t, u], eps, zero, with_loss)
                part += loss
        return part
    if not x_zero and unit and with_den and beta == zero:
        for t in range(rows):
            for u in range(cols):
                ab[t, u], d[t, u], loss = _itakura_saito_entry(X[i0 + t, j0 + u], one, ab[t, u], eps, zero, with_loss)
                part += loss
        return part
    return general(X, weights, i0, j0, tiles, rows, beta, eps, with_loss, with_den)


@block_kernel("q", "FRRnnAnxxbb", functions=(general_coefficients,))
def weighted_tile_coefficients(general, X, weights, i0, j0, tiles, rows, beta, eps, with_loss, with_den):
    """:func:`tile_coefficients` with weights: KL, beta = 1.5 and
    Itakura-Saito in written-out loops (a weighted update always has its
    denominator; where a weight is zero, v is loaded and then replaced by
    zero: V may hold NaN there, and a conditional load would keep the loop
    scalar), other beta by the general loop. Against the general loop
    (2,000 x 3,000, 80% observed, r = 10, float32, one thread, the whole
    kernel): KL 1.8x, beta = 1.5 2.3x faster, and 2.4x and 9x on the
    iterations that evaluate the objective."""
    cols = tiles.shape[1]
    ab = tiles[:rows]
    d = tiles[rows:]
    zero = eps - eps
    one = eps / eps
    half = one / (one + one)
    part = 0.0
    x_zero = X.shape[0] == 0
    if not x_zero and with_den and beta == one:
        for t in range(rows):
            for u in range(cols):
                w, v = _weighted_value(X, weights, i0 + t, j0 + u, zero)
                ab[t, u], d[t, u], loss = _kl_entry(v, w, ab[t, u], eps, zero, with_loss)
                part += loss
        return part
    if not x_zero and with_den and beta == one + half:
        for t in range(rows):
            for u in range(cols):
                w, v = _weighted_value(X, weights, i0 + t, j0 + u, zero)
                ab[t, u], d[t, u], loss = _root_entry(v, w, ab[t, u], eps, zero, with_loss)
                part += loss
        return part
    if not x_zero and with_den and beta == zero:
        for t in range(rows):
            for u in range(cols):
                w, v = _weighted_value(X, weights, i0 + t, j0 + u, zero)
                ab[t, u], d[t, u], loss = _itakura_saito_entry(v, w, ab[t, u], eps, zero, with_loss)
                part += loss
        return part
    return general(X, weights, i0, j0, tiles, rows, beta, eps, with_loss, with_den)


@block_kernel("q", "FFRRAAxxnnnAAbb", functions=(tile_coefficients, general_coefficients))
def tile_block(coefficients, general, X, weights, A, B, beta, eps, i0, i1, tile_cols, num, den, with_loss, with_den):
    """:func:`dense_tile_terms` for rows i0..i1-1 of X, the tiles one after
    the other, each turned into coefficients by ``coefficients``
    (:func:`tile_coefficients` or :func:`weighted_tile_coefficients`, which
    take ``general``); returns their objective."""
    one = eps / eps
    q = B.shape[0]
    r = A.shape[1]
    rows = i1 - i0
    with_num = X.shape[0] > 0  # else X = 0: den only
    stacked = 2 * rows if with_den else rows  # the tile of A B^T, then the denominator's coefficients
    products = np.empty((stacked, r), dtype=A.dtype)
    for i in range(i0, i1):
        if with_num:
            zero_row(num, i)
        if with_den:
            zero_row(den, i)
    part = 0.0
    for j0 in range(0, q, tile_cols):
        B_tile = B[j0 : min(j0 + tile_cols, q)]
        tiles = np.empty((stacked, B_tile.shape[0]), dtype=A.dtype)
        np.dot(A[i0:i1], B_tile.T, tiles[:rows])
        part += coefficients(general, X, weights, i0, j0, tiles, rows, beta, eps, with_loss, with_den)
        if with_num:
            np.dot(tiles[:rows], B_tile, products[:rows])
        if with_den:  # a BLAS call of its own: stacked, the call would be twice the size
            np.dot(tiles[rows:], B_tile, products[rows:])
        for t in range(rows):
            if with_num:
                add_row(num, i0 + t, products, t, one)
            if with_den:
                add_row(den, i0 + t, products, rows + t, one)
    return part


@inlined_kernel
def _weighted_value(X, weights, i, j, zero):
    """The weight of entry (i, j) and its value, zero where the weight is."""
    w = weights[i, j]
    stored = X[i, j]
    return w, (stored if w != zero else zero)


@inlined_kernel
def _kl_entry(v, w, y, eps, zero, with_loss):
    """Kullback-Leibler at one entry of weight w, value v and y = (A B^T)_ij,
    x = max(y, eps): the coefficients w v / x and w, and with ``with_loss``
    w d(v | y) in float64, d(v | y) = v log(v / x) - v + x (y where v = 0)."""
    x = max(y, eps)
    loss = 0.0
    if with_loss:
        v64, x64 = np.float64(v), np.float64(x)
        term = kl_log_term(v64, x64) + x64
        loss = np.float64(w) * (term if v > zero else np.float64(y))
    return w * v / x, w, loss


@inlined_kernel
def _root_entry(v, w, y, eps, zero, with_loss):
    """beta = 1.5 likewise: w v / sqrt(x) and w sqrt(x), and w d(v | y) with
    d(v | y) = (v^1.5 + x^1.5 / 2 - 1.5 v x^0.5) / 0.75 (y^1.5 / 1.5 where
    v = 0), by square roots."""
    root = np.sqrt(max(y, eps))
    loss = 0.0
    if with_loss:
        v64, y64 = np.float64(v), np.float64(y)
        x64 = max(y64, np.float64(eps))
        root64 = np.sqrt(x64)
        term = (v64 * np.sqrt(v64) + 0.5 * x64 * root64 - 1.5 * v64 * root64) / 0.75
        loss = np.float64(w) * (term if v > zero else y64 * np.sqrt(y64) / 1.5)
    return w * v / root, w * root, loss


@inlined_kernel
def _half_entry(v, y, eps, zero, with_loss):
    """beta = 0.5 with no weight: v / x^1.5 and 1 / x^0.5, x = max(y, eps),
    and d(v | y) = 2 x^0.5 + 2 v / x^0.5 - 4 v^0.5 (2 y^0.5 where v = 0), by
    square roots."""
    one = eps / eps
    x = max(y, eps)
    root = np.sqrt(x)
    loss = 0.0
    if with_loss:
        v64, y64 = np.float64(v), np.float64(y)
        root64 = np.sqrt(max(y64, np.float64(eps)))
        term = 2.0 * root64 + 2.0 * v64 / root64 - 4.0 * np.sqrt(v64)
        loss = term if v > zero else 2.0 * np.sqrt(y64)
    return v / (x * root), one / root, loss


@inlined_kernel
def _itakura_saito_entry(v, w, y, eps, zero, with_loss):
    """Itakura-Saito likewise: w v / x^2 and w / x, and w d(v | y) with
    d(v | y) = v / x - log(v / x) - 1. V > 0 where the weight is not zero
    (the loss is undefined at zero); where it is, v = 0 gives a finite term
    that the weight zeroes."""
    one = eps / eps
    x = max(y, eps)
    inverse = one / x
    loss = 0.0
    if with_loss:
        ratio = np.float64(v) / np.float64(x)
        loss = np.float64(w) * (ratio - log_of_normal(max(ratio, NORMAL_MIN)) - 1.0)
    return w * v * inverse * inverse, w * inverse, loss
