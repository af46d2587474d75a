"""Early against late iterations: fastnmf's multiplicative updates and
scikit-learn's, in one run.

One command, one table::

    python benchmarks/late_iterations.py --sizes 0.5M --dtypes float32 --losses kullback-leibler --threads 2

Under multiplicative updates some entries of W and H decay toward zero, and
in float32 they reach the smallest normal number (1.2e-38) within a few
hundred iterations. Products of such entries are subnormal, which Intel
processors handle slowly: that made fastnmf's late float32 iterations up to
3 times slower than its early ones until its kernels took subnormal numbers
as zero (rule 4 of the epsilon policy, ``fastnmf/_epsilon.py``). This script
times, for each synthetic document-term matrix (``benchmarks/synthetic.py``),
dtype, rank and loss, the iterations of two windows of one fit from a fixed
(W0, H0), scikit-learn's ``NMF(solver="mu")`` from the same start: a window
(a, b] takes (t(b) - t(a)) / (b - a) per iteration, t(k) the median time of
``--repeat`` fits of k iterations (``tol=0``). BLAS and Numba are limited to
``--threads`` threads. scikit-learn's β = 1.5 takes about half a second an
iteration at 0.5M nonzeros: ``--no-reference`` leaves it out.
"""

import argparse
import pathlib
import statistics
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import compare_sklearn as common  # noqa: E402  (sibling scripts, found through HERE)
import synthetic  # noqa: E402

LOSSES = {"frobenius": "frobenius", "kullback-leibler": "kullback-leibler", "1.5": 1.5}


def window(type_text):
    """'A:B' -> (A, B) with 0 <= A < B."""
    try:
        first, last = (int(part) for part in type_text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FIRST:LAST iterations such as 150:250, got {type_text!r}") from None
    if not 0 <= first < last:
        raise argparse.ArgumentTypeError(f"expected 0 <= FIRST < LAST, got {type_text!r}")
    return first, last


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["0.5M"], choices=list(synthetic.SIZES))
    parser.add_argument("--dtypes", nargs="+", default=["float32"], choices=["float32", "float64"])
    parser.add_argument("--ranks", nargs="+", type=int, default=[10])
    parser.add_argument("--losses", nargs="+", default=["kullback-leibler"], choices=list(LOSSES))
    parser.add_argument("--early", type=window, default=(10, 50), help="FIRST:LAST, the early window")
    parser.add_argument("--late", type=window, default=(150, 250), help="FIRST:LAST, the late window")
    parser.add_argument("--repeat", type=int, default=3, help="fits per timing (median)")
    parser.add_argument("--threads", type=int, default=2, help="fastnmf n_threads and BLAS threads")
    parser.add_argument("--no-reference", action="store_true", help="leave scikit-learn out")
    parser.add_argument("--seed", type=int, default=0, help="seed of the matrices and of (W0, H0)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1; got {args.repeat}")
    if args.threads < 1:
        parser.error(f"--threads must be at least 1; got {args.threads}")
    return args


def per_iteration(fit, windows, repeat):
    """Seconds per iteration of ``fit(k)`` over each (a, b] of ``windows``,
    from the medians of ``repeat`` fits of each length, taken in turns."""
    lengths = sorted({k for pair in windows for k in pair})
    times = {k: [] for k in lengths}
    for _ in range(repeat):
        for k in lengths:
            times[k].append(fit(k))
    median = {k: statistics.median(samples) for k, samples in times.items()}
    return [(median[b] - median[a]) / (b - a) for a, b in windows]


def measure(V, r, loss, args):
    """[fastnmf early, late, scikit-learn early, late] in seconds an iteration
    (None where left out)."""
    W0, H0 = common.random_init(V, r, args.seed)
    windows = (args.early, args.late)

    def ours(k):
        return common.fastnmf_fit(V, W0, H0, loss=loss, iterations=k, threads=args.threads, solver="mu")[0]

    def reference(k):
        return common.sklearn_fit(V, W0, H0, loss=loss, solver="mu", iterations=k)[0]

    ours(2)  # compiles (or loads) the kernels
    timings = per_iteration(ours, windows, args.repeat)
    timings += [None, None] if args.no_reference else per_iteration(reference, windows, args.repeat)
    return timings


def _ms(seconds):
    return "-" if seconds is None else f"{seconds * 1e3:.3g}"


def _ratio(slow, fast):
    """slow / fast, or "-" where a time is missing or not positive (a window
    shorter than the timer's noise, on tiny matrices)."""
    return "-" if slow is None or fast is None or slow <= 0 or fast <= 0 else f"{slow / fast:.3g}x"


def render(rows, args, markdown):
    (a, b), (c, d) = args.early, args.late
    header = [
        "size", "dtype", "r", "loss", f"fastnmf {a + 1}-{b} (ms/it)", f"fastnmf {c + 1}-{d}", "late/early",
        f"sklearn {a + 1}-{b}", f"sklearn {c + 1}-{d}", "late/early", "ratio early", "ratio late",
    ]  # fmt: skip
    cells = [header]
    for size, dtype, r, loss, (early, late, ref_early, ref_late) in rows:
        cells.append([
            size, dtype, str(r), str(loss), _ms(early), _ms(late), _ratio(late, early), _ms(ref_early),
            _ms(ref_late), _ratio(ref_late, ref_early), _ratio(ref_early, early), _ratio(ref_late, late),
        ])  # fmt: skip
    return common.render_cells(cells, markdown)


def main(argv=None):
    args = parse_arguments(argv)
    import numba
    import numpy as np

    import fastnmf

    if args.threads > numba.config.NUMBA_NUM_THREADS:
        print(f"--threads: at most NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}; got {args.threads}",
              file=sys.stderr)  # fmt: skip
        return 2
    fastnmf.nmf(np.ones((2, 2)), 1, max_iter=1, tol=0.0, n_threads=1)  # starts Numba's threads
    rows = []
    started = time.perf_counter()
    with common.blas_threads(args.threads):
        header = common.machine_description(args.threads)
        print("\n".join(header), file=sys.stderr)
        for size in args.sizes:
            for dtype in args.dtypes:
                V = synthetic.corpus(size, seed=args.seed, dtype=np.dtype(dtype))
                for r in args.ranks:
                    for name in args.losses:
                        rows.append((size, dtype, r, name, measure(V, r, LOSSES[name], args)))
                        print(f"{size} {dtype} r={r} {name}: done", file=sys.stderr, flush=True)
    print("\n".join(header))
    print(f"command: python benchmarks/late_iterations.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print()
    print(render(rows, args, args.markdown))
    print()
    print("ms/it: per-iteration time over the window, from the medians of --repeat fits of each length;")
    print("late/early: the late window's time over the early one's; ratio: scikit-learn's time over fastnmf's.")
    print(f"total time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
