"""The ``fastnmf`` command (also ``python -m fastnmf``).

Subcommands:

- ``factorize INPUT -r R -o OUT``: W, H (.npy) and a JSON summary;
- ``topics SOURCE``: the top terms of each topic and each document's main
  topic, from a UCI corpus, a count matrix and a vocabulary, or a folder of
  text files;
- ``recommend RATINGS --user U``: the top-k unrated items of given users;
- ``demo``: topics of Python's own language reference (no download);
- ``precompile``: every kernel compiled into Numba's cache, in parallel.

A user mistake (a missing file, a bad rank, negative data, a malformed file,
a request that does not fit in memory) prints one line, ``fastnmf: error:
...``, on stderr and exits with status 1 (2 for a bad command line), without
a traceback.
"""

import argparse
import os
import sys
import warnings

from ._arguments import (
    FORMATS,
    LOSS_ALIASES,
    OneLineParser,
    fraction,
    loss_type,
    non_negative_float,
    non_negative_int,
    positive_int,
)
from ._errors import EXIT_USAGE, EXIT_USER_ERROR, CommandError, describe, out_of_memory
from ._factorize import add_factorize_command, run_factorize
from ._precompile import add_precompile_command, run_precompile
from ._progress import PROGRESS_INTERVAL, ProgressBar, show_warning
from ._recommend import add_recommend_command, run_recommend
from ._topics import add_topics_command, run_topics

__all__ = [
    "EXIT_USAGE",
    "EXIT_USER_ERROR",
    "FORMATS",
    "LOSS_ALIASES",
    "PROGRESS_INTERVAL",
    "CommandError",
    "OneLineParser",
    "ProgressBar",
    "build_parser",
    "fraction",
    "loss_type",
    "main",
    "non_negative_float",
    "non_negative_int",
    "positive_int",
    "run_demo",
    "run_factorize",
    "run_precompile",
    "run_recommend",
    "run_topics",
]


def run_demo(args):
    """``fastnmf demo``: topics of Python's own language reference (see :mod:`fastnmf._demo`)."""
    from .._demo import run

    try:
        run(rank=args.rank, n_terms=args.terms, random_state=args.seed)
    except RuntimeError as error:
        raise CommandError(str(error)) from None
    return 0


def build_parser():
    """The ``fastnmf`` argument parser, with one subparser per command."""
    from .. import __version__

    parser = OneLineParser(
        prog="fastnmf",
        description="Fast non-negative matrix factorization from the command line.",
        epilog="Start with: fastnmf demo",
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=24),
    )
    parser.add_argument("--version", action="version", version=f"fastnmf {__version__}")
    commands = parser.add_subparsers(dest="command", title="commands", parser_class=OneLineParser)

    add_factorize_command(commands)
    add_topics_command(commands)
    add_recommend_command(commands)

    demo = commands.add_parser(
        "demo",
        help="topics of Python's own documentation (no download)",
        description="Topic modeling on the Python language reference that ships with Python (pydoc_data).",
    )
    demo.add_argument("-r", "--rank", type=positive_int, default=10, help="number of topics (default 10)")
    demo.add_argument("--terms", type=positive_int, default=8, help="terms per topic (default 8)")
    demo.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    demo.set_defaults(run=run_demo)

    add_precompile_command(commands)
    return parser


def main(argv=None):
    """Run the ``fastnmf`` command; returns the exit status."""
    from ..io import FileFormatError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = show_warning
            return args.run(args)
    except (CommandError, FileFormatError, OSError) as error:
        if isinstance(error, BrokenPipeError):
            _silence_stdout()
            return EXIT_USER_ERROR
        print(f"fastnmf: error: {describe(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except ValueError as error:  # from the readers and nmf's checks: bad data rather than a bug
        print(f"fastnmf: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except MemoryError as error:  # e.g. a rank of 10**12: W and H cannot be allocated
        print(f"fastnmf: error: {out_of_memory(args, error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("fastnmf: interrupted", file=sys.stderr)
        return 130


def _silence_stdout():
    """After a closed pipe (``fastnmf topics ... | head``), send what is left
    of stdout to /dev/null so Python's exit flush does not complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
