"""``fastnmf.nmf`` by multiplicative updates: every layout (dense, CSR), loss
and dtype, at two ranks, with the thread count as a parameter."""

import fastnmf

from .common import (
    DTYPES,
    LAYOUTS,
    LOSSES,
    RANKS,
    SIZES,
    THREADS,
    ThreadSetting,
    data,
    initial_factors,
    iterations,
    mu_solver,
    restore_threads,
    skip_unless_applicable,
)


class _Fit:
    """A fixed number of MU iterations (``tol=0``) from a fixed (W0, H0)."""

    timeout = 120

    def setup(self, size, layout, loss, dtype, r, n_threads=1):
        skip_unless_applicable(layout, loss)
        self.threads = ThreadSetting(n_threads)
        self.V = data(layout, size, dtype)
        self.kwargs = dict(
            loss=loss,
            init=initial_factors(self.V, r),
            max_iter=iterations(layout, loss),
            tol=0.0,
            n_threads=n_threads,
            **mu_solver(),
        )
        self.result = self.fit()  # compiles (or loads) the kernels

    def teardown(self, *params):
        restore_threads(self)

    def fit(self):
        return fastnmf.nmf(self.V, r=self.kwargs["init"][0].shape[1], **self.kwargs)


class NMFTime(_Fit):
    """Time of a fixed number of MU iterations."""

    params = [SIZES, LAYOUTS, LOSSES, DTYPES, RANKS, THREADS]
    param_names = ["size", "layout", "loss", "dtype", "r", "n_threads"]

    def time_fit(self, *params):
        self.fit()


class NMFLoss(_Fit):
    """The loss a fit reaches (the same for any number of threads)."""

    params = [SIZES, LAYOUTS, LOSSES, DTYPES, RANKS]
    param_names = ["size", "layout", "loss", "dtype", "r"]

    def track_loss(self, *params):
        return self.result.loss

    track_loss.unit = "objective"


class NMFMemory(_Fit):
    """Peak memory of a process that fits (at the larger rank; memory is
    O(nnz + (m + n) r) beyond V for sparse V)."""

    params = [SIZES, LAYOUTS, LOSSES, DTYPES]
    param_names = ["size", "layout", "loss", "dtype"]

    def setup(self, size, layout, loss, dtype):
        super().setup(size, layout, loss, dtype, max(RANKS))

    def peakmem_fit(self, *params):
        self.fit()


LATE_START = 200  # MU iterations before the timed ones: on the sparse matrix, float32 entries near 1e-38 by then


class NMFLateTime(_Fit):
    """Time of the same MU iterations as :class:`NMFTime`, from the factors
    of a fit LATE_START iterations in, where some float32 entries have
    decayed to just above the smallest normal number (a few thousand on the
    "small" matrix). Their products with each other are subnormal, which
    Intel processors handle slowly unless the kernels take them as zero
    (rule 4 of the epsilon policy, fastnmf._epsilon): this tracks that late
    iterations stay as fast as early ones."""

    params = [SIZES, ["csr"], ["kullback-leibler", 1.5], ["float32"], [10], THREADS]
    param_names = ["size", "layout", "loss", "dtype", "r", "n_threads"]

    def setup(self, size, layout, loss, dtype, r, n_threads=1):
        super().setup(size, layout, loss, dtype, r, n_threads)
        start = dict(self.kwargs, max_iter=LATE_START)
        late = fastnmf.nmf(self.V, r=r, **start)
        self.kwargs["init"] = (late.W, late.H)

    def time_fit(self, *params):
        self.fit()
