"""Fast HALS (Cichocki & Phan 2009) with the acceleration of Gillis & Glineur
(2012), for the unmasked Frobenius loss.

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
exact block coordinate-descent step, so the objective never increases.
"""

import numpy as np

from . import _kernels as K
from ._chunks import uniform_row_chunks
from ._epsilon import tiny

ALPHA = 0.5
DELTA = 0.1
MAX_SWEEPS = 50


def inner_sweeps(products_cost, rows, r):
    """1 + floor(alpha * rho), capped at MAX_SWEEPS."""
    rho = 1.0 + products_cost / max(rows * r * (r + 1), 1)
    return int(min(MAX_SWEEPS, 1 + np.floor(ALPHA * rho)))


class HALSSteps:
    def __init__(self, terms, penalties, dtype, nnz, r, update_H=True, accelerate=True):
        self.terms = terms
        self.penalties = penalties
        self.update_H = update_H
        self.flush = dtype.type(tiny(dtype))
        m, n = terms.shape
        self.bounds_W = uniform_row_chunks(m, r * r)
        self.bounds_H = uniform_row_chunks(n, r * r)
        self.nnz = nnz
        self.accelerate = accelerate
        self._w_products = None

    def prepare(self, W, Ht, with_loss):
        P, G, data_loss = self.terms.w_products(W, Ht, with_loss)
        self._w_products = P, G
        return data_loss

    def _sweeps(self, A, P, G, l1, l2, bounds, other_rows):
        r = A.shape[1]
        cost = 2.0 * self.nnz * r + other_rows * r * r
        n_sweeps = inner_sweeps(cost, A.shape[0], r) if self.accelerate else 1
        K.hals_rows(A, P, G, l1, l2, self.flush, bounds, n_sweeps, DELTA * DELTA)

    def update(self, W, Ht):
        l1_W, l2_W, l1_H, l2_H = self.penalties
        m, n = self.terms.shape
        P, G = self._w_products
        self._sweeps(W, P, G, l1_W, l2_W, self.bounds_W, n)
        if self.update_H:
            P, G = self.terms.h_products(W, Ht)
            self._sweeps(Ht, P, G, l1_H, l2_H, self.bounds_H, m)
