"""The numerator, denominator and objective of the multiplicative updates, for
each layout of the data.

Every update has the form ``A <- A * (num / (den + penalty)) ** gamma``, where
for the W update (A = W, B = H^T, X = V)

    num = (M * X * (A B^T)^(beta - 2)) @ B,   den = (M * (A B^T)^(beta - 1)) @ B

and the H update is the same with X = V^T, A = H^T and B = W (Lee & Seung
2001; Fevotte & Idier 2011). M is the mask of observed entries (all ones when
nothing is masked). Internally H is kept transposed (n x r) so that both
updates are row updates.

A layout class turns its data into these terms as cheaply as it can:

- :class:`DenseTerms`: V is a NumPy array. For the unmasked Frobenius loss
  BLAS does the O(m n r) products (V H^T, then Gram matrices); for the
  masked one, BLAS and an elementwise product; for any other beta one Numba
  kernel goes tile by tile, from a tile of W H to its share of the terms,
  with single-threaded BLAS calls on the tile (:func:`tile_terms`).
- :class:`SparseTerms`: V is CSR and its implicit zeros are zeros. A B^T is
  evaluated only at V's nonzeros; the implicit zeros' share of the
  denominator and the objective comes from r x r Gram matrices (beta = 2),
  column sums (beta = 1) or, for other beta, the dense tile kernel over all
  entries with V taken as zero (nothing m x n stored).
- :class:`ObservedTerms`: only the stored entries of a CSR matrix are
  observed (the ratings case, or any sparse mask); everything is O(nnz r).

Each class has ``w_terms(W, Ht, with_loss)`` -> ``(num, den, data_loss)``,
``h_terms(W, Ht)`` -> ``(num, den)`` and ``data_loss(W, Ht)``. ``den`` may
have a single row that every row shares, or be a :class:`GramDenominator`.
``data_loss`` is the float64 objective without penalties, or None when
``with_loss`` is false. The multiplicative updates take
``h_update(W, Ht, ...)`` -> the updated Ht, and where the class ``fuses``
(:class:`ObservedTerms`: the terms and the update in one pass, into new
arrays) ``w_update(W, Ht, ..., with_loss)`` -> ``(updated W, data_loss)``.
"""

import contextlib
import functools
from typing import NamedTuple

import numpy as np

from . import _kernels as K
from ._chunks import uniform_row_chunks
from ._csr import csr_product, observed_terms, sampled_numerator
from ._epsilon import EPS
from ._jit import read_only
from ._kernels.gram import BLAS_BLOCK_WORK, BLAS_SINGLE_THREAD_WORK
from ._kernels.products import COLUMNS, ROWS
from ._threads import blas_on_calling_thread

DENSE_TILE_ROWS = 32  # rows of A per parallel task of the dense kernel
HELD_TILE = (128, 512)  # the dense kernel's tiles when BLAS is held to the calling thread (rows evened out),
HELD_TILE_MIN_RANK = {4: 4, 8: 16}  # from this r on (by itemsize)
HELD_ROW_MULTIPLE = 8  # held tiles' rows, evened out, are rounded up to a multiple of this
HALS_PRODUCT_ROWS = 128  # rows of V (or V^T) per BLAS call in dense HALS's products (evened out), made so
HALS_BLOCKED_MIN_WORK = 50_000_000  # from this many multiply-adds (m n r) per product on (r > 12: always)
GRAM_CHUNKS = 64  # partial Gram matrices (r x r each) summed in chunk order
ROW_DOTS_MAX_RANK = 12  # numba_product (row_dots) up to this r; at 16 BLAS is about as fast
DGEMM_TRANSPOSED_MAX_RANK = 16  # dense_product's other orientation in float64 up to this r


class _Base:
    def __init__(self, shape, dtype, beta):
        self.shape = shape
        self.dtype = np.dtype(dtype)
        self.beta = float(beta)
        self.eps = self.dtype.type(EPS)
        self.beta_typed = self.dtype.type(beta)

    # Whether w_update and h_update make the terms and the update in one pass, into a new array
    # (:class:`ObservedTerms`); otherwise the update is made from the terms, in place.
    fuses = False

    def data_loss(self, W, Ht):
        return self.w_terms(W, Ht, with_loss=True)[2]

    def h_update(self, W, Ht, l1, l2, gamma, flush):
        """Ht (H, kept transposed) after its multiplicative update: Ht itself,
        updated in place, or a new array where the layout ``fuses``."""
        update_factor(Ht, *self.h_terms(W, Ht), l1, l2, gamma, self.eps, flush)
        return Ht


def dense_tiles(p, r, dtype, held):
    """(rows, columns) of the tiles of the dense kernel
    (:func:`fastnmf._kernels.dense.dense_tile_terms`) on factors A of p rows
    and r columns in ``dtype``; ``held`` says whether BLAS is held to the
    calling thread during the call (:func:`fastnmf._threads.blas_on_calling_thread`).

    Unheld, each BLAS call must stay under BLAS_SINGLE_THREAD_WORK
    multiply-adds, OpenBLAS's limit for running a product on the calling
    thread: 32 rows (at r = 50, float32, 400 x 10,304 and its transpose, one
    thread, KL: 32 x 163 tiles 1.15x faster than the 32 x 81 of
    BLAS_BLOCK_WORK). Held, the tiles are HELD_TILE (128 x 512) from
    r = HELD_TILE_MIN_RANK on, where single-threaded OpenBLAS runs the larger
    products nearer its full rate (docs/kernel_log.md, "Larger dense tiles,
    BLAS held to one thread", and "Held tiles from lower ranks": on a Zen 3,
    MU fits at r = 4-10 in float32 and 16-24 in float64 0.97-1.30x as fast,
    21 of 24 cases faster; float64 at r = 10 no faster, or slower).

    The held tiles' rows are evened out over p: as many blocks as 128-row
    tiles would make, of about equal height, rounded up to a multiple of
    HELD_ROW_MULTIPLE. The threads share out whole blocks, and 400 rows cut
    as 128 + 128 + 128 + 16 left one of 2 threads 256 rows and the other 144;
    as 104 + 104 + 104 + 88, the faces' W side ran 1.16-1.26x faster (tile
    kernel alone, 2 threads, KL and beta = 1.5, r = 32 and 50, both dtypes).
    Rounded up, since OpenBLAS's products were never faster on 118 rows
    than on 120 (the stock volumes' H side: 0.79-1.00x as fast). The tiles
    depend on the shape only, never on the number of threads."""
    if held and wants_held_tiles(r, dtype):
        rows, cols = HELD_TILE
        return even_rows(p, rows), cols
    return DENSE_TILE_ROWS, max(1, BLAS_SINGLE_THREAD_WORK // (DENSE_TILE_ROWS * max(r, 1)))


def even_rows(p, most):
    """Rows per block when p rows are cut into as many blocks as blocks of
    ``most`` rows would make, but of about equal height: rounded up to a
    multiple of HELD_ROW_MULTIPLE, never above ``most``. Depends on p only."""
    blocks = max(1, -(-p // most))
    even = -(-p // blocks)
    return min(most, -(-even // HELD_ROW_MULTIPLE) * HELD_ROW_MULTIPLE)


def wants_held_tiles(r, dtype):
    """Whether the tiles for r columns in ``dtype`` are larger when BLAS is held."""
    return r >= HELD_TILE_MIN_RANK[np.dtype(dtype).itemsize]


def tile_terms(X, weights, A, B, beta, eps, num, den, with_loss, with_den):
    """Run the dense tile kernel (the arguments are its own, see
    :func:`fastnmf._kernels.dense.dense_tile_terms`) on the tiles of
    :func:`dense_tiles`, holding BLAS to the calling thread where the larger
    tiles pay; returns the float64 objective (0.0 without ``with_loss``)."""
    r = A.shape[1]
    with blas_on_calling_thread() if wants_held_tiles(r, A.dtype) else contextlib.nullcontext(False) as held:
        rows, cols = dense_tiles(A.shape[0], r, A.dtype, held)
        parts = np.zeros(-(-A.shape[0] // rows))
        X, weights = read_only(X), read_only(weights)
        K.dense_tile_terms(X, weights, A, B, beta, eps, rows, cols, num, den, parts, with_loss, with_den)
    return float(parts.sum())


def row_dots_take(m, r):
    """Whether :func:`numba_product` takes an m-row V and an r-column B
    (:func:`fastnmf._kernels.products.row_dots`)."""
    return ROWS <= m and COLUMNS <= r <= ROW_DOTS_MAX_RANK


def numba_product(V, B):
    """V @ B (m x r, C order) for a C-ordered dense V (m x n) and a factor B
    (n x r), by Numba's threads (:func:`fastnmf._kernels.products.row_dots`;
    see :func:`row_dots_take`): 1.4-2.1x faster than OpenBLAS at r = 10,
    0.93-1.7x at r = 12 (2 threads, 1,259 x 470, 2,000 x 3,000, 400 x
    10,304 and their transposes, both dtypes). For iterations that make no
    multithreaded BLAS call besides: next to one, the OpenBLAS thread that
    spins on after it takes a core from the kernel (masked dense Frobenius
    MU, which makes W H by BLAS, ran 0.8-0.97x as fast with it)."""
    out = np.empty((V.shape[0], B.shape[1]), dtype=B.dtype)
    K.row_dots(read_only(V), read_only(np.ascontiguousarray(B.T)), out)
    return out


def dense_product(V, B):
    """V @ B (m x r, C order) for a dense V (m x n) and a factor B (n x r),
    by BLAS.

    In float64 with r <= DGEMM_TRANSPOSED_MAX_RANK it is computed as
    (B^T V^T)^T. The likely reason (not checked in OpenBLAS's source): its
    double-precision kernels work on blocks of rows of the output's
    column-major form, of which V @ B gives them r and the other
    orientation m. The product alone, 2 threads: r = 5 and 10 1.0-1.6x
    faster on 2,000 x 3,000, 3,000 x 2,000, 10,304 x 400, 400 x 10,304,
    5,000 x 400 and 20,000 x 300, 0.98-1.03x on 1,000 x 1,000 and
    1,259 x 470; at r = 20 to 100 0.75-1.57x (slower on 300 x 2,000 and
    1,000 x 1,000), so larger r keep V @ B. Whole Frobenius MU
    fits, float64, r = 10: 2,000 x 3,000 1.22x faster, the faces and the
    stock volumes 0.96-1.05x (before :func:`numba_product` took r = 4 to
    12 of the unmasked fits). In float32 the other orientation is
    0.55-0.85x as fast, so V @ B stays. scikit-learn's MU computes X @ H.T,
    the orientation of V @ B, in both dtypes."""
    if V.dtype == np.float64 and B.shape[1] <= DGEMM_TRANSPOSED_MAX_RANK:
        return np.ascontiguousarray((B.T @ V.T).T)
    return V @ B


def transposed_product(W, V):
    """V^T W (n x r, C order) for a dense V, computed as (W^T V)^T: the
    orientation scikit-learn uses, which OpenBLAS runs up to 1.6x faster
    than V^T W on some shapes (2,000 x 3,000, r = 10: 2.3 against 3.3 ms in
    float32, 3.7 against 5.6 ms in float64, 2 threads) and up to 1.3x slower
    on others (5,000 x 400 and 1,250 x 500, float32); either way it is the
    product scikit-learn makes."""
    return np.ascontiguousarray((W.T @ V).T)


def column_sums(A, dtype=None):
    """A's column sums as a 1 x r row, in ``dtype`` (A's by default). By
    einsum: ``A.sum(axis=0)`` reduces a tall array of few columns one short
    row at a time, 4x slower (20,000 x 10: 80 against 310 us), which was a
    fifth of a KL iteration on the 0.5M matrix."""
    return np.einsum("ij->j", A, dtype=dtype)[np.newaxis]


@functools.lru_cache(maxsize=16)
def _gram_chunks(n_rows, r):
    """Row chunks of gram(); remembered, since fits ask for the same ones at
    every iteration (the array is shared: kernels only read it)."""
    return uniform_row_chunks(n_rows, r * r, max_chunks=GRAM_CHUNKS)


def gram(B, in_float64=False):
    """B^T B (r x r) by a parallel Numba kernel that hands BLAS one small
    block of rows per call, never a multithreaded BLAS call (see
    :mod:`fastnmf._kernels.gram`); a B small enough for one such block is
    one BLAS call from here, which skips the kernel's start (stock volumes,
    1,259 x 10: 0.14 ms a call). Exactly symmetric (the upper triangle
    mirrored, whatever order BLAS added in): HALS reads its rows as columns.

    With ``in_float64``, in float64 whatever B's dtype, and with no float64
    copy of a float32 B: its blocks of rows are widened one at a time inside
    the kernel (:func:`fastnmf._kernels.gram_parts_widened`), the same blocks
    and BLAS calls as on a copy, so the same result to the last bit."""
    r = B.shape[1]
    widened = in_float64 and B.dtype != np.float64
    if B.shape[0] * r * r <= BLAS_BLOCK_WORK:
        A = B.astype(np.float64) if widened else B
        G = A.T @ A
    else:
        bounds = _gram_chunks(B.shape[0], r)
        parts = np.empty((len(bounds) - 1, r, r), dtype=np.float64 if widened else B.dtype)
        kernel = K.gram_parts_widened if widened else K.gram_parts
        kernel(np.ascontiguousarray(B), bounds, parts)  # BLAS on row blocks: C order
        G = parts.sum(axis=0)
    np.copyto(G, G.T, where=_strictly_lower(r))
    return G


@functools.lru_cache(maxsize=16)
def _strictly_lower(r):
    """Where gram() copies its upper triangle (read-only: shared)."""
    mask = np.tri(r, k=-1, dtype=bool)
    mask.flags.writeable = False
    return mask


class GramDenominator(NamedTuple):
    """The denominator A G of a Frobenius update on sparse data, for the
    factor A being updated and G = B^T B (r x r, symmetric): the update
    kernel forms it, by BLAS on blocks of rows, before it updates A (see
    :func:`update_factor`)."""

    G: np.ndarray


def update_factor(A, num, den, l1, l2, gamma, eps, flush):
    """The multiplicative update of A in place, with ``den`` as the terms
    give it: an array (A's shape or one shared row) or a GramDenominator."""
    if isinstance(den, GramDenominator):
        if not A.flags.c_contiguous:  # the kernel hands BLAS blocks of A's rows
            work = np.ascontiguousarray(A)
            update_factor(work, num, den, l1, l2, gamma, eps, flush)
            A[...] = work
            return
        K.multiplicative_update(A, num, np.empty_like(A), den.G, l1, l2, gamma, eps, flush)
    else:
        K.multiplicative_update(A, num, den, np.empty((0, 0), dtype=A.dtype), l1, l2, gamma, eps, flush)


def _penalty_free_gram_loss(sum_sq_v, W, Ht, num, H_gram=None):
    """0.5 ||V - W H||^2 from ||V||^2, <W, V H^T> and the Gram matrices: the
    Frobenius objective in O((m + n) r^2) once V H^T is known. In float64,
    since the three terms nearly cancel near a good fit. ``H_gram``, Ht^T Ht
    if the caller has it, is used when it is float64 (it is then what this
    would compute).

    No float64 copy of a factor is made (:func:`gram` ``in_float64``; the einsum
    widens as it goes), and the two Gram matrices are made one after the
    other, while Numba's threads still spin: on the 0.5M matrix (float32,
    r = 10, 2 threads, in HALS-with-extrapolation fits, which take the
    objective at every iteration) 0.30-0.33 ms against 0.62-0.64 ms with
    the copies and the Gram matrix of W after the einsum."""
    if H_gram is None or H_gram.dtype != np.float64:
        H_gram = gram(Ht, in_float64=True)
    W_gram = gram(W, in_float64=True)
    cross = float(np.einsum("ik,ik->", W, num, dtype=np.float64))
    wh_sq = float(np.einsum("kl,kl->", W_gram, H_gram))
    return max(0.5 * sum_sq_v - cross + 0.5 * wh_sq, 0.0)


class DenseTerms(_Base):
    """Dense V, optionally with dense weights (0 = not observed).

    ``Vt``, if given, is V^T as a C-ordered array (the caller's V, where it
    came in Fortran order and in the working dtype, seen transposed): the
    fits that need V^T read it instead of making a transposed copy of V."""

    def __init__(self, V, beta, weights=None, Vt=None):
        super().__init__(V.shape, V.dtype, beta)
        if Vt is not None and not (Vt.shape == V.shape[::-1] and Vt.dtype == V.dtype and Vt.flags.c_contiguous):
            raise ValueError(f"Vt must be V^T in C order; got {Vt.dtype} {Vt.shape} for V {V.dtype} {V.shape}.")
        self.V = V
        self.weights = weights if weights is not None else np.empty((0, 0), dtype=V.dtype)
        self.masked = weights is not None
        self.gram_path = self.beta == 2.0 and not self.masked
        self.weighted_frobenius = self.beta == 2.0 and self.masked
        self.with_den = self.masked or self.beta != 1.0
        if self.gram_path:
            self.sum_sq_v = float(np.einsum("ij,ij->", V, V, dtype=np.float64))
            self.Vt = Vt  # else made by the first product that needs it, see _products and vt_product
        elif self.weighted_frobenius:
            # M * V does not change: made once, 0 where unobserved (even where V holds NaN).
            observed = self.weights != 0
            self.weighted_v = np.zeros(V.shape, dtype=V.dtype)
            np.multiply(self.weights, V, out=self.weighted_v, where=observed)
            clean_v = np.where(observed, V, 0)
            self.sum_weighted_sq_v = float(np.einsum("ij,ij->", self.weighted_v, clean_v, dtype=np.float64))
            self.buffer = np.empty(V.shape, dtype=V.dtype)
        else:
            # The H update runs the tile kernel on V^T: a C-ordered copy, made once per fit
            # (it replaces the m x n buffers the BLAS products between kernels needed).
            self.Vt = np.ascontiguousarray(V.T) if Vt is None else Vt
            self.weights_t = np.ascontiguousarray(self.weights.T) if self.masked else self.weights

    def _weighted_product(self, W, Ht, with_loss):
        """buffer <- M * (W H) for the masked Frobenius loss, whose terms are
        then num = (M * V) H^T and den = (M * W H) H^T (and the same
        transposed for H): BLAS and one elementwise product, no kernel. With
        ``with_loss``, returns 0.5 sum M (V - W H)^2, computed as
        0.5 sum M V^2 - <M V, W H> + 0.5 <M W H, W H> in float64."""
        wh = np.matmul(W, Ht.T, out=self.buffer)
        loss = None
        if with_loss:
            cross = float(np.einsum("ij,ij->", self.weighted_v, wh, dtype=np.float64))
            square = float(np.einsum("ij,ij,ij->", self.weights, wh, wh, dtype=np.float64))
            loss = max(0.5 * self.sum_weighted_sq_v - cross + 0.5 * square, 0.0)
        np.multiply(wh, self.weights, out=wh)
        return loss

    def _tile_terms(self, X, weights, A, B, with_loss):
        """num, den and objective of the update of A from X (V or V^T) by
        the tile kernel; den is B's column sums for beta = 1 unweighted."""
        num = np.empty(A.shape, dtype=A.dtype)
        den = np.empty(A.shape if self.with_den else (0, 0), dtype=A.dtype)
        loss = tile_terms(X, weights, A, B, self.beta_typed, self.eps, num, den, with_loss, self.with_den)
        if not self.with_den:
            den = column_sums(B)
        return num, den, (loss if with_loss else None)

    def w_terms(self, W, Ht, with_loss):
        if self.gram_path:
            if self.products_by_numba(Ht.shape[1]):  # and the rest too: no multithreaded BLAS call
                num = numba_product(self.V, Ht)
                den = GramDenominator(gram(Ht))
                G = den.G
            else:
                num = dense_product(self.V, Ht)
                G = Ht.T @ Ht
                den = W @ G
            loss = _penalty_free_gram_loss(self.sum_sq_v, W, Ht, num, G) if with_loss else None
            return num, den, loss
        if self.weighted_frobenius:
            loss = self._weighted_product(W, Ht, with_loss)
            return dense_product(self.weighted_v, Ht), dense_product(self.buffer, Ht), loss
        return self._tile_terms(self.V, self.weights, W, Ht, with_loss)

    def h_terms(self, W, Ht):
        if self.products_by_numba(W.shape[1]):
            return self.vt_product(W), GramDenominator(gram(W))
        if self.gram_path:
            return transposed_product(W, self.V), Ht @ (W.T @ W)  # scikit-learn's products
        if self.weighted_frobenius:
            self._weighted_product(W, Ht, with_loss=False)
            return transposed_product(W, self.weighted_v), transposed_product(W, self.buffer)
        return self._tile_terms(self.Vt, self.weights_t, Ht, W, with_loss=False)[:2]

    # Products for HALS (unmasked Frobenius only): P = X B and G = B^T B.
    def w_products(self, W, Ht, with_loss):
        P, G = self._products(Ht, transposed=False)
        loss = _penalty_free_gram_loss(self.sum_sq_v, W, Ht, P, G) if with_loss else None
        return P, G, loss

    def h_products(self, W, Ht):
        return self._products(W, transposed=True)

    def _products(self, B, transposed):
        """(V B, B^T B), or (V^T B, B^T B), for HALS.

        From HALS_BLOCKED_MIN_WORK multiply-adds on, and at any size above
        ROW_DOTS_MAX_RANK (where NumPy's products would start OpenBLAS's
        threads), V B is made by Numba's threads, one single-threaded BLAS call per
        block of HALS_PRODUCT_ROWS rows (evened out) of V or of a C-ordered
        copy of V^T (made at the first call, kept for the fit), and B^T B by
        :func:`gram`: no BLAS thread of its own is left spinning after the
        products, as OpenBLAS's are after a multithreaded product, to take
        the cores from the HALS sweeps that follow. The products alone are
        slower this way, whole iterations faster from the threshold on (2
        threads: the faces at r = 20 and 50 1.1-1.5x, 2,000 x 3,000 and
        3,000 x 3,000 at r = 10 to 50 1.1-1.8x). Below it, against
        OpenBLAS's threads (r > 12), since TBB runs Numba's threads
        (2026-12-07): fits of 20 iterations each after a pause of 0.1 s,
        the stock volumes' 1,259 x 470 at r = 20 and 50 1.19-1.33x,
        synthetic 500 x 300, 300 x 2,000 and 2,000 x 1,000 at r = 16 and 50
        1.0-1.5x (0.86-1.52x on OpenMP's threads; before TBB, fits timed back
        to back on OpenMP had found blocks 0.6-0.95x as fast there); against
        row_dots (r <= 12) blocks stay slower (the faces at r = 10
        0.89-0.91x), and below r = 4, where row_dots does not run and NumPy
        makes the products, they were 0.73-1.61x (slower on 500 x 300).
        Where BLAS cannot be held to one thread, row_dots or NumPy's
        products. The choice depends on the shapes only, never on
        the number of threads."""
        r = B.shape[1]
        if self.V.size * r >= HALS_BLOCKED_MIN_WORK or r > ROW_DOTS_MAX_RANK:
            with blas_on_calling_thread() as held:
                if held:
                    if transposed and self.Vt is None:
                        self.Vt = np.ascontiguousarray(self.V.T)
                    X = read_only(self.Vt if transposed else self.V)
                    out = np.empty((X.shape[0], B.shape[1]), dtype=B.dtype)
                    K.row_block_products(X, np.ascontiguousarray(B), even_rows(X.shape[0], HALS_PRODUCT_ROWS), out)
                    return out, gram(B)
        if self.products_by_numba(r):  # Numba's Gram matrix too: no multithreaded BLAS call
            return (self.vt_product(B) if transposed else numba_product(self.V, B)), gram(B)
        return (transposed_product(B, self.V) if transposed else dense_product(self.V, B)), B.T @ B

    def products_by_numba(self, r):
        """Whether the unweighted Frobenius products V B and V^T B of rank r
        go to :func:`numba_product` (:func:`row_dots_take`; V is C-ordered,
        as :func:`fastnmf._validation.check_matrix` makes it)."""
        return self.gram_path and row_dots_take(min(self.V.shape), r)

    def vt_product(self, B):
        """V^T B by :func:`numba_product` from a C-ordered copy of V^T, made
        at the first call and kept for the fit (as the blocked HALS products
        keep it), where :meth:`products_by_numba`."""
        if self.Vt is None:
            self.Vt = np.ascontiguousarray(self.V.T)
        return numba_product(self.Vt, B)


class SparseTerms(_Base):
    """CSR V whose implicit zeros are zeros (beta > 0)."""

    def __init__(self, X, beta):
        super().__init__(X.shape, X.data.dtype, beta)
        if self.beta <= 0:
            raise ValueError("SparseTerms needs beta > 0; use ObservedTerms")
        self.X = X
        self.Xt = X.transposed()
        if self.beta == 2.0:
            # einsum, not np.dot: OpenBLAS's dot starts its threads above 10,000 entries, and they
            # then spin next to Numba's for a while (see "Threads" in docs/performance.md)
            data = X.data.astype(np.float64)
            self.sum_sq_v = float(np.einsum("i,i->", data, data))

    def _terms(self, X, A, B, with_loss):
        if self.beta == 2.0:
            num = csr_product(X, B)
            den = GramDenominator(gram(B))
            loss = _penalty_free_gram_loss(self.sum_sq_v, A, B, num, den.G) if with_loss else None
            return num, den, loss
        num, sampled_loss = sampled_numerator(X, A, B, self.beta_typed, self.eps, with_loss)
        if self.beta == 1.0:
            den = column_sums(B)
            if with_loss:  # sum of (A B^T)_ij over all entries
                zero_part = float(np.einsum("ik,jk->", column_sums(A, np.float64), column_sums(B, np.float64)))
        else:
            den, zero_part = all_entries_power_product(A, B, self.beta_typed, self.eps, with_loss)
        loss = sampled_loss + zero_part if with_loss else None
        return num, den, loss

    def w_terms(self, W, Ht, with_loss):
        return self._terms(self.X, W, Ht, with_loss)

    def h_terms(self, W, Ht):
        return self._terms(self.Xt, Ht, W, with_loss=False)[:2]

    # Products for HALS (beta = 2 only): P = X B and G = B^T B.
    def w_products(self, W, Ht, with_loss):
        P, G = csr_product(self.X, Ht), gram(Ht)
        loss = _penalty_free_gram_loss(self.sum_sq_v, W, Ht, P, G) if with_loss else None
        return P, G, loss

    def h_products(self, W, Ht):
        return csr_product(self.Xt, W), gram(W)


class ObservedTerms(_Base):
    """Only the stored entries of a CSR matrix are observed, each with a
    weight (or weight one). Everything costs O(nnz r)."""

    def __init__(self, X, beta):
        super().__init__(X.shape, X.data.dtype, beta)
        self.X = X
        self.Xt = X.transposed()

    def _terms(self, X, A, B, with_loss):
        num, den, loss = observed_terms(X, A, B, self.beta_typed, self.eps, with_loss)
        return num, den, (loss if with_loss else None)

    def w_terms(self, W, Ht, with_loss):
        return self._terms(self.X, W, Ht, with_loss)

    def h_terms(self, W, Ht):
        return self._terms(self.Xt, Ht, W, with_loss=False)[:2]

    fuses = True

    def w_update(self, W, Ht, l1, l2, gamma, flush, with_loss):
        """``(W_next, data_loss)``: W after its update, a new array (the
        kernel's num, which it makes the updated W row by row:
        ``csr_observed_terms``'s ``update``), and the objective at (W, Ht)
        (None without ``with_loss``). W itself is left as it was."""
        W_next, _, loss = observed_terms(self.X, W, Ht, self.beta_typed, self.eps, with_loss, (l1, l2, gamma, flush))
        return W_next, (loss if with_loss else None)

    def h_update(self, W, Ht, l1, l2, gamma, flush):
        return observed_terms(self.Xt, Ht, W, self.beta_typed, self.eps, False, (l1, l2, gamma, flush))[0]


def all_entries_power_product(A, B, beta, eps, with_loss):
    """den = clamp(A B^T)^(beta - 1) @ B over all m x n entries, and the
    float64 sum of d(0 | ab) = ab^beta / beta over them (0.0 without
    ``with_loss``): the dense tile kernel with X = 0 (an X of no rows, see
    :func:`fastnmf._kernels.dense_tile_terms`), so no block of A B^T outlives
    its tile."""
    den = np.empty(A.shape, dtype=A.dtype)
    nothing = np.empty((0, 0), dtype=A.dtype)
    return den, tile_terms(nothing, nothing, A, B, beta, eps, nothing, den, with_loss, True)
