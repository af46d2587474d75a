"""Solvers side by side for the Frobenius loss (``fastnmf.nmf(solver=...)``):
a fixed number of iterations, its time, peak memory and the loss it reaches.
Iterations of different solvers cost different amounts and gain different
amounts, so compare ``track_loss`` beside ``time_fit``.

Skipped while ``fastnmf.nmf`` has no ``solver`` parameter; a solver that
``nmf`` rejects is skipped too.
"""

import numpy as np

import fastnmf

from .common import (
    DTYPES,
    LAYOUTS,
    RANKS,
    SIZES,
    THREADS,
    ThreadSetting,
    accepts,
    data,
    initial_factors,
    restore_threads,
)

SOLVERS = ["mu", "amu", "hals", "ehals"]
ITERATIONS = 10


class _SolverFit:
    """``ITERATIONS`` iterations of one solver (``tol=0``) from a fixed (W0, H0)."""

    timeout = 120

    def setup(self, size, solver, layout, dtype, r, n_threads=1):
        if not accepts(fastnmf.nmf, "solver"):
            raise NotImplementedError("fastnmf.nmf has no solver= parameter yet")
        self.threads = ThreadSetting(n_threads)
        self.V = data(layout, size, dtype)
        self.kwargs = dict(
            solver=solver,
            loss="frobenius",
            init=initial_factors(self.V, r),
            max_iter=ITERATIONS,
            tol=0.0,
            n_threads=n_threads,
        )
        try:
            self.result = self.fit()
        except (TypeError, ValueError) as error:
            restore_threads(self)
            raise NotImplementedError(f"solver={solver!r} not available: {error}") from error

    def teardown(self, *params):
        restore_threads(self)

    def fit(self):
        return fastnmf.nmf(self.V, r=self.kwargs["init"][0].shape[1], **self.kwargs)


class SolverTime(_SolverFit):
    """Time of the fit."""

    params = [SIZES, SOLVERS, LAYOUTS, DTYPES, RANKS, THREADS]
    param_names = ["size", "solver", "layout", "dtype", "r", "n_threads"]

    def time_fit(self, *params):
        self.fit()


class SolverLoss(_SolverFit):
    """The loss after the fit: with time_fit, how much an iteration buys."""

    params = [SIZES, SOLVERS, LAYOUTS, DTYPES, RANKS]
    param_names = ["size", "solver", "layout", "dtype", "r"]

    def track_loss(self, *params):
        return self.result.loss

    track_loss.unit = "objective"


class SolverMemory(_SolverFit):
    """Peak memory of a process that fits (at the larger rank)."""

    params = [SIZES, SOLVERS, LAYOUTS, DTYPES]
    param_names = ["size", "solver", "layout", "dtype"]

    def setup(self, size, solver, layout, dtype):
        super().setup(size, solver, layout, dtype, max(RANKS))

    def peakmem_fit(self, *params):
        self.fit()


class DenseOrderFit:
    """A short fit (the default solver, ``ITERATIONS`` iterations) of a dense
    V given in C or in Fortran order, as a pandas DataFrame's values come:
    the fit copies a Fortran-ordered V to C order and reads its transpose as
    it is, so the two should take about as long and as much memory."""

    params = [SIZES, ["C", "F"], DTYPES, RANKS]
    param_names = ["size", "order", "dtype", "r"]
    timeout = 120

    def setup(self, size, order, dtype, r):
        V = data("dense", size, dtype)
        self.V = np.asfortranarray(V) if order == "F" else np.ascontiguousarray(V)
        self.kwargs = dict(init=initial_factors(V, r), max_iter=ITERATIONS, tol=0.0, n_threads=1)
        self.fit()  # compiles (or loads) the kernels

    def fit(self):
        return fastnmf.nmf(self.V, r=self.kwargs["init"][0].shape[1], **self.kwargs)

    def time_fit(self, *params):
        self.fit()

    def peakmem_fit(self, *params):
        self.fit()
