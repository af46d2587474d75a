"""``fastnmf precompile``: every kernel compiled into Numba's cache, several
at once (see :mod:`fastnmf._precompile`)."""

import time

from ._arguments import positive_int
from ._errors import CommandError


def run_precompile(args):
    from .._precompile import available_cores, precompile

    jobs = args.jobs or available_cores()
    started = time.perf_counter()
    try:
        times = precompile(jobs=jobs)
    except RuntimeError as error:
        raise CommandError(str(error)) from None
    seconds = time.perf_counter() - started
    cached = sum(from_cache for _, from_cache in times.values())
    processes = f"{jobs} process" + ("es" if jobs > 1 else "")
    print(f"{len(times)} kernels, float32 and float64, in {seconds:.1f} s ({processes}; {cached} already cached)")
    for name, (kernel_seconds, from_cache) in sorted(times.items(), key=lambda item: -item[1][0]):
        print(f"  {name:<28} {kernel_seconds:5.1f} s{'  (cached)' if from_cache else ''}")
    return 0


def add_precompile_command(commands):
    """Add the ``precompile`` subcommand to ``commands`` (argparse subparsers)."""
    precompile = commands.add_parser(
        "precompile",
        help="compile every kernel now, in parallel, so that first fits start at once",
        description="Compile fastnmf's Numba kernels for float32 and float64 into Numba's cache, several processes "
        "at once (e.g. when building a container image). Later processes load the compiled code.",
    )
    precompile.add_argument(
        "-j", "--jobs", type=positive_int, default=None, help="processes at once (default: one per available core)"
    )
    precompile.set_defaults(run=run_precompile)
