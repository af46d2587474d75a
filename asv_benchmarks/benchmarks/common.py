"""Data, parameter grids and helpers shared by fastnmf's asv benchmarks.

Conventions (as in NumPy's and SciPy's suites):

- Everything a benchmark needs is prepared in ``setup``, including one
  untimed call of the timed function on the same data, so that Numba's
  compilation (or loading from its cache) is never timed.
- Fits run a fixed number of iterations (``tol=0``) from a fixed initial
  (W0, H0), so a timing is comparable between commits; a ``track_`` method
  reports the final loss beside it, so that a speed-up that changes the
  result is visible.
- Combinations that do not apply raise ``NotImplementedError`` in ``setup``
  (asv shows them as skipped, not failed).
- Each timed call stays well under a second at the default size.

Environment variables (read when asv imports the suite):

``FASTNMF_BENCH_SIZES``
    Comma-separated data sizes, default ``small``. Sizes are those of
    ``benchmarks/synthetic.py`` (``tiny``, ``small``, ``0.5M``, ``3M``,
    ``15M``: sparse document-term matrices named by their nonzeros), each with
    a dense matrix of comparable cost (:data:`DENSE_SHAPES`). The size is a
    benchmark parameter, so results of different sizes never mix.
``FASTNMF_BENCH_THREADS``
    Comma-separated thread counts, default ``1,2``. Counts above Numba's
    ``NUMBA_NUM_THREADS`` are skipped.
"""

import functools
import importlib.util
import inspect
import os
import pathlib
import sys

import numba
import numpy as np

import fastnmf

REPO = pathlib.Path(__file__).resolve().parents[2]


def _list_from_environment(name, default, convert=str):
    value = os.environ.get(name, "").strip()
    if not value:
        return list(default)
    return [convert(item.strip()) for item in value.split(",") if item.strip()]


SIZES = _list_from_environment("FASTNMF_BENCH_SIZES", ["small"])
THREADS = _list_from_environment("FASTNMF_BENCH_THREADS", [1, 2], int)
LOSSES = ["frobenius", "kullback-leibler", "itakura-saito", 1.5]
DTYPES = ["float32", "float64"]
RANKS = [10, 50]
LAYOUTS = ["dense", "csr"]

# Dense matrices of each size: BLAS does their O(m n r) products, so they are
# smaller than the sparse matrices of the same name.
DENSE_SHAPES = {
    "tiny": (40, 60),
    "small": (400, 800),
    "0.5M": (1_000, 2_000),
    "3M": (2_000, 5_000),
    "15M": (5_000, 10_000),
}

# Iterations per timed fit. Sparse V with a beta other than 1 and 2 pays an
# O(m n r) pass over the implicit zeros, so it runs fewer.
ITERATIONS = 5
ITERATIONS_ALL_ENTRIES = 1


def script_module(stem):
    """``benchmarks/<stem>.py`` of this repository, loaded by path (the name
    ``benchmarks`` is taken by this asv package) and kept in sys.modules."""
    name = f"fastnmf_benchmarks_{stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{stem}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def synthetic_module():
    """``benchmarks/synthetic.py``: the synthetic document-term matrices."""
    return script_module("synthetic")


@functools.lru_cache(maxsize=8)
def document_term(size, dtype):
    """The synthetic document-term CSR matrix of ``size`` (read-only)."""
    X = synthetic_module().corpus(size, seed=0, dtype=np.dtype(dtype))
    X.data.flags.writeable = False
    return X


@functools.lru_cache(maxsize=8)
def dense_positive(size, dtype):
    """A dense, strictly positive m x n matrix of ``size`` (so that every
    loss, Itakura-Saito included, applies): a rank-20 non-negative product
    times Gamma noise."""
    m, n = DENSE_SHAPES[size]
    rng = np.random.default_rng(1)
    W = rng.gamma(0.5, size=(m, 20))
    H = rng.gamma(0.5, size=(20, n))
    V = (W @ H + 0.1) * rng.gamma(10.0, 0.1, size=(m, n))
    V = V.astype(dtype)
    V.flags.writeable = False
    return V


def data(layout, size, dtype):
    """V for ``layout`` ("dense" or "csr")."""
    if layout == "dense":
        return dense_positive(size, dtype)
    if layout == "csr":
        return document_term(size, dtype)
    raise ValueError(f"layout must be 'dense' or 'csr'; got {layout!r}.")


def factors_of(size, dtype, r):
    """The document-term matrix of ``size`` and its fixed (W0, H0^T), H0^T
    C-contiguous as the kernels keep it."""
    V = document_term(size, dtype)
    W, H = initial_factors(V, r)
    return V, W, np.ascontiguousarray(H.T)


def initial_factors(V, r, seed=0):
    """A fixed positive (W0, H0) in V's dtype, scaled like scikit-learn's
    random init (entries about sqrt(mean(V) / r))."""
    m, n = V.shape
    mean = float(V.sum()) / (m * n)
    scale = np.sqrt(mean / r)
    rng = np.random.default_rng(seed)
    W0 = (scale * (0.5 + rng.random((m, r)))).astype(V.dtype)
    H0 = (scale * (0.5 + rng.random((r, n)))).astype(V.dtype)
    return W0, H0


def iterations(layout, loss):
    """Iterations per timed fit for this layout and loss."""
    beta = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}.get(loss, loss)
    if layout == "csr" and beta not in (1.0, 2.0):
        return ITERATIONS_ALL_ENTRIES
    return ITERATIONS


def skip_unless_applicable(layout, loss):
    """Raise NotImplementedError (asv: skipped) for a layout and loss that
    fastnmf does not fit: beta <= 0 needs V without zeros, which a sparse
    document-term matrix is not."""
    if layout == "csr" and loss == "itakura-saito":
        raise NotImplementedError("itakura-saito needs V without zeros; sparse V has implicit zeros")


def accepts(function, parameter):
    """Whether ``function`` has a keyword ``parameter``."""
    return parameter in inspect.signature(function).parameters


def mu_solver():
    """Keyword arguments that select multiplicative updates, once ``nmf``
    has a ``solver=`` (its default may pick another solver for some losses)."""
    return {"solver": "mu"} if accepts(fastnmf.nmf, "solver") else {}


class ThreadSetting:
    """Numba and BLAS thread counts for one benchmark, set in ``setup`` and
    restored in ``teardown``. BLAS gets the same count (through threadpoolctl,
    when installed) so that ``n_threads`` is the number of cores in use."""

    def __init__(self, n_threads):
        if n_threads > numba.config.NUMBA_NUM_THREADS:
            raise NotImplementedError(
                f"n_threads={n_threads} exceeds NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}"
            )
        self.n_threads = n_threads
        self._previous = numba.get_num_threads()
        numba.set_num_threads(n_threads)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            self._blas = None
        else:
            self._blas = threadpool_limits(limits=n_threads, user_api="blas")

    def restore(self):
        numba.set_num_threads(self._previous)
        if self._blas is not None:
            self._blas.restore_original_limits()
            self._blas = None


def restore_threads(benchmark):
    """``teardown`` helper: undo the ThreadSetting of ``setup``, if it got
    that far (asv calls teardown after a skip too)."""
    setting = getattr(benchmark, "threads", None)
    if setting is not None:
        setting.restore()
        benchmark.threads = None
