"""The CSR kernels against their NumPy twins (see test_kernels.py for the
grid: dtypes, threads, awkward shapes, two chunkings).
"""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import naive
from conftest import BETAS, POSITIVE_BETAS, rtol_for, two_threads_or_skip
from fastnmf import _kernels as K
from fastnmf._kernels import csr, fpmode
from fastnmf._chunks import balanced_row_chunks
from fastnmf._epsilon import EPS
from kernel_cases import (
    every_case, make_case, row_bounds, nan_array, loss_parts_for, assert_close,
    assert_close_or_subnormal, assert_loss_close, loss_scale, near_smallest_normal,
)


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


@pytest.mark.parametrize("beta", POSITIVE_BETAS)
def test_csr_sampled_numerator(beta, dtype, n_threads):
    """beta > 0 only: the kernel serves SparseTerms, whose implicit zeros
    need d(0 | wh) to be finite. beta = 1 runs the KL kernel
    (``csr_kl_numerator``), with and without the objective on every thread
    count; the general kernel, which fits call for the other betas, must
    agree with it there too."""
    for shape_id, chunks in every_case(n_threads):
        X, A, B = make_case(shape_id, dtype)
        bounds = row_bounds(X.shape[0], chunks, X.indptr)
        ref, ref_loss = naive.csr_sampled_numerator(X.indptr, X.indices, X.data, A, B, beta)
        stored = naive.csr_pattern(X.indptr, X.indices, X.shape)
        scale = loss_scale(X.toarray().astype(np.float64), A @ B.T, beta, stored)
        for with_loss in (True, False) if n_threads == 1 or beta == 1 else (True,):
            where = f"{shape_id}, {chunks}, with_loss={with_loss}"
            out = nan_array(A.shape, dtype)
            parts = loss_parts_for(bounds)
            K.csr_sampled_numerator(
                X.indptr, X.indices, X.data, A, B, dtype.type(beta), dtype.type(EPS), bounds, out, parts,
                with_loss, False,
            )  # fmt: skip
            assert_close(out, ref, dtype, err_msg=where)
            if with_loss:
                assert_loss_close(parts.sum(), ref_loss, dtype, scale, err_msg=where)
            else:
                assert_array_equal(parts, 0.0, err_msg=where)
        K.csr_sampled_numerator(
            X.indptr, X.indices, X.data, A, B, dtype.type(beta), dtype.type(EPS), bounds, out, parts, False, True,
        )  # fmt: skip
        assert_close(out, 2 * ref, dtype, err_msg=f"{shape_id}, {chunks}, accumulate: out += ...")
        if beta == 1:
            out, parts = nan_array(A.shape, dtype), loss_parts_for(bounds)
            csr.csr_beta_numerator(
                X.indptr, X.indices, X.data, A, B, dtype.type(beta), dtype.type(EPS), bounds, out, parts, True, False
            )
            assert_close(out, ref, dtype, err_msg=f"{shape_id}, {chunks}, general kernel")
            assert_loss_close(parts.sum(), ref_loss, dtype, scale, err_msg=f"{shape_id}, {chunks}, general kernel")


def test_log_of_normal_matches_numpy():
    """The vectorizable logarithm of the KL objective, within 2 units in the
    last place of np.log over the whole normal float64 range: random
    exponents, values near 1 (where ln x is small), the ends of the range
    and the edges of its mantissa reduction (powers of two, sqrt(2)); inf
    and NaN pass through."""
    from fastnmf._jit import serial_kernel
    from fastnmf._kernels.elementwise import NORMAL_MAX, NORMAL_MIN, log_of_normal

    @serial_kernel  # the kernels' compiler options (fastmath's reassociation included)
    def logs(x):
        out = np.empty_like(x)
        for q in range(x.shape[0]):
            out[q] = log_of_normal(x[q])
        return out

    rng = np.random.default_rng(0)
    root2 = np.sqrt(2.0)
    x = np.concatenate([
        np.exp(rng.uniform(-708, 709, 100_000)),
        1 + rng.uniform(-1e-3, 1e-3, 10_000),
        1 + rng.uniform(-1e-12, 1e-12, 1_000),
        2.0 ** np.arange(-1022, 1024),
        [np.nextafter(root2, 0), root2, np.nextafter(root2, 2), np.nextafter(1.0, 0), np.nextafter(1.0, 2)],
        [NORMAL_MIN, NORMAL_MAX, EPS, 1 / EPS],
    ])  # fmt: skip
    ref = np.log(x)
    ulps = np.abs(logs(x) - ref) / np.spacing(np.maximum(np.abs(ref), NORMAL_MIN))
    assert ulps.max() <= 2, x[np.argmax(ulps)]
    special = logs(np.array([1.0, np.inf, np.nan]))
    assert special[0] == 0.0 and special[1] == np.inf and np.isnan(special[2])


@pytest.mark.parametrize("kernel", ["sampled-numerator", "observed-terms"])
def test_kl_objective_outside_normal_range(kernel):
    """The KL objective takes its logarithms by log_of_normal, which serves
    normal float64 ratios v / max(ab, eps) and passes inf through: a
    subnormal ratio (it needs a subnormal v, whose term is too small to
    matter) is taken as the smallest normal number, and a ratio that
    overflows makes the objective inf, as for the twin (the fit then stops
    with its overflow error). The observed-entry kernel also gets a stored
    zero (an observed zero) where ab < eps: its term is ab, unclamped."""
    indptr = np.array([0, 3, 6, 8], dtype=np.int32)
    indices = np.array([0, 1, 2, 0, 1, 2, 1, 2], dtype=np.int32)
    A = np.array([[0.5, 1.0], [2.0, 0.1], [1.0, 1.0]])
    B = np.array([[1.0, 0.2], [0.3, 0.7], [1e-12, 1e-12]])  # A B^T in column 2 falls below eps
    bounds = np.array([0, 1, 2, 3], dtype=np.int64)  # a row per chunk
    last = 1e-3 if kernel == "sampled-numerator" else 0.0
    # 1e-310 / 0.7 is subnormal (first chunk); 1e305 / eps overflows (second chunk)
    for tiny_v, huge_v in ((1e-310, 0.25), (3.0, 0.25), (3.0, 1e305)):
        data = np.array([tiny_v, 1.5, 4.0, 2.0, 1.0, huge_v, 7.0, last])
        parts = np.zeros(3)
        with np.errstate(over="ignore", invalid="ignore"):  # the twin overflows too
            if kernel == "sampled-numerator":
                out = nan_array(A.shape, np.dtype(np.float64))
                K.csr_sampled_numerator(indptr, indices, data, A, B, 1.0, EPS, bounds, out, parts, True, False)
                ref, ref_loss = naive.csr_sampled_numerator(indptr, indices, data, A, B, 1.0)
            else:
                num, den = nan_array(A.shape, np.dtype(np.float64)), nan_array(A.shape, np.dtype(np.float64))
                unit = np.empty(0)  # no weights
                K.csr_observed_terms(indptr, indices, data, unit, A, B, 1.0, EPS, bounds, num, den, parts, True, False)
                ref, _, ref_loss = naive.csr_observed_terms(indptr, indices, data, unit, A, B, 1.0)
                out = num
        if huge_v < 1:  # else the twin's coefficient overflows, while the kernel's order of operations may not
            assert_allclose(out, ref, rtol=1e-12)
        assert np.isinf(ref_loss) == (huge_v > 1)
        assert_allclose(parts.sum(), ref_loss, rtol=1e-12, err_msg=f"v = {tiny_v}, {huge_v}")


@pytest.mark.parametrize("with_loss", [True, False], ids=["with-loss", "no-loss"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("beta", BETAS)
def test_csr_observed_terms(beta, weighted, with_loss, dtype, n_threads):
    """beta = 2 and 1 with unit weights take a path of their own (the
    coefficients and the objective written out); the rest the general one."""
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
            X.indptr, X.indices, data, weights, A, B, dtype.type(beta), dtype.type(EPS), bounds, num, den, parts,
            with_loss, False,
        )  # fmt: skip
        ref_num, ref_den, ref_loss = naive.csr_observed_terms(X.indptr, X.indices, data, weights, A, B, beta)
        assert_close(num, ref_num, dtype, err_msg=where)
        assert_close(den, ref_den, dtype, err_msg=where)
        if not with_loss:
            assert_array_equal(parts, 0.0, err_msg=where)
            continue
        stored = naive.csr_pattern(X.indptr, X.indices, X.shape)
        scale = 2 * loss_scale(X.toarray().astype(np.float64), A @ B.T, beta, stored)
        assert_loss_close(parts.sum(), ref_loss, dtype, scale, err_msg=where)


@pytest.mark.parametrize("l2", [False, True], ids=["l1", "l1-l2"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("beta", [2.0, 1.0, 1.5, 0.5])
@pytest.mark.parametrize("r", [3, 10, 20, 40])
def test_csr_observed_terms_with_the_update(r, beta, weighted, l2, dtype, n_threads):
    """With ``update``, num is A after its multiplicative update: what the
    update kernel makes from the terms, and the NumPy twins' update to
    rounding; in one call, or in two column blocks (the second adds to the
    first's sums and updates); A itself is left as it was. r = 3 and 10
    take the narrow path, 40 the wide one, 20, weighted entries and beta
    1.5 and 0.5 (gamma = 2/3) the loops.

    Without an l2 penalty, bit for bit. With one, to rounding: den + l1 +
    l2 a may be associated otherwise where the loops' update is compiled
    than in the update kernel (the fast-math flags allow it)."""
    rng = np.random.default_rng(r)
    m, n = 23, 31
    X = sp.random(m, n, density=0.4, random_state=rng, format="csr", dtype=dtype)
    X.data += dtype.type(0.1)
    A = (rng.random((m, r)) + 0.1).astype(dtype)
    B = (rng.random((n, r)) + 0.1).astype(dtype)
    weights = (rng.random(X.nnz) * 2).astype(dtype) if weighted else np.empty(0, dtype=dtype)
    l1_weights = (0.1 * rng.random(m)).astype(dtype)
    l2_weights = (0.1 * rng.random(m)).astype(dtype) if l2 else np.zeros(m, dtype=dtype)
    gamma = dtype.type(naive.mm_exponent(beta))
    beta_t, eps, tiny = dtype.type(beta), dtype.type(EPS), dtype.type(np.finfo(dtype).tiny)
    update = (l1_weights, l2_weights, gamma, tiny)
    no_gram = np.empty((0, 0), dtype=dtype)
    bounds = balanced_row_chunks(X.indptr)
    parts = loss_parts_for(bounds)

    def assert_same(comp, expected, where):
        if l2:
            assert_close(comp, expected, dtype, err_msg=where)
        else:
            assert_array_equal(comp, expected, err_msg=where)

    def terms(blocks, update=None):
        """num and den over the column blocks [(X, weights, B)], the last one's call with ``update``."""
        num, den = nan_array(A.shape, dtype), nan_array(A.shape, dtype)
        for b, (X_block, block_weights, B_block) in enumerate(blocks):
            K.csr_observed_terms(
                X_block.indptr, X_block.indices, X_block.data, block_weights, A, B_block, beta_t, eps, bounds,
                num, den, parts, False, b > 0, update if b == len(blocks) - 1 else None,
            )  # fmt: skip
        return num, den

    half = n // 2
    split = [(sp.csr_array(X[:, :half]), B[:half].copy()), (sp.csr_array(X[:, half:]), B[half:].copy())]
    if weighted:  # the weights follow their entries into the blocks
        weight_matrix = sp.csr_array((weights, X.indices, X.indptr), shape=X.shape)
        block_weights = [weight_matrix[:, :half].data, weight_matrix[:, half:].data]
    else:
        block_weights = [weights, weights]
    cases = {
        "one call": [(X, weights, B)],
        "two column blocks": [(X_block, w, B_block) for (X_block, B_block), w in zip(split, block_weights)],
    }
    ref_num, ref_den, _ = naive.csr_observed_terms(X.indptr, X.indices, X.data, weights, A, B, beta)
    ref = naive.apply_update(A, ref_num, ref_den, l1_weights, l2_weights, gamma, tiny=tiny)
    before = A.copy()
    for where, blocks in cases.items():
        expected = A.copy()
        K.multiplicative_update(expected, *terms(blocks), no_gram, l1_weights, l2_weights, gamma, eps, tiny)
        assert_close(expected, ref, dtype, err_msg=where)
        updated, _ = terms(blocks, update)
        assert_same(updated, expected, where)
        assert_array_equal(A, before, err_msg=where)


def test_shares_cover_every_chunk_once():
    """Each share is a run of consecutive chunks; together, in order, they
    are every chunk once, whatever the number of shares."""
    from fastnmf._kernels.shares import share, thread_shares

    for n in range(0, 20):
        for shares in range(1, max(n, 1) + 1):
            runs = [share(n, s, shares) for s in range(shares)]
            assert [c for first, last in runs for c in range(first, last)] == list(range(n)), (n, shares)
    assert 1 <= thread_shares(5) <= 5 and thread_shares(0) == 0


@pytest.mark.parametrize("beta", [2.0, 1.0, 1.5])
def test_observed_terms_do_not_depend_on_the_shares(beta, dtype):
    """The masked kernel's result, bit for bit, is the same whether its
    chunks run in one share or in several (as with more threads than this
    machine has)."""
    from fastnmf._jit import first_class

    X, A, B = make_case("tall", dtype)  # 40 rows, one empty
    bounds = row_bounds(X.shape[0], "per-row")
    rows = first_class(csr.observed_rows, dtype, X.indices.dtype)
    weights = np.empty(0, dtype=dtype)
    results = []
    for shares in (1, 2, 3, bounds.shape[0] - 1):
        num, den = nan_array(A.shape, dtype), nan_array(A.shape, dtype)
        parts = loss_parts_for(bounds)
        csr.observed_chunks(
            rows, X.indptr, X.indices, X.data, weights, A, B, dtype.type(beta), dtype.type(EPS), bounds, shares,
            num, den, parts, True, False, weights, weights, dtype.type(1), dtype.type(0),
        )  # fmt: skip
        results.append((num, den, parts))
    for num, den, parts in results[1:]:
        assert_array_equal(num, results[0][0])
        assert_array_equal(den, results[0][1])
        assert_array_equal(parts, results[0][2])


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
    eps = dtype.type(EPS)
    K.csr_sampled_numerator(indptr, indices, data, A, B, dtype.type(1.0), eps, bounds, out, parts, True, False)
    ref, ref_loss = naive.csr_sampled_numerator(indptr, indices, data, A, B, 1.0)
    assert_close(out, ref, dtype)
    assert_allclose(parts.sum(), ref_loss, rtol=rtol_for(dtype))
    num, den = nan_array(A.shape, dtype), nan_array(A.shape, dtype)
    K.csr_observed_terms(
        indptr, indices, data, np.empty(0, dtype), A, B, dtype.type(1.0), eps, bounds, num, den, parts, True, False
    )
    ref_num, ref_den, ref_loss = naive.csr_observed_terms(indptr, indices, data, np.empty(0, dtype), A, B, 1.0)
    assert_close(num, ref_num, dtype)
    assert_close(den, ref_den, dtype)
    assert_allclose(parts.sum(), ref_loss, rtol=rtol_for(dtype))


@pytest.mark.parametrize("r", [8, 40])
@pytest.mark.parametrize("chunks", ["balanced", "per-row"])
def test_csr_kernels_with_prefetching(chunks, r, dtype, n_threads):
    """A factor B of PREFETCH_MIN_BYTES or more makes the CSR kernels
    prefetch the rows of later entries (r = 8: the narrow path's; 40: the
    loops', and the masked kernel's wide path, which prefetches every cache
    line of a row); the results are the twins', and with one chunk per row
    every chunk's last entries take the clamp at the chunk's end (a
    prefetch must not read past the chunk's indices)."""
    from fastnmf._kernels.rows import PREFETCH_MIN_BYTES

    rng = np.random.default_rng(7)
    m, n = 30, 9_000
    X = sp.random(m, n, density=0.01, random_state=rng, format="csr", dtype=np.float64)
    X.data = (X.data + 0.5).astype(dtype)
    X.indices, X.indptr = X.indices.astype(np.int32), X.indptr.astype(np.int32)
    A = (rng.random((m, r)) + 0.1).astype(dtype)
    B = (rng.random((n, r)) + 0.1).astype(dtype)
    assert B.nbytes >= PREFETCH_MIN_BYTES
    bounds = row_bounds(m, chunks, X.indptr)
    eps = dtype.type(EPS)
    out = nan_array(A.shape, dtype)
    K.csr_times_dense(X.indptr, X.indices, X.data, B, bounds, out, False)
    product = naive.csr_times_dense(X.indptr, X.indices, X.data, B, X.shape)
    assert_close(out, product, dtype)
    K.csr_times_dense(X.indptr, X.indices, X.data, B, bounds, out, True)  # accumulate, as column blocks do
    assert_close(out, 2 * product, dtype)
    for beta in (1.0, 1.5):
        ref, ref_loss = naive.csr_sampled_numerator(X.indptr, X.indices, X.data, A, B, beta)
        for with_loss in (True, False):
            parts = loss_parts_for(bounds)
            K.csr_sampled_numerator(
                X.indptr, X.indices, X.data, A, B, dtype.type(beta), eps, bounds, out, parts, with_loss, False
            )
            assert_close(out, ref, dtype, err_msg=f"beta = {beta}, with_loss={with_loss}")
            if with_loss:
                assert_allclose(parts.sum(), ref_loss, rtol=rtol_for(dtype))
    weights = (rng.random(X.nnz) * 2).astype(dtype)
    # beta = 2 and 1 unweighted take the written-out paths of the masked kernel; weighted, the general one
    for beta, entry_weights in ((2.0, np.empty(0, dtype)), (1.0, np.empty(0, dtype)), (1.5, weights)):
        where = f"observed, beta = {beta}, {'weighted' if entry_weights.size else 'unweighted'}"
        num, den = nan_array(A.shape, dtype), nan_array(A.shape, dtype)
        parts = loss_parts_for(bounds)
        K.csr_observed_terms(
            X.indptr, X.indices, X.data, entry_weights, A, B, dtype.type(beta), eps, bounds, num, den, parts,
            True, False,
        )  # fmt: skip
        ref_num, ref_den, ref_loss = naive.csr_observed_terms(X.indptr, X.indices, X.data, entry_weights, A, B, beta)
        assert_close(num, ref_num, dtype, err_msg=where)
        assert_close(den, ref_den, dtype, err_msg=where)
        assert_allclose(parts.sum(), ref_loss, rtol=rtol_for(dtype), err_msg=where)


@pytest.mark.parametrize("r", [1, 15, 16, 17, 32, 33, 64, 65])
def test_csr_kernels_narrow_and_wide_rank(r, dtype, n_threads):
    """Up to LANES columns the CSR product, the KL numerator and the masked
    kernel take the narrow path (vector registers,
    :mod:`fastnmf._kernels.narrow`), above it the loops, except the masked
    kernel's wide path from WIDE_MIN to WIDE columns. All against the
    twins, on both sides of each boundary, with rows of every remainder of
    a group, with and without the objective, and accumulating as column
    blocks do."""
    from fastnmf._kernels.narrow import LANES, WIDE, WIDE_MIN

    assert (16, 33, 64) == (LANES, WIDE_MIN, WIDE)  # the parameters straddle them
    lengths = np.arange(30) % 10
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    rng = np.random.default_rng(r)
    n = 25
    indices = np.concatenate([np.sort(rng.choice(n, k, replace=False)) for k in lengths]).astype(np.int32)
    data = (rng.random(indptr[-1]) + 0.5).astype(dtype)
    A = (rng.random((30, r)) + 0.1).astype(dtype)
    A[3] = 0  # products of zero: the eps clamp
    B = (rng.random((n, r)) + 0.1).astype(dtype)
    bounds = row_bounds(30, "per-row", indptr)
    out = nan_array(A.shape, dtype)
    K.csr_times_dense(indptr, indices, data, B, bounds, out, False)
    product = naive.csr_times_dense(indptr, indices, data, B, (30, n))
    assert_close(out, product, dtype)
    K.csr_times_dense(indptr, indices, data, B, bounds, out, True)
    assert_close(out, 2 * product, dtype)
    eps = dtype.type(EPS)
    ref, ref_loss = naive.csr_sampled_numerator(indptr, indices, data, A, B, 1.0)
    for with_loss in (True, False):
        parts = loss_parts_for(bounds)
        out = nan_array(A.shape, dtype)
        K.csr_sampled_numerator(indptr, indices, data, A, B, dtype.type(1.0), eps, bounds, out, parts, with_loss, False)
        assert_close(out, ref, dtype, err_msg=f"with_loss={with_loss}")
        if with_loss:
            assert_allclose(parts.sum(), ref_loss, rtol=rtol_for(dtype))
    K.csr_sampled_numerator(indptr, indices, data, A, B, dtype.type(1.0), eps, bounds, out, parts, False, True)
    assert_close(out, 2 * ref, dtype)
    none = np.empty(0, dtype)
    for beta in (2.0, 1.0):  # the masked kernel's narrow and wide paths: unit weights, Frobenius and KL
        ref_num, ref_den, ref_loss = naive.csr_observed_terms(indptr, indices, data, none, A, B, beta)
        for with_loss in (True, False):
            where = f"observed, beta = {beta}, with_loss={with_loss}"
            num, den, parts = nan_array(A.shape, dtype), nan_array(A.shape, dtype), loss_parts_for(bounds)
            K.csr_observed_terms(
                indptr, indices, data, none, A, B, dtype.type(beta), eps, bounds, num, den, parts, with_loss, False
            )
            assert_close(num, ref_num, dtype, err_msg=where)
            assert_close(den, ref_den, dtype, err_msg=where)
            if with_loss:
                assert_allclose(parts.sum(), ref_loss, rtol=rtol_for(dtype), err_msg=where)
        beta_typed = dtype.type(beta)
        K.csr_observed_terms(indptr, indices, data, none, A, B, beta_typed, eps, bounds, num, den, parts, False, True)
        assert_close(num, 2 * ref_num, dtype)
        assert_close(den, 2 * ref_den, dtype)


def test_csr_kernels_on_factors_with_strided_rows(dtype):
    """Factors whose rows are not contiguous (every other column of a wider
    array) take the loops, not the narrow path, and give the same results.
    (The masked kernel, a block kernel, is compiled for C-ordered factors
    only.)"""
    X, A, B = make_case("empty-row-col", dtype)
    wide_A = np.repeat(A, 2, axis=1)
    wide_B = np.repeat(B, 2, axis=1)
    bounds = balanced_row_chunks(X.indptr)
    out = nan_array(A.shape, dtype)
    K.csr_times_dense(X.indptr, X.indices, X.data, wide_B[:, ::2], bounds, out, False)
    assert_close(out, naive.csr_times_dense(X.indptr, X.indices, X.data, B, X.shape), dtype)
    parts = loss_parts_for(bounds)
    eps = dtype.type(EPS)
    K.csr_sampled_numerator(
        X.indptr, X.indices, X.data, wide_A[:, ::2], wide_B[:, ::2], dtype.type(1.0), eps, bounds, out, parts, True,
        False,
    )  # fmt: skip
    ref, ref_loss = naive.csr_sampled_numerator(X.indptr, X.indices, X.data, A, B, 1.0)
    assert_close(out, ref, dtype)
    assert_allclose(parts.sum(), ref_loss, rtol=rtol_for(dtype))


def test_csr_kernels_accept_int64_indices():
    """Matrices with 2**31 or more entries get int64 indices."""
    X, A, B = make_case("empty-row-col", np.dtype(np.float64))
    indptr, indices = X.indptr.astype(np.int64), X.indices.astype(np.int64)
    bounds = balanced_row_chunks(indptr)
    out = nan_array(A.shape, np.float64)
    parts = loss_parts_for(bounds)
    for beta in (1.0, 1.5):  # the KL kernel and the general one
        K.csr_sampled_numerator(indptr, indices, X.data, A, B, beta, EPS, bounds, out, parts, True, False)
        ref, ref_loss = naive.csr_sampled_numerator(indptr, indices, X.data, A, B, beta)
        assert_close(out, ref, np.float64, err_msg=f"beta = {beta}")
        assert_allclose(parts.sum(), ref_loss, rtol=1e-10, err_msg=f"beta = {beta}")


@pytest.mark.parametrize("beta", [1.0, 1.5])
def test_kernels_with_entries_near_the_smallest_normal_number(beta, dtype, n_threads):
    """The kernels for beta < 2 and the masked ones run with subnormal
    numbers as zero (fastnmf._kernels.fpmode): products of factor entries
    near the smallest normal number, which are subnormal, count as zero.
    Against the twins, which keep them, the outputs agree to the dtype's
    tolerance, or are both below the smallest normal number (an output
    that is a sum of subnormal products is zero)."""
    rng = np.random.default_rng(5)
    for shape_id, chunks in every_case(n_threads):
        where = f"{shape_id}, {chunks}"
        X, A, B = make_case(shape_id, dtype)
        A, B = near_smallest_normal(A, rng), near_smallest_normal(B, rng)
        bounds = row_bounds(X.shape[0], chunks, X.indptr)
        stored = naive.csr_pattern(X.indptr, X.indices, X.shape)
        out, parts = nan_array(A.shape, dtype), loss_parts_for(bounds)
        K.csr_sampled_numerator(
            X.indptr, X.indices, X.data, A, B, dtype.type(beta), dtype.type(EPS), bounds, out, parts, True, False
        )
        ref, ref_loss = naive.csr_sampled_numerator(X.indptr, X.indices, X.data, A, B, beta)
        scale = loss_scale(X.toarray().astype(np.float64), A @ B.T, beta, stored)
        assert_close_or_subnormal(out, ref, dtype, err_msg=where)
        assert_loss_close(parts.sum(), ref_loss, dtype, scale, err_msg=where)
        unit = np.empty(0, dtype=dtype)
        weights = (rng.random(X.nnz) * 2).astype(dtype)
        # the masked kernel for beta, and for beta = 2 (masked Frobenius), unweighted and weighted
        for observed_beta, w in ((beta, unit), (2.0, unit), (beta, weights)):
            case = f"{where}, observed terms, beta = {observed_beta}, weighted = {w.size > 0}"
            num, den, parts = nan_array(A.shape, dtype), nan_array(A.shape, dtype), loss_parts_for(bounds)
            K.csr_observed_terms(
                X.indptr, X.indices, X.data, w, A, B, dtype.type(observed_beta), dtype.type(EPS), bounds, num, den,
                parts, True, False,
            )  # fmt: skip
            ref_num, ref_den, ref_loss = naive.csr_observed_terms(X.indptr, X.indices, X.data, w, A, B, observed_beta)
            observed_scale = loss_scale(X.toarray().astype(np.float64), A @ B.T, observed_beta, stored)
            assert_close_or_subnormal(num, ref_num, dtype, err_msg=case)
            assert_close_or_subnormal(den, ref_den, dtype, err_msg=case)
            assert_loss_close(parts.sum(), ref_loss, dtype, 2 * observed_scale, err_msg=case)


@numba.njit(parallel=True)
def _halves_of(x, out):
    """out[t] = x / 2 on each of the threads, in their floating-point mode."""
    for t in numba.prange(out.shape[0]):
        out[t] = x[t] / 2


def test_kernels_leave_the_threads_floating_point_mode_as_it_was():
    """A kernel that takes subnormal numbers as zero (the sparse ones for
    beta < 2, the masked one, the dense tile kernel) turns that mode off again
    on every thread it ran on: afterwards, on those threads and the
    caller's, half the smallest normal float32 is a subnormal number, not
    zero."""
    two_threads_or_skip(2)
    previous = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        _run_kernels_then_halve()
    finally:
        numba.set_num_threads(previous)


def _run_kernels_then_halve():
    X, A, B = make_case("tall", np.dtype(np.float32))
    bounds = row_bounds(X.shape[0], "per-row")
    smallest = np.finfo(np.float32).tiny
    for beta in (1.0, 1.5):
        out, parts = nan_array(A.shape, np.dtype(np.float32)), loss_parts_for(bounds)
        K.csr_sampled_numerator(
            X.indptr, X.indices, X.data, A, B, np.float32(beta), np.float32(EPS), bounds, out, parts, False, False
        )
    unit = np.empty(0, dtype=np.float32)
    num, den = nan_array(A.shape, np.dtype(np.float32)), nan_array(A.shape, np.dtype(np.float32))
    K.csr_observed_terms(
        X.indptr, X.indices, X.data, unit, A, B, np.float32(2), np.float32(EPS), bounds, num, den, parts, False, False
    )
    nothing = np.empty((0, 0), dtype=np.float32)
    tile_parts = np.zeros(A.shape[0])
    K.dense_tile_terms(
        X.toarray(), nothing, A, B, np.float32(1.5), np.float32(EPS), 1, 2, num, den, tile_parts, False, True
    )
    halves = np.zeros(64, dtype=np.float32)
    _halves_of(np.full(64, smallest, dtype=np.float32), halves)
    assert (halves > 0).all() and (halves < smallest).all()
    assert np.float32(smallest) / np.float32(2) > 0


@numba.njit
def _halve_with_subnormals_off(x, inside, after):
    """Halves of x with subnormal numbers as zero into ``inside``, then
    without into ``after``. (A loop, as in the kernels: LLVM does not
    know that the mode changes arithmetic, and may move a lone division
    across the change.)"""
    mode = fpmode.subnormals_off()
    for i in range(x.shape[0]):
        inside[i] = x[i] / 2
    fpmode.restore_fp_mode(mode)
    for i in range(x.shape[0]):
        after[i] = x[i] / 2


@pytest.mark.skipif(not fpmode.X86, reason="the mode is x86's (MXCSR); elsewhere the functions do nothing")
def test_subnormals_off_and_back():
    """Between subnormals_off() and restore_fp_mode(), a subnormal result is
    zero; after it, a subnormal again."""
    for dtype in (np.float32, np.float64):
        smallest = np.finfo(dtype).tiny
        inside, after = np.ones(64, dtype=dtype), np.zeros(64, dtype=dtype)
        _halve_with_subnormals_off(np.full(64, smallest, dtype=dtype), inside, after)
        assert (inside == 0).all() and ((0 < after) & (after < smallest)).all()
