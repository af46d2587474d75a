"""Reading and writing the matrix files NMF users have.

====================  ====================================  ===========================
format                files                                 functions
====================  ====================================  ===========================
Matrix Market         ``.mtx``, ``.mtx.gz``                 read_mtx, write_mtx
SciPy sparse / NumPy  ``.npz``                              read_npz, write_npz
NumPy                 ``.npy``                              read_npy, write_npy
delimited text        ``.csv``, ``.tsv`` (header, index)    read_csv, write_csv
UCI bag of words      ``docword.NAME.txt[.gz]`` + vocab     read_uci, write_uci
MATLAB                ``.mat`` (v4 to v7.2)                 read_mat, write_mat
ratings triplets      ``u.data``, ``ratings.dat``/``.csv``  read_ratings, write_ratings
====================  ====================================  ===========================

Every reader returns a :class:`LabeledMatrix` (the matrix, plus the row and
column labels the file gives, if any); :func:`load` picks the reader from the
file name and :func:`save` the writer. SciPy and NumPy do the parsing wherever
they can. A file that is not what it claims to be raises
:class:`FileFormatError` (a ``ValueError``) naming the file and, where known,
the line and field; a missing file raises ``FileNotFoundError``. A header
declaring more than the file holds (a tiny file declaring a huge matrix)
raises FileFormatError too, before anything is allocated. Text may start
with a UTF-8 byte-order mark, and may be gzip- or bzip2-compressed.

Examples
--------
>>> from fastnmf import nmf
>>> from fastnmf.io import load
>>> corpus = load("docword.kos.txt.gz")  # doctest: +SKIP
>>> topics = nmf(corpus.matrix, 10, loss="kullback-leibler")  # doctest: +SKIP
>>> corpus.column_labels[topics.H[0].argsort()[::-1][:10]]  # doctest: +SKIP
"""

import os
import re

import numpy as np
import scipy.sparse as sp

from ._common import FileFormatError, LabeledMatrix, strip_compression_suffix
from .delimited import read_csv, write_csv
from .matlab import read_mat, write_mat
from .matrix_market import read_mtx, write_mtx
from .numpy_files import read_npy, read_npz, write_npy, write_npz
from .ratings import read_ratings, write_ratings
from .uci import read_uci, write_uci

READERS = {
    "mtx": read_mtx,
    "npz": read_npz,
    "npy": read_npy,
    "csv": read_csv,
    "uci": read_uci,
    "mat": read_mat,
    "ratings": read_ratings,
}
WRITERS = {
    "mtx": write_mtx,
    "npz": write_npz,
    "npy": write_npy,
    "csv": write_csv,
    "uci": write_uci,
    "mat": write_mat,
    "ratings": write_ratings,
}
FORMATS = tuple(READERS)

SUFFIXES = {
    ".mtx": "mtx",
    ".mm": "mtx",
    ".npz": "npz",
    ".npy": "npy",
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".txt": "csv",
    ".mat": "mat",
}
# MovieLens's ratings files, by name: u.data, u1.base ... ub.test (100k),
# ratings.dat (1M, 10M), ratings.csv (20M and later), r1.train ... (10M).
RATINGS_NAMES = re.compile(r"^(u\.data|u[1-5ab]\.(base|test)|ratings\.(dat|csv)|r[1-5ab]\.(train|test))$")


def guess_format(path):
    """The format of ``path`` from its name (one of :data:`FORMATS`).

    ``docword.*`` is UCI; MovieLens's ratings file names are ratings; other
    names go by their extension, after any .gz or .bz2.

    Raises
    ------
    ValueError
        If the name does not tell.
    """
    name = strip_compression_suffix(os.path.basename(os.fspath(path)))
    if name.startswith("docword."):
        return "uci"
    if RATINGS_NAMES.match(name):
        return "ratings"
    extension = os.path.splitext(name)[1]
    if extension in SUFFIXES:
        return SUFFIXES[extension]
    raise ValueError(
        f"cannot tell the format of {os.fspath(path)!r} from its name; pass format= one of {list(FORMATS)}."
    )


def _check_format(format):
    if format not in READERS:
        raise ValueError(f"format must be one of {list(FORMATS)} or None; got {format!r}.")
    return format


def load(path, format=None, **options):
    """Read a matrix file with the reader its name calls for.

    Parameters
    ----------
    path : str or os.PathLike
        The file (for UCI, the docword file; its vocab is found beside it).
    format : str or None
        One of :data:`FORMATS`; None guesses it with :func:`guess_format`.
    **options
        Passed to the reader, e.g. ``variable=`` for .mat and .npz,
        ``delimiter=``, ``header=``, ``index=`` for CSV, ``vocab=`` for UCI,
        ``layout=`` for ratings.

    Returns
    -------
    LabeledMatrix
        The matrix and its row and column labels (None where the file has none).
    """
    format = guess_format(path) if format is None else _check_format(format)
    return READERS[format](path, **options)


def save(path, matrix, format=None, **options):
    """Write a matrix with the writer its file name calls for.

    Parameters
    ----------
    path : str or os.PathLike
    matrix : array-like or sparse matrix of shape (m, n)
    format : str or None
        One of :data:`FORMATS`; None guesses it from the name.
    **options
        Passed to the writer, e.g. ``row_labels=``/``column_labels=`` for CSV,
        ``vocab=`` for UCI, ``variable=`` for .mat and .npz.
    """
    format = guess_format(path) if format is None else _check_format(format)
    _check_savable(matrix)
    WRITERS[format](path, matrix, **options)


def _check_savable(matrix):
    """What :func:`load` reads back: a 2-D matrix of real numbers (booleans
    included), dense or sparse."""
    if not sp.issparse(matrix):
        try:
            matrix = np.asarray(matrix)
        except (TypeError, ValueError) as error:
            raise TypeError(f"matrix must be an array or a sparse matrix; could not convert it: {error}") from None
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D (m x n), as load reads it back; got shape {matrix.shape}.")
    if matrix.dtype.kind not in "biuf":
        raise TypeError(f"matrix must hold real numbers, as load reads them back; got dtype {matrix.dtype}.")


__all__ = [
    "FORMATS",
    "FileFormatError",
    "LabeledMatrix",
    "guess_format",
    "load",
    "read_csv",
    "read_mat",
    "read_mtx",
    "read_npy",
    "read_npz",
    "read_ratings",
    "read_uci",
    "save",
    "write_csv",
    "write_mat",
    "write_mtx",
    "write_npy",
    "write_npz",
    "write_ratings",
    "write_uci",
]
