"""Initial W (row blocks, made where the blocks live) and Ht (on the driver).

- ``"random"``: Ht is drawn on the driver; each block draws its rows of W
  from streams seeded by ``random_state`` and the row numbers, so that W0
  does not depend on how V is chunked.
- ``"nndsvd"``, ``"nndsvda"``, ``"nndsvdar"``: NNDSVD (Boutsidis &
  Gallopoulos 2008) on a randomized truncated SVD (Halko, Martinsson & Tropp
  2011, Algorithm 4.4, with the oversampling and power iterations that
  scikit-learn's ``randomized_svd`` uses for its NNDSVD). Orthonormalizing
  the m x k range basis is a tall-skinny QR (Demmel, Grigori, Hoemmen &
  Langou 2012): each block sends its k x k R factor and gets a k x k rotation
  back. The in-memory solver uses an exact SVD, so the two NNDSVD starts
  agree to the accuracy of the randomized one, not bit for bit.

Between the driver and the blocks only n x k and k x k matrices move (k = r
+ 10): never anything m-sized.
"""

import numpy as np

from .._init import NNDSVD_ZERO, nndsvd_scale
from . import _blocks as B
from ._executor import submit_each, tree_sum

# Extra columns of the randomized range finder (scikit-learn's default).
OVERSAMPLES = 10

NNDSVD_FILL = {"nndsvd": "none", "nndsvda": "mean", "nndsvdar": "random"}


def random_init(executor, blocks, layouts, n, r, rng, mean, dtype):
    """``(W_blocks, Ht)`` of the scaled random init: scale * |N(0, 1)| with
    scale = sqrt(mean / r), as :func:`fastnmf.nmf`."""
    scale = np.sqrt(mean / r)
    seed = int(rng.integers(2**63))
    Ht = scale * np.abs(rng.standard_normal((n, r)))
    where = executor.locate(layouts, "during the random initialization")
    starts, rows = [b.row_start for b in blocks], [b.rows for b in blocks]
    W = submit_each(executor, "init-random", B.random_block, blocks, where, starts, rows, args=(seed, r, scale, dtype))
    return W, np.ascontiguousarray(Ht, dtype=dtype)


def nndsvd_init(executor, blocks, layouts, shape, r, name, rng, mean, dtype):
    """``(W_blocks, Ht)`` of NNDSVD, NNDSVDa or NNDSVDar (``name``)."""
    when = "during NNDSVD initialization"
    where = executor.locate(layouts, when)  # every block task runs where the block is
    Q, S, Vt, rotation = _randomized_svd(executor, blocks, layouts, where, shape, r, rng)
    seed = int(rng.integers(2**63))
    norms = submit_each(executor, "nndsvd-norms", B.nndsvd_norms, blocks, where, Q, args=(rotation,))
    U = submit_each(executor, "nndsvd-U", B.first, blocks, where, norms)
    parts = submit_each(executor, "nndsvd-parts", B.second, blocks, where, norms)
    squared = executor.gather(tree_sum(executor, parts, B.add_arrays, "nndsvd-sum"), when)
    del norms, parts
    Ht, coefficients, signs = _nndsvd_factors(S, Vt, np.sqrt(squared), r)
    scale = nndsvd_scale(mean)  # threshold and fill for V's scale, as fastnmf.nmf
    zero_threshold, mean = NNDSVD_ZERO * scale, mean / scale
    Ht[Ht < zero_threshold] = 0
    fill = NNDSVD_FILL[name]
    if fill == "mean":
        Ht[Ht == 0] = mean
    elif fill == "random":
        Ht[Ht == 0] = np.abs(mean * rng.standard_normal(int((Ht == 0).sum())) / 100)
    starts = [b.row_start for b in blocks]
    W = submit_each(
        executor, "nndsvd-W", B.nndsvd_block, blocks, where, U, starts,
        args=(coefficients, signs, fill, mean, seed, dtype, zero_threshold),
    )  # fmt: skip
    return W, np.ascontiguousarray(Ht, dtype=dtype)


def _randomized_svd(executor, blocks, layouts, where, shape, r, rng):
    """Randomized subspace iteration on the blocks' init data X (unobserved
    entries as zeros). Returns ``(Q, S, Vt, rotation)``: handles of the
    blocks of the orthonormal basis Q (m x k), the r leading singular values,
    the r leading right singular vectors Vt (r x n) and the k x r rotation
    with U = Q @ rotation (the r leading left singular vectors)."""
    m, n = shape
    k = min(r + OVERSAMPLES, m, n)
    power_iterations = 7 if r < 0.1 * min(m, n) else 4  # scikit-learn's "auto"
    basis = rng.standard_normal((n, k))
    for round_ in range(power_iterations + 1):
        when = "during NNDSVD initialization"
        shared = executor.scatter(basis, when)
        qr = submit_each(executor, f"svd-qr-{round_}", B.range_qr, blocks, where, layouts, args=(shared,))
        local_Q = submit_each(executor, f"svd-localQ-{round_}", B.first, blocks, where, qr)
        R = executor.gather(submit_each(executor, f"svd-R-{round_}", B.second, blocks, where, qr), when)
        del qr
        rotations = _tsqr_rotations(R, k)
        projected = submit_each(
            executor, f"svd-project-{round_}", B.rotate_and_project, blocks, where, layouts, local_Q, rotations
        )
        del local_Q
        Q = submit_each(executor, f"svd-Q-{round_}", B.first, blocks, where, projected)
        parts = submit_each(executor, f"svd-XtQ-{round_}", B.second, blocks, where, projected)
        XtQ = executor.gather(tree_sum(executor, parts, B.add_arrays, f"svd-sum-{round_}"), when)
        del projected, parts
        if round_ < power_iterations:
            basis, _ = np.linalg.qr(XtQ)
    # X ~ Q (Q^T X) and Q^T X = XtQ^T (k x n) is small: its SVD finishes the job.
    left, S, Vt = np.linalg.svd(XtQ.T, full_matrices=False)
    return Q, S[:r], Vt[:r], np.ascontiguousarray(left[:, :r])


def _tsqr_rotations(R_factors, k):
    """The second step of a tall-skinny QR: with Y_i = Q_i R_i for each
    block, the QR of the stacked R_i gives each block the rotation that makes
    the Q_i of all blocks one orthonormal basis."""
    stacked = np.vstack(R_factors)
    Q, _ = np.linalg.qr(stacked)
    rotations = []
    start = 0
    for R in R_factors:
        rotations.append(np.ascontiguousarray(Q[start : start + R.shape[0], :k]))
        start += R.shape[0]
    return rotations


def _nndsvd_factors(S, Vt, norms, r):
    """NNDSVD's Ht (n x r), and for W the coefficient and sign of each
    column: from the singular values, the right singular vectors and the
    norms of the positive and negative parts of the left ones (2, r), the
    same choices as :func:`fastnmf._init._nndsvd`."""
    n = Vt.shape[1]
    Ht = np.zeros((n, r))
    coefficients = np.zeros(r)
    signs = np.zeros(r, dtype=np.int64)
    Ht[:, 0] = np.sqrt(S[0]) * np.abs(Vt[0])
    coefficients[0] = np.sqrt(S[0])
    for k in range(1, r):
        y = Vt[k]
        y_pos, y_neg = np.maximum(y, 0), np.maximum(-y, 0)
        pos = norms[0, k], np.linalg.norm(y_pos)
        neg = norms[1, k], np.linalg.norm(y_neg)
        if pos[0] * pos[1] >= neg[0] * neg[1]:
            sign, v, (nu, nv) = 1, y_pos, pos
        else:
            sign, v, (nu, nv) = -1, y_neg, neg
        if nu == 0 or nv == 0:
            continue
        scale = np.sqrt(S[k] * nu * nv)
        coefficients[k] = scale / nu
        signs[k] = sign
        Ht[:, k] = scale * v / nv
    return Ht, coefficients, signs

