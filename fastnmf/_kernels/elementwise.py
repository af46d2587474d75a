"""Scalar helpers shared by the kernels: the beta-divergence of one entry and
the coefficients of the multiplicative update.

Each is compiled serially and inlined into the parallel kernels.
"""

import numpy as np

from .._jit import serial_kernel


@serial_kernel
def divergence(v, wh, beta, eps):
    """d_beta(v | wh) for one entry, in float64, as scikit-learn defines it.

    beta = 2: 0.5 (v - wh)^2; beta = 1: v log(v / wh) - v + wh (with 0 log 0
    = 0); beta = 0: v / wh - log(v / wh) - 1; otherwise
    (v^b + (b - 1) wh^b - b v wh^(b - 1)) / (b (b - 1)).
    ``wh`` is clamped at ``eps`` for beta < 2 (the epsilon policy).
    """
    v = np.float64(v)
    wh = np.float64(wh)
    b = np.float64(beta)
    if b == 2.0:
        return 0.5 * (v - wh) * (v - wh)
    x = max(wh, np.float64(eps))
    if b == 1.0:
        if v > 0.0:
            return v * np.log(v / x) - v + x
        return x
    if b == 0.0:
        return v / x - np.log(v / x) - 1.0
    return (v**b + (b - 1.0) * x**b - b * v * x ** (b - 1.0)) / (b * (b - 1.0))


@serial_kernel
def divergence_above_zero(v, wh, beta, eps):
    """d_beta(v | wh) - d_beta(0 | wh), in float64, for beta > 0.

    The objective of a sparse V is the sum of this over V's stored entries
    plus the sum of d_beta(0 | wh) = wh^beta / beta over all entries, which
    needs no m x n work (see :mod:`fastnmf._terms`).
    """
    v = np.float64(v)
    b = np.float64(beta)
    if b == 2.0:
        return 0.5 * v * v - v * np.float64(wh)
    x = max(np.float64(wh), np.float64(eps))
    if b == 1.0:
        if v > 0.0:
            return v * np.log(v / x) - v
        return 0.0
    return (v**b - b * v * x ** (b - 1.0)) / (b * (b - 1.0))


@serial_kernel
def power(x, exponent, one):
    """x ** exponent in x's dtype (``one`` is 1 in that dtype), with the
    integer exponents of the named losses done by multiplication and division:
    faster than ``pow`` and exact."""
    if exponent == 0:
        return one
    if exponent == 1:
        return x
    if exponent == -1:
        return one / x
    if exponent == -2:
        return one / (x * x)
    return x**exponent
