"""Numba's thread count for the duration of a call, restored afterwards."""

from contextlib import contextmanager

import numba


@contextmanager
def numba_threads(n_threads):
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)
