"""Where the block tasks run: on a Dask cluster through a ``distributed``
client, or in this process, one block after another, when there is none.

Both executors offer the same few operations, so that the solver is written
once and gives the same numbers either way:

- ``submit(key, fn, *args, where)``: run ``fn`` on blocks (handles) and small
  values, on the worker ``where`` if given;
- ``locate(handles)``: where each handle lives now;
- ``scatter(value)``: send a value every block task will read (Ht);
- ``gather(handles, when)``: bring small results back to the driver;
- ``map_where_computed(key, fn, blocks, *args)``: compute V's blocks and run
  ``fn`` on each where it is (the layouts), spread evenly over the workers;
- ``compute(delayed_objects)``: run Dask graphs (a Dask W0) into handles;
- ``put_blocks(arrays)``: send blocks the driver holds (a NumPy W0);
- ``to_array(handles, chunks, dtype)``: the row blocks as a Dask array.

A handle is a ``distributed.Future`` on a cluster and the value itself here.
"""

import uuid
from concurrent.futures import CancelledError
from contextlib import contextmanager

import numpy as np


class WorkerLostError(RuntimeError):
    """A Dask worker died holding blocks of W that cannot be recomputed.

    Each iteration of W depends on the H of the iteration before, which is
    not kept, so Dask cannot replay the lost blocks. The fit is deterministic
    for a given V chunking and ``random_state``: running it again gives the
    same result.
    """


@contextmanager
def _worker_loss_as_error(when):
    """Dask's errors for data lost with a worker, as :class:`WorkerLostError`."""
    from distributed import KilledWorker
    from distributed.comm import CommClosedError

    try:
        yield
    except (CancelledError, KilledWorker, CommClosedError) as error:
        raise WorkerLostError(
            f"a Dask worker was lost {when}, with blocks of W that cannot be recomputed (each "
            "iteration depends on the previous H, which is not kept). The fit is deterministic: "
            f"run it again to get the same result. Dask said: {error!r}"
        ) from error


class LocalExecutor:
    """No cluster: every task runs at once, here (Numba uses all threads)."""

    def scatter(self, value, when=""):
        return value

    def submit(self, key, fn, *args, where=None):
        return fn(*args)

    def locate(self, handles, when=""):
        return [None] * len(handles)

    def gather(self, handles, when):
        return handles

    def put_blocks(self, blocks):
        return list(blocks)

    def compute(self, delayed_objects):
        import dask

        return list(dask.compute(*delayed_objects))

    def map_where_computed(self, key, fn, blocks, *args):
        """``fn(*block, *args)`` for each tuple of Delayed (or plain) values in
        ``blocks``, computed one block at a time. Returns the results and
        where each is (None: here)."""
        import dask

        return [fn(*dask.compute(*block), *args) for block in blocks], [None] * len(blocks)

    def to_array(self, blocks, chunks, dtype):
        import dask.array as da

        rows, (r,) = chunks
        stacked = np.concatenate(blocks) if blocks else np.empty((0, r), dtype=dtype)
        return da.from_array(np.ascontiguousarray(stacked, dtype=dtype), chunks=chunks)


class DaskExecutor:
    """Tasks on a ``distributed`` cluster. Every key starts with this fit's
    own prefix, so that several fits can share a cluster."""

    def __init__(self, client):
        self.client = client
        self.prefix = f"fastnmf-{uuid.uuid4().hex[:12]}"

    def _key(self, key):
        return f"{self.prefix}-{key}"

    def scatter(self, value, when=""):
        """Send ``value`` to one worker, from which the others fetch it.

        Scattered data has no lineage: once the driver lets go of an
        iteration's Ht, Dask forgets it, and the blocks computed from it can
        no longer be recomputed. That bounds what the scheduler keeps (a
        value inlined into the tasks would stay in its graph, every
        iteration's, for as long as the fit runs) and makes a lost block of
        W an error (:class:`WorkerLostError`) rather than a replay.
        """
        with _worker_loss_as_error(when):
            return self.client.scatter(value, hash=False)

    def submit(self, key, fn, *args, where=None):
        """Run ``fn(*args)`` as a task; with ``where`` (an address from
        :meth:`locate`), only on that worker, so that the scheduler never
        moves a block's layout and state to another worker (work stealing
        would, for tasks it thinks cheap to move)."""
        restrictions = {"workers": [where], "allow_other_workers": False} if where is not None else {}
        return self.client.submit(fn, *args, key=self._key(key), pure=False, retries=0, **restrictions)

    def locate(self, handles, when=""):
        """The worker that holds each handle now, or None (not computed yet,
        or being recomputed after a worker was lost)."""
        with _worker_loss_as_error(when):
            holders = self.client.who_has(handles)
        return [next(iter(sorted(holders.get(h.key, ()))), None) for h in handles]

    def gather(self, handles, when):
        with _worker_loss_as_error(when):
            return self.client.gather(handles)

    def put_blocks(self, blocks):
        """Send blocks of W0 to the workers (round robin; each moves to its
        block of V at the first iteration)."""
        return self.client.scatter(list(blocks), hash=False)

    def compute(self, delayed_objects):
        return self.client.compute(list(delayed_objects))

    def map_where_computed(self, key, fn, blocks, *args):
        """``fn(*block, *args)`` for each tuple of Delayed (or plain) values in
        ``blocks``, as a pinned task (left to itself, the scheduler may run it
        anywhere and move blocks about). Tasks start as blocks are computed;
        each block is freed once its task is done.

        A block's task runs where the block was computed, unless that worker
        already has its share, ceil(blocks / workers), of the tasks: then on
        the worker with the fewest (the block moves there once). So the
        results spread evenly over the workers whatever the placement of V.
        """
        import math

        from distributed import as_completed

        workers = sorted(self.client.scheduler_info()["workers"])
        share = math.ceil(len(blocks) / max(len(workers), 1))
        assigned = dict.fromkeys(workers, 0)
        pending = {}
        firsts = []
        for index, block in enumerate(blocks):
            values = [self.client.compute(value) if hasattr(value, "__dask_graph__") else value for value in block]
            pending[values[0].key] = (index, values)
            firsts.append(values[0])
        results = [None] * len(blocks)
        places = [None] * len(blocks)
        with _worker_loss_as_error("while computing the blocks of V"), self.client.as_current():
            completed = as_completed(firsts)
            del firsts  # a raw block is freed as soon as its task is done
            for first in completed:
                index, values = pending.pop(first.key)
                (where,) = self.locate([first])
                if where not in assigned or assigned[where] >= share:
                    where = min(assigned, key=assigned.get) if assigned else where
                if where is not None:
                    assigned[where] = assigned.get(where, 0) + 1
                results[index] = self.submit(f"{key}-{index}", fn, *values, *args, where=where)
                places[index] = where
        return results, places

    def to_array(self, blocks, chunks, dtype):
        """A Dask array whose chunks are the futures ``blocks`` (numpy arrays
        for empty blocks): the data stays on the workers."""
        import dask.array as da

        name = self._key(f"array-{uuid.uuid4().hex[:8]}")
        graph = {(name, i, 0): block for i, block in enumerate(blocks)}
        return da.Array(graph, name, chunks=chunks, meta=np.empty((0, 0), dtype=dtype))


# Sums over blocks are added in a fixed tree of this fan-in, in block order.
FAN_IN = 8


def tree_sum(executor, handles, add, key):
    """The sum of ``handles`` (in their order) by ``add(*handles)`` tasks in a
    tree of fan-in :data:`FAN_IN`: on a cluster the partial sums are made on
    the workers and only the total comes back to the driver. The order of the
    additions depends only on the number of blocks, never on where they live."""
    level = 0
    while len(handles) > 1:
        handles = [
            executor.submit(f"{key}-{level}-{start}", add, *handles[start : start + FAN_IN])
            for start in range(0, len(handles), FAN_IN)
        ]
        level += 1
    return handles[0]


def submit_each(executor, key, fn, blocks, where, *columns, args=()):
    """For each block i, ``fn(columns[0][i], columns[1][i], ..., *args)`` as
    the task ``{key}-{block index}`` on the worker ``where[i]``."""
    return [
        executor.submit(f"{key}-{block.index}", fn, *(column[i] for column in columns), *args, where=where[i])
        for i, block in enumerate(blocks)
    ]
