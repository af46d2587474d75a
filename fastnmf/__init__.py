"""fastnmf: fast non-negative matrix factorization.

Parallel Numba kernels for dense, sparse (CSR) and masked data under a small
functional API::

    from fastnmf import nmf
    result = nmf(V, r=10, loss="kullback-leibler")
    result.W, result.H

For Dask arrays on a cluster: ``import fastnmf.distributed`` (see
docs/distributed.md).
"""

from ._api import nmf, transform
from ._result import ConvergenceWarning, NMFResult, PerformanceWarning

__version__ = "0.1.0"

__all__ = ["ConvergenceWarning", "NMFResult", "PerformanceWarning", "__version__", "nmf", "transform"]


def __getattr__(name):
    # fastnmf.NMF, the scikit-learn estimator, is imported on first use so that
    # `import fastnmf` does not import scikit-learn (an optional extra).
    if name == "NMF":
        from .estimator import NMF

        return NMF
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
