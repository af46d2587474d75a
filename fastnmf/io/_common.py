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
    """Open ``path`` for reading text (UTF-8), decompressing gzip or bzip2.

    A byte-order mark at the start (as Excel and Notepad write UTF-8) is
    skipped. Decoding and decompression errors come while reading: turn
    them into a FileFormatError with :func:`text_error`.
    """
    kind = compression(path)
    if kind == "gzip":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    if kind == "bz2":
        return bz2.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


# What reading text through open_text raises on a file that is not UTF-8 or
# whose compression is corrupt or truncated.
TEXT_ERRORS = (UnicodeDecodeError, EOFError, OSError, zlib.error)


def text_error(path, error):
    """A FileFormatError for one of :data:`TEXT_ERRORS` raised while reading
    ``path`` through :func:`open_text`."""
    if isinstance(error, UnicodeDecodeError):
        return FileFormatError(path, f"is not UTF-8 text: {error}")
    kind = compression(path)
    if kind is not None:
        return FileFormatError(path, f"cannot be read as {kind}-compressed text: {error} (is it truncated or corrupt?)")
    return FileFormatError(path, f"cannot be read as text: {error}")


def open_text_for_writing(path):
    """Open ``path`` for writing text, gzip-compressed when it ends in .gz."""
    path = os.fspath(path)
    if path.lower().endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8", newline="")
    return open(path, "w", encoding="utf-8", newline="")


# What third-party parsers raise on bytes that are not what they expect
# (checked on truncated and garbled files): each reader turns these into a
# FileFormatError that names the file. A missing file is checked before.
# OverflowError: a number too large for a 64-bit integer, as SciPy's Matrix
# Market reader reports it.
PARSER_ERRORS = (
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    OverflowError,
    EOFError,
    OSError,
    zlib.error,
    struct.error,
)

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
    """A matrix just read: 2-D, real, CSR if sparse; else FileFormatError.

    A sparse matrix's index arrays are checked in full (column indices
    within the shape, row pointers non-decreasing): a file can hold any
    numbers there.
    """
    if sp.issparse(matrix):
        matrix = _checked_csr(path, matrix, what)
    else:
        matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise FileFormatError(path, f"{what} must be 2-D; got shape {matrix.shape}.")
    if matrix.dtype.kind not in "biuf":
        raise FileFormatError(path, f"{what} must hold real numbers; got dtype {matrix.dtype}.")
    return matrix


def _checked_csr(path, matrix, what):
    try:
        matrix = sp.csr_array(matrix)
        if matrix.ndim == 2:
            matrix.check_format(full_check=True)
    except PARSER_ERRORS as error:
        raise FileFormatError(path, f"{what} is not a valid sparse matrix: {error}") from None
    return matrix


# A sparse matrix keeps an 8-byte pointer per row (CSR), and a fit a copy
# with one per column (CSC); where the system does not tell its memory size,
# this many bytes are assumed.
POINTER_BYTES = 8
ASSUMED_MEMORY = 2**40


def memory_size():
    """This machine's physical memory in bytes (:data:`ASSUMED_MEMORY` where
    the system does not say)."""
    try:
        size = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return ASSUMED_MEMORY
    return size if size > 0 else ASSUMED_MEMORY


def describe_bytes(count):
    """``count`` bytes for people: "512 bytes", "7.28 TiB"."""
    if count < 1024:
        return f"{count} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"):
        count /= 1024
        if count < 1024:
            break
    return f"{count:.3g} {unit}"


def check_dimension(path, name, value, *, line=None, field=None):
    """Refuse a sparse matrix's declared number of rows or columns when its
    index pointers alone (8 bytes each) would exceed this machine's memory,
    as a tiny file can declare: a FileFormatError naming ``name``, the
    declared ``value`` and ``line`` or ``field``."""
    needed = POINTER_BYTES * (value + 1)
    memory = memory_size()
    if needed > memory:
        raise FileFormatError(
            path,
            f"{name} is {value}: a sparse matrix that size needs {describe_bytes(needed)} for its index pointers "
            f"alone ({POINTER_BYTES} bytes a row or column), more than this machine's memory "
            f"({describe_bytes(memory)}).",
            line=line,
            field=field,
        )


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
