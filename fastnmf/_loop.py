"""The iteration loop shared by every solver: objective history, callback and
the stopping rule.

Stopping rule (scikit-learn's for its MU solver): every
:data:`CHECK_EVERY` iterations, with E_t = sqrt(2 * objective after t
iterations), stop when (E_{t-10} - E_t) / E_0 < tol. ``tol=0`` runs exactly
``max_iter`` iterations; ``max_iter=0`` returns the initial factors.

A solver supplies two steps (see :mod:`fastnmf._mu`, :mod:`fastnmf._hals`):
``prepare(W, Ht)`` computes what the W update needs and returns the data
term of the objective at the current factors (so the objective costs almost
nothing extra: it reuses the products of the update), and ``update(W, Ht)``
updates W, then H, in place.
"""

import time

import numpy as np

CHECK_EVERY = 10


def penalty(A, l1, l2):
    """sum_i l1_i ||A_i||_1 + 0.5 l2_i ||A_i||^2 over the rows A_i of A."""
    if not (l1.any() or l2.any()):
        return 0.0
    A64 = A.astype(np.float64, copy=False)
    return float(l1 @ A64.sum(axis=1) + 0.5 * (l2 @ np.einsum("ik,ik->i", A64, A64)))


def read_only(A):
    view = A.view()
    view.flags.writeable = False
    return view


def run(steps, W, Ht, penalties, *, max_iter, tol, update_H=True, callback=None, verbose=False):
    """Iterate ``steps`` on W and Ht (in place).

    ``penalties`` is ``(l1_W, l2_W, l1_H, l2_H)``, arrays of one weight per
    row of W and of Ht. Returns ``(n_iter, converged, history, data_loss)``:
    history[t] is the objective after t iterations.
    """
    l1_W, l2_W, l1_H, l2_H = penalties
    history = []
    converged = False
    started = time.perf_counter()
    iteration = 0
    while True:
        data_loss = steps.prepare(W, Ht)
        loss = data_loss + penalty(W, l1_W, l2_W) + (penalty(Ht, l1_H, l2_H) if update_H else 0.0)
        history.append(loss)
        if verbose and iteration % CHECK_EVERY == 0:
            print(f"iteration {iteration:5d}  loss {loss:.6e}  time {time.perf_counter() - started:.3f}s")
        if iteration > 0 and callback is not None:
            if callback(iteration, read_only(W), read_only(Ht.T), loss):
                break
        if iteration == 0 and loss == 0.0 and max_iter > 0:
            converged = True  # an exact fit: nothing left to decrease
            break
        if iteration > 0 and iteration % CHECK_EVERY == 0 and tol > 0:
            drop = np.sqrt(2 * history[-1 - CHECK_EVERY]) - np.sqrt(2 * loss)
            if drop / np.sqrt(2 * history[0]) < tol:
                converged = True
                break
        if iteration == max_iter:
            break
        steps.update(W, Ht)
        iteration += 1
    return iteration, converged, np.asarray(history), data_loss
