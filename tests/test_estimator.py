"""fastnmf.NMF, the scikit-learn estimator: scikit-learn's own estimator
checks, equivalence with sklearn.decomposition.NMF, and use in Pipeline,
GridSearchCV, clone and pickle."""

import inspect
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.decomposition import NMF as SklearnNMF  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastnmf  # noqa: E402
from fastnmf.estimator import NMF  # noqa: E402

HAS_SOLVERS = "solver" in inspect.signature(fastnmf.nmf).parameters


def count_data(m=30, n=12, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (rng.random((m, 3)) @ rng.random((3, n)) * 5 + rng.random((m, n))).astype(dtype)


# scikit-learn checks its own NMF with max_iter=500 (its instance generator);
# so do we, with the default solver.
@parametrize_with_checks([NMF(max_iter=500)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_importing_fastnmf_does_not_import_sklearn():
    code = "import sys, fastnmf, fastnmf.io, fastnmf.cli; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_exported_lazily_from_the_package():
    try:
        exported = fastnmf.NMF
    except AttributeError:
        pytest.skip("fastnmf/__init__.py does not export NMF yet")
    assert exported is NMF


def test_same_result_as_sklearn_mu_from_the_same_start():
    X = count_data()
    rng = np.random.default_rng(1)
    W0, H0 = rng.random((30, 4)), rng.random((4, 12))
    settings = dict(n_components=4, init="custom", solver="mu", beta_loss="kullback-leibler", max_iter=50, tol=0)
    ours = NMF(**settings)
    W = ours.fit_transform(X, W=W0, H=H0)
    theirs = SklearnNMF(**settings)
    W_ref = theirs.fit_transform(X, W=W0.copy(), H=H0.copy())
    np.testing.assert_allclose(W, W_ref, rtol=1e-8)
    np.testing.assert_allclose(ours.components_, theirs.components_, rtol=1e-8)
    assert ours.reconstruction_err_ == pytest.approx(theirs.reconstruction_err_, rel=1e-8)
    assert ours.n_iter_ == theirs.n_iter_ == 50
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-6)


def test_regularized_objective_matches_sklearn():
    X = count_data()
    rng = np.random.default_rng(2)
    W0, H0 = rng.random((30, 3)), rng.random((3, 12))
    settings = dict(
        n_components=3, init="custom", solver="mu", alpha_W=0.01, alpha_H=0.02, l1_ratio=0.5, max_iter=30, tol=0
    )
    W = NMF(**settings).fit_transform(X, W=W0, H=H0)
    W_ref = SklearnNMF(**settings).fit_transform(X, W=W0.copy(), H=H0.copy())
    np.testing.assert_allclose(W, W_ref, rtol=1e-8)


def test_fitted_attributes_and_feature_names():
    X = count_data()
    model = NMF(n_components=3, max_iter=500, random_state=0).fit(X)
    assert model.components_.shape == (3, 12)
    assert model.n_components_ == 3
    assert model.n_features_in_ == 12
    assert model.n_iter_ >= 1
    assert model.reconstruction_err_ == pytest.approx(
        np.linalg.norm(X - model.transform(X) @ model.components_), rel=0.2
    )
    assert list(model.get_feature_names_out()) == ["nmf0", "nmf1", "nmf2"]
    assert NMF(max_iter=500).fit(X).n_components_ == 12  # "auto": n_features


def test_feature_names_in_from_a_dataframe():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(count_data(), columns=[f"word{j}" for j in range(12)])
    model = NMF(n_components=2, max_iter=500).fit(frame)
    assert list(model.feature_names_in_) == list(frame.columns)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    X = count_data(dtype=dtype)
    model = NMF(n_components=3, solver="mu", max_iter=500)
    W = model.fit_transform(X)
    assert W.dtype == dtype and model.components_.dtype == dtype
    assert model.transform(X).dtype == dtype
    assert model.inverse_transform(W).shape == X.shape


def test_inverse_transform_checks_its_input():
    X = count_data()
    model = NMF(n_components=3, solver="mu", max_iter=500).fit(X)
    W = model.transform(X)
    np.testing.assert_allclose(model.inverse_transform(sp.csr_array(W)), W @ model.components_)
    with pytest.raises(ValueError, match=r"X must have n_components_ = 3 columns .*; got shape \(30, 2\)"):
        model.inverse_transform(W[:, :2])
    with pytest.raises(ValueError, match="Expected 2D array"):
        model.inverse_transform(W[0])


def test_shuffle_is_accepted_and_warns_that_it_does_nothing():
    """scikit-learn's signature has ``shuffle`` (a random order for "cd")."""
    X = count_data()
    plain = NMF(n_components=2, random_state=0, max_iter=500).fit(X)
    with pytest.warns(UserWarning, match="shuffle=True has no effect"):
        shuffled = NMF(n_components=2, random_state=0, max_iter=500, shuffle=True).fit(X)
    np.testing.assert_array_equal(shuffled.components_, plain.components_)
    with pytest.raises(TypeError, match="shuffle must be True or False; got 'yes'"):
        NMF(n_components=2, shuffle="yes").fit(X)


def test_sparse_input_gives_the_dense_result():
    X = count_data()
    X[X < 2] = 0
    dense = NMF(n_components=3, solver="mu", beta_loss="kullback-leibler", max_iter=100, tol=0).fit(X)
    sparse = NMF(n_components=3, solver="mu", beta_loss="kullback-leibler", max_iter=100, tol=0).fit(sp.csr_array(X))
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-7, atol=1e-12)


def test_convergence_warning_is_sklearns():
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        NMF(n_components=2, max_iter=2).fit(count_data())


def test_warnings_name_the_callers_line():
    """Not fastnmf's, nor scikit-learn's set_output wrapper of fit_transform."""
    from sklearn.pipeline import make_pipeline

    calls = {
        "fit": lambda: NMF(n_components=2, max_iter=2).fit(count_data()),
        "fit_transform": lambda: NMF(n_components=2, max_iter=2).fit_transform(count_data()),
        "pipeline": lambda: make_pipeline(NMF(n_components=2, max_iter=2)).fit(count_data()),
        "shuffle": lambda: NMF(n_components=2, shuffle=True).fit(count_data()),
    }
    for name, call in calls.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        assert caught, name
        assert {warning.filename for warning in caught} == {__file__}, name


def test_mask_observed_fits_only_stored_entries():
    ratings = sp.csr_array(np.array([[5, 3, 0, 1], [4, 0, 0, 1], [1, 1, 0, 5], [1, 0, 0, 4], [0, 1, 5, 4.0]]))
    model = NMF(n_components=2, solver="mu", max_iter=3000, tol=0, random_state=0, regularization_scale="observed")
    W = model.fit_transform(ratings, mask="observed")
    prediction = W @ model.components_
    rows, cols = ratings.nonzero()
    # The fit reproduces the ratings it saw; with zeros as data it would pull them down.
    np.testing.assert_allclose(prediction[rows, cols], ratings.toarray()[rows, cols], atol=0.8)
    observed_err = np.sqrt(np.sum((prediction[rows, cols] - ratings.toarray()[rows, cols]) ** 2))
    assert model.reconstruction_err_ == pytest.approx(observed_err, rel=1e-6)
    new_user = sp.csr_array(np.array([[5.0, 0, 0, 1]]))
    assert model.transform(new_user, mask="observed").shape == (1, 2)


def test_dense_mask_allows_nan_in_x():
    X = count_data()
    X[0, 0] = np.nan
    mask = ~np.isnan(X)
    model = NMF(n_components=2, solver="mu", max_iter=500).fit(X, mask=mask)
    assert np.isfinite(model.components_).all()
    with pytest.raises(ValueError, match="NaN"):
        NMF(n_components=2).fit(X)


def test_custom_init():
    X = count_data()
    W0, H0 = np.full((30, 2), 0.5), np.full((2, 12), 0.5)
    model = NMF(n_components="auto", init="custom", solver="mu", max_iter=0)
    W = model.fit_transform(X, W=W0, H=H0)
    assert model.n_components_ == 2
    np.testing.assert_array_equal(W, W0)
    with pytest.raises(ValueError, match="init='custom' needs both W and H"):
        NMF(init="custom").fit(X)
    with pytest.raises(ValueError, match=r"H must have shape \(3, 12\)"):
        NMF(n_components=3, init="custom").fit(X, W=np.ones((30, 3)), H=np.ones((2, 12)))
    with pytest.raises(TypeError, match="W must have X's dtype float64"):
        NMF(n_components=2, init="custom").fit(X, W=W0.astype(np.float32), H=H0)
    with pytest.warns(RuntimeWarning, match="W and H passed to fit are ignored"):
        NMF(n_components=2, max_iter=500).fit(X, W=W0, H=H0)
    with pytest.raises(ValueError, match=r"H must be a 2-D array \(n_components, n_features\) .*; got 3\.0"):
        NMF(n_components="auto", init="custom").fit(X, W=W0, H=3.0)
    with pytest.raises(TypeError, match="H must be a dense NumPy array; could not convert it"):
        NMF(n_components=2, init="custom").fit(X, W=W0, H=[[0.5] * 12, [0.5]])


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"n_components": 0}, ValueError, "n_components must be a positive integer"),
        ({"n_components": 1.5}, ValueError, "n_components must be a positive integer"),
        ({"init": "svd"}, ValueError, "init must be one of"),
        ({"init": np.ones(2)}, ValueError, "init must be one of"),
        ({"beta_loss": "l1"}, ValueError, "beta_loss must be one of"),
        ({"solver": "sgd"}, ValueError, "solver must be"),
        ({"max_iter": -1}, ValueError, "max_iter must be a non-negative integer"),
        ({"tol": -1.0}, ValueError, "tol must be a finite non-negative"),
        ({"l1_ratio": 2.0}, ValueError, "l1_ratio must be between 0 and 1"),
        ({"regularization_scale": "rows"}, ValueError, "regularization_scale must be one of"),
    ],
)
def test_bad_parameters_are_named(params, error, match):
    with pytest.raises(error, match=match):
        NMF(**params).fit(count_data())


def test_negative_input_is_refused_like_sklearn():
    X = count_data()
    X[3, 4] = -1
    with pytest.raises(ValueError, match=r"Negative values in data passed to NMF \(input X\)"):
        NMF(n_components=2).fit(X)


@pytest.mark.skipif(not HAS_SOLVERS, reason="the core has no solver= yet")
def test_sklearns_cd_solver_runs_as_hals():
    X = count_data()
    cd = NMF(n_components=3, solver="cd", max_iter=50, tol=0).fit(X)
    hals = NMF(n_components=3, solver="hals", max_iter=50, tol=0).fit(X)
    np.testing.assert_array_equal(cd.components_, hals.components_)
    with pytest.raises(ValueError, match='solver="cd".*handles only beta_loss="frobenius"'):
        NMF(solver="cd", beta_loss="kullback-leibler").fit(X)


def test_transform_before_fit():
    with pytest.raises(NotFittedError):
        NMF().transform(count_data())


def test_pipeline_and_grid_search():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    pipeline = Pipeline([("nmf", NMF(max_iter=1000, tol=1e-3)), ("classifier", LogisticRegression(max_iter=1000))])
    search = GridSearchCV(pipeline, {"nmf__n_components": [2, 3]}, cv=2).fit(X, y)
    assert search.best_params_["nmf__n_components"] in (2, 3)
    assert search.score(X, y) > 0.8


def test_grid_search_splits_the_mask_with_the_rows():
    X = count_data(m=40)
    mask = np.ones_like(X)
    mask[::3, 1] = 0

    def negative_error(estimator, X_test, y=None):
        return -float(np.linalg.norm(X_test - estimator.inverse_transform(estimator.transform(X_test))))

    search = GridSearchCV(
        NMF(solver="mu", max_iter=300, tol=1e-3), {"n_components": [2, 3]}, scoring=negative_error, cv=2
    )
    search.fit(X, mask=mask)
    assert search.best_estimator_.components_.shape[1] == 12


def test_clone_and_pickle():
    X = count_data()
    model = NMF(n_components=3, alpha_W=0.01, n_threads=1, regularization_scale="observed", max_iter=500)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    model.fit(X)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.components_, model.components_)
    np.testing.assert_array_equal(restored.transform(X), model.transform(X))
