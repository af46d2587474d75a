"""Numba's compile cost: every solver kernel compiled cold, and a warm start.

One command::

    python benchmarks/compile_time.py --runs 3

Each cold run is a new process with an empty ``NUMBA_CACHE_DIR`` that fits a
tiny matrix with every solver path for float32 and float64: dense and CSR,
Frobenius (MU and HALS), Kullback-Leibler, beta = 1.5, masked Frobenius and
KL (weights for dense V, ``mask="observed"`` for CSR), and Itakura-Saito on
dense V. The fits take microseconds, so their wall time is the compile time;
the kernels' own shares come from Numba's compile events
(``numba.core.event``, nested: a kernel's time includes the helpers it
compiles). Then a warm run, a new process on the cache the last cold run
filled, gives the import time and the first fit's time (code loaded from the
cache), which is what a user's second session pays.

Then the same for ``fastnmf precompile --jobs N`` (N = ``--jobs``, by default
one per available core): the wall time of the command on an empty cache,
which compiles every kernel (the recommendation ones too) in N processes at
once, and a check that every fit afterwards loads its kernels from that
cache (no compile event).
"""

import argparse
import collections
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _fits(kinds):
    """(description, V, rank, keyword arguments) of every solver path
    (``fastnmf._precompile.solver_paths``), float64 then float32, or of the
    first one only with kinds == "one"."""
    import numpy as np

    from fastnmf._precompile import solver_paths

    for dtype in (np.float64, np.float32):
        for fit in solver_paths(dtype):
            yield fit
            if kinds == "one":
                return


def child(kinds):
    """The measured process: prints one JSON line."""
    started = time.perf_counter()
    import fastnmf

    imported = time.perf_counter() - started
    from numba.core import event

    durations = collections.defaultdict(float)
    starts = {}

    class Listener(event.Listener):
        def on_start(self, ev):
            starts[id(ev.data["dispatcher"]), str(ev.data["args"])] = time.perf_counter()

        def on_end(self, ev):
            key = id(ev.data["dispatcher"]), str(ev.data["args"])
            durations[ev.data["dispatcher"].py_func.__qualname__] += time.perf_counter() - starts.pop(key)

    event.register("numba:compile", Listener())
    fit_seconds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after 3 iterations
        for _, V, r, kwargs in _fits(kinds):
            fit_started = time.perf_counter()
            fastnmf.nmf(V, r, max_iter=3, random_state=0, **kwargs)
            fit_seconds.append(time.perf_counter() - fit_started)
    print(json.dumps({"import": imported, "fits": fit_seconds, "kernels": durations}))


def _environment(cache):
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=path)


def run_child(cache, kinds):
    command = [sys.executable, __file__, "--child", kinds]
    done = subprocess.run(command, env=_environment(cache), capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_precompile(cache, jobs):
    """Seconds of ``fastnmf precompile --jobs jobs`` on an empty cache."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "fastnmf", "precompile", "--jobs", str(jobs)]
    subprocess.run(command, env=_environment(cache), capture_output=True, text=True, check=True)
    return time.perf_counter() - started


def _machine():
    """The CPU, its cores and the load: compile time depends on all three
    (LLVM emits other code for AVX-512 than for AVX2). The sibling script is
    imported here, not at the top: the child processes run this file, and
    what it imports there (NumPy, SciPy) would not count in fastnmf's import
    time."""
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    from compare_sklearn import compile_target, cpu_model

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; Numba compiles for {compile_target()}; load {load}"


def main(argv=None):
    parser = argparse.ArgumentParser(description="fastnmf's cold compile time and warm start.")
    parser.add_argument("--runs", type=int, default=3, help="cold runs (each a new process and cache)")
    parser.add_argument("--kinds", choices=["all", "one"], default="all", help="every solver path, or one")
    parser.add_argument("--jobs", type=int, default=None, help="processes of `fastnmf precompile` (0: skip it)")
    parser.add_argument("--child", choices=["all", "one"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.jobs is None:
        from fastnmf._precompile import available_cores

        args.jobs = available_cores()
    cold, kernels = [], collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(args.runs):
            cache = os.path.join(scratch, f"cache{run}")
            result = run_child(cache, args.kinds)
            cold.append(sum(result["fits"]))
            for name, seconds in result["kernels"].items():
                kernels[name].append(seconds)
            print(f"cold run {run + 1}: {cold[-1]:.2f} s", file=sys.stderr, flush=True)
        warm = run_child(cache, args.kinds)
        precompiled, leftovers = [], set()
        for run in range(args.runs if args.jobs > 0 else 0):
            cache = os.path.join(scratch, f"precompiled{run}")
            precompiled.append(run_precompile(cache, args.jobs))
            leftovers.update(run_child(cache, args.kinds)["kernels"])
            print(f"precompile run {run + 1}: {precompiled[-1]:.2f} s", file=sys.stderr, flush=True)
    print(_machine())
    what = "every solver path, float32 and float64" if args.kinds == "all" else "one fit"
    runs = ", ".join(f"{seconds:.2f}" for seconds in cold)
    print(f"cold compile of {what}, {args.runs} run(s): {runs} s (median {statistics.median(cold):.2f} s)")
    print(f"warm cache, new process: import {warm['import']:.2f} s, first fit {warm['fits'][0]:.3f} s, "
          f"all fits {sum(warm['fits']):.2f} s")  # fmt: skip
    if precompiled:
        runs = ", ".join(f"{seconds:.2f}" for seconds in precompiled)
        print(f"fastnmf precompile --jobs {args.jobs} (every kernel), {len(precompiled)} run(s): {runs} s "
              f"(median {statistics.median(precompiled):.2f} s); compiled by the fits afterwards: "
              f"{', '.join(sorted(leftovers)) or 'nothing'}")  # fmt: skip
    print("compile events per kernel (median seconds over the cold runs; nested):")
    for name, values in sorted(kernels.items(), key=lambda item: -statistics.median(item[1]))[:12]:
        print(f"  {statistics.median(values):6.2f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
