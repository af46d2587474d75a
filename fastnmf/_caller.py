"""Which line a warning names: the first one of the stack outside the
libraries a fit runs through."""

import contextlib
import os
import sys


def _library_prefixes():
    """The source prefixes of the frames a warning looks past: fastnmf's,
    scikit-learn's when it is imported (its ``set_output`` wraps the
    estimator's ``fit_transform``), and contextlib's (fits run their
    kernels inside context managers)."""
    packages = (sys.modules[__package__], sys.modules.get("sklearn"))
    folders = tuple(os.path.dirname(package.__file__) + os.sep for package in packages if package is not None)
    return (*folders, contextlib.__file__)


def callers_stacklevel():
    """The ``stacklevel`` that makes a warning issued by the function that
    calls this one name the first line outside fastnmf, scikit-learn and
    contextlib: the user's ``nmf``, ``fit``, ``fit_transform`` or pipeline
    call. A fixed level would name scikit-learn's ``set_output`` wrapper of
    ``fit_transform``, or whichever of fastnmf's functions led there."""
    prefixes = _library_prefixes()
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename.startswith(prefixes):
        frame, level = frame.f_back, level + 1
    return level
