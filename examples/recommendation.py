"""Recommendation: a users x items ratings matrix with most entries unknown.

Only the rated entries are fitted (``mask="observed"``): an unrated entry is
unknown, not a rating of zero. The prediction for user u and item i is then
(W H)[u, i]. The script

- factorizes the users x books example of the project's source document
  (0 = not rated) and recommends the book nobody but user 5 rated;
- generates a ratings set with MovieLens-100k's shape and sparsity (943 users,
  1,682 items, 100,000 ratings from 1 to 5; no ratings data set may be
  redistributed, so it is synthetic, from a known low-rank model);
- measures held-out RMSE against the rank r and the regularization alpha;
- lists top-k recommendations for a few users, scored against the model that
  generated the data;
- folds in new users from 5, 10 or 20 ratings each, without refitting;
- writes ``rmse_grid.png`` and ``ratings_loss.png``.

Run it as ``python examples/recommendation.py [DATA_DIR] [--out OUT] [--quick]``.
It reads no data (DATA_DIR is accepted for symmetry with the other examples).
"""

import argparse
import os
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from fastnmf import ConvergenceWarning, nmf
from fastnmf.plotting import plot_loss
from fastnmf.recommend import fold_in, rmse, split_ratings, top_k

BOOK_RATINGS = np.array([[5, 3, 0, 1], [4, 0, 0, 1], [1, 1, 0, 5], [1, 0, 0, 4], [0, 1, 5, 4]], dtype=float)


def default_data_dir():
    """``$FASTNMF_DATA``, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("FASTNMF_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")


def books():
    """The source document's users x books example."""
    ratings = sp.csr_array(BOOK_RATINGS)  # the stored (nonzero) entries are the ratings
    fit = nmf(ratings, 2, mask="observed", random_state=0, max_iter=5000, tol=0.0)
    predicted = fit.W @ fit.H
    np.set_printoptions(precision=2, suppress=True)
    print("Users x books, 0 = not rated:")
    print(BOOK_RATINGS.astype(int))
    print("W H, r = 2, fitted to the rated entries only:")
    print(predicted)
    rated = BOOK_RATINGS > 0
    error = np.sqrt(np.mean((predicted[rated] - BOOK_RATINGS[rated]) ** 2))
    print(f"RMSE on the 13 ratings: {error:.3f}")
    print("Predicted rating of book 3, which only user 5 rated (clipped to 1..5):")
    print("  " + ", ".join(f"user {u + 1}: {min(predicted[u, 2], 5.0):.1f}" for u in range(4)))
    items, scores = top_k(fit.W, fit.H, 1, exclude=ratings)
    print(
        "Best unrated book per user: "
        + ", ".join(f"user {u + 1}: book {items[u, 0] + 1}" for u in range(BOOK_RATINGS.shape[0]) if items[u, 0] >= 0)
    )
    print(
        "Users 3 and 4 rate like user 5, who gave book 3 a 5: the model rates book 3 high for them and low "
        "for users 1 and 2."
    )
    return fit


class SyntheticRatings:
    """Ratings drawn from a known model with MovieLens-100k's statistics.

    Each user rates at least 20 items; activity is long-tailed (lognormal),
    item popularity Zipf-like; a rating is mean + user bias + item bias + a
    rank-5 interaction + noise, rounded to 1..5. ``expected`` gives the
    model's noise-free score of any (user, item) pair, so recommendations can
    be scored against the truth.
    """

    def __init__(self, n_users=943, n_items=1682, n_ratings=100_000, seed=0):
        rng = np.random.default_rng(seed)
        self.shape = (n_users, n_items)
        activity = rng.lognormal(0.0, 1.0, n_users)
        extra = n_ratings - 20 * n_users
        counts = 20 + np.floor(extra * activity / activity.sum()).astype(int)
        counts[: n_ratings - counts.sum()] += 1
        counts = np.minimum(counts, n_items // 2)
        popularity = 1.0 / (np.arange(n_items) + 15.0) ** 1.1
        popularity = popularity[rng.permutation(n_items)]
        popularity /= popularity.sum()
        rows, cols = [], []
        for user, count in enumerate(counts):
            rows.append(np.full(count, user))
            cols.append(rng.choice(n_items, size=count, replace=False, p=popularity))
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        self.user_bias = rng.normal(0.0, 0.35, n_users)
        self.item_bias = rng.normal(0.0, 0.35, n_items) + 0.25 * np.log(popularity / popularity.mean())
        self.user_taste = rng.normal(0.0, 0.45, (n_users, 5))
        self.item_traits = rng.normal(0.0, 0.45, (n_items, 5))
        self.mean = 3.5
        noisy = self.expected(rows, cols) + rng.normal(0.0, 0.75, rows.size)
        self.ratings = sp.csr_array((np.clip(np.rint(noisy), 1, 5), (rows, cols)), shape=self.shape)

    def expected(self, users, items):
        """The model's noise-free rating of each (users[q], items[q])."""
        interaction = np.einsum("qk,qk->q", self.user_taste[users], self.item_traits[items])
        return self.mean + self.user_bias[users] + self.item_bias[items] + interaction


def baseline_rmse(train, test):
    """RMSE of two baselines: the global mean, and each item's mean (shrunk
    toward the global mean by 5 pseudo-ratings)."""
    rows, cols = test.nonzero()
    truth = test[rows, cols]
    mean = train.data.mean()
    sums = np.bincount(train.indices, weights=train.data, minlength=train.shape[1])
    counts = np.bincount(train.indices, minlength=train.shape[1])
    item_mean = (sums + 5 * mean) / (counts + 5)
    return np.sqrt(np.mean((mean - truth) ** 2)), np.sqrt(np.mean((item_mean[cols] - truth) ** 2))


def held_out_grid(train, test, ranks, alphas, max_iter, tol):
    """RMSE on ``test`` for each (r, alpha), the penalty scaled by each user's
    and item's number of ratings; predictions clipped to 1..5."""
    errors = np.empty((len(ranks), len(alphas)))
    unconverged = []
    for a, alpha in enumerate(alphas):
        for i, r in enumerate(ranks):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                fit = nmf(
                    train,
                    r,
                    mask="observed",
                    alpha_W=alpha,
                    regularization_scale="observed",
                    init="random",
                    random_state=0,
                    max_iter=max_iter,
                    tol=tol,
                )
            if any(issubclass(warning.category, ConvergenceWarning) for warning in caught):
                unconverged.append(f"r = {r}, alpha = {alpha:g}")
            errors[i, a] = rmse(fit.W, fit.H, test, clip=(1, 5))
    return errors, unconverged


def plot_grid(ranks, alphas, errors, baselines):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.5), layout="constrained")
    ax = fig.add_subplot()
    for a, alpha in enumerate(alphas):
        ax.plot(ranks, errors[:, a], marker="o", label=f"alpha = {alpha:g}")
    for value, name, style in zip(baselines, ["global mean", "item mean"], [":", "--"]):
        ax.axhline(value, color="gray", linestyle=style, label=name)
    ax.set_xscale("log")
    ax.set_xticks(ranks, [str(r) for r in ranks])
    ax.set_xlabel("rank r")
    ax.set_ylabel("held-out RMSE")
    ax.set_ylim(top=min(1.6, float(np.max(errors)) + 0.05))
    ax.set_title("Synthetic MovieLens-100k-like ratings, 20% held out")
    ax.legend(frameon=False, fontsize="small", ncols=2)
    return fig


def synthetic(out_dir, quick):
    data = SyntheticRatings(n_users=200, n_items=300, n_ratings=8000) if quick else SyntheticRatings()
    R = data.ratings
    values, counts = np.unique(R.data, return_counts=True)
    per_user = np.diff(R.indptr)
    print(
        f"\nSynthetic ratings: {R.shape[0]} users x {R.shape[1]} items, {R.nnz} ratings "
        f"({R.nnz / np.prod(R.shape):.1%} of the matrix), mean {R.data.mean():.2f}; ratings per user "
        f"{per_user.min()} to {per_user.max()} (median {int(np.median(per_user))})"
    )
    print("  share of each rating: " + ", ".join(f"{int(v)}: {c / R.nnz:.0%}" for v, c in zip(values, counts)))

    train, test = split_ratings(R, 0.2, random_state=0)
    global_mean, item_mean = baseline_rmse(train, test)
    ranks = (2, 5) if quick else (1, 2, 5, 10, 20, 40)
    alphas = (0.0, 0.06) if quick else (0.0, 0.02, 0.06, 0.2)
    max_iter, tol = (30, 0.0) if quick else (1000, 1e-4)
    errors, unconverged = held_out_grid(train, test, ranks, alphas, max_iter, tol)
    print(f"\nHeld-out RMSE (20% of the ratings; baselines: global mean {global_mean:.3f}, item mean {item_mean:.3f})")
    print("     r " + "".join(f"  alpha={alpha:<5g}" for alpha in alphas))
    for i, r in enumerate(ranks):
        print(f"{r:6d} " + "".join(f"  {errors[i, a]:11.3f}" for a in range(len(alphas))))
    if unconverged and tol > 0:
        print(f"(stopped at max_iter = {max_iter} before tol: {'; '.join(unconverged)})")
    best_i, best_a = np.unravel_index(np.argmin(errors), errors.shape)
    best_r, best_alpha = ranks[best_i], alphas[best_a]
    print(f"best: r = {best_r}, alpha = {best_alpha:g}, RMSE {errors[best_i, best_a]:.3f}")
    plot_grid(ranks, alphas, errors, (global_mean, item_mean)).savefig(out_dir / "rmse_grid.png", dpi=90)

    fit = nmf(
        train,
        best_r,
        mask="observed",
        alpha_W=best_alpha,
        regularization_scale="observed",
        init="random",
        random_state=0,
        max_iter=max_iter,
        tol=tol,
    )
    plain = nmf(train, best_r, mask="observed", init="random", random_state=0, max_iter=max_iter, tol=tol)
    fig = plot_loss(
        [fit, plain], labels=[f"alpha = {best_alpha:g}", "alpha = 0"], title=f"Training objective, r = {best_r}"
    )
    fig.savefig(out_dir / "ratings_loss.png", dpi=90)

    print("\nTop-5 recommendations (unrated items), with the generating model's expected rating:")
    users = np.array([0, 1, 2])
    items, scores = top_k(fit.W, fit.H, 5, exclude=train, users=users)
    for u, user in enumerate(users):
        truth = data.expected(np.full(5, user), items[u])
        listed = ", ".join(f"{item} ({score:.1f}; {true:.1f})" for item, score, true in zip(items[u], scores[u], truth))
        print(f"  user {user}: {listed}")
    all_items, _ = top_k(fit.W, fit.H, 10, exclude=train)
    user_index = np.repeat(np.arange(R.shape[0]), 10)
    recommended = data.expected(user_index, all_items.ravel())
    rng = np.random.default_rng(1)
    random_items = rng.integers(0, R.shape[1], user_index.size)
    print(
        f"  over all users, expected rating of the top-10: {recommended.mean():.2f}; "
        f"of 10 random items: {data.expected(user_index, random_items).mean():.2f}"
    )

    n_new = 20 if quick else 50
    print(
        f"\nFold-in: {n_new} new users, left out of the fit, placed from a few of their ratings with H fixed (no refit)"
    )
    rng = np.random.default_rng(2)
    new_users = rng.choice(R.shape[0], n_new, replace=False)
    known = np.ones(R.shape[0], dtype=bool)
    known[new_users] = False
    old = sp.csr_array(R[known])
    model = nmf(
        old,
        best_r,
        mask="observed",
        alpha_W=best_alpha,
        regularization_scale="observed",
        init="random",
        random_state=0,
        max_iter=max_iter,
        tol=tol,
    )
    orders = [rng.permutation(R[[user]].nnz) for user in new_users]
    fold_in_errors = {}
    for n_given in (5, 10, 20):
        given, rest = split_new_users(R, new_users, orders, n_given)
        W_new = fold_in(given, model.H, alpha_W=best_alpha, max_iter=max_iter, tol=tol)
        fold_in_errors[n_given] = rmse(W_new, model.H, rest, clip=(1, 5))
        _, item_baseline = baseline_rmse(old, rest)
        print(
            f"  {n_given:2d} ratings each: RMSE on their other {rest.nnz} ratings {fold_in_errors[n_given]:.3f} "
            f"(item mean: {item_baseline:.3f})"
        )
        if n_given == 10:
            user_items, _ = top_k(W_new, model.H, 5, exclude=given, users=[0])
            example = (given[[0]].indices.tolist(), given[[0]].data.astype(int).tolist(), user_items[0].tolist())
    print(f"  new user 0 rated items {example[0]} as {example[1]}; recommended: {example[2]}")
    return {"errors": errors, "ranks": ranks, "alphas": alphas, "fold_in_errors": fold_in_errors}


def split_new_users(R, users, orders, n_given):
    """For each new user q (row users[q] of R): the first ``n_given`` of their
    ratings in the order ``orders[q]`` as ``given``, the others as ``rest``;
    two CSR arrays with one row per new user."""
    parts = {"given": ([], [], []), "rest": ([], [], [])}
    for q, (user, order) in enumerate(zip(users, orders)):
        row = R[[user]]
        for name, positions in (("given", order[:n_given]), ("rest", order[n_given:])):
            rows, cols, values = parts[name]
            rows.append(np.full(positions.size, q))
            cols.append(row.indices[positions])
            values.append(row.data[positions])
    shape = (len(users), R.shape[1])
    return tuple(
        sp.csr_array((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=shape)
        for rows, cols, values in (parts["given"], parts["rest"])
    )


def main(data_dir, out_dir, *, quick=False):
    """Run the example; ``quick`` uses a small synthetic set (tests).

    ``data_dir`` is not read. Returns a dict with the book fit and the
    synthetic results.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fit = books()
    results = synthetic(out_dir, quick)
    results["books"] = fit
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, default=Path("recommendation_output"))
    parser.add_argument("--quick", action="store_true", help="a small synthetic set and few iterations")
    args = parser.parse_args()
    main(args.data_dir, args.out, quick=args.quick)
