"""Thread counts for the duration of a call, restored afterwards: Numba's
(:func:`numba_threads`) and BLAS's (:func:`blas_on_calling_thread`)."""

import functools
import importlib
import threading
import warnings
from contextlib import contextmanager

import numba

from ._caller import callers_stacklevel
from ._jit import OPENMP_STARTED_SPINNING
from ._result import PerformanceWarning

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


SPINNING_THREADS_MESSAGE = (
    "Numba's OpenMP threads were started before fastnmf was imported, so they busy-wait as OpenMP does by "
    "default instead of briefly: they take turns with BLAS's threads and with each other for the cores, and "
    "fits on several threads run slower, dense Frobenius ones many times slower (11 to 23 times on 2 cores). "
    "Import fastnmf before any parallel Numba function is compiled or run (another library's too) and before "
    "numba.set_num_threads(), set OMP_WAIT_POLICY=PASSIVE in the environment before Python starts, or pass "
    "n_threads=1."
)
_spinning_warned = False


def warn_if_threads_spin():
    """Warn, once a process, where Numba's OpenMP threads busy-wait because
    they were started before fastnmf set their waiting
    (:data:`fastnmf._jit.OPENMP_STARTED_SPINNING`)."""
    global _spinning_warned
    if OPENMP_STARTED_SPINNING and not _spinning_warned:
        _spinning_warned = True
        warnings.warn(SPINNING_THREADS_MESSAGE, PerformanceWarning, stacklevel=callers_stacklevel())


@contextmanager
def numba_threads(n_threads):
    """Numba's thread count set to ``n_threads`` for the block, restored
    after; with several threads, :func:`warn_if_threads_spin` first."""
    if n_threads > 1:
        warn_if_threads_spin()
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


# BLAS on the calling thread. The dense tile kernel
# (fastnmf._kernels.dense.dense_tile_terms) calls BLAS from each of Numba's
# threads. OpenBLAS runs a product on the calling thread only below 2^18
# multiply-adds (fastnmf._kernels.gram), which holds the tiles to 32 x 163 at
# r = 50, where single-threaded OpenBLAS reaches about half its rate. Held to
# one thread for the duration of a kernel call, OpenBLAS can be given tiles
# of 128 x 512: 1.3-1.5x faster dense fits at r = 50 in float32
# (docs/performance.md). OpenBLAS's thread count is process-wide (BLAS has no
# per-call one), so it is held while any fastnmf kernel needs it and restored
# when the last one ends; a NumPy product that another Python thread makes
# meanwhile runs on one thread too. Only OpenBLAS on its own threads
# qualifies: built on OpenMP, its thread count is per thread and would not
# reach Numba's threads; other BLAS libraries keep the small tiles.
_blas_lock = threading.Lock()
_blas_users = 0
_blas_saved = None  # the thread counts to restore, while the hold is on and took effect


@functools.lru_cache(maxsize=1)
def _blas_libraries():
    """threadpoolctl's controllers of the process's OpenBLAS libraries, or
    None when the BLAS that Numba calls (SciPy's) cannot be held to one
    thread from here."""
    try:
        import scipy
        from threadpoolctl import ThreadpoolController

        # Numba's np.dot calls the BLAS behind SciPy's cython_blas: loaded
        # here, so that threadpoolctl finds it even before a kernel ran.
        importlib.import_module("scipy.linalg.cython_blas")
    except ImportError:  # pragma: no cover - all three come with the dependencies
        return None
    try:
        name = str(scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]).lower()
    except (KeyError, TypeError, ValueError):  # pragma: no cover - SciPy >= 1.11 reports it
        return None
    libraries = ThreadpoolController().select(internal_api="openblas").lib_controllers
    if "openblas" not in name or not libraries:
        return None
    if any(getattr(lib, "threading_layer", None) == "openmp" for lib in libraries):
        return None
    return tuple(libraries)


def blas_can_be_held():
    """Whether :func:`blas_on_calling_thread` can hold Numba's BLAS to one thread."""
    return _blas_libraries() is not None


def _set_blas_threads(libraries, counts):
    for lib, count in zip(libraries, counts):
        lib.set_num_threads(count)
    # threadpoolctl >= 3.8 lets only one Python thread set OpenBLAS's count
    # (the first to do so) until it lets go: let go, so that the restore may
    # come from whichever thread leaves last.
    for lib in libraries:
        clear = getattr(type(lib), "clear_controlling_thread", None)
        if clear is not None:
            clear()


@contextmanager
def blas_on_calling_thread():
    """Hold every OpenBLAS library of the process to one thread while the
    block runs; yields whether the hold took effect (False where
    :func:`blas_can_be_held` is False, or where another Python thread holds
    threadpoolctl's control of OpenBLAS). Safe to nest and to enter from
    several threads at once: the first entry sets the limit, the last exit
    restores what was there before."""
    global _blas_users, _blas_saved
    libraries = _blas_libraries()
    if libraries is None:
        yield False
        return
    with _blas_lock:
        if _blas_users == 0:
            saved = tuple(lib.get_num_threads() for lib in libraries)
            _set_blas_threads(libraries, (1,) * len(libraries))
            _blas_saved = saved
        _blas_users += 1
        held = all(lib.get_num_threads() == 1 for lib in libraries)
    try:
        yield held
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _set_blas_threads(libraries, _blas_saved)
                _blas_saved = None
