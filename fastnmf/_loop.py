"""The iteration loop shared by every solver: objective history, callback and
the stopping rule.

Stopping rule (scikit-learn's for its MU solver): every
:data:`CHECK_EVERY` iterations, with E_t = sqrt(2 * objective after t
iterations), stop when (E_{t-10} - E_t) / E_0 < tol. ``tol=0`` runs exactly
``max_iter`` iterations; ``max_iter=0`` returns the initial factors.

The objective is evaluated before the first iteration, every
:data:`CHECK_EVERY` iterations, after the last one, and after every iteration
when there is a callback. Its data term is computed in the same pass as the W
update's products, so for the Frobenius loss it costs only two r x r Gram
matrices in float64 and a pass over W and V H^T (0.3-0.4 ms on the 0.5M
matrix at r = 10 in float32, a sixth of an MU iteration or less; a square per
observed entry when masked: the kernel about 7% more); for
other losses it needs a logarithm or a power per entry, which would add
to every iteration if done every time (Kullback-Leibler on the 0.5M
matrix, r = 10: the W-side kernel about 40% more, masked or not, in a
vectorized loop; the general path of other beta two to three times as
much).

A solver supplies two steps (see :mod:`fastnmf._mu`, :mod:`fastnmf._hals`):
``prepare(W, Ht, with_loss)`` computes what the W update needs and, with
``with_loss``, returns the data term of the objective at the current factors
(else None); ``update(W, Ht)`` updates W, then H, in place.
"""

import time

import numpy as np

CHECK_EVERY = 10


def penalty(A, l1, l2):
    """sum_i l1_i ||A_i||_1 + 0.5 l2_i ||A_i||^2 over the rows A_i of A."""
    if not (l1.any() or l2.any()):
        return 0.0
    A64 = A.astype(np.float64, copy=False)
    # einsum, not @: no multithreaded BLAS call during the iterations (see _kernels/gram.py)
    return float(np.einsum("i,i->", l1, A64.sum(axis=1)) + 0.5 * np.einsum("i,ik,ik->", l2, A64, A64))


def read_only(A):
    view = A.view()
    view.flags.writeable = False
    return view


class Progress:
    """The objective's history, the evaluation schedule, the stopping rule and
    ``verbose`` printing: what every solver loop (in memory or distributed)
    shares."""

    def __init__(self, *, max_iter, tol, callback=None, verbose=False):
        self.max_iter = max_iter
        self.tol = tol
        self.callback = callback
        self.verbose = verbose
        self.history, self.iterations = [], []
        self.evaluated = {}
        self.data_loss = None
        self.converged = False
        self.started = time.perf_counter()

    def evaluates(self, iteration):
        """Whether the objective is computed after ``iteration`` iterations."""
        return iteration % CHECK_EVERY == 0 or iteration == self.max_iter or self.callback is not None

    def record(self, iteration, loss, data_loss):
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"the objective became {loss} after {iteration} iterations: the factors over- or underflowed the "
                "working dtype (from V's scale, the start's, alpha's, or an extreme beta). Rescale V (e.g. "
                "V / V.max()), or use float64 if V is float32."
            )
        self.history.append(loss)
        self.iterations.append(iteration)
        self.evaluated[iteration] = loss
        self.data_loss = data_loss
        if self.verbose and iteration % CHECK_EVERY == 0:
            print(f"iteration {iteration:5d}  loss {loss:.6e}  time {time.perf_counter() - self.started:.3f}s")

    def should_stop(self, iteration, W, H):
        """After the objective of ``iteration`` was recorded (if scheduled):
        True when the callback asks to stop, the fit is exact or converged,
        or ``max_iter`` is reached. Sets :attr:`converged`."""
        loss = self.evaluated.get(iteration)
        if iteration > 0 and self.callback is not None:
            if self.callback(iteration, W, H, loss):
                return True
        if iteration == 0 and loss == 0.0 and self.max_iter > 0:
            self.converged = True  # an exact fit: nothing left to decrease
            return True
        if iteration > 0 and iteration % CHECK_EVERY == 0 and self.tol > 0:
            drop = np.sqrt(2 * self.evaluated[iteration - CHECK_EVERY]) - np.sqrt(2 * loss)
            if drop / np.sqrt(2 * self.evaluated[0]) < self.tol:
                self.converged = True
                return True
        return iteration == self.max_iter

    def results(self):
        """``(converged, history, iterations, data_loss)``."""
        return self.converged, np.asarray(self.history), np.asarray(self.iterations), self.data_loss


def run(steps, W, Ht, penalties, *, max_iter, tol, update_H=True, callback=None, verbose=False):
    """Iterate ``steps`` on W and Ht (in place).

    ``penalties`` is ``(l1_W, l2_W, l1_H, l2_H)``, arrays of one weight per
    row of W and of Ht. ``steps.update(W, Ht)`` returns the updated pair,
    the same arrays or new ones (the masked sparse update writes each
    factor's new rows to an array of its own); the final pair is copied
    into W and Ht. Returns ``(n_iter, converged, history, iterations,
    data_loss)``: history[i] is the objective after iterations[i]
    iterations, and data_loss the final objective without penalties.
    """
    l1_W, l2_W, l1_H, l2_H = penalties
    progress = Progress(max_iter=max_iter, tol=tol, callback=callback, verbose=verbose)
    given = W, Ht
    iteration = 0
    while True:
        with_loss = progress.evaluates(iteration)
        data_loss = steps.prepare(W, Ht, with_loss)
        if with_loss:
            loss = data_loss + penalty(W, l1_W, l2_W) + (penalty(Ht, l1_H, l2_H) if update_H else 0.0)
            progress.record(iteration, loss, data_loss)
        if progress.should_stop(iteration, read_only(W), read_only(Ht.T)):
            break
        W, Ht = steps.update(W, Ht)
        iteration += 1
    for final, array in zip((W, Ht), given):
        if final is not array:
            np.copyto(array, final)
    return (iteration, *progress.results())
