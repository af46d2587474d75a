"""How parallel work is split: fixed row chunks balanced by cost.

A chunk is a contiguous range of rows; the kernels run one chunk per
``prange`` iteration. The chunks depend only on the matrix, never on the
number of threads, so results do not change with it (the per-chunk loss sums
are added in chunk order).
"""

import numpy as np

MAX_CHUNKS = 512
MIN_COST_PER_CHUNK = 2048


def balanced_row_chunks(indptr, max_chunks=MAX_CHUNKS):
    """Chunk boundaries for a CSR matrix, balanced by nonzeros.

    A row costs its nonzeros plus one (for the per-row work of an update), so
    that a document-term matrix whose longest row holds thousands of times the
    median still spreads evenly: a heavy row gets a chunk of its own and the
    light rows around it share the others.

    Returns an int64 array ``bounds`` of length ``n_chunks + 1`` with
    ``bounds[0] == 0`` and ``bounds[-1] == n_rows``.
    """
    n_rows = len(indptr) - 1
    if n_rows == 0:
        return np.zeros(1, dtype=np.int64)
    cost = np.diff(indptr).astype(np.int64) + 1
    total = int(cost.sum())
    n_chunks = int(max(1, min(max_chunks, n_rows, total // MIN_COST_PER_CHUNK)))
    cumulative = np.cumsum(cost)
    targets = (np.arange(1, n_chunks, dtype=np.float64) * total) / n_chunks
    inner = np.searchsorted(cumulative, targets, side="left") + 1
    bounds = np.concatenate(([0], inner, [n_rows])).astype(np.int64)
    return np.unique(bounds)


def uniform_row_chunks(n_rows, n_cols, max_chunks=MAX_CHUNKS):
    """Chunk boundaries for a dense matrix: equal numbers of rows."""
    if n_rows == 0:
        return np.zeros(1, dtype=np.int64)
    n_chunks = int(max(1, min(max_chunks, n_rows, (n_rows * max(n_cols, 1)) // MIN_COST_PER_CHUNK)))
    return np.unique(np.linspace(0, n_rows, n_chunks + 1).round().astype(np.int64))
