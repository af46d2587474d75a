"""(user, item, rating) triplet files such as MovieLens's ``u.data``,
``ratings.dat`` and ``ratings.csv``.

Reading is :func:`fastnmf.recommend.load_ratings` (one reader in the
package, in :mod:`fastnmf._ratings_file`); this module adapts it to :class:`LabeledMatrix` and adds the writer.
"""

import os
import re

import numpy as np
import scipy.sparse as sp

from .._ratings_file import load_ratings
from ._common import FileFormatError, LabeledMatrix, existing_file

SEPARATORS = {"movielens-100k": "\t", "movielens-1m": "::", "csv": ","}


def read_ratings(path, *, layout="auto", dtype=np.float64):
    """Read (user, item, rating) triplets as a users x items matrix.

    Parameters
    ----------
    path : str or os.PathLike
        The ratings file: UTF-8 text (a byte-order mark at its start is
        skipped), plain or compressed (gzip or bzip2, recognized by content).
    layout : {"auto", "movielens-100k", "movielens-1m", "csv"}
        See :func:`fastnmf.recommend.load_ratings`.
    dtype : float64 or float32
        The ratings' dtype.

    Returns
    -------
    LabeledMatrix
        ``matrix``: CSR array whose stored entries are the ratings (fit it
        with ``mask="observed"``); ``row_labels``: user ids;
        ``column_labels``: item ids.

    Raises
    ------
    FileFormatError
        For a malformed line, a pair rated twice or a rating beyond the
        range of ``dtype``, naming the line; for text that is not UTF-8 or
        compression that is corrupt.
    """
    path = existing_file(path)
    try:
        ratings = load_ratings(path, layout=layout, dtype=dtype)
    except ValueError as error:
        message = str(error)
        if not message.startswith(path):
            raise
        match = re.match(r"^, line (\d+): (.*)$", message[len(path) :], re.DOTALL)
        if match:
            raise FileFormatError(path, match.group(2), line=int(match.group(1))) from None
        raise FileFormatError(path, message[len(path) :].lstrip(",: ")) from None
    return LabeledMatrix(ratings.matrix, ratings.user_ids, ratings.item_ids, path)


def write_ratings(path, matrix, *, user_ids=None, item_ids=None, layout="csv"):
    """Write the stored entries of a ratings matrix as triplets.

    Parameters
    ----------
    path : str or os.PathLike
    matrix : sparse matrix of shape (m, n)
        Its stored entries are the ratings (stored zeros included).
    user_ids, item_ids : sequences of length m and n, or None
        The id written for each row and column; default the 0-based index.
    layout : {"csv", "movielens-100k", "movielens-1m"}
        ``user,item,rating`` under a header line, ``user<TAB>item<TAB>rating``
        or ``user::item::rating``.
    """
    if layout not in SEPARATORS:
        raise ValueError(f"layout must be one of {list(SEPARATORS)}; got {layout!r}.")
    if not sp.issparse(matrix):
        raise TypeError("matrix must be a SciPy sparse matrix whose stored entries are the ratings.")
    X = sp.coo_array(matrix)
    X.sum_duplicates()
    m, n = X.shape
    users = np.arange(m) if user_ids is None else np.asarray(user_ids)
    items = np.arange(n) if item_ids is None else np.asarray(item_ids)
    if users.shape != (m,) or items.shape != (n,):
        raise ValueError(f"user_ids and item_ids must have {m} and {n} entries; got {users.shape} and {items.shape}.")
    separator = SEPARATORS[layout]
    order = np.lexsort((X.col, X.row))
    with open(os.fspath(path), "w", encoding="utf-8", newline="") as file:
        if layout == "csv":
            file.write("user,item,rating\n")
        for row, col, value in zip(X.row[order].tolist(), X.col[order].tolist(), X.data[order].tolist()):
            file.write(f"{users[row]}{separator}{items[col]}{separator}{value!r}\n")
