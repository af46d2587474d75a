"""The Frobenius solvers that reuse their products: accelerated HALS (row
and lane kernels), A-MU (Gillis & Glineur 2012) and HALS with extrapolation
(Ang & Gillis 2019), each against its naive twin where it has one, their
objective, their transform and their determinism across thread counts.
Multiplicative updates are in test_nmf.py.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import naive
from conftest import (
    EVERY_ITERATION,
    PENALTIES,
    SPEECHES,
    as_dense,
    assert_matches_twin,
    data,
    factors,
    large_enough_for_two_threads,
    penalty_weights,
    rtol_for,
    two_threads_or_skip,
)
import fastnmf
import fastnmf._api
import fastnmf._hals
from fastnmf import nmf
from fastnmf._epsilon import tiny


@pytest.mark.parametrize("penalty", ["none", "mixed"])
@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_hals_row_and_lane_kernels_give_the_same_fit(layout, penalty, monkeypatch):
    """HALS sweeps rows side by side for small r (hals_lanes) and one by one
    above LANES_MAX_RANK (hals_rows): the same fit either way, and the
    objective never increases. 300 rows: several chunks, each with more rows
    than lanes."""
    V = data(2.0, layout, np.float64, m=300, n=40)
    options = dict(solver="hals", init="random", random_state=0, max_iter=30, tol=0, **PENALTIES[penalty])
    options.update(EVERY_ITERATION)
    lanes = nmf(V, 5, **options)
    monkeypatch.setattr(fastnmf._hals, "LANES_MAX_RANK", 0)
    rows = nmf(V, 5, **options)
    assert_allclose(lanes.W, rows.W, rtol=1e-9, atol=1e-12)
    assert_allclose(lanes.H, rows.H, rtol=1e-9, atol=1e-12)
    for history in (lanes.loss_history, rows.loss_history):
        assert (np.diff(history) <= 1e-12 * history[:-1]).all()


@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_amu_matches_its_naive_twin(layout, penalty, dtype):
    """Accelerated MU (Gillis & Glineur 2012): for each product, up to
    1 + 2 rho MU updates of W, stopping once one changes W by a tenth of what
    the first did; then the same for H."""
    V = data(2.0, layout, dtype)
    m, n = V.shape
    W0, H0 = factors(m, n, 3, dtype)
    options = PENALTIES[penalty]
    result = nmf(V, 3, init=(W0, H0), max_iter=3, tol=0, n_threads=1, solver="amu", **options, **EVERY_ITERATION)
    weights = penalty_weights(m, n, **options)
    stored = V.nnz if sp.issparse(V) else m * n
    W, H = W0, H0
    history = [naive.objective(as_dense(V), W, H, 2.0, None, *weights)]
    for _ in range(3):
        W, H = naive.amu_iteration(as_dense(V), W, H, stored, *weights)
        history.append(naive.objective(as_dense(V), W, H, 2.0, None, *weights))
    assert naive.amu_count(stored, m, n, 3) > 1  # the inner loop runs
    assert_matches_twin(result, W, H, history, 50 * rtol_for(dtype))


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_amu_objective_never_increases(layout, dtype):
    V = data(2.0, layout, dtype, m=20, n=15)
    options = dict(solver="amu", init="random", random_state=0, max_iter=60, tol=0, n_threads=1)
    history = nmf(V, 4, **options, **PENALTIES["mixed"], **EVERY_ITERATION).loss_history
    rise = np.diff(history) / np.abs(history[:-1])
    assert rise.max() <= (1e-12 if dtype == np.float64 else 1e-6)
    assert history[-1] < history[0]


@pytest.mark.parametrize("start", [0.5, 4.0], ids=["default", "restarts"])
@pytest.mark.parametrize("penalty", ["none", "mixed"])
@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_ehals_matches_its_naive_twin(layout, penalty, start, dtype, monkeypatch):
    """HALS with extrapolation (Ang & Gillis 2019) against the loop written
    out in NumPy. A start of beta = 4 overshoots, so that the objective
    rises and the restart (H's extrapolation dropped, beta shrunk) runs."""
    monkeypatch.setattr(fastnmf._hals, "EXTRAPOLATION_START", start)
    V = data(2.0, layout, dtype)
    m, n = V.shape
    W0, H0 = factors(m, n, 3, dtype)
    options = PENALTIES[penalty]
    iterations = 6
    result = nmf(V, 3, init=(W0, H0), max_iter=iterations, tol=0, n_threads=1, solver="ehals", **options,
                 **EVERY_ITERATION)  # fmt: skip
    stored = V.nnz if sp.issparse(V) else m * n
    W, H, history, restarts = naive.ehals_fit(as_dense(V), W0, H0, iterations, stored,
                                              *penalty_weights(m, n, **options), tiny=float(tiny(dtype)), beta=start,
                                              margin=rise_margin(V, dtype))  # fmt: skip
    assert restarts > 0 if start > 1 else True
    assert_matches_twin(result, W, H, history, 100 * rtol_for(dtype))


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_ehals_matches_its_naive_twin_over_many_iterations(layout, monkeypatch):
    """60 iterations, with restarts (from beta = 1.5); in float64, so that
    the twin takes the same decisions."""
    monkeypatch.setattr(fastnmf._hals, "EXTRAPOLATION_START", 1.5)
    V = data(2.0, layout, np.float64, m=20, n=15)
    m, n = V.shape
    W0, H0 = factors(m, n, 4, np.float64)
    result = nmf(V, 4, init=(W0, H0), max_iter=60, tol=0, n_threads=1, solver="ehals", **EVERY_ITERATION)
    stored = V.nnz if sp.issparse(V) else m * n
    W, H, history, restarts = naive.ehals_fit(as_dense(V), W0, H0, 60, stored, tiny=float(tiny(np.float64)),
                                              beta=1.5, margin=rise_margin(V, np.float64))  # fmt: skip
    assert restarts > 1
    assert_allclose(result.loss_history, history, rtol=1e-9)
    assert_allclose(result.W, W, rtol=1e-7, atol=1e-9 * W.max())
    assert_allclose(result.H, H, rtol=1e-7, atol=1e-9 * H.max())


def rise_margin(V, dtype):
    squares = V.data if sp.issparse(V) else V
    return fastnmf._hals.ExtrapolatedHALSSteps.rise_margin(float(np.sum(np.square(squares, dtype=np.float64))), dtype)


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_ehals_keeps_extrapolating_at_the_rounding_floor(layout, dtype, monkeypatch):
    """Once the objective moves by rounding alone, beta stays where it was:
    compared exactly, the iterations that came out above the lowest
    objective so far (about half of them) shrank it to nothing."""
    made = []

    class Recorded(fastnmf._hals.ExtrapolatedHALSSteps):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(fastnmf._api, "ExtrapolatedHALSSteps", Recorded)
    V = data(2.0, layout, dtype, m=20, n=15)
    result = nmf(V, 3, solver="ehals", init="random", random_state=0, max_iter=400, tol=0, n_threads=1)
    history = result.loss_history
    assert abs(history[-1] - history[-2]) <= 1e-6 * history[-1]  # at the floor (the last 10 iterations)
    assert made[0].beta > 0.1


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_ehals_reports_the_objective_of_what_it_returns(layout, dtype, monkeypatch):
    """The pair a fit holds between iterations is (W, H's extrapolated
    point): its objective is the one recorded, restarts included."""
    monkeypatch.setattr(fastnmf._hals, "EXTRAPOLATION_START", 4.0)
    V = data(2.0, layout, dtype, m=20, n=15)
    for max_iter in (1, 7, 30):
        result = nmf(V, 4, solver="ehals", init="random", random_state=0, max_iter=max_iter, tol=0, n_threads=1)
        expected = naive.objective(as_dense(V), result.W, result.H, 2.0)
        assert_allclose(result.loss_history[-1], expected, rtol=100 * rtol_for(dtype))
        assert np.isfinite(result.W).all() and result.W.min() >= 0 and result.H.min() >= 0


@pytest.mark.parametrize("init", [None, "random", "nndsvda"])
def test_ehals_keeps_every_component(init):
    """Extrapolation never zeroes a column that the HALS step left nonzero:
    on the speeches' 5 x 4 word counts at r = 2 it did, and the topic never
    came back (HALS's denominator for it was then zero)."""
    for seed in range(10):
        result = nmf(SPEECHES, 2, solver="ehals", init=init, random_state=seed, max_iter=1000, tol=1e-6, n_threads=1)
        assert (result.H.sum(axis=1) > 0).all() and (result.W.sum(axis=0) > 0).all(), f"seed {seed}"


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_ehals_transform_is_hals(layout):
    """With H fixed there is nothing to extrapolate from: the same W."""
    V = data(2.0, layout, np.float64, m=30, n=20)
    H = nmf(V, 3, init="random", random_state=0, max_iter=20, tol=0, n_threads=1).H
    W_hals, W_ehals = (fastnmf.transform(V, H, solver=s, max_iter=5, tol=0, n_threads=1) for s in ("hals", "ehals"))
    assert_array_equal(W_hals, W_ehals, strict=True)


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_amu_transform_is_mu_with_more_updates(layout):
    """With H fixed, A-MU's updates of W are MU's updates, several per
    product: after as many iterations its objective is at most MU's."""
    V = data(2.0, layout, np.float64, m=30, n=20)
    H = nmf(V, 3, init="random", random_state=0, max_iter=20, tol=0, n_threads=1).H
    dense = as_dense(V)
    W_mu = fastnmf.transform(V, H, solver="mu", max_iter=5, tol=0, n_threads=1)
    W_amu = fastnmf.transform(V, H, solver="amu", max_iter=5, tol=0, n_threads=1)
    loss_mu, loss_amu = (np.sum((dense - W @ H) ** 2) for W in (W_mu, W_amu))
    assert loss_amu < loss_mu


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("solver", ["amu", "hals", "ehals", "hals four rows at a time"])
def test_accelerated_solvers_same_result_any_thread_count(solver, layout, monkeypatch):
    """The last case sweeps with hals_rows (its rows in slots, whatever the
    threads) at this small r."""
    two_threads_or_skip(2)
    if solver == "hals four rows at a time":
        monkeypatch.setattr(fastnmf._hals, "LANES_MAX_RANK", 0)
        solver = "hals"
    V = large_enough_for_two_threads(layout)
    fits = [nmf(V, 4, solver=solver, init="random", random_state=7, max_iter=4, tol=0, n_threads=t) for t in (1, 2)]
    assert_array_equal(fits[0].W, fits[1].W, strict=True)
    assert_array_equal(fits[0].H, fits[1].H, strict=True)


def test_lane_chunks_depend_on_the_shape_only():
    for rows in (1, 100, 129, 5_000, 20_000, 1_000_000):
        bounds = fastnmf._hals.lane_chunks(rows, 10)
        sizes = np.diff(bounds)
        assert bounds[0] == 0 and bounds[-1] == rows and (sizes > 0).all()
        assert sizes.max() <= max(rows, 2 * fastnmf._hals.LANE_CHUNK_ROWS[1])
        assert len(sizes) == 1 or sizes.min() >= fastnmf._hals.LANE_CHUNK_ROWS[0]


def test_slot_chunks_depend_on_the_shape_only():
    low, high = fastnmf._hals.SLOT_CHUNK_ROWS
    for rows in (1, 5, 17, 470, 1_259, 20_000, 1_000_000):
        bounds = fastnmf._hals.slot_chunks(rows, 50)
        sizes = np.diff(bounds)
        assert bounds[0] == 0 and bounds[-1] == rows and (sizes > 0).all()
        assert sizes.max() <= max(rows, 2 * high)
        assert len(sizes) == 1 or sizes.min() >= low


def test_lanes_serve_smaller_ranks_without_avx512(monkeypatch):
    """HALS sweeps rows side by side up to r = 32 where Numba compiles for
    AVX-512, and up to 28 (float32) or 20 (float64) where it does not."""
    for avx512, expected in ((True, (32, 32)), (False, (28, 20))):
        monkeypatch.setattr(fastnmf._hals, "compiles_for_avx512", lambda: avx512)
        assert (fastnmf._hals.lanes_max_rank(np.float32), fastnmf._hals.lanes_max_rank(np.float64)) == expected


def test_avx512_is_read_from_numbas_target(monkeypatch, fresh_compile_target):
    """NUMBA_CPU_NAME and NUMBA_CPU_FEATURES, when set, decide; else the host."""
    from numba.core import config

    from fastnmf._jit import compiles_for_avx512

    host = fresh_compile_target()
    assert compiles_for_avx512() is (host[1] is not None and "avx512f" in host[1])
    monkeypatch.setattr(config, "CPU_NAME", "generic")
    cases = (
        ("+avx2,+fma", False, {"avx2", "fma"}),
        (" +avx2, +avx512f ", True, {"avx2", "avx512f"}),
        ("+avx2,-avx512f", False, {"avx2"}),
        ("+avx512fp16", False, {"avx512fp16"}),
        ("", False, None),  # the named processor's own features: not known here
    )
    for features, expected, parsed in cases:
        monkeypatch.setattr(config, "CPU_FEATURES", features)
        fresh_compile_target.cache_clear()
        assert fresh_compile_target() == ("generic", None if parsed is None else frozenset(parsed))
        assert compiles_for_avx512() is expected
