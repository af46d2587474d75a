"""Parallel kernels for recommendation with fitted factors (W, H).

Predictions at arbitrary (row, column) pairs, and the selection of the k best
unobserved columns of each row from a block of scores. Every ``prange``
iteration writes only its own output entries or rows.
"""

import numpy as np
from numba import prange

from .._jit import block_kernel, first_class, inlined_kernel, kernel, serial_kernel


@kernel
def predict_pairs(rows, cols, W, Ht, out):
    """out[p] = W[rows[p]] . Ht[cols[p]] for every pair p, accumulated in
    the factors' dtype (r >= 1); nothing m x n is formed."""
    r = W.shape[1]
    for p in prange(rows.shape[0]):
        i = rows[p]
        j = cols[p]
        total = W[i, 0] * Ht[j, 0]
        for k in range(1, r):
            total += W[i, k] * Ht[j, k]
        out[p] = total


@serial_kernel
def _ranks_above(score_a, item_a, score_b, item_b):
    """Whether (score_a, item_a) comes before (score_b, item_b) in a ranking:
    higher score first, ties broken by the lower item index."""
    return score_a > score_b or (score_a == score_b and item_a < item_b)


@inlined_kernel
def _swap(heap_scores, heap_items, a, b):
    """Exchange entries a and b of a heap (its scores and its items)."""
    heap_scores[a], heap_scores[b] = heap_scores[b], heap_scores[a]
    heap_items[a], heap_items[b] = heap_items[b], heap_items[a]


@serial_kernel
def _sift_down(heap_scores, heap_items, size, start):
    """Restore the heap order below ``start`` of a heap whose root is its
    worst-ranked entry (a min-heap under :func:`_ranks_above`)."""
    parent = start
    while True:
        child = 2 * parent + 1
        if child >= size:
            return
        right = child + 1
        if right < size and _ranks_above(heap_scores[child], heap_items[child], heap_scores[right], heap_items[right]):
            child = right
        if _ranks_above(heap_scores[parent], heap_items[parent], heap_scores[child], heap_items[child]):
            _swap(heap_scores, heap_items, parent, child)
            parent = child
        else:
            return


def top_k_rows(scores, user_ids, exclude_indptr, exclude_indices, out_items, out_scores):
    """The k best columns of each row of ``scores``, skipping excluded ones.

    Parameters
    ----------
    scores : array of shape (b, n)
        Predicted scores of a block of b users (rows of W H).
    user_ids : int array of shape (b,)
        Row of ``exclude`` for each row of ``scores``.
    exclude_indptr, exclude_indices : int arrays
        A CSR pattern (sorted indices) of the columns to skip for each user;
        ``exclude_indptr`` of length 1 means nothing is excluded.
    out_items : int64 array of shape (b, k)
        Receives the column indices, best first; -1 where a user has fewer
        than k columns left.
    out_scores : array of shape (b, k)
        Receives their scores; -inf where ``out_items`` is -1.

    Ranking: higher score first, ties broken by the lower column index, so the
    answer equals a stable argsort of the scores, descending. Cost O(n log k)
    per row with a heap of the k best so far.

    The rows run in parallel (:func:`select_rows`), each by :func:`top_k_row`.
    """
    select = first_class(top_k_row, scores.dtype)
    select_rows(select, scores, user_ids, exclude_indptr, exclude_indices, out_items, out_scores)


@kernel
def select_rows(select, scores, user_ids, exclude_indptr, exclude_indices, out_items, out_scores):
    """The parallel loop of :func:`top_k_rows`: ``select`` (:func:`top_k_row`) on each row."""
    for b in prange(scores.shape[0]):
        row = np.int64(b)  # a first-class function takes exactly its argument types (b is unsigned)
        select(scores, user_ids, exclude_indptr, exclude_indices, out_items, out_scores, row)


@block_kernel("-", "AJJJKAn")
def top_k_row(scores, user_ids, exclude_indptr, exclude_indices, out_items, out_scores, b):
    """:func:`top_k_rows` for row ``b``, a first-class function argument of
    :func:`select_rows` (see :func:`fastnmf._jit.block_kernel`)."""
    n = scores.shape[1]
    k = out_items.shape[1]
    has_exclude = exclude_indptr.shape[0] > 1
    heap_scores = out_scores[b]
    heap_items = out_items[b]
    size = 0
    if has_exclude:
        user = user_ids[b]
        cursor = exclude_indptr[user]
        end = exclude_indptr[user + 1]
    else:
        cursor = 0
        end = 0
    for j in range(n):
        while cursor < end and exclude_indices[cursor] < j:
            cursor += 1
        if cursor < end and exclude_indices[cursor] == j:
            continue
        s = scores[b, j]
        if size < k:
            # Append, then sift up towards the root (the worst entry).
            child = size
            heap_scores[child] = s
            heap_items[child] = j
            size += 1
            while child > 0:
                parent = (child - 1) // 2
                if _ranks_above(heap_scores[parent], heap_items[parent], heap_scores[child], heap_items[child]):
                    _swap(heap_scores, heap_items, parent, child)
                    child = parent
                else:
                    break
        elif _ranks_above(s, j, heap_scores[0], heap_items[0]):
            heap_scores[0] = s
            heap_items[0] = j
            _sift_down(heap_scores, heap_items, size, 0)
    # Heap sort in place: repeatedly move the worst entry to the end.
    for last in range(size - 1, 0, -1):
        _swap(heap_scores, heap_items, 0, last)
        _sift_down(heap_scores, heap_items, last, 0)
    for slot in range(size, k):
        heap_items[slot] = -1
        heap_scores[slot] = -np.inf
