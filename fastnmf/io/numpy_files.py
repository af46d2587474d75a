"""NumPy ``.npy`` files and ``.npz`` archives: SciPy sparse matrices saved
with ``scipy.sparse.save_npz``, or dense arrays saved with ``numpy.savez``.

An array's header is read before the array, and the size it declares
checked against the bytes that hold it: the rest of an ``.npy`` file, or an
archive member's uncompressed size (which itself cannot exceed what its
compression can expand: 1 to 1 stored, 1032 to 1 deflated). A sparse
matrix's shape must pass :func:`~fastnmf.io._common.check_dimension`. So a
tiny file declaring a huge array is refused instead of allocated.
"""

import math
import os
import tokenize
import zipfile

import numpy as np
import scipy.sparse as sp

from ._common import (
    PARSER_ERRORS,
    FileFormatError,
    LabeledMatrix,
    check_dimension,
    checked_matrix,
    describe_bytes,
    existing_file,
    format_error,
)

# The members scipy.sparse.save_npz writes (besides the index arrays).
SPARSE_NPZ_KEYS = {"format", "shape", "data"}
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
# How many times its compressed size a zip member can be, by compression
# method (deflate's limit is 1032 to 1); others are not checked.
MAX_EXPANSION = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: 1032}


def _check_magic(path, magic, what):
    with open(path, "rb") as file:
        head = file.read(max(len(NPY_MAGIC), len(ZIP_MAGIC)))
    if head.startswith(magic):
        return
    if head.startswith(NPY_MAGIC):
        raise FileFormatError(path, "is an .npy file, not an .npz archive; read it with read_npy.")
    if head.startswith(ZIP_MAGIC):
        raise FileFormatError(path, "is an .npz archive, not an .npy file; read it with read_npz.")
    raise FileFormatError(path, f"is not {what} (it does not start with the format's signature bytes).")


def _read_npy_header(file):
    """The shape and dtype an .npy header declares, leaving ``file`` at the
    array's first byte (ValueError if the header is not valid)."""
    version = np.lib.format.read_magic(file)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    try:
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(file)
        else:  # 3.0 differs from 2.0 in the header's text encoding only
            shape, _, dtype = np.lib.format.read_array_header_2_0(file)
    except tokenize.TokenError as error:  # from NumPy's repair of Python 2 headers, tried on 2.0 ones
        raise ValueError(f"cannot parse the header: {error}") from None
    return shape, dtype


def _check_array_size(path, shape, dtype, available, where, *, field=None):
    """Refuse an array whose declared size exceeds the ``available`` bytes
    that hold it (object arrays, which NumPy pickles, are refused later)."""
    declared = math.prod(shape) * dtype.itemsize
    if not dtype.hasobject and declared > available:
        raise FileFormatError(
            path,
            f"the header declares an array of shape {shape} and dtype {dtype} ({describe_bytes(declared)}), but "
            f"{where} holds {describe_bytes(available)} after it: is it truncated?",
            field=field,
        )


def read_npy(path):
    """Read a ``.npy`` file holding a 2-D real array.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    LabeledMatrix
        ``matrix``: the array; no labels. Object (pickled) arrays are refused.

    Raises
    ------
    FileFormatError
        If the file is not a valid .npy file, does not hold the bytes its
        header declares, or holds no 2-D array of real numbers.
    """
    path = existing_file(path)
    _check_magic(path, NPY_MAGIC, "a NumPy .npy file")
    with open(path, "rb") as file:
        try:
            shape, dtype = _read_npy_header(file)
            _check_array_size(path, shape, dtype, os.path.getsize(path) - file.tell(), "the file")
            file.seek(0)
            array = np.load(file, allow_pickle=False)
        except FileFormatError:
            raise
        except PARSER_ERRORS as error:
            raise format_error(path, "not a valid .npy file", error) from None
    return LabeledMatrix(checked_matrix(path, array, "the array"), path=path)


def write_npy(path, matrix):
    """Write a dense matrix as ``.npy`` (sparse input is refused: use .npz).

    Parameters
    ----------
    path : str or os.PathLike
    matrix : array-like of shape (m, n)
    """
    if sp.issparse(matrix):
        raise TypeError("write_npy writes dense arrays; got a sparse matrix. Save it as .npz or .mtx instead.")
    with open(os.fspath(path), "wb") as file:
        np.save(file, np.asarray(matrix), allow_pickle=False)


def read_npz(path, variable=None):
    """Read an ``.npz`` archive: a SciPy sparse matrix or a dense array.

    Parameters
    ----------
    path : str or os.PathLike
    variable : str or None
        For an archive of dense arrays, the one to read; None takes the only
        2-D array it holds (members that are not .npy arrays, such as a
        readme, are passed over).

    Returns
    -------
    LabeledMatrix
        ``matrix``: a CSR array (saved with ``scipy.sparse.save_npz``) or an
        ndarray; no labels.

    Raises
    ------
    FileFormatError
        If the archive is corrupt or truncated, a member named .npy is not
        a valid array, a member does not hold the bytes its header declares,
        a sparse matrix's indices are out of range or its shape too large
        (see the module's notes), or ``variable`` is missing (the message
        lists what the archive holds).
    """
    path = existing_file(path)
    _check_magic(path, ZIP_MAGIC, "an .npz archive (a zip file)")
    # Open the file here so that it is closed even when NumPy fails midway.
    with open(path, "rb") as file:
        try:
            with np.load(file, allow_pickle=False) as archive:
                names = list(archive.files)
                arrays = _array_members(path, archive.zip)
                if variable is None and SPARSE_NPZ_KEYS <= set(names):
                    _check_sparse_shape(path, archive, arrays)
                    file.seek(0)
                    return LabeledMatrix(checked_matrix(path, sp.load_npz(file)), path=path)
                name = _choose_array(path, arrays, names, variable)
                array = archive[name]
        except FileFormatError:
            raise
        except (*PARSER_ERRORS, zipfile.BadZipFile) as error:
            raise format_error(path, "not a valid .npz archive", error) from None
    return LabeledMatrix(checked_matrix(path, array, f"array {name!r}"), path=path)


def _array_members(path, archive):
    """{name: (shape, dtype)} of the .npy members of a zip archive, as
    ``numpy.load`` names them (without .npy), each checked against the bytes
    that hold it; members not named .npy that are not arrays are left out."""
    arrays = {}
    for info in archive.infolist():
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        member = f"member {info.filename!r}"
        with archive.open(info) as stream:
            if stream.read(len(NPY_MAGIC)) != NPY_MAGIC:
                if info.filename.endswith(".npy"):
                    message = "is not a NumPy .npy array (it does not start with the format's signature bytes)."
                    raise FileFormatError(path, message, field=member)
                continue
        expansion = MAX_EXPANSION.get(info.compress_type)
        if expansion is not None and info.file_size > expansion * info.compress_size:
            raise FileFormatError(
                path,
                f"claims {info.file_size} bytes uncompressed from {info.compress_size} compressed, more than its "
                f"compression can expand ({expansion} to 1): the archive is corrupt.",
                field=member,
            )
        with archive.open(info) as stream:
            try:
                shape, dtype = _read_npy_header(stream)
            except PARSER_ERRORS as error:
                raise FileFormatError(path, f"not a valid .npy array: {error}", field=member) from None
            header_size = stream.tell()
        _check_array_size(path, shape, dtype, info.file_size - header_size, "the member", field=member)
        arrays[name] = (shape, dtype)
    return arrays


def _check_sparse_shape(path, archive, arrays):
    """The shape of a sparse matrix saved by save_npz must be small enough
    for its index pointers to fit in memory."""
    shape, dtype = arrays.get("shape", ((), None))
    if len(shape) != 1 or dtype.kind not in "iu":
        return  # scipy.sparse.load_npz says what is wrong
    sizes = [int(size) for size in archive["shape"]]
    names = ("the number of rows", "the number of columns") if len(sizes) == 2 else None
    for i, size in enumerate(sizes):
        check_dimension(path, names[i] if names else f"dimension {i + 1}", size, field="array 'shape'")


def _choose_array(path, arrays, names, variable):
    if variable is not None:
        if variable not in names:
            raise FileFormatError(path, f"has no array {variable!r}; it holds {names}.", field=f"array {variable!r}")
        if variable not in arrays:
            raise FileFormatError(path, "is not a NumPy .npy array.", field=f"member {variable!r}")
        return variable
    matrices = [name for name in names if name in arrays and len(arrays[name][0]) == 2]
    # Object arrays are pickled, which is not loaded: pass them over if there is another.
    matrices = [name for name in matrices if not arrays[name][1].hasobject] or matrices
    if len(matrices) == 1:
        return matrices[0]
    if not matrices:
        raise FileFormatError(path, f"holds no 2-D array; it holds {names}.")
    raise FileFormatError(path, f"holds several 2-D arrays {matrices}; choose one with variable=.")


def write_npz(path, matrix, *, variable="X"):
    """Write a matrix as a compressed ``.npz`` archive.

    Parameters
    ----------
    path : str or os.PathLike
    matrix : array-like or sparse matrix of shape (m, n)
        Sparse matrices are saved with ``scipy.sparse.save_npz`` (CSR), dense
        ones with ``numpy.savez_compressed`` under the name ``variable``.
    variable : str
        The array's name for dense input.
    """
    path = os.fspath(path)
    with open(path, "wb") as file:
        if sp.issparse(matrix):
            sp.save_npz(file, sp.csr_array(matrix), compressed=True)
        else:
            np.savez_compressed(file, **{variable: np.asarray(matrix)})
