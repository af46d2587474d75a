"""``fastnmf recommend``: the top-k unrated items of given users from a ratings file."""

from ._arguments import add_fit_options, non_negative_float, positive_int, split_user_ids, user_ids_type
from ._errors import CommandError
from ._fitting import check_threads, fit


def _item_names(path):
    """{item id: title} from a MovieLens-style items file (id first, title second)."""
    import csv

    from ..io._common import existing_file

    path = existing_file(path)
    names = {}
    with open(path, encoding="latin-1", newline="") as file:
        for line in file:
            line = line.rstrip("\r\n")
            if not line:
                continue
            for separator in ("::", "|", "\t"):
                if separator in line:
                    fields = line.split(separator)
                    break
            else:
                fields = next(csv.reader([line]))
            if len(fields) >= 2:
                names[fields[0].strip()] = fields[1].strip()
    return names


def run_recommend(args):
    import numpy as np

    from ..io import read_ratings
    from ..recommend import top_k

    check_threads(args)
    data = read_ratings(args.ratings, layout=args.layout)
    ratings, user_ids, item_ids = data.matrix, data.row_labels, data.column_labels
    wanted = [user for group in args.user for user in split_user_ids(group)]
    index = {str(user): i for i, user in enumerate(user_ids)}
    missing = [user for user in wanted if user not in index]
    known = f"{len(user_ids)} users, ids {user_ids[0]} to {user_ids[-1]}"
    if not wanted:  # the parser refuses an empty --user; this is for callers of run_recommend
        raise CommandError(f"--user must name at least one user id of {args.ratings} (it has {known}); got none.")
    if missing:
        raise CommandError(f"{args.ratings}: no user {missing[0]!r} (it has {known}).")
    rows = np.array([index[user] for user in wanted], dtype=np.int64)
    m, n = ratings.shape
    if args.rank > min(m, n):
        raise CommandError(f"-r/--rank must be at most min(users, items) = {min(m, n)} here; got {args.rank}.")
    result, seconds = fit(
        ratings, args.rank, args, loss="frobenius", mask="observed", regularization_scale="observed", what=args.ratings
    )
    k = min(args.k, n)  # more than every item cannot be shown (and would be allocated)
    items, scores = top_k(result.W, result.H, k, exclude=ratings, users=rows, n_threads=args.threads)
    names = _item_names(args.item_names) if args.item_names else {}
    print(
        f"{args.ratings}: {m} users x {n} items, {ratings.nnz:,} ratings; rank {args.rank}, "
        f"{result.n_iter} iterations in {seconds:.2f} s"
    )
    for user, row, user_items, user_scores in zip(wanted, rows, items, scores):
        print()
        print(f"user {user} ({int(np.diff(ratings.indptr)[row])} ratings): top {k} unrated items")
        for rank, (item, score) in enumerate(zip(user_items, user_scores), start=1):
            if item < 0:
                break
            item_id = str(item_ids[item])
            title = f"  {names[item_id]}" if item_id in names else ""
            print(f"  {rank:>3}. item {item_id}{title}  (predicted {score:.2f})")
    return 0


def add_recommend_command(commands):
    """Add the ``recommend`` subcommand to ``commands`` (argparse subparsers)."""
    recommend = commands.add_parser(
        "recommend",
        help="top-k items for given users from a ratings file",
        description="Fit a masked NMF of a (user, item, rating) file (MovieLens u.data, ratings.dat, ratings.csv) "
        "and print each given user's top-k unrated items.",
    )
    recommend.add_argument("ratings", metavar="RATINGS", help="ratings file")
    recommend.add_argument(
        "--user", "-u", type=user_ids_type, action="append", required=True, help="user id (repeat, or comma-separate)"
    )
    recommend.add_argument("-k", type=positive_int, default=10, help="items per user (default 10; at most all items)")
    recommend.add_argument("-r", "--rank", type=positive_int, default=10, help="rank (default 10)")
    recommend.add_argument(
        "--layout",
        choices=["auto", "movielens-100k", "movielens-1m", "csv"],
        default="auto",
        help="ratings file layout (default: from the first line)",
    )
    recommend.add_argument(
        "--item-names", default=None, help="items file with id and title (MovieLens u.item, movies.dat, movies.csv)"
    )
    recommend.add_argument(
        "--alpha-W", dest="alpha_W", type=non_negative_float, default=0.0, help="regularization (default 0)"
    )
    recommend.set_defaults(alpha_H=None, l1_ratio=0.0)
    add_fit_options(recommend)
    recommend.set_defaults(run=run_recommend)
