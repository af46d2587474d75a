"""BLAS held to the calling thread while the dense tile kernel runs
(fastnmf._threads.blas_on_calling_thread), and the larger tiles that it
allows (fastnmf._terms.dense_tiles): the limit is set and always restored,
from one thread or several, and fits on the larger tiles agree with fits on
the small ones. Also the products of dense HALS by blocks of rows, made
under the same hold."""

import threading

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
import threadpoolctl
from threadpoolctl import threadpool_info, threadpool_limits

import fastnmf._threads
import naive
from conftest import MU, rtol_for, two_threads_or_skip
from fastnmf import nmf
from fastnmf._epsilon import EPS
from fastnmf._kernels.gram import BLAS_SINGLE_THREAD_WORK
from fastnmf._terms import (
    HELD_ROW_MULTIPLE, HELD_TILE, HELD_TILE_MIN_RANK, all_entries_power_product, dense_tiles, tile_terms,
)
from kernel_cases import assert_close
from fastnmf._threads import blas_can_be_held, blas_on_calling_thread

needs_hold = pytest.mark.skipif(not blas_can_be_held(), reason="this BLAS cannot be held to one thread")


def blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture(autouse=True)
def blas_threads_unchanged():
    before = blas_threads()
    yield
    assert blas_threads() == before, "BLAS's thread counts were left changed"


@needs_hold
def test_hold_sets_one_thread_and_restores_nested():
    with blas_on_calling_thread() as held:
        assert held
        assert set(blas_threads()) == {1}
        with blas_on_calling_thread() as inner:
            assert inner
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {1}, "the inner exit must not restore while the outer block runs"


@needs_hold
def test_hold_from_several_threads_at_once():
    n = 4
    inside = threading.Barrier(n)
    seen, errors = [], []

    def work():
        try:
            with blas_on_calling_thread() as held:
                inside.wait(timeout=30)  # all four hold at once
                seen.append((held, set(blas_threads())))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert seen == [(True, {1})] * n


def test_hold_is_restored_after_an_error():
    with pytest.raises(RuntimeError, match="inside"):
        with blas_on_calling_thread():
            raise RuntimeError("inside")


def test_hold_does_nothing_where_blas_cannot_be_held(monkeypatch):
    monkeypatch.setattr(fastnmf._threads, "_blas_libraries", lambda: None)
    before = blas_threads()
    assert not fastnmf._threads.blas_can_be_held()
    with fastnmf._threads.blas_on_calling_thread() as held:
        assert not held
        assert blas_threads() == before


@needs_hold
@pytest.mark.skipif(
    not hasattr(threadpoolctl.OpenBLASController, "clear_controlling_thread"),
    reason="threadpoolctl < 3.8 lets any thread set OpenBLAS's thread count",
)
def test_hold_reports_failure_while_another_thread_controls_openblas():
    """threadpoolctl >= 3.8 gives control of OpenBLAS's thread count to one
    Python thread at a time: while another thread holds it (here at 2
    threads), the hold cannot take effect and says so, and a fit on the
    larger ranks still runs (on the small tiles)."""
    inside, done = threading.Event(), threading.Event()

    def other():
        with threadpool_limits(limits=2, user_api="blas"):
            inside.set()
            done.wait(timeout=60)

    thread = threading.Thread(target=other)
    thread.start()
    try:
        assert inside.wait(timeout=30)
        with blas_on_calling_thread() as held:
            assert not held
        V = np.random.default_rng(0).random((40, 30)) + 0.1
        assert np.isfinite(nmf(V, 32, loss="kullback-leibler", max_iter=3, tol=0, random_state=0, **MU).loss)
    finally:
        done.set()
        thread.join(timeout=60)


@pytest.mark.parametrize("r", [1, 10, 16, 31, 32, 50, 200])
def test_dense_tiles(r, dtype):
    for p in (1, 400, 10_000):
        rows, cols = dense_tiles(p, r, dtype, held=False)
        assert rows * cols * r <= BLAS_SINGLE_THREAD_WORK or cols == 1, "an unheld BLAS call must stay single-threaded"
        if r >= HELD_TILE_MIN_RANK[dtype.itemsize]:
            held_rows, held_cols = dense_tiles(p, r, dtype, held=True)
            assert held_rows <= HELD_TILE[0] and held_cols == HELD_TILE[1]
        else:
            assert dense_tiles(p, r, dtype, held=True) == (rows, cols)


@pytest.mark.parametrize("p", [1, 2, 7, 9, 127, 128, 129, 256, 257, 400, 470, 1259, 10_304])
def test_held_tile_rows_even_out_the_blocks(p):
    """As many blocks as HELD_TILE's rows would make, of about equal
    height: the threads share out whole blocks."""
    rows, _ = dense_tiles(p, 64, np.dtype(np.float64), held=True)
    blocks = -(-p // rows)
    assert blocks == -(-p // HELD_TILE[0])
    assert rows <= HELD_TILE[0] and rows % HELD_ROW_MULTIPLE == 0
    assert rows < -(-p // blocks) + HELD_ROW_MULTIPLE


def test_held_tile_rows_of_400():
    """The faces' W side: 104 + 104 + 104 + 88 rows, not 128 + 128 + 128 + 16."""
    assert dense_tiles(400, 50, np.dtype(np.float32), held=True) == (104, HELD_TILE[1])


@pytest.mark.parametrize("r", [3, 7, 13])
@pytest.mark.parametrize("path", ["blocks", "unheld", "small"])
def test_dense_hals_products(path, r, dtype, n_threads, monkeypatch):
    """P = V H^T and V^T W with their Gram matrices, as dense HALS takes
    them: by blocks of rows from Numba's threads from HALS_BLOCKED_MIN_WORK
    on, and below it above r = 12, where BLAS is held (V^T copied once);
    otherwise by Numba's row_dots from r = 4 to 12 (V^T copied once) and
    NumPy's products below and above."""
    import fastnmf._terms
    from fastnmf._terms import HALS_PRODUCT_ROWS, DenseTerms

    if path == "blocks" and not blas_can_be_held():
        pytest.skip("this BLAS cannot be held to one thread")
    if path != "small":
        monkeypatch.setattr(fastnmf._terms, "HALS_BLOCKED_MIN_WORK", 0)
    if path == "unheld":
        monkeypatch.setattr(fastnmf._threads, "_blas_libraries", lambda: None)
    rng = np.random.default_rng(8)
    m, n = 2 * HALS_PRODUCT_ROWS + 37, 150
    V = rng.random((m, n)).astype(dtype)
    W, Ht = rng.random((m, r)).astype(dtype), rng.random((n, r)).astype(dtype)
    V64, W64, Ht64 = (a.astype(np.float64) for a in (V, W, Ht))
    terms = DenseTerms(V, 2.0)
    P, G, loss = terms.w_products(W, Ht, True)
    assert_close(P, V64 @ Ht64, dtype)
    assert_close(G, Ht64.T @ Ht64, dtype)
    assert_allclose(loss, 0.5 * np.sum((V64 - W64 @ Ht64.T) ** 2), rtol=100 * rtol_for(dtype))
    for _ in range(2):
        P, G = terms.h_products(W, Ht)
        assert_close(P, V64.T @ W64, dtype)
        assert_close(G, W64.T @ W64, dtype)
        assert P.dtype == G.dtype == dtype and P.flags.c_contiguous
    blocks = blas_can_be_held() and (path == "blocks" or (path == "small" and r > 12))
    assert (terms.Vt is not None) == (blocks or 4 <= r <= 12)  # V^T is copied for the blocks and row_dots


@needs_hold
def test_dense_hals_fit_on_blocks_same_for_any_thread_count(monkeypatch):
    """The blocks depend on the shape only: the same bits with 1 and 2 threads."""
    import fastnmf._terms

    two_threads_or_skip(2)
    monkeypatch.setattr(fastnmf._terms, "HALS_BLOCKED_MIN_WORK", 0)
    V = np.random.default_rng(9).random((400, 300))  # work enough for 2 threads (fastnmf._threads.threads_for)
    seen = {1: set(), 2: set()}
    fits = [
        nmf(V, 5, solver="hals", init="random", random_state=3, max_iter=5, tol=0, n_threads=t,
            callback=lambda *_, t=t: seen[t].add(numba.get_num_threads()))
        for t in (1, 2)
    ]  # fmt: skip
    assert seen == {1: {1}, 2: {2}}
    assert_array_equal(fits[0].W, fits[1].W, strict=True)
    assert_array_equal(fits[0].H, fits[1].H, strict=True)


def larger_than_a_held_tile(rng):
    """A dense V of several held tiles each way, uneven at the edges."""
    rows, cols = HELD_TILE
    return rng.random((2 * rows + 37, 2 * cols + 91)) + 0.01


@needs_hold
@pytest.mark.parametrize("loss, layout", [("kullback-leibler", "dense"), (1.5, "dense"), (1.5, "csr")])
def test_fits_on_held_tiles_match_fits_on_small_tiles(loss, layout, dtype, monkeypatch):
    """The held tiles change only how the products are cut (the order of
    the sums), not the update: a fit agrees with one on the small tiles,
    dense V (the tile kernel gives the whole update) and sparse V (it gives
    the denominator over all entries for beta = 1.5)."""
    rng = np.random.default_rng(5)
    V = larger_than_a_held_tile(rng).astype(dtype)
    if layout == "csr":
        V = sp.csr_array(np.where(rng.random(V.shape) < 0.1, V, 0).astype(dtype))
    r = HELD_TILE_MIN_RANK[dtype.itemsize]
    options = dict(loss=loss, init="random", random_state=3, max_iter=5, tol=0, **MU)
    held = nmf(V, r, **options)
    monkeypatch.setattr(fastnmf._threads, "_blas_libraries", lambda: None)  # the hold fails: small tiles
    small = nmf(V, r, **options)
    rtol = 50 * rtol_for(dtype)
    assert_allclose(held.W, small.W, rtol=rtol, atol=rtol * np.abs(small.W).max())
    assert_allclose(held.H, small.H, rtol=rtol, atol=rtol * np.abs(small.H).max())
    assert_allclose(held.loss, small.loss, rtol=rtol)


@needs_hold
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("beta", [1.0, 1.5, 0.0])
def test_tile_terms_on_held_tiles_against_numpy(beta, weighted, dtype, n_threads):
    """The held path (larger tiles, BLAS on one thread) against the NumPy
    twin of the kernel, on a V of several held tiles each way."""
    rng = np.random.default_rng(6)
    V = larger_than_a_held_tile(rng).astype(dtype)
    m, n = V.shape
    r = HELD_TILE_MIN_RANK[dtype.itemsize]
    A = (rng.random((m, r)) + 0.1).astype(dtype)
    B = (rng.random((n, r)) + 0.1).astype(dtype)
    if weighted:
        weights = (rng.random((m, n)) * (rng.random((m, n)) > 0.3)).astype(dtype)
        V = np.where(weights > 0, V, np.nan).astype(dtype)  # never read where the weight is zero
    else:
        weights = np.empty((0, 0), dtype=dtype)
    ref_num, ref_den, ref_loss = naive.dense_tile_terms(V, weights, A, B, beta)
    num, den = np.full(A.shape, np.nan, dtype), np.full(A.shape, np.nan, dtype)
    V_before = V.copy()
    loss = tile_terms(V, weights, A, B, dtype.type(beta), dtype.type(EPS), num, den, True, True)
    assert_array_equal(V, V_before)
    assert_close(num, ref_num, dtype)
    assert_close(den, ref_den, dtype)
    assert_allclose(loss, ref_loss, rtol=rtol_for(dtype))


@needs_hold
@pytest.mark.parametrize("beta", [1.5, 3.0])
def test_all_entries_power_product_on_held_tiles_against_numpy(beta, dtype, n_threads):
    """The sparse update's denominator over every entry (X = 0), on the held tiles."""
    rng = np.random.default_rng(7)
    rows, cols = HELD_TILE
    r = HELD_TILE_MIN_RANK[dtype.itemsize]
    A = (rng.random((2 * rows + 37, r)) + 0.1).astype(dtype)
    B = (rng.random((2 * cols + 91, r)) + 0.1).astype(dtype)
    ref, ref_sum = naive.all_entries_power_product(A, B, beta)
    den, loss = all_entries_power_product(A, B, dtype.type(beta), dtype.type(EPS), True)
    assert_close(den, ref, dtype)
    assert_allclose(loss, ref_sum / beta, rtol=rtol_for(dtype))
