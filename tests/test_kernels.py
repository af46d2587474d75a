"""Each Numba kernel of fastnmf._kernels against its NumPy twin in naive.py.

Grid: float32 and float64 (the ``dtype`` fixture), 1 and 2 Numba threads (the
``n_threads`` fixture), every beta the kernel serves, with and without
weights. Inside each test, a loop over awkward shapes (1x1, r=1, empty rows
and columns, no stored entries, tall, wide) and two ways of chunking the rows
(the package's balanced chunks, and one chunk per row): one compiled
specialization serves them all, so the loop costs microseconds where a
parametrization would cost pytest overhead. Outputs are filled with NaN
before each call, so an entry the kernel forgets to write fails.

The kernels themselves are tested in test_kernels_csr.py and
test_kernels_dense.py (cases and helpers in kernel_cases.py); this file
checks the twins and what holds for every kernel: the same bits with 1
and 2 threads, the dtype kept, float32 computed in float32.
"""

import functools

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import naive
from conftest import BETAS, random_sparse, two_threads_or_skip
from fastnmf import _kernels as K
from fastnmf._jit import read_only
from fastnmf._epsilon import EPS, tiny


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
    K.csr_sampled_numerator(X.indptr, X.indices, X.data, A, B, beta, eps, bounds, out, parts, True, False)
    results["csr_sampled_numerator"], results["csr_sampled_numerator_loss"] = out, parts
    out, parts = np.empty((m, r), dtype), np.empty(len(bounds) - 1)
    K.csr_sampled_numerator(X.indptr, X.indices, X.data, A, B, dtype.type(1), eps, bounds, out, parts, False, False)
    results["csr_sampled_numerator_kl"] = out
    out, parts = np.empty((m, r), dtype), np.empty(len(bounds) - 1)
    K.csr_sampled_numerator(X.indptr, X.indices, X.data, A, B, dtype.type(1), eps, bounds, out, parts, True, False)
    results["csr_sampled_numerator_kl_with"], results["csr_sampled_numerator_kl_loss"] = out, parts
    num, den, parts = np.empty((m, r), dtype), np.empty((m, r), dtype), np.empty(len(bounds) - 1)
    weights = (rng.random(X.nnz) + 0.5).astype(np.float32).astype(dtype)
    K.csr_observed_terms(
        X.indptr, X.indices, X.data, weights, A, B, beta, eps, bounds, num, den, parts, True, False
    )
    results["csr_observed_terms"] = np.concatenate([num, den])
    results["csr_observed_terms_loss"] = parts
    for name, observed_beta in (("frobenius", 2), ("kl", 1)):  # unit weights: the written-out paths
        for with_loss in (False, True):
            num, den, parts = np.empty((m, r), dtype), np.empty((m, r), dtype), np.empty(len(bounds) - 1)
            K.csr_observed_terms(
                X.indptr, X.indices, X.data, np.empty(0, dtype), A, B, dtype.type(observed_beta), eps, bounds,
                num, den, parts, with_loss, False,
            )  # fmt: skip
            if with_loss:
                results[f"csr_observed_terms_{name}_with"] = np.concatenate([num, den])
                results[f"csr_observed_terms_{name}_loss"] = parts
            else:
                results[f"csr_observed_terms_{name}"] = np.concatenate([num, den])
    V = X.toarray()
    num, den, parts = np.empty((m, r), dtype), np.empty((m, r), dtype), np.empty(-(-m // 3))
    K.dense_tile_terms(V, np.empty((0, 0), dtype), A, B, beta, eps, 3, 2, num, den, parts, True, True)
    results["dense_tile_terms"], results["dense_tile_terms_loss"] = np.concatenate([num, den]), parts
    num = np.empty((m, r), dtype)  # Kullback-Leibler without the objective: the written-out path
    K.dense_tile_terms(V, np.empty((0, 0), dtype), A, B, dtype.type(1), eps, 3, 2, num, den, parts, False, False)
    results["dense_tile_terms_kl"] = num
    num, parts = np.empty((m, r), dtype), np.empty(-(-m // 3))  # ... and with it (the vectorized logarithms)
    K.dense_tile_terms(V, np.empty((0, 0), dtype), A, B, dtype.type(1), eps, 3, 2, num, den, parts, True, False)
    results["dense_tile_terms_kl_with"], results["dense_tile_terms_kl_loss"] = num, parts
    mask = (rng.random(V.shape) < 0.7).astype(dtype)
    for name, written_beta, positive, weights in (  # the written-out loops, objective included
        ("beta1.5", 1.5, V, np.empty((0, 0), dtype)),
        ("itakura_saito", 0.0, V + dtype.type(0.25), np.empty((0, 0), dtype)),
        ("kl_weighted", 1.0, np.where(mask > 0, V, np.nan).astype(dtype), mask),
    ):
        num, den, parts = np.empty((m, r), dtype), np.empty((m, r), dtype), np.empty(-(-m // 3))
        K.dense_tile_terms(positive, weights, A, B, dtype.type(written_beta), eps, 3, 2, num, den, parts, True, True)
        results[f"dense_tile_terms_{name}"] = np.concatenate([num, den])
        results[f"dense_tile_terms_{name}_loss"] = parts
    power_den, parts, nothing = np.empty(A.shape, dtype), np.empty(-(-m // 3)), np.empty((0, 0), dtype)
    K.dense_tile_terms(nothing, nothing, A, B, beta, eps, 3, 2, nothing, power_den, parts, True, True)
    results["dense_tile_terms_x_zero"], results["dense_tile_terms_x_zero_loss"] = power_den, parts
    updated = A.copy()
    l1, l2 = np.full(m, 0.1, dtype), np.full(m, 0.2, dtype)
    no_gram = np.empty((0, 0), dtype)
    K.multiplicative_update(updated, num, den, no_gram, l1, l2, dtype.type(2 / 3), eps, dtype.type(tiny(dtype)))
    results["multiplicative_update"] = updated
    swept = A.copy()
    K.hals_rows(swept, num, np.ascontiguousarray(B.T @ B), l1, l2, dtype.type(tiny(dtype)), bounds, 4, 0.01)
    results["hals_rows"] = swept
    swept = A.copy()
    K.hals_lanes(swept, num, np.ascontiguousarray(B.T @ B), l1, l2, dtype.type(tiny(dtype)), bounds, 4, 0.01, 2)
    results["hals_lanes"] = swept
    parts = np.empty((len(bounds) - 1, r, r), dtype)
    K.gram_parts(A, bounds, parts)
    results["gram_parts"] = parts
    widened = np.empty((len(bounds) - 1, r, r), np.float64)
    K.gram_parts_widened(A, bounds, widened)
    results["gram_parts_widened"] = widened  # float64 whatever A's dtype
    product = np.empty((m, r), dtype)
    K.row_block_products(np.ascontiguousarray(num @ B.T), B, 3, product)  # an m x n dense X
    results["row_block_products"] = product
    product = np.empty((m, r), dtype)
    K.row_dots(read_only(X.toarray()), read_only(np.ascontiguousarray(B.T)), product)  # as fits pass them
    results["row_dots"] = product
    updated, scratch = A.copy(), np.empty((m, r), dtype)
    gram = parts.sum(axis=0)
    K.multiplicative_update(updated, num, scratch, gram, l1, l2, dtype.type(1), eps, dtype.type(tiny(dtype)))
    results["multiplicative_update_gram"] = updated
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
        expected = np.float64 if name.endswith("_loss") or name == "gram_parts_widened" else dtype
        assert value.dtype == expected, name
        assert np.isfinite(value).all(), name


def test_float32_kernels_compute_in_float32():
    """From the same input values, a float32 kernel agrees with the float64
    one to float32 rounding, and really computes in float32: had it worked
    in float64 (an untyped accumulator or a float64 literal upcasts), its
    results would be the float64 ones rounded, entry for entry."""
    r32 = run_every_kernel(np.dtype(np.float32))
    r64 = run_every_kernel(np.dtype(np.float64))
    compared = (
        "csr_times_dense", "csr_sampled_numerator", "csr_sampled_numerator_kl", "csr_sampled_numerator_kl_with",
        "csr_observed_terms", "dense_tile_terms", "dense_tile_terms_x_zero",
    )  # fmt: skip
    for name in compared:
        assert_allclose(r32[name], r64[name], rtol=1e-4, err_msg=name)
        assert not np.array_equal(r32[name], r64[name].astype(np.float32)), name


def _compiled_afresh(func, *arg_types):
    """``func``'s Python source compiled (serially, without the cache) for
    these argument types: the compile result, whose ``type_annotation``
    holds Numba's types of the local variables and ``signature`` the
    return type."""
    dispatcher = numba.njit(func.py_func)
    dispatcher.compile(arg_types)
    return dispatcher.overloads[arg_types]


def test_float32_coefficients_are_float32():
    """The exponents the kernels derive from beta, and the coefficients
    raised to them, keep float32: ``beta - 2 * one`` types as float64 in
    Numba (int64 times float32), which once sent every per-entry power of
    the float32 general paths (beta other than 1 and 2, weights, the
    objective) through float64 and back. The agreement test above cannot
    see it: the sums stay float32."""
    from fastnmf._kernels import csr, dense

    f32, f64, i32, i64, flag = numba.float32, numba.float64, numba.int32, numba.int64, numba.boolean
    vector = functools.partial(numba.types.Array, ndim=1, layout="C")
    matrix = functools.partial(numba.types.Array, ndim=2, layout="C")
    sampled = _compiled_afresh(
        csr.beta_rows, vector(i32), vector(i32), vector(f32), matrix(f32), matrix(f32), f32, f32,
        vector(i64), i64, i64, matrix(f32), vector(f64), flag, flag,
    )  # fmt: skip
    tiles = _compiled_afresh(
        dense.general_coefficients, matrix(f32), matrix(f32), i64, i64, matrix(f32), i64, f32, f32, flag, flag
    )
    for result, names in ((sampled, ["expo"]), (tiles, ["num_expo", "den_expo"])):
        typemap = result.type_annotation.typemap
        for name in names:
            assert typemap[name] == f32, (name, typemap[name])
    observed = _compiled_afresh(csr._observed_entry, f32, f32, f32, f32, f32, f32, flag)
    assert observed.signature.return_type == numba.types.Tuple((f32, f32, f64))
