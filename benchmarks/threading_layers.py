"""Whole fits on Numba's TBB and OpenMP threading layers, after a pause.

One command, one table::

    python benchmarks/threading_layers.py --rounds 3            # 2 idle cores
    python benchmarks/threading_layers.py --rounds 2 --busy 1   # one busy loop beside the fits

A threading layer is chosen when Numba starts its threads, so each layer runs
in a process of its own (``NUMBA_THREADING_LAYER``), the layers in turns,
``--rounds`` times. Each process times, for every case below, the median
of ``--fits`` fits of a fixed number of iterations, each fit started
``--pause`` seconds after the one before, from the call to its return
(fixed costs included), on ``--threads`` threads.

The pause is the point: a fit that follows idle time, as a user's usually
does, starts with sleeping threads. Between the short kernels of an
iteration OpenMP's threads spin for a few tens of microseconds, then sleep
(fastnmf's ``GOMP_SPINCOUNT``), and on the development machine, a virtual
machine, the first 30 to 40 iterations of a stock-volume fit after a pause
of 0.25 s took 1.4-1.6 ms instead of 0.8 ms; TBB's threads keep looking for
work between kernels, yielding their core meanwhile.

``--busy N`` runs N busy Python loops (one core each) beside the fits: what
spinning costs when other work wants the cores. The cases: HALS with
extrapolation on the S&P 500 volumes (r = 10 and 50) and the ORL faces
(r = 10), from ``--data-dir`` (skipped without them), and on the synthetic
0.5M document-term matrix (``--size``) Frobenius MU, KL, masked Frobenius (float64) and
HALS with extrapolation, at r = 10.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

LAYERS = ("omp", "tbb")


def cases(data_dir, size):
    """(name, V, r, keyword arguments, iterations) of the fits timed."""
    import compare_dense
    import synthetic

    if (data_dir / compare_dense.SP500_FILE).exists():
        volumes = compare_dense.sp500_matrix(data_dir).astype(np.float32)
        yield "stock volumes r = 10, EHALS, 40 it", volumes, 10, dict(solver="ehals"), 40
        yield "stock volumes r = 50, EHALS, 20 it", volumes, 50, dict(solver="ehals"), 20
    if (data_dir / compare_dense.FACES_FILE).exists():
        faces = compare_dense.faces_matrix(data_dir).astype(np.float32)
        yield "faces r = 10, EHALS, 20 it", faces, 10, dict(solver="ehals"), 20
    corpus = synthetic.corpus(size, dtype=np.float32)
    yield f"{size} Frobenius MU, 30 it", corpus, 10, dict(solver="mu"), 30
    yield f"{size} KL MU, 30 it", corpus, 10, dict(loss="kullback-leibler"), 30
    yield f"{size} float64 masked, 30 it", corpus.astype(np.float64), 10, dict(mask="observed"), 30
    yield f"{size} EHALS, 20 it", corpus, 10, dict(solver="ehals"), 20


def child(args):
    """Time every case in this process; print one JSON line."""
    import fastnmf  # before Numba starts its threads: it loads TBB, sets OpenMP's waiting
    import numba

    times = {}
    for name, V, r, kwargs, iterations in cases(pathlib.Path(args.data_dir), args.size):
        rng = np.random.default_rng(0)
        init = (rng.random((V.shape[0], r)).astype(V.dtype), rng.random((r, V.shape[1])).astype(V.dtype))
        options = dict(init=init, tol=0.0, n_threads=args.threads, **kwargs)
        fastnmf.nmf(V, r, max_iter=2, **options)  # compiled or loaded from the cache
        seconds = []
        for _ in range(args.fits):
            time.sleep(args.pause)
            started = time.perf_counter()
            fastnmf.nmf(V, r, max_iter=iterations, **options)
            seconds.append(time.perf_counter() - started)
        times[name] = statistics.median(seconds)
    print(json.dumps({"layer": numba.threading_layer(), "times": times}))


def main(argv=None):
    import compare_dense
    import synthetic

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2, help="processes per layer, the layers in turns")
    parser.add_argument("--fits", type=int, default=7, help="fits per case (median)")
    parser.add_argument("--pause", type=float, default=0.25, help="seconds before each fit")
    parser.add_argument("--threads", type=int, default=2, help="fastnmf n_threads")
    parser.add_argument("--busy", type=int, default=0, help="busy loops beside the fits")
    parser.add_argument("--size", default="0.5M", choices=list(synthetic.SIZES), help="the synthetic matrix")
    parser.add_argument("--data-dir", default=str(compare_dense.default_data_dir()),
                        help="folder with faces/ and stocks/ ($FASTNMF_DATA or ../shared/data)")  # fmt: skip
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if min(args.rounds, args.fits, args.threads) < 1 or args.busy < 0 or args.pause < 0:
        parser.error("--rounds, --fits and --threads must be at least 1; --busy and --pause at least 0")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    runs = {layer: [] for layer in LAYERS}
    try:
        for _ in range(args.rounds):
            for layer in LAYERS:
                command = [sys.executable, __file__, "--child", *(argv if argv is not None else sys.argv[1:])]
                done = subprocess.run(command, env={**os.environ, "NUMBA_THREADING_LAYER": layer},
                                      capture_output=True, text=True)  # fmt: skip
                if done.returncode != 0:
                    sys.exit(f"the {layer} process failed (is its threading layer available?):\n{done.stderr[-2000:]}")
                runs[layer].append(json.loads(done.stdout.splitlines()[-1])["times"])
    finally:
        for process in busy:
            process.kill()
    print(f"ms per fit, each after a {args.pause} s pause, medians of {args.fits}, {args.threads} threads, "
          f"{args.busy} busy loops; rounds in turns; ratio = OpenMP / TBB per round")  # fmt: skip
    width = max(len(name) for name in runs["omp"][0])
    print(f"{'fit':{width}s}  {'OpenMP':>20s}  {'TBB':>20s}  ratio")
    for name in runs["omp"][0]:
        omp = [run[name] * 1e3 for run in runs["omp"]]
        tbb = [run[name] * 1e3 for run in runs["tbb"]]
        ratios = [a / b for a, b in zip(omp, tbb)]
        print(f"{name:{width}s}  {fmt(omp):>20s}  {fmt(tbb):>20s}  {min(ratios):.2f}-{max(ratios):.2f}x")
    print(f"command: python benchmarks/threading_layers.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    return 0


def fmt(values):
    return " / ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
