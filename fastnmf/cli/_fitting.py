"""Loading a matrix file and running ``nmf`` with a command's settings."""

import inspect
import sys
import time

from ._errors import CommandError
from ._progress import ProgressBar, on_terminal


# The formats whose files hold several named arrays, of which --variable picks one.
VARIABLE_FORMATS = ("mat", "npz")


def load_matrix(path, args, **options):
    """:func:`fastnmf.io.load` with the command's ``--format`` and ``--variable``.

    Raises
    ------
    CommandError
        If ``--variable`` is given for a format other than .mat or .npz.
    """
    from ..io import guess_format, load

    format = getattr(args, "format", None) or guess_format(path)  # a name that does not tell: ValueError
    if getattr(args, "variable", None) is not None:
        if format not in VARIABLE_FORMATS:
            raise CommandError(
                f"--variable applies to .mat and .npz files only; got --variable {args.variable!r} for {path} "
                f"(format {format}): leave --variable out."
            )
        options["variable"] = args.variable
    try:
        return load(path, format=format, **options)
    except TypeError as error:  # an option the format does not take
        raise CommandError(f"{path}: {error}") from None


def fit(matrix, rank, args, *, loss, mask=None, regularization_scale="shape", what=""):
    """nmf with the command's settings and a progress bar."""
    from .. import nmf

    bar = ProgressBar(args.max_iter, sys.stderr, on_terminal(args.quiet))
    options = {}
    if getattr(args, "solver", None) is not None:
        if "solver" in inspect.signature(nmf).parameters:
            options["solver"] = args.solver
        elif args.solver not in ("auto", "mu"):
            raise CommandError(f"--solver {args.solver} is not available in this version of fastnmf (only mu).")
    started = time.perf_counter()
    try:
        result = nmf(
            matrix,
            rank,
            loss=loss,
            mask=mask,
            init=getattr(args, "init", None),
            max_iter=args.max_iter,
            tol=args.tol,
            random_state=args.seed,
            alpha_W=getattr(args, "alpha_W", 0.0),
            alpha_H="same" if getattr(args, "alpha_H", None) is None else args.alpha_H,
            l1_ratio=getattr(args, "l1_ratio", 0.0),
            regularization_scale=regularization_scale,
            n_threads=args.threads,
            callback=bar if bar.enabled else None,  # a callback makes nmf evaluate the loss every iteration
            **options,
        )
    except (ValueError, TypeError, FloatingPointError) as error:  # FloatingPointError: the loss overflowed
        raise CommandError(f"{what}: {error}" if what else str(error)) from None
    finally:
        bar.close()
    return result, time.perf_counter() - started


def check_threads(args):
    """Reject a ``--threads`` above what Numba has on this machine."""
    import numba

    if args.threads is not None and args.threads > numba.config.NUMBA_NUM_THREADS:
        raise CommandError(
            f"--threads must be at most {numba.config.NUMBA_NUM_THREADS} on this machine; got {args.threads}."
        )
