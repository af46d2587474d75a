"""The row kernel of HALS (hierarchical alternating least squares, Cichocki &
Phan 2009), which scikit-learn calls coordinate descent."""

import numpy as np
from numba import prange

from .._jit import kernel


@kernel
def hals_rows(A, P, G, l1, l2, tiny, bounds, max_sweeps, delta_squared):
    """Exact coordinate updates of the columns of A, in place, repeated.

    For the Frobenius objective 0.5 ||X - A B^T||^2 + l1 |A| + 0.5 l2 ||A||^2
    with P = X B and G = B^T B (symmetric), one sweep makes each entry of a
    row in turn the minimizer

        A[i, k] = max(0, (P[i, k] - l1[i] - sum_{l != k} A[i, l] G[l, k]) / (G[k, k] + l2[i]))

    Given P and G, the rows of A are independent problems, so they run in
    parallel, and each row repeats its sweep (the acceleration of Gillis &
    Glineur 2012, applied row by row while the row stays in cache): at most
    ``max_sweeps`` times, stopping after a sweep whose squared change is at
    most ``delta_squared`` times the first sweep's. Every sweep is an exact
    block coordinate-descent step, so the objective never increases.

    The sum over l != k comes from g = A[i] G, computed at the start of each
    sweep and corrected by (new - old) G[k] whenever A[i, k] changes: a
    vectorized update of r numbers instead of a dot product whose reduction
    each entry would wait for. The division is a multiplication by the
    reciprocal, computed once per row. A zero denominator (column k of B is
    zero and there is no L2 penalty) leaves A[i, k] at zero. Entries below
    ``tiny`` are flushed to zero (the epsilon policy).
    """
    r = A.shape[1]
    zero = tiny - tiny
    one = A.dtype.type(1)
    for c in prange(bounds.shape[0] - 1):
        g = np.empty(r, dtype=A.dtype)  # A[i] @ G, kept current during a sweep
        inverse = np.empty(r, dtype=A.dtype)  # 1 / (G[k, k] + l2[i]), 0 for a zero denominator
        for i in range(bounds[c], bounds[c + 1]):
            for k in range(r):
                d = G[k, k] + l2[i]
                inverse[k] = one / d if d > zero else zero
            first = 0.0
            for sweep in range(max_sweeps):
                for k in range(r):
                    g[k] = zero
                for l in range(r):
                    a = A[i, l]
                    if a != zero:
                        for k in range(r):
                            g[k] += a * G[l, k]
                change = 0.0
                for k in range(r):
                    old = A[i, k]
                    new = (P[i, k] - l1[i] - g[k] + old * G[k, k]) * inverse[k]
                    if new < tiny:
                        new = zero
                    if new != old:
                        step = new - old
                        A[i, k] = new
                        for l in range(r):
                            g[l] += step * G[k, l]  # G is symmetric: read its rows
                        change += float(step) * float(step)
                if sweep == 0:
                    first = change
                elif change <= delta_squared * first:
                    break
