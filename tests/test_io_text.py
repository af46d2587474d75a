"""fastnmf.io's text formats: delimited text (CSV, TSV), UCI bag of words
and ratings triplets. Round trips, and malformed files that must raise a
FileFormatError naming the file and the line, never a parser's traceback."""

import gzip
import os

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import assert_same_sparse, at, write_text
from fastnmf.io import (
    FileFormatError,
    load,
    read_csv,
    read_ratings,
    read_uci,
    save,
    write_csv,
    write_ratings,
    write_uci,
)


# --------------------------------------------------------------------------
# Delimited text
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["t.csv", "t.tsv", "t.csv.gz"])
def test_csv_round_trip_with_labels(tmp_path, dense, name):
    rows, columns = ["r1", "r2", "r3", "r 4"], ["a", "b,c", "d"]
    write_csv(tmp_path / name, dense, row_labels=rows, column_labels=columns)
    data = read_csv(tmp_path / name)
    np.testing.assert_array_equal(data.matrix, dense)  # exact: shortest round-trip form
    assert list(data.row_labels) == rows
    assert list(data.column_labels) == columns


def test_csv_without_labels_and_float32(tmp_path, dense):
    write_csv(tmp_path / "plain.csv", dense)
    data = read_csv(tmp_path / "plain.csv", dtype=np.float32)
    assert data.row_labels is None and data.column_labels is None
    np.testing.assert_array_equal(data.matrix, dense.astype(np.float32))


def test_csv_header_only_and_pandas_index(tmp_path):
    write_text(tmp_path / "h.csv", "x,y\n1,2\n3,4\n")
    data = read_csv(tmp_path / "h.csv")
    assert data.row_labels is None and list(data.column_labels) == ["x", "y"]
    write_text(tmp_path / "p.csv", ",x,y\n0,1,2\n1,3,4\n")  # pandas' to_csv with an integer index
    data = read_csv(tmp_path / "p.csv")
    assert list(data.row_labels) == ["0", "1"]
    np.testing.assert_array_equal(data.matrix, [[1, 2], [3, 4]])
    write_text(tmp_path / "n.csv", "5,6\n7,8\n")
    assert read_csv(tmp_path / "n.csv", header=False, index=True).row_labels.tolist() == ["5", "7"]


def test_csv_whitespace_nan_and_single_column(tmp_path):
    write_text(tmp_path / "w.txt", "1 2  3\n4 nan 6\n")
    data = read_csv(tmp_path / "w.txt")
    assert data.matrix.shape == (2, 3) and np.isnan(data.matrix[1, 1])
    write_text(tmp_path / "one.csv", "value\n1\n2\n")
    data = read_csv(tmp_path / "one.csv")
    assert data.matrix.shape == (2, 1) and list(data.column_labels) == ["value"]


@pytest.mark.parametrize("name", ["b.csv", "b.tsv", "b.csv.gz"])
@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_csv_boolean_round_trip(tmp_path, dense, name, layout):
    """Regression: booleans were written True/False, which read_csv refused."""
    mask = dense > 0.5
    save(tmp_path / name, sp.csr_array(mask) if layout == "sparse" else mask)
    data = load(tmp_path / name)
    assert data.matrix.dtype == np.float64  # like any integer data read from text
    np.testing.assert_array_equal(data.matrix, mask.astype(np.float64))
    assert data.row_labels is None and data.column_labels is None


@pytest.mark.parametrize("name", ["n.csv", "n.tsv", "n.csv.gz"])
@pytest.mark.parametrize("rows", [None, ["10", "20", "30", "40"]], ids=["no-index", "numeric-index"])
@pytest.mark.parametrize("columns", [None, ["1", "2", "3"], ["1.5", "nan", "x"]], ids=["none", "numbers", "mixed"])
def test_csv_numeric_labels_round_trip(tmp_path, dense, name, rows, columns):
    """Regression: numeric column labels were read back as a data row (and
    numeric row labels as a data column); write_csv now quotes labels."""
    save(tmp_path / name, dense, row_labels=rows, column_labels=columns)
    data = load(tmp_path / name)
    assert data.shape == dense.shape
    np.testing.assert_array_equal(data.matrix, dense)
    assert (data.row_labels is None) if rows is None else (data.row_labels.tolist() == rows)
    assert (data.column_labels is None) if columns is None else (data.column_labels.tolist() == columns)


def test_csv_header_of_numbers_from_other_writers(tmp_path):
    write_text(tmp_path / "pandas.csv", ",0,1\n0,1,2\n1,3,4\n")  # pandas' to_csv with integer columns
    data = read_csv(tmp_path / "pandas.csv")
    assert data.column_labels.tolist() == ["0", "1"] and data.row_labels.tolist() == ["0", "1"]
    np.testing.assert_array_equal(data.matrix, [[1, 2], [3, 4]])
    write_text(tmp_path / "all_quoted.csv", '"1","2"\n"3","4"\n')  # every field quoted: no label to tell
    data = read_csv(tmp_path / "all_quoted.csv")
    assert data.row_labels is None and data.column_labels is None
    np.testing.assert_array_equal(data.matrix, [[1, 2], [3, 4]])
    write_text(tmp_path / "unquoted.csv", "1,2\n3,4\n")  # a header of bare numbers needs header=True
    assert read_csv(tmp_path / "unquoted.csv").shape == (2, 2)
    data = load(tmp_path / "unquoted.csv", header=True)
    assert data.column_labels.tolist() == ["1", "2"] and data.shape == (1, 2)


@pytest.mark.parametrize(
    "text, match",
    [
        ("a,b,c\n1,2,3\n4,5\n7,8,9\n", r", line 3: expected 3 fields \(as on the first line\); got 2"),
        ("a,b,c\n1,2,3\n4,5,6,7\n", r", line 3: expected 3 fields"),
        ("a,b,c\n1,2,3\n4,x,6\n", r", line 3, column 2: 'x' is not a number"),
        ("name,b,c\nr1,2,3\nr2,,6\n", r", line 3, column 2: '' is not a number"),
        ("name,b,c\nr1,2,3\nr2,5\n", r", line 3: expected 3 fields"),
        ("", r": is empty"),
        ("a,b\n", r": holds a header but no data lines"),
    ],
    ids=[
        "short-row",
        "long-row",
        "non-numeric",
        "empty-field-with-index",
        "short-row-with-index",
        "empty",
        "header-only",
    ],
)
def test_csv_malformed(tmp_path, text, match):
    write_text(tmp_path / "t.csv", text)
    with pytest.raises(FileFormatError, match=at(tmp_path / "t.csv", match)):
        read_csv(tmp_path / "t.csv")


@pytest.mark.parametrize(
    "text, match",
    [
        ("a\n1,2\n3,4\n", r", line 1: the header has 1 field, but the first data line \(line 2\) has 2: expected one"),
        ("a,b,c\n1,2\n3,4\n", r", line 1: the header has 3 fields, but the first data line \(line 2\) has 2"),
    ],
    ids=["short-header", "long-header"],
)
def test_csv_header_must_name_every_column(tmp_path, text, match):
    """Regression: "a\\n1,2\\n3,4" gave a 2 x 2 matrix with one column label."""
    write_text(tmp_path / "t.csv", text)
    with pytest.raises(FileFormatError, match=at(tmp_path / "t.csv", match)):
        read_csv(tmp_path / "t.csv")


@pytest.mark.parametrize("name", ["b.csv", "b.csv.gz"])
def test_csv_byte_order_mark_is_skipped(tmp_path, name):
    """Regression: the mark made the first field a label ('\\ufeff1'), so the first column became row labels."""
    content = "\ufeff1,2\n3,4\n".encode()
    (tmp_path / name).write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    data = read_csv(tmp_path / name)
    np.testing.assert_array_equal(data.matrix, [[1.0, 2.0], [3.0, 4.0]])
    assert data.row_labels is None and data.column_labels is None
    write_text(tmp_path / "h.csv", "\ufeffa,b\n1,2\n")
    assert read_csv(tmp_path / "h.csv").column_labels.tolist() == ["a", "b"]


@pytest.mark.parametrize(
    "name, content",
    [
        ("corrupt.csv.gz", b"\x1f\x8b\x08\x00garbage"),
        ("cut.csv.gz", gzip.compress(b"1,2\n3,4\n")[:15]),
        ("corrupt.csv.bz2", b"BZh9garbage"),
    ],
    ids=["corrupt-gzip", "truncated-gzip", "corrupt-bzip2"],
)
def test_csv_corrupt_compression(tmp_path, name, content):
    """Regression: zlib.error, EOFError and OSError escaped."""
    (tmp_path / name).write_bytes(content)
    with pytest.raises(FileFormatError, match=at(tmp_path / name, r": cannot be read as (gzip|bz2)-compressed text")):
        read_csv(tmp_path / name)


def test_csv_bad_arguments(tmp_path, dense):
    write_csv(tmp_path / "t.csv", dense)
    with pytest.raises(TypeError, match="header must be True, False or"):
        read_csv(tmp_path / "t.csv", header="yes")
    with pytest.raises(ValueError, match=r"row_labels must have one label per row \(4\); got 2"):
        write_csv(tmp_path / "u.csv", dense, row_labels=["a", "b"])


def test_csv_not_text(tmp_path):
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x01binary")
    with pytest.raises(FileFormatError, match=r"bin\.csv: is not UTF-8 text"):
        read_csv(tmp_path / "bin.csv")


# --------------------------------------------------------------------------
# UCI bag of words
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["docword.tiny.txt", "docword.tiny.txt.gz"])
def test_uci_round_trip_with_vocab(tmp_path, counts, name):
    vocab = ["apple", "banana", "cherry", "date"]
    write_uci(tmp_path / name, counts, vocab=vocab)
    assert (tmp_path / "vocab.tiny.txt").read_text().split() == vocab
    data = read_uci(tmp_path / name)  # finds vocab.tiny.txt beside it
    assert isinstance(data.matrix, sp.csr_array)
    assert_same_sparse(data.matrix, counts)
    assert list(data.column_labels) == vocab
    assert read_uci(tmp_path / name, vocab=False).column_labels is None


def test_uci_layout_and_float32(tmp_path, counts):
    write_uci(tmp_path / "docword.t.txt", counts)
    lines = (tmp_path / "docword.t.txt").read_text().splitlines()
    assert lines[:3] == ["4", "4", "6"]
    assert lines[3:5] == ["1 1 2", "1 3 1"]
    assert read_uci(tmp_path / "docword.t.txt", dtype=np.float32).matrix.dtype == np.float32
    assert read_uci(tmp_path / "docword.t.txt").column_labels is None  # no vocab beside it


UCI_OK = "3\n4\n3\n1 1 2\n2 3 1\n3 4 5\n"


@pytest.mark.parametrize(
    "text, match",
    [
        ("3\nfour\n3\n1 1 2\n", r", line 2: expected W \(the number of words\)"),
        ("3\n4\n", r", line 3: ends before the header line for NNZ"),
        (
            "3\n4\n5\n1 1 2\n2 3 1\n3 4 5\n",
            r", line 3: the header says NNZ=5 entries, but the file holds 3 \(is the file truncated\?\)",
        ),
        ("3\n4\n2\n1 1 2\n2 3 1\n3 4 5\n", r", line 3: the header says NNZ=2 entries, but the file holds 3\."),
        ("3\n4\n3\n1 1 2\n2 9 1\n3 4 5\n", r", line 5, wordID: wordID 9 is outside 1\.\.4 \(W in the header\)"),
        ("3\n4\n3\n1 1 2\n0 3 1\n3 4 5\n", r", line 5, docID: docID 0 is outside 1\.\.3"),
        ("3\n4\n3\n1 1 2\n2 3 x\n3 4 5\n", r", line 5, count: count 'x' is not a non-negative integer"),
        ("3\n4\n3\n1 1 2\n2 3\n3 4 5\n", r", line 5: expected 'docID wordID count'; got '2 3'"),
    ],
    ids=["bad-header", "short-header", "truncated", "too-many", "word-range", "doc-range", "non-numeric", "two-fields"],
)
def test_uci_malformed(tmp_path, text, match):
    write_text(tmp_path / "docword.bad.txt", text)
    with pytest.raises(FileFormatError, match=at(tmp_path / "docword.bad.txt", match)):
        read_uci(tmp_path / "docword.bad.txt", vocab=False)


@pytest.mark.parametrize(
    "text, match",
    [
        ("1000000000000\n3\n0\n", r", line 1: D \(the number of documents\) is 1000000000000: .* this machine's"),
        ("2\n1000000000000\n1\n1 1 1\n", r", line 2: W \(the number of words\) is 1000000000000: "),
        ("99999999999999999999999\n3\n1\n1 1 1\n", r", line 1: D \(the number of documents\) is 9{23}:"),
        ("2\n3\n1\n1 1 99999999999999999999999\n", r", line 4, count: count 99999999999999999999999 is beyond 64-bit"),
    ],
    ids=["huge-D", "huge-W", "overflowing-D", "overflowing-count"],
)
def test_uci_huge_numbers(tmp_path, text, match):
    """Regression: MemoryError (a CSR matrix of 10**12 rows) or OverflowError escaped."""
    write_text(tmp_path / "docword.big.txt", text)
    with pytest.raises(FileFormatError, match=at(tmp_path / "docword.big.txt", match)):
        read_uci(tmp_path / "docword.big.txt", vocab=False)


def test_uci_byte_order_mark_is_skipped(tmp_path):
    write_text(tmp_path / "docword.b.txt", "\ufeff2\n3\n1\n1 2 4\n")
    write_text(tmp_path / "vocab.b.txt", "\ufeffa\nb\nc\n")
    data = read_uci(tmp_path / "docword.b.txt")
    assert data.matrix.toarray()[0, 1] == 4 and data.column_labels.tolist() == ["a", "b", "c"]


def test_uci_vocab_length_must_match(tmp_path):
    write_text(tmp_path / "docword.v.txt", UCI_OK)
    write_text(tmp_path / "vocab.v.txt", "a\nb\nc\n")
    with pytest.raises(FileFormatError, match=r"vocab\.v\.txt: holds 3 words, but .*docword\.v\.txt says W=4"):
        read_uci(tmp_path / "docword.v.txt")
    with pytest.raises(FileNotFoundError, match="elsewhere.txt"):
        read_uci(tmp_path / "docword.v.txt", vocab=tmp_path / "elsewhere.txt")


def test_uci_truncated_gzip(tmp_path, counts):
    write_uci(tmp_path / "docword.g.txt.gz", sp.csr_array(np.ones((50, 40))))
    data = (tmp_path / "docword.g.txt.gz").read_bytes()
    (tmp_path / "docword.cut.txt.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"docword\.cut\.txt\.gz: cannot be read"):
        read_uci(tmp_path / "docword.cut.txt.gz")


def test_uci_writer_refuses_non_counts(tmp_path):
    with pytest.raises(ValueError, match="non-negative integer counts"):
        write_uci(tmp_path / "docword.x.txt", np.array([[0.5, 1.0]]))


def test_uci_kos_from_shared_data():
    root = os.environ.get("FASTNMF_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    path = os.path.join(root, "uci_bow", "docword.kos.txt.gz")
    if not os.path.exists(path):
        pytest.skip("the shared KOS corpus is not here")
    data = read_uci(path)
    assert data.matrix.shape == (3430, 6906) and data.matrix.nnz == 353160
    assert data.matrix.sum() == 467714 and len(data.column_labels) == 6906


# --------------------------------------------------------------------------
# Ratings triplets
# --------------------------------------------------------------------------


@pytest.fixture
def ratings():
    return sp.csr_array(np.array([[5.0, 0, 3], [0, 4, 0], [1, 0, 0]]))


@pytest.mark.parametrize("layout", ["csv", "movielens-100k", "movielens-1m"])
def test_ratings_round_trip(tmp_path, ratings, layout):
    users, items = np.array([10, 20, 30]), np.array([7, 8, 9])
    write_ratings(tmp_path / "r.txt", ratings, user_ids=users, item_ids=items, layout=layout)
    data = read_ratings(tmp_path / "r.txt")
    assert_same_sparse(data.matrix, ratings)
    assert list(data.row_labels) == [10, 20, 30] and list(data.column_labels) == [7, 8, 9]


def test_ratings_movielens_100k_layout(tmp_path):
    write_text(tmp_path / "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t1\t878887116\n")
    data = load(tmp_path / "u.data")
    assert data.matrix.shape == (2, 2) and data.matrix.nnz == 3
    assert list(data.row_labels) == [186, 196]


def test_ratings_malformed(tmp_path):
    write_text(tmp_path / "ratings.csv", "user,item,rating\n1,2,5\n1,3,x\n")
    with pytest.raises(FileFormatError, match=r"ratings\.csv, line 3: the rating 'x' is not a number"):
        read_ratings(tmp_path / "ratings.csv")
    write_text(tmp_path / "twice.csv", "1,2,5\n1,2,4\n")
    with pytest.raises(FileFormatError, match=r"twice\.csv, line 2: user '1' rated item '2' again"):
        read_ratings(tmp_path / "twice.csv")


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_ratings_byte_order_mark_and_compression(tmp_path, compress):
    """Regression: the mark made '\\ufeff1' a second user; a gzip-compressed file was refused."""
    content = "\ufeff1\t1\t5\n1\t2\t4\n".encode()
    (tmp_path / "u.data").write_bytes(gzip.compress(content) if compress else content)
    data = read_ratings(tmp_path / "u.data")
    assert data.row_labels.tolist() == [1] and data.matrix.toarray().tolist() == [[5.0, 4.0]]
    # Errors name the file and the line, counted as written.
    (tmp_path / "twice.data").write_bytes("\ufeff1\t1\t5\n1\t1\t4\n".encode())
    with pytest.raises(FileFormatError, match=at(tmp_path / "twice.data", r", line 2: user '1' rated item '1' again")):
        read_ratings(tmp_path / "twice.data")
    (tmp_path / "cut.data").write_bytes(gzip.compress(content)[:15])
    with pytest.raises(FileFormatError, match=at(tmp_path / "cut.data", r": cannot be read as gzip-compressed text")):
        read_ratings(tmp_path / "cut.data")


def test_ratings_beyond_float32(tmp_path):
    """Regression: a rating of 1e39 became inf in float32 (checked before the cast)."""
    write_text(tmp_path / "u.data", "1\t1\t5\n2\t7\t1e39\n")
    message = r", line 2: the rating '1e39' is beyond the range of float32"
    with pytest.raises(FileFormatError, match=at(tmp_path / "u.data", message)):
        read_ratings(tmp_path / "u.data", dtype=np.float32)
    assert read_ratings(tmp_path / "u.data").matrix.max() == 1e39
    write_text(tmp_path / "small.data", "1\t1\t5\n2\t7\t1e38\n")
    assert read_ratings(tmp_path / "small.data", dtype=np.float32).matrix.dtype == np.float32
