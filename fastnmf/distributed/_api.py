"""The public function :func:`nmf` for Dask arrays."""

import warnings
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np

from .._api import warn_if_below_eps
from .._init import default_init
from .._losses import beta_from_loss
from .._result import ConvergenceWarning, NMFResult
from .._validation import _check_factor, check_fit_options, check_init, penalty_weights, working_dtype
from . import _blocks as B
from ._executor import DaskExecutor, LocalExecutor, submit_each, tree_sum
from ._init import nndsvd_init, random_init
from ._solver import run_distributed_mu


@dataclass(frozen=True)
class RowBlock:
    """A non-empty row block of V: its position among V's chunks and its rows."""

    index: int
    row_start: int
    rows: int


def nmf(
    V,
    r,
    *,
    loss="frobenius",
    mask=None,
    init=None,
    max_iter=200,
    tol=1e-4,
    random_state=None,
    alpha_W=0.0,
    alpha_H="same",
    l1_ratio=0.0,
    regularization_scale="shape",
    callback=None,
    verbose=False,
    client=None,
):
    r"""Non-negative matrix factorization V ~ W H of a Dask array split by
    rows, on a Dask cluster.

    The same objective, multiplicative updates, initializations,
    regularization and stopping rule as ``fastnmf.nmf(..., solver="mu")``
    (see there for the formulas; HALS is not distributed). Each
    row block V_i of V is checked and laid out once, where it lives, and
    stays there with its rows W_i of W; every iteration runs fastnmf's
    kernels on each block and moves only Ht (n x r) to the workers and the
    sums over blocks of the H update's terms (n x r, or r x r Gram matrices
    for the unmasked Frobenius loss) back. Nothing m x n, and nothing with m
    rows, goes through the driver.

    Parameters
    ----------
    V : dask.array.Array of shape (m, n)
        Non-negative data split by rows only (one chunk along the columns:
        ``V.rechunk({1: -1})``), whose chunks are NumPy arrays or SciPy
        sparse matrices (made into CSR; implicit zeros are zeros unless
        ``mask="observed"``). Empty and uneven chunks are fine.
    r : int
        The rank: number of columns of W and rows of H.
    loss : {"frobenius", "kullback-leibler", "itakura-saito"} or float
        The beta-divergence to minimize, as in :func:`fastnmf.nmf`.
    mask : None, dask.array.Array of shape (m, n), or "observed"
        Which entries to fit, as in :func:`fastnmf.nmf`: a Dask array of
        booleans or non-negative weights (dense or sparse chunks) with V's
        chunks, or ``"observed"`` for sparse chunks (stored entries
        observed, the others unknown).
    init : {"random", "nndsvd", "nndsvda", "nndsvdar"}, (W0, H0) or None
        How to start; None picks "nndsvda" when r <= min(m, n), else
        "random". "random" draws W's rows on the workers from streams seeded
        by ``random_state`` and the row numbers (the same W0 whatever the
        chunking). NNDSVD uses a randomized truncated SVD computed over the
        blocks (the in-memory solver uses an exact SVD, so the two starts
        agree only to its accuracy). (W0, H0): W0 of shape (m, r) as a NumPy
        array or a Dask array with V's row chunks, H0 of shape (r, n), both
        in V's working dtype and non-negative; they are copied.
    max_iter : int, default 200
        Maximum number of iterations; 0 returns the initial factors.
    tol : float, default 1e-4
        Stopping tolerance: every 10 iterations, stop when the relative
        decrease of sqrt(2 * objective) over those 10 iterations, divided by
        its initial value, is below ``tol``. 0 runs ``max_iter`` iterations.
    random_state : None, int or numpy.random.Generator
        Seeds the random and NNDSVD initializations.
    alpha_W, alpha_H, l1_ratio, regularization_scale
        The penalties, scaled exactly as in :func:`fastnmf.nmf`.
    callback : callable or None
        ``callback(iteration, W, H, loss)`` after each iteration, with W as a
        Dask array of the current blocks (still on the workers; computing it
        gathers W) and H a read-only NumPy array; returning True stops.
    verbose : bool
        Print the objective every 10 iterations.
    client : distributed.Client or None
        The cluster to run on. None uses the current default client if
        there is one, else runs in this process, one block after another
        (V's blocks are computed with Dask's local scheduler).

    Returns
    -------
    NMFResult
        As from :func:`fastnmf.nmf`, except that ``W`` is a Dask array of
        shape (m, r) with V's row chunks, whose blocks stay on the workers as
        futures of ``client`` (``result.W.compute()`` gathers it when that
        client is the default one, else ``result.W.compute(scheduler=client)``);
        ``H`` is a NumPy array.

    Raises
    ------
    WorkerLostError
        If a worker dies holding blocks of W (they cannot be recomputed;
        the fit is deterministic, so running it again gives the same
        result). Blocks of V lost before the iterations start are recomputed
        by Dask from V's graph.

    Notes
    -----
    Per iteration the driver sends Ht (n r numbers) to one worker, which
    the others fetch it from, and receives one n x r numerator and one
    denominator (n x r, 1 x r or r x r) plus a few scalars; between workers
    at most one n x r numerator and denominator per block move, to be
    summed (see ``docs/distributed.md``). The sums add floating-point
    numbers in another order than the in-memory solver, so from the same
    start the factors agree to rounding (about 1e-14 relative in float64
    after tens of iterations), not bit for bit. For a given chunking the
    order is fixed, so results do not depend on where blocks live.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import fastnmf.distributed
    >>> V = da.from_array(np.random.default_rng(0).random((1000, 50)), chunks=(250, -1))
    >>> result = fastnmf.distributed.nmf(V, 5, random_state=0)  # no client: runs here
    >>> result.W.chunks[0], result.H.shape
    ((250, 250, 250, 250), (5, 50))
    """
    beta = beta_from_loss(loss)
    r, max_iter, tol, alpha_W, alpha_H, l1_ratio, callback, rng = check_fit_options(
        r=r, max_iter=max_iter, tol=tol, alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio,
        regularization_scale=regularization_scale, callback=callback, random_state=random_state,
    )  # fmt: skip
    _check_dask_matrix(V)
    dtype = working_dtype(V.dtype, "V")
    mask_blocks = _mask_blocks(mask, V)
    m, n = V.shape
    init_name = None if isinstance(init, (tuple, list)) else check_init(init, r, (m, n), dtype)
    if init_name is None and not isinstance(init, (tuple, list)):
        init_name = default_init(r, (m, n))
    if init_name is not None and init_name != "random" and r > min(m, n):
        raise ValueError(
            f"init={init_name!r} needs r <= min(m, n) = {min(m, n)}; got r={r}. Use init='random' or a smaller r."
        )
    executor = _executor_for(client)

    starts = np.concatenate(([0], np.cumsum(V.chunks[0])))
    blocks = [RowBlock(i, int(starts[i]), rows) for i, rows in enumerate(V.chunks[0]) if rows > 0]
    with_nndsvd = init_name is not None and init_name != "random"
    layouts, setups, col_counts = _build_layouts(executor, V, mask_blocks, blocks, r, beta, dtype, alpha_W, l1_ratio,
                                                 regularization_scale == "observed", with_nndsvd)  # fmt: skip
    observed_count = sum(count for _, count, _ in setups)
    if observed_count == 0:
        raise ValueError(
            "mask leaves nothing observed: it must have at least one positive weight "
            '(with mask="observed", V at least one stored entry).'
        )
    mean = sum(total for total, _, _ in setups) / observed_count
    warn_if_below_eps(max(largest for _, _, largest in setups), beta)

    if isinstance(init, (tuple, list)):
        W, Ht = _user_init(executor, init, V, blocks, r, dtype)
    elif init_name == "random":
        W, Ht = random_init(executor, blocks, layouts, n, r, rng, mean, dtype)
    else:
        W, Ht = nndsvd_init(executor, blocks, layouts, (m, n), r, init_name, rng, mean, dtype)
        where = executor.locate(layouts, "after NNDSVD initialization")
        layouts = submit_each(executor, "layout-without-init", B.drop_init_data, blocks, where, layouts)

    scale_H = col_counts if regularization_scale == "observed" else np.full(n, m)
    penalties_H = (
        penalty_weights(alpha_H, l1_ratio, scale_H, dtype, "alpha_H"),
        penalty_weights(alpha_H, 1 - l1_ratio, scale_H, dtype, "alpha_H"),
    )

    def to_array(handles):
        by_index = dict(zip((b.index for b in blocks), handles))
        full = [by_index.get(i, np.empty((0, r), dtype=dtype)) for i in range(len(V.chunks[0]))]
        return executor.to_array(full, (V.chunks[0], (r,)), dtype)

    W, Ht, n_iter, converged, history, history_iterations, data_loss = run_distributed_mu(
        executor, blocks, layouts, W, Ht, beta, penalties_H,
        max_iter=max_iter, tol=tol, callback=callback, verbose=verbose, to_array=to_array,
    )  # fmt: skip
    if not converged and n_iter == max_iter and max_iter > 0 and tol > 0:
        warnings.warn(
            f"nmf stopped at max_iter={max_iter} before the objective met tol={tol}; raise max_iter or tol.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return NMFResult(
        W=to_array(W),
        H=np.ascontiguousarray(Ht.T),
        n_iter=n_iter,
        converged=converged,
        loss=float(history[-1]),
        loss_history=history,
        loss_iterations=history_iterations,
        data_loss=float(data_loss),
        beta=beta,
    )


def _executor_for(client):
    """The executor for ``client``: the given or default ``distributed``
    client, or this process when there is none."""
    if client is None:
        try:
            from distributed import default_client
        except ImportError:
            return LocalExecutor()
        try:
            return DaskExecutor(default_client())
        except ValueError:  # no client has been started
            return LocalExecutor()
    try:
        from distributed import Client
    except ImportError:
        raise TypeError("client must be None when the distributed package is not installed.") from None
    if not isinstance(client, Client):
        raise TypeError(
            "client must be a distributed.Client (e.g. Client('tcp://scheduler:8786') or "
            f"Client(LocalCluster())) or None; got {type(client).__name__}."
        )
    return DaskExecutor(client)


def _check_dask_matrix(V):
    if not isinstance(V, da.Array):
        raise TypeError(
            f"V must be a dask.array.Array split by rows; got {type(V).__name__}. For data in memory use "
            "fastnmf.nmf, or split it: dask.array.from_array(V, chunks=(rows_per_block, -1))."
        )
    if V.ndim != 2:
        raise ValueError(f"V must be 2-D (m x n); got a dask array of shape {V.shape}.")
    if any(np.isnan(size) for sizes in V.chunks for size in sizes):
        raise ValueError("V's chunk sizes are unknown (NaN); call V.compute_chunk_sizes() first.")
    if len(V.chunks[1]) != 1:
        raise ValueError(
            f"V must be split by rows only, with all n={V.shape[1]} columns in one chunk; got column chunks "
            f"{V.chunks[1]}. Rechunk it with V.rechunk({{1: -1}}) (rows per block stay as they are)."
        )
    if V.shape[0] == 0 or V.shape[1] == 0:
        raise ValueError(f"V must have at least one row and one column; got shape {V.shape}.")


def _mask_blocks(mask, V):
    """One entry per row block: None, "observed" or a Delayed block of the mask."""
    n_blocks = len(V.chunks[0])
    if mask is None or isinstance(mask, str):
        if isinstance(mask, str) and mask != "observed":
            raise ValueError(f'mask must be None, a dask array or "observed"; got {mask!r}.')
        return [mask] * n_blocks
    if not isinstance(mask, da.Array):
        raise TypeError(
            f'mask must be None, "observed" or a dask.array.Array with V\'s chunks; got {type(mask).__name__}. '
            "Split it like V: dask.array.from_array(mask, chunks=V.chunks)."
        )
    if mask.shape != V.shape:
        raise ValueError(f"mask must have V's shape {V.shape}; got {mask.shape}.")
    if mask.chunks != V.chunks:
        raise ValueError(
            f"mask must have V's chunks {V.chunks}; got {mask.chunks}. Rechunk it with mask.rechunk(V.chunks)."
        )
    return list(mask.to_delayed().ravel())


def _build_layouts(
    executor, V, mask_blocks, blocks, r, beta, dtype, alpha_W, l1_ratio, scale_by_observed, keep_init_data
):
    """Check and lay out every non-empty block where it is computed. Returns
    the handles of the layouts, each block's (observed sum, observed count,
    largest observed entry) and, for the "observed" regularization scale,
    the observed entries per column."""
    V_blocks = V.to_delayed().ravel()
    layouts, where = executor.map_where_computed(
        "layout", B.build_block, [(V_blocks[b.index], mask_blocks[b.index]) for b in blocks],
        r, beta, dtype, alpha_W, l1_ratio, scale_by_observed, keep_init_data,
    )  # fmt: skip
    when = "while building the blocks"
    setups = executor.gather(submit_each(executor, "setup", B.setup_of, blocks, where, layouts), when)
    col_counts = None
    if scale_by_observed:
        counts = submit_each(executor, "col-counts", B.col_counts_of, blocks, where, layouts)
        col_counts = executor.gather(tree_sum(executor, counts, B.add_arrays, "col-counts-sum"), when)
    return layouts, setups, col_counts


def _user_init(executor, init, V, blocks, r, dtype):
    """The user's (W0, H0) as W blocks and Ht, checked and copied."""
    if len(init) != 2:
        raise TypeError(f"init must be a string, None or a (W0, H0) pair of arrays; got {type(init).__name__}.")
    W0, H0 = init
    m, n = V.shape
    Ht = np.ascontiguousarray(_check_factor(H0, "H0", (r, n), dtype).T)
    if isinstance(W0, da.Array):
        if W0.shape != (m, r):
            raise ValueError(f"W0 must have shape {(m, r)} (from V's shape and r); got {W0.shape}.")
        if W0.chunks[0] != V.chunks[0] or len(W0.chunks[1]) != 1:
            raise ValueError(
                f"W0 must have V's row chunks {V.chunks[0]} and one column chunk; got {W0.chunks}. "
                "Rechunk it with W0.rechunk((V.chunks[0], -1))."
            )
        if W0.dtype != dtype:
            raise TypeError(
                f"W0 must have V's working dtype {dtype}; got {W0.dtype}. Cast it with .astype(np.{dtype})."
            )
        W0_blocks = W0.to_delayed().ravel()
        check = dask.delayed(B.check_initial_block, pure=False)
        return executor.compute([check(W0_blocks[b.index], b.rows, r, dtype) for b in blocks]), Ht
    W0 = _check_factor(W0, "W0", (m, r), dtype)
    return executor.put_blocks([W0[b.row_start : b.row_start + b.rows].copy() for b in blocks]), Ht
