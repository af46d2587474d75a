"""Surprise's NMF against fastnmf's masked NMF on synthetic ratings.

MovieLens may not be redistributed, so the ratings are synthetic, with the
shape, the number of ratings and the skew of MovieLens 100k (943 users x
1682 items, 100,000 ratings) and 1M (6040 x 3706, 1,000,209 ratings), on a
1-5 scale (see :func:`synthetic_ratings`). Both libraries see the same
k-fold splits and report RMSE and MAE on the held-out ratings (predictions
clipped to [1, 5] and the training mean for a user or item with no training
rating, as Surprise does) and the time of one fit.

Surprise's defaults are matched: 15 factors, 50 epochs (here, iterations
with ``tol=0``), reg_pu = reg_qi = 0.06 scaled by each user's and item's
number of ratings, a random start. For fastnmf that is
``nmf(train, 15, mask="observed", init="random", max_iter=50, tol=0,
alpha_W=0.06, regularization_scale="observed")``: the same objective (Luo
et al. 2014, as Surprise documents it), the same multiplicative form.
``regularization_scale="shape"`` is run with alpha = 0.06 x density, the
same total penalty weight spread evenly over rows and columns instead.

Usage (one command, one table; add ``--sizes ml-100k`` for a quick run)::

    python benchmarks/ratings_surprise.py [--sizes ml-100k,ml-1m] [--folds 5]
        [--epochs 50] [--threads 1,2] [--no-surprise]

``--per-iteration`` instead times fastnmf's ``mask="observed"`` fit at a
rating-like size (100,000 x 20,000 with 5M ratings, r = 10 and 50);
``--sweep`` prints fastnmf's held-out RMSE over r and alpha for both
regularization scalings (the table of docs/recommendation.md).

Published anchor (real data, Surprise's documentation): NMF reaches RMSE
0.963 on MovieLens 100k and 0.916 on 1M in 5-fold cross-validation, about
20 s per fold on 1M. Synthetic data do not reproduce those RMSE values; the
comparison between the libraries on the same data is what this measures.
"""

import argparse
import time
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from fastnmf import nmf
from fastnmf.recommend import predict, ratings_folds

SHAPES = {
    "ml-100k": (943, 1682, 100_000),
    "ml-1m": (6040, 3706, 1_000_209),
    "100k-x-20k": (100_000, 20_000, 5_000_000),
}
RATING_SCALE = (1.0, 5.0)

# Surprise's NMF defaults.
N_FACTORS = 15
N_EPOCHS = 50
REGULARIZATION = 0.06


# --------------------------------------------------------------------------
# Synthetic ratings
# --------------------------------------------------------------------------


def _distinct_items_per_user(counts, popularity, rng):
    """Item indices for each user (``counts[u]`` distinct items, drawn with
    probability proportional to ``popularity``): all draws at once, then the
    repeats within a user redrawn until none is left."""
    n_items = popularity.shape[0]
    rows = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    cumulative = np.cumsum(popularity / popularity.sum())
    cols = np.minimum(np.searchsorted(cumulative, rng.random(rows.shape[0])), n_items - 1)
    pending = np.arange(rows.shape[0])
    while pending.size:
        keys = rows * n_items + cols
        order = np.argsort(keys, kind="stable")
        repeated = np.zeros(rows.shape[0], dtype=bool)
        repeated[order[1:]] = keys[order[1:]] == keys[order[:-1]]
        pending = np.flatnonzero(repeated)
        cols[pending] = np.minimum(np.searchsorted(cumulative, rng.random(pending.size)), n_items - 1)
    return rows, cols


def synthetic_ratings(n_users, n_items, n_ratings, *, rank=10, min_per_user=20, seed=0, dtype=np.float64):
    """Ratings on a 1-5 scale with MovieLens-like skew, as a CSR matrix.

    - Activity: each user rates ``min_per_user`` items (MovieLens's rule)
      plus a lognormal share of the rest (sigma 1.1: a few users rate
      hundreds of items, the median user tens).
    - Popularity: items are drawn with lognormal weights (sigma 1.4): a few
      items are rated by most users, many by one or two.
    - Values: round(3.3 + b_u + b_i + p_u . q_i + noise), clipped to 1..5,
      with user and item biases N(0, 0.5) and N(0, 0.45) (plus 0.2 per
      standard deviation of log popularity: popular items are rated a
      little higher), a rank-``rank`` interaction of standard deviation
      about 0.5 and noise N(0, 0.8). The ratings come out with mean 3.47
      and standard deviation 1.11 (MovieLens 100k: 3.53 and 1.13).

    Parameters
    ----------
    n_users, n_items, n_ratings : int
        Shape and number of stored ratings.
    rank : int
        Rank of the interaction term.
    min_per_user : int
        Ratings every user has at least (capped by n_ratings / n_users).
    seed : int
        The same seed gives the same matrix.
    dtype : float32 or float64

    Returns
    -------
    scipy.sparse.csr_array of shape (n_users, n_items)
    """
    rng = np.random.default_rng(seed)
    floor = min(min_per_user, n_ratings // n_users)
    activity = rng.lognormal(0.0, 1.1, n_users)
    extra = rng.multinomial(n_ratings - floor * n_users, activity / activity.sum())
    counts = np.minimum(floor + extra, n_items // 2)
    shortfall = n_ratings - int(counts.sum())
    while shortfall > 0:  # hand what the cap removed to users below it
        room = np.flatnonzero(counts < n_items // 2)
        add = rng.choice(room, size=min(shortfall, room.size), replace=False)
        counts[add] += 1
        shortfall -= add.size
    popularity = rng.lognormal(0.0, 1.4, n_items)
    rows, cols = _distinct_items_per_user(counts, popularity, rng)

    user_bias = rng.normal(0.0, 0.5, n_users)
    log_pop = np.log(popularity)
    item_bias = rng.normal(0.0, 0.45, n_items) + 0.2 * (log_pop - log_pop.mean()) / log_pop.std()
    P = rng.normal(0.0, (0.5**2 / rank) ** 0.25, (n_users, rank))
    Q = rng.normal(0.0, (0.5**2 / rank) ** 0.25, (n_items, rank))
    interaction = np.einsum("ij,ij->i", P[rows], Q[cols])
    latent = 3.3 + user_bias[rows] + item_bias[cols] + interaction + rng.normal(0.0, 0.8, rows.shape[0])
    values = np.clip(np.rint(latent), *RATING_SCALE).astype(dtype)
    X = sp.csr_array((values, (rows, cols)), shape=(n_users, n_items))
    X.sort_indices()
    return X


def describe(X):
    """Mean, std and skew statistics of a ratings matrix, for a sanity line."""
    per_user = np.diff(X.indptr)
    per_item = np.bincount(X.indices, minlength=X.shape[1])
    return (
        f"{X.shape[0]} x {X.shape[1]}, {X.nnz} ratings (density {X.nnz / np.prod(X.shape):.4f}); "
        f"rating mean {X.data.mean():.2f} std {X.data.std():.2f}; ratings per user min {per_user.min()} "
        f"median {int(np.median(per_user))} max {per_user.max()}; per item median {int(np.median(per_item))} "
        f"max {per_item.max()}, items with <= 1 rating: {int((per_item <= 1).sum())}"
    )


# --------------------------------------------------------------------------
# One fold of each library
# --------------------------------------------------------------------------


def _coordinates(X):
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    return rows, X.indices


def errors_with_fallback(predicted, test, train):
    """RMSE and MAE of clipped predictions, with the training mean for a
    test pair whose user or item has no training rating."""
    rows, cols = _coordinates(test)
    known = (np.diff(train.indptr)[rows] > 0) & (np.bincount(train.indices, minlength=train.shape[1])[cols] > 0)
    predicted = np.where(known, np.clip(predicted, *RATING_SCALE), train.data.mean())
    errors = predicted - test.data
    return float(np.sqrt(np.mean(errors**2))), float(np.mean(np.abs(errors)))


@dataclass(frozen=True)
class Method:
    """One row of the table: a library and its settings."""

    library: str  # "surprise" or "fastnmf"
    epochs: int
    scale: str = "observed"
    alpha: float = REGULARIZATION
    init: str = "random"
    n_threads: int = 1


class Stopwatch:
    """Wall-clock and CPU seconds (all threads of this process) of a block:
    on a shared machine the CPU time of a one-thread run is what it would
    take on an idle one."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def fastnmf_fold(train, test, method, seed, rank=N_FACTORS):
    with Stopwatch() as watch:
        fit = nmf(
            train, rank, mask="observed", init=method.init, random_state=seed, max_iter=method.epochs, tol=0,
            alpha_W=method.alpha, regularization_scale=method.scale, n_threads=method.n_threads,
        )  # fmt: skip
    rows, cols = _coordinates(test)
    return (*errors_with_fallback(predict(fit.W, fit.H, rows, cols), test, train), watch.wall, watch.cpu)


def _surprise_trainset(train):
    from surprise import Trainset

    rows, cols = _coordinates(train)
    ur, ir = {}, {}
    for u, i, rating in zip(rows.tolist(), cols.tolist(), train.data.tolist()):
        ur.setdefault(u, []).append((i, rating))
        ir.setdefault(i, []).append((u, rating))
    users = {u: u for u in ur}
    items = {i: i for i in ir}
    return Trainset(ur, ir, len(ur), len(ir), train.nnz, RATING_SCALE, users, items)


def surprise_fold(train, test, method, seed):
    from surprise import NMF

    # Inner ids must be 0..n-1: relabel the users and items that have ratings.
    user_rows = np.flatnonzero(np.diff(train.indptr) > 0)
    item_cols = np.flatnonzero(np.bincount(train.indices, minlength=train.shape[1]) > 0)
    compact = train[user_rows][:, item_cols].tocsr()
    trainset = _surprise_trainset(compact)
    user_inner = np.full(train.shape[0], -1)
    user_inner[user_rows] = np.arange(user_rows.size)
    item_inner = np.full(train.shape[1], -1)
    item_inner[item_cols] = np.arange(item_cols.size)
    algo = NMF(
        n_factors=N_FACTORS, n_epochs=method.epochs, reg_pu=method.alpha, reg_qi=method.alpha, random_state=seed
    )
    with Stopwatch() as watch:
        algo.fit(trainset)
    # Predictions from its factors (what algo.predict computes, q_i . p_u,
    # without a Python call per rating).
    rows, cols = _coordinates(test)
    u, i = user_inner[rows], item_inner[cols]
    known = (u >= 0) & (i >= 0)
    predicted = np.zeros(test.nnz)
    predicted[known] = np.einsum("ij,ij->i", algo.pu[u[known]], algo.qi[i[known]])
    return (*errors_with_fallback(predicted, test, train), watch.wall, watch.cpu)


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------


def methods(X, epochs, threads, with_surprise):
    """Surprise; fastnmf with its settings at each thread count; fastnmf
    with "shape" scaling of the same average strength (alpha x density)."""
    density = X.nnz / (X.shape[0] * X.shape[1])
    rows = []
    for n_epochs in epochs:
        if with_surprise:
            rows.append(Method("surprise", n_epochs, init="uniform"))
        rows.extend(Method("fastnmf", n_epochs, n_threads=n_threads) for n_threads in threads)
        rows.append(Method("fastnmf", n_epochs, scale="shape", alpha=REGULARIZATION * density, n_threads=threads[0]))
    return rows


def run_comparison(sizes, n_folds, epochs, threads, with_surprise, seed=0):
    nmf(sp.csr_array(np.eye(3) + 1), 2, mask="observed", max_iter=2, tol=0)  # compile outside the timings
    header = (
        f"{'data':8} {'library':8} {'epochs':>6} {'reg. scale':10} {'alpha':>8} {'init':7} {'threads':>7} "
        f"{'RMSE':>15} {'MAE':>15} {'fit s/fold':>10} {'cpu s/fold':>10}"
    )
    lines = [header, "-" * len(header)]
    notes = []
    for size in sizes:
        X = synthetic_ratings(*SHAPES[size], seed=seed)
        notes.append(f"{size}: {describe(X)}")
        folds = ratings_folds(X, n_folds, random_state=seed)
        for method in methods(X, epochs, threads, with_surprise):
            one_fold = surprise_fold if method.library == "surprise" else fastnmf_fold
            results = [one_fold(train, test, method, seed + fold) for fold, (train, test) in enumerate(folds)]
            rmse, mae, seconds, cpu_seconds = np.array(results).T
            lines.append(
                f"{size:8} {method.library:8} {method.epochs:6d} {method.scale:10} {method.alpha:8.4g} "
                f"{method.init:7} {method.n_threads:7d} {rmse.mean():8.4f} ± {rmse.std():.3f} "
                f"{mae.mean():8.4f} ± {mae.std():.3f} {seconds.mean():10.2f} {cpu_seconds.mean():10.2f}"
            )
            print(lines[-1], flush=True)
    print()
    print("\n".join(lines))
    print(
        f"\n{n_folds}-fold cross-validation, r = {N_FACTORS}, mean ± std over folds; Surprise runs on one "
        f"thread; numba threads available: {numba.config.NUMBA_NUM_THREADS}"
    )
    for note in notes:
        print(note)


def run_sweep(size="ml-100k", ranks=(2, 5, 15, 30), alphas=(0.02, 0.06, 0.2), epochs=200, n_folds=2, seed=0):
    """Held-out RMSE of fastnmf over r and alpha, for both regularization
    scalings ("shape" at alpha x density, the same average strength), on the
    first ``n_folds`` of a 5-fold split: how to choose r and alpha."""
    X = synthetic_ratings(*SHAPES[size], seed=seed)
    density = X.nnz / (X.shape[0] * X.shape[1])
    folds = ratings_folds(X, 5, random_state=seed)[:n_folds]
    print(f"{size}, {epochs} iterations, RMSE over {n_folds} of 5 folds; 'shape' uses alpha x density")
    print(f"{'r':>4} {'alpha':>6} {'observed':>9} {'shape':>9}")
    for r in ranks:
        for alpha in alphas:
            cells = []
            for scale, strength in (("observed", alpha), ("shape", alpha * density)):
                method = Method("fastnmf", epochs, scale=scale, alpha=strength)
                errors = [
                    fastnmf_fold(train, test, method, seed + fold, rank=r)[0]
                    for fold, (train, test) in enumerate(folds)
                ]
                cells.append(np.mean(errors))
            print(f"{r:4d} {alpha:6.2f} {cells[0]:9.4f} {cells[1]:9.4f}", flush=True)


def run_per_iteration(ranks=(10, 50), n_iter=3, threads=None, seed=0):
    """Seconds per iteration of ``mask="observed"`` at 100k x 20k, 5M ratings."""
    started = time.perf_counter()
    X = synthetic_ratings(*SHAPES["100k-x-20k"], seed=seed)
    print(f"generated in {time.perf_counter() - started:.1f} s: {describe(X)}")
    nmf(sp.csr_array(np.eye(3) + 1), 2, mask="observed", max_iter=2, tol=0)
    print(f"{'r':>4} {'threads':>7} {'s/iteration':>12} {'cpu s/iteration':>16} {'setup s':>8}")
    for r in ranks:
        for n_threads in threads or [numba.config.NUMBA_NUM_THREADS]:
            watches = {}
            for iterations in (0, n_iter):
                with Stopwatch() as watches[iterations]:
                    nmf(X, r, mask="observed", init="random", random_state=0, max_iter=iterations, tol=0,
                        n_threads=n_threads)  # fmt: skip
            wall = (watches[n_iter].wall - watches[0].wall) / n_iter
            cpu = (watches[n_iter].cpu - watches[0].cpu) / n_iter
            print(f"{r:4d} {n_threads:7d} {wall:12.3f} {cpu:16.3f} {watches[0].wall:8.2f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="ml-100k,ml-1m", help="comma-separated: ml-100k, ml-1m")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", default=str(N_EPOCHS), help="comma-separated iteration counts (default 50)")
    parser.add_argument("--threads", default=None, help="comma-separated fastnmf thread counts (default 1,all)")
    parser.add_argument("--no-surprise", action="store_true", help="skip Surprise (e.g. not installed)")
    parser.add_argument("--per-iteration", action="store_true", help="time the observed path at 100k x 20k")
    parser.add_argument("--sweep", action="store_true", help="held-out RMSE over r and alpha (ml-100k)")
    args = parser.parse_args(argv)
    available = numba.config.NUMBA_NUM_THREADS
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, available})
    if args.per_iteration:
        run_per_iteration(threads=threads)
        return
    if args.sweep:
        run_sweep()
        return
    with_surprise = not args.no_surprise
    if with_surprise:
        try:
            import surprise  # noqa: F401
        except ImportError:
            print("scikit-surprise is not installed (pip install scikit-surprise); running fastnmf only.")
            with_surprise = False
    sizes = [size.strip() for size in args.sizes.split(",")]
    epochs = [int(count) for count in args.epochs.split(",")]
    run_comparison(sizes, args.folds, epochs, threads, with_surprise)


if __name__ == "__main__":
    main()
