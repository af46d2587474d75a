"""``fastnmf precompile`` (:mod:`fastnmf._precompile`): its signatures are the
ones the package's calls use, it fills the cache that a new process then loads
from, and it reports failures."""

import importlib
import json
import pkgutil
import subprocess
import sys
import warnings

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

import fastnmf
import fastnmf._kernels
import fastnmf.recommend
from fastnmf import _kernels as K
from fastnmf import _precompile
from fastnmf._jit import _BLOCK_KERNELS, block_arguments, block_kernel, block_type, first_class
from fastnmf.cli import main

# Two cheap kernels for the tests that compile (a second or two each).
CHEAP = ("predict_pairs", "gram_parts")


def parallel_kernels():
    """{name: dispatcher} of every parallel Numba kernel in fastnmf._kernels,
    and of every serial one that is cached (fastnmf._jit.cached_serial_kernel)."""
    found = {}
    for module_info in pkgutil.iter_modules(fastnmf._kernels.__path__):
        module = importlib.import_module(f"fastnmf._kernels.{module_info.name}")
        for name, value in vars(module).items():
            if not isinstance(value, numba.core.registry.CPUDispatcher):
                continue
            cached = not isinstance(value._cache, numba.core.caching.NullCache)
            if value.targetoptions.get("parallel") or (cached and value not in _BLOCK_KERNELS):
                found[name] = value
    return found


def block_kernels():
    """{name: dispatcher} of every block kernel (fastnmf._jit.block_kernel) in fastnmf._kernels."""
    return {body.__name__: body for body in _BLOCK_KERNELS if body.py_func.__module__.startswith("fastnmf._kernels.")}


def test_every_parallel_kernel_and_block_kernel_is_precompiled():
    compiled = {**parallel_kernels(), **block_kernels()}
    assert set(compiled) == set(_precompile.KERNELS)
    for name, kernel in _precompile.KERNELS.items():
        assert _precompile.dispatcher(name) is compiled[name]
        assert kernel.kinds.count("F") == len(kernel.bodies)
        assert set(kernel.bodies) <= set(block_kernels())


def read_only(A):
    """A read-only copy of a dense array or of a sparse matrix's arrays."""
    A = A.copy()
    for array in (A.data, A.indices, A.indptr) if sp.issparse(A) else (A,):
        array.flags.writeable = False
    return A


@pytest.mark.parametrize("writeable", [True, False], ids=["writeable", "read-only"])
def test_signatures_are_those_of_the_calls(monkeypatch, writeable):
    """Every kernel call of fits (every solver path) and of the recommendation
    functions, at float32 and float64, has one of the precompiled signatures,
    whether the caller's arrays are writeable or read-only (each would be
    compiled again otherwise, cache or not)."""
    given = (lambda A: A) if writeable else read_only
    seen = {name: set() for name in _precompile.KERNELS}

    def recording(name, kernel):
        def call(*args):
            seen[name].add(tuple(numba.typeof(a) for a in args))
            return kernel(*args)

        return call

    # Every parallel kernel, wherever it is looked up: its module (the functions
    # that call it with the first-class function of its blocks), fastnmf._kernels
    # and fastnmf.recommend.
    for name, kernel in _precompile.KERNELS.items():
        if name in block_kernels():  # called through first_class, below
            continue
        dispatcher = _precompile.dispatcher(name)
        for module in (importlib.import_module(f"fastnmf._kernels.{kernel.module}"), K, fastnmf.recommend):
            if getattr(module, name, None) is dispatcher:
                monkeypatch.setattr(module, name, recording(name, dispatcher))
    # The block kernels, through the first-class functions that the kernels' modules ask for.
    def recording_first_class(body, dtype, index=np.int32):
        seen[body.__name__].add(block_arguments(body, numba.from_dtype(dtype), numba.from_dtype(np.dtype(index))))
        return first_class(body, dtype, index)

    for kernel in _precompile.KERNELS.values():
        module = importlib.import_module(f"fastnmf._kernels.{kernel.module}")
        if hasattr(module, "first_class"):
            monkeypatch.setattr(module, "first_class", recording_first_class)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastnmf.ConvergenceWarning)
        for dtype in (np.float32, np.float64):
            for _, V, r, kwargs in _precompile.solver_paths(dtype):
                if isinstance(kwargs.get("mask"), np.ndarray):
                    kwargs = dict(kwargs, mask=given(kwargs["mask"]))
                fastnmf.nmf(given(V), r, max_iter=2, random_state=0, **kwargs)
            X = given(sp.random(12, 9, density=0.4, random_state=1, format="csr", dtype=dtype))
            result = fastnmf.nmf(X, 3, mask="observed", max_iter=2, random_state=0)
            W, H = given(result.W), given(result.H)
            fastnmf.recommend.predict(W, H, given(np.array([0, 1])), given(np.array([2, 3])))
            fastnmf.recommend.top_k(W, H, 2, exclude=X, users=given(np.array([0, 2, 5])))
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr("fastnmf._csr.BLOCK_BYTES", 64)  # column blocks: split_by_columns
                fastnmf.nmf(X, 3, mask="observed", max_iter=2, random_state=0)
    for name, signatures in seen.items():
        expected = {_precompile.signature(name, dtype) for dtype in _precompile.KERNELS[name].dtypes}
        assert signatures, f"{name} was never called"
        assert signatures <= expected, f"{name}: {signatures - expected}"


def test_partition_balances_and_keeps_each_kernel_once():
    names = list(_precompile.KERNELS)
    for jobs in (1, 2, 3, 16):
        groups = _precompile.partition(names, jobs)
        assert len(groups) == min(jobs, len(names))
        assert sorted(name for group in groups for name in group) == sorted(names)
    loads = [sum(_precompile.KERNELS[n][2] for n in group) for group in _precompile.partition(names, 2)]
    assert max(loads) - min(loads) <= max(kernel.seconds for kernel in _precompile.KERNELS.values())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(names=["csr_sampled_product"]), "names must be kernels of fastnmf"),
        (dict(jobs=0), "jobs must be a positive integer; got 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _precompile.precompile(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(names="gram_parts"), "names must be a list of kernel names; got the string 'gram_parts'"),
        (dict(jobs=2.5), "jobs must be a positive integer; got float 2.5"),
        (dict(jobs=True), "jobs must be a positive integer; got bool True"),
    ],
)
def test_bad_argument_types(kwargs, message):
    with pytest.raises(TypeError, match=message):
        _precompile.precompile(**kwargs)


def test_command_fills_the_cache_a_new_process_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_precompile, "KERNELS", {name: _precompile.KERNELS[name] for name in CHEAP})
    assert main(["precompile", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 kernels, float32 and float64, in ") and "(2 processes; 0 already cached)" in out
    assert all(name in out for name in CHEAP)

    assert main(["precompile", "-j", "1"]) == 0
    assert "(1 process; 2 already cached)" in capsys.readouterr().out

    # A new process calls the kernels as fits do: both come from the cache.
    script = (
        "import json, fastnmf._precompile as p\n"
        f"print(json.dumps(p.compile_kernels({list(CHEAP)!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert all(from_cache for _, from_cache in json.loads(done.stdout).values())


def test_a_failing_worker_is_reported(monkeypatch, capsys):
    """A kernel the worker process does not know: it fails, and its error
    output is in the message."""
    monkeypatch.setitem(_precompile.KERNELS, "no_such_kernel", _precompile.Kernel("csr", "A", 1.0))
    with pytest.raises(RuntimeError, match="(?s)compiling no_such_kernel failed:.*KeyError"):
        _precompile.precompile(jobs=1, names=["no_such_kernel"])
    monkeypatch.setattr(_precompile, "KERNELS", {"no_such_kernel": _precompile.Kernel("csr", "A", 1.0)})
    assert main(["precompile"]) == 1
    assert capsys.readouterr().err.startswith("fastnmf: error: compiling no_such_kernel failed:")


def test_a_block_kernel_is_called_through_its_address(tmp_path, monkeypatch):
    """first_class gives the body compiled for the dtype, with the declared
    type; a parallel kernel calls it through that type, so its own code holds
    none of the body's. The function keeps its type (Numba would make it
    afresh at every call otherwise). A body whose result is not of its
    declared kind is refused."""
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))  # the bodies below are cached like the real ones

    @block_kernel("q", "An")
    def row_sum(A, i):
        return np.float64(A[i].sum())

    @numba.njit(parallel=True)
    def row_sums(body, A, out):
        for i in numba.prange(A.shape[0]):
            out[i] = body(A, np.int64(i))

    A = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    body = first_class(row_sum, A.dtype)
    assert first_class(row_sum, np.float32) is body
    assert numba.typeof(body) is block_type(row_sum, numba.float32)
    out = np.empty(3)
    row_sums(body, A, out)
    assert_array_equal(out, [1.0, 5.0, 9.0])
    made = []
    make = numba.types.FunctionType.__init__
    monkeypatch.setattr(numba.types.FunctionType, "__init__", lambda self, *a: made.append(a) or make(self, *a))
    row_sums(body, A, out)  # typed once, not at every call
    assert made == [] and len(row_sums.overloads) == 1
    numba.typeof(numba.types.CompileResultWAP(body.cres))  # what a plain one costs at every call
    assert len(made) == 1

    @block_kernel("x", "An")
    def row_total(A, i):
        return np.float64(A[i].sum())  # declared: the working dtype

    with pytest.raises(TypeError, match="row_total returns float64, not its declared kind"):
        first_class(row_total, np.float32)


def test_a_block_kernel_takes_block_kernels():
    """A block kernel's "F" arguments have the types of the block kernels it
    names, in order; kinds and functions must agree in number."""
    from fastnmf._jit import argument_types
    from fastnmf._kernels import dense

    f32 = numba.float32
    arguments = block_arguments(dense.tile_block, f32)
    assert arguments[:2] == (block_type(dense.tile_coefficients, f32), block_type(dense.general_coefficients, f32))
    assert block_type(dense.tile_coefficients, f32) == block_type(dense.weighted_tile_coefficients, f32)
    with pytest.raises(ValueError, match="kinds 'FA' have 1 'F' arguments; got 0 functions"):
        argument_types("FA", f32)
    with pytest.raises(ValueError, match="kinds 'An' have 0 'F' arguments; got 1 functions"):
        block_kernel("q", "An", functions=(dense.general_coefficients,))
