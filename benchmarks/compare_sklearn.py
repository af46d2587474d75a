"""fastnmf against scikit-learn (and a SciPy/NumPy masked update), side by side.

One command, one run, one table::

    python benchmarks/compare_sklearn.py                      # 0.5M and 3M nonzeros
    python benchmarks/compare_sklearn.py --sizes 0.5M 3M 15M --threads 2

For each synthetic document-term matrix (``benchmarks/synthetic.py``), dtype
and rank, every method starts from the same (W0, H0) on the same data in the
same dtype, and the table gives:

- **Per-iteration time** of fastnmf's multiplicative updates (MU) against
  scikit-learn's ``NMF(solver="mu")`` for the Frobenius loss, the
  Kullback-Leibler loss and beta = 1.5 on sparse V; of fastnmf's Frobenius
  solvers against scikit-learn's ``solver="cd"``; and of fastnmf's masked
  path (``mask="observed"``: only V's stored entries are known) against a
  SciPy/NumPy implementation of the same update (:class:`MaskedReference`,
  checked to give the same factors).

  A per-iteration time is ``(t(k2) - t(k1)) / (k2 - k1)``, where ``t(k)`` is
  the median wall time of ``--repeat`` fits with ``max_iter=k, tol=0``
  (k1 = 1, k2 = 1 + ``--iterations``, more when t(k2) - t(1) would span
  less than ``--min-span`` seconds): the difference removes the fixed
  costs of a fit (input checks, the transposed copy, the final loss). Every
  method is first run once on a slice of V, so Numba's compilation is never
  timed. A method whose 1-iteration fit takes over ``--slow-seconds`` is
  timed with k2 = 3 and a single repeat (marked ``*``). Each method's fits
  run in one block, not in turns with the other method's: after a
  scikit-learn fit, OpenBLAS's threads spin on for a while and slow the
  fastnmf fit that follows (see docs/kernel_log.md, "Tried and not kept").

- **Time to loss**: scikit-learn's ``solver="cd"`` runs 200 iterations
  (``--cd-iterations``); its loss is the target. Each fastnmf Frobenius
  solver of ``--solvers`` (by default MU, A-MU, HALS and HALS with
  extrapolation, those this fastnmf has) runs with a callback that
  records time and loss after every iteration and stops at the target, or
  when it has taken ``--time-cap`` times cd's time or ``--max-iterations``
  iterations, and then reports "not reached". Times are from the call to the
  iteration that reached the target, fixed costs included, for both. With
  ``--inits N`` this runs from N starting points (seeds ``--seed``,
  ``--seed + 1``, ...), each with its own cd target, and the row gives the
  median ratio, the range where the target was reached, and how many
  starts missed it: where a non-convex fit ends depends on where it starts.
  Each of these fits, cd's and fastnmf's, starts ``--settle`` seconds
  (0.25) after the one before it, once OpenBLAS's threads have stopped
  spinning after cd's last product (they would take the cores from a
  fastnmf fit that makes no multithreaded BLAS call of its own).

The ratio column is reference time / fastnmf time (above 1: fastnmf is
faster).

Threads: fastnmf gets ``n_threads=--threads``; BLAS (used by both through
NumPy and SciPy) is limited to the same count with threadpoolctl, so the
two never oversubscribe the cores. scikit-learn's sparse products (SciPy) and
its cd solver are single-threaded whatever the setting. Numba's threading
layer can be forced with ``--threading-layer``.
"""

import argparse
import math
import os
import pathlib
import platform
import statistics
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import scipy
import scipy.sparse as sp

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402  (a sibling script, found through HERE)

EPS = float(np.finfo(np.float32).eps)  # fastnmf's and scikit-learn's epsilon
WARM_UP_ROWS = 200
LOSS_NAMES = {2.0: "frobenius", 1.0: "kullback-leibler"}


# --------------------------------------------------------------------------
# The machine and its threads


def cpu_model():
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def compile_target():
    """The CPU that Numba compiles the kernels for and its widest vector
    instructions (:func:`fastnmf._jit.compile_target`). The model name alone
    can hide it: a virtual machine may report "AMD EPYC" for processors with
    and without AVX-512, and the kernels' loops are compiled for whichever
    it is."""
    from fastnmf._jit import compile_target as target

    name, features = target()
    if features is None:
        return f"{name} (vector instructions not known)"
    vectors = next((label for flag, label in _VECTOR_FLAGS if flag in features), "none of " + _VECTOR_NAMES)
    return f"{name} (widest vectors: {vectors})"


_VECTOR_FLAGS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse2", "SSE2"), ("neon", "NEON"))
_VECTOR_NAMES = ", ".join(label for _, label in _VECTOR_FLAGS)


def cache_description():
    """The L2 cache per core that fastnmf read, and the factor size from which
    its sparse kernels gather by column blocks, which follows it
    (:func:`fastnmf._csr.block_bytes`): the same code splits differently on
    processors with less than 2 MiB of L2."""
    from fastnmf._csr import BLOCK_BYTES, level2_cache_bytes

    level2 = level2_cache_bytes()
    cache = "L2 per core not known" if level2 is None else f"L2 {level2 / 2**20:g} MiB per core"
    return f"{cache}; factors over {BLOCK_BYTES / 2**20:g} MiB gathered by column blocks"


def machine_description(threads):
    """Lines that say what ran the benchmark: CPU, cores, load, versions,
    BLAS and Numba threading."""
    import numba

    import fastnmf

    lines = [
        f"CPU: {cpu_model()}; {os.cpu_count()} logical cores"
        + (f", {len(os.sched_getaffinity(0))} usable" if hasattr(os, "sched_getaffinity") else "")
        + f"; Numba compiles for {compile_target()}",
        cache_description(),
        f"load average (1, 5, 15 min) at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"Python {platform.python_version()}; numpy {np.__version__}; scipy {scipy.__version__}; "
        f"numba {numba.__version__}; fastnmf {fastnmf.__version__}; "
        f"scikit-learn {_version('sklearn')}; threadpoolctl {_version('threadpoolctl')}",
        f"threads: fastnmf n_threads={threads}; Numba threading layer "
        f"{numba.threading_layer() if _numba_started() else '(not started)'}; "
        f"NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}",
        threading_environment(),
    ]
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        lines.append("BLAS: threadpoolctl not installed, BLAS threads not limited")
    else:
        for pool in threadpool_info():
            library = pathlib.Path(pool["filepath"]).name
            lines.append(
                f"{pool['user_api']}: {pool['internal_api']} {pool.get('version')} "
                f"({pool.get('architecture', '')}) num_threads={pool['num_threads']} [{library}]"
            )
    return lines


# Variables that change how threads wait or how many there are: a table made
# with OPENBLAS_THREAD_TIMEOUT set is not comparable with one made without
# (docs/performance.md, "OpenBLAS's waiting threads and dense fits").
THREADING_VARIABLES = (
    "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT",
    "MKL_NUM_THREADS", "NUMBA_THREADING_LAYER",
)  # fmt: skip


def threading_environment():
    """The line that names the threading variables set in the environment
    (fastnmf sets the first two at import, unless the policy was set)."""
    found = [f"{name}={os.environ[name]}" for name in THREADING_VARIABLES if name in os.environ]
    return "threading environment: " + (" ".join(found) if found else "none of " + ", ".join(THREADING_VARIABLES))


def _version(module):
    try:
        return __import__(module).__version__
    except ImportError:
        return "not installed"


def _numba_started():
    import numba

    try:
        numba.threading_layer()
    except ValueError:
        return False
    return True


@contextmanager
def blas_threads(threads):
    """Limit BLAS to ``threads`` threads (through threadpoolctl when it is
    installed; otherwise leave BLAS alone and say so)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("warning: threadpoolctl is not installed; BLAS threads are not limited", file=sys.stderr)
        yield
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield


# --------------------------------------------------------------------------
# Data and fits


def random_init(V, r, seed):
    """scikit-learn's random init, drawn in float64 and cast to V's dtype:
    sqrt(mean(V) / r) times |N(0, 1)| entries, shifted off zero so that
    multiplicative updates can move every entry."""
    m, n = V.shape
    scale = np.sqrt(float(V.sum(dtype=np.float64)) / (m * n) / r)
    rng = np.random.default_rng(seed)
    W0 = scale * (np.abs(rng.standard_normal((m, r))) + 0.01)
    H0 = scale * (np.abs(rng.standard_normal((r, n))) + 0.01)
    return W0.astype(V.dtype), H0.astype(V.dtype)


def frobenius_loss(V, W, H):
    """0.5 ||V - W H||^2 in float64, in O(nnz r + (m + n) r^2)."""
    V = sp.csr_array(V)
    W = np.asarray(W, dtype=np.float64)
    H = np.asarray(H, dtype=np.float64)
    data = V.data.astype(np.float64)
    cross = float(np.einsum("ik,ik->", W, V.astype(np.float64) @ H.T))
    gram = float(np.einsum("kl,kl->", W.T @ W, H @ H.T))
    return max(0.5 * float(data @ data) - cross + 0.5 * gram, 0.0)


def fastnmf_supports_solver():
    import inspect

    import fastnmf

    return "solver" in inspect.signature(fastnmf.nmf).parameters


FROBENIUS_SOLVERS = ("mu", "amu", "hals", "ehals")


def fastnmf_frobenius_solvers():
    """The solvers compared with scikit-learn's cd: MU, accelerated MU where
    this fastnmf has it, HALS, HALS with extrapolation; [None] (its only solver) before ``solver=``."""
    if not fastnmf_supports_solver():
        return [None]
    from fastnmf import _api

    return [name for name in FROBENIUS_SOLVERS if name in getattr(_api, "SOLVERS", ("mu", "hals"))]


def fastnmf_fit(V, W0, H0, *, loss, iterations, threads, solver=None, mask=None, callback=None):
    """One fastnmf fit of exactly ``iterations`` iterations; returns
    (seconds, result)."""
    import fastnmf

    kwargs = dict(loss=loss, init=(W0, H0), max_iter=iterations, tol=0.0, n_threads=threads, mask=mask)
    if solver is not None:
        kwargs["solver"] = solver
    if callback is not None:
        kwargs["callback"] = callback
    started = time.perf_counter()
    result = fastnmf.nmf(V, W0.shape[1], **kwargs)
    return time.perf_counter() - started, result


# Time-to-loss fits start this long after the fit before them (--settle): after a
# multithreaded product OpenBLAS's worker thread spins for about 0.1 s (0.1 s of CPU time in
# the 0.2 s after a 400 x 400 product on 2 threads; none with OPENBLAS_THREAD_TIMEOUT=4), on
# a core the next fit needs. fastnmf's fits that make no multithreaded BLAS call (sparse V,
# dense Frobenius up to r = 12) would otherwise pay for scikit-learn's cd fit run just before
# them (docs/performance.md, "Dense matrices").
SETTLE_SECONDS = 0.25


def fit_to_loss(V, r, target, cap, *, init, threads, max_iterations, solver=None, loss="frobenius", settle=0.0):
    """(reached, seconds, iterations, best loss) of a fastnmf fit from
    ``init`` that stops at the first iteration whose loss is at or below
    ``target``, after ``cap`` seconds, or after ``max_iterations``
    iterations. Seconds run from the call to the last iteration seen, so
    the fit's fixed costs are counted, as they are in the reference's. The
    fit starts ``settle`` seconds after this is called (see SETTLE_SECONDS)."""
    import fastnmf

    record = {"reached": False, "seconds": 0.0, "iterations": 0, "best": np.inf}
    time.sleep(settle)
    started = time.perf_counter()

    def callback(iteration, W, H, loss):
        elapsed = time.perf_counter() - started
        record.update(seconds=elapsed, iterations=iteration, best=min(record["best"], loss))
        if loss <= target:
            record["reached"] = True
            return True
        return elapsed > cap

    kwargs = {"solver": solver} if solver is not None else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fastnmf.nmf(V, r, loss=loss, init=init, max_iter=max_iterations, tol=0.0, n_threads=threads,
                    callback=callback, **kwargs)  # fmt: skip
    return record["reached"], record["seconds"], record["iterations"], record["best"]


def sklearn_fit(V, W0, H0, *, loss, solver, iterations, settle=0.0):
    """One scikit-learn NMF fit from (W0, H0) of exactly ``iterations``
    iterations (tol=0), started ``settle`` seconds after this is called;
    returns (seconds, (W, H))."""
    from sklearn.decomposition import NMF

    model = NMF(n_components=W0.shape[1], init="custom", solver=solver, beta_loss=loss, max_iter=iterations, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        time.sleep(settle)
        started = time.perf_counter()
        W = model.fit_transform(V, W=W0.copy(), H=H0.copy())
        elapsed = time.perf_counter() - started
    return elapsed, (W, model.components_)


# --------------------------------------------------------------------------
# The masked update in SciPy and NumPy


class MaskedReference:
    """Multiplicative updates over the stored entries of a CSR matrix only
    (fastnmf's ``mask="observed"``), in SciPy and NumPy: the reference the
    masked kernels are measured against.

    With S(x) the CSR matrix of V's pattern holding values x, and wh the
    product W H^T sampled at the stored entries, one update of W is

        beta = 2:  W <- W * (V Ht) / (S(wh) Ht)
        beta = 1:  W <- W * (S(v / max(wh, eps)) Ht) / (S(1) Ht)

    and the update of H the same with the transposed products S(.)^T W, from
    wh recomputed with the new W. A zero denominator becomes eps and entries
    below the dtype's smallest normal number become zero (fastnmf's epsilon
    policy), so both give the same factors up to rounding.

    The sampled product is a gather of rows of W and Ht and a row-wise dot
    product (``numpy.einsum``), in blocks so that no nnz x r array is held at
    once; the products with S are SciPy's sparse-dense products.
    """

    BLOCK = 1 << 16

    def __init__(self, V, beta):
        if beta not in (1.0, 2.0):
            raise ValueError(f"MaskedReference supports beta 1 and 2; got {beta!r}.")
        self.V = sp.csr_array(V)
        self.beta = beta
        self.rows = np.repeat(np.arange(V.shape[0], dtype=V.indices.dtype), np.diff(V.indptr))
        self.cols = V.indices
        self.dtype = V.dtype
        self.eps = V.dtype.type(EPS)
        self.tiny = np.finfo(V.dtype).tiny

    def _pattern(self, values):
        return sp.csr_array((values, self.V.indices, self.V.indptr), shape=self.V.shape)

    def sampled_product(self, W, Ht):
        out = np.empty(len(self.rows), dtype=self.dtype)
        for start in range(0, len(self.rows), self.BLOCK):
            stop = start + self.BLOCK
            np.einsum("ij,ij->i", W[self.rows[start:stop]], Ht[self.cols[start:stop]], out=out[start:stop])
        return out

    def _coefficients(self, wh):
        if self.beta == 2.0:
            return self.V.data, wh
        x = np.maximum(wh, self.eps)
        return self.V.data / x, np.ones_like(wh)

    def _update(self, A, num, den):
        den = np.where(den == 0, self.eps, den)
        A *= num / den
        A[A < self.tiny] = 0

    def fit(self, W0, H0, iterations):
        """``iterations`` updates of W then H from (W0, H0); returns (W, H)."""
        W = W0.copy()
        Ht = np.ascontiguousarray(H0.T)
        for _ in range(iterations):
            num_values, den_values = self._coefficients(self.sampled_product(W, Ht))
            self._update(W, self._pattern(num_values) @ Ht, self._pattern(den_values) @ Ht)
            num_values, den_values = self._coefficients(self.sampled_product(W, Ht))
            self._update(Ht, self._pattern(num_values).T @ W, self._pattern(den_values).T @ W)
        return W, np.ascontiguousarray(Ht.T)

    def timed_fit(self, W0, H0, iterations):
        started = time.perf_counter()
        factors = self.fit(W0, H0, iterations)
        return time.perf_counter() - started, factors


# --------------------------------------------------------------------------
# Measurements


@dataclass
class PerIteration:
    """A per-iteration time and how it was measured."""

    seconds: float
    k1: int
    k2: int
    repeat: int

    @property
    def coarse(self):
        return self.repeat == 1 and self.k2 - self.k1 <= 2

    @property
    def measurable(self):
        """False when t(k2) <= t(k1): the iterations took less than the
        timer's noise (tiny matrices, a busy machine)."""
        return self.seconds > 0


def add_timing_arguments(parser):
    """The command-line options of :func:`per_iteration`."""
    parser.add_argument("--repeat", type=int, default=3, help="fits per timing (median)")
    parser.add_argument("--iterations", type=int, default=10, help="k2 - k1 of the per-iteration timings")
    parser.add_argument("--min-span", type=float, default=0.25,
                        help="more iterations when t(k2) - t(k1) would span less than this (seconds)")  # fmt: skip
    parser.add_argument("--slow-seconds", type=float, default=5.0,
                        help="a 1-iteration fit slower than this is timed with k2=3, once")  # fmt: skip


def check_timing_arguments(parser, args):
    if args.repeat < 1 or args.iterations < 1:
        parser.error("--repeat and --iterations must be at least 1")
    if not args.min_span >= 0:
        parser.error(f"--min-span must be 0 or more seconds; got {args.min_span}")
    if not getattr(args, "settle", 0.0) >= 0:  # the scripts with time-to-loss fits
        parser.error(f"--settle must be 0 or more seconds; got {args.settle}")


def timing_options(args):
    """The keyword arguments of :func:`per_iteration` from the command line's."""
    return dict(iterations=args.iterations, repeat=args.repeat, slow_seconds=args.slow_seconds, min_span=args.min_span)


def per_iteration(fit, *, iterations, repeat, slow_seconds, min_span=0.0):
    """Per-iteration seconds of ``fit(k)`` (which returns the seconds of a
    k-iteration fit): (median t(k2) - median t(k1)) / (k2 - k1), k1 = 1.

    k2 is 1 + ``iterations``, made larger (up to 1 + 100 ``iterations``)
    when t(k2) - t(1) spans less than ``min_span`` seconds: on a small
    matrix ten iterations take a few milliseconds, as much as the noise in
    a fit's fixed costs, and their difference can say anything."""
    first = [fit(1)]
    if first[0] > slow_seconds:
        k2, repeat = 3, 1
        second = [fit(k2)]
    else:
        first += [fit(1) for _ in range(repeat - 1)]
        k2 = 1 + iterations
        second = [fit(k2)]
        span = second[0] - statistics.median(first)
        if min_span > 0 and span < min_span:
            k2 = 1 + min(100 * iterations, math.ceil(iterations * min_span / max(span, min_span / 100)))
            second = [fit(k2)]
        second += [fit(k2) for _ in range(repeat - 1)]
    seconds = (statistics.median(second) - statistics.median(first)) / (k2 - 1)
    return PerIteration(seconds, 1, k2, repeat)


@dataclass
class Row:
    size: str
    dtype: str
    r: int
    comparison: str
    fastnmf: str
    reference: str
    ratio: str
    note: str = ""


@dataclass
class Table:
    rows: list = field(default_factory=list)

    HEADER = ("size", "dtype", "r", "comparison", "fastnmf", "reference", "ratio", "note")

    def add(self, row):
        self.rows.append(row)
        print("  " + " | ".join(str(getattr(row, name)) for name in self.HEADER[3:]), file=sys.stderr, flush=True)

    def render(self, markdown=False):
        cells = [self.HEADER] + [tuple(str(getattr(row, name)) for name in self.HEADER) for row in self.rows]
        return render_cells(cells, markdown)


def render_cells(cells, markdown=False):
    """Rows of strings, the header first, as a Markdown table or as aligned
    plain-text columns (the benchmark scripts' output)."""
    header = cells[0]
    if markdown:
        lines = ["| " + " | ".join(line) + " |" for line in cells]
        lines.insert(1, "|" + "|".join("---" for _ in header) + "|")
        return "\n".join(lines)
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _seconds(timing):
    return timing.seconds if isinstance(timing, PerIteration) else timing


def _ms(timing):
    if _seconds(timing) <= 0:
        return "below noise"
    mark = "*" if isinstance(timing, PerIteration) and timing.coarse else ""
    return f"{1e3 * _seconds(timing):.3g} ms/it{mark}"


def _ratio(reference, ours):
    reference, ours = _seconds(reference), _seconds(ours)
    if reference <= 0 or ours <= 0:
        return "-"
    return f"{reference / ours:.3g}x"


def median_over_inits(runs, cd_iterations):
    """The cells (fastnmf, reference, ratio, note) of a time-to-cd's-loss row
    over several initializations: ``runs`` holds one (cd seconds, fastnmf
    seconds or None when it did not reach cd's loss, its best loss over cd's
    loss) per init. An init whose target was not reached counts as slower
    than every reached one; the note gives the largest excess among them."""
    ratios = np.array([cd / seconds if seconds else 0.0 for cd, seconds, _ in runs])
    reached = ratios[ratios > 0]
    spread = f"{reached.min():.3g}-{reached.max():.3g}x where reached" if reached.size else "never reached"
    note = f"{len(runs)} inits: {spread}"
    excess = [100 * (relative - 1) for _, seconds, relative in runs if not seconds]
    if excess:
        note += f"; {len(excess)} not reached (best loss up to +{max(excess):.2g}%)"
    mine = f"median {np.median([seconds or np.inf for _, seconds, _ in runs]):.3g} s"
    reference = f"median {np.median([cd for cd, _, _ in runs]):.3g} s ({cd_iterations} it)"
    median = float(np.median(ratios))
    ratio = f"{median:.3g}x (median)" if median > 0 else "- (median not reached)"
    return mine, reference, ratio, note


class Comparison:
    """All rows of one (matrix, dtype, rank)."""

    def __init__(self, args, table, size, V, r):
        self.args = args
        self.table = table
        self.size = size
        self.V = V
        self.r = r
        self.dtype = V.dtype.name
        self.W0, self.H0 = random_init(V, r, args.seed)
        self.warm_V = V[:WARM_UP_ROWS]
        self.warm_W0 = self.W0[:WARM_UP_ROWS]
        wanted = getattr(args, "solvers", FROBENIUS_SOLVERS)  # compare_peers.py's options have no --solvers
        self.solvers = [s for s in fastnmf_frobenius_solvers() if s is None or s in wanted]
        self._fastnmf_timings = {}

    def row(self, comparison, fastnmf, reference, ratio, note=""):
        self.table.add(Row(self.size, self.dtype, self.r, comparison, fastnmf, reference, ratio, note))

    def _per_iteration(self, fit, warm):
        warm()
        a = self.args
        return per_iteration(fit, **timing_options(a))

    def fastnmf_per_iteration(self, loss, solver=None, mask=None):
        """Measured once per (loss, solver, mask) and reused by later rows."""
        key = (loss, solver, mask)
        if key not in self._fastnmf_timings:
            self._fastnmf_timings[key] = self._measure_fastnmf(loss, solver, mask)
        return self._fastnmf_timings[key]

    def _measure_fastnmf(self, loss, solver, mask):
        threads = self.args.threads

        def fit(k, V=self.V, W0=self.W0):
            return fastnmf_fit(V, W0, self.H0, loss=loss, iterations=k, threads=threads, solver=solver, mask=mask)[0]

        return self._per_iteration(fit, lambda: fit(2, self.warm_V, self.warm_W0))

    def sklearn_per_iteration(self, loss, solver):
        def fit(k, V=self.V, W0=self.W0):
            return sklearn_fit(V, W0, self.H0, loss=loss, solver=solver, iterations=k)[0]

        return self._per_iteration(fit, lambda: fit(2, self.warm_V, self.warm_W0))

    def mu_rows(self):
        mu = {"solver": "mu"} if self.solvers[0] is not None else {}
        labels = {"frobenius": "frobenius", "kullback-leibler": "KL"}
        for name in self.args.mu_losses:
            loss = name if name in labels else float(name)
            label = labels.get(name, f"beta={name}")
            ours = self.fastnmf_per_iteration(loss, **mu)
            theirs = self.sklearn_per_iteration(loss, "mu")
            self.row(f"{label} MU vs sklearn mu", _ms(ours), _ms(theirs), _ratio(theirs, ours))

    def frobenius_solver_rows(self):
        """Per-iteration times against sklearn's cd, and time to cd's loss."""
        a = self.args
        sklearn_fit(self.warm_V, self.warm_W0, self.H0, loss="frobenius", solver="cd", iterations=2)
        one, _ = sklearn_fit(self.V, self.W0, self.H0, loss="frobenius", solver="cd", iterations=1, settle=a.settle)
        cd_seconds, (W, H) = sklearn_fit(
            self.V, self.W0, self.H0, loss="frobenius", solver="cd", iterations=a.cd_iterations, settle=a.settle
        )
        target = frobenius_loss(self.V, W, H)
        cd_per_iteration = (cd_seconds - one) / max(a.cd_iterations - 1, 1)
        for solver in self.solvers:
            name = (solver or "mu").upper()
            ours = self.fastnmf_per_iteration("frobenius", solver=solver)
            self.row(f"frobenius {name} vs sklearn cd, per iteration", _ms(ours), _ms(cd_per_iteration),
                     _ratio(cd_per_iteration, ours))  # fmt: skip
        if a.inits > 1:
            self.time_to_loss_rows_over_inits(cd_seconds, target)
            return
        for solver in self.solvers:
            name = (solver or "mu").upper()
            reached, seconds, iterations, best = self.time_to_loss(solver, target, cap=a.time_cap * cd_seconds)
            reference = f"{cd_seconds:.3g} s ({a.cd_iterations} it, loss {target:.6g})"
            if reached:
                self.row(f"time to cd's loss: {name}", f"{seconds:.3g} s ({iterations} it)", reference,
                         _ratio(cd_seconds, seconds))  # fmt: skip
            else:
                excess = 100 * (best - target) / target
                self.row(f"time to cd's loss: {name}", f"not reached in {iterations} it / {seconds:.3g} s",
                         reference, "-", f"best loss {best:.6g} (+{excess:.2g}%)")  # fmt: skip

    def time_to_loss_rows_over_inits(self, cd_seconds, target):
        """--inits N > 1: each solver's time to cd's loss from N
        initializations (seeds --seed, --seed + 1, ...; the first is the
        table's own, whose cd fit is given), one row each with the median."""
        a = self.args
        runs = {solver: [] for solver in self.solvers}
        for k in range(a.inits):
            init = (self.W0, self.H0) if k == 0 else random_init(self.V, self.r, a.seed + k)
            if k > 0:
                cd_seconds, (W, H) = sklearn_fit(
                    self.V, *init, loss="frobenius", solver="cd", iterations=a.cd_iterations, settle=a.settle
                )
                target = frobenius_loss(self.V, W, H)
            for solver in self.solvers:
                reached, seconds, _, best = self.time_to_loss(solver, target, cap=a.time_cap * cd_seconds, init=init)
                runs[solver].append((cd_seconds, seconds if reached else None, best / target))
        for solver in self.solvers:
            cells = median_over_inits(runs[solver], a.cd_iterations)
            self.row(f"time to cd's loss: {(solver or 'mu').upper()}", *cells)

    def time_to_loss(self, solver, target, cap, loss="frobenius", init=None):
        """:func:`fit_to_loss` from ``init`` (default: the table's (W0, H0)),
        after a warm-up fit of the same solver."""
        a = self.args
        init = (self.W0, self.H0) if init is None else init
        fastnmf_fit(self.warm_V, self.warm_W0, self.H0, loss=loss, iterations=2, threads=a.threads, solver=solver)
        return fit_to_loss(self.V, self.r, target, cap, init=init, threads=a.threads,
                           max_iterations=a.max_iterations, solver=solver, loss=loss, settle=a.settle)  # fmt: skip

    def masked_rows(self):
        a = self.args
        for beta in (2.0, 1.0):
            label = "frobenius" if beta == 2.0 else "KL"
            loss = LOSS_NAMES[beta]
            reference = MaskedReference(self.V, beta)
            ours = self.fastnmf_per_iteration(loss, mask="observed")

            def fit(k, reference=reference):
                return reference.timed_fit(self.W0, self.H0, k)[0]

            theirs = per_iteration(fit, **timing_options(a))
            # The same update: both from (W0, H0), a few iterations.
            W_ref, _ = reference.fit(self.W0, self.H0, 3)
            _, result = fastnmf_fit(
                self.V, self.W0, self.H0, loss=loss, iterations=3, threads=a.threads, mask="observed"
            )
            difference = float(np.abs(result.W - W_ref).max() / max(np.abs(W_ref).max(), 1e-300))
            self.row(f"masked {label} MU vs scipy/numpy", _ms(ours), _ms(theirs), _ratio(theirs, ours),
                     f"same update: max|dW|/max|W| = {difference:.1e} after 3 it")  # fmt: skip


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="fastnmf vs scikit-learn on synthetic document-term matrices: one run, one table.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--sizes", nargs="+", default=["0.5M", "3M"], choices=list(synthetic.SIZES),
                        help="synthetic matrices, by number of nonzeros")  # fmt: skip
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--ranks", nargs="+", type=int, default=[10, 50])
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="fastnmf n_threads and BLAS threads")
    add_timing_arguments(parser)
    parser.add_argument("--cd-iterations", type=int, default=200, help="scikit-learn cd iterations for the target loss")
    parser.add_argument("--max-iterations", type=int, default=5000, help="fastnmf iterations allowed to reach it")
    parser.add_argument("--time-cap", type=float, default=1.0, help="... and time allowed, as a multiple of cd's time")
    parser.add_argument("--settle", type=float, default=SETTLE_SECONDS,
                        help="seconds between a time-to-loss fit and the fit before it (both libraries)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the matrices and of (W0, H0)")
    parser.add_argument("--inits", type=int, default=1,
                        help="time to cd's loss from this many (W0, H0), seeds --seed, --seed + 1, ...: their median")
    parser.add_argument("--skip", nargs="*", default=[], choices=["mu", "cd", "masked"], help="row groups to leave out")
    parser.add_argument("--solvers", nargs="+", default=list(FROBENIUS_SOLVERS), choices=FROBENIUS_SOLVERS,
                        help="fastnmf's Frobenius solvers in the rows against cd (those this fastnmf has)")  # fmt: skip
    parser.add_argument("--mu-losses", nargs="+", default=["frobenius", "kullback-leibler", "1.5"],
                        help="losses of the MU rows: names or betas > 0")  # fmt: skip
    parser.add_argument("--threading-layer", choices=["default", "omp", "tbb", "workqueue"], default="default",
                        help="Numba threading layer (before any kernel runs)")  # fmt: skip
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    check_timing_arguments(parser, args)
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.inits < 1:
        parser.error("--inits must be at least 1")
    for name in args.mu_losses:
        if name not in ("frobenius", "kullback-leibler"):
            try:
                beta = float(name)
            except ValueError:
                parser.error(f"--mu-losses takes 'frobenius', 'kullback-leibler' or a beta > 0; got {name!r}")
            if not beta > 0:
                parser.error(f"--mu-losses: beta must be > 0 on sparse V; got {name!r}")
    return args


def main(argv=None):
    args = parse_arguments(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("compare_sklearn.py needs scikit-learn: pip install 'fastnmf[bench]'", file=sys.stderr)
        return 2
    import numba

    if args.threading_layer != "default":
        numba.config.THREADING_LAYER = args.threading_layer
    import fastnmf

    fastnmf.nmf(np.ones((2, 2)), 1, max_iter=1, tol=0.0, n_threads=1)  # starts Numba's threads

    table = Table()
    started = time.perf_counter()
    with blas_threads(args.threads):
        header = machine_description(args.threads)
        print("\n".join(header), file=sys.stderr)
        for size, V, r in cases(args):
            comparison = Comparison(args, table, size, V, r)
            if "mu" not in args.skip:
                comparison.mu_rows()
            if "cd" not in args.skip:
                comparison.frobenius_solver_rows()
            if "masked" not in args.skip:
                comparison.masked_rows()
    report(
        "compare_sklearn.py", argv, args, header, table, time.perf_counter() - started,
        "ratio = reference time / fastnmf time. ms/it: per-iteration time, (t(k2) - t(k1)) / (k2 - k1) from\n"
        f"medians of {args.repeat} fits; * = slow method, timed once with k2 = 3. Time to cd's loss: from the\n"
        "call to the first iteration whose loss is at or below cd's loss after its iterations.",
    )  # fmt: skip
    return 0


def cases(args):
    """(size, V, r) for every size, dtype and rank on the command line, each
    announced on stderr."""
    for size in args.sizes:
        counts = synthetic.corpus(size, seed=args.seed)
        for dtype in args.dtypes:
            V = counts.astype(dtype)
            for r in args.ranks:
                print(f"{size} {dtype} r={r}:", file=sys.stderr, flush=True)
                yield size, V, r


def report(script, argv, args, header, table, elapsed, legend):
    """Print the machine, the matrices, the command, the table and its
    legend to stdout (the progress went to stderr)."""
    shapes = ", ".join(
        f"{size}: {synthetic.SIZES[size].n_docs} x {synthetic.SIZES[size].n_terms}" for size in args.sizes
    )
    print()
    print("\n".join(header))
    if shapes:
        print(f"matrices (documents x terms, seed {args.seed}): {shapes}")
    print(f"command: python benchmarks/{script} {' '.join(argv if argv is not None else sys.argv[1:])}")
    print()
    print(table.render(markdown=args.markdown))
    print()
    print(legend)
    print(f"total time {elapsed:.0f} s; load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
