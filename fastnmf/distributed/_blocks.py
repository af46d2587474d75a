"""What runs where a row block of V lives: the block's layout, its share of
each iteration and of the objective.

Every function here is pure: it never modifies its arguments (the scratch
buffers inside a layout aside, which hold no state between calls), so that
Dask may run it again, on any worker, and get the same result.

A block i of rows holds V_i (m_i x n) and W_i (m_i x r); every block sees the
whole Ht (n x r). The W update of block i needs only V_i, W_i and Ht. The H
update needs sums over blocks: its numerator and denominator are sums over
the rows of V (see :mod:`fastnmf._terms`), so each block computes its rows'
share with :meth:`h_terms` of its own layout and the shares add up; for the
unmasked Frobenius loss the denominator Ht (W^T W) is sent as the r x r Gram
matrix W_i^T W_i instead.

Numba's parallel kernels run one block at a time per process (a lock), each
with all of the process's Numba threads: the ``workqueue`` threading layer
(Numba's last resort, where neither TBB nor OpenMP loads) aborts on
concurrent calls, and several blocks at once would oversubscribe the cores
anyway.
"""

import threading
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from .._epsilon import EPS, tiny
from .._losses import mm_exponent
from .._loop import penalty
from .._problem import _check_weights, build_problem
from .._terms import DenseTerms, SparseTerms, csr_product, gram, transposed_product, update_factor
from .._threads import numba_threads, threads_for
from .._validation import _check_factor, check_matrix, penalty_weights

# One block's kernels at a time in each process.
KERNEL_LOCK = threading.Lock()


def aligned(array):
    """``array`` as an aligned, C-contiguous array (a copy only if needed).

    Arrays that arrive over the network may sit at any byte offset of a
    message, and NumPy's matmul does not call BLAS on unaligned arrays: it
    falls back to a slow loop that also rounds differently, which would make
    a fit depend on where its data travelled."""
    return np.require(array, requirements=["A", "C"])


class NothingObserved:
    """The layout of a block whose mask observes none of its entries: it adds
    nothing to the objective or to the H update, and the update sends its W
    rows to zero, as the in-memory solver does for rows with nothing
    observed."""

    def __init__(self, shape, dtype, beta):
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.beta = float(beta)

    def w_terms(self, W, Ht, with_loss):
        zeros = np.zeros(W.shape, dtype=self.dtype)
        return zeros, zeros[:1], (0.0 if with_loss else None)


def _nbytes(obj, seen):
    """Bytes held by the NumPy arrays of ``obj`` and of its attributes (one
    level of objects deep), each array counted once."""
    if isinstance(obj, np.ndarray):
        owner = obj.base if isinstance(obj.base, np.ndarray) else obj
        if id(owner) in seen:
            return 0
        seen.add(id(owner))
        return owner.nbytes
    if sp.issparse(obj):
        return sum(_nbytes(getattr(obj, name), seen) for name in ("data", "indices", "indptr") if hasattr(obj, name))
    if hasattr(obj, "__dict__"):
        return sum(_nbytes(value, seen) for value in vars(obj).values() if not hasattr(value, "__dict__"))
    return 0


@dataclass(eq=False)
class BlockLayout:
    """One row block's layout (a :mod:`fastnmf._terms` class, built once on
    the worker that holds the block) and its rows' penalty weights.

    ``init_data`` (the block with unobserved entries as zeros) is kept only
    until NNDSVD has seen it.
    """

    terms: object
    l1_W: np.ndarray
    l2_W: np.ndarray
    work: int = 0  # multiply-adds per kernel call, to choose the Numba threads (fastnmf._threads)
    setup: object = None  # BlockSetup
    init_data: object = None

    def __sizeof__(self):
        # Dask's memory accounting and scheduling read this: the default
        # (a few hundred bytes) would let the scheduler move blocks freely.
        seen = set()
        total = _nbytes(self.terms, seen) + _nbytes(self.l1_W, seen) + _nbytes(self.l2_W, seen)
        for name in ("X", "Xt"):
            csr = getattr(self.terms, name, None)
            if csr is not None:
                total += _nbytes(csr, seen)
        if self.init_data is not None:
            total += _nbytes(self.init_data, seen)
        if self.setup is not None:
            total += _nbytes(self.setup.col_counts, seen)
        return total + 512


@dataclass(eq=False)
class BlockSetup:
    """What the driver learns about a block when it is built."""

    observed_sum: float
    observed_count: int
    observed_max: float
    col_counts: np.ndarray  # observed entries per column (n,)


@dataclass(eq=False)
class StepParts:
    """A block's (or a sum of blocks') share of one iteration: the objective
    at the current W and H, and the numerator and denominator of the H
    update from the updated W. ``den`` is (n, r) or (1, r) (shared by every
    row) or None; ``gram`` is sum_i W_i^T W_i (r, r) for the Frobenius
    denominator Ht (W^T W), or None."""

    data_loss: object  # float, or None when the objective was not evaluated
    penalty_W: object
    num: object = None
    den: object = None
    gram: object = None

    def __sizeof__(self):
        return 256 + sum(a.nbytes for a in (self.num, self.den, self.gram) if a is not None)


# --------------------------------------------------------------------------- building


def build_block(V_block, mask_block, r, beta, dtype, alpha_W, l1_ratio, scale_by_observed, keep_init_data):
    """Check one row block and build its layout, as :func:`fastnmf.nmf` does
    for the whole matrix. Returns the :class:`BlockLayout`, with its
    :class:`BlockSetup` (read by :func:`setup_of` and
    :func:`col_counts_of`).

    ``mask_block`` is None, ``"observed"`` or the block of the mask.
    """
    V_block = _as_working_dtype(V_block, dtype)
    if mask_block is not None and not isinstance(mask_block, str) and not sp.issparse(mask_block):
        mask_block = _owned(np.asarray(mask_block))
    shape = V_block.shape
    if _nothing_observed(V_block, mask_block, dtype):
        terms = NothingObserved(shape, dtype, beta)
        init_data = sp.csr_array(shape, dtype=dtype)
        row_counts = np.zeros(shape[0], dtype=np.int64)
        col_counts = np.zeros(shape[1], dtype=np.int64)
        observed_sum = observed_max = 0.0
    else:
        problem = build_problem(V_block, beta, mask_block)
        terms = problem.terms
        init_data = problem.init_data
        row_counts = problem.row_counts
        col_counts = problem.col_counts
        observed_sum = float(init_data.sum(dtype=np.float64))
        observed_max = float(init_data.max()) if init_data.size else 0.0
    m, n = shape
    scale = row_counts if scale_by_observed else np.full(m, n)
    X = getattr(terms, "X", None)
    entries = len(X.data) if X is not None else m * n
    layout = BlockLayout(
        terms,
        penalty_weights(alpha_W, l1_ratio, scale, dtype, "alpha_W"),
        penalty_weights(alpha_W, 1 - l1_ratio, scale, dtype, "alpha_W"),
        entries * r,
        BlockSetup(
            observed_sum, int(np.sum(row_counts, dtype=np.int64)), observed_max, np.asarray(col_counts, dtype=np.int64)
        ),
        init_data if keep_init_data else None,
    )
    return layout


def setup_of(layout):
    """The block's observed sum and count (what the mean of V needs), and
    its largest observed entry."""
    return layout.setup.observed_sum, layout.setup.observed_count, layout.setup.observed_max


def col_counts_of(layout):
    return layout.setup.col_counts


def _as_working_dtype(block, dtype):
    if sp.issparse(block):
        return block.astype(dtype, copy=False)  # check_matrix copies it
    return _owned(np.asarray(block, dtype=dtype))


def _owned(array):
    """A dense block that owns its aligned memory. A chunk of
    ``dask.array.from_array`` is a view of the whole array, which the layout
    would otherwise keep alive on the worker for the whole fit."""
    if array.base is not None or not array.flags.aligned or not array.flags.c_contiguous:
        return np.array(array, order="C", copy=True)
    return array


def _nothing_observed(V_block, mask_block, dtype):
    """Whether the mask of this block observes nothing. Such a block is still
    checked as :func:`fastnmf.nmf` would check it; only the error "mask
    leaves nothing observed" is left to the whole matrix."""
    if mask_block is None:
        return False
    if isinstance(mask_block, str):
        if mask_block != "observed" or not sp.issparse(V_block) or sp.csr_array(V_block).nnz:
            return False  # build_problem raises or builds
        check_matrix(V_block, keep_zeros=True)
        return True
    values = mask_block.data if sp.issparse(mask_block) else np.asarray(mask_block)
    if values.dtype.kind not in "biuf" or np.shape(mask_block) != V_block.shape:
        return False  # build_problem raises
    if np.any(values > 0):
        return False
    _check_weights(np.asarray(values, dtype=dtype))
    check_matrix(V_block, allow_nan=not sp.issparse(V_block))
    return True


def drop_init_data(layout):
    """The same layout without its initialization copy (the terms are shared,
    not copied)."""
    return BlockLayout(layout.terms, layout.l1_W, layout.l2_W, layout.work, layout.setup)


def check_initial_block(W_block, rows, r, dtype):
    """A user's block of W0 checked and copied."""
    return _check_factor(W_block, "W0", (rows, r), np.dtype(dtype))


# --------------------------------------------------------------------------- iterating


def h_contribution(terms, W, Ht):
    """This block's share ``(num, den, gram)`` of the H update, from its rows'
    (updated) W. The Frobenius paths send the Gram matrix W^T W (r x r)
    instead of their denominator Ht (W^T W) (n x r)."""
    if isinstance(terms, NothingObserved):
        return None, None, None
    if isinstance(terms, DenseTerms) and terms.products_by_numba(W.shape[1]):
        return terms.vt_product(W), None, gram(W)  # as its W side: no multithreaded BLAS call
    if isinstance(terms, DenseTerms) and terms.gram_path:
        return transposed_product(W, terms.V), None, W.T @ W
    if isinstance(terms, SparseTerms) and terms.beta == 2.0:
        return csr_product(terms.Xt, W), None, gram(W)
    num, den = terms.h_terms(W, Ht)
    return num, den, None


def current_W(state):
    """W_i from a block's state: the initial W_i, or the ``(W_next, parts)``
    of the last :func:`block_step`."""
    return aligned(state if isinstance(state, np.ndarray) else state[0])


def block_step(layout, state, Ht, with_loss):
    """One iteration on one block, from W_i (in ``state``, see
    :func:`current_W`) and Ht after t iterations.

    Returns the block's next state ``(W_next, parts)``: W_i after iteration
    t+1 (a new array) and :class:`StepParts` with the objective at iteration
    t (None unless ``with_loss``) and the H-update share computed from
    W_next. The driver goes on from this state, or stops and keeps W_i.
    """
    W = current_W(state)
    Ht = aligned(Ht)
    terms = layout.terms
    dtype = terms.dtype
    gamma = dtype.type(mm_exponent(terms.beta))
    eps = dtype.type(EPS)
    flush = dtype.type(tiny(dtype))
    with KERNEL_LOCK, numba_threads(threads_for(layout.work, numba.config.NUMBA_NUM_THREADS)):
        num, den, data_loss = terms.w_terms(W, Ht, with_loss=with_loss)
        penalty_W = penalty(W, layout.l1_W, layout.l2_W) if with_loss else None
        W_next = W.copy()
        update_factor(W_next, num, den, layout.l1_W, layout.l2_W, gamma, eps, flush)
        h_num, h_den, h_gram = h_contribution(terms, W_next, Ht)
    return W_next, StepParts(data_loss, penalty_W, h_num, h_den, h_gram)


def first(pair):
    return pair[0]


def second(pair):
    return pair[1]


def _add_optional(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def add_parts(*parts):
    """The sum of several :class:`StepParts`, added in the order given (the
    result does not depend on where the blocks live)."""
    total = StepParts(None, None)
    for part in parts:
        total = StepParts(
            _add_optional(total.data_loss, part.data_loss),
            _add_optional(total.penalty_W, part.penalty_W),
            _add_optional(total.num, part.num),
            _add_optional(total.den, part.den),
            _add_optional(total.gram, part.gram),
        )
    return total


def add_arrays(*arrays):
    """The sum of several arrays, in the order given."""
    total = arrays[0].copy()
    for array in arrays[1:]:
        total += array
    return total


# --------------------------------------------------------------------------- initializing

# Random draws for W are made per group of this many rows, each group from its
# own stream, so that a block's draws do not depend on how V is chunked.
ROWS_PER_STREAM = 4096


def _row_stream_normals(seed, row_start, rows, r):
    """Standard normal draws (rows x r) for global rows row_start..+rows, the
    same whatever the chunking: row g * ROWS_PER_STREAM + j draws row j of
    stream ``(seed, g)``."""
    out = np.empty((rows, r))
    stop = row_start + rows
    position = row_start
    while position < stop:
        group = position // ROWS_PER_STREAM
        group_start = group * ROWS_PER_STREAM
        group_stop = min(stop, group_start + ROWS_PER_STREAM)
        draws = np.random.default_rng([seed, group]).standard_normal((group_stop - group_start, r))
        out[position - row_start : group_stop - row_start] = draws[position - group_start :]
        position = group_stop
    return out


def random_block(row_start, rows, seed, r, scale, dtype):
    """A block of the random init: scale * |N(0, 1)|, as :func:`fastnmf.nmf`."""
    W = scale * np.abs(_row_stream_normals(seed, row_start, rows, r))
    return np.ascontiguousarray(W, dtype=dtype)


def _svd_data(layout):
    data = layout.init_data
    return data if sp.issparse(data) else aligned(data)


def range_qr(layout, Omega):
    """The block's rows of Y = X Omega (float64) and their thin QR:
    ``(Q_i, R_i)``, the first step of a tall-skinny QR of Y."""
    Y = np.asarray(_svd_data(layout) @ aligned(Omega), dtype=np.float64)
    Q, R = np.linalg.qr(Y)
    return Q, R


def rotate_and_project(layout, local_Q, rotation):
    """Finish the tall-skinny QR (Q_i = local_Q @ rotation) and project the
    block onto it: ``(Q_i, X_i^T Q_i)``; the second sums over blocks to
    X^T Q (n x k)."""
    Q = aligned(local_Q) @ aligned(rotation)
    projected = np.asarray(_svd_data(layout).T @ Q, dtype=np.float64)
    return Q, np.ascontiguousarray(projected)


def nndsvd_norms(Q, rotation):
    """The block's rows of the left singular vectors U_i = Q_i @ rotation and
    the squared norms of their positive and negative parts, (2, r)."""
    U = aligned(Q) @ aligned(rotation)
    norms = np.stack([(np.maximum(U, 0) ** 2).sum(axis=0), (np.maximum(-U, 0) ** 2).sum(axis=0)])
    return U, norms


def nndsvd_block(U, row_start, coefficients, signs, fill, mean, seed, dtype, zero_threshold):
    """The block's rows of NNDSVD's W: column k is ``coefficients[k] *
    max(signs[k] * U[:, k], 0)`` (``signs[k] == 0``: ``|U[:, k]|``), entries
    below ``zero_threshold`` set to zero, then zeros filled as ``fill``
    says ("none", "mean" for NNDSVDa, "random" for NNDSVDar)."""
    U = aligned(U)
    rows, r = U.shape
    W = np.empty((rows, r))
    for k in range(r):
        column = np.abs(U[:, k]) if signs[k] == 0 else np.maximum(signs[k] * U[:, k], 0)
        W[:, k] = coefficients[k] * column
    W[W < zero_threshold] = 0
    if fill == "mean":
        W[W == 0] = mean
    elif fill == "random":
        zeros = W == 0
        W[zeros] = np.abs(mean * _row_stream_normals(seed, row_start, rows, r)[zeros] / 100)
    return np.ascontiguousarray(W, dtype=dtype)
