"""Slow, obviously-correct NumPy twins of fastnmf's objective, updates and kernels.

Every function here works in float64 on whole dense arrays, with no chunks, no
threads and no cleverness, so that it can be read against the formulas:

- the beta-divergence objective and the penalties, with scikit-learn's
  definitions (Fevotte & Idier 2011, eq. (4)-(6));
- one multiplicative update of W and of H for any beta, any dense V and any
  non-negative weight matrix M (M = ones when nothing is masked);
- one twin per kernel of :mod:`fastnmf._kernels`, written from the kernel's
  docstring: same inputs (raw CSR triplets, ``beta``, ``eps``), results
  returned instead of written in place.

The tests compare ``comp = kernel(...)`` with ``ref = naive.twin(...)`` by
``assert_allclose``. The masked-data tests reuse the weighted twins: pass the
mask as ``M`` (booleans or weights); entries whose weight is zero are never
read from V, so V may hold NaN there.

The epsilon policy is reproduced as :mod:`fastnmf._epsilon` states it
(:func:`clamp`): for beta < 2, a product ``(WH)_ij`` is replaced by
``max((WH)_ij, EPS)`` in the update terms and, where V_ij > 0, in the
objective; where V_ij = 0 the objective uses d(0 | y) = y^beta / beta (y for
KL) with y unclamped, so an exact fit has objective 0. beta >= 2 never
clamps. A zero denominator becomes EPS, and factor entries below the dtype's
smallest normal number become zero.
"""

import numpy as np

EPS = float(np.finfo(np.float32).eps)


# --------------------------------------------------------------------------
# Objective
# --------------------------------------------------------------------------


def clamp(WH, beta, eps=EPS):
    """``WH`` as the updates (and the objective where V > 0) see it:
    ``max(WH, eps)`` for beta < 2, as it is otherwise."""
    WH = np.asarray(WH, dtype=np.float64)
    return np.maximum(WH, eps) if beta < 2 else WH


def ones_like_mask(V, M):
    """M as float64 weights (all ones when ``M`` is None)."""
    if M is None:
        return np.ones(np.shape(V))
    return np.asarray(M, dtype=np.float64)


def observed_values(V, M):
    """V with the entries of zero weight replaced by 0 (they may hold NaN)."""
    V = np.asarray(V, dtype=np.float64)
    return np.where(ones_like_mask(V, M) > 0, V, 0.0)


def divergence(V, WH, beta, eps=EPS):
    """Elementwise beta-divergence d_beta(V | WH), float64, scikit-learn's
    definitions:

    - beta = 2: 0.5 (v - y)^2
    - beta = 1: v log(v / y) - v + y, with 0 log 0 = 0
    - beta = 0: v / y - log(v / y) - 1
    - otherwise: (v^b + (b - 1) y^b - b v y^(b - 1)) / (b (b - 1))

    where y = :func:`clamp` (WH) where v > 0; where v = 0 (beta > 0) it is
    :func:`zero_divergence` of the unclamped WH.
    """
    v = np.asarray(V, dtype=np.float64)
    WH = np.asarray(WH, dtype=np.float64)
    y = clamp(WH, beta, eps)
    if beta == 2:
        return 0.5 * (v - y) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        if beta == 1:
            v_log = np.where(v > 0, v * np.log(np.where(v > 0, v, 1.0) / y), 0.0)
            d = v_log - v + y
        elif beta == 0:
            d = v / y - np.log(v / y) - 1.0
        else:
            d = (v**beta + (beta - 1.0) * y**beta - beta * v * y ** (beta - 1.0)) / (beta * (beta - 1.0))
    if beta > 0:
        d = np.where(v == 0, zero_divergence(WH, beta), d)
    return d


def zero_divergence(WH, beta):
    """d_beta(0 | WH) = WH^beta / beta (WH for beta = 1), unclamped, beta > 0."""
    WH = np.asarray(WH, dtype=np.float64)
    return WH if beta == 1 else WH**beta / beta


def divergence_sum(V, WH, beta, M=None, eps=EPS):
    """The data term of the objective given the product WH:
    sum_ij M_ij d_beta(V_ij | (WH)_ij), float64.

    Parameters
    ----------
    V : array of shape (m, n)
        Dense data; may hold NaN where M is 0.
    WH : array of shape (m, n)
    beta : float
    M : None or array of shape (m, n)
        Non-negative weights (booleans allowed); None means all ones.
    """
    WH = np.asarray(WH, dtype=np.float64)
    weights = ones_like_mask(V, M)
    observed = weights > 0
    values = observed_values(V, M)
    d = np.zeros(WH.shape)
    # Evaluate only where observed: d_beta(0 | y) is infinite for beta <= 0.
    d[observed] = divergence(values[observed], WH[observed], beta, eps)
    return float(np.sum(weights[observed] * d[observed]))


def beta_divergence(V, W, H, beta, M=None, eps=EPS):
    """sum_ij M_ij d_beta(V_ij | (WH)_ij) for W of shape (m, r) and H of
    shape (r, n); see :func:`divergence_sum`."""
    WH = np.asarray(W, dtype=np.float64) @ np.asarray(H, dtype=np.float64)
    return divergence_sum(V, WH, beta, M, eps)


def penalty(A, l1, l2):
    """sum_i l1_i ||A_i||_1 + 0.5 l2_i ||A_i||_2^2 over the rows A_i of A
    (``l1``, ``l2``: scalars or one weight per row)."""
    A = np.asarray(A, dtype=np.float64)
    l1 = np.broadcast_to(np.asarray(l1, dtype=np.float64), A.shape[:1])
    l2 = np.broadcast_to(np.asarray(l2, dtype=np.float64), A.shape[:1])
    return float(np.sum(l1 * A.sum(axis=1)) + 0.5 * np.sum(l2 * (A**2).sum(axis=1)))


def sklearn_penalties(m, n, alpha_W, alpha_H, l1_ratio):
    """(l1_W, l2_W, l1_H, l2_H) as scikit-learn scales them (``alpha_W``
    times n for W, ``alpha_H`` times m for H), for :func:`penalty` and the
    updates below (per row of W and per column of H, i.e. row of H^T)."""
    return (
        alpha_W * l1_ratio * n,
        alpha_W * (1.0 - l1_ratio) * n,
        alpha_H * l1_ratio * m,
        alpha_H * (1.0 - l1_ratio) * m,
    )


def objective(V, W, H, beta, M=None, l1_W=0.0, l2_W=0.0, l1_H=0.0, l2_H=0.0):
    """The full objective: :func:`beta_divergence` plus the penalties of W
    (per row) and of H (per column)."""
    return beta_divergence(V, W, H, beta, M) + penalty(W, l1_W, l2_W) + penalty(np.asarray(H).T, l1_H, l2_H)


# --------------------------------------------------------------------------
# Multiplicative updates
# --------------------------------------------------------------------------


def mm_exponent(beta):
    """gamma(beta), Fevotte & Idier (2011) eq. (60): 1/(2 - beta) for
    beta < 1, 1 for 1 <= beta <= 2, 1/(beta - 1) for beta > 2."""
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def update_terms_W(V, W, H, beta, M=None, eps=EPS):
    """Numerator and denominator (without penalties) of the W update:

        num = (M * V * (WH)^(beta - 2)) H^T,   den = (M * (WH)^(beta - 1)) H^T

    with WH clamped as in :func:`clamp`. Entries of zero weight contribute
    nothing. Returns float64 arrays of shape (m, r).
    """
    H = np.asarray(H, dtype=np.float64)
    WH = clamp(np.asarray(W, dtype=np.float64) @ H, beta, eps)
    weights = ones_like_mask(V, M)
    values = observed_values(V, M)
    num_matrix = weights * values * WH ** (beta - 2.0)
    den_matrix = weights * WH ** (beta - 1.0)
    return num_matrix @ H.T, den_matrix @ H.T


def apply_update(A, num, den, l1=0.0, l2=0.0, gamma=1.0, eps=EPS, tiny=None):
    """A * (num / (den + l1 + l2 A)) ** gamma with the epsilon policy: a zero
    denominator becomes ``eps``, entries below ``tiny`` become 0.

    ``l1``, ``l2``: scalars or one weight per row of A. ``den`` may have a
    single row shared by every row of A. ``tiny`` defaults to float64's
    smallest normal number.
    """
    A = np.asarray(A, dtype=np.float64)
    l1 = np.asarray(l1, dtype=np.float64).reshape(-1, 1) if np.ndim(l1) else float(l1)
    l2 = np.asarray(l2, dtype=np.float64).reshape(-1, 1) if np.ndim(l2) else float(l2)
    d = np.asarray(den, dtype=np.float64) + l1 + l2 * A
    d = np.where(d == 0, eps, d)
    new = A * (np.asarray(num, dtype=np.float64) / d) ** gamma
    if tiny is None:
        tiny = np.finfo(np.float64).tiny
    return np.where(new < tiny, 0.0, new)


def mu_update_W(V, W, H, beta, M=None, l1=0.0, l2=0.0, eps=EPS, tiny=None):
    """One majorization-minimization update of W (Lee & Seung 2001; Fevotte &
    Idier 2011):

        W <- W * (num / (den + l1 + l2 W)) ** gamma(beta)

    with ``num`` and ``den`` from :func:`update_terms_W`. Returns a new float64
    array of shape (m, r); nothing is modified.
    """
    num, den = update_terms_W(V, W, H, beta, M, eps)
    return apply_update(W, num, den, l1, l2, mm_exponent(beta), eps, tiny)


def mu_update_H(V, W, H, beta, M=None, l1=0.0, l2=0.0, eps=EPS, tiny=None):
    """One update of H: the W update of the transposed problem
    V^T ~ H^T W^T (``l1``, ``l2`` per column of H). Returns shape (r, n)."""
    V_t = np.asarray(V).T
    M_t = None if M is None else np.asarray(M).T
    return mu_update_W(V_t, np.asarray(H).T, np.asarray(W).T, beta, M_t, l1, l2, eps, tiny).T


def mu_iteration(V, W, H, beta, M=None, l1_W=0.0, l2_W=0.0, l1_H=0.0, l2_H=0.0):
    """W then H, as fastnmf and scikit-learn order them. Returns (W, H)."""
    W = mu_update_W(V, W, H, beta, M, l1_W, l2_W)
    H = mu_update_H(V, W, H, beta, M, l1_H, l2_H)
    return W, H


# --------------------------------------------------------------------------
# Kernel twins (fastnmf._kernels), from their docstrings
# --------------------------------------------------------------------------


def csr_to_dense(indptr, indices, data, shape):
    """The dense matrix of CSR triplets (stored duplicates add up)."""
    X = np.zeros(shape)
    for i in range(shape[0]):
        for p in range(indptr[i], indptr[i + 1]):
            X[i, indices[p]] += data[p]
    return X


def csr_pattern(indptr, indices, shape):
    """Boolean matrix of the stored positions."""
    return csr_to_dense(indptr, indices, np.ones(len(indices)), shape) > 0


def csr_weight_matrix(indptr, indices, weights, shape):
    """Dense weights M at the stored entries (``weights`` empty: all ones),
    zero elsewhere."""
    if len(weights) == 0:
        weights = np.ones(len(indices))
    return csr_to_dense(indptr, indices, weights, shape)


def gram(B):
    """B^T B, in float64."""
    B = np.asarray(B, dtype=np.float64)
    return B.T @ B


def times_symmetric(A, G):
    """A @ G, in float64."""
    return np.asarray(A, dtype=np.float64) @ np.asarray(G, dtype=np.float64)


def row_dots(X, Bt):
    """X @ Bt^T, in float64."""
    return np.asarray(X, dtype=np.float64) @ np.asarray(Bt, dtype=np.float64).T


def csr_times_dense(indptr, indices, data, B, shape):
    """X @ B."""
    return csr_to_dense(indptr, indices, data, shape) @ np.asarray(B, dtype=np.float64)


def csr_sampled_numerator(indptr, indices, data, A, B, beta, eps=EPS):
    """``(X * clamp(A B^T)^(beta - 2)) @ B`` and the loss part
    ``sum over stored (i, j) of d(x_ij | ab_ij) - d(0 | ab_ij)`` (beta > 0).

    Returns ``(out of shape (m, r), loss float)``.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    shape = (A.shape[0], B.shape[0])
    X = csr_to_dense(indptr, indices, data, shape)
    stored = csr_pattern(indptr, indices, shape)
    AB = A @ B.T
    coef = np.where(stored, X * clamp(AB, beta, eps) ** (beta - 2.0), 0.0)
    gap = divergence(X, AB, beta, eps) - zero_divergence(AB, beta)
    return coef @ B, float(np.sum(gap[stored]))


def csr_observed_terms(indptr, indices, data, weights, A, B, beta, eps=EPS):
    """Over X's stored entries only, with weights M (empty: ones):

        num = (M * X * (A B^T)^(beta - 2)) @ B,  den = (M * (A B^T)^(beta - 1)) @ B

    and the loss sum M d(x | ab). Stored entries of weight 0 are skipped (their
    data may be anything). Returns ``(num, den, loss)``.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    shape = (A.shape[0], B.shape[0])
    M = csr_weight_matrix(indptr, indices, weights, shape)
    X = csr_to_dense(indptr, indices, data, shape)
    num, den = update_terms_W(X, A, B.T, beta, M, eps)
    loss = divergence_sum(X, A @ B.T, beta, M, eps)
    return num, den, loss


def dense_terms(V, weights, beta, wh, eps=EPS):
    """From wh = W H: ``(M V wh^(beta-2), M wh^(beta-1), sum M d(V | wh))``,
    wh clamped unless beta == 2; entries of weight 0 give 0 (V may be NaN
    there). ``weights`` empty (size 0) means all ones."""
    M = None if np.size(weights) == 0 else weights
    values = observed_values(V, M)
    mask = ones_like_mask(V, M)
    y = clamp(wh, beta, eps)
    num_matrix = mask * values * y ** (beta - 2.0)
    den_matrix = mask * y ** (beta - 1.0)
    loss = divergence_sum(V, wh, beta, M, eps)
    return num_matrix, den_matrix, loss


def dense_tile_terms(X, weights, A, B, beta, eps=EPS):
    """``(num, den, loss)`` of the update of A on a dense X: the matrices of
    :func:`dense_terms` at A B^T, times B."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    num_matrix, den_matrix, loss = dense_terms(X, weights, beta, A @ B.T, eps)
    return num_matrix @ B, den_matrix @ B, loss


def all_entries_power_product(A, B, beta, eps=EPS):
    """``(clamp(A B^T)^(beta - 1) @ B, sum (A B^T)^beta)`` (the sum unclamped)."""
    P = np.asarray(A, dtype=np.float64) @ np.asarray(B, dtype=np.float64).T
    return (clamp(P, beta, eps) ** (beta - 1.0)) @ np.asarray(B, dtype=np.float64), float(np.sum(P**beta))


def multiplicative_update(A, num, den, gram, l1, l2, gamma, eps=EPS, tiny=None):
    """The kernel's contract: see :func:`apply_update`; with a non-empty
    ``gram`` G, the denominator is A G."""
    if np.size(gram):
        den = times_symmetric(A, gram)
    return apply_update(A, num, den, l1, l2, gamma, eps, tiny)


def hals_rows(A, P, G, l1, l2, tiny, max_sweeps, delta_squared):
    """The HALS kernel's contract, one row at a time: each sweep sets every
    entry of the row, in column order, to its exact minimizer
    max(0, (P_ik - l1_i - sum_{l != k} A_il G_lk) / (G_kk + l2_i)) (0 if the
    denominator is below ``tiny``, where its reciprocal would overflow; a
    value below ``tiny``: 0); a row stops after a sweep whose squared change
    is at most ``delta_squared`` times its first sweep's."""
    A = np.array(A, dtype=np.float64)
    P = np.asarray(P, dtype=np.float64)
    G = np.asarray(G, dtype=np.float64)
    for i in range(A.shape[0]):
        first = None
        for _ in range(max_sweeps):
            before = A[i].copy()
            for k in range(A.shape[1]):
                others = A[i] @ G[:, k] - A[i, k] * G[k, k]
                denominator = G[k, k] + l2[i]
                value = (P[i, k] - l1[i] - others) / denominator if denominator >= tiny else 0.0
                A[i, k] = value if value >= tiny else 0.0
            change = float(np.sum((A[i] - before) ** 2))
            if first is None:
                first = change
            elif change <= delta_squared * first:
                break
    return A


def frobenius_penalized(X, A, B, l1, l2):
    """0.5 ||X - A B^T||^2 + sum_i l1_i |A_i| + 0.5 l2_i ||A_i||^2 (float64)."""
    R = np.asarray(X, dtype=np.float64) - np.asarray(A, dtype=np.float64) @ np.asarray(B, dtype=np.float64).T
    A = np.asarray(A, dtype=np.float64)
    return 0.5 * np.sum(R**2) + np.sum(l1 * A.sum(axis=1)) + 0.5 * np.sum(l2 * (A**2).sum(axis=1))


# --------------------------------------------------------------------------
# Accelerated MU (Gillis & Glineur 2012), the unmasked Frobenius loss
# --------------------------------------------------------------------------


def amu_count(stored, rows, other_rows, r, alpha=2.0, most=50):
    """How many inner updates an A-MU step allows: 1 + floor(alpha * rho),
    at most ``most``, with rho = 1 + (products' cost) / (one update's cost):
    stored r + other_rows r^2 multiply-adds for P and G, rows r (r + 1) for
    an update (Gillis & Glineur 2012)."""
    rho = 1.0 + (stored * r + other_rows * r * r) / (rows * r * (r + 1))
    return int(min(most, 1 + np.floor(alpha * rho)))


def amu_updates(A, P, G, l1, l2, count, delta=0.1):
    """Up to ``count`` Frobenius MU updates of A for fixed P = X B and
    G = B^T B, stopping after an update that changes A by at most ``delta``
    times the first did (Frobenius norms). Returns a new float64 array."""
    A = np.asarray(A, dtype=np.float64)
    first = None
    for _ in range(count):
        new = apply_update(A, P, A @ G, l1, l2)
        change = float(np.sum((new - A) ** 2))
        A = new
        if first is None:
            first = change
        elif change <= delta * delta * first:
            break
    return A


def amu_iteration(V, W, H, stored, l1_W=0.0, l2_W=0.0, l1_H=0.0, l2_H=0.0):
    """One A-MU iteration: W's inner updates for P = V H^T and G = H H^T,
    then H's for V^T W and W^T W. ``stored``: V's stored entries (m n when
    dense), which set the counts. Returns (W, H)."""
    V = np.asarray(V, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    Ht = np.asarray(H, dtype=np.float64).T
    (m, n), r = V.shape, W.shape[1]
    W = amu_updates(W, V @ Ht, Ht.T @ Ht, l1_W, l2_W, amu_count(stored, m, n, r))
    Ht = amu_updates(Ht, V.T @ W, W.T @ W, l1_H, l2_H, amu_count(stored, n, m, r))
    return W, Ht.T


# --------------------------------------------------------------------------
# HALS with extrapolation (Ang & Gillis 2019), the unmasked Frobenius loss
# --------------------------------------------------------------------------


def hals_count(stored, rows, other_rows, r, alpha=0.5, most=50):
    """How many sweeps a HALS step allows: 1 + floor(alpha * rho), at most
    ``most``, with rho = 1 + (2 stored r + other_rows r^2) / (rows r (r + 1))."""
    rho = 1.0 + (2.0 * stored * r + other_rows * r * r) / (rows * r * (r + 1))
    return int(min(most, 1 + np.floor(alpha * rho)))


def ehals_fit(V, W, H, iterations, stored, l1_W=0.0, l2_W=0.0, l1_H=0.0, l2_H=0.0, tiny=0.0, beta=0.5,
              growth=1.01, cap_growth=1.005, shrink=1.5, margin=0.0):  # fmt: skip
    """HALS with extrapolation, written out: returns (W, H, objectives,
    restarts): the pair the fit holds after the last iteration, (W, Y_H),
    the objective of the pair it held after 0, ..., ``iterations``
    iterations, and how many times the objective rose.

    An iteration: if the objective of the held pair is above the lowest one
    held so far, H's extrapolation is dropped (Y_H = H) and this iteration
    does not extrapolate; if it is above by more than ``margin``, beta
    shrinks too and its cap becomes the beta that failed;
    otherwise beta grows (up to its cap, which grows up to 1). Then W's HALS
    sweeps for Y_H, Y_W = max(0, W + beta (W - W_before)), H's sweeps for
    Y_W (from H, not Y_H), and Y_H = max(0, H + beta (H - H_before))."""
    V = np.asarray(V, dtype=np.float64)
    (m, n), r = V.shape, W.shape[1]
    W = np.asarray(W, dtype=np.float64)
    Yt = np.asarray(H, dtype=np.float64).T.copy()
    Ht = None
    rows_W, rows_H = (np.full(m, l1_W), np.full(m, l2_W)), (np.full(n, l1_H), np.full(n, l2_H))
    cap, lowest, extrapolate, restarts = 1.0, np.inf, True, 0
    objectives = []
    for iteration in range(iterations + 1):
        loss = frobenius_penalized(V, W, Yt, *rows_W) + penalty(Yt, l1_H, l2_H)
        if loss > lowest:
            restarts += 1
            if loss > lowest + margin:
                cap, beta = beta, beta / shrink
            if extrapolate:
                Yt = Ht.copy()
                loss = frobenius_penalized(V, W, Yt, *rows_W) + penalty(Yt, l1_H, l2_H)
            extrapolate = False
        elif Ht is not None:
            beta, cap, extrapolate = min(cap, growth * beta), min(1.0, cap_growth * cap), True
        lowest = min(loss, lowest)
        objectives.append(loss)
        if iteration == iterations:
            return W, Yt.T, np.array(objectives), restarts
        W_new = hals_rows(W, V @ Yt, Yt.T @ Yt, *rows_W, tiny, hals_count(stored, m, n, r), 0.01)
        Y_W = moved_on(W_new, W, beta, tiny) if extrapolate else W_new
        start = Yt if Ht is None else Ht
        Ht_new = hals_rows(start, V.T @ Y_W, Y_W.T @ Y_W, *rows_H, tiny, hals_count(stored, n, m, r), 0.01)
        Yt = moved_on(Ht_new, start, beta, tiny) if extrapolate else Ht_new
        W, Ht = W_new, Ht_new


def moved_on(A, before, beta, tiny=0.0):
    """max(0, A + beta (A - before)), except that a column this would make
    zero (a squared norm below ``tiny``, or exactly zero), where A's is
    not, stays A's."""
    Y = np.maximum(A + beta * (A - before), 0.0)

    def vanishes(X):
        squares = (X * X).sum(axis=0)
        return (squares < tiny) | (squares == 0)

    lost = vanishes(Y) & ~vanishes(A)
    Y[:, lost] = A[:, lost]
    return Y
