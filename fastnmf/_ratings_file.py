"""Reading (user, item, rating) triplet files, such as MovieLens's
``u.data`` and ``ratings.dat``, as a sparse ratings matrix plus the id maps.

Public as :func:`fastnmf.recommend.load_ratings`; :mod:`fastnmf.io` wraps it
as ``read_ratings``. Users point it at their own copy: MovieLens's terms
forbid redistributing it.
"""

import contextlib
import csv
import os
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

LAYOUTS = ("auto", "movielens-100k", "movielens-1m", "csv")


@dataclass(frozen=True, eq=False)
class Ratings:
    """Ratings read by :func:`load_ratings`.

    Attributes
    ----------
    matrix : scipy.sparse.csr_array of shape (m, n)
        ``matrix[u, i]`` is user u's rating of item i (stored entries only).
    user_ids : ndarray of shape (m,)
        The file's id of each row (ints when every id is an integer, sorted
        numerically; else strings, sorted).
    item_ids : ndarray of shape (n,)
        The file's id of each column, likewise.
    """

    matrix: sp.csr_array
    user_ids: np.ndarray
    item_ids: np.ndarray


def _detect_layout(path, first_line):
    if "::" in first_line:
        return "movielens-1m"
    if "\t" in first_line:
        return "movielens-100k"
    if "," in first_line:
        return "csv"
    raise ValueError(
        f"{path}: cannot tell the layout from the first line {first_line.rstrip()!r}; pass layout= one of "
        f"{list(LAYOUTS[1:])}."
    )


def _split_line(line, layout):
    if layout == "movielens-1m":
        return line.split("::")
    if layout == "movielens-100k":
        return line.split("\t")
    return next(csv.reader([line]))


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _id_map(ids):
    """Sorted unique ids (as ints when all are integers written one way
    each, so that "7" and "007" stay apart) and each id's index."""
    as_text = np.array(ids, dtype=str)
    unique_text, text_codes = np.unique(as_text, return_inverse=True)
    try:
        as_int = np.array([int(text) for text in unique_text], dtype=np.int64)
    except (ValueError, OverflowError):
        return unique_text, text_codes
    if np.unique(as_int).size != unique_text.size:
        return unique_text, text_codes
    order = np.argsort(as_int)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return as_int[order], rank[text_codes]


@contextlib.contextmanager
def _reading(path, errors, as_file_error):
    """``errors`` while reading ``path`` (undecodable text, corrupt
    compression) as the FileFormatError ``as_file_error`` makes, a
    ValueError that names the file."""
    try:
        yield
    except errors as error:
        raise as_file_error(path, error) from None


def load_ratings(path, *, layout="auto", dtype=np.float64):
    """Read (user, item, rating) triplets from a text file.

    Layouts (further fields on a line, such as a timestamp, are ignored):

    - ``"movielens-100k"``: ``user<TAB>item<TAB>rating<TAB>timestamp``
      (MovieLens 100k's ``u.data``);
    - ``"movielens-1m"``: ``user::item::rating::timestamp`` (MovieLens 1M and
      10M's ``ratings.dat``);
    - ``"csv"``: ``user,item,rating[,...]``, with or without a header line
      (MovieLens 20M and later's ``ratings.csv``);
    - ``"auto"``: from the first line (``::``, then a tab, then a comma).

    Empty lines are skipped. This reads ratings triplets only; it is not a
    general matrix reader.

    Parameters
    ----------
    path : str or os.PathLike
        The file: UTF-8 text (a byte-order mark at its start is skipped),
        plain or compressed with gzip or bzip2 (told by its first bytes).
    layout : {"auto", "movielens-100k", "movielens-1m", "csv"}
        How lines are laid out.
    dtype : float32 or float64
        dtype of the ratings.

    Returns
    -------
    Ratings
        ``matrix`` (CSR, users x items; a rating of 0 is a stored zero),
        ``user_ids`` and ``item_ids`` (the id of each row and column).

    Raises
    ------
    ValueError
        For a malformed line or a (user, item) pair rated twice, naming the
        file and the line number.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {list(LAYOUTS)}; got {layout!r}.")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64; got {dtype}.")
    path = os.fspath(path)
    users, items, values, line_numbers = [], [], [], []
    largest = float(np.finfo(dtype).max)
    # fastnmf.io's text opener (gzip, bzip2, a byte-order mark): imported here,
    # since fastnmf.io itself imports this module.
    from .io._common import TEXT_ERRORS, open_text, text_error

    with open_text(path) as file, _reading(path, TEXT_ERRORS, text_error):
        for number, line in enumerate(file, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if layout == "auto":
                layout = _detect_layout(path, line)
            fields = [field.strip() for field in _split_line(line, layout)]
            if len(fields) < 3 or not fields[0] or not fields[1]:
                raise ValueError(
                    f"{path}, line {number}: expected user, item and rating ({layout} layout); got {line!r}."
                )
            if not _is_number(fields[2]):
                if layout == "csv" and not users:
                    continue  # a header line
                raise ValueError(f"{path}, line {number}: the rating {fields[2]!r} is not a number.")
            rating = float(fields[2])
            if not np.isfinite(rating):
                raise ValueError(f"{path}, line {number}: the rating {fields[2]!r} is not finite.")
            if abs(rating) > largest:
                raise ValueError(f"{path}, line {number}: the rating {fields[2]!r} is beyond the range of {dtype}.")
            users.append(fields[0])
            items.append(fields[1])
            values.append(rating)
            line_numbers.append(number)
    if not users:
        raise ValueError(f"{path}: holds no ratings.")
    user_ids, rows = _id_map(users)
    item_ids, cols = _id_map(items)
    m, n = len(user_ids), len(item_ids)
    keys = rows.astype(np.int64) * n + cols
    order = np.argsort(keys, kind="stable")
    repeated = np.flatnonzero(keys[order][1:] == keys[order][:-1])
    if repeated.size:
        first, second = order[repeated[0]], order[repeated[0] + 1]
        raise ValueError(
            f"{path}, line {line_numbers[second]}: user {users[second]!r} rated item {items[second]!r} "
            f"again (first at line {line_numbers[first]})."
        )
    index_dtype = np.int32 if max(len(values), m, n) < np.iinfo(np.int32).max else np.int64
    matrix = sp.csr_array(
        (np.asarray(values, dtype=dtype), (rows.astype(index_dtype), cols.astype(index_dtype))), shape=(m, n)
    )
    matrix.sort_indices()
    return Ratings(matrix, user_ids, item_ids)
