"""``fastnmf.NMF``: a drop-in replacement for ``sklearn.decomposition.NMF``.

This is the only module of fastnmf that imports scikit-learn (an optional
extra: ``pip install fastnmf[sklearn]``); ``import fastnmf`` does not load it.
The estimator validates its input the scikit-learn way, then calls
:func:`fastnmf.nmf` and :func:`fastnmf.transform`.
"""

import functools
import inspect
import numbers
import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    from sklearn.utils.validation import check_array, check_is_fitted, check_non_negative, validate_data
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "fastnmf.NMF needs scikit-learn >= 1.6 (pip install 'fastnmf[sklearn]'); "
        f"importing it failed: {error}. The functional API (fastnmf.nmf, fastnmf.transform) works without it."
    ) from error

from ._api import nmf, transform
from ._caller import callers_stacklevel
from ._init import INIT_NAMES
from ._losses import beta_from_loss
from ._result import ConvergenceWarning
from ._validation import as_dense_array

INIT_OPTIONS = (None, *INIT_NAMES, "custom")


@functools.cache
def _core_parameters(function):
    return frozenset(inspect.signature(function).parameters)


class NMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""Non-negative matrix factorization X ~ W H, as ``sklearn.decomposition.NMF``.

    Same parameters, attributes and objective as scikit-learn's NMF (the
    beta-divergence plus the same scaled L1/L2 penalties), computed by
    fastnmf's parallel kernels, with fastnmf's additions: ``mask`` in
    :meth:`fit` (fit only the observed entries, e.g. ratings),
    ``regularization_scale`` and ``n_threads``.

    Parameters
    ----------
    n_components : int, "auto" or None, default "auto"
        The rank r. "auto" takes it from H's shape when ``init="custom"``,
        else (like None) uses n_features.
    init : {"random", "nndsvd", "nndsvda", "nndsvdar", "custom"} or None
        The initialization; None picks "nndsvda" when r <= min(n_samples,
        n_features), else "random". "custom" uses the ``W`` and ``H`` passed
        to :meth:`fit`.
    solver : str, default "auto"
        Passed to :func:`fastnmf.nmf` ("auto", "mu", "hals", "ehals", "amu" where the core
        has them). "cd" (scikit-learn's default, coordinate descent on the
        Frobenius loss) is taken as "hals", the same block coordinate descent.
    beta_loss : {"frobenius", "kullback-leibler", "itakura-saito"} or float
        The beta-divergence to minimize.
    tol : float, default 1e-4
        Stopping tolerance (scikit-learn's rule, see :func:`fastnmf.nmf`).
    max_iter : int, default 200
        Maximum number of iterations.
    random_state : None, int, numpy.random.Generator or RandomState
        Seeds the random and NNDSVD initializations.
    alpha_W : float, default 0.0
        Regularization strength of W (scaled by n_features as in scikit-learn).
    alpha_H : float or "same", default "same"
        Regularization strength of H (scaled by n_samples); "same" uses alpha_W.
    l1_ratio : float in [0, 1], default 0.0
        The L1 share of the penalties.
    verbose : int, default 0
        Print the objective every 10 iterations when non-zero.
    shuffle : bool, default False
        Accepted for scikit-learn's signature. scikit-learn's "cd" solver
        then updates the components in a random order; fastnmf's HALS always
        sweeps them in order, so ``shuffle=True`` warns and changes nothing.
    regularization_scale : {"shape", "observed"}, default "shape"
        "observed" scales each row's and column's penalty by its number of
        observed entries (for masked fits); see :func:`fastnmf.nmf`.
    n_threads : int or None
        Numba threads for the kernels (default: all).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        H, the factorization's dictionary.
    n_components_ : int
        The rank used.
    reconstruction_err_ : float
        sqrt(2 * beta-divergence) between the training data and W H (the
        Frobenius norm of the residual for ``beta_loss="frobenius"``), over
        the observed entries when fitted with a mask.
    n_iter_ : int
        Iterations run.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names seen in :meth:`fit`, when X had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnmf import NMF
    >>> X = np.array([[1, 1], [2, 1], [3, 1.2], [4, 1], [5, 0.8], [6, 1]])
    >>> model = NMF(n_components=2, init="random", random_state=0, max_iter=1000)
    >>> W = model.fit_transform(X)
    >>> W.shape, model.components_.shape
    ((6, 2), (2, 2))
    """

    def __init__(
        self,
        n_components="auto",
        *,
        init=None,
        solver="auto",
        beta_loss="frobenius",
        tol=1e-4,
        max_iter=200,
        random_state=None,
        alpha_W=0.0,
        alpha_H="same",
        l1_ratio=0.0,
        verbose=0,
        shuffle=False,
        regularization_scale="shape",
        n_threads=None,
    ):
        self.n_components = n_components
        self.init = init
        self.solver = solver
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.verbose = verbose
        self.shuffle = shuffle
        self.regularization_scale = regularization_scale
        self.n_threads = n_threads

    def fit(self, X, y=None, W=None, H=None, *, mask=None):
        """Learn W and H for the data X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative training data.
        y : ignored
        W : array-like of shape (n_samples, n_components), optional
            Initial W when ``init="custom"``.
        H : array-like of shape (n_components, n_features), optional
            Initial H when ``init="custom"``.
        mask : array-like, sparse matrix or "observed", optional
            Which entries of X to fit (see :func:`fastnmf.nmf`). An array of
            shape (n_samples, n_features) is split with X's rows in
            cross-validation.

        Returns
        -------
        self : NMF
        """
        self.fit_transform(X, W=W, H=H, mask=mask)
        return self

    def fit_transform(self, X, y=None, W=None, H=None, *, mask=None):
        """Learn W and H for the data X and return W.

        Parameters
        ----------
        X, y, W, H, mask
            As in :meth:`fit`.

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
            The non-negative coefficients of each sample, in X's dtype.
        """
        X = self._validate_X(X, reset=True, allow_nan=mask is not None)
        beta = self._beta()
        if not (self.init is None or (isinstance(self.init, str) and self.init in INIT_OPTIONS)):
            raise ValueError(f"init must be one of {list(INIT_OPTIONS)}; got {self.init!r}.")
        n_components = self._check_n_components(H)
        init = self._initial_factors(X, W, H, n_components)
        options = self._solver_options(beta)
        if not isinstance(self.shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False; got {self.shuffle!r}.")
        if self.shuffle:
            warnings.warn(
                "shuffle=True has no effect: fastnmf's HALS updates the components in order.",
                UserWarning,
                stacklevel=callers_stacklevel(),
            )
        result = _translating_convergence_warnings(
            nmf,
            X,
            n_components,
            loss=beta,
            mask=mask,
            init=init,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
            alpha_W=self.alpha_W,
            alpha_H=self.alpha_H,
            l1_ratio=self.l1_ratio,
            regularization_scale=self.regularization_scale,
            n_threads=self.n_threads,
            verbose=bool(self.verbose),
            **options,
        )
        self.components_ = result.H
        self.n_components_ = result.H.shape[0]
        self.reconstruction_err_ = result.reconstruction_err
        self.n_iter_ = result.n_iter
        return result.W

    def transform(self, X, *, mask=None):
        """W for new data with the fitted H fixed (fold-in).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative data over the fitted features.
        mask : array-like, sparse matrix or "observed", optional
            Which entries of X to use (e.g. a new user's few ratings).

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, allow_nan=mask is not None)
        options = self._solver_options(self._beta()) if "solver" in _core_parameters(transform) else {}
        return transform(
            X,
            self.components_,
            loss=self._beta(),
            mask=mask,
            max_iter=self.max_iter,
            tol=self.tol,
            alpha_W=self.alpha_W,
            l1_ratio=self.l1_ratio,
            regularization_scale=self.regularization_scale,
            n_threads=self.n_threads,
            **options,
        )

    def inverse_transform(self, X):
        """The data W H back in feature space.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_components)
            W, e.g. from :meth:`transform`.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = check_array(X, accept_sparse=("csr", "csc"), dtype=(np.float64, np.float32))
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X must have n_components_ = {self.n_components_} columns (W from transform); got shape {X.shape}."
            )
        return np.asarray(X @ self.components_)

    @property
    def _n_features_out(self):
        """The number of output features (for ``get_feature_names_out``)."""
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # -- checks -----------------------------------------------------------

    def _validate_X(self, X, reset, allow_nan):
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan" if allow_nan else True,
            reset=reset,
        )
        check_non_negative(X, f"{type(self).__name__} (input X)")
        return X

    def _beta(self):
        try:
            return beta_from_loss(self.beta_loss)
        except (ValueError, TypeError) as error:
            raise type(error)(str(error).replace("loss must", "beta_loss must", 1)) from None

    def _check_n_components(self, H):
        n_components = self.n_components
        if n_components is None or (isinstance(n_components, str) and n_components == "auto"):
            if n_components == "auto" and self.init == "custom" and H is not None:
                shape = np.shape(as_dense_array(H, "H"))
                if len(shape) != 2:
                    raise ValueError(
                        f"H must be a 2-D array (n_components, n_features) for init='custom'; got {H!r:.60}."
                    )
                return int(shape[0])
            return self.n_features_in_
        if isinstance(n_components, bool) or not isinstance(n_components, numbers.Integral) or n_components < 1:
            raise ValueError(f'n_components must be a positive integer, "auto" or None; got {n_components!r}.')
        return int(n_components)

    def _solver_options(self, beta):
        """``{"solver": ...}`` for the core where it has solvers
        (scikit-learn's "cd" runs as "hals"), else ``{}`` after checking that
        ``solver`` asks for the multiplicative updates."""
        solver = self.solver
        if "solver" not in _core_parameters(nmf):
            if not (isinstance(solver, str) and solver in ("auto", "mu")):
                raise ValueError(f'solver must be "auto" or "mu" in this version of fastnmf; got {solver!r}.')
            return {}
        if isinstance(solver, str) and solver == "cd":
            if beta != 2.0:
                raise ValueError(
                    'solver="cd" (coordinate descent, run as fastnmf\'s "hals") handles only '
                    f'beta_loss="frobenius"; got beta_loss={self.beta_loss!r}. Use solver="mu".'
                )
            return {"solver": "hals"}
        return {"solver": solver}

    def _initial_factors(self, X, W, H, n_components):
        if self.init != "custom":
            if W is not None or H is not None:
                warnings.warn(
                    "When init != 'custom', the W and H passed to fit are ignored; set init='custom' "
                    "to start from them.",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return self.init
        if W is None or H is None:
            raise ValueError("init='custom' needs both W and H passed to fit (fit(X, W=W0, H=H0)).")
        W, H = as_dense_array(W, "W"), as_dense_array(H, "H")
        n_samples, n_features = X.shape
        for name, factor, shape in (("W", W, (n_samples, n_components)), ("H", H, (n_components, n_features))):
            if factor.shape != shape:
                raise ValueError(f"{name} must have shape {shape} for init='custom'; got {factor.shape}.")
            if factor.dtype != X.dtype:
                raise TypeError(f"{name} must have X's dtype {X.dtype} for init='custom'; got {factor.dtype}.")
        return W, H


def _translating_convergence_warnings(function, *args, **kwargs):
    """Call ``function``, re-issuing fastnmf's ConvergenceWarning as
    scikit-learn's (what scikit-learn users filter on), from the caller's
    line, and every other warning unchanged."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = function(*args, **kwargs)
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            warnings.warn(str(warning.message), SklearnConvergenceWarning, stacklevel=callers_stacklevel())
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return value


