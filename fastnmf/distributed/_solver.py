"""The multiplicative-update loop over row blocks: :func:`fastnmf._mu.run_mu`
with W's blocks where V's blocks live and H on the driver.

One round trip per iteration t. The driver sends Ht (n x r) to the workers;
each block, from its W_i and Ht after t iterations, computes its share of the
objective at t, its W_i after t + 1 iterations (kept on its worker) and its
share of the H update from that W_i; the shares are summed in a tree on the
workers and the driver receives one n x r numerator, one denominator (n x r,
1 x r, or r x r Gram matrix) and the objective. The objective is evaluated when
the in-memory loop (:mod:`fastnmf._loop`) evaluates it: at t = 0, every 10
iterations, after the last one, and at every iteration when there is a
callback. The driver applies the same stopping rule (every 10 iterations,
with E_t = sqrt(2 objective_t), stop when (E_{t-10} - E_t) / E_0 < tol) and
either keeps W after t iterations (stop) or updates H and goes on. The updates are
those of the in-memory solver, in the same order; only the sums over blocks
add floating-point numbers in another order.
"""


import numpy as np

from .._epsilon import EPS, tiny
from .._losses import mm_exponent
from .._loop import Progress, penalty, read_only
from .._terms import update_factor
from . import _blocks as B
from ._executor import submit_each, tree_sum


def run_distributed_mu(
    executor, blocks, layouts, W, Ht, beta, penalties_H, *, max_iter, tol, callback, verbose, to_array
):
    """Run the updates, with the evaluation schedule and stopping rule of
    :func:`fastnmf._loop.run`. ``W`` holds the handles of the non-empty
    blocks' initial W (in ``blocks`` order), ``Ht`` the initial Ht (n x r,
    never modified).

    Returns ``(W, Ht, n_iter, converged, history, iterations, data_loss)``
    with the handles of the final W blocks and the final Ht.
    """
    states = W  # a block's state: its W, or its last (W_next, parts)
    dtype = Ht.dtype
    gamma = dtype.type(mm_exponent(beta))
    eps = dtype.type(EPS)
    flush = dtype.type(tiny(dtype))
    l1_H, l2_H = penalties_H
    progress = Progress(max_iter=max_iter, tol=tol, callback=callback, verbose=verbose)
    iteration = 0
    while True:
        with_loss = progress.evaluates(iteration)
        when = f"at iteration {iteration}"
        shared_Ht = executor.scatter(Ht, when)
        where = executor.locate(layouts, when)  # each block's tasks run where its layout is
        steps = submit_each(
            executor, f"step-{iteration}", B.block_step, blocks, where, layouts, states, args=(shared_Ht, with_loss)
        )
        parts = submit_each(executor, f"parts-{iteration}", B.second, blocks, where, steps)
        total = executor.gather(tree_sum(executor, parts, B.add_parts, f"sum-{iteration}"), when)
        del parts, shared_Ht
        if with_loss:
            progress.record(iteration, total.data_loss + total.penalty_W + penalty(Ht, l1_H, l2_H), total.data_loss)
        W_now = None
        if iteration > 0 and callback is not None:
            W_now = to_array(_current_W(executor, blocks, states, where, f"W-{iteration}"))
        if progress.should_stop(iteration, W_now, read_only(Ht.T)):
            break
        Ht = _update_H(Ht, total, l1_H, l2_H, gamma, eps, flush)
        states = steps
        iteration += 1
    W = _current_W(executor, blocks, states, executor.locate(layouts), f"W-{iteration}")
    return (W, Ht, iteration, *progress.results())


def _current_W(executor, blocks, states, where, key):
    return submit_each(executor, key, B.current_W, blocks, where, states)


def _update_H(Ht, total, l1_H, l2_H, gamma, eps, flush):
    """Ht after the H update, from the summed shares (a new array)."""
    num = B.aligned(total.num) if total.num is not None else np.zeros_like(Ht)
    den = B.aligned(total.den) if total.den is not None else None
    if total.gram is not None:
        gram_den = Ht @ B.aligned(total.gram)
        den = gram_den if den is None else den + gram_den
    if den is None:
        den = np.zeros((1, Ht.shape[1]), dtype=Ht.dtype)
    Ht_next = Ht.copy()
    update_factor(
        Ht_next,
        np.ascontiguousarray(num, dtype=Ht.dtype),
        np.ascontiguousarray(den, dtype=Ht.dtype),
        l1_H, l2_H, gamma, eps, flush,
    )  # fmt: skip
    return Ht_next
