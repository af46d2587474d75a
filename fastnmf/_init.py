"""Initial W and H: scaled random, or NNDSVD (Boutsidis & Gallopoulos 2008).

Every initial pair is drawn in float64 and cast to the working dtype, so that
a float32 and a float64 fit of the same data start from the same point (up
to rounding).
"""

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

INIT_NAMES = ("random", "nndsvd", "nndsvda", "nndsvdar")

# NNDSVD sets entries below this to zero (the value scikit-learn uses).
NNDSVD_ZERO = 1e-6

# The means of V for which NNDSVD is scikit-learn's exactly; see nndsvd_scale.
NNDSVD_PLAIN_MEANS = (4.0**-12, 4.0**12)

# A dense matrix with at most this many entries gets a full LAPACK SVD.
FULL_SVD_ENTRIES = 1 << 22


def default_init(r, shape):
    """scikit-learn's rule: NNDSVDa when r <= min(m, n), random otherwise."""
    return "nndsvda" if r <= min(shape) else "random"


def initialize(X, r, init, rng, dtype, mean):
    """Initial ``(W, Ht)`` (Ht is H transposed, n x r) for data ``X``.

    ``X`` is what the SVD sees: a dense array or a SciPy sparse matrix with
    unobserved entries as zeros. ``mean`` is the mean of the observed entries,
    which scales the random init and fills NNDSVDa's zeros.
    """
    m, n = X.shape
    if init == "random":
        scale = np.sqrt(mean / r)
        W = scale * np.abs(rng.standard_normal((m, r)))
        Ht = scale * np.abs(rng.standard_normal((n, r)))
    else:
        if r > min(m, n):
            raise ValueError(
                f"init={init!r} needs r <= min(m, n) = {min(m, n)}; got r={r}. "
                "Use init='random' or a smaller r."
            )
        scale = nndsvd_scale(mean)
        W, Ht = _nndsvd(X, r, rng, NNDSVD_ZERO * scale)
        fill = mean / scale
        if init == "nndsvda":
            W[W == 0] = fill
            Ht[Ht == 0] = fill
        elif init == "nndsvdar":
            W[W == 0] = np.abs(fill * rng.standard_normal(int((W == 0).sum())) / 100)
            Ht[Ht == 0] = np.abs(fill * rng.standard_normal(int((Ht == 0).sum())) / 100)
    return np.ascontiguousarray(W, dtype=dtype), np.ascontiguousarray(Ht, dtype=dtype)


def nndsvd_scale(mean):
    """The factor s by which NNDSVD's zero threshold is multiplied and
    NNDSVDa's and NNDSVDar's fill divided, for data of this ``mean``.

    The threshold (1e-6) and the fill (the mean of V) are absolute in
    scikit-learn's NNDSVD, which suits data of moderate scale only: entries of
    W and H scale as the square root of V's, so on V of mean 1e15 the fill
    makes W H about 1e30 (whose squares overflow float64 from V of about
    1e80), and on V of mean 1e-12 the threshold zeroes every entry. With s a
    power of two whose square is near the mean, NNDSVD of V is NNDSVD of
    V / s^2 scaled back by s: the same start for V and for V in other units.
    Within NNDSVD_PLAIN_MEANS (about 6e-8 to 1.7e7) s = 1, scikit-learn's
    NNDSVD exactly."""
    low, high = NNDSVD_PLAIN_MEANS
    if not mean > 0 or low <= mean <= high:
        return 1.0
    return 2.0 ** round(np.log2(mean) / 2)


def _nndsvd(X, r, rng, zero_threshold):
    """NNDSVD: for each of the top r singular triplets (s, u, v), keep the
    larger of the positive and the negative parts of u v^T, whose leading
    singular pair is non-negative and known in closed form. Entries below
    ``zero_threshold`` are set to zero."""
    U, S, Vt = truncated_svd(X, r, rng)
    m, n = X.shape
    W = np.zeros((m, r))
    Ht = np.zeros((n, r))
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    Ht[:, 0] = np.sqrt(S[0]) * np.abs(Vt[0])
    for k in range(1, r):
        x, y = U[:, k], Vt[k]
        x_pos, x_neg = np.maximum(x, 0), np.maximum(-x, 0)
        y_pos, y_neg = np.maximum(y, 0), np.maximum(-y, 0)
        norms_pos = np.linalg.norm(x_pos), np.linalg.norm(y_pos)
        norms_neg = np.linalg.norm(x_neg), np.linalg.norm(y_neg)
        if norms_pos[0] * norms_pos[1] >= norms_neg[0] * norms_neg[1]:
            u, v, (nu, nv) = x_pos, y_pos, norms_pos
        else:
            u, v, (nu, nv) = x_neg, y_neg, norms_neg
        if nu == 0 or nv == 0:
            continue
        scale = np.sqrt(S[k] * nu * nv)
        W[:, k] = scale * u / nu
        Ht[:, k] = scale * v / nv
    W[W < zero_threshold] = 0
    Ht[Ht < zero_threshold] = 0
    return W, Ht


def truncated_svd(X, r, rng):
    """The r leading singular triplets of X, largest first, deterministic for
    a given ``rng``. Sparse X is never made dense."""
    m, n = X.shape
    small = min(m, n)
    if not sp.issparse(X) and m * n <= FULL_SVD_ENTRIES:
        U, S, Vt = np.linalg.svd(np.asarray(X, dtype=np.float64), full_matrices=False)
        return U[:, :r], S[:r], Vt[:r]
    if not (X.count_nonzero() if sp.issparse(X) else np.count_nonzero(X)):  # ARPACK cannot start on X = 0
        return np.zeros((m, r)), np.zeros(r), np.zeros((r, n))
    if r >= small - 1:
        return _svd_from_gram(X, r)
    v0 = rng.uniform(-1.0, 1.0, small)
    X64 = X.astype(np.float64)
    U, S, Vt = spla.svds(X64, k=r, v0=v0, solver="arpack")
    order = np.argsort(S)[::-1]
    return U[:, order], S[order], Vt[order]


def _svd_from_gram(X, r):
    """SVD through the small Gram matrix when min(m, n) <= r + 1 (ARPACK
    cannot return that many triplets)."""
    X64 = X.astype(np.float64)
    transpose = X.shape[0] < X.shape[1]
    if transpose:
        X64 = X64.T
    gram = X64.T @ X64
    gram = gram.toarray() if sp.issparse(gram) else np.asarray(gram)
    eigenvalues, V = np.linalg.eigh(gram)
    order = np.argsort(eigenvalues)[::-1][:r]
    S = np.sqrt(np.maximum(eigenvalues[order], 0))
    V = V[:, order]
    XV = np.asarray(X64 @ V)
    U = np.divide(XV, S, out=np.zeros_like(XV), where=S > 0)
    if transpose:
        return V, S, U.T
    return U, S, V.T
