"""Masked NMF: a dense weight mask over dense V, ``mask="observed"`` on
sparse ratings, and the recommendation helpers on fitted factors.

Ratings are the synthetic MovieLens-like matrices of
``benchmarks/ratings_surprise.py`` (MovieLens itself may not be
redistributed). Sizes of ratings matrices, from the environment variable
``FASTNMF_BENCH_RATINGS`` (comma-separated, default ``ml-100k``):

- ``ml-100k``: 943 x 1682, 100,000 ratings;
- ``ml-1m``: 6040 x 3706, 1,000,209 ratings;
- ``100k-x-20k``: 100,000 x 20,000, 5,000,000 ratings (about 2 s per
  iteration at r = 50 on 2 cores; generating it takes about 30 s).
"""

import functools
import os

import numpy as np

import fastnmf
from fastnmf import recommend

from .common import (
    DTYPES,
    ITERATIONS,
    SIZES,
    THREADS,
    ThreadSetting,
    dense_positive,
    initial_factors,
    restore_threads,
    script_module,
)

RATINGS = [
    size.strip() for size in os.environ.get("FASTNMF_BENCH_RATINGS", "ml-100k").split(",") if size.strip()
]
MASKED_LOSSES = ["frobenius", "kullback-leibler", "itakura-saito"]
RATINGS_LOSSES = ["frobenius", "kullback-leibler"]
RANKS = [10, 50]
OBSERVED_SHARE = 0.3  # of a dense mask's entries


@functools.lru_cache(maxsize=4)
def ratings(size, dtype):
    """A synthetic ratings CSR matrix of ``size`` (read-only)."""
    module = script_module("ratings_surprise")
    X = module.synthetic_ratings(*module.SHAPES[size], seed=0, dtype=np.dtype(dtype))
    X.data.flags.writeable = False
    return X


@functools.lru_cache(maxsize=4)
def masked_dense(size, dtype):
    """Dense positive V with NaN where a random boolean mask (30%
    observed) is False, and the mask."""
    V = dense_positive(size, dtype)
    mask = np.random.default_rng(2).random(V.shape) < OBSERVED_SHARE
    V = np.where(mask, V, np.nan).astype(dtype)
    V.flags.writeable = False
    mask.flags.writeable = False
    return V, mask


def ratings_initial_factors(X, r, seed=0):
    """A fixed positive (W0, H0) scaled by the mean observed rating."""
    m, n = X.shape
    scale = np.sqrt(float(X.data.mean()) / r)
    rng = np.random.default_rng(seed)
    W0 = (scale * (0.5 + rng.random((m, r)))).astype(X.dtype)
    H0 = (scale * (0.5 + rng.random((r, n)))).astype(X.dtype)
    return W0, H0


class _MaskedFit:
    timeout = 300

    def teardown(self, *params):
        restore_threads(self)

    def fit(self):
        return fastnmf.nmf(self.V, r=self.kwargs["init"][0].shape[1], **self.kwargs)


class DenseMask(_MaskedFit):
    """Dense V with NaN where a boolean mask is False: ITERATIONS MU
    iterations from a fixed (W0, H0)."""

    params = [SIZES, MASKED_LOSSES, DTYPES, RANKS, THREADS]
    param_names = ["size", "loss", "dtype", "r", "n_threads"]

    def setup(self, size, loss, dtype, r, n_threads):
        self.threads = ThreadSetting(n_threads)
        self.V, mask = masked_dense(size, dtype)
        self.kwargs = dict(
            loss=loss, mask=mask, init=initial_factors(np.nan_to_num(self.V), r), max_iter=ITERATIONS, tol=0.0,
            n_threads=n_threads,
        )  # fmt: skip
        self.result = self.fit()  # compiles (or loads) the kernels

    def time_fit(self, *params):
        self.fit()

    def peakmem_fit(self, *params):
        self.fit()

    def track_loss(self, *params):
        return self.result.loss

    track_loss.unit = "objective"


class ObservedRatings(_MaskedFit):
    """Sparse ratings with ``mask="observed"`` and penalties scaled by each
    user's and item's ratings: ITERATIONS MU iterations."""

    params = [RATINGS, RATINGS_LOSSES, DTYPES, RANKS, THREADS]
    param_names = ["ratings", "loss", "dtype", "r", "n_threads"]

    def setup(self, size, loss, dtype, r, n_threads):
        self.threads = ThreadSetting(n_threads)
        self.V = ratings(size, dtype)
        self.kwargs = dict(
            loss=loss, mask="observed", init=ratings_initial_factors(self.V, r), max_iter=ITERATIONS, tol=0.0,
            alpha_W=0.06, regularization_scale="observed", n_threads=n_threads,
        )  # fmt: skip
        self.result = self.fit()

    def time_fit(self, *params):
        self.fit()

    def peakmem_fit(self, *params):
        self.fit()

    def track_loss(self, *params):
        return self.result.loss

    track_loss.unit = "objective"


class Recommend:
    """predict at every rating, top-10 unrated items for every user, and
    fold-in of 100 users, from fixed factors."""

    params = [RATINGS, RANKS, THREADS]
    param_names = ["ratings", "r", "n_threads"]
    timeout = 300

    def setup(self, size, r, n_threads):
        self.threads = ThreadSetting(n_threads)
        self.X = ratings(size, "float64")
        self.W, self.H = ratings_initial_factors(self.X, r)
        self.rows = np.repeat(np.arange(self.X.shape[0]), np.diff(self.X.indptr))
        self.new_users = self.X[: min(100, self.X.shape[0])]
        self.n_threads = n_threads
        self.items, _ = self.top_k()  # compiles the kernels
        self.predict()
        self.fold_in()

    def teardown(self, *params):
        restore_threads(self)

    def predict(self):
        return recommend.predict(self.W, self.H, self.rows, self.X.indices, n_threads=self.n_threads)

    def top_k(self):
        return recommend.top_k(self.W, self.H, 10, exclude=self.X, n_threads=self.n_threads)

    def fold_in(self):
        return recommend.fold_in(self.new_users, self.H, max_iter=ITERATIONS, tol=0, n_threads=self.n_threads)

    def time_predict(self, *params):
        self.predict()

    def time_top_k(self, *params):
        self.top_k()

    def peakmem_top_k(self, *params):
        self.top_k()

    def time_fold_in(self, *params):
        self.fold_in()

    def track_top_item_sum(self, *params):
        """A fingerprint of the top-k answer."""
        return int(self.items.sum())

    track_top_item_sum.unit = "sum of item indices"
