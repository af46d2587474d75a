"""fastnmf.nmf on data at the edges: zero rows, columns and matrices, data
far from scale 1 (the default start, the epsilon below which W H is clamped,
subnormal factors), and no NaN or Inf coming out of any of them.

Fits run with one Numba thread, as in test_nmf.py.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from conftest import ALL_BETAS, ONE_THREAD, POSITIVE_BETAS, data
import fastnmf
from fastnmf import nmf


@pytest.mark.parametrize("init", ["random", "nndsvd", "nndsvda", "nndsvdar"])
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("beta", POSITIVE_BETAS + [0.2])
def test_zero_rows_and_columns_give_finite_nonnegative_factors(beta, layout, init):
    V = data(beta, layout, m=10, n=8)  # row 1 and column 2 are zero
    result = nmf(V, 3, loss=beta, init=init, random_state=0, max_iter=60, tol=0, **ONE_THREAD)
    for F in (result.W, result.H):
        assert np.isfinite(F).all()
        assert (F >= 0).all()
    assert np.isfinite(result.loss_history).all()
    # The zero row and column are fitted by (near) zeros.
    assert np.abs((result.W @ result.H)[1]).max() < 1e-3
    assert np.abs((result.W @ result.H)[:, 2]).max() < 1e-3


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("beta", POSITIVE_BETAS)
def test_all_zero_V(beta, layout):
    V = np.zeros((4, 3))
    result = nmf(sp.csr_array(V) if layout == "csr" else V, 2, loss=beta, random_state=0, max_iter=20, **ONE_THREAD)
    assert_array_equal(result.W @ result.H, 0.0)
    assert np.isfinite(result.loss_history).all()


@pytest.mark.parametrize("beta", ALL_BETAS)
def test_tiny_and_huge_values_stay_finite(beta):
    """Scale invariance in practice: data around 1e-30 and 1e30 fit
    without NaN, Inf or negative entries (float64)."""
    base = data(beta, "dense", m=8, n=6) + (0.1 if beta > 0 else 0.0)
    for scale in (1e-30, 1e30):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "V's largest entry", UserWarning)  # 1e-30 and beta < 2: below EPS
            result = nmf(base * scale, 2, loss=beta, random_state=0, max_iter=40, tol=0, **ONE_THREAD)
        assert np.isfinite(result.W).all() and np.isfinite(result.H).all()
        assert (result.W >= 0).all() and (result.H >= 0).all()
        assert np.isfinite(result.loss_history).all()


@pytest.mark.parametrize("solver", ["mu", "hals"])
@pytest.mark.parametrize(
    "dtype, scale", [(np.float64, 1e80), (np.float64, 1e-155), (np.float32, 1e15), (np.float32, 1e-20)]
)
def test_default_start_fits_data_of_any_scale(dtype, scale, solver):
    """Data far from 1 but well inside its dtype's range, from the default
    start (NNDSVDa): as good a fit as at scale 1. With scikit-learn's absolute
    fill and threshold, W H started about scale^2 (1e160: its squares
    overflow float64) or every entry below the threshold; then the fit
    overflowed, or HALS divided by a subnormal G[k, k] (NaN)."""
    V = np.random.default_rng(0).random((12, 9))
    unit = nmf(V, 2, solver=solver, random_state=0, max_iter=100, tol=0, n_threads=1)
    result = nmf((V * scale).astype(dtype), 2, solver=solver, random_state=0, max_iter=100, tol=0, n_threads=1)
    assert np.isfinite(result.W).all() and np.isfinite(result.H).all()
    error = np.linalg.norm(V - (result.W.astype(np.float64) / np.sqrt(scale)) @ (result.H / np.sqrt(scale)))
    assert error <= 1.01 * np.linalg.norm(V - unit.W @ unit.H)


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_data_below_eps_warns_for_beta_below_two(layout):
    """Every entry below EPS, where W H is clamped for beta < 2: the fit
    stops at once near W H = 0, looking converged, so nmf and transform say
    why. Not for Frobenius (no clamp) nor for data above EPS."""
    V = np.random.default_rng(0).random((30, 20)) + 0.1
    small = sp.csr_array(V * 1e-8) if layout == "csr" else V * 1e-8
    with pytest.warns(UserWarning, match=r"V's largest entry 1\.1e-08 is below 1\.19e-07, .* beta = 1 < 2"):
        result = nmf(small, 3, loss="kullback-leibler", random_state=0, **ONE_THREAD)
    assert np.linalg.norm(result.W @ result.H) < 1e-3 * np.linalg.norm(V * 1e-8)  # what the warning is about
    with pytest.warns(UserWarning, match="below 1.19e-07"):
        fastnmf.transform(small, result.H, loss=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nmf(small, 3, loss="frobenius", random_state=0, max_iter=300, n_threads=1)
        nmf(V * 1e-6, 3, loss="kullback-leibler", random_state=0, max_iter=400, **ONE_THREAD)


@pytest.mark.parametrize("mask", [None, "observed"])
def test_all_zero_sparse_V_beyond_the_gram_svd(mask):
    """An all-zero sparse V large enough for ARPACK (which cannot start on
    it): zero factors, as for dense V, also with stored zeros observed."""
    zeros = sp.csr_array((np.zeros(5), (np.arange(5), np.arange(5))), shape=(30, 20))
    result = nmf(zeros, 2, mask=mask, random_state=0, max_iter=20, **ONE_THREAD)
    assert_array_equal(result.W @ result.H, 0.0)
    assert result.loss == 0.0


def test_float32_underflow_does_not_give_nan():
    """scikit-learn's underflow regression, in float32: tiny values must not
    turn into NaN or subnormal-slow garbage."""
    rng = np.random.default_rng(0)
    V = (rng.random((10, 8)) * 1e-30).astype(np.float32)
    for loss in ("frobenius", "kullback-leibler", 0.5):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "V's largest entry", UserWarning)  # below EPS for beta < 2
            result = nmf(V, 3, loss=loss, init="random", random_state=0, max_iter=30, tol=0, **ONE_THREAD)
        assert np.isfinite(result.W).all() and np.isfinite(result.H).all()
