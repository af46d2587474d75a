"""The row kernel of HALS (hierarchical alternating least squares, Cichocki &
Phan 2009), which scikit-learn calls coordinate descent."""

from numba import prange

from .._jit import kernel


@kernel
def hals_rows(A, P, G, l1, l2, tiny, bounds, change_parts):
    """One sweep of exact coordinate updates over the columns of A, in place.

    For the Frobenius objective 0.5 ||X - A B^T||^2 + l1 |A| + 0.5 l2 ||A||^2
    with P = X B and G = B^T B (symmetric), each entry in turn becomes the
    minimizer

        A[i, k] = max(0, (P[i, k] - l1[i] - sum_{l != k} A[i, l] G[l, k]) / (G[k, k] + l2[i]))

    Rows are independent, so they run in parallel; within a row the columns
    go in order, each using the ones already updated. A zero denominator
    (column k of B is zero and there is no L2 penalty) leaves A[i, k] at
    zero. Entries below ``tiny`` are flushed to zero (the epsilon policy).
    ``change_parts[c]`` receives the sum of squared changes over chunk ``c``.
    """
    r = A.shape[1]
    zero = tiny - tiny
    for c in prange(bounds.shape[0] - 1):
        change = 0.0
        for i in range(bounds[c], bounds[c + 1]):
            for k in range(r):
                old = A[i, k]
                s = P[i, k] - l1[i] + old * G[k, k]
                for l in range(r):
                    s -= A[i, l] * G[k, l]  # G is symmetric: read its rows
                d = G[k, k] + l2[i]
                new = s / d if d > zero else zero
                if new < tiny:
                    new = zero
                A[i, k] = new
                change += float(new - old) * float(new - old)
        change_parts[c] = change
