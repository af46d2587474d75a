"""NMF of Dask arrays split by rows, on a Dask cluster.

An explicit import, so that Dask stays optional for :mod:`fastnmf`::

    import fastnmf.distributed
    from distributed import Client

    client = Client("tcp://scheduler:8786")        # or Client(LocalCluster())
    result = fastnmf.distributed.nmf(V, r=20, loss="kullback-leibler", client=client)
    result.W   # dask array, blocks on the workers
    result.H   # numpy array

:func:`nmf` has the semantics of :func:`fastnmf.nmf`; see
``docs/distributed.md`` for how it runs and what moves over the network.
Needs ``dask[array]`` and, for a cluster, ``distributed``
(``pip install "fastnmf[dask]"``).
"""

try:
    import dask.array  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        'fastnmf.distributed needs dask: pip install "fastnmf[dask]" (dask[array] and distributed).'
    ) from error

from ._api import nmf
from ._executor import WorkerLostError

__all__ = ["WorkerLostError", "nmf"]
