"""Shared fixtures: Numba thread counts, tolerances per dtype, the solver
options that select multiplicative updates, small test matrices, and the
sample matrices and message helpers of the fastnmf.io tests."""

import inspect
import os
import re

import numba
import numpy as np
import pytest
import scipy.sparse as sp

import naive
import fastnmf
from fastnmf._threads import MIN_WORK_PER_THREAD

# Relative tolerances for comparing a kernel (working in its dtype) with a
# float64 twin. float64 kernels may reassociate sums (fastmath "reassoc").
RTOL = {np.dtype(np.float32): 2e-4, np.dtype(np.float64): 1e-10}

# The multiplicative-update solver, whatever the default solver of the loss.
MU = {"solver": "mu"} if "solver" in inspect.signature(fastnmf.nmf).parameters else {}

# The losses by beta, as the tests name them.
BETAS = [2.0, 1.0, 0.0, 0.5, 1.5, 3.0]
POSITIVE_BETAS = [b for b in BETAS if b > 0]
ALL_BETAS = BETAS + [-0.5]  # any real beta, not only the named losses

MAX_THREADS = numba.config.NUMBA_NUM_THREADS

# The speech x word count matrix of the source document.
SPEECHES = np.array([[36, 3, 45, 54], [4, 34, 23, 31], [9, 65, 11, 0], [17, 3, 3, 0], [0, 14, 7, 4]])
WORDS = ["labour", "energy", "market", "employment"]


def rtol_for(dtype):
    return RTOL[np.dtype(dtype)]


def two_threads_or_skip(n):
    if n > MAX_THREADS:
        pytest.skip(f"needs {n} Numba threads; NUMBA_NUM_THREADS is {MAX_THREADS}")


@pytest.fixture(autouse=True)
def numba_threads_unchanged():
    """No test may leave Numba's thread count changed."""
    before = numba.get_num_threads()
    yield
    assert numba.get_num_threads() == before, "a test or the package left numba's thread count changed"


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def n_threads(request):
    """Run the test body with 1, then 2 Numba threads; restore afterwards."""
    two_threads_or_skip(request.param)
    previous = numba.get_num_threads()
    numba.set_num_threads(request.param)
    try:
        yield request.param
    finally:
        numba.set_num_threads(previous)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture
def fresh_compile_target(monkeypatch):
    """fastnmf._jit.compile_target, remembered per process, forgotten before
    the test and after it, once its changes to Numba's settings (through
    ``monkeypatch``, set up first and so undone last) are undone too."""
    from fastnmf._jit import compile_target

    compile_target.cache_clear()
    yield compile_target
    monkeypatch.undo()
    compile_target.cache_clear()


def random_sparse(m, n, density, rng, dtype=np.float64, empty_row=None, empty_col=None, low=0.5):
    """A canonical CSR array with about ``density`` of its entries stored,
    values in [low, low + 1), optionally with a given row and column left
    empty. Drawn with NumPy alone, so it does not depend on SciPy's version."""
    stored = rng.random((m, n)) < density
    dense = np.where(stored, low + rng.random((m, n)), 0.0)
    if empty_row is not None:
        dense[empty_row] = 0
    if empty_col is not None:
        dense[:, empty_col] = 0
    X = sp.csr_array(dense.astype(dtype))
    X.sort_indices()
    return X


def low_rank(m, n, r, rng, dtype=np.float64, offset=0.0):
    """An exact non-negative rank-r matrix W H (plus ``offset``) and its factors."""
    W = rng.random((m, r)) + 0.1
    H = rng.random((r, n)) + 0.1
    return (W @ H + offset).astype(dtype), W, H


# Small problems shared by the fit tests.
ONE_THREAD = dict(n_threads=1, **MU)


def data(beta, layout="dense", dtype=np.float64, m=12, n=9, seed=0):
    """A small non-negative V with zeros (one empty row and column) for
    beta > 0, strictly positive for beta <= 0; dense, or CSR."""
    rng = np.random.default_rng(seed)
    X = random_sparse(m, n, 0.5, rng, np.float64, empty_row=1, empty_col=2).toarray()
    if beta <= 0:
        X = X + 0.3
    X = X.astype(dtype)
    return sp.csr_array(X) if layout == "csr" else X


def factors(m, n, r, dtype=np.float64, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.random((m, r)) + 0.1).astype(dtype), (rng.random((r, n)) + 0.1).astype(dtype)


# --------------------------------------------------------------------------
# Sample matrices and helpers of the fastnmf.io tests
# --------------------------------------------------------------------------


@pytest.fixture
def dense():
    return np.random.default_rng(0).random((4, 3))


@pytest.fixture
def counts():
    """A documents x words count matrix with an empty row and column."""
    matrix = np.array([[2, 0, 1, 0], [0, 0, 0, 0], [1, 3, 0, 0], [0, 1, 4, 0]], dtype=np.float64)
    return sp.csr_array(matrix)


def write_text(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def at(path, message):
    """A regex for a FileFormatError message: the file's full name first
    (exactly once), then ``message``."""
    return "^" + re.escape(str(path)) + "(?!.*" + re.escape(os.path.basename(str(path))) + ")" + message


def assert_matches_twin(result, W, H, history, rtol, history_atol=0.0):
    """A fit's factors (to ``rtol``, and ``rtol`` times their largest entry)
    and objective history against its naive twin's."""
    np.testing.assert_allclose(result.W, W, rtol=rtol, atol=rtol * W.max())
    np.testing.assert_allclose(result.H, H, rtol=rtol, atol=rtol * H.max())
    np.testing.assert_allclose(result.loss_history, history, rtol=rtol, atol=history_atol)


def assert_same_sparse(A, B):
    assert sp.issparse(A) and sp.issparse(B)
    assert A.shape == B.shape
    np.testing.assert_array_equal(sp.csr_array(A).toarray(), sp.csr_array(B).toarray())


# With a callback the objective is evaluated after every iteration (without
# one, every 10 iterations and after the last).
EVERY_ITERATION = dict(callback=lambda iteration, W, H, loss: None)
PENALTIES = {
    "none": dict(alpha_W=0.0),
    "l1": dict(alpha_W=0.02, l1_ratio=1.0),
    "l2": dict(alpha_W=0.02, l1_ratio=0.0),
    "mixed": dict(alpha_W=0.02, alpha_H=0.05, l1_ratio=0.4),
}


def penalty_weights(m, n, alpha_W=0.0, alpha_H="same", l1_ratio=0.0):
    """(l1_W, l2_W, l1_H, l2_H) of nmf's alpha options, for the naive twins."""
    alpha_H = alpha_W if alpha_H == "same" else alpha_H
    return naive.sklearn_penalties(m, n, alpha_W, alpha_H, l1_ratio)


def as_dense(V):
    """V as a dense array, for the naive twins."""
    return V.toarray() if sp.issparse(V) else np.asarray(V)


def large_enough_for_two_threads(layout, r=4, seed=3, loss=None):
    """A V on which fastnmf really uses 2 threads (it uses fewer on small
    problems: fastnmf._threads.MIN_WORK_PER_THREAD multiply-adds per thread)
    and splits the work into several chunks. Dense Frobenius MU above r =
    12 counts the rows of its largest factor, not V's entries (BLAS makes
    its products: fastnmf._api._threads_worth_using): for it
    (``loss="frobenius"``), a tall V, which serves r = 4 as well."""
    rng = np.random.default_rng(seed)
    work = 3 * MIN_WORK_PER_THREAD  # nnz * r
    if layout == "dense" and loss == "frobenius":
        return rng.random((-(-work // r), 6)) + 0.01
    if layout == "dense":
        m = 400
        return rng.random((m, -(-work // (m * r)))) + 0.01
    density = 0.5
    m = 600
    return random_sparse(m, -(-work // int(m * r * density)), density, rng)
