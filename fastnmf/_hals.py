"""Fast HALS (Cichocki & Phan 2009) with the acceleration of Gillis & Glineur
(2012), for the unmasked Frobenius loss, with or without the extrapolation of
Ang & Gillis (2019) (:class:`ExtrapolatedHALSSteps`, what ``solver="auto"``
runs).

Each outer iteration computes the expensive products P = V H^T (O(nnz r))
and G = H H^T once, then sweeps the cheap exact column updates of W
(O(m r^2) each) several times while they still make progress: at most
``1 + alpha * rho`` sweeps, where rho is the ratio of the cost of the
products to the cost of a sweep, and stopping once a sweep changes a row by
less than ``delta`` times the first sweep did (Gillis & Glineur's alpha =
0.5, delta = 0.1). Given P and G the rows of W are independent problems, so
the stopping test is applied row by row, inside one parallel kernel call
where each row stays in cache (Gillis & Glineur test the whole matrix, which
needs a barrier after every sweep). Then the same for H. Each sweep is an
exact block coordinate-descent step (up to the rounding of g = A[i] G, which
the kernels carry from sweep to sweep), so without extrapolation the
objective does not increase.

For r up to :func:`lanes_max_rank` (32 where Numba compiles for AVX-512; 28
in float32 and 20 in float64 where it does not) the sweeps run on 32 rows
side by side (kernel ``hals_lanes``), in chunks of 128 to 512 rows
(:func:`lane_chunks`); beyond it, four rows at a time (``hals_rows``), whose
vector operations along a row are then long enough, in chunks of 16 to 64
rows (:func:`slot_chunks`). Measured on the AVX-512 machine, the sweeps of
one call (factors after ten iterations, 2 threads, medians of 9), side by
side against four rows at a time: on the 0.5M matrix
of docs/performance.md, from r = 24 to 32, 0.99 to 1.22 times as fast on the
W side and 1.06 to 1.45 times on the H side (a factor mostly of zeros, where
four rows at a time loses its edge); on the stock volumes, the faces and
2,000 x 3,000 dense synthetic data, faster in 19 of 24 cells at r = 16 and
20, 0.56 to 0.99 times as fast at r = 24 to 32 (whole iterations there:
1.02 times in the median, docs/kernel_log.md), and at r = 10 (one thread)
1.2 to 1.5 times. (Side by side was 1.1 to 3.6 times as fast as one row at a
time from r = 10 to 32 on the 0.5M and 3M matrices, before four rows at a
time.) The results differ from the row kernel's by rounding, and where
rounding flips a row's stopping test, by one sweep of that row.
Larger chunks leave fewer lanes idle while a chunk's last rows finish
(0.5M, float64, r = 12, W side: 1.80 ms with 32 rows per chunk, 1.18 ms with
128, 0.91 ms with 512), but fewer chunks leave threads idle on many cores.
"""

import numpy as np

from . import _kernels as K
from ._chunks import uniform_row_chunks
from ._epsilon import tiny
from ._jit import compiles_for_avx512
from ._kernels.hals import LANES
from ._loop import penalty
from ._terms import column_sums


ALPHA = 0.5
DELTA = 0.1
MAX_SWEEPS = 50
LANES_MAX_RANK = 32  # the largest r that hals_lanes sweeps, with AVX-512
LANES_MAX_RANK_AVX2 = {4: 28, 8: 20}  # by itemsize, without AVX-512 (see lanes_max_rank)
LANE_CHUNK_ROWS = (4 * LANES, 512)  # rows per chunk of hals_lanes, at least and at most
LANE_CHUNKS = 16  # chunks wanted, between those bounds
SLOT_CHUNK_ROWS = (16, 64)  # rows per chunk of hals_rows, at least and at most
SLOT_CHUNKS = 64  # chunks wanted, between those bounds


def lanes_max_rank(dtype):
    """The largest r whose sweeps run side by side (``hals_lanes``); above
    it, four rows at a time (``hals_rows``). LANES_MAX_RANK with AVX-512;
    without it, whose vectors hold half as many values, the lanes lose
    sooner, and in float64 sooner than in float32 (LANES_MAX_RANK_AVX2).
    Measured on a Zen 3 (AVX2: the sweeps of one call from factors after ten
    iterations, 2 threads, medians of 21, lanes against rows, W and H sides
    of the stock volumes and the 0.5M matrix): float32 1.01-1.21x as fast at
    r = 28, 0.83-0.97x at 32; float64 0.76-1.34x at r = 20 (three of four
    faster), 0.81-1.03x at 24 and 0.67-0.93x at 32 (docs/kernel_log.md)."""
    if compiles_for_avx512():
        return LANES_MAX_RANK
    return min(LANES_MAX_RANK, LANES_MAX_RANK_AVX2[np.dtype(dtype).itemsize])


def lane_chunks(rows, r):
    """Row chunks for hals_lanes: LANE_CHUNKS of them, each of LANE_CHUNK_ROWS
    rows at least and at most (fewer, longer chunks keep more lanes busy; more
    chunks keep more threads busy). They depend on the shape only."""
    return _chunks_of(rows, r, LANE_CHUNK_ROWS, LANE_CHUNKS)


def _chunks_of(rows, r, rows_per_chunk, wanted):
    """About ``wanted`` chunks of ``rows`` rows, each of ``rows_per_chunk``
    (least, most) rows unless there are fewer."""
    low, high = rows_per_chunk
    per_chunk = min(high, max(low, rows // wanted))
    return uniform_row_chunks(rows, r * r, max_chunks=max(1, rows // per_chunk))


def slot_chunks(rows, r):
    """Row chunks for hals_rows: SLOT_CHUNKS of them, each of SLOT_CHUNK_ROWS
    rows at least and at most. The kernel sweeps a chunk's rows four at a
    time, so a chunk of one row (as :func:`uniform_row_chunks` makes for
    the stock volumes at r = 50) would leave three of its slots empty; a
    chunk's last rows leave some empty while they finish. The stock volumes,
    the faces and the 0.5M matrix at r = 50 (2 threads, medians of 21) swept
    as fast with about 32 chunks as with 64; 64 leave fewer threads idle on
    many cores. They depend on the shape only."""
    return _chunks_of(rows, r, SLOT_CHUNK_ROWS, SLOT_CHUNKS)


def inner_sweeps(products_cost, rows, r, alpha=ALPHA):
    """1 + floor(alpha * rho), capped at MAX_SWEEPS: rho is the cost of the
    products over that of one inner update of ``rows`` rows, r (r + 1)
    multiply-adds each (a HALS sweep, or an A-MU update's A G and ratio)."""
    rho = 1.0 + products_cost / max(rows * r * (r + 1), 1)
    return int(min(MAX_SWEEPS, 1 + np.floor(alpha * rho)))


class ReusedProductSteps:
    """The outer iteration of the solvers that reuse their products (HALS
    here, A-MU in :mod:`fastnmf._mu`): P = V H^T and G = H H^T once, then
    the solver's inner updates of W (:meth:`_inner`, which needs
    ``other_rows``, the rows of the other factor, for its cost model); then
    the same for H with V^T W and W^T W. A subclass sets ``terms``,
    ``penalties`` and ``update_H``."""

    _w_products = None

    def prepare(self, W, Ht, with_loss):
        P, G, data_loss = self.terms.w_products(W, Ht, with_loss)
        self._w_products = P, G
        return data_loss

    def update(self, W, Ht):
        """Updates W and Ht in place; returns them (as :func:`fastnmf._loop.run` expects)."""
        l1_W, l2_W, l1_H, l2_H = self.penalties
        m, n = self.terms.shape
        self._inner(W, *self._w_products, l1_W, l2_W, n)
        if self.update_H:
            self._inner(Ht, *self.terms.h_products(W, Ht), l1_H, l2_H, m)
        return W, Ht

    def _inner(self, A, P, G, l1, l2, other_rows):
        raise NotImplementedError


class HALSSteps(ReusedProductSteps):
    def __init__(self, terms, penalties, dtype, nnz, r, update_H=True, accelerate=True):
        self.terms = terms
        self.penalties = penalties
        self.update_H = update_H
        self.flush = dtype.type(tiny(dtype))
        self.lanes = r <= lanes_max_rank(dtype)
        self.bounds = {rows: self._chunks(rows, r) for rows in terms.shape}  # by A's rows: they depend on nothing else
        self.nnz = nnz
        self.accelerate = accelerate

    def _chunks(self, rows, r):
        return lane_chunks(rows, r) if self.lanes else slot_chunks(rows, r)

    def _inner(self, A, P, G, l1, l2, other_rows):
        r = A.shape[1]
        bounds = self.bounds[A.shape[0]]
        # The product X B counted twice (2 nnz r): Gillis & Glineur count nnz r multiply-adds, so this
        # alpha of 0.5 is their alpha = 1. Their own count (alpha 0.25 here) was no faster: 0.51-0.54 s
        # against 0.48 s to cd's loss at 0.5M, r = 10, float32, and within the spread between starting points
        # on the dense data (docs/performance.md, "Time to cd's loss from several initializations").
        cost = 2.0 * self.nnz * r + other_rows * r * r
        n_sweeps = inner_sweeps(cost, A.shape[0], r) if self.accelerate else 1
        if self.lanes:
            K.hals_lanes(A, P, G, l1, l2, self.flush, bounds, n_sweeps, DELTA * DELTA, LANES)
        else:
            K.hals_rows(A, P, G, l1, l2, self.flush, bounds, n_sweeps, DELTA * DELTA)


# Extrapolation (Ang & Gillis 2019): the starting beta, its growth after an iteration that lowered the
# objective, the growth of its cap, and its shrinking after one that raised it.
EXTRAPOLATION_START = 0.5
EXTRAPOLATION_GROWTH = 1.01
EXTRAPOLATION_CAP_GROWTH = 1.005
EXTRAPOLATION_SHRINK = 1.5
# beta shrinks after an objective above the lowest so far by more than (RISE_MARGIN + the dtype's epsilon)
# * 0.5 ||V||^2, the size of its rounding (see ExtrapolatedHALSSteps.rise_margin).
RISE_MARGIN = 1e-12


class ExtrapolatedHALSSteps(HALSSteps):
    """HALS with extrapolation (Ang & Gillis, "Accelerating nonnegative
    matrix factorization algorithms using extrapolation", Neural Computation
    31, 2019): each half iteration updates its factor by the HALS sweeps
    above, then moves it on along its last step, Y = max(0, A + beta (A -
    A_before)), and the other factor's update uses Y instead of A.

    The W update starts from W and uses H's extrapolated point Y_H; the H
    update starts from H (not from Y_H) and uses W's, Y_W. What a fit holds
    between iterations, and reports, is the pair (W, Y_H), both
    non-negative; its objective comes with the products of the next W update
    (P = V Y_H^T, G = Y_H Y_H^T), so it is known at every iteration for
    (m + n) r^2 more multiply-adds. When it is above the lowest objective
    held so far, the iteration drops H's extrapolation if the pair was
    extrapolated (the pair becomes (W, H), and P and G are computed again
    for H) and does not extrapolate; if it is above by more than the
    objective's rounding (:meth:`rise_margin`), beta's cap becomes beta and
    beta shrinks by EXTRAPOLATION_SHRINK too (after an iteration that did
    not extrapolate as well). Otherwise beta grows by
    EXTRAPOLATION_GROWTH, up to its cap, which grows by
    EXTRAPOLATION_CAP_GROWTH up to 1. This is a variant of Ang & Gillis's
    scheme (their growth and shrinking of beta; the restart, the threshold
    and the pair returned are fastnmf's, chosen by measurement:
    docs/performance.md). A column that the projection would zero (a
    squared norm below the dtype's smallest normal number, where the HALS
    kernels take it as zero) keeps the factor's (:meth:`_moved_on`).

    Unlike plain HALS, the objective of the pair held can therefore rise
    from one iteration to the next (dropping H's extrapolation lowers it
    again, but not always below where it was), and the fit can end in
    another stationary point than HALS from the same start. Measured from
    five starts each, it reached scikit-learn's cd loss sooner than HALS in
    the median in 18 of the 20 cases measured (14 of 16 on dense matrices
    and the 0.5M document-term matrix, and the four 3M ones), later
    only on the stock volumes at r = 10 (docs/performance.md, "HALS with
    extrapolation")."""

    def __init__(self, terms, penalties, dtype, nnz, r):
        super().__init__(terms, penalties, dtype, nnz, r)
        self.beta = EXTRAPOLATION_START
        self.beta_cap = 1.0
        self.extrapolate = True  # this iteration moves W and H on along their steps
        self._H = None  # H without its extrapolation, once an update has made it
        self._lowest = np.inf  # the lowest objective held so far
        self.margin = self.rise_margin(terms.sum_sq_v, dtype)
        self.tiny = float(tiny(dtype))

    @staticmethod
    def rise_margin(sum_sq_v, dtype):
        """How far above the lowest objective so far one may be before beta
        shrinks: (RISE_MARGIN + epsilon of ``dtype``) * 0.5 ||V||^2.

        Near a stationary point the objective moves by rounding alone, and
        when every iteration above the lowest (about half of them) shrank
        beta, it fell to 1e-130 and below within a few hundred iterations;
        extrapolation was then off for the rest of the fit. The
        rounding is that of the objective's formula, 0.5 ||V||^2 - <W, V H^T>
        + 0.5 <W^T W, H H^T>, whose terms are about 0.5 ||V||^2 each, and in
        float32 that of the factors themselves. Measured at the floor (ehals,
        r = 10, tol=0, 1,000-1,500 iterations): the rises were at most
        44 eps64 of 0.5 ||V||^2 in float64 (stock volumes), 0.18-0.64 eps32
        in float32 (stock volumes, a 500 x 800 synthetic matrix, 0.5M).
        In float32 the synthetic fit still gained 1e-6 of its objective per
        iteration while beta fell to 3e-12 by iteration 200.

        The restart itself stays exact. With the margin on it as well, the
        extrapolated pairs within it were kept, and at 0.5M float32 r = 10
        the fits took 65, 45, 51 and 58 iterations to cd's loss from the
        four starts that reach it, against 61, 45, 49 and 48 exactly and
        59, 48, 48 and 54 with the margin on beta only. On the dense
        matrices at float32 r = 10 and at 0.5M float64 r = 10 all three
        took the same counts, but from one start of the faces (45 against
        44); at 0.5M float32 r = 50 the margin on both took the same as
        exact."""
        return (RISE_MARGIN + float(np.finfo(dtype).eps)) * 0.5 * sum_sq_v

    def _objective(self, W, Ht):
        P, G, data_loss = self.terms.w_products(W, Ht, True)
        l1_W, l2_W, l1_H, l2_H = self.penalties
        return P, G, data_loss, data_loss + penalty(W, l1_W, l2_W) + penalty(Ht, l1_H, l2_H)

    def prepare(self, W, Ht, with_loss):
        P, G, data_loss, loss = self._objective(W, Ht)
        if loss > self._lowest:
            if loss > self._lowest + self.margin:  # beyond rounding
                self.beta_cap = self.beta
                self.beta /= EXTRAPOLATION_SHRINK
            if self.extrapolate:  # Ht is H's extrapolated point: back to H itself
                Ht[...] = self._H
                P, G, data_loss, loss = self._objective(W, Ht)
            self.extrapolate = False
        elif self._H is not None:
            self.beta = min(self.beta_cap, EXTRAPOLATION_GROWTH * self.beta)
            self.beta_cap = min(1.0, EXTRAPOLATION_CAP_GROWTH * self.beta_cap)
            self.extrapolate = True
        self._lowest = min(loss, self._lowest)
        self._w_products = P, G
        return data_loss

    def update(self, W, Ht):
        l1_W, l2_W, l1_H, l2_H = self.penalties
        m, n = self.terms.shape
        W_before = W.copy() if self.extrapolate else None
        self._inner(W, *self._w_products, l1_W, l2_W, n)
        H = Ht.copy() if self._H is None else self._H
        H_before = H.copy() if self.extrapolate else None
        self._inner(H, *self.terms.h_products(self._moved_on(W, W_before), Ht), l1_H, l2_H, m)
        self._H = H
        np.copyto(Ht, self._moved_on(H, H_before))
        return W, Ht

    def _moved_on(self, A, before):
        """max(0, A + beta (A - before)), or A itself without extrapolation.

        A column that this would make zero where A's is not keeps A's: a
        zero column of one factor (a squared norm below ``tiny``, which the
        kernels take as zero) zeroes that column of the other at its next
        update (the HALS denominator G[k, k] is zero), and the component
        never comes back, whatever the restart does (seen on 5 x 4 word
        counts at r = 2, and on the iris data)."""
        if before is None:
            return A
        moved = np.subtract(A, before, out=before)
        moved *= A.dtype.type(self.beta)
        moved += A
        np.maximum(moved, 0, out=moved)
        # A column whose sum s is at least sqrt(rows * tiny) has a squared norm of at least s^2 / rows >= tiny
        # (Cauchy-Schwarz): one pass of sums clears the columns, and only the others (rarely any) are measured.
        suspects = np.flatnonzero(column_sums(moved)[0] < np.sqrt(A.shape[0] * self.tiny))
        if suspects.size:
            vanished = squared_norms(moved[:, suspects]) < self.tiny
            lost = suspects[vanished & (squared_norms(A[:, suspects]) >= self.tiny)]
            moved[:, lost] = A[:, lost]
        return moved


def squared_norms(A):
    """The squared norms of A's columns, in float64."""
    return np.einsum("ij,ij->j", A, A, dtype=np.float64)
