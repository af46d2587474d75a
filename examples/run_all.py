"""Regenerate the examples' printed output and figures that the docs show.

Runs each example's ``main(data_dir, out_dir)`` with ``out_dir`` =
``docs/examples/output/<example>/`` and saves what it prints there as
``output.txt``; the figures are shrunk to palette PNGs; commit the result. The docs build reads only these files, so
it needs neither the data sets nor the time to fit.

    python examples/run_all.py [DATA_DIR] [--only topic_modeling faces ...]

DATA_DIR defaults to ``$FASTNMF_DATA``, else ``../shared/data`` beside the
repository. The fits do not depend on the number of threads, so
``NUMBA_NUM_THREADS=1`` on a busy machine changes only how long this takes.
"""

import argparse
import contextlib
import importlib
import io
import os
import sys
import time
from pathlib import Path

EXAMPLES = ("topic_modeling", "stock_volume", "recommendation", "faces")
REPOSITORY = Path(__file__).resolve().parents[1]
OUTPUT = REPOSITORY / "docs" / "examples" / "output"


class Tee(io.TextIOBase):
    """A text stream that writes to several streams."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self):
        for stream in self.streams:
            stream.flush()


def shrink_png(path, colors=128):
    """Rewrite a PNG with a palette of at most ``colors`` colours (Pillow
    comes with matplotlib): figures of flat colours and grey images lose
    nothing visible and take a third of the space."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=colors, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def run(name, data_dir):
    """Run one example into its docs output folder; return the seconds taken."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    module = importlib.import_module(name)
    out_dir = OUTPUT / name
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.png"):
        old.unlink()
    started = time.perf_counter()
    with open(out_dir / "output.txt", "w") as log, contextlib.redirect_stdout(Tee(sys.stdout, log)):
        module.main(data_dir, out_dir)
    for figure in out_dir.glob("*.png"):
        shrink_png(figure)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("FASTNMF_DATA") or REPOSITORY.parent / "shared" / "data"
    parser.add_argument("data_dir", nargs="?", type=Path, default=Path(default))
    parser.add_argument("--only", nargs="+", choices=EXAMPLES, default=EXAMPLES)
    args = parser.parse_args()
    for name in args.only:
        seconds = run(name, args.data_dir)
        print(f"[{name}: {seconds:.0f} s]", file=sys.stderr)


if __name__ == "__main__":
    main()
