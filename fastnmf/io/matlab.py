"""MATLAB ``.mat`` files (versions 4 to 7.2), read and written by SciPy
(``scipy.io.whosmat``, ``loadmat``, ``savemat``)."""

import os

import numpy as np
import scipy.io
import scipy.sparse as sp

from ._common import PARSER_ERRORS, FileFormatError, LabeledMatrix, checked_matrix, existing_file, format_error

# MATLAB classes that hold numbers (whosmat's third field).
NUMERIC_CLASSES = {
    "double", "single", "logical", "sparse",
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
}  # fmt: skip


def read_mat(path, variable=None):
    """Read one matrix from a MATLAB ``.mat`` file.

    Parameters
    ----------
    path : str or os.PathLike
    variable : str or None
        The variable to read; None takes the only 2-D numeric variable.

    Returns
    -------
    LabeledMatrix
        ``matrix``: a CSR array for a MATLAB sparse matrix, else an ndarray;
        no labels.

    Raises
    ------
    FileFormatError
        If the file is not a readable .mat file (including v7.3, which is
        HDF5: read it with h5py), if ``variable`` is missing, or if the
        choice is ambiguous; the message lists the variables.
    """
    path = existing_file(path)
    try:
        contents = scipy.io.whosmat(path)
    except NotImplementedError:
        raise FileFormatError(
            path, "is a MATLAB v7.3 (HDF5) file, which SciPy cannot read; save it with -v7, or read it with h5py."
        ) from None
    except (*PARSER_ERRORS, scipy.io.matlab.MatReadError) as error:
        raise format_error(path, "not a valid MATLAB .mat file", error) from None
    listing = ", ".join(f"{name} ({'x'.join(map(str, shape))} {kind})" for name, shape, kind in contents) or "nothing"
    if variable is None:
        matrices = [name for name, shape, kind in contents if len(shape) == 2 and kind in NUMERIC_CLASSES]
        if len(matrices) != 1:
            what = "no 2-D numeric variable" if not matrices else "several matrices"
            raise FileFormatError(path, f"holds {what}: {listing}; choose one with variable=.")
        variable = matrices[0]
    elif variable not in {name for name, _, _ in contents}:
        raise FileFormatError(
            path, f"has no variable {variable!r}; it holds {listing}.", field=f"variable {variable!r}"
        )
    try:
        value = scipy.io.loadmat(path, variable_names=[variable])[variable]
    except (*PARSER_ERRORS, scipy.io.matlab.MatReadError) as error:
        raise format_error(path, f"cannot read variable {variable!r}", error) from None
    if not sp.issparse(value) and value.dtype.kind not in "biuf":
        raise FileFormatError(
            path,
            f"variable {variable!r} is not a numeric matrix (MATLAB class of dtype {value.dtype}).",
            field=f"variable {variable!r}",
        )
    return LabeledMatrix(checked_matrix(path, value, f"variable {variable!r}"), path=path)


def write_mat(path, matrix, *, variable="X"):
    """Write a matrix to a MATLAB (v5) ``.mat`` file.

    Parameters
    ----------
    path : str or os.PathLike
    matrix : array-like or sparse matrix of shape (m, n)
    variable : str
        The MATLAB variable name.
    """
    value = sp.csc_array(matrix) if sp.issparse(matrix) else np.asarray(matrix)
    with open(os.fspath(path), "wb") as file:
        scipy.io.savemat(file, {variable: value}, do_compression=True)
