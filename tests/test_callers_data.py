"""The caller's arrays are never modified, and every SciPy sparse format
gives the same fit."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from conftest import ONE_THREAD, data, factors
from fastnmf import nmf



def snapshot(X):
    """Everything about an array or sparse matrix that a fit could change."""
    if sp.issparse(X):
        fields = {"format": X.format, "shape": X.shape, "dtype": X.dtype}
        names = ("data", "indices", "indptr", "row", "col", "offsets") if X.format not in ("lil", "dok") else ()
        for name in names:
            value = getattr(X, name, None)
            if isinstance(value, np.ndarray):
                fields[name] = value.copy()
        if X.format == "coo":
            fields["coords"] = tuple(c.copy() for c in X.coords)
        if X.format in ("csr", "csc"):
            fields["has_sorted_indices"] = X.has_sorted_indices
            fields["has_canonical_format"] = X.has_canonical_format
        if X.format in ("lil", "dok"):
            fields["dense"] = X.toarray()
        return fields
    return {"array": X.copy(), "flags": (X.flags.writeable, X.flags.c_contiguous)}


def assert_unchanged(before, X):
    after = snapshot(X)
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            assert_array_equal(after[key], value, strict=True, err_msg=key)
        elif isinstance(value, tuple) and value and isinstance(value[0], np.ndarray):
            for a, b in zip(after[key], value, strict=True):
                assert_array_equal(a, b, strict=True, err_msg=key)
        else:
            assert after[key] == value, key


def caller_matrices():
    """Dense and sparse V in many formats, including non-canonical ones
    (duplicates, unsorted indices, explicit zeros) and integer data."""
    dense = data(1.0, m=7, n=5)
    rows = np.array([0, 3, 0, 6, 2, 2, 5])
    cols = np.array([1, 4, 1, 0, 2, 2, 3])
    values = np.array([1.0, 2.0, 3.0, 0.5, 0.0, 4.0, 1.5])
    coo_duplicates = sp.coo_array((values, (rows, cols)), shape=(7, 5))
    unsorted = sp.csr_array(dense)
    order = np.arange(unsorted.nnz)
    for i in range(unsorted.shape[0]):  # reverse each row's entries
        start, stop = unsorted.indptr[i], unsorted.indptr[i + 1]
        order[start:stop] = order[start:stop][::-1]
    unsorted = sp.csr_array((unsorted.data[order], unsorted.indices[order], unsorted.indptr), shape=(7, 5))
    unsorted.has_sorted_indices = False
    explicit_zero = sp.csr_matrix(dense)
    explicit_zero.data[0] = 0.0  # stored, but zero
    return {
        "csr-canonical": sp.csr_array(dense),
        "csr-matrix-canonical-float32": sp.csr_matrix(dense.astype(np.float32)),
        "dense-float64": dense,
        "dense-float32": dense.astype(np.float32),
        "dense-int": (dense * 4).astype(np.int64),
        "dense-fortran": np.asfortranarray(dense),
        "coo-duplicates": coo_duplicates,
        "coo-int-duplicates": sp.coo_array((np.array([1, 2, 3, 4, 5, 6, 7]), (rows, cols)), shape=(7, 5)),
        "csr-unsorted": unsorted,
        "csr-matrix-explicit-zero": explicit_zero,
        "csc": sp.csc_array(dense),
        "csc-int": sp.csc_array((dense * 4).astype(np.int32)),
        "lil": sp.lil_array(dense),
        "dok": sp.dok_array(dense),
        "bsr": sp.bsr_array(dense),
        "dia": sp.dia_array(dense),
    }


@pytest.mark.parametrize("name", list(caller_matrices()))
@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler", 1.5])
def test_callers_V_W0_H0_never_modified(name, loss):
    V = caller_matrices()[name]
    dtype = np.float32 if V.dtype == np.float32 else np.float64
    W0, H0 = factors(*V.shape, 2, dtype)
    before_V, before_W0, before_H0 = snapshot(V), snapshot(W0), snapshot(H0)
    result = nmf(V, 2, loss=loss, init=(W0, H0), max_iter=5, tol=0, **ONE_THREAD)
    assert_unchanged(before_V, V)
    assert_unchanged(before_W0, W0)
    assert_unchanged(before_H0, H0)
    for F in (result.W, result.H):
        assert not np.shares_memory(F, W0) and not np.shares_memory(F, H0)
        if not sp.issparse(V):
            assert not np.shares_memory(F, V)
    nmf(V, 2, loss=loss, random_state=0, max_iter=5, tol=0, **ONE_THREAD)  # the inits' own path
    assert_unchanged(before_V, V)


@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler", 0.5])
def test_every_sparse_format_gives_the_same_result(loss):
    """All formats become the same canonical CSR: the fits are identical, bit
    for bit, from the default (SVD) init too. Duplicates are summed."""
    dense = data(1.0, m=9, n=7)
    coo = sp.coo_array(dense)
    half = coo.data / 2  # every entry split into two duplicates
    duplicates = sp.coo_array(
        (np.concatenate([half, coo.data - half]), (np.tile(coo.coords[0], 2), np.tile(coo.coords[1], 2))),
        shape=dense.shape,
    )
    variants = {
        "csr_array": sp.csr_array(dense),
        "csr_matrix": sp.csr_matrix(dense),
        "csc": sp.csc_array(dense),
        "coo": coo,
        "coo_matrix": sp.coo_matrix(dense),
        "coo-duplicates": duplicates,
        "lil": sp.lil_array(dense),
        "dok": sp.dok_array(dense),
        "bsr": sp.bsr_array(dense),
        "dia": sp.dia_array(dense),
    }
    fits = {
        name: nmf(X, 3, loss=loss, random_state=0, max_iter=20, tol=0, **ONE_THREAD) for name, X in variants.items()
    }
    reference = fits["csr_array"]
    for name, fit in fits.items():
        if name == "coo-duplicates":  # summing halves may round the last bit
            assert_allclose(fit.W, reference.W, rtol=1e-12, atol=1e-14, err_msg=name)
            assert_allclose(fit.H, reference.H, rtol=1e-12, atol=1e-14, err_msg=name)
            continue
        assert_array_equal(fit.W, reference.W, strict=True, err_msg=name)
        assert_array_equal(fit.H, reference.H, strict=True, err_msg=name)




@pytest.mark.parametrize("name", list(caller_matrices()))
@pytest.mark.parametrize("solver", ["hals", "ehals", "amu"])
def test_callers_data_untouched_by_the_frobenius_solvers(name, solver, monkeypatch):
    """HALS and accelerated MU, with dense HALS's products by blocks of rows
    at any size (its threshold lowered to 0): V, W0 and H0 stay as they were."""
    import fastnmf._terms

    monkeypatch.setattr(fastnmf._terms, "HALS_BLOCKED_MIN_WORK", 0)
    V = caller_matrices()[name]
    dtype = np.float32 if V.dtype == np.float32 else np.float64
    W0, H0 = factors(*V.shape, 2, dtype)
    before_V, before_W0, before_H0 = snapshot(V), snapshot(W0), snapshot(H0)
    result = nmf(V, 2, solver=solver, init=(W0, H0), max_iter=5, tol=0, n_threads=1)
    assert_unchanged(before_V, V)
    assert_unchanged(before_W0, W0)
    assert_unchanged(before_H0, H0)
    for F in (result.W, result.H):
        assert not np.shares_memory(F, W0) and not np.shares_memory(F, H0)
