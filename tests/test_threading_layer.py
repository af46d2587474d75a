"""Numba's threading layer as fastnmf sets it up at import: TBB where the
tbb wheel is installed (fastnmf._jit.load_tbb), and OpenMP's waiting
(OMP_WAIT_POLICY, GOMP_SPINCOUNT) where OpenMP runs, with the warning for
threads that started before the import. Each case runs in a new Python
process, since the layer and OpenMP's settings are fixed once Numba's
threads start."""

import os
import subprocess
import sys

import pytest

from fastnmf._jit import SPIN_COUNT, _pip_tbb_library


@pytest.mark.parametrize(
    "preset, expected",
    [
        ({}, ("PASSIVE", str(SPIN_COUNT))),
        ({"OMP_WAIT_POLICY": "ACTIVE"}, ("ACTIVE", None)),
        ({"OMP_WAIT_POLICY": "PASSIVE"}, ("PASSIVE", None)),
        ({"GOMP_SPINCOUNT": "0"}, ("PASSIVE", "0")),
    ],
    ids=["unset", "active", "passive", "spin-count"],
)
def test_openmp_waiting_set_at_import_unless_the_environment_says(preset, expected):
    """fastnmf makes OpenMP threads spin briefly and then sleep, but never
    overrides a wait policy or spin count the user set."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(preset)
    code = "import os, fastnmf; print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == [str(value) for value in expected]


SPINNING_CASE = """
import warnings
import numpy as np
{before}
import fastnmf
import fastnmf._jit
print(fastnmf._jit.OPENMP_STARTED_SPINNING)
class Shown(Exception):
    pass
def show(message, category, filename, lineno, file=None, line=None):
    print("warned", category.__name__, "n_threads=1" in str(message), filename)
    raise Shown  # as the fit enters its threads: no kernel runs
warnings.showwarning = show
warnings.simplefilter("always")
for n_threads in (1, 2, 2):
    try:
        fastnmf.nmf(np.ones((400, 400)), 10, n_threads=n_threads, init="random", random_state=0, max_iter=0)
        print("quiet")
    except Shown:
        pass
"""


@pytest.mark.parametrize(
    "before, preset, expected",
    [
        ("import numba; numba.set_num_threads(2)", {}, "True quiet warned PerformanceWarning True <string> quiet"),
        ("", {}, "False quiet quiet quiet"),
        ("import numba; numba.set_num_threads(2)", {"OMP_WAIT_POLICY": "PASSIVE"}, "False quiet quiet quiet"),
    ],
    ids=["threads-started-first", "fastnmf-first", "policy-set-by-user"],
)
def test_a_fit_warns_once_when_openmp_threads_were_started_before_the_import(before, preset, expected):
    """Numba's OpenMP threads started before ``import fastnmf`` keep OpenMP's
    default busy-waiting (fastnmf's setting comes too late), which made dense
    Frobenius fits 11-23x slower on 2 cores: the first fit on several threads
    says so, once, from the caller's line (here the ``-c`` code's); a fit on
    one thread, or a policy the user set, does not."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(preset, NUMBA_THREADING_LAYER="omp", NUMBA_NUM_THREADS="2")
    code = SPINNING_CASE.format(before=before)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode != 0 and "threading layer" in done.stderr.lower():
        pytest.skip("Numba's OpenMP threading layer is not available here")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == expected.split()


LAYER_CASE = """
import numpy as np
{before}
import fastnmf
import fastnmf._jit
import numba
fastnmf.nmf(np.ones((40, 30)), 3, n_threads=2, init="random", random_state=0, max_iter=2, tol=0)
print(fastnmf._jit.TBB_LOADED is not None, numba.threading_layer())
"""


@pytest.mark.skipif(_pip_tbb_library() is None, reason="no tbb wheel installed (fastnmf depends on it on Linux x86-64 only)")
@pytest.mark.parametrize(
    "before, layer, expected",
    [
        ("", None, "True tbb"),
        ("", "omp", "True omp"),
        ("import numba; numba.set_num_threads(2)", "omp", "False omp"),
    ],
    ids=["default", "omp-chosen", "threads-started-first"],
)
def test_fits_run_on_tbb_where_the_wheel_is_installed(before, layer, expected):
    """fastnmf loads the tbb wheel's library at import, which Numba does not
    find in a virtual environment by itself, so that its default threading
    layer is TBB; a layer the user chose stays, and once Numba's threads run
    nothing is loaded."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    if layer is not None:
        env["NUMBA_THREADING_LAYER"] = layer
    done = subprocess.run([sys.executable, "-c", LAYER_CASE.format(before=before)], env=env, capture_output=True,
                          text=True)  # fmt: skip
    if done.returncode != 0 and "threading layer" in done.stderr.lower():
        pytest.skip(f"Numba's {layer} threading layer is not available here")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == expected.split()


def _library_in(folder):
    folder.mkdir(parents=True)
    (folder / "libtbb.so.12").write_bytes(b"")
    return str(folder / "libtbb.so.12")


@pytest.mark.parametrize("in_venv", [True, False], ids=["venv", "no-venv"])
def test_the_wheels_tbb_library_comes_before_a_system_one(in_venv, tmp_path, monkeypatch):
    """In a virtual environment its lib/ folder holds the wheel's library;
    outside one, sys.prefix/lib may be the system's folder, and the wheel's
    own list of files says where its library is."""
    from importlib import metadata

    import fastnmf._jit

    prefix_library = _library_in(tmp_path / "prefix" / "lib")
    wheel_library = _library_in(tmp_path / "user" / "lib")

    class File:
        name = "libtbb.so.12"

        def locate(self):
            return wheel_library

    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    monkeypatch.setattr(sys, "base_prefix", str(tmp_path / ("base" if in_venv else "prefix")))
    monkeypatch.setattr(metadata, "files", lambda name: [File()])
    assert fastnmf._jit._pip_tbb_library() == (prefix_library if in_venv else wheel_library)

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "files", not_installed)  # a conda environment's TBB, say
    assert fastnmf._jit._pip_tbb_library() == prefix_library
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "nowhere"))
    assert fastnmf._jit._pip_tbb_library() is None
