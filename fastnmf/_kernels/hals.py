"""The row kernel of HALS (hierarchical alternating least squares, Cichocki &
Phan 2009), which scikit-learn calls coordinate descent."""

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

    A zero denominator (column k of B is zero and there is no L2 penalty)
    leaves A[i, k] at zero. Entries below ``tiny`` are flushed to zero (the
    epsilon policy).
    """
    r = A.shape[1]
    zero = tiny - tiny
    for c in prange(bounds.shape[0] - 1):
        for i in range(bounds[c], bounds[c + 1]):
            first = 0.0
            for sweep in range(max_sweeps):
                change = 0.0
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
                if sweep == 0:
                    first = change
                elif change <= delta_squared * first:
                    break
