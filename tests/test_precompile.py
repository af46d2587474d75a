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

import fastnmf
import fastnmf._kernels
import fastnmf.recommend
from fastnmf import _kernels as K
from fastnmf import _precompile
from fastnmf.cli import main

# Two cheap kernels for the tests that compile (a second or two each).
CHEAP = ("predict_pairs", "gram_parts")


def parallel_kernels():
    """{name: dispatcher} of every parallel Numba kernel in fastnmf._kernels."""
    found = {}
    for module_info in pkgutil.iter_modules(fastnmf._kernels.__path__):
        module = importlib.import_module(f"fastnmf._kernels.{module_info.name}")
        for name, value in vars(module).items():
            if isinstance(value, numba.core.registry.CPUDispatcher) and value.targetoptions.get("parallel"):
                found[name] = value
    return found


def test_every_parallel_kernel_is_precompiled():
    assert set(parallel_kernels()) == set(_precompile.KERNELS)
    for name in _precompile.KERNELS:
        assert _precompile.dispatcher(name) is parallel_kernels()[name]


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

    for name in K.__all__:
        if name in _precompile.KERNELS:
            monkeypatch.setattr(K, name, recording(name, getattr(K, name)))
    for name in ("unweighted_tile_terms", "weighted_tile_terms"):  # called by K.dense_tile_terms, which picks one
        monkeypatch.setattr(K.dense, name, recording(name, getattr(K.dense, name)))
    for name in ("predict_pairs", "top_k_rows"):
        monkeypatch.setattr(fastnmf.recommend, name, recording(name, getattr(fastnmf.recommend, name)))
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
    for name, signatures in seen.items():
        expected = {_precompile.signature(name, dtype) for dtype in _precompile.DTYPES}
        assert signatures, f"{name} was never called"
        assert signatures <= expected, f"{name}: {signatures - expected}"


def test_partition_balances_and_keeps_each_kernel_once():
    names = list(_precompile.KERNELS)
    for jobs in (1, 2, 3, 16):
        groups = _precompile.partition(names, jobs)
        assert len(groups) == min(jobs, len(names))
        assert sorted(name for group in groups for name in group) == sorted(names)
    loads = [sum(_precompile.KERNELS[n][2] for n in group) for group in _precompile.partition(names, 2)]
    assert max(loads) - min(loads) <= max(cost for _, _, cost in _precompile.KERNELS.values())


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
    monkeypatch.setitem(_precompile.KERNELS, "no_such_kernel", ("csr", "A", 1.0))
    with pytest.raises(RuntimeError, match="(?s)compiling no_such_kernel failed:.*KeyError"):
        _precompile.precompile(jobs=1, names=["no_such_kernel"])
    monkeypatch.setattr(_precompile, "KERNELS", {"no_such_kernel": ("csr", "A", 1.0)})
    assert main(["precompile"]) == 1
    assert capsys.readouterr().err.startswith("fastnmf: error: compiling no_such_kernel failed:")
