"""Parallel kernels on a CSR matrix X (m x n, raw ``indptr, indices, data``).

Every kernel updates the rows of an output that belong to rows of X: the same
kernel serves the W update (X = V, A = W, B = H^T) and the H update
(X = V^T, stored as a second CSR matrix made once per fit, A = H^T, B = W).

Parallel work is split into row chunks ``bounds`` (see
:func:`fastnmf._chunks.balanced_row_chunks`) that hold about the same number
of nonzeros, not of rows. Each chunk is computed by one thread, which writes
only its rows of the outputs and its own slot ``loss_parts[c]``: no races, and
since the chunks do not depend on the number of threads, neither do the
results. The masked kernel and the sampled numerator for beta other than 1
run each thread's chunks by a block kernel, a first-class function that
their parallel loop calls through its address (:func:`observed_rows`,
:func:`beta_rows`; see :func:`fastnmf._jit.block_kernel`): compiled once
instead of in every function Numba builds around the loop. The KL kernel
keeps its loop inside ``prange``: as a block kernel it compiled in 2.5 s
instead of 4.5 s for both dtypes, but ran 3-8% slower in float64 (0.5M,
r = 10, one and two threads), which no measurement explained; tried again
on 2026-12-06 with the next group's dot products (below), one call per
thread's share: 4.8 against 6.6 s to compile for both dtypes, and
0.83-0.90x as fast (0.5M, r = 10, one thread, float32 and float64).

The stored entries of a row are taken in groups of four (then one at a time
for the rest). An output row ``out[i]`` is updated once per group with the
four scaled rows of B summed, instead of once per entry: LLVM cannot keep
``out[i]`` in registers (r is not known when compiling, and ``out`` might
alias B), so updating it per entry chains a load, an add and a store through
memory for every entry. Likewise the four products (A B^T)_ij of a group are
computed in one pass over A[i]. Measured against the entry-at-a-time loop
(synthetic 5,000 x 20,000 document-term matrix with 0.5M nonzeros, one
thread, r = 10 and 50, float32 and float64, medians of 11): ``X @ B`` 1.2 to
2.1 times faster (and faster than SciPy's), the sampled numerator 1.3 to 2.0
times, the observed-entry terms 1.0 to 2.0 times.

Where B is PREFETCH_MIN_BYTES or larger (:mod:`fastnmf._kernels.rows`;
256 KiB, half a Zen 3 core's L2 cache, through which the rest of the loop's
data passes too), each group first asks the processor for the rows of B
that the entries two groups on will gather
(:func:`~fastnmf._kernels.rows.prefetch_rows`): rows in random order are
what no hardware prefetcher foresees. On a Zen 3, whole MU fits on the 3M
matrix at r = 10 ran 1.14-1.35x faster (Frobenius, KL and masked, float32
and float64; docs/kernel_log.md).

The KL kernel (:func:`csr_kl_numerator`) overlaps each group with the next:
a group's sum of scaled rows of B takes, in the same pass, the dot products
of the next group. Against a group's dot products and then its sum (one
thread, kernels timed in turns in one process, minima of 21): 0.5M, r = 10,
float32 1.10-1.16x, float64 1.05-1.09x; 3M, r = 10, float32 1.10x,
float64 1.04-1.06x; 0.5M, r = 50, float32 0.99-1.07x, float64 1.00-1.01x.

The loop helpers (:mod:`fastnmf._kernels.rows`) are inlined by Numba: left
as calls, they cost more than the grouping saves. The per-entry scalar
helpers are ordinary calls; inlining them as well added a third to the cold
compile time for no measured gain.

For a factor of at most 16 columns (r = 10, the common case), the product,
the KL numerator and the masked kernel's Frobenius and KL paths take each
row by the code of :mod:`fastnmf._kernels.narrow` instead of these loops: a
row of B is one vector there, and the row's sums stay in registers. The
masked kernel does the same from 33 to 64 columns (its wide path, a row in
four vectors). The loops remain for the other widths, weighted entries and
other beta.
"""

import numpy as np
from numba import prange

from .._jit import block_kernel, cached_serial_kernel, first_class, kernel, serial_kernel
from .elementwise import clamp, divergence, divergence_above_zero, kl_log_term, power
from .fpmode import restore_fp_mode, subnormals_off
from .narrow import (
    contiguous_rows,
    is_narrow,
    is_wide,
    narrow_kl_row,
    narrow_observed_row,
    narrow_row_sum,
    wide_observed_row,
)
from .rows import (
    GROUP,
    add_four_rows,
    add_four_rows_next_dots,
    add_four_rows_twice,
    add_row,
    far_rows,
    four_dots,
    group_end,
    prefetch_rows,
    row_dot,
    zero_row,
)
from .shares import share, thread_shares
from .update import update_row


@kernel
def csr_times_dense(indptr, indices, data, B, bounds, out, accumulate):
    """out = X @ B (the numerator of the Frobenius update); with
    ``accumulate``, out += X @ B (for X split into column blocks, see
    :func:`fastnmf._csr.column_blocks`)."""
    far = far_rows(B)
    narrow = is_narrow(B) and contiguous_rows(out)
    for c in prange(bounds.shape[0] - 1):
        last = indptr[bounds[c + 1]] - 1
        for i in range(bounds[c], bounds[c + 1]):
            if narrow:
                narrow_row_sum(indices, data, indptr[i], indptr[i + 1], B, out, i, accumulate, last, far)
                continue
            if not accumulate:
                zero_row(out, i)
            start, end = indptr[i], indptr[i + 1]
            grouped = group_end(start, end)
            for p in range(start, grouped, GROUP):
                if far:
                    prefetch_rows(B, indices, p, last)
                add_four_rows(
                    out, i, B, indices[p], indices[p + 1], indices[p + 2], indices[p + 3],
                    data[p], data[p + 1], data[p + 2], data[p + 3],
                )  # fmt: skip
            for p in range(grouped, end):
                add_row(out, i, B, indices[p], data[p])


@serial_kernel
def _sampled_entry(ab, v, beta, eps, expo, one, with_loss):
    """For a stored entry v = X[i, j] with ab = (A B^T)_ij: its coefficient
    v ab^(beta - 2) on B[j] in the sampled numerator, and (with
    ``with_loss``) its share of the objective."""
    coef = v * power(clamp(ab, beta, eps), expo, one)
    loss = divergence_above_zero(v, ab, beta, eps) if with_loss else 0.0
    return coef, loss


@serial_kernel
def _kl_above_zero(data, base, abs_, eps):
    """The sum of d(v | ab) - d(0 | ab) = v log(v / x) - v + (x - ab), x =
    max(ab, eps), over stored entries v = data[base + q] with ab = abs_[q]
    (float64): the part of the Kullback-Leibler objective that needs a
    logarithm, by a loop LLVM vectorizes
    (:func:`~fastnmf._kernels.elementwise.kl_log_term`). x - ab is nonzero
    only where the clamp applies."""
    total = 0.0
    for q in range(abs_.shape[0]):
        v = np.float64(data[base + q])
        ab = abs_[q]
        x = max(ab, eps)
        total += kl_log_term(v, x) + (x - ab)
    return total


def csr_sampled_numerator(indptr, indices, data, A, B, beta, eps, bounds, out, loss_parts, with_loss, accumulate):
    """out = (X * (A B^T)^(beta - 2)) @ B, with A B^T evaluated only at X's
    stored entries (a sampled dense-dense product fused with the sparse-dense
    product). ``(A B^T)_ij`` is clamped at ``eps`` for beta < 2.

    With ``with_loss``, ``loss_parts[c]`` receives the sum over the chunk's
    stored entries of d(x | ab) - d(0 | ab); the rest of the objective,
    d(0 | ab) over all entries, is computed without touching X. With
    ``accumulate``, out += ... (X split into column blocks).

    Kullback-Leibler (beta = 1) has a kernel of its own,
    :func:`csr_kl_numerator`; every other beta runs :func:`csr_beta_numerator`.
    With both in one kernel, branching on beta, the KL loop that takes the
    next group's dot products ran no faster than the one before it
    (docs/kernel_log.md, "The next group's dot products")."""
    if beta == 1:
        csr_kl_numerator(indptr, indices, data, A, B, eps, bounds, out, loss_parts, with_loss, accumulate)
    else:
        csr_beta_numerator(indptr, indices, data, A, B, beta, eps, bounds, out, loss_parts, with_loss, accumulate)


@kernel
def csr_kl_numerator(indptr, indices, data, A, B, eps, bounds, out, loss_parts, with_loss, accumulate):
    """:func:`csr_sampled_numerator` for beta = 1.

    The coefficients of a group are v / max(ab, eps), four divisions that
    LLVM can do as one vector division. When the kernel computes the
    objective too, its entries' products ab are kept (one float64 per
    stored entry of the chunk) and their logarithms taken afterwards in a
    vectorized loop (:func:`_kl_above_zero`): the kernel of such an iteration
    2.0x faster than with the general per-entry helper and its scalar
    logarithm (0.5M nonzeros, r = 10, one thread, float32 7.7 -> 3.8 ms,
    float64 8.5 -> 4.2 ms; 2.7 and 3.2 ms without the objective).

    A group's sum of scaled rows of B takes, in the same pass over k, the
    dot products of the next group
    (:func:`~fastnmf._kernels.rows.add_four_rows_next_dots`): independent
    work for the processor to overlap, where the sum would otherwise wait
    for its own group's dot products, their reduction and the divisions.
    """
    zero = eps - eps
    far = far_rows(B)
    narrow = is_narrow(B) and contiguous_rows(A) and contiguous_rows(out)
    for c in prange(bounds.shape[0] - 1):
        mode = subnormals_off()
        part = 0.0
        base = indptr[bounds[c]]
        last = indptr[bounds[c + 1]] - 1
        kept = np.empty(last + 1 - base if with_loss else 0, dtype=np.float64)  # ab, for the objective
        for i in range(bounds[c], bounds[c + 1]):
            if narrow:
                start, end = indptr[i], indptr[i + 1]
                narrow_kl_row(
                    indices, data, start, end, A, i, B, eps, out, kept, base, with_loss, accumulate, last, far
                )
                continue
            if not accumulate:
                zero_row(out, i)
            start, end = indptr[i], indptr[i + 1]
            grouped = group_end(start, end)
            ab0 = ab1 = ab2 = ab3 = zero
            if grouped > start:
                ab0, ab1, ab2, ab3 = four_dots(
                    A, i, B, indices[start], indices[start + 1], indices[start + 2], indices[start + 3], zero
                )
            for p in range(start, grouped, GROUP):
                if far:
                    prefetch_rows(B, indices, p, last)
                j0, j1, j2, j3 = indices[p], indices[p + 1], indices[p + 2], indices[p + 3]
                x0, x1, x2, x3 = max(ab0, eps), max(ab1, eps), max(ab2, eps), max(ab3, eps)
                c0, c1, c2, c3 = data[p] / x0, data[p + 1] / x1, data[p + 2] / x2, data[p + 3] / x3
                if with_loss:  # d(v | ab) - d(0 | ab), later
                    q = p - base
                    kept[q], kept[q + 1], kept[q + 2], kept[q + 3] = ab0, ab1, ab2, ab3
                q = p + GROUP
                if q < grouped:
                    ab0, ab1, ab2, ab3 = add_four_rows_next_dots(
                        out, i, B, j0, j1, j2, j3, c0, c1, c2, c3,
                        A, indices[q], indices[q + 1], indices[q + 2], indices[q + 3], zero,
                    )  # fmt: skip
                else:
                    add_four_rows(out, i, B, j0, j1, j2, j3, c0, c1, c2, c3)
            for p in range(grouped, end):
                ab = row_dot(A, i, B, indices[p], zero)
                x = max(ab, eps)
                if with_loss:
                    kept[p - base] = ab
                add_row(out, i, B, indices[p], data[p] / x)
        if with_loss:
            part += _kl_above_zero(data, base, kept, np.float64(eps))
        loss_parts[c] = part
        restore_fp_mode(mode)


def csr_beta_numerator(indptr, indices, data, A, B, beta, eps, bounds, out, loss_parts, with_loss, accumulate):
    """:func:`csr_sampled_numerator` for any beta, through the per-entry
    helper :func:`_sampled_entry` (fits call it for beta other than 1).
    Each thread's share of the chunks is one call of :func:`beta_rows`, a
    block kernel (compiled once, not in every function Numba builds around
    a parallel loop, as the masked kernel's :func:`observed_rows`)."""
    rows = first_class(beta_rows, A.dtype, indices.dtype)
    shares = thread_shares(bounds.shape[0] - 1)
    beta_chunks(rows, indptr, indices, data, A, B, beta, eps, bounds, shares, out, loss_parts, with_loss, accumulate)


@kernel
def beta_chunks(rows, indptr, indices, data, A, B, beta, eps, bounds, shares, out, loss_parts, with_loss, accumulate):
    """The parallel loop of :func:`csr_beta_numerator`: ``rows``
    (:func:`beta_rows`) on each thread's share of the chunks."""
    chunks = bounds.shape[0] - 1
    for t in prange(shares):
        c0, c1 = share(chunks, t, shares)
        mode = subnormals_off()
        rows(indptr, indices, data, A, B, beta, eps, bounds, c0, c1, out, loss_parts, with_loss, accumulate)
        restore_fp_mode(mode)


@block_kernel("-", "IIrAAxxknnAlbb")
def beta_rows(indptr, indices, data, A, B, beta, eps, bounds, c0, c1, out, loss_parts, with_loss, accumulate):
    """:func:`csr_beta_numerator` on the chunks c0..c1-1, each chunk's share
    of the objective in ``loss_parts[c]``."""
    zero = eps - eps
    one = eps / eps
    expo = beta - (one + one)  # not 2 * one: Numba types an int times a float32 as float64
    far = far_rows(B)
    for c in range(c0, c1):
        part = 0.0
        last = indptr[bounds[c + 1]] - 1
        for i in range(bounds[c], bounds[c + 1]):
            if not accumulate:
                zero_row(out, i)
            start, end = indptr[i], indptr[i + 1]
            grouped = group_end(start, end)
            for p in range(start, grouped, GROUP):
                if far:
                    prefetch_rows(B, indices, p, last)
                j0, j1, j2, j3 = indices[p], indices[p + 1], indices[p + 2], indices[p + 3]
                ab0, ab1, ab2, ab3 = four_dots(A, i, B, j0, j1, j2, j3, zero)
                n0, l0 = _sampled_entry(ab0, data[p], beta, eps, expo, one, with_loss)
                n1, l1 = _sampled_entry(ab1, data[p + 1], beta, eps, expo, one, with_loss)
                n2, l2 = _sampled_entry(ab2, data[p + 2], beta, eps, expo, one, with_loss)
                n3, l3 = _sampled_entry(ab3, data[p + 3], beta, eps, expo, one, with_loss)
                part += (l0 + l1) + (l2 + l3)
                add_four_rows(out, i, B, j0, j1, j2, j3, n0, n1, n2, n3)
            for p in range(grouped, end):
                coef, loss = _sampled_entry(row_dot(A, i, B, indices[p], zero), data[p], beta, eps, expo, one, with_loss)
                part += loss
                add_row(out, i, B, indices[p], coef)
        loss_parts[c] = part


@serial_kernel
def _updated_row(A, i, num, den, l1_weights, l2_weights, gamma, eps, tiny):
    """num[i] = row i of A after its multiplicative update from num[i] and
    den[i] (:func:`~fastnmf._kernels.update.update_row`), for the loops of
    :func:`observed_rows`. A call of its own: inlined there by Numba, it
    made the kernel 1.1-1.4x slower on its vector paths too, which never
    run it (0.5M, r = 10, one thread, both sides, float32 and float64)."""
    update_row(num, A, i, num, den, i, l1_weights, l2_weights, gamma, eps, tiny)


@serial_kernel
def _observed_entry(ab, v, w, beta, eps, one, with_loss):
    """For an observed entry v = X[i, j] of weight w, with ab = (A B^T)_ij:
    its coefficients on B[j] in the numerator, w v ab^(beta - 2), and in the
    denominator, w ab^(beta - 1), and (with ``with_loss``) its weighted share
    of the objective. All three are zero where w is zero."""
    zero = eps - eps
    if w == zero:
        return zero, zero, 0.0
    if beta == 2:
        num_coef = w * v
        den_coef = w * ab
    else:
        x = clamp(ab, beta, eps)
        num_coef = w * v * power(x, beta - (one + one), one)
        den_coef = w * power(x, beta - one, one)
    loss = w * divergence(v, ab, beta, eps) if with_loss else 0.0
    return num_coef, den_coef, loss


@serial_kernel
def _half_square(v, ab):
    """d(v | ab) = (v - ab)^2 / 2 for beta = 2, in float64."""
    d = np.float64(v) - np.float64(ab)
    return 0.5 * d * d


@serial_kernel
def _observed_kl(data, base, abs_, eps):
    """The sum of d(v | ab) over stored entries v = data[base + q] with ab =
    abs_[q] (float64): v log(v / x) - v + x, x = max(ab, eps), where v > 0,
    and ab where v = 0 (d(0 | ab), unclamped), by a loop LLVM vectorizes."""
    total = 0.0
    for q in range(abs_.shape[0]):
        v = np.float64(data[base + q])
        ab = abs_[q]
        total += kl_log_term(v, max(ab, eps)) + (max(ab, eps) if v != 0 else ab)
    return total


@serial_kernel
def _observed_half_squares(data, base, abs_):
    """The sum of (v - ab)^2 / 2 over stored entries v = data[base + q] with
    ab = abs_[q] (float64)."""
    total = 0.0
    for q in range(abs_.shape[0]):
        d = np.float64(data[base + q]) - abs_[q]
        total += 0.5 * d * d
    return total


def csr_observed_terms(
    indptr, indices, data, weights, A, B, beta, eps, bounds, num, den, loss_parts, with_loss, accumulate, update=None
):
    """Numerator and denominator of the weighted update over X's stored
    entries only (the entries not stored are unknown, not zero):

        num = (M * X * (A B^T)^(beta - 2)) @ B,  den = (M * (A B^T)^(beta - 1)) @ B

    where M holds ``weights`` at the stored entries (all ones when ``weights``
    is empty). ``loss_parts[c]`` receives the weighted objective of the chunk.
    With ``accumulate``, num and den are added to. Cost O(nnz r); nothing
    m x n is formed.

    With unit weights, a group's coefficients for beta = 2 (v and ab) and
    beta = 1 (v / max(ab, eps) and 1) are written out rather than taken from
    four calls of the per-entry helper: 1.4-1.6x faster at r = 10 (see
    docs/kernel_log.md); so is their objective, from the products ab kept
    for the chunk and summed after it in a vectorized loop
    (:func:`_observed_kl`; :func:`_observed_half_squares` on the narrow
    path, which keeps them for beta = 2 too).

    With ``update = (l1, l2, gamma, tiny)``, num[i] receives instead row
    i of A after its multiplicative update from the row's totals, A[i] *
    (num[i] / (den[i] + l1[i] + l2[i] A[i])) ** gamma, the epsilon policy
    applied as :func:`~fastnmf._kernels.update.multiplicative_update`
    applies it, and den is scratch: num is then the updated A, and A is
    left as it was. The terms and the update are one pass and one kernel
    call: on the vector paths a row's updated values go out from the
    registers that summed it, where the update kernel reads num, den and A
    back from memory once every row is done (docs/kernel_log.md, "The
    masked update inside the masked kernel"). The update goes to num, not
    back to A: a masked vector store into A[i] makes the next row's load
    of A[i + 1], whose vector spans it, wait for the store (the H side of
    the 0.5M matrix, r = 10, one thread: 2.03 against 1.76 ms). The
    kernel runs with subnormal numbers taken as zero
    (:mod:`fastnmf._kernels.fpmode`), and so does this update, where the
    update kernel does not: an update that passes through a subnormal
    value (a ratio or a denominator below about 1e-38 in float32, 2e-308
    in float64) takes it as zero here. The entries it touches are at the
    epsilon policy's flush threshold: a float32 fit of a 7 x 6 matrix at
    r = 40, KL, gave one entry 0 here and 8.4e-38 by the update kernel.

    The chunks run in parallel (:func:`observed_chunks`), each thread's
    share by one call of :func:`observed_rows`.
    """
    rows = first_class(observed_rows, A.dtype, indices.dtype)
    shares = thread_shares(bounds.shape[0] - 1)
    if update is None:
        nothing = np.empty(0, dtype=A.dtype)
        update = (nothing, nothing, A.dtype.type(1), A.dtype.type(0))
    observed_chunks(
        rows, indptr, indices, data, weights, A, B, beta, eps, bounds, shares,
        num, den, loss_parts, with_loss, accumulate, *update,
    )  # fmt: skip


@kernel
def observed_chunks(
    rows, indptr, indices, data, weights, A, B, beta, eps, bounds, shares, num, den, loss_parts, with_loss,
    accumulate, l1_weights, l2_weights, gamma, tiny,
):  # fmt: skip
    """The parallel loop of :func:`csr_observed_terms`: ``rows``
    (:func:`observed_rows`) on each thread's share of the chunks
    (:mod:`fastnmf._kernels.shares`)."""
    chunks = bounds.shape[0] - 1
    for t in prange(shares):
        c0, c1 = share(chunks, t, shares)
        mode = subnormals_off()
        rows(
            indptr, indices, data, weights, A, B, beta, eps, bounds, c0, c1, num, den, loss_parts, with_loss,
            accumulate, l1_weights, l2_weights, gamma, tiny,
        )  # fmt: skip
        restore_fp_mode(mode)


@block_kernel("-", "IIrrAAxxknnAAlbbaaxx")
def observed_rows(
    indptr, indices, data, weights, A, B, beta, eps, bounds, c0, c1, num, den, loss_parts, with_loss, accumulate,
    l1_weights, l2_weights, gamma, tiny,
):  # fmt: skip
    """:func:`csr_observed_terms` on the chunks c0..c1-1 (rows
    bounds[c0]..bounds[c1]-1), each chunk's share of the objective in
    ``loss_parts[c]``; with the update's penalties (``l1_weights`` not
    empty), num[i] the updated row of A."""
    unit = weights.shape[0] == 0
    update = l1_weights.shape[0] > 0
    zero = eps - eps
    one = eps / eps
    # Weighted entries keep the general path, which never reads the value of a
    # weightless entry (it may be NaN).
    frobenius = unit and beta == one + one
    kl = unit and beta == one
    vectors = (frobenius or kl) and contiguous_rows(A) and contiguous_rows(num) and contiguous_rows(den)
    narrow = vectors and is_narrow(B)
    wide = vectors and is_wide(B)
    # the products ab kept for the objective, taken after each chunk
    keep = with_loss and (kl or (frobenius and (narrow or wide)))
    far = far_rows(B)
    for c in range(c0, c1):
        first, after = bounds[c], bounds[c + 1]
        part = 0.0
        base = indptr[first]
        last = indptr[after] - 1  # the chunk's last stored entry
        kept = np.empty(last + 1 - base if keep else 0, dtype=np.float64)
        for i in range(first, after):
            if narrow or wide:
                start, end = indptr[i], indptr[i + 1]
                arguments = (
                    indices, data, start, end, A, i, B, eps, num, den, kept, base, kl, with_loss, accumulate, last, far,
                    update, l1_weights, l2_weights, tiny,  # gamma is 1 for beta 1 and 2
                )  # fmt: skip
                if narrow:
                    narrow_observed_row(*arguments)
                else:
                    wide_observed_row(*arguments)
                continue
            if not accumulate:
                zero_row(num, i)
                zero_row(den, i)
            start, end = indptr[i], indptr[i + 1]
            grouped = group_end(start, end)
            for p in range(start, grouped, GROUP):
                if far:
                    prefetch_rows(B, indices, p, last)
                j0, j1, j2, j3 = indices[p], indices[p + 1], indices[p + 2], indices[p + 3]
                ab0, ab1, ab2, ab3 = four_dots(A, i, B, j0, j1, j2, j3, zero)
                if unit:
                    w0 = w1 = w2 = w3 = one
                else:
                    w0, w1, w2, w3 = weights[p], weights[p + 1], weights[p + 2], weights[p + 3]
                if frobenius:
                    n0, n1, n2, n3 = data[p], data[p + 1], data[p + 2], data[p + 3]
                    d0, d1, d2, d3 = ab0, ab1, ab2, ab3
                    if with_loss:
                        part += (_half_square(n0, ab0) + _half_square(n1, ab1)) + (
                            _half_square(n2, ab2) + _half_square(n3, ab3)
                        )
                elif kl:
                    x0, x1, x2, x3 = max(ab0, eps), max(ab1, eps), max(ab2, eps), max(ab3, eps)
                    n0, n1, n2, n3 = data[p] / x0, data[p + 1] / x1, data[p + 2] / x2, data[p + 3] / x3
                    d0 = d1 = d2 = d3 = one
                    if with_loss:
                        q = p - base
                        kept[q], kept[q + 1], kept[q + 2], kept[q + 3] = ab0, ab1, ab2, ab3
                else:
                    n0, d0, l0 = _observed_entry(ab0, data[p], w0, beta, eps, one, with_loss)
                    n1, d1, l1 = _observed_entry(ab1, data[p + 1], w1, beta, eps, one, with_loss)
                    n2, d2, l2 = _observed_entry(ab2, data[p + 2], w2, beta, eps, one, with_loss)
                    n3, d3, l3 = _observed_entry(ab3, data[p + 3], w3, beta, eps, one, with_loss)
                    part += (l0 + l1) + (l2 + l3)
                add_four_rows_twice(num, den, i, B, j0, j1, j2, j3, n0, n1, n2, n3, d0, d1, d2, d3)
            for p in range(grouped, end):
                j = indices[p]
                ab = row_dot(A, i, B, j, zero)
                if kl:
                    if with_loss:
                        kept[p - base] = ab
                    n_coef, d_coef, loss = data[p] / max(ab, eps), one, 0.0
                else:
                    w = one if unit else weights[p]
                    n_coef, d_coef, loss = _observed_entry(ab, data[p], w, beta, eps, one, with_loss)
                add_row(num, i, B, j, n_coef)
                add_row(den, i, B, j, d_coef)
                part += loss
            if update:
                _updated_row(A, i, num, den, l1_weights, l2_weights, gamma, eps, tiny)
        if keep:
            part += _observed_kl(data, base, kept, np.float64(eps)) if kl else _observed_half_squares(data, base, kept)
        loss_parts[c] = part


@cached_serial_kernel
def split_by_columns(
    indptr, indices, data, weights, column_block, firsts, block_indptr, starts, out_indices, out_data, out_weights
):  # fmt: skip
    """X's stored entries regrouped by blocks of columns, for
    :meth:`fastnmf._csr.CSRMatrix.split_columns`: column j is in block
    ``column_block[j]``, whose first column is ``firsts[b]``.

    Block b's entries go to ``starts[b]..starts[b + 1] - 1`` of the ``out_``
    arrays, each row's in X's order, their column indices counted from the
    block's first column; its row pointers, counted from its first entry, to
    ``block_indptr[b]``. ``block_indptr`` and ``starts`` must hold zeros on
    entry. Weights (if any) follow their entries.

    The values and weights come as raw 32-bit words, one row of ``data``
    per entry (one word for float32, two for float64), so that one compiled
    kernel serves both dtypes: the split is made once per fit, and its
    compile counts with every kernel's (0.5 s in ``fastnmf precompile``,
    0.7 s compiled for each dtype).

    One pass counts each row's entries in each block, the counts become row
    pointers, and a second pass copies the entries. Serial: with a parallel
    loop for each pass (compiled for each dtype), a side of the 15M matrix
    in 2 blocks took 63 against 117 ms on 2 threads, but 2.6 against 1.0 s
    to compile."""
    blocks = block_indptr.shape[0]
    m = block_indptr.shape[1] - 1
    words = data.shape[1]
    for i in range(m):
        for p in range(indptr[i], indptr[i + 1]):
            block_indptr[column_block[indices[p]], i + 1] += 1
    for b in range(blocks):
        for i in range(m):
            block_indptr[b, i + 1] += block_indptr[b, i]
        starts[b + 1] = starts[b] + block_indptr[b, m]
    weighted = weights.shape[0] > 0
    cursor = np.empty(blocks, dtype=np.int64)
    for i in range(m):
        for b in range(blocks):
            cursor[b] = starts[b] + block_indptr[b, i]
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            b = column_block[j]
            q = cursor[b]
            out_indices[q] = j - firsts[b]
            for k in range(words):
                out_data[q, k] = data[p, k]
            if weighted:
                for k in range(words):
                    out_weights[q, k] = weights[p, k]
            cursor[b] = q + 1
