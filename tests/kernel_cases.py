"""Shared cases and comparisons for the kernel tests (test_kernels*.py).
"""

import numpy as np
from numpy.testing import assert_allclose

import naive
from conftest import random_sparse, rtol_for
from fastnmf._chunks import balanced_row_chunks, uniform_row_chunks


# (m, n, r, density, empty row, empty column)
SHAPES = {
    "1x1": (1, 1, 1, 1.0, None, None),
    "r=1": (6, 5, 1, 0.6, None, None),
    "empty-row-col": (7, 6, 3, 0.6, 2, 4),
    "tall": (40, 3, 2, 0.5, 5, None),
    "wide": (3, 40, 2, 0.5, None, 7),
    "no-entries": (4, 5, 2, 0.0, None, None),
}
CHUNKS = ["balanced", "per-row"]


def every_case(n_threads=1):
    """Every (shape id, chunking) pair; with several threads only one chunk
    per row (the layout where threads share the work). A parallel launch
    costs milliseconds on a loaded 2-core machine, so the 2-thread runs keep
    to the cases that can tell threads apart."""
    chunkings = CHUNKS if n_threads == 1 else ["per-row"]
    return [(shape_id, chunks) for shape_id in SHAPES for chunks in chunkings]


def make_case(shape_id, dtype, seed=0):
    """CSR X (m x n, values >= 0.5, int32 indices as the package makes them)
    and factors A (m x r), B (n x r) in ``dtype``, with one zero row in each
    factor where the shape allows, so that some products A B^T are exactly
    zero and hit the eps clamp."""
    m, n, r, density, empty_row, empty_col = SHAPES[shape_id]
    rng = np.random.default_rng(seed)
    X = random_sparse(m, n, density, rng, dtype, empty_row, empty_col)
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    A = (rng.random((m, r)) + 0.1).astype(dtype)
    B = (rng.random((n, r)) + 0.1).astype(dtype)
    if m > 2:
        A[0] = 0
    if n > 2:
        B[1] = 0
    return X, A, B


def row_bounds(n_rows, how, indptr=None, n_cols=1):
    """Chunk boundaries: one chunk per row, or the package's own chunks."""
    if how == "per-row":
        return np.arange(n_rows + 1, dtype=np.int64)
    if indptr is not None:
        return balanced_row_chunks(indptr)
    return uniform_row_chunks(n_rows, n_cols)


def nan_array(shape, dtype):
    return np.full(shape, np.nan, dtype=dtype)


def loss_parts_for(bounds):
    return np.full(len(bounds) - 1, np.nan)


def assert_close(comp, ref, dtype, scale=None, err_msg=""):
    """Relative comparison at the dtype's tolerance, with an absolute floor
    proportional to ``scale`` (default: the largest reference entry) for
    entries that are sums of terms of mixed sizes."""
    rtol = rtol_for(dtype)
    ref = np.asarray(ref, dtype=np.float64)
    if scale is None:
        scale = float(np.abs(ref).max()) if ref.size else 0.0
    assert_allclose(np.asarray(comp, dtype=np.float64), ref, rtol=rtol, atol=rtol * scale, err_msg=err_msg)


def assert_close_or_subnormal(comp, ref, dtype, err_msg=""):
    """assert_close, or both below the smallest normal number: the kernels
    that take subnormal numbers as zero (fastnmf._kernels.fpmode) give zero
    where the twin's output is a sum of subnormal products."""
    rtol = rtol_for(dtype)
    ref = np.asarray(ref, dtype=np.float64)
    floor = max(rtol * float(np.abs(ref).max()) if ref.size else 0.0, float(np.finfo(dtype).tiny))
    assert_allclose(np.asarray(comp, dtype=np.float64), ref, rtol=rtol, atol=floor, err_msg=err_msg)


def near_smallest_normal(A, rng):
    """A copy of A with about a third of its entries just above the dtype's
    smallest normal number (1 to 64 times it), as late MU iterations leave
    the entries that decay toward zero: their products with entries below
    one are subnormal."""
    A = A.copy()
    chosen = rng.random(A.shape) < 1 / 3
    A[chosen] = (np.finfo(A.dtype).tiny * (1 + 63 * rng.random(chosen.sum()))).astype(A.dtype)
    return A


def assert_loss_close(comp, ref, dtype, scale, err_msg=""):
    rtol = rtol_for(dtype)
    assert_allclose(comp, ref, rtol=rtol, atol=rtol * scale, err_msg=err_msg)


def loss_scale(values, AB, beta, where):
    """Sum of the magnitudes of the terms a loss adds up over ``where`` (an
    absolute tolerance floor where they cancel)."""
    AB = np.asarray(AB, dtype=np.float64)
    terms = np.abs(naive.divergence(values[where], AB[where], beta))
    if beta > 0:
        terms = terms + np.abs(naive.divergence(np.zeros(terms.shape), AB[where], beta))
    return 2.0 * float(terms.sum()) + 1e-30
