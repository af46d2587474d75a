"""fastnmf.recommend against plain NumPy computations, and the users x books
use case of the source document."""

import doctest

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import fastnmf.recommend
import naive
from fastnmf import nmf
from fastnmf.recommend import (
    fold_in,
    load_ratings,
    mae,
    predict,
    ratings_folds,
    rmse,
    split_ratings,
    top_k,
)


def random_factors(m, n, r, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((m, r)).astype(dtype), rng.random((r, n)).astype(dtype)


def random_ratings(m, n, density, seed=0, scale=5):
    """A CSR ratings matrix with integer ratings 1..scale."""
    rng = np.random.default_rng(seed)
    X = sp.random_array((m, n), density=density, rng=rng, format="csr")
    X.data = np.ceil(X.data * scale)
    return X


def dense_top_k(W, H, k, exclude=None, users=None):
    """The reference: a stable descending argsort of the dense scores (ties:
    lower index first), excluded items dropped."""
    scores = np.asarray(W, dtype=np.float64) @ np.asarray(H, dtype=np.float64)
    scores = scores.astype(np.result_type(W.dtype, H.dtype))
    users = np.arange(W.shape[0]) if users is None else np.asarray(users)
    items = np.full((len(users), k), -1)
    values = np.full((len(users), k), -np.inf, dtype=scores.dtype)
    for row, user in enumerate(users):
        allowed = np.ones(H.shape[1], dtype=bool)
        if exclude is not None:
            allowed[sp.csr_array(exclude)[[user]].indices] = False
        candidates = np.flatnonzero(allowed)
        order = candidates[np.argsort(-scores[user, candidates], kind="stable")][:k]
        items[row, : len(order)] = order
        values[row, : len(order)] = scores[user, order]
    return items, values


# --------------------------------------------------------------------------
# predict
# --------------------------------------------------------------------------


def test_predict_matches_numpy(dtype, n_threads):
    W, H = random_factors(30, 20, 4, dtype)
    rng = np.random.default_rng(1)
    rows, cols = rng.integers(0, 30, 200), rng.integers(0, 20, 200)
    predicted = predict(W, H, rows, cols)
    assert predicted.dtype == dtype
    assert_allclose(predicted, (W.astype(np.float64) @ H)[rows, cols], rtol=1e-6 if dtype == np.float32 else 1e-13)


def test_predict_clips_and_handles_no_pairs():
    W, H = random_factors(5, 4, 2)
    W *= 10
    rows, cols = np.repeat(np.arange(5), 4), np.tile(np.arange(4), 5)
    assert_allclose(predict(W, H, rows, cols, clip=(1, 5)), np.clip(W @ H, 1, 5).ravel())
    assert predict(W, H, [], []).shape == (0,)


def test_predict_mixed_dtypes_compute_in_float64():
    W, H = random_factors(5, 4, 2, np.float32)
    assert predict(W, H.astype(np.float64), [0], [1]).dtype == np.float64
    assert predict(W.astype(int), H.astype(int), [0], [1]).dtype == np.float64


@pytest.mark.parametrize(
    "rows, cols, W_shape, H_shape, error, match",
    [
        ([5], [0], (5, 2), (2, 4), ValueError, r"rows must hold row indices in \[0, 5\); got 5"),
        ([-1], [0], (5, 2), (2, 4), ValueError, r"rows must hold row indices in \[0, 5\); got -1"),
        ([0], [4], (5, 2), (2, 4), ValueError, r"cols must hold column indices in \[0, 4\); got 4"),
        ([0.5], [0], (5, 2), (2, 4), TypeError, "rows must hold integer row indices"),
        ([0, 1], [0], (5, 2), (2, 4), ValueError, "rows and cols must have the same length; got 2 and 1"),
        ([[0]], [0], (5, 2), (2, 4), ValueError, "rows must be a 1-D array"),
        ([0], [0], (5, 2), (3, 4), ValueError, r"W's columns and H's rows must agree .* W \(5, 2\) and H \(3, 4\)"),
        ([0], [0], (5,), (2, 4), ValueError, "W must be a non-empty 2-D array"),
    ],
)
def test_predict_bad_input(rows, cols, W_shape, H_shape, error, match):
    with pytest.raises(error, match=match):
        predict(np.ones(W_shape), np.ones(H_shape), rows, cols)


def test_predict_bad_factors_and_clip():
    W, H = random_factors(5, 4, 2)
    with pytest.raises(TypeError, match="W must be a dense NumPy array; got a sparse matrix"):
        predict(sp.csr_array(W), H, [0], [0])
    bad = H.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="H must be finite"):
        predict(W, bad, [0], [0])
    with pytest.raises(TypeError, match="H must hold real numbers"):
        predict(W, H.astype(complex), [0], [0])
    with pytest.raises(ValueError, match=r"clip must be a \(low, high\) pair with low <= high"):
        predict(W, H, [0], [0], clip=(5, 1))
    with pytest.raises(TypeError, match="clip must be None or a"):
        predict(W, H, [0], [0], clip=5)
    with pytest.raises(TypeError, match="clip must be None or a .*; got '15'"):
        predict(W, H, [0], [0], clip="15")  # not (1, 5)


def test_predict_names_an_unsigned_index_as_given():
    W, H = random_factors(5, 4, 2)
    with pytest.raises(ValueError, match=r"rows must hold row indices in \[0, 5\); got 9223372036854775808"):
        predict(W, H, np.array([2**63], dtype=np.uint64), [0])


# --------------------------------------------------------------------------
# top_k
# --------------------------------------------------------------------------


@pytest.mark.parametrize("block_size", [1, 3, None])
@pytest.mark.parametrize("with_exclude", [False, True])
def test_top_k_in_blocks_equals_dense_argsort(block_size, with_exclude, dtype, n_threads):
    W, H = random_factors(23, 17, 3, dtype, seed=2)
    exclude = random_ratings(23, 17, 0.3, seed=3) if with_exclude else None
    items, scores = top_k(W, H, 5, exclude=exclude, block_size=block_size)
    ref_items, ref_scores = dense_top_k(W, H, 5, exclude)
    assert items.dtype == np.int64 and scores.dtype == dtype
    assert_array_equal(items, ref_items)
    assert_allclose(scores, ref_scores, rtol=1e-6 if dtype == np.float32 else 1e-13)


def test_top_k_for_a_subset_of_users_and_default_blocks(monkeypatch):
    monkeypatch.setattr(fastnmf.recommend, "TOP_K_BLOCK_ENTRIES", 40)  # blocks of 2 users
    W, H = random_factors(30, 19, 4, seed=4)
    exclude = random_ratings(30, 19, 0.4, seed=5)
    users = np.array([7, 3, 29, 3, 0])
    items, scores = top_k(W, H, 6, exclude=exclude, users=users)
    ref_items, ref_scores = dense_top_k(W, H, 6, exclude, users)
    assert_array_equal(items, ref_items)
    assert_allclose(scores, ref_scores)


def test_top_k_ties_go_to_the_lower_index():
    W = np.ones((3, 1))
    H = np.array([[2.0, 1.0, 2.0, 3.0, 2.0, 1.0]])
    items, _ = top_k(W, H, 6)
    assert_array_equal(items, np.tile([3, 0, 2, 4, 1, 5], (3, 1)))
    assert_array_equal(top_k(W, H, 3)[0], dense_top_k(W, H, 3)[0])


def test_top_k_pads_users_with_fewer_items_left():
    W, H = random_factors(3, 4, 2, seed=6)
    exclude = sp.csr_array(np.array([[1, 1, 1, 1], [1, 0, 1, 0], [0, 0, 0, 0]]))
    items, scores = top_k(W, H, 3, exclude=exclude)
    assert_array_equal(items[0], [-1, -1, -1])
    assert np.all(scores[0] == -np.inf)
    assert set(items[1][:2]) == {1, 3} and items[1][2] == -1
    assert np.all(items[2] >= 0)
    assert_array_equal(items, dense_top_k(W, H, 3, exclude)[0])


def test_top_k_excludes_stored_zeros_too():
    W, H = random_factors(2, 3, 1, seed=7)
    exclude = sp.csr_array((np.array([0.0]), np.array([int(np.argmax(W[0] @ H))]), np.array([0, 1, 1])), shape=(2, 3))
    assert exclude.nnz == 1
    items, _ = top_k(W, H, 1, exclude=exclude)
    assert items[0, 0] != exclude.indices[0]


def test_top_k_excludes_stored_entries_whatever_their_value():
    """Only the pattern of ``exclude`` matters: NaN and inf are stored entries too."""
    W, H = random_factors(2, 4, 2, seed=3)
    exclude = sp.csr_array((np.array([np.nan, np.inf]), np.array([1, 2]), np.array([0, 2, 2])), shape=(2, 4))
    items, _ = top_k(W, H, 4, exclude=exclude)
    assert set(items[0]) == {0, 3, -1}
    assert set(items[1]) == {0, 1, 2, 3}


def test_top_k_does_not_modify_exclude():
    W, H = random_factors(4, 5, 2)
    exclude = sp.csr_array((np.ones(3), np.array([3, 1, 3]), np.array([0, 3, 3, 3, 3])), shape=(4, 5))
    before = exclude.indices.copy()
    top_k(W, H, 2, exclude=exclude)
    assert_array_equal(exclude.indices, before)


def test_top_k_bad_input():
    W, H = random_factors(4, 5, 2)
    with pytest.raises(ValueError, match="k must be a positive integer; got 0"):
        top_k(W, H, 0)
    with pytest.raises(TypeError, match="k must be a non-negative integer"):
        top_k(W, H, 2.5)
    with pytest.raises(ValueError, match=r"exclude must have shape \(4, 5\)"):
        top_k(W, H, 2, exclude=sp.csr_array((5, 4)))
    with pytest.raises(TypeError, match="exclude must be a SciPy sparse matrix"):
        top_k(W, H, 2, exclude=np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"users must hold user indices in \[0, 4\); got 4"):
        top_k(W, H, 2, users=[4])
    with pytest.raises(ValueError, match="block_size must be a positive integer; got 0"):
        top_k(W, H, 2, block_size=0)


# --------------------------------------------------------------------------
# fold_in, rmse, mae
# --------------------------------------------------------------------------


@pytest.mark.parametrize("scale", ["observed", "shape"])
def test_fold_in_is_the_masked_w_update_with_h_fixed(scale):
    _, H = random_factors(1, 6, 2, seed=8)
    ratings = sp.csr_array(np.array([[5.0, 0, 0, 1, 0, 0], [0, 2, 3, 0, 0, 4], [0, 0, 0, 0, 0, 0]]))
    W = fold_in(ratings, H, max_iter=5, tol=0, alpha_W=0.1, regularization_scale=scale)
    dense = ratings.toarray()
    M = dense > 0
    counts = M.sum(axis=1) if scale == "observed" else np.full(3, 6)
    W_ref = np.full((3, 2), np.sqrt(dense[M].mean() / 2))
    for _ in range(5):
        W_ref = naive.mu_update_W(dense, W_ref, H, 2.0, M, l2=0.1 * counts)
    assert_allclose(W, W_ref, rtol=1e-10)
    assert_array_equal(W[2], 0)  # a user with no rating
    # The same users as a dense array with NaN where not rated.
    assert_allclose(fold_in(np.where(M, dense, np.nan), H, max_iter=5, tol=0, alpha_W=0.1,
                            regularization_scale=scale), W, rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fold_in_users_without_any_rating_get_zeros(dtype):
    """A batch in which nobody has rated anything: zeros, as for one such
    user among others (transform has no entry to fit, and says so for nmf)."""
    _, H = random_factors(1, 5, 2)
    for ratings in (sp.csr_array((3, 5), dtype=dtype), np.full((3, 5), np.nan, dtype=dtype)):
        W = fold_in(ratings, H)
        assert W.dtype == dtype
        assert_array_equal(W, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"H must have shape \(r, 4\)"):
        fold_in(sp.csr_array((3, 4)), H)


def test_fold_in_bad_input():
    _, H = random_factors(1, 3, 2)
    with pytest.raises(TypeError, match="ratings must be a sparse matrix, or a float array with NaN"):
        fold_in(np.ones((2, 3), dtype=int), H)
    with pytest.raises(ValueError, match=r"H must have shape \(r, 3\)"):
        fold_in(sp.csr_array(np.ones((2, 3))), H[:, :2])


def test_rmse_and_mae_match_numpy():
    W, H = random_factors(12, 9, 3, seed=9)
    test = random_ratings(12, 9, 0.3, seed=10)
    rows, cols = test.nonzero()
    errors = (W @ H)[rows, cols] - test.toarray()[rows, cols]
    assert_allclose(rmse(W, H, test), np.sqrt(np.mean(errors**2)))
    assert_allclose(mae(W, H, test), np.mean(np.abs(errors)))
    clipped = np.clip((W @ H)[rows, cols], 1, 5) - test.toarray()[rows, cols]
    assert_allclose(rmse(W, H, test, clip=(1, 5)), np.sqrt(np.mean(clipped**2)))
    assert_allclose(mae(W, H, test.tocoo(), clip=(1, 5)), np.mean(np.abs(clipped)))


def test_rmse_bad_input():
    W, H = random_factors(3, 4, 2)
    with pytest.raises(ValueError, match="test must store at least one rating"):
        rmse(W, H, sp.csr_array((3, 4)))
    with pytest.raises(ValueError, match=r"test must have shape \(3, 4\)"):
        rmse(W, H, sp.csr_array(np.ones((4, 3))))
    with pytest.raises(ValueError, match="test must hold finite ratings"):
        rmse(W, H, sp.csr_array(np.array([[np.nan, 0, 0, 0], [0] * 4, [0] * 4])))


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------


def as_set(X):
    rows, cols = X.nonzero()
    return set(zip(rows.tolist(), cols.tolist(), X[rows, cols].tolist()))


@pytest.mark.parametrize("stratify", [False, True])
def test_split_is_disjoint_complete_and_reproducible(stratify):
    ratings = random_ratings(40, 30, 0.2, seed=11)
    train, test = split_ratings(ratings, 0.25, random_state=3, stratify=stratify)
    assert train.shape == test.shape == ratings.shape
    assert not as_set(train) & as_set(test)
    assert as_set(train) | as_set(test) == as_set(ratings)
    assert abs(test.nnz - 0.25 * ratings.nnz) <= (ratings.shape[0] if stratify else 1)
    again = split_ratings(ratings, 0.25, random_state=3, stratify=stratify)
    assert as_set(again[1]) == as_set(test)
    assert as_set(split_ratings(ratings, 0.25, random_state=4, stratify=stratify)[1]) != as_set(test)


def test_stratified_split_splits_each_user():
    ratings = random_ratings(40, 30, 0.2, seed=12)
    train, test = split_ratings(ratings, 0.3, random_state=0, stratify=True)
    counts = np.diff(ratings.indptr)
    expected = np.minimum(np.round(0.3 * counts), np.maximum(counts - 1, 0))
    assert_array_equal(np.diff(test.indptr), expected)
    assert np.all(np.diff(train.indptr)[counts >= 1] >= 1)


def test_split_keeps_stored_zero_ratings():
    rows, cols = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 2])
    ratings = sp.csr_array((np.array([0.0, 3.0, 0.0, 1.0]), (rows, cols)), shape=(2, 3))
    assert ratings.nnz == 4
    train, test = split_ratings(ratings, 0.5, random_state=0)
    assert train.nnz + test.nnz == 4


@pytest.mark.parametrize("stratify", [False, True])
def test_folds_cover_every_rating_once(stratify):
    ratings = random_ratings(25, 20, 0.3, seed=13)
    folds = ratings_folds(ratings, 4, random_state=0, stratify=stratify)
    assert len(folds) == 4
    seen = set()
    for train, test in folds:
        assert not as_set(train) & as_set(test)
        assert as_set(train) | as_set(test) == as_set(ratings)
        assert not seen & as_set(test)
        seen |= as_set(test)
    assert seen == as_set(ratings)
    sizes = [test.nnz for _, test in folds]
    if stratify:
        per_user = np.array([np.diff(test.indptr) for _, test in folds])
        assert np.all(per_user.max(axis=0) - per_user.min(axis=0) <= 1)
    else:
        assert max(sizes) - min(sizes) <= 1


def test_split_bad_input():
    ratings = random_ratings(5, 5, 0.5)
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\); got 1.5"):
        split_ratings(ratings, 1.5)
    with pytest.raises(TypeError, match="test_fraction must be a number"):
        split_ratings(ratings, "0.2")
    with pytest.raises(TypeError, match="ratings must be a SciPy sparse matrix"):
        split_ratings(ratings.toarray())
    with pytest.raises(ValueError, match="n_folds must be between 2 and the number of ratings"):
        ratings_folds(ratings, 1)


# --------------------------------------------------------------------------
# load_ratings
# --------------------------------------------------------------------------


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


@pytest.mark.parametrize(
    "name, text, layout",
    [
        ("u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n\n22\t242\t1\t878887116\n", "auto"),
        ("u.data", "196\t242\t3\t881250949\r\n186\t302\t3\t891717742\r\n22\t242\t1\t878887116\r\n", "movielens-100k"),
        ("ratings.dat", "196::242::3::978300760\n186::302::3::978302109\n22::242::1::978301968", "auto"),
        ("ratings.csv", "userId,movieId,rating,timestamp\n196,242,3.0,1\n186,302,3.0,2\n22,242,1.0,3\n", "auto"),
        ("plain.csv", "196,242,3\n186,302,3\n22,242,1\n", "csv"),
    ],
    ids=["100k", "100k-crlf", "1m", "csv-header", "csv-plain"],
)
def test_load_ratings_layouts(tmp_path, name, text, layout):
    ratings = load_ratings(write(tmp_path, name, text), layout=layout)
    assert_array_equal(ratings.user_ids, [22, 186, 196])
    assert_array_equal(ratings.item_ids, [242, 302])
    assert ratings.user_ids.dtype == np.int64
    assert sp.issparse(ratings.matrix) and ratings.matrix.format == "csr"
    assert_array_equal(ratings.matrix.toarray(), [[1, 0], [0, 3], [3, 0]])


def test_load_ratings_string_ids_and_float32(tmp_path):
    path = write(tmp_path, "r.csv", "user,item,rating\nbob,book b,4.5\nann,book a,0\nbob,book a,2\n")
    ratings = load_ratings(path, dtype=np.float32)
    assert_array_equal(ratings.user_ids, ["ann", "bob"])
    assert_array_equal(ratings.item_ids, ["book a", "book b"])
    assert ratings.matrix.dtype == np.float32
    assert ratings.matrix.nnz == 3  # the rating of 0 is stored
    assert_array_equal(ratings.matrix.toarray(), [[0, 0], [2, 4.5]])


@pytest.mark.parametrize(
    "text, layout, match",
    [
        ("1\t2\t3\n4\t5\n", "auto", r"line 2: expected user, item and rating \(movielens-100k layout\)"),
        ("1::2::3\n4::5::x::0\n", "auto", r"line 2: the rating 'x' is not a number"),
        ("1,2,3\n\n1,2,nan\n", "csv", r"line 3: the rating 'nan' is not finite"),
        ("u,i,r\n1,2,3\n1,2,4\n", "csv", r"line 3: user '1' rated item '2' again \(first at line 2\)"),
        ("1,,3\n", "csv", r"line 1: expected user, item and rating"),
        ("\n\n", "auto", "holds no ratings"),
        ("1 2 3\n", "auto", "cannot tell the layout from the first line '1 2 3'"),
    ],
    ids=["too-few-fields", "bad-rating", "nan-rating", "duplicate", "empty-item", "empty-file", "unknown-layout"],
)
def test_load_ratings_malformed_lines_name_file_and_line(tmp_path, text, layout, match):
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(ValueError, match=match) as info:
        load_ratings(path, layout=layout)
    assert str(path) in str(info.value)


def test_load_ratings_bad_arguments(tmp_path):
    path = write(tmp_path, "r.csv", "1,2,3\n")
    with pytest.raises(ValueError, match="layout must be one of"):
        load_ratings(path, layout="tsv")
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        load_ratings(path, dtype=int)


# --------------------------------------------------------------------------
# The source document's use case: users x books, 0 = not rated
# --------------------------------------------------------------------------

BOOKS = np.array([[5, 3, 0, 1], [4, 0, 0, 1], [1, 1, 0, 5], [1, 0, 0, 4], [0, 1, 5, 4]], dtype=float)
RATED = BOOKS > 0

# Settings that recommend robustly (checked over 100 seeds each): the
# default NNDSVDa start, NNDSVDar, or a random start with a little
# regularization. A random start without regularization does not: 13
# ratings cannot pin down 2 x (5 + 4) factors, and book 3's column, rated
# once, may come out high for everyone.
USE_CASE_SETTINGS = {
    "nndsvda": dict(max_iter=2000),
    "nndsvdar": dict(init="nndsvdar", max_iter=2000),
    "random-regularized": dict(init="random", alpha_W=0.02, regularization_scale="observed", max_iter=1000, tol=0),
}


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("as_sparse", [True, False], ids=["observed", "boolean-mask"])
@pytest.mark.parametrize("setting", sorted(USE_CASE_SETTINGS))
def test_books_use_case_recommends_book_3_to_users_3_and_4(setting, as_sparse, seed, dtype):
    V = sp.csr_array(BOOKS.astype(dtype)) if as_sparse else BOOKS.astype(dtype)
    mask = "observed" if as_sparse else RATED
    fit = nmf(V, 2, mask=mask, random_state=seed, **USE_CASE_SETTINGS[setting])
    predicted = fit.W.astype(np.float64) @ fit.H
    # The known ratings are reproduced closely.
    assert np.abs(predicted - BOOKS)[RATED].max() < 0.1
    # Book 3 (index 2): users 3 and 4 (who rate like user 5) would rate it
    # highly, users 1 and 2 would not.
    assert predicted[2:4, 2].min() > 4.5
    assert predicted[0:2, 2].max() < 3.0
    # And it is the first unrated book recommended to users 3 and 4.
    items, _ = top_k(fit.W, fit.H, 1, exclude=sp.csr_array(BOOKS), users=[2, 3])
    assert_array_equal(items[:, 0], [2, 2])


def test_books_use_case_fold_in_a_new_user():
    """A new reader who liked book 4 and not book 1, like user 5, is
    recommended book 3, without refitting."""
    fit = nmf(sp.csr_array(BOOKS), 2, mask="observed", random_state=0, max_iter=2000)
    new_user = sp.csr_array(np.array([[1.0, 0, 0, 5]]))
    W_new = fold_in(new_user, fit.H, max_iter=500)
    items, _ = top_k(W_new, fit.H, 1, exclude=new_user)
    assert items[0, 0] == 2
    assert predict(W_new, fit.H, [0], [2])[0] > 4


def test_module_examples_run():
    failures, _ = doctest.testmod(fastnmf.recommend, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0


def test_load_ratings_keeps_ids_written_differently_apart(tmp_path):
    ratings = load_ratings(write(tmp_path, "r.csv", "7,1,3\n007,1,4\n10,2,5\n"))
    assert_array_equal(ratings.user_ids, ["007", "10", "7"])
    assert_array_equal(ratings.matrix.toarray(), [[4, 0], [0, 5], [3, 0]])
