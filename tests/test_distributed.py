"""fastnmf.distributed.nmf on a Dask cluster of 2 worker processes equals
fastnmf.nmf (multiplicative updates) from the same start.

Tolerance: the H update and the objective are sums over row blocks, added in
another order than the in-memory solver adds them, and BLAS products of a
block may round differently from those of the whole matrix. From the same
start the factors agree to about 1e-14 relative in float64 after 12 to 60
iterations; the tests ask for rtol 1e-9 (1e-4 in float32). Two distributed
fits with the same chunking agree bit for bit, wherever the blocks live.

The cluster (2 worker processes) starts once for the module, in a few
seconds; the last test kills a worker, which its nanny then restarts.
"""

import os
import signal
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import fastnmf  # noqa: E402
import fastnmf.distributed  # noqa: E402
from fastnmf.distributed import WorkerLostError  # noqa: E402

# Harmless warnings a LocalCluster may emit on a busy or shared machine.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning"),
    pytest.mark.filterwarnings("ignore:Creating scratch directories is taking a surprisingly long time:UserWarning"),
]

RTOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-4}
ATOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}

# Uneven row chunks with empty ones, of a 40-row matrix.
ROW_CHUNKS = (7, 0, 17, 1, 15, 0)


@pytest.fixture(scope="module")
def client():
    """A cluster of 2 worker processes, not the default client (so that
    client=None runs in this process)."""
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, memory_limit="1GiB"
    )
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


def data(dtype=np.float64, seed=0, shape=(40, 15), density=0.5):
    rng = np.random.default_rng(seed)
    V = rng.random(shape)
    V[rng.random(shape) > density] = 0
    return V.astype(dtype)


def start(shape, r, dtype=np.float64, seed=1):
    rng = np.random.default_rng(seed)
    m, n = shape
    return rng.random((m, r)).astype(dtype), rng.random((r, n)).astype(dtype)


def split(X, chunks=ROW_CHUNKS):
    return da.from_array(X, chunks=(chunks, -1), asarray=not sp.issparse(X))


def gathered(W, client):
    """W's blocks are futures of ``client`` (not the default client here)."""
    return W.compute(scheduler=client) if client is not None else W.compute()


def assert_same_fit(result, reference, client):
    dtype = reference.W.dtype
    rtol, atol = RTOL[dtype], ATOL[dtype]
    assert isinstance(result.W, da.Array) and isinstance(result.H, np.ndarray)
    W = gathered(result.W, client)
    assert W.dtype == dtype and result.H.dtype == dtype
    np.testing.assert_allclose(W, reference.W, rtol=rtol, atol=atol)
    np.testing.assert_allclose(result.H, reference.H, rtol=rtol, atol=atol)
    np.testing.assert_allclose(result.loss_history, reference.loss_history, rtol=rtol)
    np.testing.assert_array_equal(result.loss_iterations, reference.loss_iterations)
    assert (result.n_iter, result.converged) == (reference.n_iter, reference.converged)
    assert result.data_loss == pytest.approx(reference.data_loss, rel=rtol)


def _mask_with_unobserved_block(shape):
    """Random weights, and nothing observed in row 24 (the 1-row chunk of
    ROW_CHUNKS)."""
    rng = np.random.default_rng(2)
    mask = rng.random(shape) < 0.7
    mask[24:25] = False
    return mask


CASES = [
    ("dense", None),
    ("dense", "dense-mask"),
    ("sparse", None),
    ("sparse", "observed"),
]


@pytest.mark.parametrize("loss", ["frobenius", "kullback-leibler"])
@pytest.mark.parametrize(("layout", "masking"), CASES)
def test_equals_in_memory_from_same_start(client, layout, masking, loss):
    V = data()
    V[24] = 0  # the 1-row chunk: no stored entry (with mask="observed", nothing observed)
    mask, mask_dask = None, None
    if masking == "dense-mask":
        mask = _mask_with_unobserved_block(V.shape)
        V = np.where(mask, V, np.nan)  # unobserved entries may hold NaN
        mask_dask = split(mask)
    elif masking == "observed":
        mask = mask_dask = "observed"
    if layout == "sparse":
        V = sp.csr_array(V)
    W0, H0 = start(V.shape, 3)
    options = dict(loss=loss, init=(W0, H0), max_iter=12, tol=0.0)
    reference = fastnmf.nmf(V, 3, mask=mask, solver="mu", **options)
    result = fastnmf.distributed.nmf(split(V), 3, mask=mask_dask, client=client, **options)
    assert_same_fit(result, reference, client)
    assert result.W.chunks[0] == ROW_CHUNKS


def test_dense_frobenius_with_numba_products_equals_in_memory(client):
    """At r = 5 a dense Frobenius block of four rows or more makes both
    products with Numba (fastnmf._terms.numba_product), the 1-row block with
    BLAS: the same fit as in memory."""
    from fastnmf._terms import row_dots_take

    V = data()
    assert row_dots_take(min(ROW_CHUNKS[0], V.shape[1]), 5) and not row_dots_take(1, 5)
    W0, H0 = start(V.shape, 5)
    options = dict(init=(W0, H0), max_iter=12, tol=0.0)
    reference = fastnmf.nmf(V, 5, solver="mu", **options)
    assert_same_fit(fastnmf.distributed.nmf(split(V), 5, client=client, **options), reference, client)


def test_convergence_regularization_and_float32_as_in_memory(client):
    V = data(np.float32, seed=3)
    mask = np.random.default_rng(4).random(V.shape) < 0.8
    W0, H0 = start(V.shape, 4, np.float32)
    options = dict(
        loss=1.5, init=(W0, H0), max_iter=60, tol=1e-3, alpha_W=0.01, alpha_H=0.02, l1_ratio=0.3,
        regularization_scale="observed",
    )  # fmt: skip
    reference = fastnmf.nmf(V, 4, mask=mask, solver="mu", **options)
    result = fastnmf.distributed.nmf(split(V), 4, mask=split(mask), client=client, **options)
    assert reference.converged
    assert_same_fit(result, reference, client)


def test_runs_in_this_process_without_a_client():
    V = sp.csr_array(data(seed=5))
    W0, H0 = start(V.shape, 2)
    options = dict(loss="kullback-leibler", init=(W0, H0), max_iter=15, tol=0.0)
    reference = fastnmf.nmf(V, 2, solver="mu", **options)
    assert_same_fit(fastnmf.distributed.nmf(split(V), 2, **options), reference, None)


def test_dask_W0_and_random_init_do_not_depend_on_chunking(client):
    V = data(seed=6, shape=(30, 12))
    W0, H0 = start(V.shape, 3)
    from_numpy = fastnmf.distributed.nmf(split(V, (10, 20)), 3, init=(W0, H0), max_iter=5, tol=0, client=client)
    from_dask = fastnmf.distributed.nmf(
        split(V, (10, 20)), 3, init=(da.from_array(W0, chunks=((10, 20), -1)), H0), max_iter=5, tol=0, client=client
    )
    np.testing.assert_array_equal(gathered(from_dask.W, client), gathered(from_numpy.W, client))
    one = fastnmf.distributed.nmf(split(V, (30,)), 3, init="random", random_state=7, max_iter=0, client=client)
    three = fastnmf.distributed.nmf(split(V, (4, 0, 26)), 3, init="random", random_state=7, max_iter=0, client=client)
    np.testing.assert_array_equal(gathered(one.W, client), gathered(three.W, client))
    np.testing.assert_array_equal(one.H, three.H)


@pytest.mark.parametrize("scale", [1.0, 4.0**20], ids=["moderate", "large"])  # 4^20: zero threshold and fill scaled
@pytest.mark.parametrize(("init", "layout"), [("nndsvd", "dense"), ("nndsvda", "dense"), ("nndsvda", "observed")])
def test_nndsvd_equals_in_memory_when_the_range_is_exact(client, init, layout, scale):
    # r + 10 >= n: the randomized SVD spans the whole row space, so it is exact.
    V = data(seed=8, shape=(30, 10)) * scale
    mask = None
    if layout == "observed":
        V, mask = sp.csr_array(V), "observed"
    reference = fastnmf.nmf(V, 3, mask=mask, init=init, max_iter=0, random_state=0)
    result = fastnmf.distributed.nmf(
        split(V, (9, 0, 21)), 3, mask=mask, init=init, max_iter=0, random_state=0, client=client
    )
    atol = 1e-12 * np.sqrt(scale)
    np.testing.assert_allclose(gathered(result.W, client), reference.W, rtol=1e-9, atol=atol)
    np.testing.assert_allclose(result.H, reference.H, rtol=1e-9, atol=atol)


@pytest.mark.parametrize("name", ["alpha_W", "alpha_H"])
def test_alpha_beyond_float32_is_refused_as_in_memory(client, name):
    V = data(seed=8, shape=(30, 10)).astype(np.float32)
    with pytest.raises(ValueError, match=rf"{name}=1e\+39 is too large for float32"):
        fastnmf.distributed.nmf(split(V, (9, 0, 21)), 3, max_iter=2, client=client, **{name: 1e39})


def test_callback_sees_dask_W_and_can_stop(client):
    V = data(seed=9)
    seen = []

    def callback(iteration, W, H, loss):
        seen.append((iteration, type(W), W.shape, H.shape, H.flags.writeable))
        return iteration == 3

    result = fastnmf.distributed.nmf(split(V), 2, init="random", random_state=0, callback=callback, client=client)
    assert result.n_iter == 3 and not result.converged
    assert seen == [(i, da.Array, (40, 2), (2, 15), False) for i in (1, 2, 3)]


def test_max_iter_without_convergence_warns(client):
    with pytest.warns(fastnmf.ConvergenceWarning, match="max_iter=2"):
        fastnmf.distributed.nmf(split(data()), 2, init="random", max_iter=2, tol=1e-12, client=client)


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_data_below_eps_warns_as_in_memory(layout):
    """Every observed entry below EPS and beta < 2: the in-memory warning,
    from the caller's line (no client: blocks built in this process)."""
    small = data(seed=7) * 1e-8
    V = sp.csr_array(small) if layout == "csr" else small
    with pytest.warns(UserWarning, match=r"V's largest entry .* is below 1\.19e-07, .* beta = 1 < 2") as caught:
        fastnmf.distributed.nmf(split(V), 2, loss="kullback-leibler", init="random", max_iter=2, tol=0)
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastnmf.distributed.nmf(split(V), 2, init="random", max_iter=2, tol=0)  # Frobenius: no clamp


def test_column_chunks_are_refused_with_how_to_rechunk():
    V = da.from_array(data(), chunks=(10, 5))
    with pytest.raises(ValueError, match=r"split by rows only.*V.rechunk\(\{1: -1\}\)"):
        fastnmf.distributed.nmf(V, 2)


@pytest.mark.parametrize(
    ("V", "kwargs", "error", "match"),
    [
        (data(), {}, TypeError, "V must be a dask.array.Array"),
        (split(data()), {"mask": np.ones((40, 15), bool)}, TypeError, "mask must be None"),
        (split(data()), {"mask": da.ones((40, 15), chunks=(20, -1))}, ValueError, "mask must have V's chunks"),
        (split(data()), {"init": (da.ones((40, 2), chunks=(20, -1)), np.ones((2, 15)))}, ValueError,
         "W0 must have V's row chunks"),
        (split(data()), {"init": "nndsvd", "r": 20}, ValueError, "r <= min"),
        (split(data()), {"client": "tcp://127.0.0.1:8786"}, TypeError, "client must be a distributed.Client"),
        (split(data()), {"mask": "observed"}, ValueError, "needs a sparse V"),
        (split(-data()), {}, ValueError, "V must be non-negative"),
    ],
)  # fmt: skip
def test_bad_input_is_refused(client, V, kwargs, error, match):
    kwargs = {"r": 2, **kwargs}
    if "client" not in kwargs:
        kwargs["client"] = client
    with pytest.raises(error, match=match):
        fastnmf.distributed.nmf(V, **kwargs)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="kills a worker process with SIGKILL")
def test_a_worker_lost_mid_run_is_a_clear_error(client):
    """Killing a worker that holds blocks of W between iterations gives
    WorkerLostError, never a result. (Runs last: the nanny then restarts the
    worker.)"""
    V = split(data(seed=10), (20, 20))
    pids = client.run(os.getpid)

    def kill_a_worker_holding_W(iteration, W, H, loss):
        if iteration == 2:
            futures = distributed.futures_of(W)
            client.gather(futures)  # computed, so that who_has knows where
            holders = client.who_has(futures)
            address = next(iter(next(iter(holders.values()))))
            os.kill(pids[address], signal.SIGKILL)

    with pytest.raises(WorkerLostError, match="worker was lost"):
        fastnmf.distributed.nmf(
            V, 2, init="random", max_iter=30, tol=0, callback=kill_a_worker_holding_W, client=client
        )
    client.wait_for_workers(2, timeout=60)
