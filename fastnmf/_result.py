"""What a fit returns."""

from dataclasses import dataclass, field

import numpy as np


class ConvergenceWarning(UserWarning):
    """A fit stopped at ``max_iter`` before meeting its tolerance."""


class PerformanceWarning(UserWarning):
    """Something outside the fit will make it run much slower than it needs
    to (the message says what, and how to avoid it)."""


@dataclass(frozen=True, eq=False)
class NMFResult:
    """The result of :func:`fastnmf.nmf`.

    Attributes
    ----------
    W : ndarray of shape (m, r)
        The non-negative left factor (e.g. documents x topics).
    H : ndarray of shape (r, n)
        The non-negative right factor (e.g. topics x terms).
    n_iter : int
        Number of iterations run.
    converged : bool
        Whether the stopping rule was met before ``max_iter``.
    loss : float
        The final objective: the beta-divergence (weighted by the mask if
        any) plus the regularization penalties.
    loss_history : ndarray
        The objective before the first iteration, every 10 iterations, after
        the last one, and after every iteration when the fit had a callback.
    loss_iterations : ndarray of int
        After how many iterations each value of ``loss_history`` was taken.
    data_loss : float
        The final beta-divergence alone, without the penalties.
    beta : float
        The beta of the loss.
    """

    W: np.ndarray
    H: np.ndarray
    n_iter: int
    converged: bool
    loss: float
    loss_history: np.ndarray = field(repr=False)
    loss_iterations: np.ndarray = field(repr=False, default=None)
    data_loss: float = 0.0
    beta: float = 2.0

    @property
    def reconstruction_err(self):
        """sqrt(2 * data_loss), as scikit-learn's ``reconstruction_err_``
        (for the Frobenius loss, ||V - WH||_F)."""
        return float(np.sqrt(2.0 * max(self.data_loss, 0.0)))

    def __repr__(self):
        m, r = self.W.shape
        n = self.H.shape[1]
        return (
            f"NMFResult(W: {m}x{r}, H: {r}x{n}, dtype={self.W.dtype}, n_iter={self.n_iter}, "
            f"converged={self.converged}, loss={self.loss:.6g})"
        )
