"""``fastnmf.transform``: W for new rows with H fixed (fold-in)."""

import fastnmf

from .common import (
    DTYPES,
    LAYOUTS,
    LOSSES,
    SIZES,
    THREADS,
    ThreadSetting,
    data,
    initial_factors,
    iterations,
    restore_threads,
    skip_unless_applicable,
)

RANK = 20


class Transform:
    """A fixed number of W updates (``tol=0``) against a fixed H."""

    params = [SIZES, LAYOUTS, LOSSES, DTYPES, THREADS]
    param_names = ["size", "layout", "loss", "dtype", "n_threads"]
    timeout = 120

    def setup(self, size, layout, loss, dtype, n_threads):
        skip_unless_applicable(layout, loss)
        self.threads = ThreadSetting(n_threads)
        self.V = data(layout, size, dtype)
        _, self.H = initial_factors(self.V, RANK)
        self.kwargs = dict(loss=loss, max_iter=iterations(layout, loss), tol=0.0, n_threads=n_threads)
        self.W = self.transform()

    def teardown(self, *params):
        restore_threads(self)

    def transform(self):
        return fastnmf.transform(self.V, self.H, **self.kwargs)

    def time_transform(self, *params):
        self.transform()
