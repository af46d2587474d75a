"""The UCI bag-of-words format (Newman, UCI Machine Learning Repository):
``docword.NAME.txt[.gz]`` and ``vocab.NAME.txt``.

The docword file starts with three lines, D (documents), W (words) and NNZ
(nonzero counts), followed by NNZ lines ``docID wordID count`` (1-based ids).
Line i of the vocab file is the word with wordID i. No library reads it, so
this module does: the header by hand, the entries with ``numpy.loadtxt``.
"""

import os
import re
import warnings

import numpy as np
import scipy.sparse as sp

from ._common import (
    PARSER_ERRORS,
    TEXT_ERRORS,
    FileFormatError,
    LabeledMatrix,
    check_dimension,
    existing_file,
    open_text,
    open_text_for_writing,
    text_error,
)

HEADER_NAMES = ("D (the number of documents)", "W (the number of words)", "NNZ (the number of entries)")
INT64_MAX = np.iinfo(np.int64).max
DOCWORD_NAME = re.compile(r"^docword\.(.+)\.txt(\.gz|\.bz2)?$", re.IGNORECASE)


def default_vocab_path(docword_path):
    """``vocab.NAME.txt`` beside ``docword.NAME.txt[.gz]``, or None when the
    docword file is not named that way."""
    folder, name = os.path.split(os.fspath(docword_path))
    match = DOCWORD_NAME.match(name)
    if match is None:
        return None
    return os.path.join(folder, f"vocab.{match.group(1)}.txt")


def read_uci(path, vocab=None, *, dtype=np.float64):
    """Read a UCI bag-of-words corpus as a documents x words matrix.

    Parameters
    ----------
    path : str or os.PathLike
        The ``docword.NAME.txt`` file (gzip or bzip2 compressed, or not).
    vocab : str, os.PathLike, False or None
        The vocabulary file. None: ``vocab.NAME.txt`` beside ``path`` if it
        exists; False: none.
    dtype : float64 or float32
        The matrix's dtype.

    Returns
    -------
    LabeledMatrix
        ``matrix``: CSR array of shape (D, W) with the counts (repeated
        pairs are summed); ``column_labels``: the words, or None.

    Raises
    ------
    FileFormatError
        For a bad header line, an entry that is not three integers or whose
        ids are outside 1..D and 1..W (naming its line), a count of entries
        that differs from NNZ (e.g. a truncated file), or a vocabulary whose
        length differs from W. Also for a D or W so large that the sparse
        matrix's index pointers alone (8 bytes a document or word) would not
        fit in this machine's memory, as a tiny file can declare.
    """
    path = existing_file(path)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64; got {dtype}.")
    try:
        with open_text(path) as file:
            n_docs, n_words, nnz = _read_header(path, file)
            entries = _read_entries(path, file)
    except FileFormatError:
        raise
    except TEXT_ERRORS as error:
        raise text_error(path, error) from None
    except PARSER_ERRORS as error:
        raise FileFormatError(path, f"cannot be read as UCI bag-of-words text: {error}") from None
    _check_entries(path, entries, n_docs, n_words, nnz)
    matrix = sp.csr_array(
        (entries[:, 2].astype(dtype), (entries[:, 0] - 1, entries[:, 1] - 1)), shape=(n_docs, n_words)
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    words = _read_vocab(path, vocab, n_words)
    return LabeledMatrix(matrix, None, words, path)


def _read_header(path, file):
    values = []
    for line_number, name in enumerate(HEADER_NAMES, start=1):
        line = file.readline()
        if not line:
            raise FileFormatError(path, f"ends before the header line for {name}.", line=line_number)
        text = line.strip()
        if not (text.isascii() and text.isdigit()):
            raise FileFormatError(
                path, f"expected {name} as a single non-negative integer; got {text!r}.", line=line_number
            )
        values.append(int(text))
        if line_number < 3:
            check_dimension(path, name, values[-1], line=line_number)
    return values


def _read_entries(path, file):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*input contained no data.*")
        warnings.filterwarnings("ignore", message=".*[Ee]mpty input file.*")
        try:
            entries = np.loadtxt(file, dtype=np.int64, comments=None, ndmin=2)
        except ValueError as error:
            raise _diagnose(path, error) from None
    if entries.size == 0:
        return np.zeros((0, 3), dtype=np.int64)
    if entries.shape[1] != 3:
        raise FileFormatError(path, f"expected 'docID wordID count'; got {entries.shape[1]} fields.", line=4)
    return entries


def _diagnose(path, error):
    """Name the line loadtxt could not parse; fall back on its message."""
    with open_text(path) as file:
        for number, line in enumerate(file, start=1):
            if number <= 3 or not line.strip():
                continue
            fields = line.split()
            if len(fields) != 3:
                return FileFormatError(path, f"expected 'docID wordID count'; got {line.strip()!r}.", line=number)
            for name, field in zip(("docID", "wordID", "count"), fields):
                if not (field.isascii() and field.isdigit()):
                    return FileFormatError(
                        path, f"{name} {field!r} is not a non-negative integer.", line=number, field=name
                    )
                if int(field) > INT64_MAX:
                    message = f"{name} {field} is beyond 64-bit integers (at most {INT64_MAX})."
                    return FileFormatError(path, message, line=number, field=name)
    return FileFormatError(path, f"cannot be read as 'docID wordID count' lines: {error}")


def _check_entries(path, entries, n_docs, n_words, nnz):
    if entries.shape[0] != nnz:
        hint = " (is the file truncated?)" if entries.shape[0] < nnz else ""
        raise FileFormatError(
            path, f"the header says NNZ={nnz} entries, but the file holds {entries.shape[0]}{hint}.", line=3
        )
    for column, name, limit in ((0, "docID", n_docs), (1, "wordID", n_words)):
        ids = entries[:, column]
        bad = np.flatnonzero((ids < 1) | (ids > limit))
        if bad.size:
            header = "D" if column == 0 else "W"
            raise FileFormatError(
                path,
                f"{name} {ids[bad[0]]} is outside 1..{limit} ({header} in the header).",
                line=4 + int(bad[0]),
                field=name,
            )
    negative = np.flatnonzero(entries[:, 2] < 0)
    if negative.size:
        raise FileFormatError(
            path, f"count {entries[negative[0], 2]} is negative.", line=4 + int(negative[0]), field="count"
        )


def _read_vocab(path, vocab, n_words):
    if vocab is False:
        return None
    if vocab is None:
        vocab = default_vocab_path(path)
        if vocab is None or not os.path.exists(vocab):
            return None
    vocab = existing_file(vocab)
    try:
        with open_text(vocab) as file:
            words = [line.rstrip("\r\n") for line in file]
    except TEXT_ERRORS as error:
        raise text_error(vocab, error) from None
    while words and not words[-1].strip():
        words.pop()
    if len(words) != n_words:
        raise FileFormatError(
            vocab, f"holds {len(words)} words, but {os.fspath(path)} says W={n_words} (line 2 of its header)."
        )
    return np.array(words, dtype=str)


def write_uci(path, matrix, *, vocab=None, vocab_path=None):
    """Write a documents x words count matrix in the UCI bag-of-words format.

    Parameters
    ----------
    path : str or os.PathLike
        The docword file (gzip-compressed if it ends in .gz), e.g.
        ``docword.mine.txt.gz``.
    matrix : array-like or sparse matrix of shape (D, W)
        Non-negative integer counts; zeros are not written.
    vocab : sequence of str of length W, or None
        The words, written one per line to ``vocab_path``.
    vocab_path : str, os.PathLike or None
        Where to write ``vocab``; default ``vocab.NAME.txt`` beside ``path``.
    """
    X = sp.coo_array(sp.csr_array(matrix) if sp.issparse(matrix) else sp.csr_array(np.asarray(matrix)))
    X.sum_duplicates()
    X.eliminate_zeros()
    data = X.data
    if data.size and (data.dtype.kind not in "biuf" or np.any(data < 0) or np.any(data != np.round(data))):
        raise ValueError("matrix must hold non-negative integer counts for the UCI bag-of-words format.")
    n_docs, n_words = X.shape
    if vocab is not None:
        if len(vocab) != n_words:
            raise ValueError(f"vocab must have one word per column ({n_words}); got {len(vocab)}.")
        vocab_path = vocab_path if vocab_path is not None else default_vocab_path(path)
        if vocab_path is None:
            raise ValueError("vocab_path is needed when path is not named docword.NAME.txt[.gz].")
    order = np.lexsort((X.col, X.row))
    entries = np.column_stack((X.row[order] + 1, X.col[order] + 1, data[order].astype(np.int64)))
    with open_text_for_writing(path) as file:
        file.write(f"{n_docs}\n{n_words}\n{entries.shape[0]}\n")
        np.savetxt(file, entries, fmt="%d", delimiter=" ")
    if vocab is not None:
        with open(os.fspath(vocab_path), "w", encoding="utf-8", newline="") as file:
            file.writelines(f"{word}\n" for word in vocab)
