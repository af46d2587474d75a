"""The one place that decides how fastnmf's kernels are compiled.

Every kernel module imports :func:`kernel` (parallel) or :func:`serial_kernel`
from here and never calls ``numba.njit`` itself, so the options below hold for
the whole package:

- ``cache=True``: compiled machine code is written next to the sources (or to
  ``NUMBA_CACHE_DIR``) and reused by later processes, so only the first call on
  a machine pays the compile cost.
- ``fastmath``: only the flags that let LLVM vectorize reductions and fuse
  multiply-adds. ``nnan`` and ``ninf`` are deliberately left out: NaN and Inf
  must keep their meaning so that the epsilon policy (see
  :mod:`fastnmf._epsilon`) can be relied on.
- ``error_model="numpy"``: a division by zero gives inf/nan instead of raising,
  which lets LLVM vectorize divisions; the kernels never divide by zero because
  every denominator is guarded.
- ``nogil=True``: kernels release the GIL, so several fits can run from Python
  threads (or Dask's threaded scheduler).
"""

from numba import njit

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

_OPTIONS = dict(cache=True, fastmath=set(FASTMATH), error_model="numpy", nogil=True)


def kernel(func):
    """Compile ``func`` as a parallel kernel (its ``prange`` loops run on threads)."""
    return njit(parallel=True, **_OPTIONS)(func)


def serial_kernel(func):
    """Compile ``func`` as a serial helper, inlinable into parallel kernels."""
    return njit(parallel=False, **_OPTIONS)(func)
