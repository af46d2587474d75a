"""A sparse V as the CSR kernels take it (:class:`CSRMatrix`: its arrays,
its row chunks balanced by nonzeros, its transposed copy and its column
blocks), and the kernels' calls by column blocks (:func:`csr_product`,
:func:`sampled_numerator`, :func:`observed_terms`), which the sparse layouts
of :mod:`fastnmf._terms` build their terms from."""

import os

import numpy as np

from . import _kernels as K
from ._chunks import balanced_row_chunks
from ._jit import read_only

LARGE_L2_BYTES = 2 << 20  # a core's L2 cache from which factors are split at LARGE_L2_BLOCK_BYTES
LARGE_L2_BLOCK_BYTES = 5 << 19  # 2.5 MiB of B's rows per column block, with LARGE_L2_BYTES of L2 or more
SMALL_L2_BLOCK_BYTES = 8 << 20  # 8 MiB, with less
MAX_BLOCKS = 32
CACHE_FOLDER = "/sys/devices/system/cpu/cpu0/cache"  # where Linux describes the first core's caches


def level2_cache_bytes(folder=CACHE_FOLDER):
    """The size of a core's level-2 cache in bytes, as Linux describes it
    (``index*/level`` and ``index*/size`` under ``folder``, the size as
    ``"1024K"``), or None where it is not known (another system, a
    virtual machine that does not say)."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return None
    for entry in sorted(entries):
        try:
            with open(os.path.join(folder, entry, "level")) as level:
                if level.read().strip() != "2":
                    continue
            with open(os.path.join(folder, entry, "size")) as size:
                text = size.read().strip().upper()
        except OSError:
            continue
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        digits = text[:-1] if text[-1:] in "KMG" else text
        if digits.isdigit() and int(digits) > 0:
            return int(digits) * scale
    return None


def block_bytes(level2):
    """The most bytes of B's rows per column block (:func:`column_blocks`)
    on a processor with ``level2`` bytes of L2 cache per core (None: not
    known): 2.5 MiB where a core has 2 MiB of L2 or more, or where its L2 is
    not known; 8 MiB where it has less. Measured on the Intel Xeon of
    docs/performance.md (2 MiB of L2 per core), blocks of 2.5 MiB made the
    CSR kernels 1.08-1.84x faster on one thread than the 8 MiB rule,
    0.96-1.87x on two. On the AMD EPYC (Zen 4, 1 MiB of L2 per core, 32 MiB
    of L3) they made the masked kernel slower at r = 50: each call alone,
    2 threads, blocks of 8 MiB 1.12-1.38x faster on the 3M matrix (masked
    Frobenius and KL, both sides, float32 and float64) and 1.07-1.27x on
    the 0.5M matrix's W side in float64, the sparse product 0.96-1.26x;
    where it loses, the 3M matrix's W side at r = 10 in float64 (a 4 MB
    factor, 2 blocks against 1), the product 0.80-1.01x, the KL numerator
    and the masked kernel 0.88-1.12x (docs/kernel_log.md, "Column blocks
    by the size of the L2 cache")."""
    if level2 is None or level2 >= LARGE_L2_BYTES:
        return LARGE_L2_BLOCK_BYTES
    return SMALL_L2_BLOCK_BYTES


BLOCK_BYTES = block_bytes(level2_cache_bytes())  # a B of this size or less is gathered from whole


def column_blocks(n_cols, r, itemsize):
    """Column boundaries [0, ..., n_cols] for the product of a CSR matrix
    with an n_cols x r factor B: blocks whose rows of B take at most about
    BLOCK_BYTES, one block for a B of that size or less.

    A sparse product gathers rows of B in the order of X's column indices,
    which is random; once B outgrows a core's cache most gathers go to
    memory. Taking X one column block at a time over all rows keeps the
    slice of B being gathered in cache. Measured, one thread, the W side of
    the 3M matrix (B = H^T, 50,000 rows): r = 50, 1.9-2.4x faster with 4 or
    8 blocks (float32 and float64). How large a block is depends on the
    core's L2 cache (:func:`block_bytes`). The split is made once per fit
    (:meth:`CSRMatrix.split_columns`): 20-33 ms for a side of the 3M matrix.
    """
    size = n_cols * r * itemsize
    count = min(MAX_BLOCKS, max(1, -(-size // BLOCK_BYTES)))
    return np.linspace(0, n_cols, count + 1).round().astype(np.int64)


def by_column_blocks(X, B):
    """[(block, B's rows for it, accumulate)] for the kernels that gather rows
    of B in the order of X's column indices: X split into column blocks
    (:func:`column_blocks`), each with its slice of B, and whether a kernel
    adds to its output (every block but the first) instead of writing it."""
    blocks = X.blocks_for(B.shape[1], B.itemsize)
    return [(block, B[first : first + block.shape[1]], b > 0) for b, (first, block) in enumerate(blocks)]


def csr_product(X, B):
    """X @ B for a CSRMatrix X and a dense B, in B's dtype, by column blocks."""
    out = np.empty((X.shape[0], B.shape[1]), dtype=B.dtype)
    for block, B_slice, accumulate in by_column_blocks(X, B):
        K.csr_times_dense(block.indptr, block.indices, block.data, B_slice, block.bounds, out, accumulate)
    return out


def sampled_numerator(X, A, B, beta, eps, with_loss):
    """(X * (A B^T)^(beta - 2)) @ B with A B^T taken at X's stored entries,
    and the float64 sum of d(x | ab) - d(0 | ab) over them (0.0 without
    ``with_loss``), by column blocks (``csr_sampled_numerator``: the KL kernel for
    beta = 1, the general one otherwise)."""
    num = np.empty(A.shape, dtype=A.dtype)
    loss = 0.0
    for block, B_slice, accumulate in by_column_blocks(X, B):
        parts = block.loss_parts()
        K.csr_sampled_numerator(
            block.indptr, block.indices, block.data, A, B_slice, beta, eps,
            block.bounds, num, parts, with_loss, accumulate,
        )  # fmt: skip
        loss += float(parts.sum())
    return num, loss


def observed_terms(X, A, B, beta, eps, with_loss, update=None):
    """Numerator, denominator and float64 objective of the update over X's
    stored entries only, weighted by ``X.weights``, by column blocks (kernel
    ``csr_observed_terms``). With ``update = (l1, l2, gamma, tiny)`` the
    last block's call makes num the updated A instead (the kernel's
    ``update``; den is then scratch)."""
    num = np.empty(A.shape, dtype=A.dtype)
    den = np.empty(A.shape, dtype=A.dtype)
    loss = 0.0
    blocks = by_column_blocks(X, B)
    for b, (block, B_slice, accumulate) in enumerate(blocks):
        parts = block.loss_parts()
        K.csr_observed_terms(
            block.indptr, block.indices, block.data, block.weights, A, B_slice, beta, eps,
            block.bounds, num, den, parts, with_loss, accumulate, update if b == len(blocks) - 1 else None,
        )  # fmt: skip
        if with_loss:
            loss += float(parts.sum())
    return num, den, loss


def _words(values):
    """A 1-D float array as rows of raw 32-bit words, one row per value (a view)."""
    return values.view(np.uint32).reshape(values.shape[0], values.itemsize // 4)


class CSRMatrix:
    """The raw arrays of a CSR matrix and its row chunks; with ``weights``
    (one per stored entry) for observed-entry layouts."""

    def __init__(self, indptr, indices, data, shape, weights=None):
        self.indptr = read_only(indptr)
        self.indices = read_only(indices)
        self.data = read_only(data)
        self.shape = shape
        self.weights = read_only(weights if weights is not None else np.empty(0, dtype=data.dtype))
        self.bounds = balanced_row_chunks(indptr)
        self._blocks = {}
        self._blocks_for = {}

    @classmethod
    def from_scipy(cls, X, weights=None):
        return cls(X.indptr, X.indices, X.data, X.shape, weights)

    def transposed(self):
        """The same entries in CSR form of the transpose (a copy, made once
        per fit). Weights follow their entries: with weights, the positions
        0..nnz-1 are transposed and both arrays gathered by them; without,
        the values are transposed directly, one pass fewer (28-35 against
        44-51 ms at 3M nonzeros, 180-203 against 343-358 ms at 15M)."""
        import scipy.sparse as sp

        m, n = self.shape
        nnz = len(self.data)
        if self.weights.shape[0]:
            order_dtype = np.int64 if nnz >= np.iinfo(np.int32).max else np.int32
            values = np.arange(nnz, dtype=order_dtype)
        else:
            values = self.data
        # X is canonical (sorted indices, no duplicates), and so is its transpose.
        t = sp.csr_array((values, self.indices, self.indptr), shape=(m, n)).T.tocsr()
        t.sort_indices()
        indptr = t.indptr.astype(self.indptr.dtype, copy=False)
        indices = t.indices.astype(self.indices.dtype, copy=False)
        if not self.weights.shape[0]:
            return CSRMatrix(indptr, indices, t.data, (n, m))
        order = t.data
        return CSRMatrix(indptr, indices, self.data[order], (n, m), self.weights[order])

    def blocks_for(self, r, itemsize):
        """split_columns(column_blocks(...)) for a factor of r columns and
        this itemsize, remembered: fits ask for it at every iteration."""
        key = (r, itemsize)
        if key not in self._blocks_for:
            self._blocks_for = {key: self.split_columns(column_blocks(self.shape[1], r, itemsize))}
        return self._blocks_for[key]

    def split_columns(self, edges):
        """[(first column, CSRMatrix of the columns edges[b]:edges[b + 1],
        indices counted from the first)] for each block b; X itself for one
        block. Each row keeps its entries' order; weights follow their
        entries. The split is made once and kept (only the latest one: a copy
        of X's indices, values and weights, of which the blocks are
        consecutive slices), by the kernel ``split_by_columns``: a side of the
        3M matrix in 2 to 8 blocks in 20-33 ms, of the 15M matrix in 4 to 16
        blocks in 127-334 ms, where NumPy's selections and gathers took
        41-128 ms and 409-1,179 ms (medians of 5, float32 and float64, with
        and without weights)."""
        key = tuple(int(e) for e in edges)
        if key[0] != 0 or key[-1] != self.shape[1] or any(b < a for a, b in zip(key, key[1:])):
            # the kernel reads each column's block from a table of this length, unchecked
            raise ValueError(f"edges must rise from 0 to {self.shape[1]} columns; got {list(key)}")
        if key not in self._blocks:
            if len(key) == 2:
                blocks = [(0, self)]
            else:
                m, count, nnz = self.shape[0], len(key) - 1, len(self.data)
                edges = np.array(key, dtype=np.int64)
                column_block = np.repeat(np.arange(count, dtype=np.int64), np.diff(edges))
                block_indptr = np.zeros((count, m + 1), dtype=np.int64)
                starts = np.zeros(count + 1, dtype=np.int64)
                indices = np.empty(nnz, dtype=self.indices.dtype)
                data = np.empty(nnz, dtype=self.data.dtype)
                weights = np.empty(nnz if self.weights.shape[0] else 0, dtype=self.weights.dtype)
                K.split_by_columns(
                    self.indptr, self.indices, _words(self.data), _words(self.weights), column_block,
                    edges[:-1].copy(), block_indptr, starts, indices, _words(data), _words(weights),
                )  # fmt: skip
                blocks = []
                for b, (first, last) in enumerate(zip(key[:-1], key[1:])):
                    mine = slice(starts[b], starts[b + 1])
                    block = CSRMatrix(
                        block_indptr[b].astype(self.indptr.dtype), indices[mine], data[mine], (m, last - first),
                        weights[mine] if weights.shape[0] else None,
                    )  # fmt: skip
                    blocks.append((first, block))
            self._blocks = {key: blocks}
        return self._blocks[key]

    def loss_parts(self):
        return np.zeros(len(self.bounds) - 1, dtype=np.float64)
