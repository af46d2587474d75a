"""Argument parsing pieces shared by the subcommands: the one-line-error
parser, the argument types and the fit options."""

import argparse
import codecs
import os
from pathlib import PurePath

from ._errors import EXIT_USAGE

FORMATS = ("mtx", "npz", "npy", "csv", "uci", "mat", "ratings")  # as fastnmf.io.FORMATS
LOSS_ALIASES = {"fro": "frobenius", "kl": "kullback-leibler", "is": "itakura-saito"}


class OneLineParser(argparse.ArgumentParser):
    """argparse, reporting a bad command line in one line (plus a hint)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _integer_at_least(minimum, what):
    """An argparse type: an integer >= ``minimum``, described as ``what``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {what}; got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a {what}; got {value}")
        return value

    return parse


positive_int = _integer_at_least(1, "positive integer")
non_negative_int = _integer_at_least(0, "non-negative integer")


def non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative number; got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite non-negative number; got {text}")
    return value


def fraction(text):
    value = non_negative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1; got {text}")
    return value


def split_user_ids(text):
    """The user ids in one ``--user`` value: comma-separated, blanks around them ignored."""
    return [user.strip() for user in text.split(",") if user.strip()]


def user_ids_type(text):
    """An argparse type: a ``--user`` value holding at least one user id (returned as given)."""
    if not split_user_ids(text):
        raise argparse.ArgumentTypeError(
            "expected a user id of the ratings file (its first column), or several separated by commas, "
            f"as in 42 or 1,2,3; got {text!r}"
        )
    return text


def encoding_type(text):
    """An argparse type: the name of a text encoding Python knows (utf-8, latin-1, cp1252, ...)."""
    try:
        codecs.lookup(text)
        b"a".decode(text, "replace")  # as the vectorizers decode; refuses rot13, base64 and other non-text codecs
    except (LookupError, UnicodeError):
        raise argparse.ArgumentTypeError(
            f"expected a text encoding, such as utf-8, latin-1 or cp1252; got {text!r}"
        ) from None
    return text


def pattern_type(text):
    """An argparse type: a file-name pattern relative to a folder (``*.txt``,
    ``chapters/*.md``), neither empty, absolute nor reaching above the folder."""
    path = PurePath(text)
    if not text or path.anchor or os.pardir in path.parts:
        raise argparse.ArgumentTypeError(
            f"expected a file-name pattern inside the folder, such as *.txt or chapters/*.md; got {text!r}"
        )
    return text


def loss_type(text):
    """A loss name, a short alias (fro, kl, is) or a beta."""
    name = LOSS_ALIASES.get(text, text)
    if name in ("frobenius", "kullback-leibler", "itakura-saito"):
        return name
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected frobenius, kullback-leibler, itakura-saito (or fro, kl, is) or a number; got {text!r}"
        ) from None


def add_fit_options(parser, *, max_iter=200, tol=1e-4):
    group = parser.add_argument_group("fit")
    group.add_argument(
        "--max-iter", type=non_negative_int, default=max_iter, help=f"iteration limit (default {max_iter})"
    )
    group.add_argument(
        "--tol", type=non_negative_float, default=tol, help=f"stopping tolerance (default {tol:g}; 0: run --max-iter)"
    )
    group.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    group.add_argument("--threads", type=positive_int, default=None, help="Numba threads (default: all cores)")
    group.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
