"""Parallel kernels on a CSR matrix X (m x n, raw ``indptr, indices, data``).

Every kernel updates the rows of an output that belong to rows of X: the same
kernel serves the W update (X = V, A = W, B = H^T) and the H update
(X = V^T, stored as a second CSR matrix made once per fit, A = H^T, B = W).

Parallel work is split into row chunks ``bounds`` (see
:func:`fastnmf._chunks.balanced_row_chunks`) that hold about the same number
of nonzeros, not of rows. Each ``prange`` iteration owns one chunk and writes
only its rows of the outputs and its own slot ``loss_parts[c]``: no races, and
since the chunks do not depend on the number of threads, neither do the
results.
"""

import numpy as np
from numba import prange

from .._jit import kernel
from .elementwise import clamp, divergence, divergence_above_zero, power


@kernel
def csr_times_dense(indptr, indices, data, B, bounds, out):
    """out = X @ B (the numerator of the Frobenius update)."""
    r = B.shape[1]
    for c in prange(bounds.shape[0] - 1):
        for i in range(bounds[c], bounds[c + 1]):
            for k in range(r):
                out[i, k] = 0
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                v = data[p]
                for k in range(r):
                    out[i, k] += v * B[j, k]


@kernel
def csr_sampled_numerator(indptr, indices, data, A, B, beta, eps, bounds, out, loss_parts, with_loss):
    """out = (X * (A B^T)^(beta - 2)) @ B, with A B^T evaluated only at X's
    stored entries (a sampled dense-dense product fused with the sparse-dense
    product). ``(A B^T)_ij`` is clamped at ``eps`` for beta < 2.

    With ``with_loss``, ``loss_parts[c]`` receives the sum over the chunk's
    stored entries of d(x | ab) - d(0 | ab); the rest of the objective,
    d(0 | ab) over all entries, is computed without touching X.
    """
    r = B.shape[1]
    zero = eps - eps
    one = eps / eps
    expo = beta - 2 * one
    for c in prange(bounds.shape[0] - 1):
        part = 0.0
        for i in range(bounds[c], bounds[c + 1]):
            for k in range(r):
                out[i, k] = zero
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                v = data[p]
                ab = zero
                for k in range(r):
                    ab += A[i, k] * B[j, k]
                coef = v * power(clamp(ab, beta, eps), expo, one)
                for k in range(r):
                    out[i, k] += coef * B[j, k]
                if with_loss:
                    part += divergence_above_zero(v, ab, beta, eps)
        loss_parts[c] = part


@kernel
def csr_observed_terms(indptr, indices, data, weights, A, B, beta, eps, bounds, num, den, loss_parts, with_loss):
    """Numerator and denominator of the weighted update over X's stored
    entries only (the entries not stored are unknown, not zero):

        num = (M * X * (A B^T)^(beta - 2)) @ B,  den = (M * (A B^T)^(beta - 1)) @ B

    where M holds ``weights`` at the stored entries (all ones when ``weights``
    is empty). ``loss_parts[c]`` receives the weighted objective of the chunk.
    Cost O(nnz r); nothing m x n is formed.
    """
    r = B.shape[1]
    unit = weights.shape[0] == 0
    zero = eps - eps
    one = eps / eps
    num_expo = beta - 2 * one
    den_expo = beta - one
    for c in prange(bounds.shape[0] - 1):
        part = 0.0
        for i in range(bounds[c], bounds[c + 1]):
            for k in range(r):
                num[i, k] = zero
                den[i, k] = zero
            for p in range(indptr[i], indptr[i + 1]):
                w = one if unit else weights[p]
                if w == zero:
                    continue
                j = indices[p]
                v = data[p]
                ab = zero
                for k in range(r):
                    ab += A[i, k] * B[j, k]
                if beta == 2:
                    num_coef = w * v
                    den_coef = w * ab
                else:
                    x = clamp(ab, beta, eps)
                    num_coef = w * v * power(x, num_expo, one)
                    den_coef = w * power(x, den_expo, one)
                for k in range(r):
                    num[i, k] += num_coef * B[j, k]
                    den[i, k] += den_coef * B[j, k]
                if with_loss:
                    part += w * divergence(v, ab, beta, eps)
        loss_parts[c] = part


@kernel
def csr_sampled_product(indptr, indices, A, B, out):
    """out[p] = A[i] . B[j] for each stored entry p = (i, j) of X's pattern
    (predictions at given pairs without forming A B^T)."""
    r = A.shape[1]
    for i in prange(indptr.shape[0] - 1):
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            out[p] = 0
            for k in range(r):
                out[p] += A[i, k] * B[j, k]
