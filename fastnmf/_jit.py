"""The one place that decides how fastnmf's kernels are compiled.

Every kernel module imports :func:`kernel` (parallel), :func:`serial_kernel`
or :func:`inlined_kernel` from here and never calls ``numba.njit`` itself, so
the options below hold for the whole package:

- ``cache=True`` for the parallel kernels: compiled machine code is written
  next to the sources (or to ``NUMBA_CACHE_DIR``) and reused by later
  processes, so only the first call on a machine pays the compile cost. The
  serial helpers are not cached: their code is compiled into each kernel that
  calls them, so their own cache entries would never be loaded, and
  ``fastnmf precompile`` (:mod:`fastnmf._precompile`) compiles kernels in
  several processes at once, which must not write the same cache files (cold
  compile of every kernel: the same time either way, 27.2-28.7 s).
- ``fastmath``: only the flags that let LLVM vectorize reductions and fuse
  multiply-adds. ``nnan`` and ``ninf`` are deliberately left out: NaN and Inf
  must keep their meaning so that the epsilon policy (see
  :mod:`fastnmf._epsilon`) can be relied on.
- ``error_model="numpy"``: a division by zero gives inf/nan instead of raising,
  which lets LLVM vectorize divisions; the kernels never divide by zero because
  every denominator is guarded.
- ``nogil=True``: kernels release the GIL, so several fits can run from Python
  threads (or Dask's threaded scheduler).

The threading layer is Numba's default (TBB if installed, else OpenMP, else
workqueue), with one setting: OpenMP threads spin briefly, then sleep
(``OMP_WAIT_POLICY=PASSIVE`` and ``GOMP_SPINCOUNT=1000``: 20-40 us with GNU
OpenMP on the 2-core AMD machine of docs/performance.md), unless the
environment already sets the policy. With OpenMP's default active waiting,
threads that finished their share spin for a while at every barrier, and on a
machine whose cores are busy with other work they take turns with the very
threads they wait for: measured here, a 2-thread KL fit ran 2 to 3 times
*slower* than a 1-thread fit on a loaded 2-core machine, and at or below the
1-thread time with passive waiting (see docs/performance.md). Sleeping at once
costs the other way: a fit launches several short parallel kernels per
iteration, and an empty parallel region costs 45 us when the other thread
sleeps against 2 us when it spins; the brief spin keeps the threads awake
between back-to-back kernels (0.5M-nonzero Frobenius MU, 2 threads: 1.1-1.2x
faster, and no slower on busy cores). The workqueue layer does not degrade
either, but it aborts the process when two Python threads launch parallel
kernels at once, which Dask's threaded scheduler does. The settings only take
effect if fastnmf is imported before the first parallel Numba call of the
process.
"""

import os

SPIN_COUNT = 1000  # GNU OpenMP's busy-wait iterations before a waiting thread sleeps

if "OMP_WAIT_POLICY" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ.setdefault("GOMP_SPINCOUNT", str(SPIN_COUNT))

from numba import njit  # noqa: E402

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

_OPTIONS = dict(fastmath=set(FASTMATH), error_model="numpy", nogil=True)


def kernel(func):
    """Compile ``func`` as a parallel kernel (its ``prange`` loops run on threads)."""
    return njit(parallel=True, cache=True, **_OPTIONS)(func)


def serial_kernel(func):
    """Compile ``func`` as a serial helper that kernels call."""
    return njit(parallel=False, cache=False, **_OPTIONS)(func)


def read_only(array):
    """A read-only view of ``array``, for the arguments a kernel only reads.

    Numba compiles a new specialization for a read-only array (a memory-mapped
    file, a pandas column under copy-on-write, a block Dask deserialized), so
    the kernels always see V and the other inputs they read through a view
    like this: one compiled version per dtype, the one ``fastnmf precompile``
    puts in the cache, whatever the caller's arrays allow. A view costs no
    copy."""
    view = array.view()
    view.flags.writeable = False
    return view


def inlined_kernel(func):
    """Compile ``func`` as a serial helper that Numba inlines into the kernels
    calling it, before LLVM sees them."""
    return njit(parallel=False, inline="always", cache=False, **_OPTIONS)(func)
