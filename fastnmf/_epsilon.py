"""fastnmf's one epsilon policy.

Multiplicative updates divide by products that can be zero, and raise them to
negative powers. Everywhere in fastnmf, and only in the ways listed here:

1. For losses with beta < 2, a product ``(WH)_ij`` is clamped below at
   :data:`EPS` (the float32 machine epsilon, about 1.19e-7, the value
   scikit-learn uses) where it enters an update (divided by, or raised to a
   power below one) and where it enters the objective at an entry with
   V_ij > 0. Where V_ij = 0 the objective uses the product as it is
   (d(0 | y) = y^beta / beta is finite at y = 0), so an exact fit has
   objective exactly 0. Losses with beta >= 2 never clamp. A V whose entries
   are all below EPS cannot be fitted under this clamp (the fit stops at once
   near W H = 0): :func:`fastnmf.nmf` and :func:`fastnmf.transform` warn
   and ask for V rescaled.
2. A denominator of an update that is exactly zero is replaced by :data:`EPS`.
   Its numerator is then zero too (the factor row it multiplies is zero), so
   the entry stays where it is instead of becoming NaN.
3. A factor entry that falls below the smallest normal number of its dtype
   (``numpy.finfo(dtype).tiny``) is set to zero. Values that decay toward zero
   would otherwise become subnormal numbers, which many CPUs handle 10 to 100
   times slower, and make late iterations several times slower than early
   ones. Such an entry is zero for every practical purpose; a zero entry stays
   zero under multiplicative updates, exactly as it would once it underflowed.
4. Inside the kernels that multiply entries of W by entries of H at V's
   entries (the sparse kernels for beta < 2, the masked ones, and the dense
   tile kernel), a subnormal result or input counts as zero: each of their
   threads turns on the processor's flush-to-zero and denormals-are-zero
   modes for its work and restores its mode after
   (:mod:`fastnmf._kernels.fpmode`; x86-64 only). Rule 3 keeps the entries
   themselves normal, but the product of two entries near the smallest
   normal number is subnormal, and Intel processors take a slow path for
   each: late float32 iterations took 1.5 to 1.6 times (KL) and 3 times
   (beta = 1.5) as long as early ones on an Intel Xeon before. Such a
   product is far below what a float32 or float64 sum next to it can hold;
   the fits came out the same to 10 digits or more (docs/performance.md).

With finite, non-negative input these rules keep W and H finite and
non-negative: no NaN and no Inf can come out of an update.
"""

import numpy as np

EPS = float(np.finfo(np.float32).eps)


def tiny(dtype):
    """The flush-to-zero threshold of rule 3 for ``dtype``."""
    return np.finfo(dtype).tiny
