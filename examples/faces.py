"""Parts-based representation: NMF and PCA bases of the ORL faces.

Lee & Seung (Nature 401, 1999) factorized 2,429 face images with NMF and
found basis images that are parts (eyes, noses, mouths, shadows), where PCA's
"eigenfaces" are whole, signed faces. This script repeats the comparison on
the ORL database (400 images of 40 people, 112 x 92 pixels):

- an images x pixels matrix V (400 x 10,304), each image scaled as in the
  paper (pixel mean and standard deviation 0.25, clipped to [0, 1]);
- NMF with r = 49 and the Kullback-Leibler loss (the divergence the paper
  minimized): the 49 rows of H are the basis images, W the encodings;
- PCA with 49 components (NumPy's SVD of the centred data);
- how sparse each basis and each encoding is, and how well each
  reconstructs the faces;
- writes ``nmf_basis.png``, ``pca_basis.png`` and ``reconstructions.png``.

Run it as ``python examples/faces.py [DATA_DIR] [--out OUT] [--quick]``.
DATA_DIR holds ``faces/orl_faces_pgm.tar.gz``; it defaults to
``$FASTNMF_DATA``, else ``../shared/data`` beside the repository.
"""

import argparse
import os
import re
import tarfile
from pathlib import Path

import numpy as np

from fastnmf import nmf
from fastnmf.plotting import plot_basis_images

FACES_FILE = Path("faces") / "orl_faces_pgm.tar.gz"
MEMBER = re.compile(r"s(\d+)/(\d+)\.pgm$")


def default_data_dir():
    """``$FASTNMF_DATA``, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("FASTNMF_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")


def parse_pgm(raw, name):
    """The pixels of a binary 8-bit PGM ("P5", width height, maxval <= 255)
    as a (height, width) uint8 array."""
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", raw)
    if header is None:
        raise ValueError(f"{name}: not a binary PGM (P5) image.")
    width, height, maxval = (int(field) for field in header.groups())
    if maxval > 255:
        raise ValueError(f"{name}: 16-bit PGM (maxval {maxval}) is not supported.")
    pixels = np.frombuffer(raw, dtype=np.uint8, count=width * height, offset=header.end())
    return pixels.reshape(height, width)


def read_orl(path):
    """All ORL images, ordered by subject then image number, as an
    (images, height, width) uint8 array, with each image's subject (1..40)."""
    images = {}
    with tarfile.open(path) as archive:
        for member in archive.getmembers():
            match = MEMBER.search(member.name)
            if member.isfile() and match:
                key = (int(match.group(1)), int(match.group(2)))
                images[key] = parse_pgm(archive.extractfile(member).read(), member.name)
    keys = sorted(images)
    return np.stack([images[key] for key in keys]), np.array([subject for subject, _ in keys])


def lee_seung_scaling(images):
    """Each image scaled so its pixels have mean and standard deviation 0.25,
    then clipped to [0, 1] (Lee & Seung 1999); flattened to rows."""
    X = images.reshape(len(images), -1).astype(np.float64)
    X = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    return np.clip(0.25 + 0.25 * X, 0.0, 1.0)


def hoyer_sparseness(rows):
    """Hoyer's (2004) sparseness of each row: 1 for a single nonzero, 0 for
    all entries equal in magnitude."""
    n = rows.shape[1]
    l1 = np.abs(rows).sum(axis=1)
    l2 = np.sqrt((rows * rows).sum(axis=1))
    return (np.sqrt(n) - l1 / np.maximum(l2, 1e-300)) / (np.sqrt(n) - 1)


def main(data_dir, out_dir, *, quick=False):
    """Run the example; ``quick`` uses 100 images downsampled 4x, r = 16 and
    few iterations (tests).

    Returns a dict with the NMF fit, the PCA components and the image shape.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images, subjects = read_orl(data_dir / FACES_FILE)
    print(
        f"ORL faces: {len(images)} images of {len(np.unique(subjects))} people, "
        f"{images.shape[1]} x {images.shape[2]} pixels, values {images.min()} to {images.max()}"
    )
    if quick:
        images = images[::4, ::4, ::4]
    image_shape = images.shape[1:]
    V = lee_seung_scaling(images)
    r = 16 if quick else 49
    print(f"V: {V.shape[0]} images x {V.shape[1]} pixels, r = {r}")

    fit = nmf(V, r, loss="kullback-leibler", init="random", random_state=0, max_iter=20 if quick else 1000, tol=0.0)
    print(f"NMF (Kullback-Leibler): {fit.n_iter} iterations, converged: {fit.converged}")
    mean_face = V.mean(axis=0)
    _, singular_values, Vt = np.linalg.svd(V - mean_face, full_matrices=False)
    components = Vt[:r]
    codes = (V - mean_face) @ components.T

    nmf_reconstruction = fit.W @ fit.H
    pca_reconstruction = mean_face + codes @ components
    norm = np.linalg.norm(V)
    print(
        f"relative reconstruction error ||V - V'|| / ||V||: NMF {np.linalg.norm(V - nmf_reconstruction) / norm:.3f}, "
        f"PCA {np.linalg.norm(V - pca_reconstruction) / norm:.3f} (PCA is the best rank-{r} fit in this norm)"
    )
    explained = np.sum(singular_values[:r] ** 2) / np.sum(singular_values**2)
    print(f"PCA's {r} components explain {explained:.0%} of the variance")
    basis_sparseness = hoyer_sparseness(fit.H)
    print(
        "sparseness of the basis images (Hoyer; 0 = flat, 1 = one pixel): "
        f"NMF median {np.median(basis_sparseness):.2f}, PCA median {np.median(hoyer_sparseness(components)):.2f}"
    )
    peak = fit.H / fit.H.max(axis=1, keepdims=True)
    print(
        f"pixels below 1% of their basis image's maximum: NMF {np.mean(peak < 0.01):.0%}, "
        f"PCA {np.mean(np.abs(components) < 0.01 * np.abs(components).max(axis=1, keepdims=True)):.0%}"
    )
    print(
        "sparseness of the encodings (how few basis images a face uses): "
        f"NMF median {np.median(hoyer_sparseness(fit.W)):.2f}, PCA median {np.median(hoyer_sparseness(codes)):.2f}"
    )

    # Order NMF's basis images by how much of the data each explains.
    order = np.argsort(fit.W.sum(axis=0) * fit.H.sum(axis=1), kind="stable")[::-1]
    fig = plot_basis_images(
        fit.H[order], image_shape, cmap="gray_r", title=f"NMF: {r} basis images (rows of H; dark = large)"
    )
    fig.savefig(out_dir / "nmf_basis.png", dpi=60 if not quick else 40)
    fig = plot_basis_images(
        components, image_shape, symmetric=True, title=f"PCA: the first {r} eigenfaces (red > 0 > blue)"
    )
    fig.savefig(out_dir / "pca_basis.png", dpi=60 if not quick else 40)
    faces = [0, 55, 123, 210, 377] if not quick else [0, 13, 31, 50, 77]
    panels = np.vstack([V[faces], nmf_reconstruction[faces], np.clip(pca_reconstruction[faces], 0, 1)])
    titles = [f"face {i}" for i in faces] + ["NMF"] * len(faces) + ["PCA"] * len(faces)
    fig = plot_basis_images(
        panels, image_shape, ncols=len(faces), titles=titles, title=f"Faces and their rank-{r} reconstructions"
    )
    fig.savefig(out_dir / "reconstructions.png", dpi=80 if not quick else 40)
    return {"result": fit, "components": components, "image_shape": image_shape}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, default=Path("faces_output"))
    parser.add_argument("--quick", action="store_true", help="100 small images, r = 16, few iterations")
    args = parser.parse_args()
    main(args.data_dir, args.out, quick=args.quick)
