"""Initializations: random and NNDSVD / NNDSVDa / NNDSVDar (Boutsidis &
Gallopoulos 2008), through the public ``nmf(..., max_iter=0)``, which
returns the initial factors, and the SVD helpers of fastnmf._init."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from conftest import random_sparse
from fastnmf import _problem, nmf
from fastnmf._init import NNDSVD_PLAIN_MEANS, NNDSVD_ZERO, nndsvd_scale, truncated_svd

INITS = ["random", "nndsvd", "nndsvda", "nndsvdar"]
NNDSVDS = ["nndsvd", "nndsvda", "nndsvdar"]


def initial(V, r, init=None, random_state=0):
    """The initial (W, H) fastnmf starts from."""
    result = nmf(V, r, init=init, random_state=random_state, max_iter=0, n_threads=1)
    return result.W, result.H


def sample(layout="dense", dtype=np.float64, m=30, n=20, seed=0):
    """Non-negative data with zeros and well-separated singular values."""
    rng = np.random.default_rng(seed)
    X = random_sparse(m, n, 0.4, rng, np.float64).toarray()
    X[:, :4] *= np.array([8.0, 4.0, 2.0, 1.0])  # spread the leading singular values apart
    X = X.astype(dtype)
    return sp.csr_array(X) if layout == "csr" else X


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("init", INITS)
def test_inits_are_nonnegative_finite_deterministic_and_typed(init, layout, dtype):
    V = sample(layout, dtype)
    W, H = initial(V, 4, init, random_state=3)
    W_again, H_again = initial(V, 4, init, random_state=3)
    assert W.dtype == H.dtype == dtype
    assert W.shape == (30, 4) and H.shape == (4, 20)
    assert np.isfinite(W).all() and np.isfinite(H).all()
    assert (W >= 0).all() and (H >= 0).all()
    assert_array_equal(W, W_again, strict=True)
    assert_array_equal(H, H_again, strict=True)
    if init in ("nndsvda", "nndsvdar", "random"):
        assert (W > 0).sum() > 0.9 * W.size  # zeros are filled in


@pytest.mark.parametrize("init", ["random", "nndsvdar"])
def test_seeded_inits_change_with_the_seed(init):
    V = sample()
    assert not np.array_equal(initial(V, 4, init, 0)[0], initial(V, 4, init, 1)[0])


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("init", INITS)
def test_generator_and_int_seed_agree(init, layout):
    V = sample(layout)
    W_int, H_int = initial(V, 3, init, random_state=5)
    W_gen, H_gen = initial(V, 3, init, random_state=np.random.default_rng(5))
    assert_array_equal(W_int, W_gen)
    assert_array_equal(H_int, H_gen)


def test_init_leaves_numpy_global_random_state_alone():
    state = np.random.get_state()[1].copy()
    for init in INITS:
        initial(sample("csr"), 3, init, random_state=1)
    assert_array_equal(np.random.get_state()[1], state)


def test_random_init_scale():
    """W, H = sqrt(mean(V) / r) |N(0, 1)|, so that W H has V's scale:
    E[(W H)_ij] = (2 / pi) mean(V)."""
    V = np.random.default_rng(0).random((200, 150)) * 10
    W, H = initial(V, 5, "random")
    assert_allclose((W @ H).mean(), 2 / np.pi * V.mean(), rtol=0.1)


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_mean_is_computed_only_when_an_init_asks_for_it(layout, monkeypatch):
    """A fit from the caller's W and H never computes the mean of V (for a
    dense V, a pass over every entry); it is the mean of all m x n entries,
    implicit zeros included, once asked for."""
    V = sample(layout)
    dense = V.toarray() if sp.issparse(V) else V
    assert _problem.build_problem(V, 2.0).mean == pytest.approx(dense.mean(), rel=1e-15)

    def refuse(X):
        raise AssertionError("the mean of V was computed")

    monkeypatch.setattr(_problem, "_sparse_mean" if sp.issparse(V) else "_dense_mean", refuse)
    nmf(V, 3, init=(np.ones((30, 3)), np.ones((3, 20))), max_iter=2, tol=0, n_threads=1)
    with pytest.raises(AssertionError, match="mean of V"):
        nmf(V, 3, init="random", max_iter=2, tol=0, n_threads=1)


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("r", [1, 2])
def test_nndsvd_reproduces_a_rank_one_matrix(r, layout):
    rng = np.random.default_rng(0)
    u, v = rng.random(7) + 0.1, rng.random(5) + 0.1
    V = np.outer(u, v)
    W, H = initial(sp.csr_array(V) if layout == "csr" else V, r, "nndsvd")
    assert_allclose(W @ H, V, rtol=1e-12)
    # The leading pair is sqrt(s) |u1| and sqrt(s) |v1|: proportional to u and v.
    assert_allclose(W[:, 0] / W[0, 0], u / u[0], rtol=1e-12)
    assert_allclose(H[0] / H[0, 0], v / v[0], rtol=1e-12)
    if r == 2:
        assert_array_equal(W[:, 1], 0.0)  # the second singular value is 0


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_nndsvda_and_nndsvdar_fill_only_the_zeros_of_nndsvd(layout):
    V = sample(layout)
    mean = float(V.mean())
    W, H = initial(V, 4, "nndsvd")
    assert (W == 0).any() and (H == 0).any()
    assert W[W > 0].min() >= NNDSVD_ZERO and H[H > 0].min() >= NNDSVD_ZERO
    W_a, H_a = initial(V, 4, "nndsvda")
    assert_array_equal(W_a[W > 0], W[W > 0])
    assert_array_equal(H_a[H > 0], H[H > 0])
    assert_allclose(W_a[W == 0], mean, rtol=1e-12)
    assert_allclose(H_a[H == 0], mean, rtol=1e-12)
    W_ar, H_ar = initial(V, 4, "nndsvdar")
    assert_array_equal(W_ar[W > 0], W[W > 0])
    assert_array_equal(H_ar[H > 0], H[H > 0])
    filled = np.concatenate([W_ar[W == 0], H_ar[H == 0]])
    assert (filled >= 0).all() and filled.max() < mean  # |mean * N(0, 1) / 100|
    assert len(np.unique(filled)) > 1


@pytest.mark.parametrize("r", [3, 4, 18, 19, 20], ids=lambda r: f"r={r}")
@pytest.mark.parametrize("shape", [(30, 20), (20, 30)], ids=["tall", "wide"])
def test_dense_and_sparse_nndsvd_agree(shape, r):
    """Dense data gets LAPACK's SVD, sparse data ARPACK (r < min(m, n) - 1)
    or the Gram matrix (r >= min(m, n) - 1); NNDSVD does not depend on the
    singular vectors' signs, so the results agree."""
    dense = sample(m=shape[0], n=shape[1])
    if shape[0] < shape[1]:
        dense = sample(m=shape[1], n=shape[0]).T.copy()
    W_dense, H_dense = initial(dense, r, "nndsvd")
    W_sparse, H_sparse = initial(sp.csr_array(dense), r, "nndsvd")
    # Trailing singular values are close together: compare the product of
    # well-separated leading components tightly, all of them loosely.
    lead = 3
    assert_allclose(W_sparse[:, :lead], W_dense[:, :lead], atol=1e-8 * W_dense.max())
    assert_allclose(H_sparse[:lead], H_dense[:lead], atol=1e-8 * H_dense.max())
    assert_allclose(W_sparse @ H_sparse, W_dense @ H_dense, atol=1e-6 * np.abs(dense).max() * r)


def test_float32_init_is_the_float64_init_rounded():
    V64 = np.round(sample() * 8)  # exactly representable in float32
    for init in INITS:
        W64, H64 = initial(V64, 4, init, random_state=2)
        W32, H32 = initial(V64.astype(np.float32), 4, init, random_state=2)
        assert W32.dtype == np.float32
        assert_array_equal(W32, W64.astype(np.float32), err_msg=init)
        assert_array_equal(H32, H64.astype(np.float32), err_msg=init)


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("init", NNDSVDS)
def test_nndsvd_needs_r_at_most_min_shape(init, layout):
    V = sample(layout, m=6, n=4)
    with pytest.raises(ValueError, match=rf"init='{init}' needs r <= min\(m, n\) = 4; got r=5\. Use init='random'"):
        initial(V, 5, init)
    W, H = initial(V, 4, init)  # r = min(m, n) is fine
    assert np.isfinite(W).all()


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_default_init_follows_sklearn_rule(layout):
    """None means "nndsvda" when r <= min(m, n), else "random"."""
    V = sample(layout, m=6, n=4)
    for r in (1, 3, 4):
        for default, explicit in zip(initial(V, r, None, 7), initial(V, r, "nndsvda", 7), strict=True):
            assert_array_equal(default, explicit)
    for r in (5, 9):
        for default, explicit in zip(initial(V, r, None, 7), initial(V, r, "random", 7), strict=True):
            assert_array_equal(default, explicit)


@pytest.mark.parametrize("init", [None, "nndsvd", "nndsvda"])
def test_nndsvd_matches_sklearn(init):
    """scikit-learn's NNDSVD (its private ``_initialize_nmf``; skipped if it
    moves) gives the same factors, up to its randomized SVD's accuracy; with
    init=None both pick NNDSVDa for r <= min(m, n)."""
    pytest.importorskip("sklearn")
    nmf_module = pytest.importorskip("sklearn.decomposition._nmf")
    initialize_nmf = getattr(nmf_module, "_initialize_nmf", None)
    if initialize_nmf is None:
        pytest.skip("sklearn.decomposition._nmf._initialize_nmf is gone")
    V = sample(m=12, n=9)
    for r in (1, 3, 9):
        W_sklearn, H_sklearn = initialize_nmf(V, r, init=init, random_state=0)
        W, H = initial(V, r, init)
        assert_allclose(W, W_sklearn, atol=1e-7 * W.max(), err_msg=f"r={r}")
        assert_allclose(H, H_sklearn, atol=1e-7 * H.max(), err_msg=f"r={r}")


def test_nndsvd_scale_is_one_for_moderate_data_and_a_power_of_two_beyond():
    low, high = NNDSVD_PLAIN_MEANS
    for mean in (0.0, low, 1e-3, 1.0, 37.5, high):
        assert nndsvd_scale(mean) == 1.0
    assert nndsvd_scale(4.0**20) == 2.0**20
    assert nndsvd_scale(3 * 4.0**-20) == 2.0**-19  # the power of two whose square is nearest
    assert nndsvd_scale(4.0**20 * 1.4) == 2.0**20


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("init", NNDSVDS)
@pytest.mark.parametrize("exponent", [-40, 40])
def test_nndsvd_follows_the_data_scale_beyond_moderate_means(init, layout, exponent):
    """Beyond NNDSVD_PLAIN_MEANS, NNDSVD of c V is sqrt(c) times NNDSVD of V
    (c a power of four): the zero threshold and the fill follow the data, so
    neither zeroes every entry of small data nor makes W H overflow on large
    data."""
    V = sample(layout)
    W, H = initial(V * 4.0**exponent, 4, init)
    W_scaled, H_scaled = initial(V * 4.0 ** (exponent + 1), 4, init)
    assert_allclose(W_scaled, 2 * W, rtol=1e-9)
    assert_allclose(H_scaled, 2 * H, rtol=1e-9)
    assert (W > 0).any() and (H > 0).any()


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("init", INITS)
def test_all_zero_data_starts_from_zero_or_small_factors(init, layout):
    """An all-zero V: no ARPACK failure on sparse input (it cannot start on
    X = 0); the same start as a dense zero V."""
    V = np.zeros((30, 20))
    W, H = initial(sp.csr_array(V) if layout == "csr" else V, 4, init)
    W_dense, H_dense = initial(V, 4, init)
    assert_array_equal(W, W_dense)
    assert_array_equal(H, H_dense)
    assert np.isfinite(W).all() and (W >= 0).all()


# --------------------------------------------------------------------------
# The SVD behind NNDSVD
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(8, 5), (5, 8), (6, 6)], ids=["tall", "wide", "square"])
@pytest.mark.parametrize("offset", [1, 0], ids=["r=min-1", "r=min"])
def test_svd_from_gram_for_sparse_input(shape, offset):
    """r >= min(m, n) - 1 is beyond ARPACK: the singular triplets come from
    the small Gram matrix instead, and must equal LAPACK's."""
    rng = np.random.default_rng(4)
    X = random_sparse(*shape, 0.6, rng)
    r = min(shape) - offset
    U, S, Vt = truncated_svd(X, r, np.random.default_rng(0))
    U_ref, S_ref, Vt_ref = np.linalg.svd(X.toarray(), full_matrices=False)
    assert U.shape == (shape[0], r) and S.shape == (r,) and Vt.shape == (r, shape[1])
    assert_allclose(S, S_ref[:r], rtol=1e-10, atol=1e-12)
    assert (np.diff(S) <= 0).all()
    # Singular vectors up to sign: compare the rank-one pieces s u v^T.
    for k in range(r):
        assert_allclose(S[k] * np.outer(U[:, k], Vt[k]), S_ref[k] * np.outer(U_ref[:, k], Vt_ref[k]), atol=1e-9)
    if offset == 0:
        assert_allclose((U * S) @ Vt, X.toarray(), atol=1e-10)
    W, H = initial(X, r, "nndsvd")
    W_dense, H_dense = initial(X.toarray(), r, "nndsvd")
    assert (W >= 0).all() and (H >= 0).all()
    assert_allclose(W @ H, W_dense @ H_dense, atol=1e-9)


def test_svd_from_gram_with_rank_deficient_sparse_input():
    """Zero singular values give zero singular vectors, not NaN."""
    X = sp.csr_array(np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 0.0], [3.0, 6.0, 0.0]]))
    U, S, Vt = truncated_svd(X, 3, np.random.default_rng(0))
    assert np.isfinite(U).all() and np.isfinite(Vt).all()
    assert_allclose(S[1:], 0.0, atol=1e-7)
    W, H = initial(X, 3, "nndsvd")
    assert np.isfinite(W).all() and np.isfinite(H).all()
    assert_allclose(W @ H, X.toarray(), atol=1e-7)


@pytest.mark.parametrize("seed", [0, 1])
def test_sparse_arpack_svd_is_deterministic_per_seed(seed):
    X = sample("csr", m=40, n=30)
    first = truncated_svd(X, 4, np.random.default_rng(seed))
    second = truncated_svd(X, 4, np.random.default_rng(seed))
    for a, b in zip(first, second, strict=True):
        assert_array_equal(a, b)
    S_ref = np.linalg.svd(X.toarray(), compute_uv=False)[:4]
    assert_allclose(first[1], S_ref, rtol=1e-8)
