"""Properties of fastnmf.nmf with multiplicative updates: the naive twin, the
objective, dense vs CSR, determinism, dtypes, iteration control, threads and
scikit-learn. The Frobenius solvers that reuse their products (HALS, A-MU,
HALS with extrapolation) are in test_frobenius_solvers.py, data at the edges
(zeros, scales far from 1) in test_nmf_edges.py, the speech x word use case
in test_speech_topics.py, the threading layer's setup at import in
test_threading_layer.py.

Fits run with one Numba thread unless threads are the point of the test: a
parallel launch costs milliseconds on a loaded 2-core machine.
"""

import warnings

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import naive
from conftest import (
    ALL_BETAS,
    EVERY_ITERATION,
    MAX_THREADS,
    MU,
    ONE_THREAD,
    PENALTIES,
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
from fastnmf import ConvergenceWarning, NMFResult, nmf

LOSS_NAMES = {2.0: "frobenius", 1.0: "kullback-leibler", 0.0: "itakura-saito"}


def kl_zero_clamp_gap(beta, layout, V):
    """How far the CSR objective may sit from the dense one beyond rounding:
    not at all, since neither clamps W H where V is zero (the epsilon
    policy, rule 1)."""
    return 0.0


# --------------------------------------------------------------------------
# Against the naive twin
# --------------------------------------------------------------------------


@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("beta", ALL_BETAS)
def test_iterations_match_naive_twin(beta, layout, penalty, dtype):
    V = data(beta, layout, dtype)
    m, n = V.shape
    W0, H0 = factors(m, n, 3, dtype)
    options = PENALTIES[penalty]
    result = nmf(V, 3, loss=beta, init=(W0, H0), max_iter=2, tol=0, **options, **ONE_THREAD, **EVERY_ITERATION)
    weights = penalty_weights(m, n, **options)
    W, H = W0, H0
    history = [naive.objective(as_dense(V), W, H, beta, None, *weights)]
    for _ in range(2):
        W, H = naive.mu_iteration(as_dense(V), W, H, beta, None, *weights)
        history.append(naive.objective(as_dense(V), W, H, beta, None, *weights))
    rtol = 50 * rtol_for(dtype)
    atol = kl_zero_clamp_gap(beta, layout, V)
    assert_matches_twin(result, W, H, history, rtol, history_atol=atol)
    assert result.loss == result.loss_history[-1]
    expected = naive.beta_divergence(as_dense(V), result.W, result.H, beta)
    assert_allclose(result.data_loss, expected, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------
# The objective
# --------------------------------------------------------------------------


@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("beta", ALL_BETAS)
def test_objective_never_increases(beta, layout, penalty, dtype):
    """Majorization-minimization (Fevotte & Idier 2011): every iteration
    lowers the objective, penalties included, up to rounding (measured:
    4e-15 relative in float64, 5e-9 in float32, at beta = 0.5)."""
    V = data(beta, layout, dtype, m=20, n=15)
    options = dict(init="random", random_state=0, max_iter=150, tol=0, **PENALTIES[penalty], **ONE_THREAD)
    result = nmf(V, 4, loss=beta, **options, **EVERY_ITERATION)
    history = result.loss_history
    assert_array_equal(result.loss_iterations, np.arange(151))
    assert np.isfinite(history).all()
    rise = np.diff(history) / np.abs(history[:-1])
    slack = 1e-12 if dtype == np.float64 else 1e-6
    assert rise.max() <= slack, f"objective rose by {rise.max():.3g} (relative) at iteration {rise.argmax() + 1}"
    assert history[-1] < history[0]


@pytest.mark.parametrize(
    "H, error, match",
    [
        (sp.csr_array(np.ones((2, 4))), TypeError, r"H must be a dense NumPy array; got a sparse matrix"),
        (None, TypeError, r"H must be an array of real numbers of shape \(r, 4\); got NoneType None"),
        ("abc", TypeError, r"H must be an array of real numbers of shape \(r, 4\); got str 'abc'"),
        ([[1.0, 2.0], [3.0]], TypeError, r"H must be a dense NumPy array; could not convert it"),
        (np.ones((2, 3)), ValueError, r"H must have shape \(r, 4\) to match V's 4 columns; got \(2, 3\)"),
    ],
    ids=["sparse", "None", "string", "ragged", "shape"],
)
def test_transform_bad_H(H, error, match):
    with pytest.raises(error, match=match):
        fastnmf.transform(np.ones((3, 4)), H)


def test_result_fields_are_consistent():
    V = data(2.0)
    m, n = V.shape
    options = PENALTIES["mixed"]
    result = nmf(V, 3, random_state=0, max_iter=20, tol=0, **options, **ONE_THREAD)
    assert isinstance(result, NMFResult)
    assert result.W.shape == (m, 3) and result.H.shape == (3, n)
    assert result.W.flags.c_contiguous and result.H.flags.c_contiguous
    assert result.beta == 2.0
    assert result.loss == result.loss_history[-1]
    l1_W, l2_W, l1_H, l2_H = penalty_weights(m, n, **options)
    penalties = naive.penalty(result.W, l1_W, l2_W) + naive.penalty(result.H.T, l1_H, l2_H)
    assert_allclose(result.loss, result.data_loss + penalties, rtol=1e-12)
    assert_allclose(result.reconstruction_err, np.linalg.norm(V - result.W @ result.H), rtol=1e-10)
    assert "NMFResult" in repr(result)


# --------------------------------------------------------------------------
# Layouts, determinism, dtypes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("beta", ALL_BETAS)
def test_dense_and_csr_agree_from_same_init(beta, dtype):
    """For beta <= 0 the CSR V stores every entry (no zeros allowed)."""
    dense = data(beta, "dense", dtype, m=15, n=11)
    m, n = dense.shape
    W0, H0 = factors(m, n, 3, dtype)
    options = dict(loss=beta, init=(W0, H0), max_iter=30, tol=0, **PENALTIES["mixed"], **ONE_THREAD)
    from_dense = nmf(dense, 3, **options)
    from_csr = nmf(sp.csr_array(dense), 3, **options)
    rtol = 100 * rtol_for(dtype)
    assert_allclose(from_csr.W, from_dense.W, rtol=rtol, atol=rtol * from_dense.W.max())
    assert_allclose(from_csr.H, from_dense.H, rtol=rtol, atol=rtol * from_dense.H.max())
    atol = kl_zero_clamp_gap(beta, "csr", dense)
    assert_allclose(from_csr.loss_history, from_dense.loss_history, rtol=rtol, atol=atol)
    assert from_csr.W.dtype == from_dense.W.dtype == dtype


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_dense_frobenius_products_by_numba_and_by_blas_agree(solver, dtype, monkeypatch):
    """From r = 4 to 12 a dense Frobenius fit makes V H^T and V^T W by
    Numba's row_dots, above it by BLAS: the same fit either way, to
    rounding."""
    import fastnmf._terms

    dense = data(2.0, "dense", dtype, m=15, n=11)
    W0, H0 = factors(*dense.shape, 6, dtype)
    options = dict(init=(W0, H0), max_iter=30, tol=0, solver=solver)
    assert fastnmf._terms.row_dots_take(min(dense.shape), 6)
    by_numba = nmf(dense, 6, **options)
    monkeypatch.setattr(fastnmf._terms, "ROW_DOTS_MAX_RANK", 0)
    by_blas = nmf(dense, 6, **options)
    rtol = 100 * rtol_for(dtype)
    assert_allclose(by_numba.W, by_blas.W, rtol=rtol, atol=rtol * by_blas.W.max())
    assert_allclose(by_numba.H, by_blas.H, rtol=rtol, atol=rtol * by_blas.H.max())
    assert_allclose(by_numba.loss_history, by_blas.loss_history, rtol=rtol)


@pytest.mark.parametrize(
    "loss, solver, masked",
    [
        ("frobenius", "mu", False),
        ("frobenius", "hals", False),
        ("frobenius", "ehals", False),
        ("kullback-leibler", "mu", False),
        ("kullback-leibler", "mu", True),
    ],
)
def test_fortran_ordered_V_fits_as_its_c_ordered_copy(loss, solver, masked, dtype):
    """A Fortran-ordered V of the working dtype lends its transpose to the
    fit (no copy of V^T), with a dense mask too: the fit is the C-ordered
    copy's, bit for bit, at r = 6 (Numba's products) and 13 (BLAS's), and V
    is unchanged."""
    from fastnmf._problem import build_problem

    V = np.asfortranarray(data(2.0, "dense", dtype, m=15, n=14))
    mask = np.random.default_rng(3).random(V.shape) < 0.7 if masked else None
    before = V.copy(order="F")
    terms = build_problem(V, beta=2.0 if loss == "frobenius" else 1.0, mask=mask).terms
    assert np.shares_memory(terms.Vt, V) and not terms.Vt.flags.writeable
    for r in (6, 13):
        W0, H0 = factors(*V.shape, r, dtype)
        options = dict(loss=loss, init=(W0, H0), max_iter=15, tol=0, solver=solver, mask=mask)
        fortran, c_ordered = nmf(V, r, **options), nmf(np.ascontiguousarray(V), r, **options)
        assert_array_equal(fortran.W, c_ordered.W)
        assert_array_equal(fortran.H, c_ordered.H)
        assert_array_equal(fortran.loss_history, c_ordered.loss_history)
    assert_array_equal(V, before)
    assert V.flags.f_contiguous and V.flags.writeable
    assert build_problem(np.asfortranarray(V.astype(np.float16)), 2.0).terms.Vt is None  # converted: no view
    with pytest.raises(ValueError, match="Vt must be V"):
        type(terms)(np.ascontiguousarray(V), 2.0, Vt=np.ascontiguousarray(V))  # not transposed


def threads_seen(record):
    return lambda iteration, W, H, loss: record.append(numba.get_num_threads())


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler", 1.5])
def test_same_random_state_same_result_any_thread_count(loss, layout):
    """Bit for bit: the kernels split work into chunks that depend on the
    matrix only, never on the number of threads."""
    two_threads_or_skip(2)
    V = large_enough_for_two_threads(layout, loss=loss)
    fits, seen = [], []
    for threads in (1, 1, 2):
        record = []
        options = dict(loss=loss, init="random", random_state=7, max_iter=4, tol=0, **MU)
        fits.append(nmf(V, 4, n_threads=threads, callback=threads_seen(record), **options))
        seen.append(set(record))
    assert seen == [{1}, {1}, {2}]
    for other in fits[1:]:
        assert_array_equal(other.W, fits[0].W, strict=True)
        assert_array_equal(other.H, fits[0].H, strict=True)
        assert_array_equal(other.loss_history, fits[0].loss_history, strict=True)


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler", 0.5])
def test_float32_close_to_float64(loss, layout):
    V64 = data(1.0, layout, np.float64, m=20, n=15)
    V32 = V64.astype(np.float32)
    W0, H0 = factors(20, 15, 3)
    options = dict(loss=loss, max_iter=50, tol=0, **ONE_THREAD)
    fit64 = nmf(V64, 3, init=(W0, H0), **options)
    fit32 = nmf(V32, 3, init=(W0.astype(np.float32), H0.astype(np.float32)), **options)
    assert fit32.W.dtype == fit32.H.dtype == np.float32
    assert fit64.W.dtype == fit64.H.dtype == np.float64
    assert_allclose(fit32.W, fit64.W, rtol=1e-3, atol=1e-4 * fit64.W.max())
    assert_allclose(fit32.H, fit64.H, rtol=1e-3, atol=1e-4 * fit64.H.max())
    assert_allclose(fit32.loss_history, fit64.loss_history, rtol=1e-4)
    assert isinstance(fit32.loss, float)


@pytest.mark.parametrize("solver", ["mu", "hals"])
@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_float32_frobenius_objective_is_that_of_its_factors_in_float64(layout, solver):
    """The Frobenius objective of a float32 fit, from Gram matrices made in
    float64 (by the kernel that widens blocks of rows, for a W of 1,400 x 10),
    is 0.5 ||V - W H||^2 of the returned factors computed in float64, up to
    the rounding of its cross term <W, V H^T>, whose V H^T is the update's
    float32 product: float32's epsilon times 0.5 ||V||^2 (the rounding
    ExtrapolatedHALSSteps.rise_margin allows for). Measured: 0.5e-9 to
    2e-9 of the objective, at most 0.3% of that bound."""
    V = data(1.0, layout, np.float32, m=1400, n=12)
    W0, H0 = factors(1400, 12, 10, np.float32)
    result = nmf(V, 10, init=(W0, H0), max_iter=3, tol=0, **dict(ONE_THREAD, solver=solver))
    assert result.W.dtype == np.float32
    V64 = as_dense(V).astype(np.float64)
    rounding = float(np.finfo(np.float32).eps) * 0.5 * float(np.sum(V64 * V64))
    assert_allclose(result.loss, naive.objective(V64, result.W, result.H, 2.0), rtol=0, atol=rounding)


@pytest.mark.parametrize("dtype_in", [np.int64, np.int32, np.uint8, np.bool_, np.float16])
@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_other_real_dtypes_become_float64(dtype_in, layout):
    if layout == "csr" and dtype_in == np.float16:
        pytest.skip("scipy.sparse has no float16")
    V = (data(1.0, "dense") * 3).astype(dtype_in)
    if layout == "csr":
        V = sp.csr_array(V)
    result = nmf(V, 2, random_state=0, max_iter=5, tol=0, **ONE_THREAD)
    assert result.W.dtype == result.H.dtype == np.float64


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("beta", [2.0, 1.0, 0.0, 0.5, 1.5])
def test_exact_low_rank_data_is_recovered(beta, layout):
    """Strictly positive rank-3 V = W H: a rank-3 fit drives the relative
    error to the 1e-4 range (measured 1e-7..1e-10 at 2000 iterations)."""
    rng = np.random.default_rng(0)
    W, H = rng.random((20, 3)) + 0.1, rng.random((3, 15)) + 0.1
    V = W @ H
    X = sp.csr_array(V) if layout == "csr" else V
    result = nmf(X, 3, loss=beta, init="random", random_state=0, max_iter=1000, tol=0, **ONE_THREAD)
    relative_error = np.linalg.norm(V - result.W @ result.H) / np.linalg.norm(V)
    assert relative_error < 1e-3
    assert result.loss < 1e-4 * result.loss_history[0]


def test_exact_fit_stops_at_once():
    """V = W0 H0 exactly: the objective is already zero (Frobenius)."""
    W0, H0 = factors(6, 5, 2)
    result = nmf(W0 @ H0, 2, init=(W0, H0), **ONE_THREAD)
    assert result.n_iter == 0 and result.converged and result.loss == 0.0


# --------------------------------------------------------------------------
# Iteration control
# --------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_max_iter_zero_returns_the_init(layout, dtype):
    V = data(1.0, layout, dtype)
    W0, H0 = factors(*V.shape, 3, dtype)
    result = nmf(V, 3, init=(W0, H0), max_iter=0, **ONE_THREAD)
    assert_array_equal(result.W, W0, strict=True)
    assert_array_equal(result.H, H0, strict=True)
    assert result.n_iter == 0 and not result.converged
    assert_array_equal(result.loss_iterations, [0])
    assert len(result.loss_history) == 1
    assert not np.shares_memory(result.W, W0) and not np.shares_memory(result.H, H0)


@pytest.mark.parametrize("max_iter", [1, 7, 25])
def test_tol_zero_runs_exactly_max_iter(max_iter):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tol=0 asks for max_iter iterations: no ConvergenceWarning
        result = nmf(data(1.0), 3, loss=1.0, random_state=0, max_iter=max_iter, tol=0, **ONE_THREAD)
    assert result.n_iter == max_iter
    assert_array_equal(result.loss_iterations, sorted({*range(0, max_iter, 10), max_iter}))
    assert len(result.loss_history) == len(result.loss_iterations)
    assert not result.converged


def test_stopping_rule_is_the_documented_one():
    """Every 10 iterations, stop when (E_{t-10} - E_t) / E_0 < tol with
    E_t = sqrt(2 objective_t); not before."""
    tol = 1e-3
    result = nmf(data(1.0), 3, loss=1.0, random_state=0, max_iter=1000, tol=tol, **ONE_THREAD)
    assert result.converged and result.n_iter < 1000 and result.n_iter % 10 == 0
    assert_array_equal(result.loss_iterations, np.arange(0, result.n_iter + 1, 10))
    E = np.sqrt(2 * result.loss_history)
    drops = (E[:-1] - E[1:]) / E[0]
    assert drops[-1] < tol
    assert (drops[:-1] >= tol).all()


def test_max_iter_reached_warns():
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        result = nmf(data(1.0), 3, random_state=0, max_iter=3, tol=1e-12, **ONE_THREAD)
    assert result.n_iter == 3 and not result.converged


def test_callback_sees_every_iteration_and_can_stop():
    V = data(1.0)
    calls = []

    def record(iteration, W, H, loss):
        assert W.shape == (V.shape[0], 3) and H.shape == (3, V.shape[1])
        with pytest.raises(ValueError, match="read-only"):
            W[0, 0] = 1.0
        calls.append((iteration, loss, np.array(W), np.array(H)))
        return iteration == 4

    result = nmf(V, 3, loss=1.0, random_state=0, max_iter=50, tol=0, callback=record, **ONE_THREAD)
    assert [c[0] for c in calls] == [1, 2, 3, 4]
    assert result.n_iter == 4 and not result.converged
    assert_array_equal(result.loss_iterations, [0, 1, 2, 3, 4])
    assert_array_equal([c[1] for c in calls], result.loss_history[1:])
    assert_array_equal(calls[-1][2], result.W)
    assert_array_equal(calls[-1][3], result.H)


def test_callback_returning_none_does_not_stop():
    seen = []
    result = nmf(data(1.0), 2, max_iter=5, tol=0, callback=lambda *args: seen.append(args[0]), **ONE_THREAD)
    assert seen == [1, 2, 3, 4, 5] and result.n_iter == 5


def test_verbose_prints_progress(capsys):
    nmf(data(1.0), 2, max_iter=20, tol=0, verbose=True, **ONE_THREAD)
    lines = [line for line in capsys.readouterr().out.splitlines() if "iteration" in line]
    assert len(lines) == 3  # iterations 0, 10, 20


# --------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------


def test_dense_frobenius_mu_threads_follow_its_products():
    """Above r = 12 dense Frobenius MU leaves its products to BLAS and its
    kernels only update the factors, so the work that asks for threads is
    max(m, n) r, not m n r; up to r = 12 Numba makes its products
    (row_dots), m n r multiply-adds, as the other losses' kernels do."""
    two_threads_or_skip(2)
    V = large_enough_for_two_threads("dense")
    seen = {}
    for loss, r in (("frobenius", 13), ("frobenius", 4), ("kullback-leibler", 13)):
        record = []
        nmf(V, r, loss=loss, init="random", max_iter=1, tol=0, n_threads=2, callback=threads_seen(record), **MU)
        seen[loss, r] = set(record)
    assert seen == {("frobenius", 13): {1}, ("frobenius", 4): {2}, ("kullback-leibler", 13): {2}}


def test_n_threads_applies_and_is_restored():
    two_threads_or_skip(2)
    V = large_enough_for_two_threads("dense")
    seen = []
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        options = dict(loss="kullback-leibler", init="random", tol=0, **MU)
        nmf(V, 4, max_iter=2, n_threads=2, callback=threads_seen(seen), **options)
        assert numba.get_num_threads() == 1
        nmf(V, 4, max_iter=1, callback=threads_seen(seen), **options)  # default: all threads
        assert numba.get_num_threads() == 1
        nmf(data(1.0), 2, max_iter=1, n_threads=2, callback=threads_seen(seen), **options)  # small: 1 is enough
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(previous)
    assert seen == [2, 2, MAX_THREADS, 1]


def test_n_threads_restored_when_the_fit_raises():
    previous = numba.get_num_threads()

    def fail(*args):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        nmf(data(1.0), 2, max_iter=3, n_threads=1, callback=fail)
    assert numba.get_num_threads() == previous


# --------------------------------------------------------------------------
# scikit-learn
# --------------------------------------------------------------------------


SKLEARN_PENALTIES = {
    "none": dict(alpha_W=0.0, alpha_H="same", l1_ratio=0.0),
    "l1": dict(alpha_W=0.01, alpha_H="same", l1_ratio=1.0),
    "l2": dict(alpha_W=0.01, alpha_H="same", l1_ratio=0.0),
    "mixed": dict(alpha_W=0.01, alpha_H=0.03, l1_ratio=0.3),
}


@pytest.mark.parametrize("penalty", list(SKLEARN_PENALTIES))
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler", 1.5, 0.5])
def test_equals_sklearn_mu_from_same_init(loss, layout, penalty, dtype):
    decomposition = pytest.importorskip("sklearn.decomposition")
    V = data(1.0, layout, dtype, m=14, n=10)
    W0, H0 = factors(*V.shape, 3, dtype)
    options = SKLEARN_PENALTIES[penalty]
    model = decomposition.NMF(3, solver="mu", beta_loss=loss, init="custom", max_iter=40, tol=0, **options)
    W_sklearn = model.fit_transform(V, W=W0.copy(), H=H0.copy())
    result = nmf(V, 3, loss=loss, init=(W0, H0), max_iter=40, tol=0, **options, **ONE_THREAD)
    rtol = 1e-9 if dtype == np.float64 else 1e-3
    assert result.W.dtype == W_sklearn.dtype
    assert_allclose(result.W, W_sklearn, rtol=rtol, atol=rtol * W_sklearn.max())
    assert_allclose(result.H, model.components_, rtol=rtol, atol=rtol * model.components_.max())
    assert result.n_iter == model.n_iter_


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler", 1.5, 0.5])
def test_reconstruction_err_equals_sklearn_on_positive_fit(loss, layout):
    """Where W H stays above eps, the objectives agree exactly."""
    decomposition = pytest.importorskip("sklearn.decomposition")
    V = data(0.0, layout, m=14, n=10)  # strictly positive
    W0, H0 = factors(*V.shape, 3)
    model = decomposition.NMF(3, solver="mu", beta_loss=loss, init="custom", max_iter=5, tol=0)
    model.fit_transform(V, W=W0.copy(), H=H0.copy())
    result = nmf(V, 3, loss=loss, init=(W0, H0), max_iter=5, tol=0, **ONE_THREAD)
    assert (result.W @ result.H).min() > 1e-3
    assert_allclose(result.reconstruction_err, model.reconstruction_err_, rtol=1e-10)


@pytest.mark.parametrize(
    "loss, layout",
    [
        ("kullback-leibler", "dense"),
        ("kullback-leibler", "csr"),
        (0.5, "dense"),
        (0.5, "csr"),
    ],
)
def test_objective_of_exact_fit_with_zeros_is_zero(loss, layout):
    identity = np.eye(2)
    V = sp.csr_array(identity) if layout == "csr" else identity
    result = nmf(V, 2, loss=loss, init=(identity, identity), max_iter=0, **ONE_THREAD)
    assert result.loss == 0.0  # scikit-learn's _beta_divergence(I, I, I, beta) is 0 as well
