"""fastnmf against scikit-learn on dense data, side by side.

One command, one run, one table::

    python benchmarks/compare_dense.py                          # synthetic 2,000 x 3,000
    python benchmarks/compare_dense.py --matrices synthetic faces sp500 --markdown

The matrices:

- ``synthetic``: 2,000 x 3,000 (``--synthetic-shape``), a sum of 20 random
  non-negative rank-one terms plus uniform noise (seed ``--seed``); no
  download.
- ``faces``: the ORL faces, 400 images x 10,304 pixels, each image scaled as
  Lee & Seung (1999) did (pixel mean and standard deviation 0.25, clipped to
  [0, 1]); needs ``DATA_DIR/faces/orl_faces_pgm.tar.gz``.
- ``sp500``: daily trading volumes of the S&P 500 stocks that traded on every
  day of 2013-02-08 to 2018-02-07 (1,259 days x 470 stocks), each divided by
  its median; needs ``DATA_DIR/stocks/sp500_5yr/all_stocks_5yr.csv.gz``.

DATA_DIR is ``--data-dir``, else ``$FASTNMF_DATA``, else ``../shared/data``
beside the repository (see that folder's README for where the files come
from); a matrix whose file is missing is skipped with a message.

For each matrix, dtype and rank, both libraries start from the same (W0, H0)
in the same dtype, and the table gives per-iteration times as
``benchmarks/compare_sklearn.py`` measures them ((t(k2) - t(k1)) / (k2 - k1)
from medians of ``--repeat`` fits, k2 large enough that the difference spans
``--min-span`` seconds, compilation never timed): multiplicative
updates for the Frobenius, Kullback-Leibler and beta = 1.5 losses, and
Itakura-Saito where V has no zero, against ``NMF(solver="mu")``. For the
Frobenius loss, scikit-learn's ``solver="cd"`` runs ``--cd-iterations``
iterations and its loss is the target: the table gives the time fastnmf's
HALS, with and without extrapolation (``--hals-solvers``), takes to reach it
(stopping after ``--time-cap`` times cd's time), as ``compare_sklearn.py``
does (a HALS iteration repeats its cheap inner sweeps,
so per-iteration times would not compare like with like); with ``--inits N``,
from N initializations (seeds ``--seed``, ``--seed + 1``, ...), the median
and range of the ratio, since on real data where a fit ends depends on
where it starts. BLAS, which both use, is limited to ``--threads`` threads,
as is fastnmf. The ratio is scikit-learn's time over
fastnmf's (above 1: fastnmf is faster).
"""

import argparse
import os
import pathlib
import sys
import time
import warnings

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

EXAMPLES = HERE.parent / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.append(str(EXAMPLES))

import faces as orl_faces  # noqa: E402  (the examples' data readers, found through EXAMPLES)
import stock_volume  # noqa: E402
from compare_sklearn import (  # noqa: E402  (a sibling script, found through HERE)
    SETTLE_SECONDS,
    Row,
    Table,
    add_timing_arguments,
    blas_threads,
    check_timing_arguments,
    fastnmf_fit,
    fit_to_loss,
    machine_description,
    median_over_inits,
    per_iteration,
    timing_options,
    random_init,
    sklearn_fit,
)

MATRICES = ("synthetic", "faces", "sp500")
FACES_FILE = pathlib.Path("faces") / "orl_faces_pgm.tar.gz"
SP500_FILE = pathlib.Path("stocks") / "sp500_5yr" / "all_stocks_5yr.csv.gz"
LOSSES = {"frobenius": 2.0, "kullback-leibler": 1.0, "beta=1.5": 1.5, "itakura-saito": 0.0}


def default_data_dir():
    return pathlib.Path(os.environ.get("FASTNMF_DATA") or HERE.parent.parent / "shared" / "data")


def synthetic_matrix(seed, m=2000, n=3000, rank=20):
    """m x n: a sum of ``rank`` random non-negative rank-one terms plus
    uniform noise in [0, 0.1)."""
    rng = np.random.default_rng(seed)
    return rng.random((m, rank)) @ rng.random((rank, n)) + 0.1 * rng.random((m, n))


def faces_matrix(data_dir):
    """images x pixels, scaled as Lee & Seung (1999) did, by the faces
    example's own reader."""
    images, _ = orl_faces.read_orl(data_dir / FACES_FILE)
    return orl_faces.lee_seung_scaling(images)


def sp500_matrix(data_dir):
    """days x stocks volumes of the stocks with a volume on every day, each
    divided by its median (read by the stock-volume example's reader)."""
    volume, _, _ = stock_volume.read_sp500_volume(data_dir / SP500_FILE)
    complete = volume[:, ~np.isnan(volume).any(axis=0)]
    return complete / np.median(complete, axis=0)


def load(name, args):
    """The matrix called ``name`` (float64), or None with a message when its
    file is missing."""
    if name == "synthetic":
        return synthetic_matrix(args.seed, *args.synthetic_shape)
    data_dir = pathlib.Path(args.data_dir) if args.data_dir else default_data_dir()
    path = data_dir / (FACES_FILE if name == "faces" else SP500_FILE)
    if not path.exists():
        print(f"skipping {name}: {path} not found (see --data-dir)", file=sys.stderr)
        return None
    return faces_matrix(data_dir) if name == "faces" else sp500_matrix(data_dir)


def compare(table, name, V, r, args):
    label = f"{name} {V.shape[0]}x{V.shape[1]}"
    dtype = V.dtype.name
    W0, H0 = random_init(V, r, args.seed)
    warm_V, warm_W0 = V[:40], W0[:40]
    for loss, beta in LOSSES.items():
        if "mu" in args.skip:
            break
        if beta <= 0 and V.min() <= 0:
            continue  # Itakura-Saito is undefined where V is zero
        loss_arg = beta if loss == "beta=1.5" else loss
        fastnmf_fit(warm_V, warm_W0, H0, loss=loss_arg, iterations=2, threads=args.threads, solver="mu")

        def fastnmf_time(k, loss_arg=loss_arg):
            return fastnmf_fit(V, W0, H0, loss=loss_arg, iterations=k, threads=args.threads, solver="mu")[0]

        def sklearn_time(k, loss_arg=loss_arg):
            return sklearn_fit(V, W0, H0, loss=loss_arg, solver="mu", iterations=k)[0]

        timing = timing_options(args)
        mine = per_iteration(fastnmf_time, **timing).seconds
        reference = per_iteration(sklearn_time, **timing).seconds
        ratio = f"{reference / mine:.3g}x" if mine > 0 else "-"
        times = f"{mine * 1e3:.3g} ms/it", f"{reference * 1e3:.3g} ms/it"
        table.add(Row(label, dtype, r, f"{loss} MU vs sklearn mu", *times, ratio))
    if "hals" not in args.skip:
        for row in hals_rows(label, V, r, args):
            table.add(row)


def frobenius_loss(V, W, H):
    """0.5 ||V - W H||^2 in float64."""
    residual = V.astype(np.float64) - np.asarray(W, dtype=np.float64) @ np.asarray(H, dtype=np.float64)
    return 0.5 * float(np.einsum("ij,ij->", residual, residual))


def time_to_cd_loss(V, W0, H0, r, args):
    """From (W0, H0): the time scikit-learn's cd takes for --cd-iterations
    iterations, its loss then, and for each of --hals-solvers the time
    fastnmf takes to reach that loss (None when it does not within
    --max-iterations and --time-cap times cd's time), from the call, fixed
    costs included for both. Returns ``(cd_seconds, target, {solver:
    (seconds, iterations, best_loss)})``."""
    cd_seconds, (W, H) = sklearn_fit(
        V, W0, H0, loss="frobenius", solver="cd", iterations=args.cd_iterations, settle=args.settle
    )
    target = frobenius_loss(V, W, H)
    reached = {solver: _time_to_loss(V, W0, H0, r, args, solver, target, cd_seconds) for solver in args.hals_solvers}
    return cd_seconds, target, reached


def _time_to_loss(V, W0, H0, r, args, solver, target, cd_seconds):
    reached, seconds, iterations, best = fit_to_loss(
        V, r, target, args.time_cap * cd_seconds, init=(W0, H0), threads=args.threads,
        max_iterations=args.max_iterations, solver=solver, settle=args.settle,
    )  # fmt: skip
    return (seconds if reached else None), iterations, best


def hals_rows(label, V, r, args):
    """The rows of fastnmf's --hals-solvers against scikit-learn's cd, from
    the (W0, H0) of --seed, or, with --inits N > 1, the median over N of
    them (seeds --seed, --seed + 1, ...): where each fit ends depends on
    where it starts, on real data as much as on the solver
    (docs/performance.md, "Dense matrices"). Every solver starts from the
    same (W0, H0) and aims at the same cd run's loss."""
    for solver in args.hals_solvers:
        fastnmf_fit(V[:40], *random_init(V[:40], r, args.seed), loss="frobenius", iterations=2, threads=args.threads,
                    solver=solver)  # fmt: skip
    runs = [time_to_cd_loss(V, *random_init(V, r, args.seed + k), r, args) for k in range(args.inits)]
    rows = []
    for solver in args.hals_solvers:
        comparison = f"time to cd's loss: {solver.upper()}"
        if args.inits == 1:
            cd_seconds, target, reached = runs[0]
            seconds, iterations, best = reached[solver]
            reference = f"{cd_seconds:.3g} s ({args.cd_iterations} it, loss {target:.6g})"
            if seconds is None:
                note = f"best loss {best:.6g} (+{100 * (best / target - 1):.2g}%)"
                rows.append(Row(label, V.dtype.name, r, comparison, f"not reached in {iterations} it", reference, "-",
                                note))  # fmt: skip
                continue
            mine = f"{seconds:.3g} s ({iterations} it)"
            rows.append(Row(label, V.dtype.name, r, comparison, mine, reference, f"{cd_seconds / seconds:.3g}x sooner"))
            continue
        excess = [(cd, reached[solver][0], reached[solver][2] / target) for cd, target, reached in runs]
        rows.append(Row(label, V.dtype.name, r, comparison, *median_over_inits(excess, args.cd_iterations)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="fastnmf vs scikit-learn on dense matrices: one run, one table.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--matrices", nargs="+", choices=MATRICES, default=["synthetic"])
    parser.add_argument("--synthetic-shape", nargs=2, type=int, default=[2000, 3000], metavar=("M", "N"))
    parser.add_argument("--data-dir", help="folder with faces/ and stocks/ (default: $FASTNMF_DATA or ../shared/data)")
    parser.add_argument("--dtypes", nargs="+", choices=["float32", "float64"], default=["float32", "float64"])
    parser.add_argument("--ranks", nargs="+", type=int, default=[10, 50])
    parser.add_argument("--threads", type=int, default=2, help="fastnmf n_threads and BLAS threads")
    add_timing_arguments(parser)
    parser.add_argument("--cd-iterations", type=int, default=200, help="scikit-learn cd iterations for the target loss")
    parser.add_argument("--max-iterations", type=int, default=5000, help="HALS iterations allowed to reach it")
    parser.add_argument("--time-cap", type=float, default=1.0, help="... and time allowed, as a multiple of cd's time")
    parser.add_argument("--settle", type=float, default=SETTLE_SECONDS,
                        help="seconds between a time-to-loss fit and the fit before it (both libraries)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic matrix and of (W0, H0)")
    parser.add_argument("--inits", type=int, default=1,
                        help="HALS against cd from this many (W0, H0), seeds --seed, --seed + 1, ...: their median")
    parser.add_argument("--skip", nargs="*", default=[], choices=["mu", "hals"], help="row groups to leave out")
    parser.add_argument("--hals-solvers", nargs="+", choices=["hals", "ehals"], default=["hals", "ehals"],
                        help="fastnmf solvers timed to cd's loss (ehals: HALS with extrapolation)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    check_timing_arguments(parser, args)
    for option in ("threads", "cd_iterations", "max_iterations", "inits"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    if any(r < 1 for r in args.ranks):
        parser.error("--ranks must be at least 1")
    if min(args.synthetic_shape) < 41:
        parser.error("--synthetic-shape must be at least 41 x 41 (fits are first run on 40 rows)")
    started = time.perf_counter()
    table = Table()
    with blas_threads(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        print("\n".join(machine_description(args.threads)), file=sys.stderr)
        for name in args.matrices:
            V = load(name, args)
            if V is None:
                continue
            for dtype in args.dtypes:
                for r in args.ranks:
                    print(f"{name} {dtype} r={r}:", file=sys.stderr, flush=True)
                    compare(table, name, V.astype(dtype), r, args)
    print(table.render(markdown=args.markdown))
    print(f"\nratio = scikit-learn time / fastnmf time; ms/it: per-iteration time from medians of {args.repeat} fits.")
    load_average = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"total time {time.perf_counter() - started:.0f} s; load average at end: {load_average}")
    print("command: python benchmarks/compare_dense.py " + " ".join(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
