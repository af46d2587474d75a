"""Masked (weighted) NMF: the masked layouts against the weighted NumPy twins
in naive.py, the properties a mask must have, and the errors for bad masks.

Layouts (how V and the mask are passed; see fastnmf._problem):

- ``dense-bool``: dense V with NaN where not observed, a boolean mask;
- ``dense-weights``: dense V with NaN where the weight is 0, dense weights;
- ``sparse-mask``: dense V with NaN where not observed, a CSR mask of weights;
- ``sparse-V-sparse-mask``: CSR V storing more than the mask, a CSR mask;
- ``sparse-V-dense-mask``: CSR V storing more than the mask, dense weights;
- ``observed``: CSR V and ``mask="observed"`` (its stored entries).

Every case leaves one row and one column with nothing observed.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import naive
from conftest import BETAS, MU, rtol_for
from fastnmf import nmf, transform
from fastnmf._problem import build_problem

LAYOUTS = ["dense-bool", "dense-weights", "sparse-mask", "sparse-V-sparse-mask", "sparse-V-dense-mask", "observed"]
SHAPE = (7, 6)
RANK = 3
EMPTY_ROW, EMPTY_COL = 2, 4
WEIGHTS = np.array([0.5, 1.0, 2.0, 3.0])


def make_case(layout, dtype, seed=0):
    """``(V, mask, V_ref, M_ref)``: what is passed to nmf, and the dense
    float64 data (NaN where unobserved) and weights the twins see."""
    rng = np.random.default_rng(seed)
    m, n = SHAPE
    values = 0.5 + rng.random((m, n))
    observed = rng.random((m, n)) < 0.6
    observed[EMPTY_ROW] = False
    observed[:, EMPTY_COL] = False
    weighted = layout not in ("dense-bool", "observed")
    weights = observed * rng.choice(WEIGHTS, size=(m, n)) if weighted else observed.astype(np.float64)
    V_ref = np.where(observed, values, np.nan)
    # Entries a sparse V stores outside the mask: never to be read.
    extra = ~observed & (rng.random((m, n)) < 0.5)
    stored = np.where(observed | extra, values, 0.0).astype(dtype)
    if layout == "dense-bool":
        V, mask = V_ref.astype(dtype), observed
    elif layout == "dense-weights":
        V, mask = V_ref.astype(dtype), weights
    elif layout == "sparse-mask":
        V, mask = V_ref.astype(dtype), sp.csr_array(weights)
    elif layout == "sparse-V-sparse-mask":
        V, mask = sp.csr_array(stored), sp.csr_array(weights)
    elif layout == "sparse-V-dense-mask":
        V, mask = sp.csr_array(stored), weights
    elif layout == "observed":
        V, mask = sp.csr_array(np.where(observed, values, 0.0).astype(dtype)), "observed"
    else:
        raise AssertionError(layout)
    return V, mask, V_ref.astype(dtype).astype(np.float64), weights


def initial_factors(dtype, seed=1):
    rng = np.random.default_rng(seed)
    m, n = SHAPE
    return (rng.random((m, RANK)) + 0.1).astype(dtype), (rng.random((RANK, n)) + 0.1).astype(dtype)


def naive_fit(V, M, W0, H0, beta, n_iter, penalties=(0.0, 0.0, 0.0, 0.0)):
    """n_iter weighted MU iterations of the twins; returns (W, H, history)."""
    W, H = W0.astype(np.float64), H0.astype(np.float64)
    history = [naive.objective(V, W, H, beta, M, *penalties)]
    for _ in range(n_iter):
        W, H = naive.mu_iteration(V, W, H, beta, M, *penalties)
        history.append(naive.objective(V, W, H, beta, M, *penalties))
    return W, H, np.array(history)


def assert_close(comp, ref, dtype):
    rtol = rtol_for(dtype)
    ref = np.asarray(ref, dtype=np.float64)
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    assert_allclose(np.asarray(comp, dtype=np.float64), ref, rtol=rtol, atol=rtol * scale)


# --------------------------------------------------------------------------
# Against the twins
# --------------------------------------------------------------------------


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_masked_terms_match_naive(layout, beta, dtype):
    """Numerator, denominator and objective of the W and H updates."""
    V, mask, V_ref, M_ref = make_case(layout, dtype)
    W, H = initial_factors(dtype)
    terms = build_problem(V, beta, mask).terms
    num, den, loss = terms.w_terms(W, np.ascontiguousarray(H.T), with_loss=True)
    ref_num, ref_den = naive.update_terms_W(V_ref, W, H, beta, M_ref)
    assert num.dtype == dtype and den.dtype == dtype
    assert_close(num, ref_num, dtype)
    assert_close(np.broadcast_to(den, ref_den.shape), ref_den, dtype)
    assert_allclose(loss, naive.beta_divergence(V_ref, W, H, beta, M_ref), rtol=rtol_for(dtype))
    num_H, den_H = terms.h_terms(W, np.ascontiguousarray(H.T))
    ref_num_H, ref_den_H = naive.update_terms_W(V_ref.T, H.T, W.T, beta, M_ref.T)
    assert_close(num_H, ref_num_H, dtype)
    assert_close(np.broadcast_to(den_H, ref_den_H.shape), ref_den_H, dtype)


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_masked_fit_matches_naive_weighted_mu(layout, beta, dtype, n_threads):
    V, mask, V_ref, M_ref = make_case(layout, dtype)
    W0, H0 = initial_factors(dtype)
    result = nmf(V, RANK, loss=beta, mask=mask, init=(W0, H0), max_iter=3, tol=0, **MU)
    W, H, history = naive_fit(V_ref, M_ref, W0, H0, beta, n_iter=3)
    assert result.W.dtype == dtype and result.H.dtype == dtype
    assert_close(result.W, W, dtype)
    assert_close(result.H, H, dtype)
    assert_allclose(result.loss_history, history[result.loss_iterations], rtol=5 * rtol_for(dtype))


@pytest.mark.parametrize("scale", ["shape", "observed"])
@pytest.mark.parametrize("beta", [2.0, 1.0, 0.0])
@pytest.mark.parametrize("layout", ["dense-weights", "observed"])
def test_masked_regularization_matches_naive(layout, beta, scale, dtype):
    """Penalties scale by n and m ("shape") or by each row's and column's
    number of observed entries ("observed"; weights do not count)."""
    V, mask, V_ref, M_ref = make_case(layout, dtype)
    W0, H0 = initial_factors(dtype)
    alpha_W, alpha_H, l1_ratio = 0.05, 0.02, 0.3
    result = nmf(
        V, RANK, loss=beta, mask=mask, init=(W0, H0), max_iter=3, tol=0, alpha_W=alpha_W, alpha_H=alpha_H,
        l1_ratio=l1_ratio, regularization_scale=scale, **MU,
    )  # fmt: skip
    m, n = SHAPE
    if scale == "observed":
        rows, cols = (M_ref > 0).sum(axis=1), (M_ref > 0).sum(axis=0)
    else:
        rows, cols = np.full(m, n), np.full(n, m)
    penalties = (alpha_W * l1_ratio * rows, alpha_W * (1 - l1_ratio) * rows,
                 alpha_H * l1_ratio * cols, alpha_H * (1 - l1_ratio) * cols)  # fmt: skip
    W, H, history = naive_fit(V_ref, M_ref, W0, H0, beta, 3, penalties)
    assert_close(result.W, W, dtype)
    assert_close(result.H, H, dtype)
    assert_allclose(result.loss_history, history[result.loss_iterations], rtol=5 * rtol_for(dtype))


@pytest.mark.parametrize("beta", [2.0, 1.0, 0.0])
@pytest.mark.parametrize("layout", ["dense-weights", "observed"])
def test_masked_transform_matches_naive(layout, beta, dtype):
    """Fold-in: W updates only, H fixed, from W = sqrt(mean observed / r)."""
    V, mask, V_ref, M_ref = make_case(layout, dtype)
    _, H = initial_factors(dtype)
    W = transform(V, H, loss=beta, mask=mask, max_iter=4, tol=0)
    mean = np.nanmean(np.where(M_ref > 0, V_ref, np.nan))
    W_ref = np.full((SHAPE[0], RANK), np.sqrt(mean / RANK))
    for _ in range(4):
        W_ref = naive.mu_update_W(V_ref, W_ref, H, beta, M_ref)
    assert W.dtype == dtype
    assert_close(W, W_ref, dtype)


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------


def every_iteration(iteration, W, H, loss):
    """A callback that never stops a fit: with it, the objective is recorded
    after every iteration."""
    return False


def _fit(V, mask, beta, dtype, init=None, max_iter=15, **options):
    if init is None:
        init = initial_factors(dtype)
    return nmf(
        V, RANK, loss=beta, mask=mask, init=init, max_iter=max_iter, tol=0, callback=every_iteration, **MU, **options
    )


@pytest.mark.parametrize("init", ["given", "nndsvda", "random"])
@pytest.mark.parametrize("beta", [2.0, 1.0, 0.0, 1.5])
@pytest.mark.parametrize("layout", ["dense-bool", "dense-weights", "sparse-mask", "sparse-V-sparse-mask"])
def test_values_under_a_zero_mask_change_nothing(layout, beta, init, dtype):
    """Bit for bit, initialization included: what V holds where the weight
    is 0 (NaN, zero, huge) is never read."""
    V, mask, _, M_ref = make_case(layout, dtype)
    unobserved = M_ref == 0
    if sp.issparse(V):
        dense = V.toarray()
        dense[unobserved] = 1e6
        other = sp.csr_array(dense)
    else:
        other = V.copy()
        other[unobserved] = np.where(np.arange(unobserved.sum()) % 2, 0.0, 1e6)
    kwargs = dict(init=initial_factors(dtype)) if init == "given" else dict(init=init, random_state=0)
    first = _fit(V, mask, beta, dtype, **kwargs)
    second = _fit(other, mask, beta, dtype, **kwargs)
    assert_array_equal(first.W, second.W)
    assert_array_equal(first.H, second.H)
    assert_array_equal(first.loss_history, second.loss_history)


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("mask_kind", ["dense-ones", "sparse-ones", "observed-full"])
def test_mask_of_all_ones_is_the_unmasked_fit(mask_kind, beta):
    rng = np.random.default_rng(3)
    V = 0.5 + rng.random(SHAPE)
    W0, H0 = initial_factors(np.float64)
    unmasked = _fit(V, None, beta, np.float64, init=(W0, H0))
    if mask_kind == "dense-ones":
        masked = _fit(V, np.ones(SHAPE, dtype=bool), beta, np.float64, init=(W0, H0))
    elif mask_kind == "sparse-ones":
        masked = _fit(V, sp.csr_array(np.ones(SHAPE)), beta, np.float64, init=(W0, H0))
    else:
        masked = _fit(sp.csr_array(V), "observed", beta, np.float64, init=(W0, H0))
    assert_allclose(masked.W, unmasked.W, rtol=1e-9)
    assert_allclose(masked.H, unmasked.H, rtol=1e-9)
    assert_allclose(masked.loss_history, unmasked.loss_history, rtol=1e-9)


@pytest.mark.parametrize("beta", BETAS)
def test_mask_of_all_ones_gives_the_unmasked_default_init(beta):
    """Same data seen by NNDSVDa (the default init) masked or not."""
    rng = np.random.default_rng(4)
    V = 0.5 + rng.random(SHAPE)
    unmasked = nmf(V, RANK, loss=beta, max_iter=5, tol=0, **MU)
    masked = nmf(V, RANK, loss=beta, mask=np.ones(SHAPE), max_iter=5, tol=0)
    assert_allclose(masked.W, unmasked.W, rtol=1e-9)
    assert_allclose(masked.H, unmasked.H, rtol=1e-9)


@pytest.mark.parametrize("scale", ["shape", "observed"])
@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_masked_objective_never_increases(layout, beta, scale, dtype):
    V, mask, _, _ = make_case(layout, dtype, seed=5)
    result = nmf(
        V, RANK, loss=beta, mask=mask, init="random", random_state=0, max_iter=40, tol=0, alpha_W=0.01,
        alpha_H=0.02, l1_ratio=0.5, regularization_scale=scale, callback=every_iteration,
    )  # fmt: skip
    history = result.loss_history
    assert history.shape == (41,)
    slack = 1e-12 if dtype == np.float64 else 1e-5
    assert np.all(np.diff(history) <= slack * np.abs(history[:-1])), np.diff(history).max()
    assert history[-1] < history[0]


@pytest.mark.parametrize("beta", BETAS)
def test_integer_weight_two_equals_observing_a_row_twice(beta):
    """Weight 2 on a row's entries gives the fit of the data with that row
    duplicated (weight 1 each): H alike, and both copies' W equal to the
    weighted row's. Needs alpha = 0, since penalties count rows."""
    V, mask, V_ref, M_ref = make_case("dense-weights", np.float64, seed=6)
    observed = M_ref > 0
    W0, H0 = initial_factors(np.float64)
    weighted = observed.astype(np.float64)
    weighted[0] *= 2
    duplicated_V = np.vstack([V_ref, V_ref[:1]])
    duplicated_mask = np.vstack([observed, observed[:1]])
    duplicated_W0 = np.vstack([W0, W0[:1]])
    once = _fit(V_ref, weighted, beta, np.float64, init=(W0, H0), max_iter=20)
    twice = _fit(duplicated_V, duplicated_mask, beta, np.float64, init=(duplicated_W0, H0), max_iter=20)
    assert_allclose(twice.H, once.H, rtol=1e-9)
    assert_allclose(twice.W[: SHAPE[0]], once.W, rtol=1e-9)
    assert_allclose(twice.W[-1], once.W[0], rtol=1e-9)
    assert_allclose(twice.loss_history, once.loss_history, rtol=1e-9)


@pytest.mark.parametrize("beta", [2.0, 1.0, 0.0])
def test_duplicate_entries_of_a_sparse_mask_add_their_weights(beta):
    """A COO mask listing an entry twice weighs it 2 (SciPy sums duplicates)."""
    _, _, V_ref, M_ref = make_case("dense-bool", np.float64, seed=7)
    rows, cols = np.nonzero(M_ref)
    coo = sp.coo_array((np.ones(len(rows) + 1), (np.append(rows, rows[0]), np.append(cols, cols[0]))), shape=SHAPE)
    dense = M_ref.copy()
    dense[rows[0], cols[0]] = 2
    assert_allclose(_fit(V_ref, coo, beta, np.float64).W, _fit(V_ref, dense, beta, np.float64).W, rtol=1e-9)


@pytest.mark.parametrize("init", ["random", "nndsvd", "nndsvda", "nndsvdar"])
@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_nothing_observed_rows_and_columns_get_zeros(layout, beta, init):
    V, mask, _, _ = make_case(layout, np.float64, seed=8)
    result = nmf(V, RANK, loss=beta, mask=mask, init=init, random_state=0, max_iter=10, tol=0)
    assert np.isfinite(result.W).all() and np.isfinite(result.H).all()
    assert np.isfinite(result.loss_history).all()
    assert_array_equal(result.W[EMPTY_ROW], 0)
    assert_array_equal(result.H[:, EMPTY_COL], 0)


@pytest.mark.parametrize("rank", [RANK, 20, 40])
@pytest.mark.parametrize("beta", [2.0, 1.0, 1.5, 0.5])
@pytest.mark.parametrize("layout", ["observed", "sparse-V-sparse-mask"])
def test_sparse_masked_fit_is_the_same_with_a_callback(layout, beta, rank, dtype):
    """On sparse masked data every iteration makes each factor's terms and
    update in one pass (the masked kernel's ``update``), into a new array,
    whether or not it computes the objective: a callback, which makes every
    iteration compute it, changes nothing, bit for bit. At r = 3 and 20 (the
    narrow path and the loops for "observed"; weighted entries take the
    loops) and 40 (the wide path), with L1 and L2 penalties."""
    V, mask, _, _ = make_case(layout, dtype, seed=4)
    options = dict(
        loss=beta, mask=mask, init="random", random_state=0, max_iter=12, tol=0, alpha_W=0.01, alpha_H=0.02,
        l1_ratio=0.5, **MU,
    )  # fmt: skip
    plain = nmf(V, rank, **options)
    watched = nmf(V, rank, callback=every_iteration, **options)
    assert_array_equal(plain.W, watched.W)
    assert_array_equal(plain.H, watched.H)
    assert plain.n_iter == watched.n_iter == 12


def test_sparse_masked_fit_leaves_the_callers_factors_alone(dtype):
    """The masked sparse update makes new arrays for the factors at every
    iteration and the fit copies the last pair into its own: the caller's
    starting factors are neither modified nor returned."""
    V, mask, _, _ = make_case("observed", dtype, seed=4)
    W0, H0 = initial_factors(dtype)
    W0_before, H0_before = W0.copy(), H0.copy()
    result = nmf(V, RANK, mask=mask, init=(W0, H0), max_iter=5, tol=0, **MU)
    assert_array_equal(W0, W0_before)
    assert_array_equal(H0, H0_before)
    assert not np.shares_memory(result.W, W0) and not np.shares_memory(result.H, H0)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_masked_fit_is_bit_identical_with_1_and_2_threads(layout, dtype):
    V, mask, _, _ = make_case(layout, dtype, seed=9)
    one = nmf(V, RANK, loss=1.0, mask=mask, init="random", random_state=0, max_iter=10, tol=0, n_threads=1)
    two = nmf(V, RANK, loss=1.0, mask=mask, init="random", random_state=0, max_iter=10, tol=0, n_threads=2)
    assert_array_equal(one.W, two.W)
    assert_array_equal(one.H, two.H)


def test_observed_keeps_stored_zeros_as_observed_zeros():
    """With mask="observed", a stored zero is a rating of zero, not unknown."""
    dense = np.array([[3.0, 0.0, 1.0], [2.0, 1.0, 0.0], [0.0, 4.0, 2.0]])
    stored = np.ones((3, 3), dtype=bool)
    stored[2, 0] = False
    data = dense[stored]
    rows, cols = np.nonzero(stored)
    V = sp.csr_array((data, (rows, cols)), shape=(3, 3))  # stores the zeros at (0, 1) and (1, 2)
    init = initial_factors(np.float64)
    init = (init[0][:3, :2].copy(), init[1][:2, :3].copy())
    observed = nmf(V, 2, mask="observed", init=init, max_iter=5, tol=0)
    masked = nmf(dense, 2, mask=stored, init=init, max_iter=5, tol=0)
    assert_allclose(observed.W, masked.W, rtol=1e-12)
    assert_allclose(observed.H, masked.H, rtol=1e-12)


# --------------------------------------------------------------------------
# Inputs are never modified
# --------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_callers_V_and_mask_are_not_modified(layout):
    V, mask, _, _ = make_case(layout, np.float64, seed=10)
    if sp.issparse(V):
        V = V.tocoo()  # a format the solver must convert (a copy)
        before_V = (V.data.copy(), V.coords[0].copy(), V.coords[1].copy())
    else:
        before_V = V.copy()
        V.flags.writeable = False
    if sp.issparse(mask):
        before_mask = (mask.data.copy(), mask.indices.copy(), mask.indptr.copy())
    elif isinstance(mask, np.ndarray):
        before_mask = mask.copy()
        mask.flags.writeable = False
    nmf(V, RANK, loss=1.0, mask=mask, max_iter=5, tol=0)
    transform(V, np.ones((RANK, SHAPE[1])), loss=1.0, mask=mask, max_iter=5, tol=0)
    if sp.issparse(V):
        assert_array_equal(V.data, before_V[0])
        assert_array_equal(V.coords[0], before_V[1])
        assert_array_equal(V.coords[1], before_V[2])
    else:
        assert_array_equal(V, before_V)  # NaN in the same places
    if sp.issparse(mask):
        assert_array_equal(mask.data, before_mask[0])
        assert_array_equal(mask.indices, before_mask[1])
        assert_array_equal(mask.indptr, before_mask[2])
    elif isinstance(mask, np.ndarray):
        assert_array_equal(mask, before_mask)


def test_unsorted_csr_with_duplicates_is_not_modified():
    V = sp.csr_array(
        (np.array([1.0, 2.0, 3.0, 4.0]), np.array([2, 0, 2, 1]), np.array([0, 3, 4])), shape=(2, 3)
    )  # row 0 holds column 2 twice, unsorted
    before = (V.data.copy(), V.indices.copy(), V.indptr.copy())
    nmf(V, 1, mask="observed", max_iter=3, tol=0)
    assert_array_equal(V.data, before[0])
    assert_array_equal(V.indices, before[1])
    assert_array_equal(V.indptr, before[2])


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

DENSE = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
SPARSE = sp.csr_array(DENSE)


@pytest.mark.parametrize(
    "V, mask, error, match",
    [
        (DENSE, np.ones((3, 2)), ValueError, r"mask must have V's shape \(2, 3\); got \(3, 2\)"),
        (DENSE, sp.csr_array(np.ones((2, 4))), ValueError, r"mask must have V's shape \(2, 3\); got \(2, 4\)"),
        (SPARSE, np.ones((2, 2)), ValueError, r"mask must have V's shape"),
        (DENSE, np.array([[1, -1, 1], [1, 1, 1]]), ValueError, "mask weights must be non-negative; the smallest is"),
        (DENSE, sp.csr_array(np.array([[1, -1, 1], [1, 1, 1]])), ValueError, "mask weights must be non-negative"),
        (DENSE, np.array([[1, np.nan, 1], [1, 1, 1]]), ValueError, "mask weights must be finite"),
        (DENSE, np.array([[1, np.inf, 1], [1, 1, 1]]), ValueError, "mask weights must be finite"),
        (DENSE, sp.csr_array(np.array([[1, np.inf, 1], [1, 1, 1]])), ValueError, "mask weights must be finite"),
        (DENSE, np.zeros((2, 3), dtype=bool), ValueError, "mask leaves nothing observed"),
        (DENSE, sp.csr_array((2, 3)), ValueError, "mask leaves nothing observed"),
        (
            DENSE,
            sp.csr_array((np.zeros(2), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 3)),
            ValueError,
            "mask leaves nothing observed",
        ),
        (sp.csr_array((2, 3)), "observed", ValueError, "mask leaves nothing observed"),
        (DENSE, "observed", ValueError, r'mask="observed" needs a sparse V .* mask=~np.isnan\(V\)'),
        (
            np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]]),
            np.ones((2, 3), dtype=bool),
            ValueError,
            "V holds NaN where mask is non-zero",
        ),
        (
            np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]]),
            sp.csr_array(np.ones((2, 3))),
            ValueError,
            "V holds NaN where mask is non-zero",
        ),
        (np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]]), None, ValueError, r"V must be finite.*pass mask="),
        (DENSE, "observd", ValueError, r'mask must be None, an array, a sparse matrix or "observed"; got \'observd\''),
        (DENSE, np.array([["a", "b", "c"], ["d", "e", "f"]]), TypeError, "mask must hold booleans or non-negative"),
        (DENSE, sp.csr_array(np.ones((2, 3), dtype=complex)), TypeError, "mask must hold booleans or non-negative"),
    ],
    ids=[
        "dense-shape", "sparse-shape", "sparse-V-dense-shape", "negative", "sparse-negative", "nan-weight",
        "inf-weight", "sparse-inf-weight", "all-zero", "sparse-empty", "sparse-explicit-zeros",
        "observed-empty", "observed-dense-V", "nan-under-mask", "nan-under-sparse-mask", "nan-no-mask",
        "unknown-string", "string-dtype", "complex-dtype",
    ],
)  # fmt: skip
def test_bad_masks_raise_clear_errors(V, mask, error, match):
    with pytest.raises(error, match=match):
        nmf(V, 1, mask=mask, max_iter=1)
    with pytest.raises(error, match=match):
        transform(V, np.ones((1, V.shape[1])), mask=mask, max_iter=1)


def test_zero_under_the_mask_is_an_error_for_beta_at_most_zero():
    V = np.array([[1.0, 0.0], [2.0, 3.0]])
    with pytest.raises(ValueError, match="undefined where V is zero"):
        nmf(V, 1, loss="itakura-saito", mask=np.ones((2, 2)))
    # Masking the zero out makes it fine.
    result = nmf(V, 1, loss="itakura-saito", mask=V > 0, max_iter=5, tol=0)
    assert np.isfinite(result.W).all()
    with pytest.raises(ValueError, match="undefined where V is zero"):
        nmf(sp.csr_array((np.array([1.0, 0.0]), np.array([0, 1]), np.array([0, 2, 2])), shape=(2, 2)), 1,
            loss="itakura-saito", mask="observed")  # fmt: skip
