"""``python -m fastnmf demo``: factorize the speech x word example."""

import sys

import numpy as np

from . import nmf

SPEECHES = ["Speech 1", "Speech 2", "Speech 3", "Speech 4", "Speech 5"]
WORDS = ["labour", "energy", "market", "employment"]
COUNTS = np.array([[36, 3, 45, 54], [4, 34, 23, 31], [9, 65, 11, 0], [17, 3, 3, 0], [0, 14, 7, 4]])


def demo():
    result = nmf(COUNTS, 2, loss="kullback-leibler", random_state=0, max_iter=1000, tol=1e-6)
    for k, row in enumerate(result.H):
        top = ", ".join(WORDS[j] for j in np.argsort(row)[::-1][:2])
        print(f"topic {k}: {top}")
    for speech, weights in zip(SPEECHES, result.W):
        print(f"{speech}: topic {int(np.argmax(weights))}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["demo"]:
        print("usage: python -m fastnmf demo", file=sys.stderr)
        return 2
    demo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
