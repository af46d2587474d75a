"""Scalar helpers shared by the kernels: the beta-divergence of one entry and
the coefficients of the multiplicative update.

Each is compiled serially and inlined into the parallel kernels.
"""

import numpy as np

from .._jit import serial_kernel


@serial_kernel
def clamp(wh, beta, eps):
    """The epsilon policy's rule 1: for beta < 2, a product that is divided
    by or raised to a power below one is clamped below at ``eps``."""
    if beta < 2:
        return max(wh, eps)
    return wh


@serial_kernel
def divergence(v, wh, beta, eps):
    """d_beta(v | wh) for one entry, in float64, as scikit-learn defines it.

    beta = 2: 0.5 (v - wh)^2; beta = 1: v log(v / wh) - v + wh (with 0 log 0
    = 0); beta = 0: v / wh - log(v / wh) - 1; otherwise
    (v^b + (b - 1) wh^b - b v wh^(b - 1)) / (b (b - 1)). Where v > 0, ``wh``
    is clamped as :func:`clamp` says; where v = 0 the divergence is
    wh^b / b (wh for beta = 1), with no clamp, exactly 0 at wh = 0.
    """
    v = np.float64(v)
    wh = np.float64(wh)
    b = np.float64(beta)
    if b == 2.0:
        return 0.5 * (v - wh) * (v - wh)
    if v == 0.0:
        return zero_divergence(wh, b)
    x = clamp(wh, b, np.float64(eps))
    if b == 1.0:
        return v * np.log(v / x) - v + x
    if b == 0.0:
        return v / x - np.log(v / x) - 1.0
    return (v**b + (b - 1.0) * x**b - b * v * x ** (b - 1.0)) / (b * (b - 1.0))


@serial_kernel
def zero_divergence(wh, b):
    """d_beta(0 | wh) = wh^b / b (wh for beta = 1), for beta > 0, float64."""
    if b == 1.0:
        return wh
    return wh**b / b


@serial_kernel
def divergence_above_zero(v, wh, beta, eps):
    """d_beta(v | wh) - d_beta(0 | wh), in float64, for v > 0 and beta > 0.

    The objective of a sparse V is the sum of this over V's stored entries
    plus the sum of d_beta(0 | wh) over all entries, which needs no m x n
    work (see :mod:`fastnmf._terms`). Written so that nothing cancels: the
    last term is nonzero only where the clamp applies.
    """
    v = np.float64(v)
    wh = np.float64(wh)
    b = np.float64(beta)
    if b == 2.0:
        return 0.5 * v * v - v * wh
    x = clamp(wh, b, np.float64(eps))
    if b == 1.0:
        return v * np.log(v / x) - v + (x - wh)
    return (v**b - b * v * x ** (b - 1.0)) / (b * (b - 1.0)) + (x**b - wh**b) / b


@serial_kernel
def power(x, exponent, one):
    """x ** exponent in x's dtype (``one`` is 1 in that dtype), with the
    small integer exponents done by multiplication and division (faster than
    ``pow`` and exact) and the half-integer ones of beta = 0.5, 1.5 and 2.5
    with a square root (several times faster than ``pow``)."""
    if exponent == 0:
        return one
    if exponent == 1:
        return x
    if exponent == -1:
        return one / x
    if exponent == -2:
        return one / (x * x)
    if exponent == 2:
        return x * x
    if exponent == 0.5:
        return np.sqrt(x)
    if exponent == -0.5:
        return one / np.sqrt(x)
    if exponent == 1.5:
        return x * np.sqrt(x)
    if exponent == -1.5:
        return one / (x * np.sqrt(x))
    return x**exponent
