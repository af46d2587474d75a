"""Parallel kernels on a dense V (m x n).

The products that cost O(m n r) (W H, R H^T, W^T R) are left to BLAS through
NumPy; these kernels do the elementwise work between them in one pass over
V, in place, with the work split into fixed row chunks.
"""

from numba import prange

from .._jit import kernel
from .elementwise import clamp, divergence, power


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
                if beta == 2:
                    wh[i, j] = w * v
                    if with_den:
                        den[i, j] = w * ab
                else:
                    x = clamp(ab, beta, eps)
                    wh[i, j] = w * v * power(x, num_expo, one)
                    if with_den:
                        den[i, j] = w * power(x, den_expo, one)
                if with_loss:
                    part += w * divergence(v, ab, beta, eps)
        loss_parts[c] = part


@kernel
def power_rows(P, beta, eps, bounds, loss_parts, with_loss):
    """P <- clamp(P)^(beta - 1), in place, for a block P = A B^T of all
    entries (the implicit zeros' share of the unmasked update for a general
    beta; the clamp at ``eps`` applies for beta < 2). With ``with_loss``,
    ``loss_parts[c]`` receives the sum of P^beta (unclamped) over chunk
    ``c``, in float64."""
    n = P.shape[1]
    one = eps / eps
    den_expo = beta - one
    b = float(beta)
    for c in prange(bounds.shape[0] - 1):
        part = 0.0
        for i in range(bounds[c], bounds[c + 1]):
            for j in range(n):
                if with_loss:
                    part += float(P[i, j]) ** b
                P[i, j] = power(clamp(P[i, j], beta, eps), den_expo, one)
        loss_parts[c] = part
