"""How fastnmf's iterations scale with the number of threads.

One command, one table::

    python benchmarks/thread_scaling.py --sizes 15M --dtypes float32 --ranks 10 --threads 1 2 4 8 16

For each synthetic document-term matrix (``benchmarks/synthetic.py``), dtype,
rank and method, the per-iteration time of a fastnmf fit at each thread
count, and the speed-up from the fewest to the most threads. As in
``compare_sklearn.py``, a per-iteration time is the difference of the median
times of fits with 1 and 1 + k iterations divided by k, so a fit's fixed
costs (input checks, the transposed copy of V: single-threaded) are left
out, and every method is first run on a slice of V, so Numba's compilation
is never timed. Here k grows until the k iterations take about
``--min-seconds``: on 16 threads an iteration of the 15M matrix takes
milliseconds, less than the spread of the fixed costs. BLAS is limited to
the same number of threads as Numba.

Methods: multiplicative updates for the Frobenius and Kullback-Leibler
losses (``frobenius``, ``kl``), accelerated HALS (``hals``), and the masked
updates over V's stored entries (``masked-frobenius``, ``masked-kl``).

``--dense 400x10304 1259x470`` adds dense matrices of those shapes (the ORL
faces' and the S&P 500 volumes', without their data: a sum of 20 random
non-negative rank-one terms plus noise, as ``compare_dense.py``'s synthetic
matrix), for the methods that apply to dense V (not the masked ones). The
dense kernels split a factor's rows into blocks that depend on its shape
only; these shapes have short sides (400 and 470 rows), few blocks to share
among many threads.
"""

import argparse
import os
import pathlib
import statistics
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import compare_sklearn as common  # noqa: E402  (sibling scripts, found through HERE)
import synthetic  # noqa: E402

DENSE_RANK = 20  # rank-one terms of a --dense matrix

MAX_ITERATIONS = 200

METHODS = {
    "frobenius": dict(loss="frobenius", solver="mu"),
    "kl": dict(loss="kullback-leibler", solver="mu"),
    "hals": dict(loss="frobenius", solver="hals"),
    "masked-frobenius": dict(loss="frobenius", mask="observed"),
    "masked-kl": dict(loss="kullback-leibler", mask="observed"),
}


def per_iteration(V, W0, H0, threads, args, **method):
    """Per-iteration seconds of one method at ``threads`` threads: (median
    t(1 + k) - median t(1)) / k, with k at least ``--iterations`` and large
    enough that the k iterations take about ``--min-seconds`` (on many
    threads an iteration of even the largest matrix can take less time than
    the spread of a fit's fixed costs, which are single-threaded)."""
    common.fastnmf_fit(V[: common.WARM_UP_ROWS], W0[: common.WARM_UP_ROWS], H0, iterations=2, threads=threads,
                       **method)  # fmt: skip

    def fit(k):
        return common.fastnmf_fit(V, W0, H0, iterations=k, threads=threads, **method)[0]

    def median(k):
        return statistics.median(fit(k) for _ in range(args.repeat))

    with common.blas_threads(threads):
        base = median(1)
        k = args.iterations
        estimate = (fit(1 + k) - base) / k
        if estimate * k < args.min_seconds:
            k = int(min(MAX_ITERATIONS, max(k, np.ceil(args.min_seconds / max(estimate, 1e-4)))))
        return (median(1 + k) - base) / k, k


def dense_shape(text):
    """'400x10304' -> (400, 10304), for --dense."""
    try:
        m, n = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ROWSxCOLUMNS such as 400x10304, got {text!r}") from None
    if m < 1 or n < 1:
        raise argparse.ArgumentTypeError(f"expected positive rows and columns, got {text!r}")
    return m, n


def dense_matrix(m, n, seed):
    """m x n: DENSE_RANK random non-negative rank-one terms plus uniform noise in [0, 0.1)."""
    rng = np.random.default_rng(seed)
    return rng.random((m, DENSE_RANK)) @ rng.random((DENSE_RANK, n)) + 0.1 * rng.random((m, n))


def matrices(args):
    """(label, V in float64, methods that apply) for every --sizes and --dense matrix."""
    for size in args.sizes:
        yield size, synthetic.corpus(size, seed=args.seed), args.methods
    for m, n in args.dense:
        yield f"{m}x{n} dense", dense_matrix(m, n, args.seed), [name for name in args.methods if "masked" not in name]


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="fastnmf's per-iteration time against the number of threads: one run, one table.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    all_threads = sorted({1, *(t for t in (2, 4, 8, 16, 32, 64) if t <= os.cpu_count()), os.cpu_count()})
    parser.add_argument("--sizes", nargs="*", default=["3M"], choices=list(synthetic.SIZES),
                        help="synthetic document-term matrices (none: --sizes with no value)")
    parser.add_argument("--dense", nargs="*", type=dense_shape, default=[], metavar="ROWSxCOLUMNS",
                        help="dense matrices of these shapes too")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--ranks", nargs="+", type=int, default=[10, 50])
    parser.add_argument("--threads", nargs="+", type=int, default=all_threads, help="thread counts to time")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--repeat", type=int, default=3, help="fits per timing (median)")
    parser.add_argument("--iterations", type=int, default=5, help="fewest iterations k of a per-iteration timing")
    parser.add_argument("--min-seconds", type=float, default=1.0,
                        help="k is raised (up to %s) until the k iterations take about this long" % MAX_ITERATIONS)
    parser.add_argument("--seed", type=int, default=0, help="seed of the matrices and of (W0, H0)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.iterations < 1 or min(args.threads) < 1:
        parser.error("--repeat, --iterations and --threads must be at least 1")
    if not args.sizes and not args.dense:
        parser.error("nothing to time: give --sizes or --dense")
    args.threads = sorted(set(args.threads))
    return args


def render(rows, threads, markdown):
    header = ["size", "dtype", "r", "method", *(f"{t} thr (ms/it)" for t in threads), f"{threads[0]}->{threads[-1]}"]
    cells = [header] + rows
    return common.render_cells(cells, markdown)


def main(argv=None):
    args = parse_arguments(argv)
    import numba
    import numpy as np

    import fastnmf

    if max(args.threads) > numba.config.NUMBA_NUM_THREADS:
        print(f"--threads: at most NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}; got {max(args.threads)}",
              file=sys.stderr)  # fmt: skip
        return 2
    fastnmf.nmf(np.ones((2, 2)), 1, max_iter=1, tol=0.0, n_threads=1)  # starts Numba's threads
    header = common.machine_description(max(args.threads))
    print("\n".join(header), file=sys.stderr)
    rows = []
    started = time.perf_counter()
    for size, matrix, methods in matrices(args):
        for dtype in args.dtypes:
            V = matrix.astype(dtype)
            for r in args.ranks:
                W0, H0 = common.random_init(V, r, args.seed)
                for name in methods:
                    timings = [per_iteration(V, W0, H0, t, args, **METHODS[name]) for t in args.threads]
                    seconds = [s for s, _ in timings]
                    speedup = f"{seconds[0] / seconds[-1]:.3g}x" if min(seconds) > 0 else "-"
                    cells = [f"{1e3 * s:.3g} ({k})" if s > 0 else "noise" for s, k in timings]
                    rows.append([size, dtype, str(r), name, *cells, speedup])
                    print("  " + " | ".join(rows[-1]), file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    print()
    print("\n".join(header))
    print(f"command: python benchmarks/thread_scaling.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print()
    print(render(rows, args.threads, args.markdown))
    print()
    print(f"ms/it (k): per-iteration time from medians of {args.repeat} fits of 1 and 1 + k iterations;")
    print(f"last column: time at {args.threads[0]} thread(s) / time at {args.threads[-1]}.")
    print(f"total time {elapsed:.0f} s; load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
