"""From a checked V, a mask and a beta to the layout that will compute the
updates (:mod:`fastnmf._terms`), plus what initialization needs.

The layouts:

================  ==========================  ==========================
V                 mask                         layout
================  ==========================  ==========================
dense             None                         DenseTerms
dense             dense weights                DenseTerms (weighted)
dense or sparse   sparse weights               ObservedTerms (mask's pattern)
sparse            dense weights                ObservedTerms (mask's nonzeros)
sparse            ``"observed"``               ObservedTerms (V's pattern)
sparse            None                         SparseTerms (beta > 0)
================  ==========================  ==========================
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._csr import CSRMatrix
from ._jit import read_only
from ._terms import DenseTerms, ObservedTerms, SparseTerms
from ._validation import check_compressed_structure, check_matrix


@dataclass
class Problem:
    """What a solver needs: the layout, plus the data initialization sees."""

    terms: object
    shape: tuple
    dtype: np.dtype
    init_data: object  # dense array or sparse matrix, unobserved entries as zeros
    mean_of: Callable[[], float]  # computes the mean of the observed entries (see mean)
    row_counts: np.ndarray  # observed entries per row
    col_counts: np.ndarray  # observed entries per column

    @functools.cached_property
    def mean(self):
        """The mean of the observed entries, computed when first asked for:
        only the initializations that scale by it and :func:`fastnmf.transform`
        do, never a fit from the caller's W and H. On a dense V it is a pass
        over all m x n entries (the faces, 400 x 10,304 in float32: 3.3 ms)."""
        return self.mean_of()

    @property
    def nnz(self):
        """Entries the products touch: stored entries, or m * n when dense."""
        X = getattr(self.terms, "X", None)
        return len(X.data) if X is not None else self.shape[0] * self.shape[1]


NOTHING_OBSERVED = "mask leaves nothing observed: it must have at least one positive weight."


class NothingObservedError(ValueError):
    """The mask leaves no entry of V observed; ``shape`` and ``dtype`` are
    V's (and its working dtype), for :func:`fastnmf.recommend.fold_in`,
    whose answer is then all zeros."""

    def __init__(self, message, shape, dtype):
        super().__init__(message)
        self.shape = shape
        self.dtype = dtype


def build_problem(V, beta, mask=None):
    if isinstance(mask, str):
        if mask != "observed":
            raise ValueError(f'mask must be None, an array, a sparse matrix or "observed"; got {mask!r}.')
        X, is_sparse = check_matrix(V, keep_zeros=True)
        if not is_sparse:
            raise ValueError(
                'mask="observed" needs a sparse V (its stored entries are the observed ones); got a dense '
                "array. For dense V pass a boolean mask, e.g. mask=~np.isnan(V)."
            )
        return _observed_problem(CSRMatrix.from_scipy(X), beta, "V")
    if mask is None:
        X, is_sparse = check_matrix(V)
        _check_beta_zeros(X, is_sparse, beta)
        if is_sparse:
            csr = CSRMatrix.from_scipy(X)
            terms = SparseTerms(csr, beta) if beta > 0 else ObservedTerms(csr, beta)
            mean_of = functools.partial(_sparse_mean, X)
        else:
            terms = DenseTerms(X, beta, Vt=_fortran_transpose(V, X))
            mean_of = functools.partial(_dense_mean, X)
        m, n = X.shape
        return Problem(terms, X.shape, X.dtype, X, mean_of, np.full(m, n), np.full(n, m))
    return _masked_problem(V, beta, mask)


def _fortran_transpose(V, X):
    """V^T as a read-only C-ordered view of the caller's V where V is a
    Fortran-ordered array of X's dtype (X being its C-ordered copy), else
    None. A pandas DataFrame's values, a transposed array and many arrays
    from Fortran code come in that order; the fits that need V^T (masked
    or not) then use this view instead of a second copy: one-iteration fits
    on a Fortran-ordered V, float32, r = 10, the stock volumes (1,259 x 470)
    5.8-6.1 -> 4.4-4.7 ms, the faces (400 x 10,304) 28-30 -> 23-25 ms."""
    if not isinstance(V, np.ndarray) or V is X or V.dtype != X.dtype:
        return None
    if not (V.T.flags.c_contiguous and V.flags.aligned):  # aligned: as check_matrix requires of X
        return None
    return read_only(np.asarray(V).T)


def _check_beta_zeros(X, is_sparse, beta):
    if beta > 0:
        return
    has_zero = X.nnz < X.shape[0] * X.shape[1] if is_sparse else bool((X == 0).any())
    if has_zero:
        raise ValueError(
            f"loss with beta={beta} <= 0 (e.g. 'itakura-saito') is undefined where V is zero, and V has "
            "zeros. Add a small positive value to V, use a loss with beta > 0, or mask the zeros out."
        )


def _observed_problem(X, beta, name):
    """ObservedTerms on a CSR pattern whose stored entries are the observed ones."""
    weights = X.weights if X.weights.shape[0] else None
    observed = X.data if weights is None else X.data[weights > 0]
    if observed.size == 0:
        raise NothingObservedError(
            f"mask leaves nothing observed: {name} needs at least one observed entry.", X.shape, X.data.dtype
        )
    if beta <= 0 and (observed == 0).any():
        raise ValueError(
            f"loss with beta={beta} <= 0 is undefined where V is zero, and an observed entry of V is zero."
        )
    m, n = X.shape
    shown = X.data if weights is None else np.where(weights > 0, X.data, 0)
    init_data = sp.csr_array((shown, X.indices, X.indptr), shape=X.shape)
    positive = slice(None) if weights is None else weights > 0
    rows = np.repeat(np.arange(m), np.diff(X.indptr))[positive]
    cols = X.indices[positive]
    return Problem(
        ObservedTerms(X, beta),
        (m, n),
        X.data.dtype,
        init_data,
        _known(float(observed.mean(dtype=np.float64))),
        np.bincount(rows, minlength=m),
        np.bincount(cols, minlength=n),
    )


def _masked_problem(V, beta, mask):
    is_sparse_mask = sp.issparse(mask)
    X, is_sparse = check_matrix(V, allow_nan=not sp.issparse(V))
    dtype = X.dtype
    shape = X.shape
    M = _check_mask(mask, shape, dtype)
    if not is_sparse and not is_sparse_mask:
        observed = M > 0
        if not observed.any():
            raise NothingObservedError(NOTHING_OBSERVED, shape, dtype)
        values = X[observed]
        if np.isnan(values).any():
            raise ValueError("V holds NaN where mask is non-zero: mask out every NaN (e.g. mask=~np.isnan(V)).")
        if beta <= 0 and (values == 0).any():
            raise ValueError(f"loss with beta={beta} <= 0 is undefined where V is zero, and an observed entry is zero.")
        init_data = np.where(observed, X, 0)
        return Problem(
            DenseTerms(X, beta, weights=M, Vt=_fortran_transpose(V, X)),
            shape,
            dtype,
            init_data,
            _known(float(values.mean(dtype=np.float64))),
            observed.sum(axis=1),
            observed.sum(axis=0),
        )
    # Everything else fits only the mask's nonzero pattern, in O(nnz r).
    pattern = sp.csr_array(M) if not is_sparse_mask else M
    rows, cols = _pattern_coordinates(pattern)
    weights = np.asarray(pattern.data, dtype=dtype)
    values = np.asarray(X[rows, cols]).ravel().astype(dtype, copy=False)
    if np.isnan(values).any():
        raise ValueError("V holds NaN where mask is non-zero: mask out every NaN (e.g. mask=~np.isnan(V)).")
    csr = CSRMatrix(pattern.indptr, pattern.indices, np.ascontiguousarray(values), shape, np.ascontiguousarray(weights))
    return _observed_problem(csr, beta, "V")


def _sparse_mean(X):
    """The mean of a sparse V's m x n entries, the implicit zeros included."""
    return float(X.data.sum(dtype=np.float64)) / (X.shape[0] * X.shape[1])


def _dense_mean(X):
    return float(X.mean(dtype=np.float64))


def _known(mean):
    """Problem.mean_of for a mean already computed (the masked layouts take
    the observed entries out anyway, and should not keep them)."""
    return lambda: mean


def _pattern_coordinates(pattern):
    rows = np.repeat(np.arange(pattern.shape[0], dtype=pattern.indices.dtype), np.diff(pattern.indptr))
    return rows, pattern.indices


def _check_mask(mask, shape, dtype):
    """The mask as non-negative finite weights of ``dtype``: a dense array, or
    a canonical CSR copy whose stored entries are the positive weights."""
    if sp.issparse(mask):
        if mask.shape != shape:
            raise ValueError(f"mask must have V's shape {shape}; got {mask.shape}.")
        if mask.dtype.kind not in "biuf":
            raise TypeError(f"mask must hold booleans or non-negative weights; got dtype {mask.dtype}.")
        if mask.format in ("csr", "csc"):
            check_compressed_structure(mask, "mask")
        M = sp.csr_array(mask, dtype=dtype, copy=True)
        M.sum_duplicates()
        M.sort_indices()
        _check_weights(M.data)
        M.eliminate_zeros()
        index_dtype = np.int32 if max(M.nnz, *shape) < np.iinfo(np.int32).max else np.int64
        M.indices = M.indices.astype(index_dtype, copy=False)
        M.indptr = M.indptr.astype(index_dtype, copy=False)
        if M.nnz == 0:
            raise NothingObservedError(NOTHING_OBSERVED, shape, dtype)
        return M
    M = np.asarray(mask)
    if M.dtype.kind not in "biuf":
        raise TypeError(f"mask must hold booleans or non-negative weights; got dtype {M.dtype}.")
    if M.shape != shape:
        raise ValueError(f"mask must have V's shape {shape}; got {M.shape}.")
    M = np.ascontiguousarray(M, dtype=dtype)
    _check_weights(M)
    return M


def _check_weights(weights):
    if weights.size == 0:
        return
    if not np.isfinite(weights).all():
        raise ValueError("mask weights must be finite; got NaN or infinite weights.")
    if weights.min() < 0:
        raise ValueError(f"mask weights must be non-negative; the smallest is {weights.min()!r}.")
