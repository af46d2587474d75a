"""What every reader shares: the result type, the error type, opening
(possibly compressed) files, and the checks on a matrix just read."""

import bz2
import gzip
import os
import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"


class FileFormatError(ValueError):
    """A file that cannot be read as the format it claims to be.

    The message names the file and, where known, the line (1-based) and the
    field or variable at fault; so do the attributes ``path``, ``line`` and
    ``field``.
    """

    def __init__(self, path, message, *, line=None, field=None):
        self.path = os.fspath(path)
        self.line = line
        self.field = field
        where = self.path
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", {field}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, eq=False)
class LabeledMatrix:
    """A matrix read from a file, with the labels the file gave its rows and
    columns.

    Attributes
    ----------
    matrix : ndarray or scipy.sparse.csr_array of shape (m, n)
        The data; sparse formats come back as CSR (stored zeros kept), dense
        ones as a NumPy array.
    row_labels : ndarray of shape (m,) or None
        Row names (a CSV index column, user ids), if the file has them.
    column_labels : ndarray of shape (n,) or None
        Column names (a CSV header, a UCI vocabulary, item ids), if any.
    path : str
        The file read.
    """

    matrix: object
    row_labels: object = None
    column_labels: object = None
    path: str = ""

    @property
    def shape(self):
        """(m, n), the matrix's shape."""
        return self.matrix.shape

    def __repr__(self):
        kind = f"sparse, nnz={self.matrix.nnz}" if sp.issparse(self.matrix) else "dense"
        labels = []
        if self.row_labels is not None:
            labels.append("row labels")
        if self.column_labels is not None:
            labels.append("column labels")
        extra = (", with " + " and ".join(labels)) if labels else ""
        return f"LabeledMatrix({self.path!r}: {self.shape[0]}x{self.shape[1]} {self.matrix.dtype}, {kind}{extra})"


def existing_file(path):
    """``path`` as a string, or FileNotFoundError/IsADirectoryError naming it."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a directory, not a file.")
    return path


def compression(path):
    """ "gzip", "bz2" or None, from the file's first bytes (not its name, so a
    mislabelled file is still read right)."""
    with open(path, "rb") as file:
        head = file.read(3)
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    if head == BZIP2_MAGIC:
        return "bz2"
    return None


def open_text(path):
    """Open ``path`` for reading text (UTF-8), decompressing gzip or bzip2."""
    kind = compression(path)
    if kind == "gzip":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    if kind == "bz2":
        return bz2.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def open_text_for_writing(path):
    """Open ``path`` for writing text, gzip-compressed when it ends in .gz."""
    path = os.fspath(path)
    if path.lower().endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8", newline="")
    return open(path, "w", encoding="utf-8", newline="")


# What third-party parsers raise on bytes that are not what they expect
# (checked on truncated and garbled files): each reader turns these into a
# FileFormatError that names the file. A missing file is checked before.
PARSER_ERRORS = (ValueError, TypeError, IndexError, KeyError, EOFError, OSError, zlib.error, struct.error)

_LINE_PREFIX = re.compile(r"^\s*line (\d+):\s*(.*)$", re.IGNORECASE | re.DOTALL)


def format_error(path, prefix, error):
    """A FileFormatError for ``error`` raised while parsing ``path``, taking
    a leading "Line N:" of the parser's message as the line number."""
    message = str(error) or type(error).__name__
    match = _LINE_PREFIX.match(message)
    if match:
        return FileFormatError(path, f"{prefix}: {match.group(2)}", line=int(match.group(1)))
    return FileFormatError(path, f"{prefix}: {message}")


def checked_matrix(path, matrix, what="the matrix"):
    """A matrix just read: 2-D, real, CSR if sparse; else FileFormatError."""
    if sp.issparse(matrix):
        matrix = sp.csr_array(matrix)
    else:
        matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise FileFormatError(path, f"{what} must be 2-D; got shape {matrix.shape}.")
    if matrix.dtype.kind not in "biuf":
        raise FileFormatError(path, f"{what} must hold real numbers; got dtype {matrix.dtype}.")
    return matrix


def is_number(text):
    """Whether ``text`` parses as a float (as NumPy's loadtxt would)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def strip_compression_suffix(name):
    """``name`` lower-cased without a trailing .gz/.bz2/.bz."""
    name = name.lower()
    for suffix in (".gz", ".bz2", ".bz"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
