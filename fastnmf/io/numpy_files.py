"""NumPy ``.npy`` files and ``.npz`` archives: SciPy sparse matrices saved
with ``scipy.sparse.save_npz``, or dense arrays saved with ``numpy.savez``."""

import os
import zipfile

import numpy as np
import scipy.sparse as sp

from ._common import PARSER_ERRORS, FileFormatError, LabeledMatrix, checked_matrix, existing_file, format_error

# The members scipy.sparse.save_npz writes (besides the index arrays).
SPARSE_NPZ_KEYS = {"format", "shape", "data"}
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


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


def read_npy(path):
    """Read a ``.npy`` file holding a 2-D real array.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    LabeledMatrix
        ``matrix``: the array; no labels. Object (pickled) arrays are refused.
    """
    path = existing_file(path)
    _check_magic(path, NPY_MAGIC, "a NumPy .npy file")
    with open(path, "rb") as file:
        try:
            array = np.load(file, allow_pickle=False)
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
        2-D array it holds.

    Returns
    -------
    LabeledMatrix
        ``matrix``: a CSR array (saved with ``scipy.sparse.save_npz``) or an
        ndarray; no labels.

    Raises
    ------
    FileFormatError
        If the archive is corrupt or truncated, or ``variable`` is missing
        (the message lists what the archive holds).
    """
    path = existing_file(path)
    _check_magic(path, ZIP_MAGIC, "an .npz archive (a zip file)")
    # Open the file here so that it is closed even when NumPy fails midway.
    with open(path, "rb") as file:
        try:
            with np.load(file, allow_pickle=False) as archive:
                names = list(archive.files)
                if variable is None and SPARSE_NPZ_KEYS <= set(names):
                    file.seek(0)
                    return LabeledMatrix(checked_matrix(path, sp.load_npz(file)), path=path)
                name = _choose_array(path, archive, names, variable)
                array = archive[name]
        except FileFormatError:
            raise
        except (*PARSER_ERRORS, zipfile.BadZipFile) as error:
            raise format_error(path, "not a valid .npz archive", error) from None
    return LabeledMatrix(checked_matrix(path, array, f"array {name!r}"), path=path)


def _choose_array(path, archive, names, variable):
    if variable is not None:
        if variable not in names:
            raise FileFormatError(path, f"has no array {variable!r}; it holds {names}.", field=f"array {variable!r}")
        return variable
    matrices = [name for name in names if archive[name].ndim == 2]
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
