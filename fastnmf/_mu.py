"""Multiplicative updates (Lee & Seung 2001; Fevotte & Idier 2011), for
every layout and loss, and their acceleration for the unmasked Frobenius
loss (Gillis & Glineur 2012)."""

import numpy as np

from ._epsilon import EPS, tiny
from ._hals import DELTA, ReusedProductSteps, inner_sweeps
from ._losses import mm_exponent
from ._terms import GramDenominator, update_factor

AMU_ALPHA = 2.0  # Gillis & Glineur's alpha for A-MU: at most 1 + alpha * rho updates per product


class MultiplicativeSteps:
    """W <- W * (num / (den + l1 + l2 W)) ** gamma, then the same for H."""

    def __init__(self, terms, penalties, dtype, update_H=True):
        self.terms = terms
        self.penalties = penalties
        self.update_H = update_H
        self.gamma = dtype.type(mm_exponent(terms.beta))
        self.eps = dtype.type(EPS)
        self.flush = dtype.type(tiny(dtype))
        self._w_terms = None
        self._next_W = None

    def prepare(self, W, Ht, with_loss):
        """The W update's terms and the objective at (W, Ht). Where the
        layout ``fuses`` (masked sparse data), the updated W itself, as a
        new array: the terms and the update in one pass, W left as it is
        until :meth:`update` (the loop may stop here)."""
        l1_W, l2_W, _, _ = self.penalties
        if self.terms.fuses:
            self._next_W, data_loss = self.terms.w_update(W, Ht, l1_W, l2_W, self.gamma, self.flush, with_loss)
            return data_loss
        num, den, data_loss = self.terms.w_terms(W, Ht, with_loss)
        self._w_terms = num, den
        return data_loss

    def update(self, W, Ht):
        """The updated (W, Ht): the arrays given, updated in place, or new
        ones where the layout ``fuses``."""
        l1_W, l2_W, l1_H, l2_H = self.penalties
        if self.terms.fuses:
            W, self._next_W = self._next_W, None
        else:
            update_factor(W, *self._w_terms, l1_W, l2_W, self.gamma, self.eps, self.flush)
            self._w_terms = None
        if self.update_H:
            Ht = self.terms.h_update(W, Ht, l1_H, l2_H, self.gamma, self.flush)
        return W, Ht


class AcceleratedMultiplicativeSteps(ReusedProductSteps):
    """A-MU (Gillis & Glineur 2012) for the unmasked Frobenius loss: each
    outer iteration computes the expensive products P = V H^T (O(nnz r)) and
    G = H H^T once, then repeats the cheap update W <- W * P / (W G + l1 +
    l2 W) (O(m r^2)) while it still makes progress: at most 1 + AMU_ALPHA *
    rho times, rho = 1 + (nnz r + n r^2) / (m r (r + 1)) the cost of the
    products over that of an update, and no more once an update changes W by
    less than DELTA times the first one did (Frobenius norms). Then the same
    for H. alpha = 2 and delta = 0.1 are Gillis & Glineur's values for
    A-MU. Each update is the MU step for the same P and G, so the objective
    never increases."""

    def __init__(self, terms, penalties, dtype, nnz, update_H=True):
        self.terms = terms
        self.penalties = penalties
        self.update_H = update_H
        self.nnz = nnz
        self.one = dtype.type(1)
        self.eps = dtype.type(EPS)
        self.flush = dtype.type(tiny(dtype))

    def _inner(self, A, P, G, l1, l2, other_rows):
        r = A.shape[1]
        # Gillis & Glineur's costs: nnz r + n r^2 multiply-adds for P and G, m r (r + 1) per update
        count = inner_sweeps(float(self.nnz) * r + other_rows * r * r, A.shape[0], r, alpha=AMU_ALPHA)
        den = GramDenominator(G)
        first = None
        before = np.empty_like(A) if count > 1 else None
        for update in range(count):
            last = update == count - 1  # no stopping test after it: nothing to copy or measure
            if not last:
                np.copyto(before, A)
            update_factor(A, P, den, l1, l2, self.one, self.eps, self.flush)
            if last:
                return
            np.subtract(A, before, out=before)
            change = float(np.einsum("ij,ij->", before, before, dtype=np.float64))
            if first is None:
                first = change
            elif change <= DELTA * DELTA * first:
                return
