"""Every bad input to fastnmf.nmf gets a ValueError or TypeError that names
the argument, what was expected and what came; never a crash, a hang or
silent garbage. Good-but-unusual inputs are accepted."""

import re
import warnings

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from conftest import MU
from fastnmf import nmf

ONE_THREAD = dict(n_threads=1)


def good_V(m=5, n=4):
    return np.random.default_rng(0).random((m, n)) + 0.1


def with_value(V, value, where=(1, 2)):
    V = V.copy()
    V[where] = value
    return V


def sparse_with_value(value):
    X = sp.csr_array(good_V())
    X.data[3] = value
    return X


GOOD = object()  # a stand-in for a valid V (None is a bad V under test)


def check(error, match, V=GOOD, r=2, **options):
    """nmf(V, r, **options) raises ``error`` with a message matching ``match``."""
    if V is GOOD:
        V = good_V()
    with pytest.raises(error, match=match):
        nmf(V, r, max_iter=2, tol=0, **ONE_THREAD, **options)


# --------------------------------------------------------------------------
# V
# --------------------------------------------------------------------------

BAD_VALUES = {
    "negative": (-1.0, r"V must be non-negative; its smallest entry is .*-1\.0"),
    "nan": (np.nan, r"V must be finite; it holds NaN values.*mask="),
    "inf": (np.inf, r"V must be finite; it holds infinite values"),
    "minus-inf": (-np.inf, r"V must be finite; it holds infinite values"),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["dense", "csr", "coo", "csc"])
@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_bad_values_in_V(case, layout, dtype):
    value, match = BAD_VALUES[case]
    if layout == "dense":
        V = with_value(good_V(), value)
    else:
        V = sparse_with_value(value).asformat(layout)
    check(ValueError, match, V.astype(dtype))


@pytest.mark.parametrize(
    "V, match",
    [
        (np.ones(4), r"V must be 2-D \(m x n\); got an array of shape \(4,\)"),
        (np.ones((2, 3, 4)), r"V must be 2-D \(m x n\); got an array of shape \(2, 3, 4\)"),
        (np.float64(3.0), r"V must be 2-D \(m x n\); got an array of shape \(\)"),
        (3, r"V must be 2-D"),
        (sp.coo_array(np.ones(4)), r"V must be a 2-D matrix; got a sparse array of shape \(4,\)"),
    ],
    ids=["1-D", "3-D", "0-D", "int", "sparse-1-D"],
)
def test_V_not_2d(V, match):
    check(ValueError, match, V)


@pytest.mark.parametrize("shape", [(0, 4), (4, 0), (0, 0)])
@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_empty_V(shape, layout):
    V = np.zeros(shape) if layout == "dense" else sp.csr_array(shape)
    check(ValueError, re.escape(f"V must have at least one row and one column; got shape {shape}"), V)


@pytest.mark.parametrize(
    "V, error, match",
    [
        (np.array([["a", "b"], ["c", "d"]]), TypeError, r"V must hold real numbers; got an array of dtype <U1"),
        (np.array([[b"a"]]), TypeError, r"V must hold real numbers; got an array of dtype \|S1"),
        (np.array([[1, None], [2, 3]], dtype=object), TypeError, r"V must hold real numbers; .*dtype object"),
        (np.array([[1, 2], [2, 3]], dtype=object), TypeError, r"V must hold real numbers; .*dtype object"),
        (np.ones((2, 2), dtype=complex), TypeError, r"V must hold real numbers; .*dtype complex128"),
        (sp.csr_array(np.ones((2, 2), dtype=np.complex64)), TypeError, r"V must hold real numbers; .*complex64"),
        (np.array([["2020-01-01"]], dtype="datetime64[D]"), TypeError, r"V must hold real numbers; .*datetime64"),
        ("a string", TypeError, r"V must be a NumPy array or a SciPy sparse matrix; got str"),
        (None, TypeError, r"V must be a NumPy array or a SciPy sparse matrix; got NoneType"),
        ({"a": 1}, TypeError, r"V must be a NumPy array or a SciPy sparse matrix; got dict"),
        ([[1, 2], [3]], TypeError, r"V must be a NumPy array or a SciPy sparse matrix; could not convert it"),
    ],
    ids=["strings", "bytes", "object-None", "object-numbers", "complex", "sparse-complex", "datetime", "str",
         "None", "dict", "ragged"],
)  # fmt: skip
def test_non_numeric_V(V, error, match):
    check(error, match, V)


def invalid_csr(case):
    """A 3 x 3 CSR array that SciPy builds without complaint (it checks the
    structure fully only when asked), broken as ``case`` says."""
    indices, indptr = {
        "index-beyond-shape": ([1, 10**6], [0, 1, 2, 2]),
        "negative-index": ([1, -1], [0, 1, 2, 2]),
        "indptr-decreasing": ([1, 2], [0, 2, 1, 2]),
    }[case]
    return sp.csr_array((np.ones(2), np.array(indices), np.array(indptr)), shape=(3, 3))


@pytest.mark.parametrize("case", ["index-beyond-shape", "negative-index", "indptr-decreasing"])
def test_invalid_sparse_structure_is_refused_before_any_kernel(case):
    """An index outside the shape would make the kernels read and write
    outside their arrays (a crash, found with a hand-made .npz): V, a sparse
    mask and top_k's exclude are checked first."""
    from fastnmf.recommend import top_k

    X = invalid_csr(case)
    match = r"is not a valid CSR matrix of shape \(3, 3\): (an index .* lies outside \[0, 3\)|indptr decreases)"
    with pytest.raises(ValueError, match="V " + match):
        nmf(X, 2, max_iter=2, **ONE_THREAD)
    with pytest.raises(ValueError, match="V " + match):
        nmf(X, 2, mask="observed", max_iter=2, **ONE_THREAD)
    with pytest.raises(ValueError, match=r"V is not a valid CSC matrix of shape \(3, 3\)"):
        nmf(sp.csc_array((X.data, X.indices, X.indptr), shape=(3, 3)), 2, max_iter=2, **ONE_THREAD)
    with pytest.raises(ValueError, match="mask " + match):
        nmf(np.ones((3, 3)), 2, mask=X, max_iter=2, **ONE_THREAD)
    with pytest.raises(ValueError, match="exclude " + match):
        top_k(np.ones((3, 2)), np.ones((2, 3)), 1, exclude=X)


@pytest.mark.parametrize("beta", [0.0, -0.5, "itakura-saito"])
@pytest.mark.parametrize("layout", ["dense", "csr", "csr-explicit-zero"])
def test_beta_at_most_zero_with_zeros_in_V(beta, layout):
    V = with_value(good_V(), 0.0)
    if layout == "csr":
        V = sp.csr_array(V)
    elif layout == "csr-explicit-zero":
        V = sp.csr_array(good_V())
        V.data[2] = 0.0  # a stored zero is still a zero
    check(ValueError, r"loss with beta=.* <= 0 .*is undefined where V is zero, and V has zeros", V, loss=beta)


def test_beta_at_most_zero_with_sparse_V_without_zeros_is_accepted():
    V = sp.csr_array(good_V())  # every entry stored and positive
    result = nmf(V, 2, loss="itakura-saito", max_iter=3, tol=0, **ONE_THREAD)
    assert np.isfinite(result.W).all()


# --------------------------------------------------------------------------
# r, loss, init
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "r, error, match",
    [
        (0, ValueError, r"r must be a positive integer; got 0"),
        (-1, ValueError, r"r must be a positive integer; got -1"),
        (2.5, TypeError, r"r must be a positive integer; got 2\.5 of type float"),
        (2.0, TypeError, r"r must be a positive integer; got 2\.0 of type float"),
        (True, TypeError, r"r must be a positive integer; got True of type bool"),
        ("3", TypeError, r"r must be a positive integer; got '3' of type str"),
        (None, TypeError, r"r must be a positive integer; got None of type NoneType"),
    ],
)
def test_bad_rank(r, error, match):
    check(error, match, r=r)


def test_rank_beyond_index_range_names_r():
    check(ValueError, r"^r must be", r=10**20, init="random")


@pytest.mark.parametrize(
    "loss, error, match",
    [
        ("foo", ValueError, r"loss must be one of \['frobenius', 'itakura-saito', 'kullback-leibler'\] or a real "
         r"number \(the beta of the beta-divergence\); got 'foo'"),
        ("Frobenius", ValueError, r"loss must be one of .*; got 'Frobenius'"),
        (float("nan"), ValueError, r"loss must be a finite real number when given as beta; got nan"),
        (float("inf"), ValueError, r"loss must be a finite real number when given as beta; got inf"),
        (None, TypeError, r"loss must be a string among .* or a real number; got NoneType"),
        ([2], TypeError, r"loss must be a string among .* or a real number; got list"),
        (True, TypeError, r"loss must be a string among .* or a real number; got bool"),
        (1 + 0j, TypeError, r"loss must be a string among .* or a real number; got complex"),
    ],
)  # fmt: skip
def test_bad_loss(loss, error, match):
    check(error, match, loss=loss)


@pytest.mark.parametrize(
    "init, error, match",
    [
        ("foo", ValueError, r"init must be one of \['random', 'nndsvd', 'nndsvda', 'nndsvdar'\], None or a "
         r"\(W0, H0\) pair; got 'foo'"),
        ("NNDSVD", ValueError, r"init must be one of .*; got 'NNDSVD'"),
        (3, TypeError, r"init must be a string, None or a \(W0, H0\) pair of arrays; got int"),
        ({"W": 1}, TypeError, r"init must be a string, None or a \(W0, H0\) pair of arrays; got dict"),
        ((np.ones((5, 2)),), TypeError, r"init must be .* \(W0, H0\) pair of arrays; got tuple"),
        ((np.ones((5, 2)), np.ones((2, 4)), np.ones(1)), TypeError, r"\(W0, H0\) pair of arrays; got tuple"),
    ],
    ids=["unknown", "case", "int", "dict", "1-tuple", "3-tuple"],
)  # fmt: skip
def test_bad_init(init, error, match):
    check(error, match, init=init)


W0, H0 = np.ones((5, 2)), np.ones((2, 4))


@pytest.mark.parametrize(
    "init, error, match",
    [
        ((np.ones((4, 2)), H0), ValueError, r"W0 must have shape \(5, 2\) \(from V's shape and r\); got \(4, 2\)"),
        ((W0, np.ones((2, 5))), ValueError, r"H0 must have shape \(2, 4\) \(from V's shape and r\); got \(2, 5\)"),
        ((W0.T, H0), ValueError, r"W0 must have shape \(5, 2\) .*; got \(2, 5\)"),
        ((W0, H0.ravel()), ValueError, r"H0 must have shape \(2, 4\) .*; got \(8,\)"),
        ((None, H0), ValueError, r"W0 must have shape \(5, 2\) .*; got \(\)"),
        ((W0.astype(np.float32), H0), TypeError,
         r"W0 must have V's working dtype float64; got float32\. Cast it with \.astype\(np\.float64\)"),
        ((W0, H0.astype(np.int64)), TypeError, r"H0 must have V's working dtype float64; got int64"),
        ((W0, H0.astype(complex)), TypeError, r"H0 must have V's working dtype float64; got complex128"),
        ((np.full((5, 2), "a"), H0), TypeError, r"W0 must have V's working dtype float64; got <U1"),
        ((sp.csr_array(W0), H0), TypeError, r"W0 must be a dense NumPy array; got a sparse matrix"),
        (([[1.0, 2.0], [3.0]], H0), TypeError, r"W0 must be a dense NumPy array; could not convert it"),
        ((-W0, H0), ValueError, r"W0 must be non-negative; its smallest entry is .*-1\.0"),
        ((W0, with_value(H0, -1e-300, (0, 0))), ValueError, r"H0 must be non-negative; its smallest entry is"),
        ((W0, with_value(H0, np.nan, (0, 0))), ValueError, r"H0 must be finite; it holds NaN or infinite values"),
        ((with_value(W0, np.inf, (0, 0)), H0), ValueError, r"W0 must be finite; it holds NaN or infinite values"),
    ],
    ids=["W0-shape", "H0-shape", "W0-transposed", "H0-1-D", "W0-None", "W0-float32", "H0-int", "H0-complex",
         "W0-strings", "W0-sparse", "W0-ragged", "W0-negative", "H0-negative-tiny", "H0-nan", "W0-inf"],
)  # fmt: skip
def test_bad_initial_factors(init, error, match):
    check(error, match, init=init)


def test_initial_factors_follow_V_dtype():
    """float32 V needs float32 factors (and is told so)."""
    V = good_V().astype(np.float32)
    check(TypeError, r"W0 must have V's working dtype float32; got float64", V, init=(W0, H0))
    result = nmf(V, 2, init=(W0.astype(np.float32), H0.astype(np.float32)), max_iter=2, tol=0, **ONE_THREAD)
    assert result.W.dtype == np.float32


def test_initial_factors_as_lists_are_accepted():
    result = nmf(good_V(), 2, init=(W0.tolist(), H0.tolist()), max_iter=2, tol=0, **ONE_THREAD)
    assert result.W.shape == (5, 2)


# --------------------------------------------------------------------------
# Iteration control and other options
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "max_iter, error, match",
    [
        (-1, ValueError, r"max_iter must be a non-negative integer; got -1"),
        (2.5, TypeError, r"max_iter must be a non-negative integer; got 2\.5 of type float"),
        (10.0, TypeError, r"max_iter must be a non-negative integer; got 10\.0 of type float"),
        (float("inf"), TypeError, r"max_iter must be a non-negative integer; got inf of type float"),
        ("10", TypeError, r"max_iter must be a non-negative integer; got '10' of type str"),
        (True, TypeError, r"max_iter must be a non-negative integer; got True of type bool"),
        (None, TypeError, r"max_iter must be a non-negative integer; got None of type NoneType"),
    ],
)
def test_bad_max_iter(max_iter, error, match):
    with pytest.raises(error, match=match):
        nmf(good_V(), 2, max_iter=max_iter, tol=0, **ONE_THREAD)


@pytest.mark.parametrize(
    "tol, error, match",
    [
        (-1, ValueError, r"tol must be a finite non-negative real number; got -1\.0"),
        (float("nan"), ValueError, r"tol must be a finite non-negative real number; got nan"),
        (float("inf"), ValueError, r"tol must be a finite non-negative real number; got inf"),
        ("0.1", TypeError, r"tol must be a non-negative real number; got '0\.1' of type str"),
        (None, TypeError, r"tol must be a non-negative real number; got None of type NoneType"),
        (True, TypeError, r"tol must be a non-negative real number; got True of type bool"),
    ],
)
def test_bad_tol(tol, error, match):
    with pytest.raises(error, match=match):
        nmf(good_V(), 2, max_iter=2, tol=tol, **ONE_THREAD)


@pytest.mark.parametrize(
    "n_threads, error, match",
    [
        (0, ValueError, rf"n_threads must be between 1 and {numba.config.NUMBA_NUM_THREADS} "
         r"\(numba\.config\.NUMBA_NUM_THREADS\); got 0"),
        (-1, ValueError, r"n_threads must be between 1 and .*; got -1"),
        (numba.config.NUMBA_NUM_THREADS + 1, ValueError, r"n_threads must be between 1 and .*; got"),
        (1.5, TypeError, r"n_threads must be None or a positive integer; got float"),
        ("2", TypeError, r"n_threads must be None or a positive integer; got str"),
        (True, TypeError, r"n_threads must be None or a positive integer; got bool"),
    ],
)  # fmt: skip
def test_bad_n_threads(n_threads, error, match):
    before = numba.get_num_threads()
    with pytest.raises(error, match=match):
        nmf(good_V(), 2, max_iter=2, tol=0, n_threads=n_threads)
    assert numba.get_num_threads() == before


EXPECTED_RANDOM_STATE = r"random_state must be None, an int, a numpy\.random\.Generator or a RandomState; got "


@pytest.mark.parametrize(
    "random_state, error, match",
    [
        ("a", TypeError, EXPECTED_RANDOM_STATE + "str"),
        (1.5, TypeError, EXPECTED_RANDOM_STATE + "float"),
        ([1, 2], TypeError, EXPECTED_RANDOM_STATE + "list"),
        (True, TypeError, EXPECTED_RANDOM_STATE + "a bool"),
        (-1, ValueError, r"random_state must be a non-negative int; got -1"),
    ],
)
def test_bad_random_state(random_state, error, match):
    check(error, match, random_state=random_state, init="random")


@pytest.mark.parametrize(
    "random_state",
    [None, 0, np.int64(3), 2**70, np.random.default_rng(1), np.random.RandomState(1), np.random.SeedSequence(1)],
    ids=["None", "int", "numpy-int", "big-int", "Generator", "RandomState", "SeedSequence"],
)
def test_accepted_random_states(random_state):
    result = nmf(good_V(), 2, init="random", random_state=random_state, max_iter=1, tol=0, **ONE_THREAD)
    assert np.isfinite(result.W).all()


@pytest.mark.parametrize("name", ["alpha_W", "alpha_H"])
@pytest.mark.parametrize(
    "value, error, match",
    [
        (-1, ValueError, r"{} must be a finite non-negative real number; got -1\.0"),
        (float("nan"), ValueError, r"{} must be a finite non-negative real number; got nan"),
        (float("inf"), ValueError, r"{} must be a finite non-negative real number; got inf"),
        ("x", TypeError, r"{} must be a non-negative real number; got 'x' of type str"),
        (None, TypeError, r"{} must be a non-negative real number; got None of type NoneType"),
        (True, TypeError, r"{} must be a non-negative real number; got True of type bool"),
    ],
)
def test_bad_alpha(name, value, error, match):
    check(error, match.format(name), **{name: value})


@pytest.mark.parametrize("name, l1_ratio", [("alpha_W", 0.0), ("alpha_H", 1.0)])
def test_alpha_beyond_float32_is_refused(name, l1_ratio):
    """Times its scale (the number of columns for W), the penalty would be
    inf in float32, and the fit NaN; in float64 the same alpha is accepted."""
    V = good_V().astype(np.float32)
    check(ValueError, rf"{name}=1e\+38 is too large for float32: times its scale \(up to [45]", V,
          **{name: 1e38, "l1_ratio": l1_ratio})  # fmt: skip
    result = nmf(V.astype(np.float64), 2, max_iter=2, tol=0, l1_ratio=l1_ratio, **{name: 1e38}, **ONE_THREAD)
    assert np.isfinite(result.W).all() and np.isfinite(result.H).all()


@pytest.mark.parametrize(
    "l1_ratio, error, match",
    [
        (-0.1, ValueError, r"l1_ratio must be a finite non-negative real number; got -0\.1"),
        (1.1, ValueError, r"l1_ratio must be between 0 and 1; got 1\.1"),
        (float("nan"), ValueError, r"l1_ratio must be a finite non-negative real number; got nan"),
        ("x", TypeError, r"l1_ratio must be a non-negative real number; got 'x' of type str"),
        (None, TypeError, r"l1_ratio must be a non-negative real number; got None"),
    ],
)
def test_bad_l1_ratio(l1_ratio, error, match):
    check(error, match, alpha_W=0.1, l1_ratio=l1_ratio)


@pytest.mark.parametrize("callback", [1, "f", [print]], ids=["int", "str", "list"])
def test_non_callable_callback(callback):
    check(TypeError, rf"callback must be callable or None; got {type(callback).__name__}", callback=callback)


def test_bad_regularization_scale():
    check(ValueError, r"regularization_scale must be one of \['shape', 'observed'\]; got 'x'", regularization_scale="x")


@pytest.mark.skipif(not MU, reason="this fastnmf has no solver= argument")
def test_bad_solver():
    check(ValueError, r"solver must be one of \[.*'mu'.*\]; got 'x'", solver="x")


# --------------------------------------------------------------------------
# Checks happen before any work, and leave nothing behind
# --------------------------------------------------------------------------


def test_options_are_checked_before_V():
    """A wrong option is reported before V is converted or scanned (cheap
    checks first), even when V is wrong too."""
    with pytest.raises(TypeError, match="max_iter"):
        nmf(-np.ones((3, 3)), 2, max_iter="x")


# --------------------------------------------------------------------------
# Values so large that float arithmetic overflows
# --------------------------------------------------------------------------

OVERFLOW_BUG = (
    "bug: V with very large values overflows the products and the fit returns NaN factors or, for float32 "
    "Frobenius, loss 0.0 with converged=True at iteration 0 (the Gram-form loss becomes -inf and is clamped "
    "to 0); sparse V with entries near 1e300 crashes in ARPACK (NNDSVD's svds). Expected: finite factors, or a "
    "ValueError naming V (e.g. 'V's largest entry ... overflows float32 products; rescale V')"
)


@pytest.mark.parametrize(
    "dtype, scale, layout, loss",
    [
        (np.float32, 1e20, "dense", "frobenius"),
        (np.float32, 1e20, "dense", 3.0),
        (np.float64, 1e160, "dense", 3.0),
        (np.float64, 1e300, "dense", "kullback-leibler"),
        (np.float64, 1e300, "csr", "frobenius"),
    ],
)
def test_huge_values_give_finite_factors_or_a_clear_error(dtype, scale, layout, loss):
    V = (good_V() * scale).astype(dtype)
    if layout == "csr":
        V = sp.csr_array(V)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # what a user sees: the result
            result = nmf(V, 2, loss=loss, max_iter=30, tol=0, **ONE_THREAD, **MU)
    except ValueError as error:
        assert re.match(r"V\b", str(error))
        return
    assert np.isfinite(result.W).all() and np.isfinite(result.H).all()
    dense = V.toarray() if sp.issparse(V) else V
    true_loss = 0.5 * np.linalg.norm(dense.astype(np.float64) - result.W.astype(np.float64) @ result.H) ** 2
    if loss == "frobenius":
        np.testing.assert_allclose(result.data_loss, true_loss, rtol=1e-3)


@pytest.mark.parametrize(
    "options",
    [dict(loss="kullback-leibler"), dict(loss=1.5), dict(mask=np.ones((6, 5), dtype=bool))],
    ids=["kl", "beta-1.5", "masked"],
)
@pytest.mark.parametrize("solver", ["hals", "ehals", "amu"])
def test_hals_and_amu_only_for_unmasked_frobenius(solver, options):
    V = np.random.default_rng(0).random((6, 5)) + 0.1
    with pytest.raises(ValueError, match=f'solver="{solver}" supports only the unmasked Frobenius loss'):
        nmf(V, 2, solver=solver, max_iter=2, n_threads=1, **options)
