"""Loss names, the beta of each, and the update exponent.

The objective is the beta-divergence, with scikit-learn's definitions so that
values can be compared with it: 0.5 ||V - WH||^2 for beta = 2 (Frobenius),
the generalized Kullback-Leibler divergence for beta = 1 and the
Itakura-Saito divergence for beta = 0.
"""

import numbers

LOSS_NAMES = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}


def beta_from_loss(loss):
    """The beta of ``loss`` (a name from :data:`LOSS_NAMES` or a real number)."""
    if isinstance(loss, str):
        try:
            return LOSS_NAMES[loss]
        except KeyError:
            raise ValueError(
                f"loss must be one of {sorted(LOSS_NAMES)} or a real number (the beta of the "
                f"beta-divergence); got {loss!r}."
            ) from None
    if isinstance(loss, numbers.Real) and not isinstance(loss, bool):
        beta = float(loss)
        if beta != beta or beta in (float("inf"), float("-inf")):
            raise ValueError(f"loss must be a finite real number when given as beta; got {loss!r}.")
        return beta
    raise TypeError(
        f"loss must be a string among {sorted(LOSS_NAMES)} or a real number; got {type(loss).__name__}."
    )


def loss_name(beta):
    """The name of ``beta``'s loss, or the number itself."""
    for name, value in LOSS_NAMES.items():
        if value == beta:
            return name
    return beta


def mm_exponent(beta):
    """gamma(beta) of Fevotte & Idier (2011), eq. (60): the exponent that makes
    the multiplicative update a majorization-minimization step, so that the
    objective never increases, for every beta."""
    if beta < 1.0:
        return 1.0 / (2.0 - beta)
    if beta > 2.0:
        return 1.0 / (beta - 1.0)
    return 1.0
