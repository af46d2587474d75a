"""The public functions: :func:`nmf` and :func:`transform`."""

import warnings

import numpy as np

from ._epsilon import EPS
from ._hals import ExtrapolatedHALSSteps, HALSSteps
from ._init import default_init, initialize
from ._loop import run
from ._losses import beta_from_loss
from ._mu import AcceleratedMultiplicativeSteps, MultiplicativeSteps
from ._problem import build_problem
from ._result import ConvergenceWarning, NMFResult
from ._terms import DenseTerms
from ._threads import numba_threads, threads_for
from ._validation import (
    REGULARIZATION_SCALES,
    as_dense_array,
    check_count,
    check_fit_options,
    check_init,
    check_l1_ratio,
    check_n_threads,
    check_nonnegative_real,
    penalty_weights,
)

SOLVERS = ("auto", "mu", "hals", "ehals", "amu")


def choose_solver(solver, beta, masked):
    """``"auto"`` is HALS with extrapolation for the unmasked Frobenius loss
    (from five starts each, it reached scikit-learn's cd loss sooner than
    plain HALS in the median in 18 of the 20 cases measured, and HALS several
    times sooner than MU; docs/performance.md) and MU otherwise."""
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {list(SOLVERS)}; got {solver!r}.")
    hals_possible = beta == 2.0 and not masked  # and A-MU's: both need the Gram matrix denominator
    if solver in ("hals", "ehals", "amu") and not hals_possible:
        raise ValueError(
            f'solver="{solver}" supports only the unmasked Frobenius loss (loss="frobenius", mask=None); '
            'use solver="mu" for other losses and for masks.'
        )
    if solver == "auto":
        return "ehals" if hals_possible else "mu"
    return solver


def _steps(solver, problem, penalties, r, update_H=True):
    if solver == "ehals" and update_H:
        return ExtrapolatedHALSSteps(problem.terms, penalties, problem.dtype, problem.nnz, r)
    if solver in ("hals", "ehals"):  # with H fixed there is nothing to extrapolate from
        return HALSSteps(problem.terms, penalties, problem.dtype, problem.nnz, r, update_H=update_H)
    if solver == "amu":
        return AcceleratedMultiplicativeSteps(problem.terms, penalties, problem.dtype, problem.nnz, update_H=update_H)
    return MultiplicativeSteps(problem.terms, penalties, problem.dtype, update_H=update_H)


def _threads_worth_using(problem, solver, r, n_threads):
    """How many of ``n_threads`` a fit's kernels use (:func:`threads_for`),
    from the multiply-adds of one kernel call: nnz r for the kernels that
    take the products. Dense Frobenius MU above r = 12 leaves its products
    to BLAS (on BLAS's threads), and its only kernel updates a factor,
    max(m, n) r entries: there a thread was as fast as two or faster in
    every case measured (the stock volumes, the faces, 2,000 x 3,000; r =
    10 and 50; float32 and float64; 0.99-1.38x, 1.38x on the stock volumes
    in float32 at r = 10: 0.34 against 0.47 ms per iteration, when BLAS
    still made the products there). Up to r = 12 Numba makes its products
    (:meth:`DenseTerms.products_by_numba`), m n r multiply-adds each. The
    factors are the same whatever the number of threads."""
    work = problem.nnz * r
    terms = problem.terms
    if solver == "mu" and isinstance(terms, DenseTerms) and terms.gram_path and not terms.products_by_numba(r):
        work = max(problem.shape) * r
    return threads_for(work, n_threads)


def nmf(
    V,
    r,
    *,
    loss="frobenius",
    mask=None,
    solver="auto",
    init=None,
    max_iter=200,
    tol=1e-4,
    random_state=None,
    alpha_W=0.0,
    alpha_H="same",
    l1_ratio=0.0,
    regularization_scale="shape",
    n_threads=None,
    callback=None,
    verbose=False,
):
    r"""Non-negative matrix factorization V ~ W H.

    Finds non-negative W (m x r) and H (r x n) that minimize

    .. math::

        \sum_{ij} M_{ij}\, d_\beta(V_{ij} \mid (WH)_{ij})
        + \ell_{1,W} \|W\|_1 + \tfrac12 \ell_{2,W} \|W\|_F^2
        + \ell_{1,H} \|H\|_1 + \tfrac12 \ell_{2,H} \|H\|_F^2

    where :math:`d_\beta` is the beta-divergence (scikit-learn's definitions:
    :math:`\tfrac12 (v - y)^2` for the Frobenius loss, :math:`v \log(v/y) - v
    + y` for Kullback-Leibler, :math:`v/y - \log(v/y) - 1` for
    Itakura-Saito) and M is the mask (all ones when ``mask`` is None). The
    updates are those of Lee & Seung (2001), with the exponent of Fevotte &
    Idier (2011) for beta outside [1, 2], or, for the Frobenius loss,
    accelerated HALS (Cichocki & Phan 2009; Gillis & Glineur 2012). Either
    way the objective never increases.

    Parameters
    ----------
    V : array-like or scipy.sparse matrix of shape (m, n)
        Non-negative data. float32 and float64 are kept (W and H come back
        in the same dtype); other real dtypes become float64. Sparse input in
        any SciPy format is used as CSR and never made dense.
    r : int
        The rank: number of columns of W and rows of H.
    loss : {"frobenius", "kullback-leibler", "itakura-saito"} or float
        The beta-divergence to minimize, by name or by its beta. beta <= 0
        needs V without zeros (where observed).
    mask : None, array-like or sparse matrix of shape (m, n), or "observed"
        Which entries to fit. An array of booleans or non-negative weights
        (0 = not observed; dense V may hold NaN there); a sparse matrix whose
        stored entries are the observed ones, with their values as weights;
        or ``"observed"`` for sparse V: its stored entries are observed and
        the others unknown, not zero (ratings). Masked sparse fits cost
        O(nnz r) per iteration. A row or column with nothing observed gets
        zeros in W or H.
    solver : {"auto", "mu", "hals", "ehals", "amu"}, default "auto"
        "mu": multiplicative updates, for every loss and mask. "hals":
        accelerated hierarchical alternating least squares (exact coordinate
        descent, what scikit-learn calls "cd"), for the unmasked Frobenius
        loss only. "ehals": "hals" with extrapolation (a variant of Ang &
        Gillis 2019), sooner to a given loss in most cases measured, but its
        objective may rise at an iteration and it may end elsewhere than
        "hals" from the same start; unmasked Frobenius only. "amu": accelerated
        multiplicative updates (each product reused for several updates,
        Gillis & Glineur 2012), for the unmasked Frobenius loss only.
        "auto" picks "ehals" where it applies (the soonest to a given loss
        in the median of the starts measured) and "mu" elsewhere.
    init : {"random", "nndsvd", "nndsvda", "nndsvdar"}, (W0, H0) or None
        How to start. None picks "nndsvda" when r <= min(m, n), else
        "random" (scikit-learn's rule). (W0, H0) must have shapes (m, r) and
        (r, n), V's working dtype, and be non-negative; they are copied.
    max_iter : int, default 200
        Maximum number of iterations; 0 returns the initial factors.
    tol : float, default 1e-4
        Stopping tolerance: every 10 iterations, stop when the relative
        decrease of sqrt(2 * objective) over those 10 iterations, divided by
        its initial value, is below ``tol``. 0 runs ``max_iter`` iterations.
    random_state : None, int or numpy.random.Generator
        Seeds the random and NNDSVD initializations.
    alpha_W, alpha_H : float, default 0.0 and "same"
        Regularization strengths of W and H (``"same"``: alpha_W), scaled as
        in scikit-learn: W's penalties by n, H's by m, so that
        :math:`\ell_{1,W} = n\,\alpha_W\,\rho` and
        :math:`\ell_{2,W} = n\,\alpha_W\,(1-\rho)` with ``l1_ratio`` = rho.
    l1_ratio : float in [0, 1], default 0.0
        The L1 share of the penalties.
    regularization_scale : {"shape", "observed"}, default "shape"
        "shape" scales every row of W by n and every column of H by m, as
        scikit-learn does. "observed" scales each row of W by the number of
        entries it observes and each column of H likewise (as Surprise's NMF
        does for ratings), so sparse users are not over-penalized. It counts
        observed entries (non-zero weights), not their weights. Without a
        mask the two are identical.
    n_threads : int or None
        The most Numba threads the kernels may use (default: all); the
        previous setting is restored afterwards. Small problems use fewer,
        since starting threads would cost more than it saves; the result
        is the same whatever the number of threads.
    callback : callable or None
        ``callback(iteration, W, H, loss)`` after each iteration, with
        read-only views of the factors and the objective; returning True
        stops the fit. With a callback the objective is evaluated every
        iteration, which costs a logarithm per stored entry for the
        Kullback-Leibler and Itakura-Saito losses.
    verbose : bool
        Print the objective every 10 iterations.

    Returns
    -------
    NMFResult
        With ``W``, ``H``, ``n_iter``, ``converged``, ``loss`` (final
        objective), ``loss_history`` (the objective before the first
        iteration, every 10 iterations, after the last one, and after every
        iteration when there is a callback), ``loss_iterations`` (after how
        many iterations each value of ``loss_history`` was taken) and
        ``data_loss``.

    References
    ----------
    D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix
    factorization", NIPS 2001. C. Fevotte and J. Idier, "Algorithms for
    nonnegative matrix factorization with the beta-divergence", Neural
    Computation 23(9), 2011. C. Boutsidis and E. Gallopoulos, "SVD based
    initialization: a head start for nonnegative matrix factorization",
    Pattern Recognition 41(4), 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnmf import nmf
    >>> V = np.array([[36, 3, 45, 54], [4, 34, 23, 31], [9, 65, 11, 0],
    ...               [17, 3, 3, 0], [0, 14, 7, 4]])
    >>> result = nmf(V, 2, random_state=0)
    >>> result.W.shape, result.H.shape
    ((5, 2), (2, 4))
    >>> bool(np.all(result.W >= 0))
    True
    """
    beta = beta_from_loss(loss)
    r, max_iter, tol, alpha_W, alpha_H, l1_ratio, callback, rng = check_fit_options(
        r=r, max_iter=max_iter, tol=tol, alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio,
        regularization_scale=regularization_scale, callback=callback, random_state=random_state,
    )  # fmt: skip
    n_threads = check_n_threads(n_threads)

    problem = build_problem(V, beta, mask)
    warn_if_below_eps(float(problem.init_data.max()), beta)
    solver = choose_solver(solver, beta, mask is not None)
    init = check_init(init, r, problem.shape, problem.dtype)
    if isinstance(init, tuple):
        W, Ht = init
    else:
        name = init if init is not None else default_init(r, problem.shape)
        W, Ht = initialize(problem.init_data, r, name, rng, problem.dtype, problem.mean)

    m, n = problem.shape
    if regularization_scale == "observed":
        scale_W, scale_H = problem.row_counts, problem.col_counts
    else:
        scale_W, scale_H = np.full(m, n), np.full(n, m)
    penalties = (
        penalty_weights(alpha_W, l1_ratio, scale_W, problem.dtype, "alpha_W"),
        penalty_weights(alpha_W, 1 - l1_ratio, scale_W, problem.dtype, "alpha_W"),
        penalty_weights(alpha_H, l1_ratio, scale_H, problem.dtype, "alpha_H"),
        penalty_weights(alpha_H, 1 - l1_ratio, scale_H, problem.dtype, "alpha_H"),
    )
    steps = _steps(solver, problem, penalties, r)
    with numba_threads(_threads_worth_using(problem, solver, r, n_threads)):
        n_iter, converged, history, history_iterations, data_loss = run(
            steps, W, Ht, penalties, max_iter=max_iter, tol=tol, callback=callback, verbose=verbose
        )
    if not converged and n_iter == max_iter and max_iter > 0 and tol > 0:
        warnings.warn(
            f"nmf stopped at max_iter={max_iter} before the objective met tol={tol}; "
            "raise max_iter or tol.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return NMFResult(
        W=W,
        H=np.ascontiguousarray(Ht.T),
        n_iter=n_iter,
        converged=converged,
        loss=float(history[-1]),
        loss_history=history,
        loss_iterations=history_iterations,
        data_loss=float(data_loss),
        beta=beta,
    )


def warn_if_below_eps(largest, beta):
    """Warn where every observed entry of V is below EPS (``largest``, V's
    largest observed entry, is) and beta < 2: W H is clamped at EPS in the
    updates (fastnmf._epsilon, rule 1), so the fit cannot come near V and
    stops at once, looking converged. The warning names the line that
    called the function that calls this one."""
    if beta < 2:
        if 0 < largest < EPS:
            warnings.warn(
                f"V's largest entry {largest:.3g} is below {EPS:.3g}, the floor at which W H is clamped for "
                f"beta = {beta:g} < 2 (as in scikit-learn): the fit cannot follow V. Rescale V, e.g. V / V.max().",
                UserWarning,
                stacklevel=3,
            )


def check_fixed_H(H, n):
    """transform's H, checked: a dense, finite, non-negative (r, n) array."""
    array = as_dense_array(H, "H")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"H must be an array of real numbers of shape (r, {n}); got {type(H).__name__} {H!r:.60}.")
    H = array
    if H.ndim != 2 or H.shape[1] != n or H.shape[0] < 1:
        raise ValueError(f"H must have shape (r, {n}) to match V's {n} columns; got {H.shape}.")
    if not np.isfinite(H).all() or H.min() < 0:
        raise ValueError("H must be finite and non-negative.")
    return H


def transform(
    V,
    H,
    *,
    loss="frobenius",
    mask=None,
    solver="auto",
    max_iter=200,
    tol=1e-4,
    alpha_W=0.0,
    l1_ratio=0.0,
    regularization_scale="shape",
    n_threads=None,
):
    """W for new rows of data with H fixed (fold-in), without refitting.

    Minimizes the same objective as :func:`nmf` over W alone, so that a fitted
    topic model places new documents, or a recommender new users from a few
    ratings (``mask="observed"``), in parallel over rows. W starts at the
    constant sqrt(mean(V) / r), as in scikit-learn's ``transform``.

    Parameters
    ----------
    V : array-like or scipy.sparse matrix of shape (m, n)
        New rows, over the same n columns as H.
    H : array-like of shape (r, n)
        A fitted, non-negative H (e.g. ``nmf(...).H``).
    loss, mask, solver, max_iter, tol, alpha_W, l1_ratio, regularization_scale, n_threads
        As in :func:`nmf`.

    Returns
    -------
    ndarray of shape (m, r)
        W, in V's working dtype.
    """
    beta = beta_from_loss(loss)
    max_iter = check_count(max_iter, "max_iter")
    tol = check_nonnegative_real(tol, "tol")
    alpha_W = check_nonnegative_real(alpha_W, "alpha_W")
    l1_ratio = check_l1_ratio(l1_ratio)
    n_threads = check_n_threads(n_threads)
    if regularization_scale not in REGULARIZATION_SCALES:
        raise ValueError(
            f"regularization_scale must be one of {list(REGULARIZATION_SCALES)}; got {regularization_scale!r}."
        )
    problem = build_problem(V, beta, mask)
    warn_if_below_eps(float(problem.init_data.max()), beta)
    m, n = problem.shape
    H = check_fixed_H(H, n)
    r = H.shape[0]
    Ht = np.array(H.T, dtype=problem.dtype, order="C", copy=True)
    W = np.full((m, r), np.sqrt(problem.mean / r), dtype=problem.dtype)
    scale = problem.row_counts if regularization_scale == "observed" else np.full(m, n)
    zeros_H = np.zeros(n, dtype=problem.dtype)
    penalties = (
        penalty_weights(alpha_W, l1_ratio, scale, problem.dtype, "alpha_W"),
        penalty_weights(alpha_W, 1 - l1_ratio, scale, problem.dtype, "alpha_W"),
        zeros_H,
        zeros_H,
    )
    solver = choose_solver(solver, beta, mask is not None)
    steps = _steps(solver, problem, penalties, r, update_H=False)
    with numba_threads(_threads_worth_using(problem, solver, r, n_threads)):
        run(steps, W, Ht, penalties, max_iter=max_iter, tol=tol, update_H=False)
    return W
