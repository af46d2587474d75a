"""Column blocks (:mod:`fastnmf._csr`): how a CSR matrix is split by
columns and transposed (against SciPy), which factors are split, and that
the kernels by blocks give what they give on the whole matrix, alone and in
fits."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import naive
from kernel_cases import SHAPES, assert_close, make_case


@pytest.mark.parametrize("n_blocks", [1, 2, 3, "every column"])
def test_csr_product_by_column_blocks(n_blocks, dtype, n_threads):
    """csr_product splits X into column blocks (each with its slice of B) when
    B is large; any split gives X @ B, including empty blocks and empty rows."""
    from fastnmf._csr import CSRMatrix, csr_product

    for shape_id in SHAPES:
        X, A, B = make_case(shape_id, dtype)
        n = X.shape[1]
        count = n if n_blocks == "every column" else n_blocks
        edges = np.concatenate(([0], np.linspace(0, n, count + 1).round()[1:])).astype(np.int64)
        matrix = CSRMatrix.from_scipy(X)
        blocks = matrix.split_columns(edges)
        assert sum(block.data.size for _, block in blocks) == X.nnz
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("fastnmf._csr.column_blocks", lambda *args: edges)
            out = csr_product(matrix, B)
        ref = naive.csr_times_dense(X.indptr, X.indices, X.data, B, X.shape)
        assert_close(out, ref, dtype, err_msg=f"{shape_id}, edges {edges.tolist()}")


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_split_columns_and_transpose_match_scipy(weighted, index_dtype, dtype):
    """Each column block of split_columns is SciPy's slice of those columns
    (indices from the block's first column; weights with their entries),
    with empty blocks, empty rows and empty columns; the transposed copy is
    SciPy's transpose. Index arrays keep their dtype; edges that do not
    rise from 0 to the number of columns are refused."""
    from fastnmf._csr import CSRMatrix

    rng = np.random.default_rng(3)
    dense = (rng.random((9, 30)) < 0.3) * (1 + rng.random((9, 30)))
    dense[4] = 0  # an empty row
    dense[:, 3::7] = 0  # and empty columns
    X = sp.csr_matrix(dense.astype(dtype))
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    W = X.copy()
    W.data = rng.random(X.nnz).astype(dtype)
    matrix = CSRMatrix.from_scipy(X, W.data if weighted else None)
    for edges in ([0, 30], [0, 11, 30], [0, 0, 4, 4, 17, 29, 30], list(range(31))):
        blocks = matrix.split_columns(np.array(edges, dtype=np.int64))
        assert [first for first, _ in blocks] == ([0] if len(edges) == 2 else edges[:-1])
        for (first, block), last in zip(blocks, edges[1:]):
            for array, expected in ((block.data, X[:, first:last]), (block.weights, W[:, first:last])):
                if array is block.weights and not weighted:
                    assert block.weights.size == 0
                    continue
                assert block.shape == expected.shape
                assert block.indptr.dtype == block.indices.dtype == index_dtype
                assert_array_equal(block.indptr, expected.indptr)
                assert_array_equal(block.indices, expected.indices)
                assert_array_equal(array, expected.data)
    for edges in ([0, 29], [1, 30], [0, 20, 10, 30]):
        with pytest.raises(ValueError, match="edges must rise from 0 to 30 columns"):
            matrix.split_columns(np.array(edges))
    t = matrix.transposed()
    assert t.shape == (30, 9) and t.indptr.dtype == t.indices.dtype == index_dtype
    for array, expected in ((t.data, X.T.tocsr()), (t.weights, W.T.tocsr())):
        if array is t.weights and not weighted:
            assert t.weights.size == 0
            continue
        expected.sort_indices()
        assert_array_equal(t.indptr, expected.indptr)
        assert_array_equal(t.indices, expected.indices)
        assert_array_equal(array, expected.data)


def test_column_blocks_split_only_large_factors():
    from fastnmf._csr import BLOCK_BYTES, MAX_BLOCKS, column_blocks

    for n, r, itemsize in [(0, 3, 8), (1, 1, 4), (50_000, 50, 8), (50_000, 10, 4), (10**7, 100, 8)]:
        edges = column_blocks(n, r, itemsize)
        assert edges[0] == 0 and edges[-1] == n
        assert (np.diff(edges) >= 0).all()
        assert 1 <= len(edges) - 1 <= MAX_BLOCKS
        if n * r * itemsize <= BLOCK_BYTES:
            assert len(edges) == 2
    assert len(column_blocks(50_000, 50, 8)) - 1 == -(-50_000 * 50 * 8 // BLOCK_BYTES)


def _cache_folder(root, caches):
    """A folder laid out as Linux's description of a core's caches: one
    ``index<k>`` per (level, size) of ``caches``."""
    for k, (level, size) in enumerate(caches):
        entry = root / f"index{k}"
        entry.mkdir()
        (entry / "level").write_text(f"{level}\n")
        (entry / "size").write_text(f"{size}\n")
    return str(root)


@pytest.mark.parametrize(
    "caches, expected",
    [
        ([(1, "32K"), (1, "32K"), (2, "1024K"), (3, "32768K")], 1 << 20),  # the AMD EPYC (Zen 4)
        ([(1, "48K"), (2, "2M"), (3, "32M")], 2 << 20),
        ([(1, "32K"), (3, "32768K")], None),  # no level 2
        ([(2, "")], None),  # an empty size
        ([(2, "lots")], None),
    ],
)
def test_level2_cache_bytes_reads_linux_cache_description(tmp_path, caches, expected):
    from fastnmf._csr import level2_cache_bytes

    assert level2_cache_bytes(_cache_folder(tmp_path, caches)) == expected


def test_level2_cache_bytes_is_none_without_a_description(tmp_path):
    from fastnmf._csr import level2_cache_bytes

    assert level2_cache_bytes(str(tmp_path / "missing")) is None


def test_block_bytes_follow_the_level2_cache():
    """Blocks of 2.5 MiB with 2 MiB of L2 or more per core (or an L2 not
    known), 8 MiB with less; the module's BLOCK_BYTES is this machine's."""
    from fastnmf import _csr

    assert _csr.block_bytes(None) == _csr.block_bytes(2 << 20) == _csr.block_bytes(32 << 20) == 5 << 19
    assert _csr.block_bytes(1 << 20) == _csr.block_bytes(256 << 10) == 8 << 20
    assert _csr.BLOCK_BYTES == _csr.block_bytes(_csr.level2_cache_bytes())


BLOCKED_FITS = {
    "frobenius-mu": dict(solver="mu"),
    "frobenius-hals": dict(solver="hals"),
    "kullback-leibler": dict(solver="mu", loss="kullback-leibler"),
    "beta-1.5": dict(solver="mu", loss=1.5),
    "observed": dict(solver="mu", mask="observed"),
    "weighted-kullback-leibler": dict(solver="mu", loss="kullback-leibler", mask="weights"),
}


@pytest.mark.parametrize("case", BLOCKED_FITS)
def test_column_blocks_leave_a_fit_unchanged(case, monkeypatch):
    """A sparse fit whose kernels run by column blocks (forced here on a small
    matrix) gives the fit without blocks, up to summation order: every kernel
    that gathers rows of a factor, masked (weights travel with their entries)
    or not."""
    import fastnmf
    import fastnmf._csr as csr

    rng = np.random.default_rng(21)
    V = sp.random(40, 60, density=0.2, random_state=rng, format="csr") * 5
    options = dict(init="random", random_state=0, max_iter=20, tol=0.0, **BLOCKED_FITS[case])
    if options.get("mask") == "weights":
        options["mask"] = V.copy()
        options["mask"].data = rng.random(V.nnz) * 2
    whole = fastnmf.nmf(V, 4, **options)
    monkeypatch.setattr(csr, "BLOCK_BYTES", 200)  # several blocks of a 60 x 4 factor
    assert len(csr.column_blocks(60, 4, 8)) - 1 > 2
    blocked = fastnmf.nmf(V, 4, **options)
    assert_allclose(blocked.W, whole.W, rtol=1e-9, atol=1e-12)
    assert_allclose(blocked.H, whole.H, rtol=1e-9, atol=1e-12)
