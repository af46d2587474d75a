"""Compile every kernel into Numba's cache ahead of the first fit, on several
cores at once (``fastnmf precompile``).

Numba compiles on one thread, and compiling every kernel for float32 and
float64 takes about 30 s on the 2-core development machine (see "Compile
cost" in docs/performance.md). Each kernel compiles independently, so this
module hands groups of kernels to worker processes, which write the
compiled code to the cache that every later process loads from (0.2 s for
a first fit). A kernel is compiled by exactly one worker: two processes
saving the same function's cache entries at once could leave its index
pointing at the other's data file. The helpers that kernels call are not
cached at all (see :mod:`fastnmf._jit`), so they cannot collide either.

The signatures are the ones fits and the recommendation functions pass:
C-ordered arrays, int32 CSR indices (SciPy's), float32 or float64 values,
and the arrays a kernel only reads as read-only views (``fastnmf._jit.read_only``),
whether or not the caller's arrays are writeable.
``tests/test_precompile.py`` checks them against the real calls of the fits
of :func:`solver_paths` (which ``benchmarks/compile_time.py`` times). Anything
else (int64 indices of a matrix with 2^31 or more entries, say) compiles on
first use, as without this module.
"""

import json
import numbers
import os
import subprocess
import sys
import time

from numba import types

DTYPES = (types.float32, types.float64)

# The argument kinds of each kernel: "A" a 2-D array of the working dtype, "a"
# a 1-D one, "T" a 3-D one, "x" a scalar of the working dtype, "l" a 1-D
# float64 array (loss parts), "q" a float64 scalar, "i" a 1-D int32 array (CSR
# indptr, indices), "k" a 1-D int64 array (chunk bounds), "K" a 2-D int64
# array, "n" an int64 scalar, "b" a bool. The arrays a kernel only reads come
# read-only (``fastnmf._jit.read_only``): "R" and "r" a 2-D and a 1-D one of
# the working dtype (V's values, weights), "I" a 1-D int32 one (V's indptr and
# indices), "J" a 1-D int64 one (user or item indices).
KERNELS = {
    # name: (module under fastnmf._kernels, argument kinds, seconds to compile both dtypes on the development machine)
    "unweighted_tile_terms": ("dense", "RRAAxxnnAAlbb", 11.3),
    "weighted_tile_terms": ("dense", "RRAAxxnnAAlbb", 11.5),
    "csr_observed_terms": ("csr", "IIrrAAxxkAAlbb", 6.4),
    "csr_sampled_numerator": ("csr", "IIrAAxxkAlbb", 5.4),
    "hals_rows": ("hals", "AAAaaxknq", 2.6),
    "hals_lanes": ("hals", "AAAaaxknqn", 5.1),
    "multiplicative_update": ("update", "AAAAaaxxx", 2.4),
    "gram_parts": ("gram", "AkT", 2.2),
    "csr_times_dense": ("csr", "IIrAkAb", 1.8),
    "row_block_products": ("gram", "RAnA", 1.0),
    "top_k_rows": ("recommend", "AJJJKA", 3.2),
    "predict_pairs": ("recommend", "JJRRa", 1.0),
}

_FIXED = {
    "l": types.Array(types.float64, 1, "C"),
    "q": types.float64,
    "i": types.Array(types.int32, 1, "C"),
    "I": types.Array(types.int32, 1, "C", readonly=True),
    "k": types.Array(types.int64, 1, "C"),
    "J": types.Array(types.int64, 1, "C", readonly=True),
    "K": types.Array(types.int64, 2, "C"),
    "n": types.int64,
    "b": types.boolean,
}


def signature(name, dtype):
    """The argument types of kernel ``name`` for values of ``dtype`` (a Numba float type)."""
    typed = {"A": types.Array(dtype, 2, "C"), "a": types.Array(dtype, 1, "C"), "T": types.Array(dtype, 3, "C")}
    typed["R"] = types.Array(dtype, 2, "C", readonly=True)
    typed["r"] = types.Array(dtype, 1, "C", readonly=True)
    typed["x"] = dtype
    return tuple(typed[kind] if kind in typed else _FIXED[kind] for kind in KERNELS[name][1])


def solver_paths(dtype):
    """(description, V, rank, keyword arguments) of tiny fits in ``dtype``
    that, together, call every kernel of a fit: dense and CSR, Frobenius
    (MU, HALS with rows side by side, masked), Kullback-Leibler (masked or
    not), beta = 1.5, Itakura-Saito (dense), and HALS at a rank above
    LANES_MAX_RANK (one row at a time), on a dense V large enough for its
    products by blocks of rows (HALS_BLOCKED_MIN_WORK: 500 x 3,031)."""
    import numpy as np
    import scipy.sparse as sp

    from ._hals import LANES_MAX_RANK
    from ._terms import HALS_BLOCKED_MIN_WORK

    name = np.dtype(dtype).name
    rng = np.random.default_rng(0)
    dense = (rng.random((30, 20)) + 0.1).astype(dtype)
    sparse = sp.random(30, 20, density=0.3, random_state=0, format="csr", dtype=dtype)
    for V, mask in ((dense, (dense > 0.4).astype(dtype)), (sparse, "observed")):
        kind = "csr" if sp.issparse(V) else "dense"
        for kwargs in (
            dict(loss="frobenius", solver="mu"),
            dict(loss="frobenius", solver="hals"),
            dict(loss="kullback-leibler"),
            dict(loss=1.5),
            dict(loss="frobenius", mask=mask),
            dict(loss="kullback-leibler", mask=mask),
        ):
            yield f"{name} {kind} {kwargs}", V, 3, kwargs
    yield f"{name} dense itakura-saito", dense, 3, dict(loss="itakura-saito")
    r = LANES_MAX_RANK + 1
    wide = (rng.random((r + 2, r + 1)) + 0.1).astype(dtype)
    yield f"{name} csr hals r = {r}", sp.csr_array(wide), r, dict(loss="frobenius", solver="hals")
    m = 500
    large = (rng.random((m, -(-HALS_BLOCKED_MIN_WORK // (m * r)))) + 0.1).astype(dtype)
    yield f"{name} dense hals r = {r}", large, r, dict(loss="frobenius", solver="hals", init="random")


def dispatcher(name):
    """The Numba dispatcher of kernel ``name``."""
    import importlib

    return getattr(importlib.import_module(f"fastnmf._kernels.{KERNELS[name][0]}"), name)


def compile_kernels(names):
    """Compile (or load from the cache) each kernel for both dtypes, in this
    process; returns {name: (seconds, whether it came from the cache)}."""
    times = {}
    for name in names:
        kernel = dispatcher(name)
        started = time.perf_counter()
        for dtype in DTYPES:
            kernel.compile(signature(name, dtype))
        cached = sum(kernel.stats.cache_hits.values()) == len(DTYPES)
        times[name] = (time.perf_counter() - started, cached)
    return times


def partition(names, jobs):
    """At most ``jobs`` groups of ``names`` with about equal compile time:
    the longest first, each to the group with the least so far."""
    groups = [[] for _ in range(min(jobs, len(names)))]
    loads = [0.0] * len(groups)
    for name in sorted(names, key=lambda n: -KERNELS[n][2]):
        g = loads.index(min(loads))
        groups[g].append(name)
        loads[g] += KERNELS[name][2]
    return [group for group in groups if group]


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def precompile(jobs=None, names=None):
    """Compile ``names`` (every kernel by default) for float32 and float64
    into Numba's cache, in ``jobs`` worker processes at once (default: one
    per available core).

    Returns {name: (seconds, whether it came from the cache)}. Raises
    RuntimeError, with the worker's error output, if a worker fails.
    """
    if isinstance(names, str):
        raise TypeError(f"names must be a list of kernel names; got the string {names!r}.")
    names = list(KERNELS) if names is None else list(names)
    unknown = sorted(set(map(str, names)) - set(KERNELS))
    if unknown:
        raise ValueError(f"names must be kernels of fastnmf ({', '.join(KERNELS)}); got {', '.join(unknown)}.")
    jobs = available_cores() if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, numbers.Integral):
        raise TypeError(f"jobs must be a positive integer; got {type(jobs).__name__} {jobs!r}.")
    if jobs < 1:
        raise ValueError(f"jobs must be a positive integer; got {jobs}.")
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "fastnmf._precompile", *group],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for group in partition(names, jobs)
    ]
    times = {}
    try:
        for worker in workers:
            out, err = worker.communicate()
            if worker.returncode != 0:
                raise RuntimeError(f"compiling {' '.join(worker.args[3:])} failed:\n{err[-4000:]}")
            times.update({name: tuple(value) for name, value in json.loads(out.splitlines()[-1]).items()})
    finally:
        for worker in workers:  # after a failure or an interrupt, the others stop too
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    return times


if __name__ == "__main__":  # a worker: compile the kernels named, print their times as JSON
    print(json.dumps(compile_kernels(sys.argv[1:])))
