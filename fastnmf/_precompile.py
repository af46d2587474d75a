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
cached at all (see :mod:`fastnmf._jit`), so they cannot collide either; the
block kernels that parallel kernels take as arguments are cached, and are
entries of their own here (a parallel kernel's signature needs only their
declared type, not their code).

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

from typing import NamedTuple

from numba import types

from ._jit import argument_types, block_type

DTYPES = (types.float32, types.float64)


class Kernel(NamedTuple):
    """A parallel kernel or block kernel of fastnmf._kernels, as this module
    compiles it."""

    module: str  # under fastnmf._kernels
    kinds: str  # argument kinds: letters of fastnmf._jit.argument_types ("F" a first-class function)
    seconds: float  # to compile for its dtypes on the development machine (in a worker of --jobs 2), for partition()
    bodies: tuple = ()  # block kernels (fastnmf._jit.block_kernel) of the types of the "F" arguments, in order
    dtypes: tuple = DTYPES  # the dtypes fits call it for


KERNELS = {
    "tile_row_blocks": Kernel(
        "dense", "FFFRRAAxxnnAAlbb", 1.0, bodies=("tile_block", "tile_coefficients", "general_coefficients")
    ),
    "tile_block": Kernel("dense", "FFRRAAxxnnnAAbb", 1.5, bodies=("tile_coefficients", "general_coefficients")),
    "tile_coefficients": Kernel("dense", "FRRnnAnxxbb", 1.6, bodies=("general_coefficients",)),
    "weighted_tile_coefficients": Kernel("dense", "FRRnnAnxxbb", 1.7, bodies=("general_coefficients",)),
    "general_coefficients": Kernel("dense", "RRnnAnxxbb", 1.4),
    "observed_chunks": Kernel("csr", "FIIrrAAxxknAAlbbaaxx", 1.1, bodies=("observed_rows",)),
    "observed_rows": Kernel("csr", "IIrrAAxxknnAAlbbaaxx", 4.3),
    "csr_kl_numerator": Kernel("csr", "IIrAAxkAlbb", 5.9),
    "beta_chunks": Kernel("csr", "FIIrAAxxknAlbb", 1.0, bodies=("beta_rows",)),
    "beta_rows": Kernel("csr", "IIrAAxxknnAlbb", 1.8),
    "sweep_row_chunks": Kernel("hals", "FAAAaaxknq", 0.8, bodies=("sweep_rows",)),
    "sweep_rows": Kernel("hals", "AAAaaxnnnq", 2.9),
    "sweep_lane_chunks": Kernel("hals", "FAAAaaxknqn", 0.8, bodies=("sweep_lanes",)),
    "sweep_lanes": Kernel("hals", "AAAaaxnnnqn", 2.1),
    "multiplicative_update": Kernel("update", "AAAAaaxxx", 2.2),
    "gram_parts": Kernel("gram", "AkT", 2.0),
    "gram_parts_widened": Kernel("gram", "AkL", 1.1, dtypes=(types.float32,)),  # float64 takes gram_parts
    "csr_times_dense": Kernel("csr", "IIrAkAb", 2.3),
    "split_by_columns": Kernel("csr", "IIWWkkKkiww", 0.4, dtypes=(types.float32,)),  # values as raw words
    "row_block_products": Kernel("gram", "RAnA", 1.1),
    "row_dots": Kernel("products", "RRA", 2.5),
    "select_rows": Kernel("recommend", "FAJJJKA", 0.7, bodies=("top_k_row",)),
    "top_k_row": Kernel("recommend", "AJJJKAn", 1.4),
    "predict_pairs": Kernel("recommend", "JJRRa", 0.9),
}


def signature(name, dtype):
    """The argument types of kernel ``name`` for values of ``dtype`` (a Numba float type)."""
    kinds, bodies = KERNELS[name].kinds, KERNELS[name].bodies
    return argument_types(kinds, dtype, functions=[block_type(dispatcher(body), dtype) for body in bodies])


def solver_paths(dtype):
    """(description, V, rank, keyword arguments) of tiny fits in ``dtype``
    that, together, call every kernel of a fit: dense and CSR, Frobenius
    (MU, HALS with rows side by side, masked), Kullback-Leibler (masked or
    not), beta = 1.5, Itakura-Saito (dense), dense Frobenius MU at a rank
    whose products Numba makes (:func:`fastnmf._terms.row_dots_take`), and
    HALS at a rank above LANES_MAX_RANK (one row at a time), on a dense V
    of HALS_BLOCKED_MIN_WORK multiply-adds (500 x 3,031): products by
    blocks of rows (taken above r = 12 at any size too), and Gram matrices
    large enough for the parallel kernel (:func:`fastnmf._terms.gram`)."""
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
    yield f"{name} dense frobenius r = 4", dense, 4, dict(loss="frobenius", solver="mu")  # products by row_dots
    r = LANES_MAX_RANK + 1
    wide = (rng.random((r + 2, r + 1)) + 0.1).astype(dtype)
    yield f"{name} csr hals r = {r}", sp.csr_array(wide), r, dict(loss="frobenius", solver="hals")
    m = 500
    large = (rng.random((m, -(-HALS_BLOCKED_MIN_WORK // (m * r)))) + 0.1).astype(dtype)
    yield f"{name} dense hals r = {r}", large, r, dict(loss="frobenius", solver="hals", init="random")


def dispatcher(name):
    """The Numba dispatcher of kernel ``name``."""
    import importlib

    return getattr(importlib.import_module(f"fastnmf._kernels.{KERNELS[name].module}"), name)


def compile_kernels(names):
    """Compile (or load from the cache) each kernel for its dtypes (float32
    and float64 but for one), in this process; returns {name: (seconds,
    whether it came from the cache)}."""
    times = {}
    for name in names:
        kernel = dispatcher(name)
        started = time.perf_counter()
        for dtype in KERNELS[name].dtypes:
            kernel.compile(signature(name, dtype))
        cached = sum(kernel.stats.cache_hits.values()) == len(KERNELS[name].dtypes)
        times[name] = (time.perf_counter() - started, cached)
    return times


def partition(names, jobs):
    """At most ``jobs`` groups of ``names`` with about equal compile time:
    the longest first, each to the group with the least so far."""
    groups = [[] for _ in range(min(jobs, len(names)))]
    loads = [0.0] * len(groups)
    for name in sorted(names, key=lambda n: -KERNELS[n].seconds):
        g = loads.index(min(loads))
        groups[g].append(name)
        loads[g] += KERNELS[name].seconds
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
