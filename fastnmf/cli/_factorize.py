"""``fastnmf factorize``: W, H (.npy) and a JSON summary of a matrix file."""

import json
import os

from ._arguments import FORMATS, add_fit_options, fraction, loss_type, non_negative_float, positive_int
from ._errors import CommandError
from ._fitting import check_threads, fit, load_matrix


def run_factorize(args):
    import numpy as np
    import scipy.sparse as sp

    from .. import __version__
    from .._losses import beta_from_loss

    check_threads(args)
    data = load_matrix(args.input, args)
    matrix = data.matrix.astype(np.float32) if args.float32 else data.matrix
    if args.mask == "observed" and not sp.issparse(matrix):
        raise CommandError(
            f"{args.input}: --mask observed needs a sparse input (stored entries are the observed ones)."
        )
    mask = "observed" if args.mask == "observed" else None
    if mask is None and not sp.issparse(matrix) and np.isnan(matrix).any():
        mask = ~np.isnan(matrix)  # missing values in a dense file are left out of the fit
    result, seconds = fit(matrix, args.rank, args, loss=args.loss, mask=mask, what=args.input)

    os.makedirs(args.output, exist_ok=True)
    np.save(os.path.join(args.output, "W.npy"), result.W)
    np.save(os.path.join(args.output, "H.npy"), result.H)
    for name, labels in (("row_labels.txt", data.row_labels), ("column_labels.txt", data.column_labels)):
        if labels is not None:
            with open(os.path.join(args.output, name), "w", encoding="utf-8") as file:
                file.writelines(f"{label}\n" for label in labels)
    m, n = matrix.shape
    summary = {
        "input": os.fspath(args.input),
        "shape": [m, n],
        "nnz": int(matrix.nnz) if sp.issparse(matrix) else int(np.count_nonzero(matrix)),
        "dtype": str(result.W.dtype),
        "rank": args.rank,
        "loss": args.loss,
        "beta": beta_from_loss(args.loss),
        "objective": result.loss,
        "data_loss": result.data_loss,
        "reconstruction_err": result.reconstruction_err,
        "n_iter": result.n_iter,
        "converged": bool(result.converged),
        "seconds": round(seconds, 6),
        "settings": {
            "solver": args.solver,
            "mask": "observed" if args.mask == "observed" else ("non-NaN" if mask is not None else None),
            "init": args.init,
            "max_iter": args.max_iter,
            "tol": args.tol,
            "seed": args.seed,
            "threads": args.threads,
            "alpha_W": args.alpha_W,
            "alpha_H": args.alpha_H if args.alpha_H is not None else "same",
            "l1_ratio": args.l1_ratio,
        },
        "outputs": {"W": "W.npy", "H": "H.npy"},
        "fastnmf_version": __version__,
    }
    with open(os.path.join(args.output, "summary.json"), "w", encoding="utf-8") as file:
        json.dump(summary, file, indent=2)
        file.write("\n")
    print(
        f"{args.input}: {m} x {n} -> W {m} x {args.rank}, H {args.rank} x {n}; loss {result.loss:.6g} "
        f"after {result.n_iter} iterations ({'converged' if result.converged else 'max_iter reached'}) "
        f"in {seconds:.2f} s; wrote {os.path.join(args.output, '')}{{W.npy,H.npy,summary.json}}"
    )
    return 0


def add_factorize_command(commands):
    """Add the ``factorize`` subcommand to ``commands`` (argparse subparsers)."""
    factorize = commands.add_parser(
        "factorize",
        help="factorize a matrix file into W and H",
        description="Factorize a matrix file (.mtx[.gz], .npz, .npy, .csv/.tsv, docword.*.txt[.gz], .mat, "
        "ratings) into W (m x r) and H (r x n), written as OUT/W.npy and OUT/H.npy with OUT/summary.json.",
    )
    factorize.add_argument("input", metavar="INPUT", help="the matrix file")
    factorize.add_argument("-r", "--rank", type=positive_int, required=True, help="the rank r")
    factorize.add_argument("-o", "--output", metavar="OUT", required=True, help="output folder (created if needed)")
    factorize.add_argument(
        "--loss",
        type=loss_type,
        default="frobenius",
        help="frobenius (default), kullback-leibler, itakura-saito, or a beta",
    )
    factorize.add_argument(
        "--mask",
        choices=["observed"],
        default=None,
        help="observed: fit only the stored entries of a sparse input (ratings)",
    )
    factorize.add_argument(
        "--solver",
        choices=["auto", "mu", "hals", "ehals", "amu"],
        default="auto",
        help="auto (default: ehals for the unmasked Frobenius loss, else mu), mu, hals, ehals (hals with "
        "extrapolation) or amu (accelerated mu)",
    )
    factorize.add_argument(
        "--init",
        choices=["random", "nndsvd", "nndsvda", "nndsvdar"],
        default=None,
        help="initialization (default nndsvda, or random when r > min(m, n))",
    )
    factorize.add_argument(
        "--alpha-W", dest="alpha_W", type=non_negative_float, default=0.0, help="regularization of W (default 0)"
    )
    factorize.add_argument(
        "--alpha-H",
        dest="alpha_H",
        type=non_negative_float,
        default=None,
        help="regularization of H (default: --alpha-W)",
    )
    factorize.add_argument("--l1-ratio", type=fraction, default=0.0, help="L1 share of the regularization (default 0)")
    factorize.add_argument(
        "--format", choices=FORMATS, default=None, help="the input's format if its name does not tell"
    )
    factorize.add_argument("--variable", default=None, help="the variable to read from a .mat or .npz file")
    factorize.add_argument("--float32", action="store_true", help="compute in float32 (half the memory)")
    add_fit_options(factorize)
    factorize.set_defaults(run=run_factorize)
