"""How far fastnmf's sparse kernels are from this machine's floor.

``python benchmarks/floor.py --sizes 3M --dtypes float32 --ranks 10 50 --threads 2``

The floor of a piece of work is the time it would take if it only had to
move its bytes at the measured memory bandwidth, or only had to do its
floating-point operations at the measured GEMM rate, whichever is longer (a
roofline bound: nothing real is faster):

    floor = max(bytes / bandwidth, flops / gemm_rate)

and the floor of an iteration is the sum of the floors of its kernels, which
run one after the other. The script prints, per kernel and per iteration,
the floor, fastnmf's measured time and their ratio (time / floor).

**Bandwidth** is the best of (a) a NumPy copy of a 128 MiB array (bytes
read + bytes written; one thread) and (b) a STREAM-like triad
``a = b + s * c`` over three 128 MiB arrays in a parallel Numba loop with
``--threads`` threads (3 arrays' bytes), best of 5 runs each.

**GEMM rate** is the best of 5 runs of NumPy ``matmul`` with BLAS limited to
``--threads`` threads, on the shapes of the work: a 4096 x 4096 by
4096 x r product (a long inner dimension and r output columns, like the
sparse-dense products) and a Gram product (n x r)^T (n x r), in the dtype.
The best rate of the two is used. The script then waits a second before it
times a kernel, so that BLAS's threads are no longer spinning.

**Bytes and flops** of one CSR kernel call on X (p rows, q columns, nnz
stored entries; i = index bytes (4 for int32), s = itemsize (4 or 8)), which
updates A (p x r) from B (q x r):

- every stored entry reads its column index (i) and value (s), and gathers
  the row of B it points to: r * s bytes. B's rows are visited in random
  order, so each gather is a separate access to at least one cache line;
  counting only the r * s bytes actually used keeps the floor a lower bound
  (for r * s < 64 a real gather touches a whole 64-byte line);
- the row pointers: (p + 1) * i;
- Frobenius (``csr_times_dense``, num = X B): writes num, p * r * s;
  2 r flops per entry;
- Kullback-Leibler (``csr_sampled_numerator``): also reads A's row (p * r * s
  in all: each row once), writes num; per entry a dot product, a division
  and an axpy, 4 r + 1 flops;
- masked (``csr_observed_terms``, only stored entries observed): reads A,
  writes num and den (2 p * r * s); 6 r flops per entry (dot product and
  two axpys).

The kernels are timed as fits call them in most iterations: without the
objective. A fit evaluates the objective every tenth iteration, and then
only in its W-side kernel (``fastnmf._loop``); for KL and masked fits a
third row per size times that call, the W side with the objective, whose
flops add 2 per entry (a logarithm or a square and a subtraction, counted
as 2). Until 2026-12-06 every kernel row was timed with the objective,
which a fit's H side never computes: 1.5x the time of the KL kernel
without it (3M, float32, r = 10, one thread: 22 against 34 ms).

An iteration updates W (X = V, p = m, B = H^T) and then H (X = V^T stored as
a second CSR matrix, p = n, B = W). Around the sparse kernel each side does:

- Frobenius: the Gram matrix B^T B (reads B, 2 q r^2 flops), the
  denominator A (B^T B) (reads A, writes den: 2 p r s bytes; 2 p r^2 flops);
- Kullback-Leibler: the column sums of B (reads B: q r s bytes; q r flops);
- every loss: the multiplicative update (reads A, num, den, writes A:
  4 p r s bytes; 3 p r flops).

**The cached floor.** When B fits in the last-level cache (at 3M nonzeros
and r = 50 in float64, W is 8 MB and H^T 20 MB), the gathers are cache hits
and cost no memory traffic, and the floor above is no longer a lower bound
(a kernel can beat it). The table therefore also gives the floor without the
gathers' bytes (index, value, row pointers and the rows read or written
once): the bound for a B that stays in cache.

fastnmf's time for a kernel is the median of ``--repeat`` calls on the
prepared arrays (the W side and the H side separately); for an iteration it
is ``(t(k2) - t(k1)) / (k2 - k1)`` from ``fastnmf.nmf`` fits as in
``compare_sklearn.py``, so it includes the objective every tenth iteration
(fused into the W-side kernel for sparse KL and masked; from Gram matrices
for Frobenius); its floor adds up the kernels without the objective.
"""

import argparse
import os
import pathlib
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import compare_sklearn  # noqa: E402  (sibling scripts, found through HERE)
import synthetic  # noqa: E402

STREAM_BYTES = 128 << 20
GEMM_SIDE = 4096
RUNS = 5
BLAS_IDLE_SECONDS = 1.0  # after the GEMM runs, so that OpenBLAS's threads stop spinning before the kernels run


# --------------------------------------------------------------------------
# The machine's rates


def _best_seconds(function, runs=RUNS):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def measured_bandwidth(threads, stream_bytes=STREAM_BYTES):
    """(bytes per second, description): the best of a NumPy copy and a
    parallel Numba triad on float64 arrays of ``stream_bytes`` each."""
    import numba

    n = stream_bytes // 8
    a = np.zeros(n)
    b = np.ones(n)
    c = np.full(n, 2.0)
    copy_rate = 2 * a.nbytes / _best_seconds(lambda: np.copyto(a, b))

    @numba.njit(parallel=True, cache=False)
    def triad(a, b, c, scalar):
        for i in numba.prange(a.shape[0]):
            a[i] = b[i] + scalar * c[i]

    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        triad(a, b, c, 3.0)
        triad_rate = 3 * a.nbytes / _best_seconds(lambda: triad(a, b, c, 3.0))
    finally:
        numba.set_num_threads(previous)
    description = (
        f"bandwidth {max(copy_rate, triad_rate) / 1e9:.1f} GB/s (NumPy copy {copy_rate / 1e9:.1f}, "
        f"Numba triad with {threads} threads {triad_rate / 1e9:.1f}; {stream_bytes >> 20} MiB arrays)"
    )
    return max(copy_rate, triad_rate), description


def measured_gemm_rate(dtype, r, n_rows, side=GEMM_SIDE):
    """(flops per second, description): the best NumPy matmul rate on the
    kernels' shapes (BLAS threads as set by the caller). Returns after
    BLAS_IDLE_SECONDS more, once BLAS's threads have stopped spinning."""
    rng = np.random.default_rng(0)
    big = rng.random((side, side)).astype(dtype)
    thin = rng.random((side, r)).astype(dtype)
    tall = rng.random((n_rows, r)).astype(dtype)
    skinny_rate = 2 * side * side * r / _best_seconds(lambda: big @ thin)
    gram_rate = 2 * n_rows * r * r / _best_seconds(lambda: tall.T @ tall)
    rate = max(skinny_rate, gram_rate)
    # OpenBLAS's threads spin on for a while after a call, on the cores the
    # kernels timed next run on: the first of them (the W side of a
    # Frobenius kernel) ran 1.7x slower (3M, float32, r = 10, 2 threads:
    # 19.8-21.8 against 11.8-12.0 ms with this wait).
    time.sleep(BLAS_IDLE_SECONDS)
    description = (
        f"GEMM {rate / 1e9:.1f} GFlop/s ({np.dtype(dtype).name}, r={r}: {side}x{side} @ {side}x{r} "
        f"{skinny_rate / 1e9:.1f}, Gram of {n_rows}x{r} {gram_rate / 1e9:.1f})"
    )
    return rate, description


# --------------------------------------------------------------------------
# The work model


def gather_bytes(nnz, r, itemsize):
    """Bytes of the rows of B gathered by one CSR kernel call."""
    return nnz * r * itemsize


OBJECTIVE_FLOPS = 2  # per stored entry, for a KL or masked kernel that also sums the objective


def kernel_work(kind, nnz, p, r, itemsize, index_size, with_loss=False):
    """(bytes, flops) of one CSR kernel call (see the module docstring), with
    the objective if ``with_loss`` (KL and masked kernels only)."""
    per_entry = index_size + itemsize + r * itemsize
    bytes_moved = nnz * per_entry + (p + 1) * index_size
    if kind == "frobenius":
        if with_loss:
            raise ValueError("the Frobenius kernel does not compute the objective (Gram matrices do)")
        return bytes_moved + p * r * itemsize, 2 * nnz * r
    objective = OBJECTIVE_FLOPS * nnz if with_loss else 0
    if kind == "kullback-leibler":
        return bytes_moved + 2 * p * r * itemsize, nnz * (4 * r + 1) + objective
    if kind == "masked":
        return bytes_moved + 3 * p * r * itemsize, 6 * nnz * r + objective
    raise ValueError(f"kind must be 'frobenius', 'kullback-leibler' or 'masked'; got {kind!r}.")


def side_work(kind, p, q, r, itemsize):
    """(bytes, flops) of one side's work besides the sparse kernel."""
    update = (4 * p * r * itemsize, 3 * p * r)
    if kind == "frobenius":
        extra = (q * r * itemsize + 2 * p * r * itemsize, 2 * q * r * r + 2 * p * r * r)
    elif kind == "kullback-leibler":
        extra = (q * r * itemsize, q * r)
    else:
        extra = (0, 0)
    return extra[0] + update[0], extra[1] + update[1]


def floor_seconds(work, bandwidth, gemm_rate):
    bytes_moved, flops = work
    return max(bytes_moved / bandwidth, flops / gemm_rate)


# --------------------------------------------------------------------------
# fastnmf's times


class KernelTimer:
    """Calls one fastnmf CSR kernel on prepared arrays (W side or H side)."""

    def __init__(self, kind, X, A, B, with_loss=False):
        from fastnmf._csr import CSRMatrix
        from fastnmf._epsilon import EPS

        self.kind = kind
        self.A, self.B = A, B
        self.matrix = CSRMatrix.from_scipy(X)
        self.eps = A.dtype.type(EPS)
        self.with_loss = with_loss

    def __call__(self):
        from fastnmf._csr import csr_product, observed_terms, sampled_numerator

        # As fits call the kernels: by column blocks when B is large.
        if self.kind == "frobenius":
            csr_product(self.matrix, self.B)
        elif self.kind == "kullback-leibler":
            sampled_numerator(self.matrix, self.A, self.B, self.A.dtype.type(1.0), self.eps, self.with_loss)
        else:
            observed_terms(self.matrix, self.A, self.B, self.A.dtype.type(2.0), self.eps, self.with_loss)

    def median_seconds(self, repeat):
        self()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            self()
            times.append(time.perf_counter() - started)
        return statistics.median(times)


def iteration_seconds(kind, V, W0, H0, threads, repeat, iterations):
    loss = "kullback-leibler" if kind == "kullback-leibler" else "frobenius"
    mask = "observed" if kind == "masked" else None
    solver = "mu" if compare_sklearn.fastnmf_supports_solver() else None

    def fit(k, V=V, W0=W0):
        seconds, _ = compare_sklearn.fastnmf_fit(
            V, W0, H0, loss=loss, iterations=k, threads=threads, solver=solver, mask=mask
        )
        return seconds

    fit(2, V[:200], W0[:200])
    return compare_sklearn.per_iteration(fit, iterations=iterations, repeat=repeat, slow_seconds=60.0).seconds


# --------------------------------------------------------------------------


@dataclass
class Rates:
    """The machine's measured rates."""

    bandwidth: float  # bytes per second
    gemm: float  # flops per second


@dataclass
class FloorRow:
    size: str
    dtype: str
    r: int
    kind: str
    what: str
    work: tuple  # (bytes, flops), or None for an iteration
    floor: float
    cached_floor: float
    ours: float


def measure_kind(kind, size, V, Vt, W0, H0, rates, args):
    """Rows for one kernel kind: its W-side and H-side kernel calls as most
    iterations make them (without the objective), for KL and masked also
    the W side with the objective, and a whole MU iteration."""
    m, n = V.shape
    r = W0.shape[1]
    itemsize, index_size = V.dtype.itemsize, V.indices.dtype.itemsize
    Ht0 = np.ascontiguousarray(H0.T)
    rows = []
    total_floor = total_cached = 0.0

    def kernel_row(side, X, A, B, p, with_loss=False):
        work = kernel_work(kind, X.nnz, p, r, itemsize, index_size, with_loss)
        cached = (work[0] - gather_bytes(X.nnz, r, itemsize), work[1])
        row = FloorRow(
            size, V.dtype.name, r, kind, f"kernel, {side} side" + (" + objective" if with_loss else ""), work,
            floor_seconds(work, rates.bandwidth, rates.gemm), floor_seconds(cached, rates.bandwidth, rates.gemm),
            KernelTimer(kind, X, A, B, with_loss).median_seconds(args.repeat),
        )  # fmt: skip
        rows.append(row)
        return row

    for side, X, A, B, p, q in (("W", V, W0, Ht0, m, n), ("H", Vt, Ht0, W0, n, m)):
        row = kernel_row(side, X, A, B, p)
        dense = floor_seconds(side_work(kind, p, q, r, itemsize), rates.bandwidth, rates.gemm)
        total_floor += row.floor + dense
        total_cached += row.cached_floor + dense
    if kind != "frobenius":
        kernel_row("W", V, W0, Ht0, m, with_loss=True)
    ours = iteration_seconds(kind, V, W0, H0, args.threads, args.repeat, args.iterations)
    rows.append(FloorRow(size, V.dtype.name, r, kind, "MU iteration", None, total_floor, total_cached, ours))
    print(
        f"  {size} {V.dtype.name} r={r} {kind}: iteration floor {1e3 * total_floor:.3g} ms, ours {1e3 * ours:.3g} ms",
        file=sys.stderr,
        flush=True,
    )
    return rows


def render(rows):
    names = ("size", "dtype", "r", "kernel", "what", "MB moved", "Mflop", "floor ms", "cached floor ms",
             "fastnmf ms", "fastnmf/floor", "fastnmf/cached floor")  # fmt: skip
    lines = [names]
    for row in rows:
        moved = f"{row.work[0] / 1e6:.1f}" if row.work else ""
        flops = f"{row.work[1] / 1e6:.0f}" if row.work else ""
        lines.append((row.size, row.dtype, str(row.r), row.kind, row.what, moved, flops, f"{1e3 * row.floor:.3g}",
                      f"{1e3 * row.cached_floor:.3g}", f"{1e3 * row.ours:.3g}", f"{row.ours / row.floor:.1f}x",
                      f"{row.ours / row.cached_floor:.1f}x"))  # fmt: skip
    return compare_sklearn.render_cells(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="fastnmf's sparse kernels against the machine's floor (see the module docstring).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--sizes", nargs="+", default=["3M"], choices=list(synthetic.SIZES))
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--ranks", nargs="+", type=int, default=[10, 50])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=20, help="k2 - k1 of the per-iteration timings")
    parser.add_argument("--stream-mib", type=int, default=STREAM_BYTES >> 20, help="size of each bandwidth array")
    parser.add_argument("--gemm-side", type=int, default=GEMM_SIDE, help="side of the square GEMM operand")
    parser.add_argument("--kinds", nargs="+", default=["frobenius", "kullback-leibler", "masked"],
                        choices=["frobenius", "kullback-leibler", "masked"])  # fmt: skip
    args = parser.parse_args(argv)

    import numba

    import fastnmf

    fastnmf.nmf(np.ones((2, 2)), 1, max_iter=1, tol=0.0, n_threads=1)
    rows = []
    with compare_sklearn.blas_threads(args.threads):
        previous_threads = numba.get_num_threads()
        numba.set_num_threads(args.threads)
        try:
            bandwidth, bandwidth_text = measured_bandwidth(args.threads, args.stream_mib << 20)
            header = compare_sklearn.machine_description(args.threads) + [bandwidth_text]
            for size in args.sizes:
                counts = synthetic.corpus(size)
                for dtype in args.dtypes:
                    V = counts.astype(dtype)
                    Vt = V.T.tocsr()
                    Vt.sort_indices()
                    for r in args.ranks:
                        gemm_rate, gemm_text = measured_gemm_rate(dtype, r, max(V.shape), args.gemm_side)
                        header.append(gemm_text)
                        W0, H0 = compare_sklearn.random_init(V, r, 0)
                        for kind in args.kinds:
                            rows += measure_kind(kind, size, V, Vt, W0, H0, Rates(bandwidth, gemm_rate), args)
        finally:
            numba.set_num_threads(previous_threads)

    print("\n".join(dict.fromkeys(header)))
    print()
    print(render(rows))
    print()
    print("floor = max(bytes / bandwidth, flops / GEMM rate) per kernel; an iteration's floor adds both sides'")
    print("kernels (without the objective, which fits add every tenth iteration) and their dense work (Gram")
    print("matrices, column sums, the update); the cached floor leaves out the bytes of the gathered rows of the")
    print("other factor (a bound when that factor fits in cache). See floor.py.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
