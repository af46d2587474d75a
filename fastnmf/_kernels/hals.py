"""The row kernels of HALS (hierarchical alternating least squares, Cichocki &
Phan 2009), which scikit-learn calls coordinate descent: one row at a time
(:func:`hals_rows`), or many rows side by side for small r
(:func:`hals_lanes`)."""

import numpy as np
from numba import prange

from .._jit import block_kernel, first_class, kernel, serial_kernel


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
    block coordinate-descent step up to rounding (of g below), so the
    objective does not increase.

    The sum over l != k comes from g = A[i] G, computed once per row and
    corrected by (new - old) G[k] whenever A[i, k] changes: a vectorized
    update of r numbers instead of a dot product whose reduction each entry
    would wait for. The corrections keep g current through all the row's
    sweeps, so it is not computed again at each sweep: whole fits at r = 40
    and 50 1.12-1.52x faster, their loss after 15 iterations within 1e-4
    (float32) and 1e-10 (float64) of what a fresh A[i] G per sweep gave
    (docs/kernel_log.md, "HALS rows: A[i] G once per row"). The division
    is a multiplication by the reciprocal, computed once per row. A
    denominator below ``tiny`` (column k of B is zero, or so small that its
    squared norm is subnormal, and there is no L2 penalty) sets A[i, k] to
    zero: its reciprocal would overflow to inf, and inf times a zero
    numerator is NaN. Entries below ``tiny`` are flushed to zero (the epsilon
    policy).

    The chunks run in parallel (:func:`sweep_row_chunks`), each by
    :func:`sweep_rows`.
    """
    sweep = first_class(sweep_rows, A.dtype)
    sweep_row_chunks(sweep, A, P, G, l1, l2, tiny, bounds, max_sweeps, delta_squared)


@kernel
def sweep_row_chunks(sweep, A, P, G, l1, l2, tiny, bounds, max_sweeps, delta_squared):
    """The parallel loop of :func:`hals_rows`: ``sweep`` (:func:`sweep_rows`)
    on each chunk."""
    for c in prange(bounds.shape[0] - 1):
        sweep(A, P, G, l1, l2, tiny, bounds[c], bounds[c + 1], max_sweeps, delta_squared)


@block_kernel("-", "AAAaaxnnnq")
def sweep_rows(A, P, G, l1, l2, tiny, following, end, max_sweeps, delta_squared):
    """:func:`hals_rows` on the rows following..end-1 (one chunk), four rows
    at a time.

    Each of four slots holds a row. The slots' coordinate k is updated in
    turn, then the corrections of g of the rows whose entry changed share
    one pass over G[k]: the four rows' chains of updates are independent, so
    their latencies overlap, and G[k] is read once for them. A row alone
    (one changed entry) is corrected alone, and none when no entry changed,
    as the row kernel skipped unchanged entries: factors with many zeros
    (the H side of document-term matrices) change few entries per
    coordinate. A row that stops (its own sweep count and stopping test, as
    one row alone) leaves its slot to the chunk's next row; a slot left
    without a row at the chunk's end is carried along with steps of zero and
    never written. Written out for four slots, not as a loop over them: LLVM
    then vectorizes the corrections along the row (the slots along the
    vector instead was slower). Measured on one thread against one row at a
    time (the stock volumes, the faces, the 0.5M and 3M matrices, r = 50,
    factors after 10 iterations, medians of 9 to 21): mostly 1.1-1.6x
    faster, the faces' W side (400 rows) 0.9-1.05x; 8 slots were no faster
    than 4 (docs/kernel_log.md, "HALS rows four at a time").
    """
    if max_sweeps < 1:
        return
    r = A.shape[1]
    zero = tiny - tiny
    g = np.zeros((4, r), dtype=A.dtype)  # the slots' A[i] @ G, kept current
    inverse = np.zeros((4, r), dtype=A.dtype)  # 1 / (G[k, k] + l2[i]), 0 below tiny (1 / d would overflow)
    state = np.zeros((3, 4), dtype=np.int64)
    row = state[0]
    busy = state[1]  # 1 while the slot holds a row
    swept = state[2]  # sweeps done by the slot's row
    sums = np.zeros((2, 4))
    change = sums[0]  # the slot's squared change in its latest sweep
    first = sums[1]  # ... in its row's first sweep
    row[:] = following
    while True:
        for s in range(4):  # empty slots take the chunk's next rows
            if busy[s] == 0 and following < end:
                _load_row(A, G, l2, tiny, following, s, g, inverse)
                row[s], busy[s], swept[s] = following, 1, 0
                following += 1
        if busy.sum() == 0:
            return
        i0, i1, i2, i3 = row[0], row[1], row[2], row[3]
        b0, b1, b2, b3 = busy[0] != 0, busy[1] != 0, busy[2] != 0, busy[3] != 0
        c0 = c1 = c2 = c3 = 0.0
        for k in range(r):
            G_kk = G[k, k]
            o0, o1, o2, o3 = A[i0, k], A[i1, k], A[i2, k], A[i3, k]
            n0 = (P[i0, k] - l1[i0] - g[0, k] + o0 * G_kk) * inverse[0, k]
            n1 = (P[i1, k] - l1[i1] - g[1, k] + o1 * G_kk) * inverse[1, k]
            n2 = (P[i2, k] - l1[i2] - g[2, k] + o2 * G_kk) * inverse[2, k]
            n3 = (P[i3, k] - l1[i3] - g[3, k] + o3 * G_kk) * inverse[3, k]
            n0 = zero if n0 < tiny else n0
            n1 = zero if n1 < tiny else n1
            n2 = zero if n2 < tiny else n2
            n3 = zero if n3 < tiny else n3
            n0 = n0 if b0 else o0
            n1 = n1 if b1 else o1
            n2 = n2 if b2 else o2
            n3 = n3 if b3 else o3
            s0, s1, s2, s3 = n0 - o0, n1 - o1, n2 - o2, n3 - o3
            changed = (s0 != zero) + (s1 != zero) + (s2 != zero) + (s3 != zero)
            if changed == 0:  # often, in factors with many zeros
                continue
            if b0:
                A[i0, k] = n0
            if b1:
                A[i1, k] = n1
            if b2:
                A[i2, k] = n2
            if b3:
                A[i3, k] = n3
            c0 += float(s0) * float(s0)
            c1 += float(s1) * float(s1)
            c2 += float(s2) * float(s2)
            c3 += float(s3) * float(s3)
            if changed == 1:  # that row's correction alone
                for s in range(4):
                    step = s0 if s == 0 else (s1 if s == 1 else (s2 if s == 2 else s3))
                    if step != zero:
                        for l in range(r):
                            g[s, l] += step * G[k, l]
                continue
            for l in range(r):
                G_kl = G[k, l]  # G is symmetric: read its rows
                g[0, l] += s0 * G_kl
                g[1, l] += s1 * G_kl
                g[2, l] += s2 * G_kl
                g[3, l] += s3 * G_kl
        change[0], change[1], change[2], change[3] = c0, c1, c2, c3
        for s in range(4):  # slots whose row stops empty
            if busy[s] == 0:
                continue
            swept[s] += 1
            if swept[s] == 1:
                first[s] = change[s]
            if swept[s] >= max_sweeps or (swept[s] > 1 and change[s] <= delta_squared * first[s]):
                busy[s] = 0


@serial_kernel
def _load_row(A, G, l2, tiny, i, s, g, inverse):
    """Row i's reciprocal denominators (0 below ``tiny``) and g = A[i] G into
    slot s of :func:`sweep_rows` (entries of A[i] that are zero add nothing)."""
    r = A.shape[1]
    zero = tiny - tiny
    one = A.dtype.type(1)
    for k in range(r):
        d = G[k, k] + l2[i]
        inverse[s, k] = one / d if d >= tiny else zero
        g[s, k] = zero
    for l in range(r):
        a = A[i, l]
        if a != zero:
            for k in range(r):
                g[s, k] += a * G[l, k]


LANES = 32  # rows swept side by side by hals_lanes


def hals_lanes(A, P, G, l1, l2, tiny, bounds, max_sweeps, delta_squared, lanes):
    """:func:`hals_rows` with ``lanes`` rows swept side by side, for small r.

    The same updates, stopping rule and result (up to rounding), arranged so
    that every operation runs across rows instead of along one: each chunk
    keeps ``lanes`` of its rows transposed in r x lanes buffers, one row per
    column (a SIMD lane), and sweeps them all at once; a row that stops
    (after at most ``max_sweeps`` sweeps, or once a sweep's squared change is
    at most ``delta_squared`` times its first's) is written back and its lane
    takes the chunk's next row, so lanes do not idle while others still
    sweep. Lanes left empty at a chunk's end are masked (computed, never
    written). As in :func:`hals_rows`, the corrections keep g = A G current
    from sweep to sweep; it is computed afresh, for all lanes at once (a
    full vector operation, where one lane's alone would be scalar), only
    when a lane has taken a new row: whole fits at r = 10 and 20 0.93-1.14x
    as fast as with g computed at every sweep (23 of 24 cells at or above
    1.01x; faces, stock volumes, sparse 0.5M, two runs).

    Along a row, a sweep's vector operations have length r, too short for
    the vector loops LLVM generates (which take 16 or 32 values at a time),
    and each entry's update waits for the previous one; across 32 rows every
    operation is a full vector and the rows' updates are independent. For
    large r the row kernel is faster: it skips zero entries, and the
    r x lanes buffers outgrow the L1 cache (measured in :mod:`fastnmf._hals`,
    which picks the kernel). ``lanes`` is an argument (fits pass
    :data:`LANES`) rather than the constant itself: an earlier attempt found
    that LLVM vectorized such lane loops with a run-time count and not with a
    constant one (it cannot prove the buffers distinct; see "Tried and not
    kept" in docs/kernel_log.md).
    """
    sweep = first_class(sweep_lanes, A.dtype)
    sweep_lane_chunks(sweep, A, P, G, l1, l2, tiny, bounds, max_sweeps, delta_squared, lanes)


@kernel
def sweep_lane_chunks(sweep, A, P, G, l1, l2, tiny, bounds, max_sweeps, delta_squared, lanes):
    """The parallel loop of :func:`hals_lanes`: ``sweep`` (:func:`sweep_lanes`)
    on each chunk."""
    for c in prange(bounds.shape[0] - 1):
        sweep(A, P, G, l1, l2, tiny, bounds[c], bounds[c + 1], max_sweeps, delta_squared, lanes)


@block_kernel("-", "AAAaaxnnnqn")
def sweep_lanes(A, P, G, l1, l2, tiny, following, end, max_sweeps, delta_squared, lanes):
    """hals_lanes on the rows following..end-1 (one chunk), a first-class
    function argument of :func:`sweep_lane_chunks` (see
    :func:`fastnmf._jit.block_kernel`). Two buffers rather than one array
    each: every array type allocated costs compile time.

    What the sweep's loops over the lanes read and write is in the working
    dtype: each lane's P - l1, whether it holds a row (1 or 0), and its
    squared changes for the stopping rule. With those sums in float64 and an
    int64 test of each lane, LLVM vectorized the float32 update four lanes at
    a time, the width of the widest; now eight. The sweeps of one call
    (factors after ten iterations, the stopping rule on, one thread, the
    stock volumes' and the faces' W and H sides, medians of 21) ran
    1.08-1.19x faster in float32 at r = 10 and 20 (0.97-1.06x at r = 4),
    0.95-1.03x in float64 (which was four wide already), with the same
    results to the last bit there. The stopping rule's sums are now rounded
    to the working dtype: a row whose change lies at the threshold may take
    one sweep more or fewer in float32 (each sweep is still an exact
    coordinate-descent step), and a float32 sum that overflows to inf only
    stops its row sooner."""
    r = A.shape[1]
    zero = tiny - tiny
    work = np.empty((4 * r + 4, lanes), dtype=A.dtype)
    for k in range(4 * r + 4):
        for lane in range(lanes):
            work[k, lane] = zero
    At = work[:r]  # the lanes' rows of A (one row per column)
    Pt = work[r : 2 * r]  # ... of P - l1
    inverse = work[2 * r : 3 * r]  # 1 / (G[k, k] + l2), 0 below tiny (1 / d would overflow)
    g = work[3 * r : 4 * r]  # At^T G, kept current during a sweep
    step = work[4 * r]
    live = work[4 * r + 1]  # 1 where the lane holds a row, else 0
    change = work[4 * r + 2]  # the sweep's squared change
    first = work[4 * r + 3]  # ... the row's first sweep's
    row = np.full(lanes, -1, dtype=np.int64)
    swept = np.full(lanes, -1, dtype=np.int64)  # sweeps done by the lane's row; -1 for an empty lane
    while True:
        busy = 0
        loaded = False
        for lane in range(lanes):  # empty lanes take the chunk's next rows
            if swept[lane] < 0 and following < end:
                _load_lane(A, P, G, l1, l2, tiny, following, lane, work)
                row[lane], swept[lane] = following, 0
                following += 1
                loaded = True
            busy += swept[lane] >= 0
        if busy == 0:
            return
        if loaded:  # g = At^T G afresh; while no lane takes a new row, the corrections keep it current
            for k in range(r):
                for lane in range(lanes):
                    g[k, lane] = zero
            for l in range(r):
                for k in range(r):
                    G_lk = G[l, k]
                    for lane in range(lanes):
                        g[k, lane] += At[l, lane] * G_lk
        for lane in range(lanes):
            change[lane] = zero
        for k in range(r):
            G_kk = G[k, k]
            for lane in range(lanes):
                old = At[k, lane]
                new = (Pt[k, lane] - g[k, lane] + old * G_kk) * inverse[k, lane]
                new = zero if new < tiny else new
                new = new if live[lane] != zero else old
                moved = new - old
                At[k, lane] = new
                step[lane] = moved
                change[lane] += moved * moved
            for l in range(r):
                G_kl = G[k, l]  # G is symmetric: read its rows
                for lane in range(lanes):
                    g[l, lane] += step[lane] * G_kl
        for lane in range(lanes):  # lanes whose row stops write it back and empty
            if swept[lane] < 0:
                continue
            swept[lane] += 1
            if swept[lane] == 1:
                first[lane] = change[lane]
            if swept[lane] < max_sweeps and (swept[lane] == 1 or change[lane] > delta_squared * first[lane]):
                continue
            i = row[lane]
            for k in range(r):
                A[i, k] = At[k, lane]
            swept[lane] = -1
            live[lane] = zero


@serial_kernel
def _load_lane(A, P, G, l1, l2, tiny, i, lane, work):
    """Row i of A, of P - l1 and its reciprocal denominators (0 below
    ``tiny``, as in :func:`hals_rows`) into lane ``lane`` of sweep_lanes'
    buffer, and the lane marked as holding a row."""
    r = A.shape[1]
    zero = tiny - tiny
    one = A.dtype.type(1)
    for k in range(r):
        work[k, lane] = A[i, k]
        work[r + k, lane] = P[i, k] - l1[i]
        d = G[k, k] + l2[i]
        work[2 * r + k, lane] = one / d if d >= tiny else zero
    work[4 * r + 1, lane] = one
