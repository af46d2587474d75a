"""Scalar helpers shared by the kernels: the beta-divergence of one entry,
the coefficients of the multiplicative update, and a logarithm that LLVM can
vectorize.

Each is compiled serially and inlined into the parallel kernels.
"""

import numpy as np
from numba import types
from numba.extending import intrinsic

from .._jit import inlined_kernel, serial_kernel

NORMAL_MIN = float(np.finfo(np.float64).tiny)  # the smallest positive normal float64
NORMAL_MAX = float(np.finfo(np.float64).max)
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that e * _LN2_HI is exact for |e| < 2^11
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951


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


def _bitcast(source, target):
    """A Numba intrinsic that reinterprets the bits of a ``source`` scalar as
    a ``target`` scalar of the same width (LLVM's bitcast: no work at run
    time)."""

    def typer(typingctx, value):
        if value != source:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(target))

        return target(source), codegen

    return intrinsic(typer)


_bits_of = _bitcast(types.float64, types.int64)  # a float64's bits
_float_of = _bitcast(types.int64, types.float64)  # the float64 with these bits


@inlined_kernel
def log_of_normal(x):
    """ln x for a normal float64 x >= NORMAL_MIN, within 2 units in the
    last place of ``np.log``; inf and NaN are returned as they are. (Zero,
    subnormal and negative x give wrong, finite results: callers clamp.)

    Written so that LLVM vectorizes a loop that calls it, which it cannot do
    with a call to the C library's ``log``: x = 2^e m with m in
    [sqrt(1/2), sqrt(2)) from the bits of x, then ln m = 2 atanh(s) with
    s = (m - 1) / (m + 1), |s| < 0.172, by its series 2 (s + s^3/3 + s^5/5
    + ...) to s^21 (the next term is below 2^-56 of ln m; Abramowitz &
    Stegun 4.1.27), and ln x = e ln 2 + ln m with ln 2 in two parts.
    """
    bits = _bits_of(x)
    e = (bits >> 52) - 1023
    m = _float_of((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # x's mantissa, in [1, 2)
    if m > _SQRT2:
        m = m * 0.5
        e = e + 1
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = 1.0 / 21.0
    p = p * z + 1.0 / 19.0
    p = p * z + 1.0 / 17.0
    p = p * z + 1.0 / 15.0
    p = p * z + 1.0 / 13.0
    p = p * z + 1.0 / 11.0
    p = p * z + 1.0 / 9.0
    p = p * z + 1.0 / 7.0
    p = p * z + 1.0 / 5.0
    p = p * z + 1.0 / 3.0
    f = np.float64(e)
    result = f * _LN2_HI + (f * _LN2_LO + (2.0 * s + 2.0 * s * z * p))
    return result if x <= NORMAL_MAX else x  # inf and NaN (the comparison is false for NaN)


@inlined_kernel
def kl_log_term(v, x):
    """v log(v / x) - v for float64 v >= 0 and x > 0: the part of the
    Kullback-Leibler divergence d(v | x) that needs a logarithm, by
    :func:`log_of_normal`. A ratio v / x below the normal range (a zero or
    subnormal v) is taken as the smallest normal number, which changes the
    term by less than 1e-300 (by nothing where v = 0)."""
    return v * log_of_normal(max(v / x, NORMAL_MIN)) - v
