"""``python -m fastnmf`` and the ``fastnmf`` console script: the command line
of :mod:`fastnmf.cli` (try ``python -m fastnmf demo``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
