"""Each Numba kernel of fastnmf._kernels against its NumPy twin in naive.py.

Grid: float32 and float64 (the ``dtype`` fixture), 1 and 2 Numba threads (the
``n_threads`` fixture), every beta the kernel serves, with and without
weights. Inside each test, a loop over awkward shapes (1x1, r=1, empty rows
and columns, no stored entries, tall, wide) and two ways of chunking the rows
(the package's balanced chunks, and one chunk per row): one compiled
specialization serves them all, so the loop costs microseconds where a
parametrization would cost pytest overhead. Outputs are filled with NaN
before each call, so an entry the kernel forgets to write fails.
"""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import naive
from conftest import BETAS, POSITIVE_BETAS, random_sparse, rtol_for, two_threads_or_skip
from fastnmf import _kernels as K
from fastnmf._chunks import balanced_row_chunks, uniform_row_chunks
from fastnmf._epsilon import EPS, tiny

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


# --------------------------------------------------------------------------
# The twins themselves
# --------------------------------------------------------------------------


def test_naive_eps_is_the_package_eps():
    assert naive.EPS == EPS


@pytest.mark.parametrize("beta", BETAS + [-0.5])
def test_naive_update_is_the_gradient_split(beta):
    """den - num is the gradient of the divergence in W (unmasked and
    weighted): the twin's terms are the right ones."""
    rng = np.random.default_rng(1)
    V = rng.random((5, 4)) + 0.5
    W = rng.random((5, 2)) + 0.5
    H = rng.random((2, 4)) + 0.5
    M = rng.random((5, 4)) * (rng.random((5, 4)) > 0.3)
    for weights in (None, M):
        num, den = naive.update_terms_W(V, W, H, beta, weights)
        step = 1e-6
        grad = np.zeros_like(W)
        for i in range(W.shape[0]):
            for k in range(W.shape[1]):
                up, down = W.copy(), W.copy()
                up[i, k] += step
                down[i, k] -= step
                grad[i, k] = (
                    naive.beta_divergence(V, up, H, beta, weights) - naive.beta_divergence(V, down, H, beta, weights)
                ) / (2 * step)
        assert_allclose(den - num, grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("beta", BETAS + [-0.5])
def test_naive_mu_iteration_decreases_its_objective(beta):
    rng = np.random.default_rng(2)
    V = rng.random((6, 5)) + 0.2
    W = rng.random((6, 2)) + 0.1
    H = rng.random((2, 5)) + 0.1
    M = (rng.random((6, 5)) > 0.3).astype(float)
    penalties = (0.1, 0.2, 0.3, 0.05)
    for weights in (None, M):
        before = naive.objective(V, W, H, beta, weights, *penalties)
        for _ in range(5):
            W, H = naive.mu_iteration(V, W, H, beta, weights, *penalties)
            after = naive.objective(V, W, H, beta, weights, *penalties)
            assert after <= before * (1 + 1e-12)
            before = after


def test_naive_divergence_special_cases():
    # scikit-learn's definitions at v = 0 and v = wh.
    assert naive.divergence(0.0, 2.0, 1.0) == 2.0
    assert_allclose(naive.divergence(0.0, 2.0, 1.5), 2.0**1.5 / 1.5)
    for beta in BETAS + [-0.5]:
        assert_allclose(naive.divergence(3.0, 3.0, beta), 0.0, atol=1e-14)
    assert_allclose(naive.divergence(4.0, 2.0, 2.0), 2.0)
    assert_allclose(naive.divergence(4.0, 2.0, 1.0), 4 * np.log(2.0) - 2.0)
    assert_allclose(naive.divergence(4.0, 2.0, 0.0), 2.0 - np.log(2.0) - 1.0)


def test_naive_csr_triplets_match_scipy():
    """The CSR twin reads raw triplets as SciPy does, duplicates summed."""
    indptr = np.array([0, 3, 3, 5])
    indices = np.array([2, 0, 2, 1, 1])  # unsorted, with duplicates
    data = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    X = sp.csr_array((data, indices, indptr), shape=(3, 4))
    assert_array_equal(naive.csr_to_dense(indptr, indices, data, (3, 4)), X.toarray())
    assert_array_equal(naive.csr_pattern(indptr, indices, (3, 4)), X.toarray() > 0)


# --------------------------------------------------------------------------
# CSR kernels
# --------------------------------------------------------------------------


def test_csr_times_dense(dtype, n_threads):
    for shape_id, chunks in every_case(n_threads):
        X, _, B = make_case(shape_id, dtype)
        bounds = row_bounds(X.shape[0], chunks, X.indptr)
        ref = naive.csr_times_dense(X.indptr, X.indices, X.data, B, X.shape)
        out = nan_array((X.shape[0], B.shape[1]), dtype)
        K.csr_times_dense(X.indptr, X.indices, X.data, B, bounds, out, False)
        assert_close(out, ref, dtype, err_msg=f"{shape_id}, {chunks}")
        K.csr_times_dense(X.indptr, X.indices, X.data, B, bounds, out, True)  # accumulate: out += X B
        assert_close(out, 2 * ref, dtype, err_msg=f"{shape_id}, {chunks}, accumulate")


@pytest.mark.parametrize("n_blocks", [1, 2, 3, "every column"])
def test_csr_product_by_column_blocks(n_blocks, dtype, n_threads):
    """csr_product splits X into column blocks (each with its slice of B) when
    B is large; any split gives X @ B, including empty blocks and empty rows."""
    from fastnmf._terms import CSRMatrix, csr_product

    for shape_id in SHAPES:
        X, A, B = make_case(shape_id, dtype)
        n = X.shape[1]
        count = n if n_blocks == "every column" else n_blocks
        edges = np.concatenate(([0], np.linspace(0, n, count + 1).round()[1:])).astype(np.int64)
        matrix = CSRMatrix.from_scipy(X)
        blocks = matrix.column_blocks(edges)
        assert sum(block.data.size for _, block in blocks) == X.nnz
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("fastnmf._terms.column_blocks", lambda *args: edges)
            out = csr_product(matrix, B)
        ref = naive.csr_times_dense(X.indptr, X.indices, X.data, B, X.shape)
        assert_close(out, ref, dtype, err_msg=f"{shape_id}, edges {edges.tolist()}")


def test_column_blocks_split_only_large_factors():
    from fastnmf._terms import BLOCK_BYTES, MAX_BLOCKS, MIN_SPLIT_BYTES, column_blocks

    for n, r, itemsize in [(0, 3, 8), (1, 1, 4), (50_000, 50, 8), (50_000, 10, 4), (10**7, 100, 8)]:
        edges = column_blocks(n, r, itemsize)
        assert edges[0] == 0 and edges[-1] == n
        assert (np.diff(edges) >= 0).all()
        assert 1 <= len(edges) - 1 <= MAX_BLOCKS
        if n * r * itemsize < MIN_SPLIT_BYTES:
            assert len(edges) == 2
    assert len(column_blocks(50_000, 50, 8)) - 1 == -(-50_000 * 50 * 8 // BLOCK_BYTES)


@pytest.mark.parametrize("beta", POSITIVE_BETAS)
def test_csr_sampled_numerator(beta, dtype, n_threads):
    """beta > 0 only: the kernel serves SparseTerms, whose implicit zeros
    need d(0 | wh) to be finite."""
    for shape_id, chunks in every_case(n_threads):
        X, A, B = make_case(shape_id, dtype)
        bounds = row_bounds(X.shape[0], chunks, X.indptr)
        ref, ref_loss = naive.csr_sampled_numerator(X.indptr, X.indices, X.data, A, B, beta)
        stored = naive.csr_pattern(X.indptr, X.indices, X.shape)
        scale = loss_scale(X.toarray().astype(np.float64), A @ B.T, beta, stored)
        for with_loss in (True, False) if n_threads == 1 else (True,):
            where = f"{shape_id}, {chunks}, with_loss={with_loss}"
            out = nan_array(A.shape, dtype)
            parts = loss_parts_for(bounds)
            K.csr_sampled_numerator(
                X.indptr, X.indices, X.data, A, B, dtype.type(beta), dtype.type(EPS), bounds, out, parts, with_loss
            )
            assert_close(out, ref, dtype, err_msg=where)
            if with_loss:
                assert_loss_close(parts.sum(), ref_loss, dtype, scale, err_msg=where)
            else:
                assert_array_equal(parts, 0.0, err_msg=where)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("beta", BETAS)
def test_csr_observed_terms(beta, weighted, dtype, n_threads):
    for shape_id, chunks in every_case(n_threads):
        where = f"{shape_id}, {chunks}"
        X, A, B = make_case(shape_id, dtype)
        data = X.data.copy()
        if weighted:
            rng = np.random.default_rng(3)
            weights = (rng.random(X.nnz) * 2).astype(dtype)
            weights[::3] = 0  # stored but weightless: never read, so NaN there is fine
            data[::3] = np.nan
        else:
            weights = np.empty(0, dtype=dtype)
        bounds = row_bounds(X.shape[0], chunks, X.indptr)
        num, den = nan_array(A.shape, dtype), nan_array(A.shape, dtype)
        parts = loss_parts_for(bounds)
        K.csr_observed_terms(
            X.indptr, X.indices, data, weights, A, B, dtype.type(beta), dtype.type(EPS), bounds, num, den, parts, True
        )
        ref_num, ref_den, ref_loss = naive.csr_observed_terms(X.indptr, X.indices, data, weights, A, B, beta)
        assert_close(num, ref_num, dtype, err_msg=where)
        assert_close(den, ref_den, dtype, err_msg=where)
        stored = naive.csr_pattern(X.indptr, X.indices, X.shape)
        scale = 2 * loss_scale(X.toarray().astype(np.float64), A @ B.T, beta, stored)
        assert_loss_close(parts.sum(), ref_loss, dtype, scale, err_msg=where)


def test_csr_sampled_product(dtype, n_threads):
    for shape_id, _ in every_case(n_threads):
        X, A, B = make_case(shape_id, dtype)
        out = nan_array(X.nnz, dtype)
        K.csr_sampled_product(X.indptr, X.indices, A, B, out)
        ref = naive.csr_sampled_product(X.indptr, X.indices, A, B)
        assert_close(out, ref, dtype, err_msg=shape_id)


def test_csr_kernels_every_group_remainder(dtype):
    """The CSR kernels take a row's entries four at a time, then the rest one
    at a time: rows of 0 to 9 entries cover every remainder and group count."""
    lengths = np.arange(10)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    indices = np.concatenate([np.arange(k) * 2 for k in lengths]).astype(np.int32)
    rng = np.random.default_rng(5)
    data = (rng.random(indptr[-1]) + 0.5).astype(dtype)
    A = (rng.random((10, 3)) + 0.1).astype(dtype)
    B = (rng.random((18, 3)) + 0.1).astype(dtype)
    bounds = balanced_row_chunks(indptr)
    out = nan_array(A.shape, dtype)
    K.csr_times_dense(indptr, indices, data, B, bounds, out, False)
    assert_close(out, naive.csr_times_dense(indptr, indices, data, B, (10, 18)), dtype)
    parts = loss_parts_for(bounds)
    K.csr_sampled_numerator(indptr, indices, data, A, B, dtype.type(1.0), dtype.type(EPS), bounds, out, parts, True)
    ref, ref_loss = naive.csr_sampled_numerator(indptr, indices, data, A, B, 1.0)
    assert_close(out, ref, dtype)
    assert_allclose(parts.sum(), ref_loss, rtol=rtol_for(dtype))
    num, den = nan_array(A.shape, dtype), nan_array(A.shape, dtype)
    K.csr_observed_terms(
        indptr, indices, data, np.empty(0, dtype), A, B, dtype.type(1.0), dtype.type(EPS), bounds, num, den, parts, True
    )
    ref_num, ref_den, ref_loss = naive.csr_observed_terms(indptr, indices, data, np.empty(0, dtype), A, B, 1.0)
    assert_close(num, ref_num, dtype)
    assert_close(den, ref_den, dtype)
    assert_allclose(parts.sum(), ref_loss, rtol=rtol_for(dtype))


def test_csr_kernels_accept_int64_indices():
    """Matrices with 2**31 or more entries get int64 indices."""
    X, A, B = make_case("empty-row-col", np.dtype(np.float64))
    indptr, indices = X.indptr.astype(np.int64), X.indices.astype(np.int64)
    bounds = balanced_row_chunks(indptr)
    out = nan_array(A.shape, np.float64)
    parts = loss_parts_for(bounds)
    K.csr_sampled_numerator(indptr, indices, X.data, A, B, 1.5, EPS, bounds, out, parts, True)
    ref, ref_loss = naive.csr_sampled_numerator(indptr, indices, X.data, A, B, 1.5)
    assert_close(out, ref, np.float64)
    assert_allclose(parts.sum(), ref_loss, rtol=1e-10)


# --------------------------------------------------------------------------
# Dense kernels
# --------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("beta", BETAS)
def test_dense_terms(beta, weighted, dtype, n_threads):
    for shape_id, chunks in every_case(n_threads):
        X, A, B = make_case(shape_id, dtype)
        V = X.toarray()
        if beta <= 0:
            V = V + dtype.type(0.25)  # beta <= 0 needs V > 0 where observed
        m, n = V.shape
        if weighted:
            rng = np.random.default_rng(4)
            weights = (rng.random((m, n)) * 2 * (rng.random((m, n)) > 0.3)).astype(dtype)
            V = np.where(weights > 0, V, np.nan).astype(dtype)  # never read where the weight is zero
        else:
            weights = np.empty((0, 0), dtype=dtype)
        product = np.ascontiguousarray(A @ B.T)
        bounds = row_bounds(m, chunks, n_cols=n)
        ref_num, ref_den, ref_loss = naive.dense_terms(V, weights, beta, product)
        observed = np.ones((m, n), bool) if not weighted else weights > 0
        scale = 2 * loss_scale(np.where(observed, V, 1.0).astype(np.float64), product, beta, observed)
        variants = ((True, True), (False, True), (True, False)) if n_threads == 1 else ((True, True),)
        for with_den, with_loss in variants:
            where = f"{shape_id}, {chunks}, with_den={with_den}, with_loss={with_loss}"
            wh = product.copy()
            den = nan_array((m, n), dtype) if with_den else np.empty((0, 0), dtype=dtype)
            parts = loss_parts_for(bounds)
            K.dense_terms(V, weights, dtype.type(beta), dtype.type(EPS), bounds, wh, den, parts, with_loss, with_den)
            assert_close(wh, ref_num, dtype, err_msg=where)
            if with_den:
                assert_close(den, ref_den, dtype, err_msg=where)
            if with_loss:
                assert_loss_close(parts.sum(), ref_loss, dtype, scale, err_msg=where)
            else:
                assert_array_equal(parts, 0.0, err_msg=where)


@pytest.mark.parametrize("beta", BETAS)
def test_all_entries_power_product(beta, dtype, n_threads):
    for shape_id, chunks in every_case(n_threads):
        _, A, B = make_case(shape_id, dtype)  # zero rows/columns: the clamp at eps
        bounds = row_bounds(A.shape[0], chunks, n_cols=B.shape[0])
        ref, ref_sum = naive.all_entries_power_product(A, B, beta)
        for with_loss in (True, False) if n_threads == 1 else (True,):
            where = f"{shape_id}, {chunks}, with_loss={with_loss}"
            den = np.full(A.shape, np.nan, dtype)
            parts = loss_parts_for(bounds)
            K.all_entries_power_product(A, B, dtype.type(beta), dtype.type(EPS), bounds, den, parts, with_loss)
            assert_close(den, ref, dtype, err_msg=where)
            if with_loss:
                assert_allclose(parts.sum(), ref_sum, rtol=rtol_for(dtype), err_msg=where)
            else:
                assert_array_equal(parts, 0.0, err_msg=where)


# --------------------------------------------------------------------------
# The update
# --------------------------------------------------------------------------


GAMMAS = sorted({naive.mm_exponent(beta) for beta in BETAS + [-0.5]})


@pytest.mark.parametrize("penalized", [False, True], ids=["plain", "penalized"])
@pytest.mark.parametrize("gamma", GAMMAS)
def test_multiplicative_update(gamma, penalized, dtype, n_threads):
    for shape in [(1, 1), (9, 1), (9, 3), (2, 5)] if n_threads == 1 else [(1, 1), (9, 3)]:
        for shared_den in (False, True):
            where = f"shape={shape}, shared_den={shared_den}"
            m, r = shape
            rng = np.random.default_rng(5)
            A = (rng.random(shape) + 0.1).astype(dtype)
            num = (rng.random(shape) + 0.1).astype(dtype)
            den = (rng.random((1, r) if shared_den else shape) + 0.1).astype(dtype)
            if m > 1:
                A[0] = 0  # a zero row with zero numerator (and denominator) stays zero
                num[0] = 0
                if not shared_den:
                    den[0] = 0
            l1 = (rng.random(m) if penalized else np.zeros(m)).astype(dtype)
            l2 = (rng.random(m) if penalized else np.zeros(m)).astype(dtype)
            original = A.copy()
            K.multiplicative_update(A, num, den, l1, l2, dtype.type(gamma), dtype.type(EPS), dtype.type(tiny(dtype)))
            ref = naive.multiplicative_update(original, num, den, l1, l2, gamma, tiny=tiny(dtype))
            assert A.dtype == dtype
            assert np.isfinite(A).all(), where
            assert_close(A, ref, dtype, err_msg=where)


def test_multiplicative_update_zero_denominator_keeps_entry(dtype):
    """Rule 2 of the epsilon policy: 0/0 leaves the entry unchanged, not NaN."""
    A = np.array([[0.0, 2.0]], dtype=dtype)
    num = np.zeros((1, 2), dtype=dtype)
    den = np.zeros((1, 2), dtype=dtype)
    zeros = np.zeros(1, dtype=dtype)
    K.multiplicative_update(A, num, den, zeros, zeros, dtype.type(1), dtype.type(EPS), dtype.type(tiny(dtype)))
    assert_array_equal(A, [[0.0, 0.0]])
    B = np.array([[0.0, 3.0]], dtype=dtype)
    K.multiplicative_update(
        B, np.ones((1, 2), dtype), den, zeros, zeros, dtype.type(1), dtype.type(EPS), dtype.type(tiny(dtype))
    )
    assert np.isfinite(B).all()
    assert_allclose(B, [[0.0, 3.0 / EPS]], rtol=rtol_for(dtype))


def test_multiplicative_update_flushes_subnormals(dtype):
    """Rule 3: entries below the dtype's smallest normal number become 0."""
    smallest = tiny(dtype)
    A = np.array([[smallest * 4, 1.0, smallest * 4]], dtype=dtype)
    num = np.array([[0.125, 1.0, 0.5]], dtype=dtype)
    den = np.ones((1, 3), dtype=dtype)
    zeros = np.zeros(1, dtype=dtype)
    K.multiplicative_update(A, num, den, zeros, zeros, dtype.type(1), dtype.type(EPS), dtype.type(smallest))
    assert_array_equal(A, np.array([[0.0, 1.0, smallest * 2]], dtype=dtype))


@pytest.mark.parametrize("penalized", [False, True], ids=["plain", "penalized"])
@pytest.mark.parametrize("max_sweeps", [1, 6])
def test_hals_rows(max_sweeps, penalized, dtype, n_threads):
    rng = np.random.default_rng(11)
    for m, n, r in [(1, 1, 1), (9, 7, 1), (12, 10, 3), (5, 30, 6)]:
        where = f"m={m}, n={n}, r={r}"
        X = rng.random((m, n))
        B = rng.random((n, r))
        if r > 1:
            B[:, 0] = 0  # a zero column of B: G[0, 0] = 0 (and no L2 when plain)
        A = (rng.random((m, r)) + 0.1).astype(dtype)
        P = (X @ B).astype(dtype)
        G = (B.T @ B).astype(dtype)
        l1 = (rng.random(m) * 0.1 if penalized else np.zeros(m)).astype(dtype)
        l2 = (rng.random(m) * 0.1 if penalized else np.zeros(m)).astype(dtype)
        original = A.copy()
        bounds = uniform_row_chunks(m, r * r)
        K.hals_rows(A, P, G, l1, l2, dtype.type(tiny(dtype)), bounds, max_sweeps, 0.01)
        ref = naive.hals_rows(original, P, G, l1, l2, tiny(dtype), max_sweeps, 0.01)
        assert A.dtype == dtype
        assert (A >= 0).all() and np.isfinite(A).all(), where
        assert_close(A, ref, dtype, err_msg=where)
        before = naive.frobenius_penalized(X, original, B, l1, l2)
        after = naive.frobenius_penalized(X, A, B, l1, l2)
        assert after <= before * (1 + 1e-6), where  # exact coordinate descent never increases it


# --------------------------------------------------------------------------
# Gram kernels (the r x r products of sparse Frobenius fits)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("chunks", [1, 3, 64])
def test_gram_parts(chunks, dtype, n_threads):
    rng = np.random.default_rng(13)
    for n, r in [(0, 2), (1, 1), (2, 3), (7, 4), (40, 6)]:
        where = f"n={n}, r={r}, chunks={chunks}"
        B = rng.random((n, r)).astype(dtype)
        original = B.copy()
        bounds = uniform_row_chunks(n, r * r, max_chunks=chunks)
        parts = nan_array((len(bounds) - 1, r, r), dtype)
        K.gram_parts(B, bounds, parts)
        G = parts.sum(axis=0)
        assert G.dtype == dtype
        assert_array_equal(G, G.T, err_msg=where)  # exactly symmetric: HALS reads its rows as columns
        assert_close(G, naive.gram(B), dtype, err_msg=where)
        assert_array_equal(B, original)


def test_times_symmetric(dtype, n_threads):
    rng = np.random.default_rng(17)
    for m, r in [(0, 2), (1, 1), (9, 3), (33, 7)]:
        A = rng.random((m, r)).astype(dtype)
        S = rng.random((r, r))
        G = (S + S.T).astype(dtype)
        out = nan_array((m, r), dtype)
        K.times_symmetric(A, G, out)
        assert_close(out, naive.times_symmetric(A, G), dtype, err_msg=f"m={m}, r={r}")


def test_gram_wrappers_match_numpy(dtype):
    from fastnmf._terms import gram, times_symmetric

    rng = np.random.default_rng(19)
    B = rng.random((500, 5)).astype(dtype)
    G = gram(B)
    assert G.dtype == dtype
    assert_close(G, naive.gram(B), dtype)
    assert_close(times_symmetric(B, G), naive.times_symmetric(B, G), dtype)


# --------------------------------------------------------------------------
# Threads and dtypes
# --------------------------------------------------------------------------


def run_every_kernel(dtype, seed=7):
    """All kernels on one 64 x 50 problem split into many chunks; returns
    their outputs (a dict of arrays). The inputs are float32 numbers for
    either dtype, so float32 and float64 runs see exactly the same values."""
    rng = np.random.default_rng(seed)
    m, n, r = 64, 50, 4
    X = random_sparse(m, n, 0.3, rng, np.float32, empty_row=3, empty_col=8).astype(dtype)
    X.indices, X.indptr = X.indices.astype(np.int32), X.indptr.astype(np.int32)
    A = (rng.random((m, r)) + 0.1).astype(np.float32).astype(dtype)
    B = (rng.random((n, r)) + 0.1).astype(np.float32).astype(dtype)
    beta, eps = dtype.type(0.5), dtype.type(EPS)
    bounds = np.arange(0, m + 1, 3, dtype=np.int64)
    bounds[-1] = m
    results = {}
    out = np.empty((m, r), dtype)
    K.csr_times_dense(X.indptr, X.indices, X.data, B, bounds, out, False)
    results["csr_times_dense"] = out
    out, parts = np.empty((m, r), dtype), np.empty(len(bounds) - 1)
    K.csr_sampled_numerator(X.indptr, X.indices, X.data, A, B, beta, eps, bounds, out, parts, True)
    results["csr_sampled_numerator"], results["csr_sampled_numerator_loss"] = out, parts
    num, den, parts = np.empty((m, r), dtype), np.empty((m, r), dtype), np.empty(len(bounds) - 1)
    weights = (rng.random(X.nnz) + 0.5).astype(np.float32).astype(dtype)
    K.csr_observed_terms(X.indptr, X.indices, X.data, weights, A, B, beta, eps, bounds, num, den, parts, True)
    results["csr_observed_terms"] = np.concatenate([num, den])
    results["csr_observed_terms_loss"] = parts
    out = np.empty(X.nnz, dtype)
    K.csr_sampled_product(X.indptr, X.indices, A, B, out)
    results["csr_sampled_product"] = out
    V = X.toarray()
    wh, den, parts = np.ascontiguousarray(A @ B.T), np.empty((m, n), dtype), np.empty(len(bounds) - 1)
    K.dense_terms(V, np.empty((0, 0), dtype), beta, eps, bounds, wh, den, parts, True, True)
    results["dense_terms"], results["dense_terms_loss"] = np.concatenate([wh, den]), parts
    power_den, parts = np.empty(A.shape, dtype), np.empty(len(bounds) - 1)
    K.all_entries_power_product(A, B, beta, eps, bounds, power_den, parts, True)
    results["all_entries_power_product"], results["all_entries_power_product_loss"] = power_den, parts
    updated = A.copy()
    l1, l2 = np.full(m, 0.1, dtype), np.full(m, 0.2, dtype)
    K.multiplicative_update(updated, num, den, l1, l2, dtype.type(2 / 3), eps, dtype.type(tiny(dtype)))
    results["multiplicative_update"] = updated
    swept = A.copy()
    K.hals_rows(swept, num, np.ascontiguousarray(B.T @ B), l1, l2, dtype.type(tiny(dtype)), bounds, 4, 0.01)
    results["hals_rows"] = swept
    parts = np.empty((len(bounds) - 1, r, r), dtype)
    K.gram_parts(A, bounds, parts)
    results["gram_parts"] = parts
    out = np.empty((m, r), dtype)
    K.times_symmetric(A, parts.sum(axis=0), out)
    results["times_symmetric"] = out
    return results


def test_kernels_bit_identical_with_1_and_2_threads(dtype):
    two_threads_or_skip(2)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run_every_kernel(dtype)
        numba.set_num_threads(2)
        two = run_every_kernel(dtype)
    finally:
        numba.set_num_threads(previous)
    for name in one:
        assert one[name].dtype == two[name].dtype
        assert_array_equal(one[name], two[name], err_msg=name, strict=True)


def test_kernel_outputs_keep_dtype(dtype):
    for name, value in run_every_kernel(dtype).items():
        expected = np.float64 if name.endswith("_loss") else dtype
        assert value.dtype == expected, name
        assert np.isfinite(value).all(), name


def test_float32_kernels_compute_in_float32():
    """From the same input values, a float32 kernel agrees with the float64
    one to float32 rounding, and really computes in float32: had it worked
    in float64 (an untyped accumulator or a float64 literal upcasts), its
    results would be the float64 ones rounded, entry for entry."""
    r32 = run_every_kernel(np.dtype(np.float32))
    r64 = run_every_kernel(np.dtype(np.float64))
    for name in ("csr_times_dense", "csr_sampled_numerator", "csr_observed_terms", "dense_terms", "all_entries_power_product"):
        assert_allclose(r32[name], r64[name], rtol=1e-4, err_msg=name)
        assert not np.array_equal(r32[name], r64[name].astype(np.float32)), name
