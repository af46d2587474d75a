"""Matrix Market files (``.mtx``, optionally gzip- or bzip2-compressed),
read and written by SciPy (``scipy.io.mmread`` / ``mmwrite``).

Before SciPy parses a file, its header is read here and checked against the
file's size, so that a tiny file declaring a huge matrix is refused instead
of allocated: a "coordinate" file must have room for the entries it
declares (each entry line takes at least 4 bytes for a pattern, 6 for real
or integer values, 8 for complex ones, newline included, which the last line
may lack), an "array" file for its values (at least 2 bytes each, 4 for
complex ones), and a sparse matrix's rows and columns must
pass :func:`~fastnmf.io._common.check_dimension`. A compressed file is
measured decompressed (read, not kept in memory, up to the bytes its
header's sizes need).
"""

import bz2
import dataclasses
import gzip
import os
import re

import numpy as np
import scipy.io
import scipy.sparse as sp

from ._common import (
    PARSER_ERRORS,
    FileFormatError,
    LabeledMatrix,
    check_dimension,
    checked_matrix,
    compression,
    existing_file,
    format_error,
)

UTF8_BOM = b"\xef\xbb\xbf"
# SciPy decompresses a path by its name; fastnmf goes by content.
SCIPY_DECOMPRESSED_SUFFIXES = (".gz", ".bz2")
INT64_MAX = np.iinfo(np.int64).max
SIZE_FIELD = re.compile(rb"[0-9]+")
# The fewest bytes an entry line ("i j v\n") or an array value ("v\n") takes, by field.
ENTRY_BYTES = {"pattern": 4, "complex": 8}
VALUE_BYTES = {"complex": 4}


@dataclasses.dataclass(frozen=True)
class _Header:
    layout: str  # "coordinate" or "array"
    field: str  # "real", "integer", "complex", "pattern", ...
    symmetry: str
    sizes: tuple  # (rows, columns, entries) or (rows, columns)
    line: int  # the size line's number
    body_bytes: int  # the bytes after the size line


def read_mtx(path):
    """Read a Matrix Market file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.mtx`` file, plain or compressed (gzip or bzip2, recognized by
        content). A UTF-8 byte-order mark at its start is skipped.

    Returns
    -------
    LabeledMatrix
        ``matrix``: a CSR array for the "coordinate" format (stored zeros
        kept), an ndarray for "array"; no labels.

    Raises
    ------
    FileFormatError
        For a bad header, a non-numeric or out-of-range entry (naming the
        line), a truncated file, or sizes the file could not hold (see the
        module's notes).
    """
    path = existing_file(path)
    matrix = _parse(path)
    if np.iscomplexobj(matrix):
        raise format_error(path, "unsupported Matrix Market file", ValueError("it holds complex values."))
    return LabeledMatrix(checked_matrix(path, matrix), path=path)


def _parse(path):
    """scipy.io.mmread's COO matrix or ndarray, after checking the header."""
    kind = compression(path)
    opener = {"gzip": gzip.open, "bz2": bz2.open}.get(kind, open)
    try:
        with opener(path, "rb") as file:
            has_bom = file.read(len(UTF8_BOM)) == UTF8_BOM
            if not has_bom:
                file.seek(0)
            header = _read_header(path, file, os.path.getsize(path) if kind is None else None)
        if header is not None:
            _check_sizes(path, header, kind)
        if kind is None and not has_bom and not path.endswith(SCIPY_DECOMPRESSED_SUFFIXES):
            return scipy.io.mmread(path)  # SciPy's reader opens the file itself
        # A stream SciPy's reader may still hold after a failure: closed here
        # only once it has returned (one closed under it aborts the process).
        source = opener(path, "rb")
        if has_bom:
            source.read(len(UTF8_BOM))
        matrix = scipy.io.mmread(source)
        source.close()
        return matrix
    except FileFormatError:
        raise
    except PARSER_ERRORS as error:
        raise format_error(path, "not a valid Matrix Market file", error) from None


def _read_header(path, file, size):
    """The banner and size line of a Matrix Market file, or None where they
    are not what this module checks (SciPy then reports the problem).
    ``size`` is the file's size in bytes, or None for a compressed stream,
    whose remaining bytes are then counted (read, not kept) until there are
    enough for what the header declares or the stream ends: a small
    declaration followed by gigabytes of decompressed padding is not read
    through here.

    Raises
    ------
    FileFormatError
        For a size beyond 64-bit integers, naming the line.
    """
    words = file.readline().split()
    if len(words) != 5 or words[0] != b"%%MatrixMarket" or words[1].lower() != b"matrix":
        return None
    layout, field, symmetry = (word.decode("ascii", "replace").lower() for word in words[2:])
    if layout not in ("coordinate", "array"):
        return None
    number = 1
    while True:
        line = file.readline()
        number += 1
        if not line:
            return None
        if line.strip() and not line.startswith(b"%"):
            break
    fields = line.split()
    if len(fields) != (3 if layout == "coordinate" else 2) or not all(SIZE_FIELD.fullmatch(f) for f in fields):
        return None
    sizes = tuple(int(field) for field in fields)
    if max(sizes) > INT64_MAX:
        raise FileFormatError(
            path, f"the size line declares {max(sizes)}, beyond 64-bit integers (at most {INT64_MAX}).", line=number
        )
    header = _Header(layout, field, symmetry, sizes, number, 0)
    if size is not None:
        return dataclasses.replace(header, body_bytes=size - file.tell())
    entries, each, _ = _declared(header)
    needed = entries * each - 1  # enough to hold them (the last line may lack its newline)
    body_bytes = 0
    while body_bytes < needed:
        chunk = file.read(1 << 20)
        if not chunk:
            break
        body_bytes += len(chunk)
    return dataclasses.replace(header, body_bytes=body_bytes)


def _declared(header):
    """(entries, the fewest bytes each takes, a description) that the
    header declares."""
    rows, columns = header.sizes[:2]
    if header.layout == "coordinate":
        entries = header.sizes[2]
        return entries, ENTRY_BYTES.get(header.field, 6), f"{entries} entries"
    if header.symmetry == "general" or rows != columns:
        entries = rows * columns
    elif header.symmetry == "skew-symmetric":
        entries = rows * (rows - 1) // 2
    else:
        entries = rows * (rows + 1) // 2
    return entries, VALUE_BYTES.get(header.field, 2), f"a {rows} x {columns} array ({entries} values)"


def _check_sizes(path, header, kind):
    """Refuse sizes that the bytes after the header could not hold (for a
    compressed file, ``header.body_bytes`` stops counting once they could)."""
    where = f"the {header.body_bytes} bytes after the header{' (decompressed)' if kind else ''}"
    if header.layout == "coordinate":
        check_dimension(path, "the number of rows", header.sizes[0], line=header.line)
        check_dimension(path, "the number of columns", header.sizes[1], line=header.line)
    entries, each, what = _declared(header)
    capacity = (header.body_bytes + 1) // each  # the last line may lack its newline
    if entries > capacity:
        raise FileFormatError(
            path,
            f"the header declares {what}, but {where} hold at most {capacity} "
            f"(each takes at least {each} bytes): is the file truncated?",
            line=header.line,
        )


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
