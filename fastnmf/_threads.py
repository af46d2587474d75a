"""Numba's thread count for the duration of a call, restored afterwards."""

from contextlib import contextmanager

import numba

# A parallel region costs tens of microseconds to start, and on a busy
# machine a thread that waits for a core can cost a whole scheduler time
# slice (milliseconds). Below this many multiply-adds per thread and per
# kernel call, more threads make a fit slower, so small problems use fewer.
MIN_WORK_PER_THREAD = 200_000


def threads_for(work, requested):
    """The number of threads worth using for kernels of ``work``
    multiply-adds, at most ``requested``. Results do not depend on it: the
    kernels split work the same way whatever the thread count."""
    return int(max(1, min(requested, work // MIN_WORK_PER_THREAD)))


@contextmanager
def numba_threads(n_threads):
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)
