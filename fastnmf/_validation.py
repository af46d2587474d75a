"""Input checks: anything a user passes becomes C-contiguous float32/float64
arrays or a sorted, summed CSR copy, or a ValueError/TypeError that says which
argument, what was expected and what came.

The caller's objects are never modified: whatever a later step writes to is a
copy made here.
"""

import numbers

import numpy as np
import scipy.sparse as sp

from ._init import INIT_NAMES

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def working_dtype(dtype, name):
    """float32 and float64 are kept; other real dtypes (integers, booleans,
    float16) become float64, as in scikit-learn."""
    dtype = np.dtype(dtype)
    if dtype in FLOAT_DTYPES:
        return dtype
    if dtype.kind in "biuf":
        return np.dtype(np.float64)
    raise TypeError(f"{name} must hold real numbers; got an array of dtype {dtype}.")


def check_matrix(V, name="V", allow_nan=False, keep_zeros=False):
    """``V`` as a C-contiguous float array or a canonical CSR copy.

    Returns ``(V, is_sparse)``. Sparse input in any SciPy format becomes a
    CSR array with summed duplicates and sorted indices, made from a copy;
    explicit zeros are dropped unless ``keep_zeros`` (with
    ``mask="observed"`` a stored zero is an observed zero). With
    ``allow_nan`` dense V may hold NaN; the mask check decides where.
    """
    if sp.issparse(V):
        if V.ndim != 2:
            raise ValueError(f"{name} must be a 2-D matrix; got a sparse array of shape {V.shape}.")
        return _canonical_csr(V, name, keep_zeros), True
    if isinstance(V, (str, bytes, dict, set)) or V is None:
        raise TypeError(f"{name} must be a NumPy array or a SciPy sparse matrix; got {type(V).__name__}.")
    try:
        array = np.asarray(V)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a NumPy array or a SciPy sparse matrix; could not convert it: {error}")
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (m x n); got an array of shape {array.shape}.")
    dtype = working_dtype(array.dtype, name)
    _check_shape(array.shape, name)
    # Aligned too: NumPy's matmul skips BLAS for unaligned arrays.
    array = np.require(array, dtype=dtype, requirements=["C", "A"])
    _check_values(array, name, allow_nan=allow_nan, shape=array.shape)
    return array, False


def _canonical_csr(V, name, keep_zeros):
    """A CSR array with V's entries, duplicates summed, indices sorted and
    (unless ``keep_zeros``) no stored zeros, with int32 indices where they
    fit. A CSR input already in that form is used without copying its data
    (nothing in fastnmf writes to it); anything else is converted from a
    copy, so the caller's object is never changed."""
    dtype = working_dtype(V.dtype, name)
    _check_shape(V.shape, name)
    if V.format in ("csr", "csc"):
        check_compressed_structure(V, name)
    reusable = (
        V.format == "csr"
        and V.dtype == dtype
        and V.has_canonical_format
        and (keep_zeros or not (V.data == 0).any())
    )
    if reusable:
        data, indices, indptr = V.data, V.indices, V.indptr
    else:
        X = sp.csr_array(V, dtype=dtype, copy=True)
        X.sum_duplicates()
        X.sort_indices()
        if not keep_zeros:
            X.eliminate_zeros()
        data, indices, indptr = X.data, X.indices, X.indptr
    _check_values(data, name, allow_nan=False, shape=V.shape)
    index_dtype = np.int32 if max(len(data), *V.shape) < np.iinfo(np.int32).max else np.int64
    indices = indices.astype(index_dtype, copy=False)
    indptr = indptr.astype(index_dtype, copy=False)
    return sp.csr_array((data, indices, indptr), shape=V.shape, copy=False)


def check_compressed_structure(V, name):
    """A CSR or CSC matrix whose ``indptr`` and ``indices`` describe its
    shape, checked before any kernel reads them: SciPy checks this only when
    asked (``check_format(full_check=True)``, which may also change the
    matrix), and an index beyond the shape would make the kernels read or
    write outside their arrays."""
    outer, inner = V.shape if V.format == "csr" else V.shape[::-1]
    indptr, indices = np.asarray(V.indptr), np.asarray(V.indices)
    nnz = len(indices)
    problem = None
    if indptr.ndim != 1 or len(indptr) != outer + 1:
        problem = f"indptr has {len(indptr)} entries for {outer} {'rows' if V.format == 'csr' else 'columns'}"
    elif indptr[0] != 0 or indptr[-1] != nnz or len(V.data) != nnz:
        problem = f"indptr runs from {indptr[0]} to {indptr[-1]} over {nnz} indices and {len(V.data)} values"
    elif (np.diff(indptr) < 0).any():
        problem = "indptr decreases"
    elif nnz and (indices.min() < 0 or indices.max() >= inner):
        bad = indices[(indices < 0) | (indices >= inner)][0]
        problem = f"an index {bad} lies outside [0, {inner})"
    if problem is not None:
        raise ValueError(f"{name} is not a valid {V.format.upper()} matrix of shape {V.shape}: {problem}.")


def _check_shape(shape, name):
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"{name} must have at least one row and one column; got shape {shape}.")


def _check_values(values, name, allow_nan, shape):
    """Finite (NaN allowed with ``allow_nan``), non-negative and small enough.

    Without ``allow_nan`` it takes two passes over the values, their minimum
    and maximum, through which a NaN propagates; an infinity ends up in one
    of them. A separate isfinite pass (and its boolean array) took a third:
    1.0 ms of a 400 x 10,304 float32 V's 7.6 ms of checks and setup."""
    if values.size == 0:
        return
    if allow_nan:
        if np.isinf(values).any():
            raise ValueError(f"{name} must be finite; it holds infinite values.")
        finite = values[~np.isnan(values)]
        if finite.size == 0:
            return
        smallest, largest = finite.min(), finite.max()
    else:
        smallest, largest = values.min(), values.max()
        if not (np.isfinite(smallest) and np.isfinite(largest)):
            kind = "NaN" if np.isnan(smallest) or np.isnan(largest) else "infinite"
            raise ValueError(
                f"{name} must be finite; it holds {kind} values. To leave entries out of the fit, "
                "pass mask= (e.g. mask=~np.isnan(V))."
            )
    if smallest < 0:
        raise ValueError(f"{name} must be non-negative; its smallest entry is {smallest!r}.")
    if largest > largest_safe_value(values.dtype, shape):
        raise ValueError(
            f"{name}'s largest entry {largest:.3g} is too large for {values.dtype} arithmetic: products "
            f"and squares of it would overflow. Rescale {name}, e.g. {name} / {name}.max()."
        )


def largest_safe_value(dtype, shape):
    """Entries above this could overflow the squares and sums of products
    that an update or the objective forms (sqrt(max) / max(m, n))."""
    return np.sqrt(np.finfo(dtype).max) / max(shape)


def check_rank(r):
    if isinstance(r, bool) or not isinstance(r, numbers.Integral):
        raise TypeError(f"r must be a positive integer; got {r!r} of type {type(r).__name__}.")
    if r < 1:
        raise ValueError(f"r must be a positive integer; got {r}.")
    if r > np.iinfo(np.intp).max:
        raise ValueError(f"r must be a positive integer no larger than {np.iinfo(np.intp).max}; got {r}.")
    return int(r)


def check_count(value, name):
    """A non-negative integer (e.g. ``max_iter``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer; got {value!r} of type {type(value).__name__}.")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {value}.")
    return int(value)


def check_nonnegative_real(value, name):
    """A finite real >= 0 (e.g. ``tol``, ``alpha_W``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a non-negative real number; got {value!r} of type {type(value).__name__}.")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite non-negative real number; got {value}.")
    return value


def check_l1_ratio(l1_ratio):
    value = check_nonnegative_real(l1_ratio, "l1_ratio")
    if value > 1:
        raise ValueError(f"l1_ratio must be between 0 and 1; got {value}.")
    return value


RANDOM_STATES = "random_state must be None, an int, a numpy.random.Generator or a RandomState"


def check_random_state(random_state):
    """A NumPy Generator from None, an int, a Generator or a RandomState."""
    if random_state is None or isinstance(random_state, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(random_state, bool):
            raise TypeError(f"{RANDOM_STATES}; got a bool.")
        if isinstance(random_state, numbers.Integral) and random_state < 0:
            raise ValueError(f"random_state must be a non-negative int; got {random_state}.")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    raise TypeError(f"{RANDOM_STATES}; got {type(random_state).__name__}.")


def check_init(init, r, shape, dtype):
    """``init`` as a name, or the user's ``(W0, H0)`` checked and copied as
    ``(W, Ht)`` in the working dtype."""
    if init is None or isinstance(init, str):
        if init is not None and init not in INIT_NAMES:
            raise ValueError(f"init must be one of {list(INIT_NAMES)}, None or a (W0, H0) pair; got {init!r}.")
        return init
    if not isinstance(init, (tuple, list)) or len(init) != 2:
        raise TypeError(f"init must be a string, None or a (W0, H0) pair of arrays; got {type(init).__name__}.")
    m, n = shape
    W0 = _check_factor(init[0], "W0", (m, r), dtype)
    H0 = _check_factor(init[1], "H0", (r, n), dtype)
    return W0, np.ascontiguousarray(H0.T)


def as_dense_array(value, name):
    """``np.asarray(value)``, with a TypeError naming ``name`` for a sparse
    matrix or for what NumPy cannot convert (a ragged list, say)."""
    if sp.issparse(value):
        raise TypeError(f"{name} must be a dense NumPy array; got a sparse matrix. Pass {name}.toarray().")
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a dense NumPy array; could not convert it: {error}") from None


def _check_factor(F, name, shape, dtype):
    F = as_dense_array(F, name)
    if F.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (from V's shape and r); got {F.shape}.")
    if F.dtype != dtype:
        raise TypeError(
            f"{name} must have V's working dtype {dtype}; got {F.dtype}. Cast it with .astype(np.{dtype})."
        )
    if not np.isfinite(F).all():
        raise ValueError(f"{name} must be finite; it holds NaN or infinite values.")
    if F.size and F.min() < 0:
        raise ValueError(f"{name} must be non-negative; its smallest entry is {F.min()!r}.")
    return np.array(F, dtype=dtype, order="C", copy=True)


def penalty_weights(alpha, share, scale, dtype, name):
    """The per-row L1 or L2 weights alpha * share * scale in the working
    dtype, refused where they would overflow it (inf penalties make NaN)."""
    weights = alpha * share * np.asarray(scale, dtype=np.float64)
    if weights.size and weights.max() > np.finfo(dtype).max:
        raise ValueError(
            f"{name}={alpha!r} is too large for {np.dtype(dtype).name}: times its scale (up to {np.max(scale)}, "
            f"see regularization_scale), the penalty exceeds {np.finfo(dtype).max:.3g}."
        )
    return weights.astype(dtype)


def check_n_threads(n_threads):
    import numba

    available = numba.config.NUMBA_NUM_THREADS
    if n_threads is None:
        return available
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads must be None or a positive integer; got {type(n_threads).__name__}.")
    if not 1 <= n_threads <= available:
        raise ValueError(
            f"n_threads must be between 1 and {available} (numba.config.NUMBA_NUM_THREADS); got {n_threads}."
        )
    return int(n_threads)


REGULARIZATION_SCALES = ("shape", "observed")


def check_fit_options(*, r, max_iter, tol, alpha_W, alpha_H, l1_ratio, regularization_scale, callback, random_state):
    """The options every fit takes, checked: returns ``(r, max_iter, tol,
    alpha_W, alpha_H, l1_ratio, callback, rng)`` with ``alpha_H="same"``
    resolved and ``random_state`` turned into a Generator."""
    r = check_rank(r)
    max_iter = check_count(max_iter, "max_iter")
    tol = check_nonnegative_real(tol, "tol")
    alpha_W = check_nonnegative_real(alpha_W, "alpha_W")
    same = isinstance(alpha_H, str) and alpha_H == "same"
    alpha_H = alpha_W if same else check_nonnegative_real(alpha_H, "alpha_H")
    l1_ratio = check_l1_ratio(l1_ratio)
    if regularization_scale not in REGULARIZATION_SCALES:
        raise ValueError(
            f"regularization_scale must be one of {list(REGULARIZATION_SCALES)}; got {regularization_scale!r}."
        )
    return r, max_iter, tol, alpha_W, alpha_H, l1_ratio, check_callback(callback), check_random_state(random_state)


def check_callback(callback):
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None; got {type(callback).__name__}.")
    return callback
