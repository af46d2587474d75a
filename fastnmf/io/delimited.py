"""Dense matrices in delimited text (CSV, TSV), with an optional header line
of column names and an optional first column of row names.

Numbers are parsed by ``numpy.loadtxt`` (fast, C); when it fails, the file is
scanned again with the :mod:`csv` module to name the exact line and field.
"""

import csv
import os
import warnings

import numpy as np
import scipy.sparse as sp

from ._common import (
    PARSER_ERRORS,
    TEXT_ERRORS,
    FileFormatError,
    LabeledMatrix,
    existing_file,
    is_number,
    open_text,
    open_text_for_writing,
    strip_compression_suffix,
    text_error,
)

DELIMITERS_BY_SUFFIX = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
INFER = "infer"


def _default_delimiter(path):
    name = strip_compression_suffix(os.path.basename(os.fspath(path)))
    for suffix, delimiter in DELIMITERS_BY_SUFFIX.items():
        if name.endswith(suffix):
            return delimiter
    return None


def _sniff_delimiter(line):
    """A tab, comma or semicolon if the line has one, else None (runs of
    whitespace)."""
    for delimiter in ("\t", ",", ";"):
        if delimiter in line:
            return delimiter
    return None


def _split(line, delimiter):
    """The fields of one line, as the numbers pass will see them."""
    if delimiter is None:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter))


def _first_lines(path, count):
    """Up to ``count`` non-empty lines with their 1-based line numbers."""
    lines = []
    with open_text(path) as file:
        for number, line in enumerate(file, start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                lines.append((number, line))
                if len(lines) == count:
                    break
    return lines


def read_csv(path, *, delimiter=None, header=INFER, index=INFER, dtype=np.float64):
    """Read a dense matrix from delimited text (CSV, TSV; gzip or bzip2 too).

    Parameters
    ----------
    path : str or os.PathLike
        The file (UTF-8; a byte-order mark at its start is skipped).
    delimiter : str or None
        The field separator. None: a comma for .csv, a tab for .tsv/.tab,
        otherwise the first of tab, comma, semicolon found on the first
        line, else runs of whitespace.
    header : bool or "infer"
        Whether the first line holds column names. "infer": yes when one of
        its fields (after the row names) is a label: not a number, or a
        number in double quotes in a file whose numbers are not quoted (as
        :func:`write_csv` and R's ``write.csv`` write names), or when its
        first field is empty (the corner above the row names that pandas
        writes). Pass ``header=True`` for a file whose column names are
        unquoted numbers, as in ``1,2,3``.
    index : bool or "infer"
        Whether the first column holds row names. "infer": yes when the first
        field of the first data line is a label (as above), or when the
        header's first field is empty (as pandas writes it).
    dtype : float64 or float32
        The matrix's dtype, whatever the file holds: integers, and booleans
        written 0 and 1, come back as floats too. Missing values may be
        written ``nan``.

    Returns
    -------
    LabeledMatrix
        ``matrix`` (ndarray of shape (m, n)), ``row_labels`` (from the index
        column, or None) and ``column_labels`` (from the header, or None).

    Raises
    ------
    FileFormatError
        Naming the line and column of a field that is not a number, of a
        line with the wrong number of fields, or of a header whose number
        of names differs from the data's number of columns; or for a file
        that is not UTF-8 text or whose compression is corrupt.
    """
    path = existing_file(path)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64; got {dtype}.")
    for name, value in (("header", header), ("index", index)):
        if value != INFER and not isinstance(value, bool):
            raise TypeError(f'{name} must be True, False or "infer"; got {value!r}.')
    try:
        first = _first_lines(path, 2)
    except TEXT_ERRORS as error:
        raise text_error(path, error) from None
    if not first:
        raise FileFormatError(path, "is empty: expected delimited numbers.")
    if delimiter is None:
        delimiter = _default_delimiter(path) or _sniff_delimiter(first[0][1])
    first_fields = _split(first[0][1], delimiter)
    header, index = _layout(first[0][1], first[1][1] if len(first) > 1 else None, delimiter, header, index)
    n_fields = len(first_fields)
    if index and n_fields < 2:
        raise FileFormatError(path, "has an index column but no data column.", line=first[0][0])
    if header and len(first) > 1:
        _check_header_length(path, first, delimiter)
    data_start = first[0][0] + 1 if header else first[0][0]
    column_labels = np.array(first_fields[1:] if index else first_fields, dtype=str) if header else None
    values = _read_numbers(path, delimiter, data_start, n_fields, index, dtype)
    row_labels = _read_index(path, delimiter, data_start, n_fields) if index else None
    if values.shape[0] == 0:
        raise FileFormatError(path, "holds a header but no data lines.")
    return LabeledMatrix(values, row_labels, column_labels, path)


def _check_header_length(path, first, delimiter):
    """The header must name every column: as many fields as the first data
    line (counting the corner above the row names, if any)."""
    (header_number, header_line), (data_number, data_line) = first
    n_header, n_data = len(_split(header_line, delimiter)), len(_split(data_line, delimiter))
    if n_header != n_data:
        raise FileFormatError(
            path,
            f"the header has {n_header} field{'s' if n_header != 1 else ''}, but the first data line (line "
            f"{data_number}) has {n_data}: expected one name per column (an empty one above row names).",
            line=header_number,
        )


def _quoted_fields(line, delimiter):
    """Whether each field of ``line`` is written in double quotes, reading it
    as the :mod:`csv` module's default dialect does (a doubled quote inside
    quotes is a quote)."""
    if delimiter is None:
        return [False] * len(line.split())
    quoted, state = [], "start"
    for char in line:
        if state == "start":
            quoted.append(char == '"')
            state = "quoted" if char == '"' else "start" if char == delimiter else "plain"
        elif state == "quoted":
            state = "closing" if char == '"' else "quoted"
        elif char == delimiter:
            state = "start"
        elif state == "closing":
            state = "quoted" if char == '"' else "plain"
    if state == "start":
        quoted.append(False)  # the empty field after a trailing delimiter
    return quoted


def _layout(first_line, second_line, delimiter, header, index):
    """Decide ``header`` and ``index`` where they are "infer".

    A field is a label when it is not a number, or when it is a number in
    quotes while the file's numbers are not quoted (the last field of the
    second line, always a number, tells): that is how :func:`write_csv`
    writes labels such as ``"1"``, so that they read back as labels.
    """
    lines = [first_line] if second_line is None else [first_line, second_line]
    fields = [_split(line, delimiter) for line in lines]
    quoted = []
    for line, line_fields in zip(lines, fields):
        line_quoted = _quoted_fields(line, delimiter)
        quoted.append(line_quoted if len(line_quoted) == len(line_fields) else [False] * len(line_fields))
    numbers_quoted = bool(quoted[-1]) and quoted[-1][-1]

    def is_label(field, field_quoted):
        return not is_number(field) or (field_quoted and not numbers_quoted)

    first_fields = fields[0]
    first_labels = [is_label(field, field_quoted) for field, field_quoted in zip(first_fields, quoted[0])]
    # pandas and R write an empty field above the row names.
    corner = len(first_fields) >= 2 and first_fields[0].strip() == ""
    if index == INFER:
        if len(first_fields) < 2:
            index = False
        elif header is True or (header == INFER and (corner or any(first_labels[1:]))):
            # A header: look at the first data line.
            index = corner or (second_line is not None and is_label(fields[1][0], quoted[1][0]))
        else:
            index = first_labels[0]
    if header == INFER:
        header = (index and corner) or any(first_labels[1:] if index else first_labels)
    return header, index


def _read_numbers(path, delimiter, data_start, n_fields, index, dtype):
    columns = range(1, n_fields) if index else None
    try:
        with open_text(path) as file, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Ee]mpty input file.*")
            warnings.filterwarnings("ignore", message=".*input contained no data.*")
            return np.loadtxt(
                file,
                dtype=dtype,
                delimiter=delimiter,
                skiprows=data_start - 1,
                usecols=columns,
                comments=None,
                quotechar='"' if delimiter is not None else None,
                ndmin=2,
            )
    except PARSER_ERRORS as error:
        raise _diagnose(path, delimiter, data_start, n_fields, index, error) from None


def _data_lines(path, delimiter, data_start, n_fields):
    """``(line number, fields)`` of each non-empty data line; a line with the
    wrong number of fields raises :class:`FileFormatError` naming it."""
    with open_text(path) as file:
        for number, line in enumerate(file, start=1):
            if number < data_start or not line.strip():
                continue
            fields = _split(line.rstrip("\r\n"), delimiter)
            if len(fields) != n_fields:
                raise FileFormatError(path, _field_count_message(n_fields, len(fields)), line=number)
            yield number, fields


def _read_index(path, delimiter, data_start, n_fields):
    """The first field of each data line, checking every line's field count."""
    labels = [fields[0] for _, fields in _data_lines(path, delimiter, data_start, n_fields)]
    return np.array(labels, dtype=str)


def _field_count_message(expected, got):
    return f"expected {expected} field{'s' if expected != 1 else ''} (as on the first line); got {got}."


def _diagnose(path, delimiter, data_start, n_fields, index, error):
    """Find the line and field that made loadtxt fail; fall back on its message."""
    try:
        for number, fields in _data_lines(path, delimiter, data_start, n_fields):
            for column, field in enumerate(fields[1:] if index else fields, start=2 if index else 1):
                if not is_number(field):
                    return FileFormatError(path, f"{field!r} is not a number.", line=number, field=f"column {column}")
    except FileFormatError as wrong_count:
        return wrong_count
    except TEXT_ERRORS as scan_error:
        return text_error(path, scan_error)
    except PARSER_ERRORS as scan_error:
        return FileFormatError(path, f"cannot be read as text: {scan_error}")
    return FileFormatError(path, f"cannot be read as delimited numbers: {error}")


def write_csv(path, matrix, *, row_labels=None, column_labels=None, delimiter=None):
    """Write a matrix as delimited text (gzip-compressed if ``path`` ends in .gz).

    Numbers are written exactly (shortest round-trip form), so
    :func:`read_csv` gives back the same values; booleans are written 0 and 1.
    Labels are written in double quotes and numbers without (the CSV
    "quote non-numeric" style, as R's ``write.csv``), so that :func:`read_csv`
    tells a label such as ``"1"`` from data. pandas and
    ``numpy.loadtxt(..., skiprows=1)`` read the file as well. (With
    ``delimiter=" "`` labels are not quoted: read numeric column names back
    with ``read_csv(..., header=True)``.)

    Parameters
    ----------
    path : str or os.PathLike
    matrix : array-like or sparse matrix of shape (m, n)
        Written dense.
    row_labels : sequence of str of length m, or None
        Written as a first column (with an empty header field).
    column_labels : sequence of str of length n, or None
        Written as a header line.
    delimiter : str or None
        Default: a tab for .tsv/.tab, else a comma.
    """
    values = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
    if values.ndim != 2:
        raise ValueError(f"matrix must be 2-D; got shape {values.shape}.")
    if values.dtype == np.bool_:
        values = values.astype(np.uint8)  # 0 and 1, which read_csv parses; True and False it would not
    m, n = values.shape
    if row_labels is not None and len(row_labels) != m:
        raise ValueError(f"row_labels must have one label per row ({m}); got {len(row_labels)}.")
    if column_labels is not None and len(column_labels) != n:
        raise ValueError(f"column_labels must have one label per column ({n}); got {len(column_labels)}.")
    if delimiter is None:
        delimiter = _default_delimiter(path) or ","
    with open_text_for_writing(path) as file:
        # read_csv splits space-separated lines on runs of whitespace, where quotes would stay in the labels.
        quoting = csv.QUOTE_MINIMAL if delimiter == " " else csv.QUOTE_NONNUMERIC
        writer = csv.writer(file, delimiter=delimiter, lineterminator="\n", quoting=quoting)
        if column_labels is not None:
            writer.writerow(([""] if row_labels is not None else []) + [str(label) for label in column_labels])
        for i, row in enumerate(values.tolist()):
            writer.writerow(([str(row_labels[i])] if row_labels is not None else []) + row)
