"""Recommendation with a masked NMF of a ratings matrix.

Fit users x items ratings with only the rated entries observed,
``nmf(ratings, r, mask="observed", regularization_scale="observed")``, then:

- :func:`predict`: predicted ratings at given (user, item) pairs, without
  forming W H;
- :func:`top_k`: the k best unrated items of each user, in parallel and in
  blocks of users, so users x items never needs to fit in memory;
- :func:`fold_in`: W for new users from their few ratings, H fixed;
- :func:`rmse`, :func:`mae`: errors on held-out ratings;
- :func:`split_ratings`, :func:`ratings_folds`: train/test splits of the
  rated entries;
- :func:`load_ratings`: a (user, item, rating) file, such as MovieLens's
  ``u.data`` or ``ratings.dat`` (which users download themselves: their
  terms forbid redistribution), as a CSR matrix plus the id maps.

A sparse ratings matrix here is any SciPy sparse matrix whose stored entries
are the ratings (a stored zero is a rating of zero); entries not stored are
unknown.

Examples
--------
>>> import numpy as np
>>> import scipy.sparse as sp
>>> from fastnmf import nmf
>>> from fastnmf.recommend import predict, top_k
>>> ratings = sp.csr_array(np.array([[5, 3, 0, 1], [4, 0, 0, 1], [1, 1, 0, 5],
...                                  [1, 0, 0, 4], [0, 1, 5, 4]], dtype=float))
>>> fit = nmf(ratings, 2, mask="observed", max_iter=2000, tol=0)
>>> items, scores = top_k(fit.W, fit.H, 1, exclude=ratings)
>>> items[2:4, 0].tolist()  # users 3 and 4 are recommended book 3
[2, 2]
"""

import numpy as np
import scipy.sparse as sp

from ._api import check_fixed_H, transform
from ._jit import read_only
from ._kernels.recommend import predict_pairs, top_k_rows
from ._problem import NothingObservedError
from ._ratings_file import LAYOUTS, Ratings, load_ratings
from ._threads import numba_threads
from ._validation import (
    as_dense_array,
    check_compressed_structure,
    check_count,
    check_n_threads,
    check_random_state,
)

__all__ = [
    "LAYOUTS",
    "Ratings",
    "fold_in",
    "load_ratings",
    "mae",
    "predict",
    "ratings_folds",
    "rmse",
    "split_ratings",
    "top_k",
]

# Scores per block of :func:`top_k`: about this many entries (32 MiB in float64).
TOP_K_BLOCK_ENTRIES = 1 << 22


# --------------------------------------------------------------------------
# Factors and pairs
# --------------------------------------------------------------------------


def _check_factors(W, H):
    """W (m, r) and H (r, n) as C-contiguous arrays of one float dtype, and
    H transposed (n, r) for row access."""
    arrays = []
    for name, F in (("W", W), ("H", H)):
        F = as_dense_array(F, name)
        if F.ndim != 2 or F.shape[0] < 1 or F.shape[1] < 1:
            raise ValueError(f"{name} must be a non-empty 2-D array; got shape {F.shape}.")
        if F.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers; got dtype {F.dtype}.")
        if not np.isfinite(F).all():
            raise ValueError(f"{name} must be finite; it holds NaN or infinite values.")
        arrays.append(F)
    W, H = arrays
    if W.shape[1] != H.shape[0]:
        raise ValueError(f"W's columns and H's rows must agree (the rank r); got W {W.shape} and H {H.shape}.")
    dtype = np.result_type(W.dtype, H.dtype)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    W = np.ascontiguousarray(W, dtype=dtype)
    Ht = np.ascontiguousarray(H.T, dtype=dtype)
    return W, H.astype(dtype, copy=False), Ht


def _check_indices(indices, name, size, axis_name):
    indices = np.asarray(indices)
    if indices.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of {axis_name} indices; got shape {indices.shape}.")
    if indices.size and indices.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer {axis_name} indices; got dtype {indices.dtype}.")
    if indices.size and (indices.min() < 0 or indices.max() >= size):  # before int64, which wraps uint64 above 2^63
        bad = indices[(indices < 0) | (indices >= size)][0]
        raise ValueError(f"{name} must hold {axis_name} indices in [0, {size}); got {bad}.")
    return np.ascontiguousarray(indices, dtype=np.int64)


def _check_clip(clip):
    if clip is None:
        return None
    try:
        if isinstance(clip, (str, bytes)):  # "15" would unpack as (1, 5)
            raise TypeError
        low, high = (float(value) for value in clip)
    except (TypeError, ValueError):
        raise TypeError(f"clip must be None or a (low, high) pair of numbers; got {clip!r}.") from None
    if not low <= high:
        raise ValueError(f"clip must be a (low, high) pair with low <= high; got {clip!r}.")
    return low, high


def predict(W, H, rows, cols, *, clip=None, n_threads=None):
    """Predicted values (W H)_ij at given pairs, without forming W H.

    Parameters
    ----------
    W : array of shape (m, r)
        Fitted user factors (``nmf(...).W``).
    H : array of shape (r, n)
        Fitted item factors (``nmf(...).H``).
    rows, cols : int arrays of shape (p,)
        The pairs (rows[q], cols[q]): user and item indices.
    clip : (low, high) or None
        Clip the predictions to the rating scale, e.g. ``(1, 5)``.
    n_threads : int or None
        Numba threads (default: all).

    Returns
    -------
    ndarray of shape (p,)
        ``W[rows[q]] @ H[:, cols[q]]``, in the factors' dtype (float32 if
        both are float32, else float64). Cost O(p r), in parallel.
    """
    W, H, Ht = _check_factors(W, H)
    rows = _check_indices(rows, "rows", W.shape[0], "row")
    cols = _check_indices(cols, "cols", H.shape[1], "column")
    if rows.shape != cols.shape:
        raise ValueError(f"rows and cols must have the same length; got {rows.shape[0]} and {cols.shape[0]}.")
    clip = _check_clip(clip)
    n_threads = check_n_threads(n_threads)
    out = np.empty(rows.shape[0], dtype=W.dtype)
    if rows.shape[0]:
        with numba_threads(n_threads):
            predict_pairs(read_only(rows), read_only(cols), read_only(W), read_only(Ht), out)
    if clip is not None:
        np.clip(out, clip[0], clip[1], out=out)
    return out


def _check_ratings(ratings, name, shape=None, pattern_only=False):
    """A sparse ratings matrix as canonical CSR (a copy; stored zeros kept).
    With ``pattern_only`` (``top_k``'s ``exclude``) its values may be
    anything, NaN included: only where entries are stored matters."""
    if not sp.issparse(ratings):
        raise TypeError(
            f"{name} must be a SciPy sparse matrix whose stored entries are the ratings; "
            f"got {type(ratings).__name__}."
        )
    if ratings.ndim != 2:
        raise ValueError(f"{name} must be 2-D; got shape {ratings.shape}.")
    if shape is not None and ratings.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (users x items of W and H); got {ratings.shape}.")
    if ratings.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {ratings.dtype}.")
    if ratings.format in ("csr", "csc"):
        check_compressed_structure(ratings, name)
    X = sp.csr_array(ratings, copy=True)
    X.sum_duplicates()
    X.sort_indices()
    if X.nnz and not pattern_only and not np.isfinite(X.data).all():
        raise ValueError(f"{name} must hold finite ratings; it stores NaN or infinite values.")
    return X


def _stored_coordinates(X):
    rows = np.repeat(np.arange(X.shape[0], dtype=np.int64), np.diff(X.indptr))
    return rows, X.indices.astype(np.int64, copy=False)


# --------------------------------------------------------------------------
# Top-k
# --------------------------------------------------------------------------


def top_k(W, H, k, *, exclude=None, users=None, block_size=None, n_threads=None):
    """The k items with the highest predicted scores for each user.

    Scores are computed for a block of users at a time (a BLAS product of
    at most ``block_size`` x n entries), and the k best unexcluded items of
    each user are selected in parallel with a heap; users x items is never
    held in memory.

    Parameters
    ----------
    W : array of shape (m, r)
        Fitted user factors.
    H : array of shape (r, n)
        Fitted item factors.
    k : int
        How many items per user (at least 1).
    exclude : sparse matrix of shape (m, n) or None
        Items not to recommend to each user, typically the training ratings:
        every stored entry of row u (whatever its value) is excluded for u.
    users : int array of shape (b,) or None
        The users (rows of W) to recommend for; default all m, in order.
    block_size : int or None
        Users per block; default: as many as fit in about 4M scores.
    n_threads : int or None
        Numba threads for the selection (default: all).

    Returns
    -------
    items : int64 array of shape (b, k)
        Item indices, best first (ties: lower index first). -1 where a user
        has fewer than k items left after the exclusions.
    scores : array of shape (b, k)
        Their predicted scores, in the factors' dtype; -inf where ``items``
        is -1.
    """
    W, H, _ = _check_factors(W, H)
    m, n = W.shape[0], H.shape[1]
    k = check_count(k, "k")
    if k < 1:
        raise ValueError(f"k must be a positive integer; got {k}.")
    users = np.arange(m, dtype=np.int64) if users is None else _check_indices(users, "users", m, "user")
    if exclude is None:
        exclude_indptr = np.zeros(1, dtype=np.int64)
        exclude_indices = np.zeros(0, dtype=np.int64)
    else:
        X = _check_ratings(exclude, "exclude", shape=(m, n), pattern_only=True)
        exclude_indptr = X.indptr.astype(np.int64, copy=False)
        exclude_indices = X.indices.astype(np.int64, copy=False)
    if block_size is None:
        block_size = max(1, TOP_K_BLOCK_ENTRIES // n)
    else:
        block_size = check_count(block_size, "block_size")
        if block_size < 1:
            raise ValueError(f"block_size must be a positive integer; got {block_size}.")
    n_threads = check_n_threads(n_threads)

    b = users.shape[0]
    items = np.empty((b, k), dtype=np.int64)
    scores = np.empty((b, k), dtype=W.dtype)
    block = np.empty((min(block_size, max(b, 1)), n), dtype=W.dtype)
    users, exclude_indptr, exclude_indices = read_only(users), read_only(exclude_indptr), read_only(exclude_indices)
    with numba_threads(n_threads):
        for start in range(0, b, block_size):
            stop = min(b, start + block_size)
            batch = users[start:stop]
            block_scores = block[: stop - start]
            np.matmul(W[batch], H, out=block_scores)
            top_k_rows(block_scores, batch, exclude_indptr, exclude_indices, items[start:stop], scores[start:stop])
    return items, scores


# --------------------------------------------------------------------------
# Fold-in and errors
# --------------------------------------------------------------------------


def fold_in(
    ratings,
    H,
    *,
    loss="frobenius",
    max_iter=200,
    tol=1e-4,
    alpha_W=0.0,
    l1_ratio=0.0,
    regularization_scale="observed",
    n_threads=None,
):
    """W for new users from their ratings, with the fitted H fixed.

    Only the given ratings are fitted (``fastnmf.transform(...,
    mask="observed")``), so a new user with five ratings is placed from those
    five, not from five ratings and thousands of zeros. Use the same
    ``loss`` and regularization as the fit.

    Parameters
    ----------
    ratings : sparse matrix of shape (u, n), or array of shape (u, n)
        The new users' ratings over the n items of H: the stored entries of
        a sparse matrix, or the non-NaN entries of a dense array.
    H : array of shape (r, n)
        Fitted item factors.
    loss, max_iter, tol, alpha_W, l1_ratio, regularization_scale, n_threads
        As in :func:`fastnmf.transform`; ``regularization_scale`` defaults
        to "observed" here (each user's penalty scales with their number of
        ratings, as in Surprise's NMF).

    Returns
    -------
    ndarray of shape (u, r)
        The new users' factors; a user with no rating gets zeros.
    """
    if sp.issparse(ratings):
        V, mask = ratings, "observed"
    else:
        V = np.asarray(ratings)
        if V.dtype.kind != "f":
            raise TypeError(
                f"ratings must be a sparse matrix, or a float array with NaN where not rated; got dtype {V.dtype}."
            )
        mask = ~np.isnan(V)
    try:
        return transform(
            V, H, loss=loss, mask=mask, max_iter=max_iter, tol=tol, alpha_W=alpha_W,
            l1_ratio=l1_ratio, regularization_scale=regularization_scale, n_threads=n_threads,
        )  # fmt: skip
    except NothingObservedError as nothing:  # nobody in the batch has rated anything (transform has nothing to fit)
        m, n = nothing.shape
        return np.zeros((m, check_fixed_H(H, n).shape[0]), dtype=nothing.dtype)


def _errors(W, H, test, clip, n_threads):
    W, H, _ = _check_factors(W, H)
    X = _check_ratings(test, "test", shape=(W.shape[0], H.shape[1]))
    if X.nnz == 0:
        raise ValueError("test must store at least one rating.")
    rows, cols = _stored_coordinates(X)
    predicted = predict(W, H, rows, cols, clip=clip, n_threads=n_threads)
    return predicted.astype(np.float64) - X.data.astype(np.float64)


def rmse(W, H, test, *, clip=None, n_threads=None):
    """Root-mean-square error of the predictions at held-out ratings.

    Parameters
    ----------
    W : array of shape (m, r)
        Fitted user factors.
    H : array of shape (r, n)
        Fitted item factors.
    test : sparse matrix of shape (m, n)
        The held-out ratings (its stored entries).
    clip : (low, high) or None
        Clip predictions to the rating scale first (Surprise does, by
        default, when it computes accuracy).
    n_threads : int or None
        Numba threads (default: all).

    Returns
    -------
    float
        sqrt(mean((prediction - rating)^2)) over the stored entries of ``test``.
    """
    errors = _errors(W, H, test, clip, n_threads)
    return float(np.sqrt(np.mean(errors * errors)))


def mae(W, H, test, *, clip=None, n_threads=None):
    """Mean absolute error of the predictions at held-out ratings.

    Parameters are those of :func:`rmse`.

    Returns
    -------
    float
        ``mean(|prediction - rating|)`` over the stored entries of ``test``.
    """
    return float(np.mean(np.abs(_errors(W, H, test, clip, n_threads))))


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------


def _check_fraction(test_fraction):
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float, np.floating, np.integer)):
        raise TypeError(f"test_fraction must be a number in (0, 1); got {type(test_fraction).__name__}.")
    if not 0 < float(test_fraction) < 1:
        raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}.")
    return float(test_fraction)


def _fold_labels(X, n_folds, rng, stratify):
    """A fold in 0..n_folds-1 for each stored entry of X: a random
    permutation dealt round-robin, over all entries or within each row."""
    nnz = X.nnz
    if not stratify:
        labels = np.empty(nnz, dtype=np.int64)
        labels[rng.permutation(nnz)] = np.arange(nnz) % n_folds
        return labels
    # Within each row: shuffle the row's entries, deal folds 0, 1, ...
    # starting at a random fold so that rows with few entries do not all
    # put them in the first folds.
    rows, _ = _stored_coordinates(X)
    order = np.lexsort((rng.random(nnz), rows))  # shuffled within each row
    position = np.arange(nnz) - np.repeat(X.indptr[:-1], np.diff(X.indptr))
    offsets = rng.integers(0, n_folds, size=X.shape[0])
    labels = np.empty(nnz, dtype=np.int64)
    labels[order] = (position + offsets[rows]) % n_folds
    return labels


def _subset(X, keep):
    rows, cols = _stored_coordinates(X)
    return sp.csr_array((X.data[keep], (rows[keep], cols[keep])), shape=X.shape)


def split_ratings(ratings, test_fraction=0.2, *, random_state=None, stratify=False):
    """Split the stored ratings into a train and a test matrix.

    Parameters
    ----------
    ratings : sparse matrix of shape (m, n)
        The ratings (its stored entries).
    test_fraction : float in (0, 1), default 0.2
        Share of the ratings that go to test.
    random_state : None, int or numpy.random.Generator
        Seeds the split; the same seed gives the same split.
    stratify : bool, default False
        If True, split each user's (row's) ratings in the proportion
        ``test_fraction`` (rounded, and never a user's only rating), so that
        every user with two or more ratings is in both parts; otherwise
        draw the test ratings uniformly from all of them.

    Returns
    -------
    train, test : CSR arrays of shape (m, n)
        Disjoint, and together they hold every stored rating.
    """
    X = _check_ratings(ratings, "ratings")
    test_fraction = _check_fraction(test_fraction)
    rng = check_random_state(random_state)
    nnz = X.nnz
    if not stratify:
        n_test = int(round(test_fraction * nnz))
        in_test = np.zeros(nnz, dtype=bool)
        in_test[rng.choice(nnz, size=n_test, replace=False)] = True
    else:
        rows, _ = _stored_coordinates(X)
        counts = np.diff(X.indptr)
        n_test_row = np.minimum(np.round(test_fraction * counts).astype(np.int64), np.maximum(counts - 1, 0))
        order = np.lexsort((rng.random(nnz), rows))  # shuffled within each row
        position = np.arange(nnz) - np.repeat(X.indptr[:-1], counts)
        in_test = np.empty(nnz, dtype=bool)
        in_test[order] = position < n_test_row[rows]
    return _subset(X, ~in_test), _subset(X, in_test)


def ratings_folds(ratings, n_folds=5, *, random_state=None, stratify=False):
    """K-fold cross-validation splits of the stored ratings.

    Parameters
    ----------
    ratings : sparse matrix of shape (m, n)
        The ratings (its stored entries).
    n_folds : int, default 5
        Number of folds (at least 2).
    random_state : None, int or numpy.random.Generator
        Seeds the assignment of ratings to folds.
    stratify : bool, default False
        If True, deal each user's ratings evenly over the folds.

    Returns
    -------
    list of (train, test) pairs of CSR arrays of shape (m, n)
        Each rating is in exactly one test part.
    """
    X = _check_ratings(ratings, "ratings")
    n_folds = check_count(n_folds, "n_folds")
    if n_folds < 2 or n_folds > max(X.nnz, 2):
        raise ValueError(f"n_folds must be between 2 and the number of ratings ({X.nnz}); got {n_folds}.")
    rng = check_random_state(random_state)
    labels = _fold_labels(X, n_folds, rng, stratify)
    return [(_subset(X, labels != fold), _subset(X, labels == fold)) for fold in range(n_folds)]
