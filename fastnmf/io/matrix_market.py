"""Matrix Market files (``.mtx``, optionally gzip- or bzip2-compressed),
read and written by SciPy (``scipy.io.mmread`` / ``mmwrite``)."""

import bz2
import gzip
import os

import numpy as np
import scipy.io
import scipy.sparse as sp

from ._common import PARSER_ERRORS, LabeledMatrix, checked_matrix, compression, existing_file, format_error


def read_mtx(path):
    """Read a Matrix Market file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.mtx`` file, plain or compressed (gzip or bzip2, recognized by
        content).

    Returns
    -------
    LabeledMatrix
        ``matrix``: a CSR array for the "coordinate" format (stored zeros
        kept), an ndarray for "array"; no labels.

    Raises
    ------
    FileFormatError
        For a bad header, a non-numeric or out-of-range entry (naming the
        line) or a truncated file.
    """
    path = existing_file(path)
    opener = {"gzip": gzip.open, "bz2": bz2.open}.get(compression(path), open)
    try:
        with opener(path, "rb") as file:
            matrix = scipy.io.mmread(file)
    except PARSER_ERRORS as error:
        raise format_error(path, "not a valid Matrix Market file", error) from None
    if np.iscomplexobj(matrix):
        raise format_error(path, "unsupported Matrix Market file", ValueError("it holds complex values."))
    return LabeledMatrix(checked_matrix(path, matrix), path=path)


def write_mtx(path, matrix, *, comment=""):
    """Write a matrix as Matrix Market (gzip-compressed if ``path`` ends in .gz).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its name is used as given.
    matrix : array-like or sparse matrix of shape (m, n)
        Sparse matrices are written in "coordinate" format, dense ones in
        "array" format.
    comment : str
        Comment lines for the header.
    """
    path = os.fspath(path)
    if not sp.issparse(matrix):
        matrix = np.asarray(matrix)
    opener = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "wb") as file:
        scipy.io.mmwrite(file, matrix, comment=comment)
