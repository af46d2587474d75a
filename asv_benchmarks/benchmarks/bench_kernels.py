"""The Numba kernels of ``fastnmf._kernels`` called directly on prepared
arrays, so that a regression in one kernel shows as that kernel's timing and
not as a share of a whole fit.

The kernels that write in place (``multiplicative_update``, ``hals_rows``)
are timed together with a copy that restores their input (one
pass over the array), so that every call sees the same values.
"""

import numpy as np

from fastnmf import _kernels as K
from fastnmf._chunks import balanced_row_chunks, uniform_row_chunks
from fastnmf._epsilon import EPS
from fastnmf._terms import all_entries_power_product, tile_terms

from .common import (
    DTYPES,
    RANKS,
    SIZES,
    THREADS,
    ThreadSetting,
    dense_positive,
    document_term,
    factors_of,
    initial_factors,
    restore_threads,
)

CSR_KERNELS = [
    "csr_times_dense",
    "csr_product",
    "csr_sampled_numerator_kl",
    "csr_sampled_numerator_beta1.5",
    "sampled_numerator_kl",
    "csr_observed_terms_frobenius",
    "csr_observed_terms_kl",
    "observed_terms_frobenius",
    "observed_terms_kl",
    "observed_update_frobenius",
    "observed_update_kl",
]


# Kernels as fits call them: fastnmf._terms functions that split X into
# column blocks when B is large.
BLOCKED_PATHS = {
    "csr_product": "csr_product",
    "sampled_numerator_kl": "sampled_numerator",
    "observed_terms_frobenius": "observed_terms",
    "observed_terms_kl": "observed_terms",
    "observed_update_frobenius": "observed_terms",
    "observed_update_kl": "observed_terms",
}


class _RawCSR:
    """indptr, indices, data and nonzero-balanced row chunks of a CSR matrix."""

    def __init__(self, X):
        self.indptr = X.indptr
        self.indices = X.indices
        self.data = X.data
        self.bounds = balanced_row_chunks(X.indptr)


def _csr_layout():
    """fastnmf's module of the CSR layout (``CSRMatrix``, the kernels by
    column blocks): ``fastnmf._csr``, or ``fastnmf._terms`` in the commits
    before it had a module of its own."""
    try:
        from fastnmf import _csr

        return _csr
    except ImportError:
        from fastnmf import _terms

        return _terms


def _transposed(X):
    Xt = X.T.tocsr()
    Xt.sort_indices()
    return Xt


class CSRKernels:
    """One call of each CSR kernel, on the W side (X = V, A = W, B = H^T) or
    the H side (X = V^T, whose rows are the document-term matrix's very uneven
    columns, A = H^T, B = W). A B of 256 KiB or more takes the kernels'
    prefetching (``fastnmf._kernels.rows.PREFETCH_MIN_BYTES``): at the
    default size, "small", the W side in float64 or at r = 50 and the H side
    at r = 50; at 3M, every case. ``csr_sampled_numerator`` runs the KL
    kernel (``csr_kl_numerator``) at beta = 1 and the general one
    (``csr_beta_numerator``) at beta = 1.5."""

    params = [SIZES, CSR_KERNELS, ["W", "H"], DTYPES, RANKS, THREADS]
    param_names = ["size", "kernel", "side", "dtype", "r", "n_threads"]
    timeout = 60

    def setup(self, size, kernel, side, dtype, r, n_threads):
        self.threads = ThreadSetting(n_threads)
        V, W, Ht = factors_of(size, dtype, r)
        X, A, B = (V, W, Ht) if side == "W" else (_transposed(V), Ht, W)
        self.X = _RawCSR(X)
        if kernel in BLOCKED_PATHS:
            layout = _csr_layout()
            try:
                self.blocked = getattr(layout, BLOCKED_PATHS[kernel])
                self.matrix = layout.CSRMatrix.from_scipy(X)
            except AttributeError:
                raise NotImplementedError(f"this fastnmf has no column-blocked {kernel}") from None
        self.A, self.B = A, B
        self.dtype = np.dtype(dtype)
        self.eps = self.dtype.type(EPS)
        self.out = np.empty(A.shape, dtype=dtype)
        self.den = np.empty(A.shape, dtype=dtype)
        self.loss_parts = np.zeros(len(self.X.bounds) - 1)
        self.no_weights = np.empty(0, dtype=dtype)
        no_penalty = np.zeros(A.shape[0], dtype=dtype)
        self.update = (no_penalty, no_penalty, self.dtype.type(1), self.dtype.type(np.finfo(dtype).tiny))
        self.call = getattr(self, "_" + kernel.replace(".", "_"))
        self.call()

    def teardown(self, *params):
        restore_threads(self)

    # What fits call: the kernel by column blocks once B takes 8 MiB or more
    # (the 3M matrix at r = 50), in one block below that; without the
    # objective, as on 9 iterations in 10 (for KL, the kernel's fast path).
    def _csr_product(self):
        self.blocked(self.matrix, self.B)

    def _sampled_numerator_kl(self):
        self.blocked(self.matrix, self.A, self.B, self.dtype.type(1.0), self.eps, False)

    def _observed_terms_frobenius(self):
        self.blocked(self.matrix, self.A, self.B, self.dtype.type(2.0), self.eps, False)

    def _observed_terms_kl(self):
        self.blocked(self.matrix, self.A, self.B, self.dtype.type(1.0), self.eps, False)

    # What masked fits call since 2026-12-07: the terms and the update in one pass.
    def _observed_update(self, beta):
        try:
            self.blocked(self.matrix, self.A, self.B, self.dtype.type(beta), self.eps, False, self.update)
        except TypeError:
            raise NotImplementedError("this fastnmf's masked kernel makes no update") from None

    def _observed_update_frobenius(self):
        self._observed_update(2.0)

    def _observed_update_kl(self):
        self._observed_update(1.0)

    def _csr_times_dense(self):
        X = self.X
        K.csr_times_dense(X.indptr, X.indices, X.data, self.B, X.bounds, self.out, False)

    def _sampled_numerator(self, beta):
        X = self.X
        K.csr_sampled_numerator(
            X.indptr, X.indices, X.data, self.A, self.B, self.dtype.type(beta), self.eps,
            X.bounds, self.out, self.loss_parts, True, False,
        )  # fmt: skip

    def _csr_sampled_numerator_kl(self):
        self._sampled_numerator(1.0)

    def _csr_sampled_numerator_beta1_5(self):
        self._sampled_numerator(1.5)

    def _observed_terms(self, beta):
        X = self.X
        K.csr_observed_terms(
            X.indptr, X.indices, X.data, self.no_weights, self.A, self.B, self.dtype.type(beta), self.eps,
            X.bounds, self.out, self.den, self.loss_parts, True, False,
        )  # fmt: skip

    def _csr_observed_terms_frobenius(self):
        self._observed_terms(2.0)

    def _csr_observed_terms_kl(self):
        self._observed_terms(1.0)

    def time_kernel(self, *params):
        self.call()


class CSRCopies:
    """The two copies of a sparse V that a fit makes before its first
    iteration: V^T in CSR form (``CSRMatrix.transposed``), and V split into
    column blocks (``CSRMatrix.split_columns``, the ``split_by_columns``
    kernel), here always into 4 blocks so that every size times the split
    (fits split only a factor of more than 2.5 MiB). Both are serial."""

    params = [SIZES, ["transposed", "split_columns"], DTYPES, ["unweighted", "weighted"]]
    param_names = ["size", "copy", "dtype", "weights"]
    timeout = 60

    def setup(self, size, copy, dtype, weights):
        try:
            CSRMatrix = _csr_layout().CSRMatrix
        except AttributeError:
            raise NotImplementedError("this fastnmf has no CSRMatrix") from None
        V = document_term(size, dtype)
        self.matrix = CSRMatrix.from_scipy(V, V.data.copy() if weights == "weighted" else None)
        self.edges = np.linspace(0, V.shape[1], 5).round().astype(np.int64)
        self.call = getattr(self, "_" + copy)
        self.call()

    def _transposed(self):
        self.matrix.transposed()

    def _split_columns(self):
        self.matrix._blocks = {}  # the split is kept: forget it, so that each call makes it
        self.matrix.split_columns(self.edges)

    def time_copy(self, *params):
        self.call()


DENSE_TERMS = [
    "kullback-leibler", "kullback-leibler-objective", "itakura-saito", "itakura-saito-objective", 1.5,
    "1.5-objective", 0.5, "0.5-objective", 2.5, "masked-frobenius", "masked-kullback-leibler", "masked-itakura-saito",
    "masked-1.5",
]


class DenseTileTerms:
    """``dense_tile_terms``: the numerator and denominator of the dense
    update, tile by tile with BLAS inside the kernel, for each loss,
    unweighted or with a dense 0/1 mask (the weighted kernel's written-out
    loops: KL, Itakura-Saito, beta = 1.5), on the W side (X = V) or the H side
    (X = V^T), without the objective (as fits call it 9 times in 10), and
    for the unweighted Kullback-Leibler, Itakura-Saito, beta = 1.5 and
    beta = 0.5 also with it ("...-objective": the iterations that evaluate
    it, in the same vectorized loops); beta = 2.5 takes the general loop's
    unweighted path."""

    params = [SIZES, DENSE_TERMS, ["W", "H"], DTYPES, THREADS]
    param_names = ["size", "terms", "side", "dtype", "n_threads"]
    timeout = 60
    rank = 10

    def setup(self, size, terms, side, dtype, n_threads):
        self.threads = ThreadSetting(n_threads)
        V = dense_positive(size, dtype)
        W, H = initial_factors(V, self.rank)
        name = str(terms)
        masked = name.startswith("masked-")
        self.with_loss = name.endswith("-objective")
        loss = name.removeprefix("masked-").removesuffix("-objective")
        named = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}
        beta = named[loss] if loss in named else float(loss)
        self.dtype = np.dtype(dtype)
        self.beta = self.dtype.type(beta)
        self.eps = self.dtype.type(EPS)
        if masked:
            rng = np.random.default_rng(2)
            weights = (rng.random(V.shape) < 0.8).astype(dtype)
        else:
            weights = np.empty((0, 0), dtype=dtype)
        if side == "W":
            self.X, self.weights, self.A, self.B = V, weights, W, np.ascontiguousarray(H.T)
        else:
            self.X, self.A, self.B = np.ascontiguousarray(V.T), np.ascontiguousarray(H.T), W
            self.weights = np.ascontiguousarray(weights.T) if masked else weights
        self.with_den = masked or beta != 1.0
        self.num = np.empty(self.A.shape, dtype=dtype)
        self.den = np.empty(self.A.shape if self.with_den else (0, 0), dtype=dtype)
        self.time_kernel()

    def teardown(self, *params):
        restore_threads(self)

    def time_kernel(self, *params):
        tile_terms(
            self.X, self.weights, self.A, self.B, self.beta, self.eps, self.num, self.den, self.with_loss, self.with_den
        )


class DenseTileTermsLargeRank(DenseTileTerms):
    """``DenseTileTerms`` at r = 50, where the kernel runs on 128 x 512
    tiles with BLAS held to one thread (``fastnmf._terms.tile_terms``) in
    both dtypes (at r = 10, in float32 only), for the losses of the
    comparisons with scikit-learn and torchnmf."""

    params = [SIZES, ["kullback-leibler", 1.5, "masked-kullback-leibler"], ["W", "H"], DTYPES, THREADS]
    rank = 50


class AllEntriesPowerProduct:
    """The pass over all entries of a sparse V's update for beta other than
    1 and 2 (``fastnmf._terms.all_entries_power_product``: the dense tile
    kernel with X = 0; a fused kernel of its own until 2026-11-28), with the
    objective: the O(m n r) part of such an update. beta = 1.5 and 0.5 take
    loops of square roots, 2.5 the general loop."""

    params = [SIZES, [1.5, 0.5, 2.5], DTYPES, RANKS, THREADS]
    param_names = ["size", "beta", "dtype", "r", "n_threads"]
    timeout = 60

    def setup(self, size, beta, dtype, r, n_threads):
        self.threads = ThreadSetting(n_threads)
        _, self.W, self.Ht = factors_of(size, dtype, r)
        self.dtype = np.dtype(dtype)
        self.beta = self.dtype.type(beta)
        self.time_kernel()

    def teardown(self, *params):
        restore_threads(self)

    def time_kernel(self, *params):
        all_entries_power_product(self.W, self.Ht, self.beta, self.dtype.type(EPS), True)


class MultiplicativeUpdate:
    """``multiplicative_update`` of W (the document-term matrix's rows) with a
    full denominator and the exponent of beta outside [1, 2], with the
    shared one-row denominator of KL and no exponent, or with the Frobenius
    denominator W G (G = H H^T) that the kernel forms itself."""

    params = [SIZES, ["full-gamma", "shared-row", "gram"], DTYPES, RANKS, THREADS]
    param_names = ["size", "denominator", "dtype", "r", "n_threads"]

    def setup(self, size, denominator, dtype, r, n_threads):
        self.threads = ThreadSetting(n_threads)
        V = document_term(size, dtype)
        W, _ = initial_factors(V, r)
        rng = np.random.default_rng(3)
        m = W.shape[0]
        self.W_initial = W
        self.W = W.copy()
        self.num = (0.5 + rng.random((m, r))).astype(dtype)
        self.den = (0.5 + rng.random((1 if denominator == "shared-row" else m, r))).astype(dtype)
        self.gram = np.empty((0, 0), dtype=dtype)
        if denominator == "gram":
            H = rng.random((r, 1000))
            self.gram = (H @ H.T).astype(dtype)
        self.l1 = np.zeros(m, dtype=dtype)
        self.l2 = np.zeros(m, dtype=dtype)
        self.dtype = np.dtype(dtype)
        self.gamma = self.dtype.type(0.5 if denominator == "full-gamma" else 1.0)
        self.time_kernel()

    def teardown(self, *params):
        restore_threads(self)

    def time_kernel(self, *params):
        np.copyto(self.W, self.W_initial)
        K.multiplicative_update(
            self.W, self.num, self.den, self.gram, self.l1, self.l2, self.gamma, self.dtype.type(EPS),
            self.dtype.type(np.finfo(self.dtype).tiny),
        )  # fmt: skip


class HALSRows:
    """``hals_rows`` and ``hals_lanes``: the exact coordinate updates of W's
    rows given P = V H^T and G = H H^T, one sweep or several (HALS's inner
    loop; the sweeps stop early only when they stop changing W, which
    ``delta_squared = 0`` rules out, so every call does the same work), four
    rows at a time or 32 side by side (fits take the second up to
    ``fastnmf._hals.lanes_max_rank``: r = 32 with AVX-512, 28 in float32
    and 20 in float64 without, so r = 24 tracks the crossover).
    Restores W before each call."""

    params = [SIZES, ["hals_rows", "hals_lanes"], [1, 8], DTYPES, sorted({*RANKS, 24}), THREADS]
    param_names = ["size", "kernel", "sweeps", "dtype", "r", "n_threads"]

    def setup(self, size, kernel, sweeps, dtype, r, n_threads):
        if not hasattr(K, kernel):
            raise NotImplementedError(f"this fastnmf has no {kernel} kernel")
        self.threads = ThreadSetting(n_threads)
        V, W, Ht = factors_of(size, dtype, r)
        self.W_initial = W
        self.W = W.copy()
        self.P = np.ascontiguousarray(V @ Ht)
        self.G = np.ascontiguousarray(Ht.T @ Ht)
        m = W.shape[0]
        self.l1 = np.zeros(m, dtype=dtype)
        self.l2 = np.zeros(m, dtype=dtype)
        self.dtype = np.dtype(dtype)
        if kernel == "hals_lanes":
            from fastnmf._hals import lane_chunks
            from fastnmf._kernels.hals import LANES

            self.bounds = lane_chunks(m, r)
            self.extra = (LANES,)
        else:
            try:  # the chunks fits use since HALS rows are swept four at a time
                from fastnmf._hals import slot_chunks
            except ImportError:  # an earlier fastnmf: one row at a time, in its own chunks
                self.bounds = uniform_row_chunks(m, r * r)
            else:
                self.bounds = slot_chunks(m, r)
            self.extra = ()
        self.kernel = getattr(K, kernel)
        self.sweeps = sweeps
        self.time_kernel()

    def teardown(self, *params):
        restore_threads(self)

    def time_kernel(self, *params):
        np.copyto(self.W, self.W_initial)
        self.kernel(
            self.W, self.P, self.G, self.l1, self.l2, self.dtype.type(np.finfo(self.dtype).tiny),
            self.bounds, self.sweeps, 0.0, *self.extra,
        )  # fmt: skip


class BlockKernelCall:
    """The fixed cost of a call of a kernel that takes a block kernel (a
    compiled loop body, passed as a first-class function): ``hals_lanes``
    with no rows to sweep. Small fits pay it two to four times an
    iteration; it was 28-99 us until the function kept its Numba type
    (``fastnmf._jit``), 10-21 us since, against about 8 us for a kernel call
    with no function argument."""

    params = [DTYPES]
    param_names = ["dtype"]

    def setup(self, dtype):
        if not hasattr(K, "hals_lanes"):
            raise NotImplementedError("this fastnmf has no hals_lanes kernel")
        from fastnmf._kernels.hals import LANES

        A = np.ones((4, 10), dtype=dtype)
        G = np.ascontiguousarray(A.T @ A)
        ones = np.ones(4, dtype=dtype)
        tiny = np.dtype(dtype).type(np.finfo(dtype).tiny)
        no_rows = np.zeros(2, dtype=np.int64)
        self.call = lambda: K.hals_lanes(A, A, G, ones, ones, tiny, no_rows, 1, 0.0, LANES)
        self.call()

    def time_call(self, *params):
        self.call()


class GramProducts:
    """The Gram matrix of H^T (the document-term matrix's many columns) that
    a sparse Frobenius iteration needs, by ``gram_parts`` and its sum: a
    Numba kernel that calls BLAS on blocks of rows small enough to stay on
    its own threads."""

    params = [SIZES, DTYPES, RANKS, THREADS]
    param_names = ["size", "dtype", "r", "n_threads"]

    def setup(self, size, dtype, r, n_threads):
        if not hasattr(K, "gram_parts"):
            raise NotImplementedError("this fastnmf computes the Gram matrices with BLAS")
        from fastnmf._terms import gram

        self.threads = ThreadSetting(n_threads)
        _, _, Ht = factors_of(size, dtype, r)
        self.call = lambda: gram(Ht)
        self.call()

    def teardown(self, *params):
        restore_threads(self)

    def time_kernel(self, *params):
        self.call()


class ObjectiveGram(GramProducts):
    """The float64 Gram matrix of a float32 H^T that the Frobenius objective
    needs (``gram_parts_widened`` and its sum), made without a float64 copy
    of the factor."""

    params = [SIZES, RANKS, THREADS]
    param_names = ["size", "r", "n_threads"]

    def setup(self, size, r, n_threads):
        if not hasattr(K, "gram_parts_widened"):
            raise NotImplementedError("this fastnmf makes the objective's Gram matrices from float64 copies")
        from fastnmf._terms import gram

        self.threads = ThreadSetting(n_threads)
        _, _, Ht = factors_of(size, "float32", r)
        self.call = lambda: gram(Ht, in_float64=True)
        self.call()


class DenseHALSProducts:
    """``row_block_products``: V H^T (side "W") and V^T W (side "H") for a
    dense V, as dense HALS makes them from ``HALS_BLOCKED_MIN_WORK`` on, and
    at any size above r = 12 (``ROW_DOTS_MAX_RANK``): single-threaded BLAS
    calls on blocks of rows from Numba's threads, with BLAS held to one
    thread for the call (``DenseTerms._products``)."""

    params = [SIZES, ["W", "H"], DTYPES, RANKS, THREADS]
    param_names = ["size", "side", "dtype", "r", "n_threads"]

    def setup(self, size, side, dtype, r, n_threads):
        if not hasattr(K, "row_block_products"):
            raise NotImplementedError("this fastnmf makes the dense HALS products with NumPy")
        from fastnmf._terms import HALS_PRODUCT_ROWS, even_rows
        from fastnmf._threads import blas_on_calling_thread

        self.threads = ThreadSetting(n_threads)
        V = dense_positive(size, dtype)
        W, H = initial_factors(V, r)
        if side == "W":
            self.X, self.B = V, np.ascontiguousarray(H.T)
        else:
            self.X, self.B = np.ascontiguousarray(V.T), W
        self.out = np.empty((self.X.shape[0], r), dtype=dtype)
        self.rows = even_rows(self.X.shape[0], HALS_PRODUCT_ROWS)
        self.hold = blas_on_calling_thread
        self.time_kernel()

    def teardown(self, *params):
        restore_threads(self)

    def time_kernel(self, *params):
        with self.hold():
            K.row_block_products(self.X, self.B, self.rows, self.out)


class DenseProducts:
    """V H^T (side "W") and V^T W (side "H") for a dense V as Frobenius MU
    makes them: from r = 4 to 12 by Numba's ``row_dots``
    (``fastnmf._terms.numba_product``; V^T W from a C-ordered copy of V^T,
    made in ``setup``), above it by BLAS (``dense_product``,
    ``transposed_product``)."""

    params = [SIZES, ["W", "H"], DTYPES, RANKS, THREADS]
    param_names = ["size", "side", "dtype", "r", "n_threads"]

    def setup(self, size, side, dtype, r, n_threads):
        if not hasattr(K, "row_dots"):
            raise NotImplementedError("this fastnmf makes the dense products with BLAS")
        from fastnmf._terms import dense_product, numba_product, row_dots_take, transposed_product

        self.threads = ThreadSetting(n_threads)
        V = dense_positive(size, dtype)
        W, H = initial_factors(V, r)
        Ht = np.ascontiguousarray(H.T)
        if row_dots_take(min(V.shape), r):
            Vt = np.ascontiguousarray(V.T)
            self.call = (lambda: numba_product(V, Ht)) if side == "W" else (lambda: numba_product(Vt, W))
        else:
            self.call = (lambda: dense_product(V, Ht)) if side == "W" else (lambda: transposed_product(W, V))
        self.call()

    def teardown(self, *params):
        restore_threads(self)

    def time_kernel(self, *params):
        self.call()
