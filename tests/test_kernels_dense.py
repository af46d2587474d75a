"""The dense kernels, the multiplicative update, the HALS rows and the Gram
kernels against their NumPy twins (see test_kernels.py for the grid).
"""

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import naive
from conftest import BETAS, POSITIVE_BETAS, rtol_for
from fastnmf import _kernels as K
from fastnmf._chunks import uniform_row_chunks
from fastnmf._epsilon import EPS, tiny
from kernel_cases import (
    assert_close, assert_close_or_subnormal, assert_loss_close, every_case, loss_scale, make_case, nan_array,
    near_smallest_normal,
)


# --------------------------------------------------------------------------
# Dense kernels
# --------------------------------------------------------------------------


# (tile rows, tile columns): one entry, tiles that cut both sides unevenly, one tile for all
TILES = [(1, 1), (3, 2), (64, 4096)]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("beta", BETAS)
def test_dense_tile_terms(beta, weighted, dtype, n_threads):
    for shape_id, _ in every_case(n_threads):
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
        ref_num, ref_den, ref_loss = naive.dense_tile_terms(V, weights, A, B, beta)
        observed = np.ones((m, n), bool) if not weighted else weights > 0
        product = A.astype(np.float64) @ B.T.astype(np.float64)
        scale = 2 * loss_scale(np.where(observed, V, 1.0).astype(np.float64), product, beta, observed)
        every = ((True, True), (False, True), (True, False), (False, False))
        variants = every if n_threads == 1 else ((True, True), (True, False))
        for tile_rows, tile_cols in TILES if n_threads == 1 else TILES[1:2]:
            for with_den, with_loss in variants:
                where = f"{shape_id}, tiles {tile_rows} x {tile_cols}, with_den={with_den}, with_loss={with_loss}"
                num = nan_array(A.shape, dtype)
                den = nan_array(A.shape, dtype) if with_den else np.empty((0, 0), dtype=dtype)
                parts = np.full(-(-m // tile_rows), np.nan)
                V_before = V.copy()
                K.dense_tile_terms(
                    V, weights, A, B, dtype.type(beta), dtype.type(EPS), tile_rows, tile_cols,
                    num, den, parts, with_loss, with_den,
                )  # fmt: skip
                assert_array_equal(V, V_before, err_msg=where)
                assert_close(num, ref_num, dtype, err_msg=where)
                if with_den:
                    assert_close(den, ref_den, dtype, err_msg=where)
                if with_loss:
                    assert_loss_close(parts.sum(), ref_loss, dtype, scale, err_msg=where)
                else:
                    assert_array_equal(parts, 0.0, err_msg=where)


@pytest.mark.parametrize("beta", POSITIVE_BETAS)
def test_dense_tile_terms_with_x_zero(beta, dtype, n_threads):
    """An X of no rows stands for X = 0 (the sparse update's denominator over
    every entry, beta other than 1 and 2): den = clamp(A B^T)^(beta - 1) B
    and the objective sum ab^beta / beta; num is not touched."""
    nothing = np.empty((0, 0), dtype)
    for shape_id, _ in every_case(n_threads):
        _, A, B = make_case(shape_id, dtype)  # zero rows/columns: the clamp at eps
        ref, ref_sum = naive.all_entries_power_product(A, B, beta)
        for (rows, cols), with_loss in itertools.product(TILES if n_threads == 1 else TILES[1:2], (True, False)):
            where = f"{shape_id}, tiles {rows} x {cols}, with_loss={with_loss}"
            den = np.full(A.shape, np.nan, dtype)
            parts = np.full(-(-A.shape[0] // rows), np.nan)
            K.dense_tile_terms(
                nothing, nothing, A, B, dtype.type(beta), dtype.type(EPS), rows, cols, nothing, den, parts,
                with_loss, True,
            )  # fmt: skip
            assert_close(den, ref, dtype, err_msg=where)
            if with_loss:
                assert_allclose(parts.sum(), ref_sum / beta, rtol=rtol_for(dtype), err_msg=where)
            else:
                assert_array_equal(parts, 0.0, err_msg=where)


# --------------------------------------------------------------------------
# The update
# --------------------------------------------------------------------------


GAMMAS = sorted({naive.mm_exponent(beta) for beta in BETAS + [-0.5]})
NO_GRAM = {np.dtype(t): np.empty((0, 0), t) for t in (np.float32, np.float64)}


@pytest.mark.parametrize("beta", [1.0, 1.5])
def test_dense_tile_terms_with_entries_near_the_smallest_normal_number(beta, dtype, n_threads):
    """The tile kernel runs with subnormal numbers as zero, its BLAS products
    included (fastnmf._kernels.fpmode): with factor entries near the
    smallest normal number it agrees with its twin, which keeps their
    subnormal products, to the dtype's tolerance or below the smallest
    normal number. With X = V and with X = 0 (the sparse update's
    denominator over every entry)."""
    rng = np.random.default_rng(6)
    nothing = np.empty((0, 0), dtype)
    rows, cols = TILES[1]
    for shape_id, _ in every_case(n_threads):
        X, A, B = make_case(shape_id, dtype)
        A, B = near_smallest_normal(A, rng), near_smallest_normal(B, rng)
        V = X.toarray()
        where = f"{shape_id}"
        product = A.astype(np.float64) @ B.T.astype(np.float64)
        weights = (rng.random(V.shape) * 2 * (rng.random(V.shape) > 0.3)).astype(dtype)
        for w in (nothing, weights):  # unweighted, and weighted (masked dense V)
            case = f"{where}, weighted = {w.size > 0}"
            ref_num, ref_den, ref_loss = naive.dense_tile_terms(V, w, A, B, beta)
            num, den = nan_array(A.shape, dtype), nan_array(A.shape, dtype)
            parts = np.full(-(-A.shape[0] // rows), np.nan)
            K.dense_tile_terms(V, w, A, B, dtype.type(beta), dtype.type(EPS), rows, cols, num, den, parts, True, True)
            assert_close_or_subnormal(num, ref_num, dtype, err_msg=case)
            assert_close_or_subnormal(den, ref_den, dtype, err_msg=case)
            observed = np.ones(V.shape, bool) if w.size == 0 else w > 0
            scale = 2 * loss_scale(V.astype(np.float64), product, beta, observed)
            assert_loss_close(parts.sum(), ref_loss, dtype, scale, err_msg=case)
        ref, ref_sum = naive.all_entries_power_product(A, B, beta)
        den = nan_array(A.shape, dtype)
        K.dense_tile_terms(nothing, nothing, A, B, dtype.type(beta), dtype.type(EPS), rows, cols, nothing, den, parts,
                           True, True)  # fmt: skip
        assert_close_or_subnormal(den, ref, dtype, err_msg=f"{where}, X = 0")
        assert_allclose(parts.sum(), ref_sum / beta, rtol=rtol_for(dtype), err_msg=f"{where}, X = 0")


@pytest.mark.parametrize("penalized", [False, True], ids=["plain", "penalized"])
@pytest.mark.parametrize("gamma", GAMMAS)
def test_multiplicative_update(gamma, penalized, dtype, n_threads):
    """Denominators: A's shape, one row that every row shares, or A G for a
    symmetric G (the kernel forms it in ``den`` first)."""
    # (170, 40): A G by three BLAS calls of 81, 81 and 8 rows (blas_block_rows)
    for shape in [(1, 1), (9, 1), (9, 3), (2, 5), (170, 40)] if n_threads == 1 else [(1, 1), (9, 3), (170, 40)]:
        for kind in ("full", "shared", "gram"):
            where = f"shape={shape}, den={kind}"
            m, r = shape
            rng = np.random.default_rng(5)
            A = (rng.random(shape) + 0.1).astype(dtype)
            num = (rng.random(shape) + 0.1).astype(dtype)
            den = (rng.random((1, r) if kind == "shared" else shape) + 0.1).astype(dtype)
            gram = np.empty((0, 0), dtype)
            if kind == "gram":
                S = rng.random((r, r))
                gram = (S + S.T).astype(dtype)
                den = nan_array(shape, dtype)
            if m > 1:
                A[0] = 0  # a zero row with zero numerator (and denominator) stays zero
                num[0] = 0
                if kind == "full":
                    den[0] = 0
            l1 = (rng.random(m) if penalized else np.zeros(m)).astype(dtype)
            l2 = (rng.random(m) if penalized else np.zeros(m)).astype(dtype)
            original = A.copy()
            K.multiplicative_update(
                A, num, den, gram, l1, l2, dtype.type(gamma), dtype.type(EPS), dtype.type(tiny(dtype))
            )
            ref = naive.multiplicative_update(original, num, den, gram, l1, l2, gamma, tiny=tiny(dtype))
            assert A.dtype == dtype
            assert np.isfinite(A).all(), where
            assert_close(A, ref, dtype, err_msg=where)
            if kind == "gram":
                assert_close(den, naive.times_symmetric(original, gram), dtype, err_msg=where)


def test_multiplicative_update_zero_denominator_keeps_entry(dtype):
    """Rule 2 of the epsilon policy: 0/0 leaves the entry unchanged, not NaN."""
    A = np.array([[0.0, 2.0]], dtype=dtype)
    num = np.zeros((1, 2), dtype=dtype)
    den = np.zeros((1, 2), dtype=dtype)
    zeros = np.zeros(1, dtype=dtype)
    K.multiplicative_update(
        A, num, den, NO_GRAM[dtype], zeros, zeros, dtype.type(1), dtype.type(EPS), dtype.type(tiny(dtype))
    )
    assert_array_equal(A, [[0.0, 0.0]])
    B = np.array([[0.0, 3.0]], dtype=dtype)
    K.multiplicative_update(
        B, np.ones((1, 2), dtype), den, NO_GRAM[dtype], zeros, zeros,
        dtype.type(1), dtype.type(EPS), dtype.type(tiny(dtype)),
    )  # fmt: skip
    assert np.isfinite(B).all()
    assert_allclose(B, [[0.0, 3.0 / EPS]], rtol=rtol_for(dtype))


def test_multiplicative_update_flushes_subnormals(dtype):
    """Rule 3: entries below the dtype's smallest normal number become 0."""
    smallest = tiny(dtype)
    A = np.array([[smallest * 4, 1.0, smallest * 4]], dtype=dtype)
    num = np.array([[0.125, 1.0, 0.5]], dtype=dtype)
    den = np.ones((1, 3), dtype=dtype)
    zeros = np.zeros(1, dtype=dtype)
    K.multiplicative_update(
        A, num, den, NO_GRAM[dtype], zeros, zeros, dtype.type(1), dtype.type(EPS), dtype.type(smallest)
    )
    assert_array_equal(A, np.array([[0.0, 1.0, smallest * 2]], dtype=dtype))


def _sweep_rows(A, P, G, l1, l2, tiny_value, bounds, max_sweeps, delta_squared):
    K.hals_rows(A, P, G, l1, l2, tiny_value, bounds, max_sweeps, delta_squared)


def _sweep_lanes(lanes):
    def sweep(A, P, G, l1, l2, tiny_value, bounds, max_sweeps, delta_squared):
        K.hals_lanes(A, P, G, l1, l2, tiny_value, bounds, max_sweeps, delta_squared, lanes)

    return sweep


HALS_KERNELS = {"rows": _sweep_rows, "lanes3": _sweep_lanes(3), "lanes32": _sweep_lanes(32)}


@pytest.mark.parametrize("kernel", list(HALS_KERNELS))
@pytest.mark.parametrize("penalized", [False, True], ids=["plain", "penalized"])
@pytest.mark.parametrize("max_sweeps", [1, 6])
def test_hals_kernels(kernel, max_sweeps, penalized, dtype, n_threads):
    """hals_rows (four rows at a time: rows taking slots as others stop, and
    fewer rows than slots at a chunk's end), and hals_lanes with 3 lanes
    (rows taking lanes as others stop, and a chunk's rows left over) and 32
    (more lanes than rows)."""
    sweep = HALS_KERNELS[kernel]
    rng = np.random.default_rng(11)
    for m, n, r in [(1, 1, 1), (9, 7, 1), (12, 10, 3), (5, 30, 6), (40, 25, 4)]:
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
        sweep(A, P, G, l1, l2, dtype.type(tiny(dtype)), bounds, max_sweeps, 0.01)
        ref = naive.hals_rows(original, P, G, l1, l2, tiny(dtype), max_sweeps, 0.01)
        assert A.dtype == dtype
        assert (A >= 0).all() and np.isfinite(A).all(), where
        assert_close(A, ref, dtype, err_msg=where)
        before = naive.frobenius_penalized(X, original, B, l1, l2)
        after = naive.frobenius_penalized(X, A, B, l1, l2)
        assert after <= before * (1 + 1e-6), where  # exact coordinate descent never increases it


@pytest.mark.parametrize("kernel", list(HALS_KERNELS))
def test_hals_kernels_with_a_subnormal_denominator(kernel, dtype, n_threads):
    """A column of B so small that G[k, k] is subnormal and its reciprocal
    overflows to inf (inf times the numerator: inf or NaN). The entry becomes
    0, as for a zero column, and the row's other entries are as the twin's."""
    rng = np.random.default_rng(13)
    m, n, r = 9, 7, 3
    X = rng.random((m, n))
    B = rng.random((n, r))
    B[:, 1] = np.sqrt(tiny(dtype)) / 64  # G[1, 1] = n tiny / 4096 < tiny, 1 / G[1, 1] = inf
    A = (rng.random((m, r)) + 0.1).astype(dtype)
    P = (X @ B).astype(dtype)
    G = (B.T @ B).astype(dtype)
    assert 0 < G[1, 1] < 1 / np.finfo(dtype).max  # below tiny, and 1 / G[1, 1] overflows
    zeros = np.zeros(m, dtype=dtype)
    original = A.copy()
    HALS_KERNELS[kernel](A, P, G, zeros, zeros, dtype.type(tiny(dtype)), uniform_row_chunks(m, r * r), 3, 0.01)
    assert np.isfinite(A).all() and (A[:, 1] == 0).all()
    assert_close(A, naive.hals_rows(original, P, G, zeros, zeros, tiny(dtype), 3, 0.01), dtype)


def test_hals_rows_slots_taken_as_rows_stop(dtype, n_threads):
    """hals_rows sweeps four rows at a time. Rows that are zero with a zero P
    stay zero: their first sweep changes nothing and they stop after their
    second (delta = 0 stops a row only on no change at all), while the
    others still change in their eighth. So slots are taken by the chunk's
    next rows while the others sweep on, and each chunk ends with fewer rows
    than slots. Each row as the twin has it alone."""
    rng = np.random.default_rng(14)
    m, n, r = 23, 50, 36
    early = [1, 2, 6, 11, 12, 13, 20]
    X = rng.random((m, n))
    X[early] = 0
    B = rng.random((n, r))
    A = (rng.random((m, r)) + 0.1).astype(dtype)
    A[early] = 0
    P = (X @ B).astype(dtype)
    G = (B.T @ B).astype(dtype)
    zeros = np.zeros(m, dtype=dtype)
    original = A.copy()
    ref = naive.hals_rows(original, P, G, zeros, zeros, tiny(dtype), 8, 0.0)
    after_seven = naive.hals_rows(original, P, G, zeros, zeros, tiny(dtype), 7, 0.0)
    late = np.setdiff1d(np.arange(m), early)
    assert (np.abs(ref[late] - after_seven[late]).max(axis=1) > 0).all()  # the twin's other rows sweep 8 times
    bounds = np.array([0, 9, m], dtype=np.int64)  # two chunks, of 9 and 14 rows
    K.hals_rows(A, P, G, zeros, zeros, dtype.type(tiny(dtype)), bounds, 8, 0.0)
    assert (A[early] == 0).all()
    assert_close(A, ref, dtype)


@pytest.mark.parametrize("kernel", ["rows", "lanes32"])
def test_hals_kernels_over_many_sweeps(kernel, dtype, n_threads):
    """Fifty sweeps of every row (delta = 0) at r = 40: the kernels keep
    A[i] G current by corrections across a row's sweeps, and still end where
    the NumPy twin, which computes every sum afresh, ends."""
    rng = np.random.default_rng(12)
    m, n, r = 20, 60, 40
    X = rng.random((m, n))
    B = rng.random((n, r))
    A = (rng.random((m, r)) + 0.1).astype(dtype)
    P = (X @ B).astype(dtype)
    G = (B.T @ B).astype(dtype)
    l1 = np.zeros(m, dtype=dtype)
    l2 = np.full(m, 0.01, dtype=dtype)
    original = A.copy()
    HALS_KERNELS[kernel](A, P, G, l1, l2, dtype.type(tiny(dtype)), uniform_row_chunks(m, r * r), 50, 0.0)
    ref = naive.hals_rows(original, P, G, l1, l2, tiny(dtype), 50, 0.0)
    assert_close(A, ref, dtype)
    before = naive.frobenius_penalized(X, original, B, l1, l2)
    assert naive.frobenius_penalized(X, A, B, l1, l2) <= before


# --------------------------------------------------------------------------
# Gram kernels (the r x r products of sparse Frobenius fits)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("in_float64", [False, True], ids=["gram_parts", "gram_parts_widened"])
@pytest.mark.parametrize("chunks", [1, 3, 64])
def test_gram_parts(in_float64, chunks, dtype, n_threads):
    """The partial Gram matrices against the twin in float64: in B's dtype
    (``gram_parts``, the updates'), and in float64 whatever B's dtype
    (``gram_parts_widened``, the objective's; fits call it for float32), to
    float64 rounding since the products of two float32 values are exact in
    float64."""
    kernel, out = (K.gram_parts_widened, np.dtype(np.float64)) if in_float64 else (K.gram_parts, dtype)
    rng = np.random.default_rng(13)
    # (300, 40): 81 rows per BLAS call, so chunks of several calls and a shorter last one
    for n, r in [(0, 2), (1, 1), (2, 3), (7, 4), (40, 6), (300, 40)]:
        where = f"n={n}, r={r}, chunks={chunks}"
        B = rng.random((n, r)).astype(dtype)
        original = B.copy()
        bounds = uniform_row_chunks(n, r * r, max_chunks=chunks)
        parts = nan_array((len(bounds) - 1, r, r), out)
        kernel(B, bounds, parts)
        G = parts.sum(axis=0)
        assert G.dtype == out
        assert_close(G, naive.gram(B), out, err_msg=where)
        assert_array_equal(B, original)


def test_gram_in_float64_is_that_of_a_float64_copy(dtype):
    """fastnmf._terms.gram with ``in_float64``, one BLAS call for a small B
    and the kernel for a large one: float64, exactly symmetric, and bit for
    bit the Gram matrix of B's float64 copy (the same blocks of rows and
    BLAS calls), so the objective does not depend on whether the factor was
    copied."""
    from fastnmf._terms import BLAS_BLOCK_WORK, gram

    rng = np.random.default_rng(15)
    r = 6
    for n in (3, BLAS_BLOCK_WORK // (r * r), 4 * BLAS_BLOCK_WORK // (r * r)):
        B = rng.random((n, r)).astype(dtype)
        original = B.copy()
        G = gram(B, in_float64=True)
        assert G.dtype == np.float64
        assert_array_equal(G, G.T)
        assert_array_equal(G, gram(B.astype(np.float64)), err_msg=f"n={n}")
        assert_array_equal(B, original)


@pytest.mark.parametrize("step", [1, 3, 128])
def test_row_block_products(step, dtype, n_threads):
    """X B by blocks of rows (the products of dense HALS), against NumPy
    in float64; BLAS is held to one thread as fits hold it."""
    from fastnmf._threads import blas_on_calling_thread

    rng = np.random.default_rng(17)
    for m, n, r in [(0, 3, 2), (1, 1, 1), (5, 7, 3), (130, 40, 6), (300, 257, 40)]:
        X = rng.random((m, n)).astype(dtype)
        B = rng.random((n, r)).astype(dtype)
        X_before, B_before = X.copy(), B.copy()
        out = nan_array((m, r), dtype)
        with blas_on_calling_thread():
            K.row_block_products(X, B, step, out)
        assert out.dtype == dtype
        assert_close(out, X.astype(np.float64) @ B.astype(np.float64), dtype, err_msg=f"{m}x{n}, r={r}, step={step}")
        assert_array_equal(X, X_before)
        assert_array_equal(B, B_before)


def test_row_dots(dtype, n_threads):
    """X Bt^T by blocks of four rows and four columns of the output (the
    products of dense Frobenius fits from r = 4 to 12), against NumPy in
    float64: m and r that four does not divide (the last block overlaps the
    one before), n = 0, read-only inputs left as they were."""
    rng = np.random.default_rng(23)
    for m, n, r in [(4, 1, 4), (5, 7, 4), (13, 17, 10), (64, 50, 12), (9, 0, 5), (10, 300, 7)]:
        X = rng.random((m, n)).astype(dtype)
        Bt = rng.random((r, n)).astype(dtype)
        X.flags.writeable = Bt.flags.writeable = False
        X_before, Bt_before = X.copy(), Bt.copy()
        out = nan_array((m, r), dtype)
        K.row_dots(X, Bt, out)
        assert_close(out, naive.row_dots(X, Bt), dtype, err_msg=f"{m}x{n}, r={r}")
        assert_array_equal(X, X_before)
        assert_array_equal(Bt, Bt_before)


@pytest.mark.parametrize("m, r", [(3, 4), (4, 3)])
def test_row_dots_refuses_fewer_than_four_rows_or_columns(m, r):
    from fastnmf._jit import read_only

    with pytest.raises(ValueError, match="at least 4"):
        K.row_dots(read_only(np.ones((m, 5))), read_only(np.ones((r, 5))), np.empty((m, r)))


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("r", [3, 4, 12, 13])
def test_dense_products_match_numpy(r, order, dtype):
    """V @ B by BLAS (dense_product) and, for r = 4 to 12 and a C-ordered
    V, by row_dots (numba_product)."""
    from fastnmf._terms import dense_product, numba_product, row_dots_take

    rng = np.random.default_rng(29)
    V = np.asarray(rng.random((37, 23)).astype(dtype), order=order)
    B = rng.random((23, r)).astype(dtype)
    reference = V.astype(np.float64) @ B.astype(np.float64)
    products = [dense_product(V, B)]
    if row_dots_take(V.shape[0], r) and V.flags.c_contiguous:
        products.append(numba_product(V, B))
    assert len(products) == (2 if 4 <= r <= 12 and order == "C" else 1)
    for product in products:
        assert product.dtype == dtype and product.flags.c_contiguous
        assert_close(product, reference, dtype)


def test_gram_wrappers_match_numpy(dtype):
    from fastnmf._terms import GramDenominator, gram, update_factor

    rng = np.random.default_rng(19)
    B = rng.random((500, 5)).astype(dtype)  # small enough for one BLAS call, no kernel
    G = gram(B)
    assert G.dtype == dtype
    assert_array_equal(G, G.T)  # exactly symmetric: HALS reads its rows as columns
    assert_close(G, naive.gram(B), dtype)
    G_f = gram(np.asfortranarray(B))
    assert_array_equal(G_f, G_f.T)
    assert_close(G_f, naive.gram(B), dtype)
    wide = rng.random((6000, 40)).astype(dtype)  # chunks of 94 rows: two BLAS calls each
    assert_array_equal(gram(wide), gram(wide).T)
    assert_close(gram(wide), naive.gram(wide), dtype)
    # Any memory order: the kernels hand BLAS blocks of C-ordered rows.
    assert_array_equal(gram(np.asfortranarray(wide)), gram(wide))
    A_f = np.asfortranarray(rng.random((200, 40)).astype(dtype))
    num_f = rng.random((200, 40)).astype(dtype)
    G_f = gram(wide)
    ref_f = naive.multiplicative_update(A_f, num_f, None, G_f, 0.0, 0.0, 1.0, tiny=tiny(dtype))
    zeros_f = np.zeros(200, dtype)
    one, eps, flush = dtype.type(1), dtype.type(EPS), dtype.type(tiny(dtype))
    update_factor(A_f, num_f, GramDenominator(G_f), zeros_f, zeros_f, one, eps, flush)
    assert A_f.flags.f_contiguous  # updated in place
    assert_close(A_f, ref_f, dtype)
    A, num = rng.random((40, 5)).astype(dtype), rng.random((40, 5)).astype(dtype)
    ref = naive.multiplicative_update(A, num, None, G, 0.0, 0.0, 1.0, tiny=tiny(dtype))
    zeros = np.zeros(40, dtype)
    update_factor(A, num, GramDenominator(G), zeros, zeros, dtype.type(1), dtype.type(EPS), dtype.type(tiny(dtype)))
    assert_close(A, ref, dtype)


@pytest.mark.parametrize("r", [3, 16, 17, 40])
def test_dense_product_matches_numpy(dtype, r):
    """Either orientation (float64 at r <= 16 takes (B^T V^T)^T) gives V @ B,
    C-ordered, and leaves its inputs alone."""
    from fastnmf._terms import dense_product

    rng = np.random.default_rng(29)
    V, B = rng.random((70, 90)).astype(dtype), rng.random((90, r)).astype(dtype)
    V_before, B_before = V.copy(), B.copy()
    out = dense_product(V, B)
    assert out.shape == (70, r) and out.dtype == dtype and out.flags.c_contiguous
    assert_close(out, V.astype(np.float64) @ B.astype(np.float64), dtype)
    assert_array_equal(V, V_before)
    assert_array_equal(B, B_before)


def test_column_sums(dtype):
    from fastnmf._terms import column_sums

    A = np.random.default_rng(23).random((300, 7)).astype(dtype)
    sums = column_sums(A)
    assert sums.shape == (1, 7) and sums.dtype == dtype
    assert_close(sums, A.astype(np.float64).sum(axis=0, keepdims=True), dtype)
    assert column_sums(A, np.float64).dtype == np.float64
