"""The one place that decides how fastnmf's kernels are compiled.

Every kernel module imports :func:`kernel` (parallel), :func:`block_kernel`,
:func:`cached_serial_kernel`, :func:`serial_kernel` or :func:`inlined_kernel`
from here and never calls ``numba.njit`` itself, so the options below hold
for the whole package:

- ``cache=True`` for the parallel kernels, block kernels and the serial
  kernels that Python calls: compiled machine code is written next to the
  sources (or to ``NUMBA_CACHE_DIR``) and reused by later processes, so
  only the first call on a machine pays the compile cost. The serial
  helpers are not cached: their code is compiled into each kernel that
  calls them, so their own cache entries would never be loaded, and
  ``fastnmf precompile`` (:mod:`fastnmf._precompile`) compiles kernels
  in several processes at once, which must not write the same cache files
  (cold compile of every kernel: the same time either way, 27.2-28.7 s).
- ``fastmath``: only the flags that let LLVM vectorize reductions and fuse
  multiply-adds. ``nnan`` and ``ninf`` are deliberately left out: NaN and Inf
  must keep their meaning so that the epsilon policy (see
  :mod:`fastnmf._epsilon`) can be relied on.
- ``error_model="numpy"``: a division by zero gives inf/nan instead of raising,
  which lets LLVM vectorize divisions; the kernels never divide by zero because
  every denominator is guarded.
- ``nogil=True``: kernels release the GIL, so several fits can run from Python
  threads (or Dask's threaded scheduler).

A parallel kernel whose blocks each run one large serial function takes that
function as an argument, a first-class function (:func:`block_kernel`,
:func:`first_class`), rather than calling it by name: see
:func:`block_kernel` for why.

The threading layer is Numba's default: TBB if Numba can load it, else
OpenMP, else workqueue. fastnmf depends on the ``tbb`` wheel on Linux x86-64,
whose library Numba does not find by itself in a virtual environment (it is
in the environment's ``lib/``, which the dynamic loader does not search), so
:func:`load_tbb` loads it at import, before Numba starts its threads. TBB's
threads, once woken, keep looking for work between the short parallel kernels
of an iteration and yield the core while they do, then sleep: fits started
after a pause were 1.05 to 2.3 times faster than with OpenMP on 2 idle cores,
where a thread that sleeps between kernels pays to be woken at each of them,
and 1.06 to 1.94 times beside one busy process (but for one case of
OpenBLAS's threads, since removed); with both cores busy with other work,
0.73 to 1.33 times (docs/performance.md, "Threads and the threading layer").

Without TBB, OpenMP threads spin briefly, then sleep
(``OMP_WAIT_POLICY=PASSIVE`` and ``GOMP_SPINCOUNT=3000``: 20-40 us with GNU
OpenMP on the 2-core Intel Xeon of docs/performance.md, whose pause
instruction takes 10 ns; 1000 spins gave that on the AMD Zen 3, and 5-10 us
here), unless the environment already sets the policy. With OpenMP's default
active waiting, threads that finished their share spin for a while at every
barrier, and on a machine whose cores are busy with other work they take turns
with the very threads they wait for: measured here, a 2-thread KL fit ran 2 to
3 times *slower* than a 1-thread fit on a loaded 2-core machine, and at or
below the 1-thread time with passive waiting (see docs/performance.md).
Sleeping at once costs the other way: a fit launches several short parallel
kernels per iteration, and an empty parallel region costs 30-70 us when the
other thread sleeps against 2 us when it spins; the brief spin keeps the
threads awake between back-to-back kernels (0.5M-nonzero Frobenius MU, 2
threads: 1.1-1.2x faster than 1000 spins on the Intel Xeon; on busy cores up
to a tenth slower, where 10,000 spins were half again slower). The workqueue
layer does not degrade either, but it aborts the process when two Python
threads launch parallel kernels at once, which Dask's threaded scheduler does.
The settings only take effect if fastnmf is imported before Numba starts its
threads, which it does when the process first compiles or runs a parallel
function, or sets the number of threads (OpenMP reads the settings then).
Where that came first, :data:`OPENMP_STARTED_SPINNING` is true, and fits on
several threads warn (:func:`fastnmf._threads.numba_threads`).
"""

import ctypes
import os
import sys

SPIN_COUNT = 3000  # GNU OpenMP's busy-wait iterations before a waiting thread sleeps
TBB_LIBRARY = "libtbb.so.12"  # the soname that Numba's TBB layer links to


def _started_threading_layer():
    """Numba's threading layer if its threads were started before fastnmf
    was imported, else None. Importing Numba starts none."""
    import numba

    try:
        return numba.threading_layer()
    except ValueError:  # not started yet
        return None


# Whether Numba's OpenMP threads were started, before fastnmf was imported, with
# the OpenMP runtime's own default waiting (nobody had set OMP_WAIT_POLICY).
OPENMP_STARTED_SPINNING = "OMP_WAIT_POLICY" not in os.environ and _started_threading_layer() == "omp"

if "OMP_WAIT_POLICY" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ.setdefault("GOMP_SPINCOUNT", str(SPIN_COUNT))


def _pip_tbb_library():
    """The path of the TBB library that the ``tbb`` wheel installed, or None.

    In a virtual environment, its ``lib/`` folder holds only what pip put
    there. Elsewhere ``sys.prefix/lib`` may be the system's folder, whose TBB
    (a distribution's, possibly older than Numba accepts) is not the wheel's:
    the wheel's own list of files says where it is (``pip install --user``,
    say), and ``sys.prefix/lib`` (a conda environment's) comes last."""
    prefix_library = os.path.join(sys.prefix, "lib", TBB_LIBRARY)
    if sys.prefix != sys.base_prefix and os.path.exists(prefix_library):
        return prefix_library
    from importlib import metadata

    try:
        found = [str(file.locate()) for file in metadata.files("tbb") or [] if file.name == TBB_LIBRARY]
    except metadata.PackageNotFoundError:
        found = []
    for path in (*found, prefix_library):
        if os.path.exists(path):
            return path
    return None


def load_tbb():
    """Load the ``tbb`` wheel's library, so that Numba's TBB threading layer
    can start; returns its path, or None where there is nothing to load.

    Numba's TBB layer is an extension linked to ``libtbb.so.12``, which the
    dynamic loader looks for in the system's folders only, not in the
    ``lib/`` folder of the environment that pip installed the wheel into
    (Numba's issue 6108). Loaded first, with its symbols global, the
    library is the one the extension links to. Where a TBB library is
    already loadable (a system or conda TBB), the wheel's is loaded all the
    same, so that Numba's version check and the extension see the same
    library. Nothing happens off Linux, or once Numba's threads are
    running (their layer is chosen then)."""
    if not sys.platform.startswith("linux") or _started_threading_layer() is not None:
        return None
    path = _pip_tbb_library()
    if path is None:
        return None
    try:
        ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    except OSError:  # a broken installation: Numba falls back to OpenMP, as without the wheel
        return None
    return path


TBB_LOADED = load_tbb()  # the path of the wheel's TBB library, if loaded here

import functools  # noqa: E402

import numpy as np  # noqa: E402
from numba import from_dtype, njit, types  # noqa: E402
from numba.core.compiler import Compiler  # noqa: E402
from numba.extending import typeof_impl  # noqa: E402

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

_OPTIONS = dict(fastmath=set(FASTMATH), error_model="numpy", nogil=True)


def kernel(func):
    """Compile ``func`` as a parallel kernel (its ``prange`` loops run on threads)."""
    return njit(parallel=True, cache=True, **_OPTIONS)(func)


def serial_kernel(func):
    """Compile ``func`` as a serial helper that kernels call."""
    return njit(parallel=False, cache=False, **_OPTIONS)(func)


def cached_serial_kernel(func):
    """Compile ``func`` as a serial kernel that Python calls: cached (and
    precompiled) as the parallel kernels are. For work that a parallel loop
    would not speed up enough to pay for its compile time (each ``prange``
    loop adds about half a second per dtype)."""
    return njit(parallel=False, cache=True, **_OPTIONS)(func)


def read_only(array):
    """A read-only view of ``array``, for the arguments a kernel only reads.

    Numba compiles a new specialization for a read-only array (a memory-mapped
    file, a pandas column under copy-on-write, a block Dask deserialized), so
    the kernels always see V and the other inputs they read through a view
    like this: one compiled version per dtype, the one ``fastnmf precompile``
    puts in the cache, whatever the caller's arrays allow. A view costs no
    copy."""
    view = array.view()
    view.flags.writeable = False
    return view


@functools.cache
def compile_target():
    """(name, features) of the processor Numba compiles the kernels for: the
    one ``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES`` name if set (say, for a
    cache shared between machines), else this one, as LLVM names it and its
    features (``"avx2"``, ``"avx512f"``, ...). ``features`` is None where
    they are not known: LLVM cannot tell on every platform, and a
    ``NUMBA_CPU_NAME`` without ``NUMBA_CPU_FEATURES`` takes the named
    processor's own."""
    import llvmlite.binding as llvm
    from numba.core import config

    if config.CPU_NAME:
        entries = [entry.strip() for entry in (config.CPU_FEATURES or "").split(",") if entry.strip()]
        features = frozenset(entry[1:] for entry in entries if entry.startswith("+")) if entries else None
        return config.CPU_NAME, features
    try:
        features = frozenset(name for name, enabled in llvm.get_host_cpu_features().items() if enabled)
    except RuntimeError:
        features = None
    return llvm.get_host_cpu_name(), features


def compiles_for_avx512():
    """Whether the kernels are compiled for a processor with AVX-512
    (:func:`compile_target`; False where its features are not known). Some
    choices between kernels depend on it (:func:`fastnmf._hals.lanes_max_rank`)."""
    features = compile_target()[1]
    return features is not None and "avx512f" in features


def inlined_kernel(func):
    """Compile ``func`` as a serial helper that Numba inlines into the kernels
    calling it, before LLVM sees them."""
    return njit(parallel=False, inline="always", cache=False, **_OPTIONS)(func)


# The argument kinds of a signature, one letter per argument (``fastnmf._precompile``
# lists every kernel's): "A" a 2-D array of the working dtype, "a" a 1-D one, "T"
# a 3-D one, "x" a scalar of the working dtype; "l" a 1-D float64 array (loss
# parts), "L" a 3-D float64 one, "q" a float64 scalar, "k" a 1-D int64 array
# (chunk bounds), "K" a 2-D int64 array, "n" an int64 scalar, "b" a bool, "-"
# nothing (a return type). The arrays a kernel only reads come read-only
# (:func:`read_only`): "R" and "r" a 2-D and a 1-D one of the working dtype
# (V's values, weights), "I" a 1-D one of the index type (V's indptr and
# indices: int32, or int64 for 2^31 entries or more), "J" a 1-D int64 one (user
# or item indices); "i" a writable 1-D array of the index type (a copy of V's
# indices); "W" and "w" 2-D uint32 arrays, read-only and writable (values as
# raw words, whatever their dtype). "F" is a first-class function (a block
# kernel, below).
_FIXED_KINDS = {
    "l": types.Array(types.float64, 1, "C"),
    "L": types.Array(types.float64, 3, "C"),
    "q": types.float64,
    "k": types.Array(types.int64, 1, "C"),
    "J": types.Array(types.int64, 1, "C", readonly=True),
    "K": types.Array(types.int64, 2, "C"),
    "W": types.Array(types.uint32, 2, "C", readonly=True),
    "w": types.Array(types.uint32, 2, "C"),
    "n": types.int64,
    "b": types.boolean,
    "-": types.none,
}


def argument_types(kinds, dtype, index=types.int32, functions=()):
    """The Numba types of ``kinds`` (letters as above) for values of ``dtype``
    (a Numba float type) and sparse indices of type ``index``; the "F"
    arguments take the types of ``functions``, in order."""
    typed = {
        "I": types.Array(index, 1, "C", readonly=True),
        "i": types.Array(index, 1, "C"),
        "A": types.Array(dtype, 2, "C"),
        "a": types.Array(dtype, 1, "C"),
        "T": types.Array(dtype, 3, "C"),
        "R": types.Array(dtype, 2, "C", readonly=True),
        "r": types.Array(dtype, 1, "C", readonly=True),
        "x": dtype,
    }
    functions = tuple(functions)
    if kinds.count("F") != len(functions):
        raise ValueError(f"kinds {kinds!r} have {kinds.count('F')} 'F' arguments; got {len(functions)} functions")
    functions = iter(functions)
    return tuple(
        next(functions) if kind == "F" else typed[kind] if kind in typed else _FIXED_KINDS[kind] for kind in kinds
    )


_BLOCK_KERNELS = {}  # body -> (return kind, argument kinds, block kernels of its "F" arguments' types)


class _DistinctArrays(Compiler):
    """Numba's compiler (``pipeline_class``), for a function whose arguments
    never share memory with an array it writes: LLVM may assume that a write
    through one changes no other (``noalias``), as Numba's own flag of that
    name tells it for the function outlined from a ``prange`` loop."""

    def __init__(self, typingctx, targetctx, library, args, return_type, flags, locals):
        flags.noalias = True
        super().__init__(typingctx, targetctx, library, args, return_type, flags, locals)


def block_kernel(returns, kinds, functions=()):
    """Compile the decorated function as the serial body that a parallel kernel
    runs on each of its blocks, with arguments of ``kinds`` and a result of
    kind ``returns`` (letters as in :func:`argument_types`). A body may take
    block kernels of its own (each "F" of ``kinds`` has the type of the next
    of ``functions``), and call them the same way.

    The kernel takes the body as an argument, a first-class function
    (:func:`first_class`), and calls it through its address. Called by name,
    a serial function's code is linked into every function that Numba builds
    around a parallel loop (the kernel, the loop's outlined function and two
    wrappers), and LLVM optimizes and compiles it again in each: the dense
    tile kernels took 5.3-6.2 s per dtype, of which 0.6 s was their body's
    own code and 2.4 s its four copies. Through its address it is compiled
    once, and cached like a kernel.

    A body is compiled with the promise that no array it writes shares
    memory with another of its arguments (LLVM's ``noalias``,
    :class:`_DistinctArrays`), the promise Numba makes itself for the
    function it outlines from a ``prange`` loop whose arrays it finds
    distinct; every caller keeps it (the outputs are arrays of their own).
    Without it, the masked CSR kernel's chunks ran 1.22x slower in a body
    than inside ``prange`` (one thread, 0.5M, float32, r = 10; 1.16x at
    r = 50), and as fast with it.

    Calling a body also takes a reference on each of its arrays and drops it
    on return, atomic updates of counts that the threads share. The masked
    CSR kernel, with about 250 small chunks per call, calls its body once per
    thread on a share of them (:mod:`fastnmf._kernels.shares`); the tile,
    HALS and top-k kernels call theirs once per block, chunk or row (and the
    tile body its coefficient function once per tile, a few thousand
    entries or more), which measured as fast as before.

    The kernel passes the declared argument types (a first-class function
    takes only Numba's safe conversions: a writeable array for a read-only
    one, not a ``prange`` index, which is unsigned, for an int64), and
    :mod:`fastnmf._precompile` compiles each body as an entry of its own.
    """

    if kinds.count("F") != len(functions):
        raise ValueError(f"kinds {kinds!r} have {kinds.count('F')} 'F' arguments; got {len(functions)} functions")

    def decorate(func):
        body = njit(parallel=False, cache=True, pipeline_class=_DistinctArrays, **_OPTIONS)(func)
        _BLOCK_KERNELS[body] = (returns, kinds, tuple(functions))
        return body

    return decorate


def block_arguments(body, dtype, index=types.int32):
    """The argument types of ``body`` (a :func:`block_kernel`) for values of
    ``dtype`` (a Numba float type) and sparse indices of type ``index``."""
    _, kinds, functions = _BLOCK_KERNELS[body]
    return argument_types(kinds, dtype, index, [block_type(function, dtype, index) for function in functions])


def block_type(body, dtype, index=types.int32):
    """The first-class function type of ``body`` (a :func:`block_kernel`):
    the type of the argument that its parallel kernel takes."""
    (result,) = argument_types(_BLOCK_KERNELS[body][0], dtype)
    return types.FunctionType(result(*block_arguments(body, dtype, index)))


def first_class(body, dtype, index=np.int32):
    """``body`` (a :func:`block_kernel`) compiled for values of ``dtype`` and
    sparse indices of ``index`` (NumPy dtypes), or loaded from the cache, as a
    first-class function: the argument its parallel kernel calls it through.
    Made once per body and dtypes."""
    return _first_class(body, np.dtype(dtype), np.dtype(index))


class _TypedFunction(types.CompileResultWAP):
    """A compiled body as a first-class function that keeps its Numba type.

    Numba types a :class:`~numba.core.types.CompileResultWAP` argument
    afresh at every call of the kernel that takes it: a new
    :class:`~numba.core.types.FunctionType` of the body's signature, which
    Numba then interns. Here the type is made once and returned by
    :func:`_typeof_typed_function`. A call of ``sweep_lane_chunks`` with no
    rows to sweep took 28-99 us with a plain ``CompileResultWAP`` and
    10-21 us with this one (medians of 10 x 2,000 calls, the two
    alternating, four processes, float32 and float64; a kernel with no
    function argument and no work, about 8 us). Small fits call block
    kernels two to four times in an iteration of a millisecond or two."""

    def __init__(self, compile_result, numba_type):
        super().__init__(compile_result)
        self.numba_type = numba_type


@typeof_impl.register(_TypedFunction)
def _typeof_typed_function(val, c):
    return val.numba_type


@functools.lru_cache(maxsize=None)
def _first_class(body, dtype, index):
    dtype, index = from_dtype(dtype), from_dtype(index)
    arguments = block_arguments(body, dtype, index)
    body.compile(arguments)
    compiled = body.overloads[arguments]
    declared = block_type(body, dtype, index)
    if types.FunctionType(compiled.signature) != declared:
        raise TypeError(f"{body.__name__} returns {compiled.signature.return_type}, not its declared kind")
    return _TypedFunction(compiled, declared)
