"""fastnmf.io's binary formats (Matrix Market, NumPy, MATLAB) and load/save:
round trips through every reader and writer, and malformed files that must
raise a FileFormatError naming the file and the line or field, never a
parser's traceback. The text formats (CSV, UCI, ratings) are in
test_io_text.py; the sample matrices and helpers both use are in conftest.py."""

import gzip
import io
import shutil
import struct
import zipfile

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from conftest import assert_same_sparse, at, write_text
from fastnmf.io import (
    FileFormatError,
    LabeledMatrix,
    guess_format,
    load,
    read_csv,
    read_mat,
    read_mtx,
    read_npy,
    read_npz,
    save,
    write_csv,
    write_mat,
    write_mtx,
    write_npy,
    write_npz,
)


# --------------------------------------------------------------------------
# Matrix Market
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["m.mtx", "m.mtx.gz"])
def test_mtx_round_trip_sparse(tmp_path, counts, name):
    write_mtx(tmp_path / name, counts)
    data = read_mtx(tmp_path / name)
    assert isinstance(data.matrix, sp.csr_array)
    assert_same_sparse(data.matrix, counts)
    assert data.row_labels is None and data.column_labels is None


def test_mtx_round_trip_dense(tmp_path, dense):
    write_mtx(tmp_path / "d.mtx", dense)
    np.testing.assert_array_equal(read_mtx(tmp_path / "d.mtx").matrix, dense)


def test_mtx_gzip_is_recognized_by_content(tmp_path, counts):
    write_mtx(tmp_path / "m.mtx.gz", counts)
    shutil.copy(tmp_path / "m.mtx.gz", tmp_path / "mislabelled.mtx")
    assert_same_sparse(read_mtx(tmp_path / "mislabelled.mtx").matrix, counts)


def test_mtx_keeps_stored_zeros(tmp_path):
    write_text(tmp_path / "z.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 0\n2 2 3\n")
    assert read_mtx(tmp_path / "z.mtx").matrix.nnz == 2


MTX_HEADER = "%%MatrixMarket matrix coordinate real general\n3 3 3\n"


@pytest.mark.parametrize(
    "text, match",
    [
        (MTX_HEADER + "1 1 1.0000\n2 2 2.0000\n", r": not a valid Matrix Market file: Truncated file"),
        ("%%MatrixMarket matrix coordinate foo general\n3 3 1\n1 1 1\n", r", line 1: .*foo"),
        (MTX_HEADER + "1 1 1.0\n2 2 abc\n3 3 1\n", r", line 4: .*floating-point"),
        (MTX_HEADER + "1 1 1.0\n9 2 2.0\n3 3 1\n", r", line 4: .*out of bounds"),
        ("hello\n1 2 3\n", r", line 1: .*banner"),
        ("", r"(, line \d+)?: not a valid Matrix Market file"),
        ("%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1.0 2.0\n", ": .*complex"),
    ],
    ids=["truncated", "bad-header", "non-numeric", "out-of-range", "no-banner", "empty", "complex"],
)
def test_mtx_malformed(tmp_path, text, match):
    write_text(tmp_path / "t.mtx", text)
    with pytest.raises(FileFormatError, match=at(tmp_path / "t.mtx", match)):
        read_mtx(tmp_path / "t.mtx")


def test_mtx_truncated_gzip(tmp_path, counts):
    write_mtx(tmp_path / "m.mtx.gz", counts)
    data = (tmp_path / "m.mtx.gz").read_bytes()
    (tmp_path / "cut.mtx.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"cut\.mtx\.gz: not a valid Matrix Market file"):
        read_mtx(tmp_path / "cut.mtx.gz")


def mtx_text(sizes, entries="1 1 1.0\n", layout="coordinate", field="real"):
    return f"%%MatrixMarket matrix {layout} {field} general\n{sizes}\n{entries}"


HUGE = "99999999999999999999999"


@pytest.mark.parametrize(
    "content, match",
    [
        (mtx_text("3 3 1000000000000"), r", line 2: the header declares 1000000000000 entries, but the 8 bytes after"),
        (mtx_text("1000000 1000000", "1.0\n", "array"), r", line 2: the header declares a 1000000 x 1000000 array"),
        (mtx_text("1000000000000 3 1"), r", line 2: the number of rows is 1000000000000: .* this machine's memory"),
        (mtx_text(f"3 3 {HUGE}"), rf", line 2: the size line declares {HUGE}, beyond 64-bit integers"),
        (mtx_text("3 3 1", f"{HUGE} 1 1.0\n"), r", line 3: not a valid Matrix Market file: Integer out of range"),
        (mtx_text("3 3 1", f"1 1 {HUGE}\n", field="integer"), r", line 3: .*Integer out of range"),
        (bytes(range(256)) * 4, r", line 1: not a valid Matrix Market file"),
    ],
    ids=["huge-nnz", "huge-array", "huge-rows", "huge-size-field", "huge-index", "huge-integer", "binary"],
)
@pytest.mark.parametrize("name", ["t.mtx", "t.mtx.gz"])
def test_mtx_tiny_file_with_huge_or_bad_numbers(tmp_path, content, match, name):
    """Regression: these raised MemoryError or OverflowError, or killed the process (SciPy's reader used a file
    object closed under it); compressed files are checked after decompression."""
    content = content.encode() if isinstance(content, str) else content
    (tmp_path / name).write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    with pytest.raises(FileFormatError, match=at(tmp_path / name, match)):
        read_mtx(tmp_path / name)


def test_mtx_size_check_reads_a_stream_only_as_far_as_it_needs():
    """A compressed file's decompressed bytes are counted only until they
    could hold what the header declares: a small declaration followed by
    endless padding (a gzip bomb) is not read through."""
    from fastnmf.io.matrix_market import _read_header

    class Endless(io.BytesIO):
        def read(self, size=-1):
            assert size > 0, "read to the end"
            return super().read(size) or b" " * size

    stream = Endless(mtx_text("3 3 2", "1 1 1.0\n").encode())
    header = _read_header("m.mtx.gz", stream, None)
    assert header.sizes == (3, 3, 2) and 2 * 6 - 1 <= header.body_bytes <= 2 << 20  # two reads at most


def test_mtx_shortest_entries_pass_the_size_check(tmp_path):
    """The size check counts the fewest bytes an entry can take, the last one without its newline."""
    write_text(tmp_path / "c.mtx", mtx_text("2 2 2", "1 1 1\n2 2 2"))
    assert read_mtx(tmp_path / "c.mtx").matrix.toarray().tolist() == [[1.0, 0.0], [0.0, 2.0]]
    write_text(tmp_path / "p.mtx", mtx_text("2 2 2", "1 1\n2 2", field="pattern"))
    assert read_mtx(tmp_path / "p.mtx").matrix.nnz == 2
    write_text(tmp_path / "a.mtx", mtx_text("2 2", "1\n2\n3\n4", "array"))
    assert read_mtx(tmp_path / "a.mtx").matrix.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    write_text(tmp_path / "s.mtx", mtx_text("2 2", "1\n2\n3", "array").replace("general", "symmetric"))
    assert read_mtx(tmp_path / "s.mtx").matrix.tolist() == [[1.0, 2.0], [2.0, 3.0]]


@pytest.mark.parametrize("name", ["b.mtx", "b.mtx.gz"])
def test_mtx_byte_order_mark_is_skipped(tmp_path, name):
    content = ("\ufeff" + mtx_text("3 3 1", "2 3 1.5\n")).encode()
    (tmp_path / name).write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    assert read_mtx(tmp_path / name).matrix.toarray()[1, 2] == 1.5


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.mtx: no such file"):
        read_mtx(tmp_path / "nothing.mtx")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        read_csv(tmp_path)


# --------------------------------------------------------------------------
# NumPy and SciPy files
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_npy_round_trip(tmp_path, dense, dtype):
    write_npy(tmp_path / "a.npy", (dense * 10).astype(dtype))
    data = read_npy(tmp_path / "a.npy")
    assert data.matrix.dtype == dtype
    np.testing.assert_array_equal(data.matrix, (dense * 10).astype(dtype))


def test_npy_malformed(tmp_path, dense, counts):
    np.save(tmp_path / "vector.npy", np.arange(3.0))
    with pytest.raises(FileFormatError, match=r"vector\.npy: the array must be 2-D; got shape \(3,\)"):
        read_npy(tmp_path / "vector.npy")
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    with pytest.raises(FileFormatError, match="must hold real numbers"):
        read_npy(tmp_path / "text.npy")
    write_npy(tmp_path / "a.npy", dense)
    (tmp_path / "cut.npy").write_bytes((tmp_path / "a.npy").read_bytes()[:100])
    with pytest.raises(FileFormatError, match=r"cut\.npy: not a valid \.npy file"):
        read_npy(tmp_path / "cut.npy")
    write_text(tmp_path / "csv.npy", "1,2\n3,4\n")
    with pytest.raises(FileFormatError, match=r"csv\.npy: is not a NumPy \.npy file"):
        read_npy(tmp_path / "csv.npy")
    write_npz(tmp_path / "b.npz", dense)
    shutil.copy(tmp_path / "b.npz", tmp_path / "b.npy")
    with pytest.raises(FileFormatError, match="is an .npz archive, not an .npy file"):
        read_npy(tmp_path / "b.npy")
    with pytest.raises(TypeError, match="write_npy writes dense arrays"):
        write_npy(tmp_path / "s.npy", counts)


def test_npz_round_trip_sparse_and_dense(tmp_path, counts, dense):
    write_npz(tmp_path / "s.npz", counts)
    assert_same_sparse(read_npz(tmp_path / "s.npz").matrix, counts)
    write_npz(tmp_path / "d.npz", dense, variable="V")
    np.testing.assert_array_equal(read_npz(tmp_path / "d.npz").matrix, dense)
    np.testing.assert_array_equal(read_npz(tmp_path / "d.npz", variable="V").matrix, dense)


def test_npz_choosing_an_array(tmp_path, dense):
    np.savez(tmp_path / "two.npz", first=dense, second=dense * 2, vector=np.arange(3))
    np.testing.assert_array_equal(read_npz(tmp_path / "two.npz", variable="second").matrix, dense * 2)
    with pytest.raises(
        FileFormatError, match=at(tmp_path / "two.npz", r": holds several 2-D arrays \['first', 'second'\]; choose one")
    ):
        read_npz(tmp_path / "two.npz")
    with pytest.raises(
        FileFormatError, match=at(tmp_path / "two.npz", r", array 'third': has no array 'third'; it holds")
    ):
        read_npz(tmp_path / "two.npz", variable="third")


def test_npz_malformed(tmp_path, counts):
    write_npz(tmp_path / "s.npz", counts)
    data = (tmp_path / "s.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"cut\.npz: not a valid \.npz archive"):
        read_npz(tmp_path / "cut.npz")
    np.save(tmp_path / "a.npy", np.eye(2))
    shutil.copy(tmp_path / "a.npy", tmp_path / "a.npz")
    with pytest.raises(FileFormatError, match=r"is an \.npy file, not an \.npz archive"):
        read_npz(tmp_path / "a.npz")


def npy_header(shape, dtype="<f8"):
    """The bytes of an .npy (version 1.0) header declaring ``shape``."""
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (dtype, shape)
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode()


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_npy_tiny_file_declaring_a_huge_array(tmp_path):
    """Regression: NumPy allocated the declared 7.3 TiB (MemoryError) before finding the file short."""
    (tmp_path / "huge.npy").write_bytes(npy_header((1000000, 1000000)) + bytes(16))
    message = r": the header declares an array of shape \(1000000, 1000000\) and dtype float64 \(7.28 TiB\), but the"
    with pytest.raises(FileFormatError, match=at(tmp_path / "huge.npy", message)):
        read_npy(tmp_path / "huge.npy")


def test_npz_tiny_member_declaring_a_huge_array(tmp_path):
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as archive:
        archive.writestr("X.npy", npy_header((1000000, 1000000)) + bytes(16))
    message = r", member 'X.npy': the header declares an array of shape \(1000000, 1000000\)"
    with pytest.raises(FileFormatError, match=at(tmp_path / "huge.npz", message)):
        read_npz(tmp_path / "huge.npz")


def test_npz_member_claiming_more_than_its_compression_holds(tmp_path):
    """A zip's directory can claim any uncompressed size: a stored member's must equal its compressed size."""
    with zipfile.ZipFile(tmp_path / "liar.npz", "w") as archive:
        archive.writestr("X.npy", npy_header((30000, 10000)) + bytes(16))
    data = bytearray((tmp_path / "liar.npz").read_bytes())
    directory = data.index(b"PK\x01\x02")
    data[directory + 24 : directory + 28] = (2**32 - 2).to_bytes(4, "little")  # the uncompressed size
    (tmp_path / "liar.npz").write_bytes(bytes(data))
    message = r", member 'X.npy': claims 4294967294 bytes uncompressed from \d+ compressed"
    with pytest.raises(FileFormatError, match=at(tmp_path / "liar.npz", message)):
        read_npz(tmp_path / "liar.npz")


@pytest.mark.parametrize("layout", ["coo", "dia"])
def test_sparse_npz_with_a_huge_shape(tmp_path, layout):
    """Regression: a (10**12, 10**12) sparse matrix was converted to CSR (MemoryError)."""
    arrays = {"coo": {"row": np.zeros(1, np.int32), "col": np.zeros(1, np.int32), "data": np.ones(1)},
              "dia": {"offsets": np.zeros(1, np.int32), "data": np.ones((1, 1))}}[layout]  # fmt: skip
    np.savez(tmp_path / "huge.npz", format=np.array(layout), shape=np.array([10**12, 10**12]), **arrays)
    message = r", array 'shape': the number of rows is 1000000000000: .* more than this machine's memory"
    with pytest.raises(FileFormatError, match=at(tmp_path / "huge.npz", message)):
        read_npz(tmp_path / "huge.npz")


def test_npz_members_that_are_not_arrays(tmp_path, dense):
    """Regression: a member that is not an .npy array raised AttributeError ('bytes' has no 'ndim')."""
    with zipfile.ZipFile(tmp_path / "readme.npz", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(FileFormatError, match=at(tmp_path / "readme.npz", r": holds no 2-D array; it holds \['readme")):
        read_npz(tmp_path / "readme.npz")
    with pytest.raises(FileFormatError, match=at(tmp_path / "readme.npz", r", member 'readme.txt': is not a NumPy")):
        read_npz(tmp_path / "readme.npz", variable="readme.txt")
    with zipfile.ZipFile(tmp_path / "garbage.npz", "w") as archive:
        archive.writestr("X.npy", "garbage")
    with pytest.raises(FileFormatError, match=at(tmp_path / "garbage.npz", r", member 'X.npy': is not a NumPy \.npy")):
        read_npz(tmp_path / "garbage.npz")
    with zipfile.ZipFile(tmp_path / "documented.npz", "w") as archive:
        archive.writestr("readme.txt", "hello")
        archive.writestr("X.npy", npy_bytes(dense))
    np.testing.assert_array_equal(read_npz(tmp_path / "documented.npz").matrix, dense)


def test_sparse_npz_with_indices_out_of_range(tmp_path):
    """Regression: column index 1000000 in a 3 x 3 CSR matrix was read as is."""
    np.savez(tmp_path / "bad.npz", format=np.array("csr"), shape=np.array([3, 3]), data=np.ones(2),
             indices=np.array([1, 1000000]), indptr=np.array([0, 1, 2, 2]))  # fmt: skip
    message = r": the matrix is not a valid sparse matrix: indices must be < 3"
    with pytest.raises(FileFormatError, match=at(tmp_path / "bad.npz", message)):
        read_npz(tmp_path / "bad.npz")


# --------------------------------------------------------------------------
# MATLAB
# --------------------------------------------------------------------------


def test_mat_round_trip(tmp_path, dense, counts):
    write_mat(tmp_path / "d.mat", dense)
    np.testing.assert_array_equal(read_mat(tmp_path / "d.mat").matrix, dense)
    write_mat(tmp_path / "s.mat", counts, variable="fea")
    data = read_mat(tmp_path / "s.mat", variable="fea")
    assert isinstance(data.matrix, sp.csr_array)
    assert_same_sparse(data.matrix, counts)


def test_mat_choosing_the_variable(tmp_path, dense, counts):
    scipy.io.savemat(tmp_path / "many.mat", {"fea": counts.tocsc(), "gnd": dense, "name": "corpus"})
    assert_same_sparse(read_mat(tmp_path / "many.mat", variable="fea").matrix, counts)
    with pytest.raises(
        FileFormatError,
        match=at(tmp_path / "many.mat", r": holds several matrices: fea \(4x4 sparse\), gnd \(4x3 double\)"),
    ):
        read_mat(tmp_path / "many.mat")
    with pytest.raises(
        FileFormatError, match=at(tmp_path / "many.mat", r", variable 'X': has no variable 'X'; it holds fea")
    ):
        read_mat(tmp_path / "many.mat", variable="X")
    with pytest.raises(FileFormatError, match=r"variable 'name' is not a numeric matrix"):
        read_mat(tmp_path / "many.mat", variable="name")


def test_mat_malformed(tmp_path, dense):
    write_text(tmp_path / "junk.mat", "this is not a MATLAB file at all " * 10)
    with pytest.raises(FileFormatError, match=r"junk\.mat: not a valid MATLAB \.mat file"):
        read_mat(tmp_path / "junk.mat")
    write_mat(tmp_path / "d.mat", np.random.default_rng(0).random((60, 60)))
    data = (tmp_path / "d.mat").read_bytes()
    (tmp_path / "cut.mat").write_bytes(data[:400])
    with pytest.raises(FileFormatError, match=r"cut\.mat"):
        read_mat(tmp_path / "cut.mat")
    # A v7.3 file is HDF5 behind a MATLAB header.
    header = b"MATLAB 7.3 MAT-file, HDF5 schema 1.00 .".ljust(116) + bytes(8) + struct.pack("<H", 0x0200) + b"IM"
    (tmp_path / "v73.mat").write_bytes(header + bytes(512))
    with pytest.raises(FileFormatError, match=r"v73\.mat: is a MATLAB v7\.3 \(HDF5\) file"):
        read_mat(tmp_path / "v73.mat")


# --------------------------------------------------------------------------
# load / save
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("x.mtx", "mtx"),
        ("x.mtx.gz", "mtx"),
        ("x.npz", "npz"),
        ("x.npy", "npy"),
        ("x.csv", "csv"),
        ("x.TSV.gz", "csv"),
        ("docword.nips.txt.gz", "uci"),
        ("TDT2.mat", "mat"),
        ("u.data", "ratings"),
        ("u1.base", "ratings"),
        ("ratings.dat", "ratings"),
        ("ratings.csv", "ratings"),
    ],
)
def test_guess_format(name, expected):
    assert guess_format(name) == expected


def test_guess_format_unknown():
    with pytest.raises(ValueError, match=r"cannot tell the format of 'x\.parquet' from its name; pass format="):
        guess_format("x.parquet")


@pytest.mark.parametrize("name", ["m.mtx", "m.npz", "m.npy", "m.csv", "m.mat", "docword.m.txt.gz"])
def test_save_then_load(tmp_path, counts, name):
    matrix = counts.toarray() if name.endswith((".npy", ".csv")) else counts
    save(tmp_path / name, matrix)
    data = load(tmp_path / name)
    assert isinstance(data, LabeledMatrix)
    loaded = data.matrix.toarray() if sp.issparse(data.matrix) else data.matrix
    np.testing.assert_array_equal(loaded, counts.toarray())
    assert data.path == str(tmp_path / name)
    assert "4x4" in repr(data)


@pytest.mark.parametrize(
    "name, matrix, error, match",
    [
        ("v.npy", np.arange(3.0), ValueError, r"matrix must be 2-D \(m x n\), as load reads it back; got shape \(3,\)"),
        ("v.mat", np.ones((2, 2, 2)), ValueError, r"matrix must be 2-D .*; got shape \(2, 2, 2\)"),
        ("v.npz", np.array([["a", "b"]]), TypeError, r"matrix must hold real numbers, as load reads them back"),
        ("v.csv", [[1.0, 2.0], [3.0]], TypeError, r"matrix must be an array or a sparse matrix; could not convert"),
    ],
    ids=["1-D", "3-D", "strings", "ragged"],
)
def test_save_refuses_what_load_would_not_read(tmp_path, name, matrix, error, match):
    with pytest.raises(error, match=match):
        save(tmp_path / name, matrix)
    assert not (tmp_path / name).exists()


def test_load_with_format_and_options(tmp_path, dense):
    write_csv(tmp_path / "data.dat", dense, column_labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="cannot tell the format"):
        load(tmp_path / "data.dat")
    data = load(tmp_path / "data.dat", format="csv", delimiter=",")
    np.testing.assert_array_equal(data.matrix, dense)
    with pytest.raises(ValueError, match="format must be one of"):
        load(tmp_path / "data.dat", format="excel")


def test_gzip_helper_opens_by_content(tmp_path, dense):
    write_csv(tmp_path / "plain.csv", dense)
    with open(tmp_path / "plain.csv", "rb") as source, gzip.open(tmp_path / "packed.csv", "wb") as target:
        shutil.copyfileobj(source, target)
    np.testing.assert_array_equal(read_csv(tmp_path / "packed.csv").matrix, dense)
