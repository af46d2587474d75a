"""Multiplicative updates (Lee & Seung 2001; Fevotte & Idier 2011), for
every layout and loss."""

from ._epsilon import EPS, tiny
from ._losses import mm_exponent
from ._terms import update_factor


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

    def prepare(self, W, Ht, with_loss):
        num, den, data_loss = self.terms.w_terms(W, Ht, with_loss)
        self._w_terms = num, den
        return data_loss

    def update(self, W, Ht):
        l1_W, l2_W, l1_H, l2_H = self.penalties
        update_factor(W, *self._w_terms, l1_W, l2_W, self.gamma, self.eps, self.flush)
        if self.update_H:
            num, den = self.terms.h_terms(W, Ht)
            update_factor(Ht, num, den, l1_H, l2_H, self.gamma, self.eps, self.flush)
