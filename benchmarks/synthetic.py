"""Realistic synthetic document-term matrices for benchmarking fastnmf.

Real corpora are not uniform sparse matrices, and kernels tuned on uniform
random sparsity mislead: a few stop-word-like terms appear in most documents
(so some columns hold hundreds of times the median column's nonzeros), most
terms are rare, and document lengths have a heavy right tail. This module
draws counts from a topic model with those properties, fully vectorized and
without building anything of size documents x terms:

1. Term popularity follows a shifted Zipf law, p_j proportional to
   (j + ZIPF_SHIFT)^(-ZIPF_EXPONENT), and term ids are randomly permuted (as in
   an alphabetical vocabulary, popular terms are spread over the columns).
2. Each of ``n_topics`` topics is a distribution over terms: a share
   ``BACKGROUND_SHARE`` of the common Zipf background (the stop words every
   topic uses) plus a topic-specific part, the background reweighted by
   Gamma(``TOPIC_CONCENTRATION``) noise so that each topic favours its own
   random subset of terms.
3. Each document has topic weights drawn from Dirichlet(``DOC_TOPIC_ALPHA``)
   (a few topics per document) and a length in tokens drawn from a lognormal
   law with sigma ``LENGTH_SIGMA`` (heavy right tail).
4. The document's tokens are split over its topics by a multinomial draw,
   each topic's tokens get terms by inverse-CDF sampling, and the (document,
   term) pairs are summed into counts.

The generator is seeded: the same arguments give the same matrix.

Compared with real corpora (``python benchmarks/synthetic.py``): the
synthetic matrices have KOS's and TDT2's document lengths (mean 100-150
nonzeros per document, coefficient of variation 0.75; KOS 0.65, TDT2 0.82),
their share of counts equal to 1 (about 0.9; KOS 0.83, TDT2 0.79) and a column
skew between the two (the most common term is in 84-89% of documents and holds
0.6-0.8% of the nonzeros, 500-2000 times the median column; KOS: 62% and
0.60%, TDT2: 100% and 0.76%; column-nonzero Gini 0.71-0.74, KOS 0.62, TDT2
0.81). One column cannot hold more than 1 / (mean nonzeros per document) of
the nonzeros, so a column with ~2% of them needs documents of at most ~50
distinct terms.

``python benchmarks/synthetic.py`` prints the statistics of the KOS corpus
(UCI bag of words, from ``$FASTNMF_DATA/uci_bow``) beside those of the
synthetic matrices.

References: D. M. Blei, A. Y. Ng and M. I. Jordan, "Latent Dirichlet
allocation", JMLR 3, 2003 (the generative model); G. K. Zipf, "Human behavior
and the principle of least effort", 1949.
"""

import argparse
import gzip
import os
import pathlib
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

ZIPF_EXPONENT = 0.95
ZIPF_SHIFT = 2.7
BACKGROUND_SHARE = 0.3
TOPIC_CONCENTRATION = 0.3
DOC_TOPIC_ALPHA = 0.1
LENGTH_SIGMA = 0.75
MIN_DOC_TOKENS = 5


@dataclass(frozen=True)
class CorpusSize:
    """Shape and mean document length (in tokens) of a synthetic corpus."""

    n_docs: int
    n_terms: int
    mean_doc_tokens: float


# Named by their number of nonzeros; the mean lengths were tuned (with seed 0)
# so that the nonzeros land within 1% of the names.
SIZES = {
    "tiny": CorpusSize(300, 800, 40.0),  # about 10k nonzeros: tests
    "small": CorpusSize(2_000, 5_000, 58.3),  # 0.1M: asv's default size
    "0.5M": CorpusSize(5_000, 20_000, 121.5),
    "3M": CorpusSize(20_000, 50_000, 181.9),
    "15M": CorpusSize(100_000, 100_000, 175.8),
}


def document_term_matrix(
    n_docs,
    n_terms,
    *,
    mean_doc_tokens=150.0,
    n_topics=50,
    seed=0,
    dtype=np.float64,
):
    """Draw a document-term count matrix from a Zipf / topic-mixture model.

    Parameters
    ----------
    n_docs, n_terms : int
        The shape (m, n): documents are rows, terms are columns.
    mean_doc_tokens : float, default 150.0
        Mean document length in tokens (before summing repeated terms, so a
        document has fewer nonzeros than tokens).
    n_topics : int, default 50
        Number of topics in the mixture.
    seed : int, default 0
        Seed of the ``numpy.random.Generator`` that draws everything.
    dtype : numpy dtype, default float64
        dtype of the stored counts.

    Returns
    -------
    scipy.sparse.csr_array of shape (n_docs, n_terms)
        Counts, with sorted indices and no duplicates. Memory and time are
        O(tokens + n_topics * n_terms), never O(n_docs * n_terms).
    """
    for name, value in (("n_docs", n_docs), ("n_terms", n_terms), ("n_topics", n_topics)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    if not mean_doc_tokens >= 1:
        raise ValueError(f"mean_doc_tokens must be at least 1; got {mean_doc_tokens!r}.")
    rng = np.random.default_rng(seed)
    topic_cdfs = _topic_cdfs(n_terms, n_topics, rng)
    doc_topics = rng.dirichlet(np.full(n_topics, DOC_TOPIC_ALPHA), size=n_docs)
    lengths = _document_lengths(n_docs, mean_doc_tokens, rng)
    tokens_per_topic = rng.multinomial(lengths, doc_topics)  # (n_docs, n_topics)

    total = int(tokens_per_topic.sum())
    index_dtype = np.int32 if max(n_docs, n_terms) < 2**31 else np.int64
    docs = np.empty(total, dtype=index_dtype)
    terms = np.empty(total, dtype=index_dtype)
    doc_ids = np.arange(n_docs, dtype=index_dtype)
    start = 0
    for k in range(n_topics):
        counts = tokens_per_topic[:, k]
        stop = start + int(counts.sum())
        docs[start:stop] = np.repeat(doc_ids, counts)
        terms[start:stop] = np.searchsorted(topic_cdfs[k], rng.random(stop - start), side="right")
        start = stop
    np.minimum(terms, n_terms - 1, out=terms)  # guards the last CDF entry's rounding
    permutation = rng.permutation(n_terms).astype(index_dtype)
    terms = permutation[terms]
    ones = np.ones(total, dtype=dtype)
    X = sp.coo_array((ones, (docs, terms)), shape=(n_docs, n_terms)).tocsr()
    X.sum_duplicates()
    X.sort_indices()
    return X


def _topic_cdfs(n_terms, n_topics, rng):
    """(n_topics, n_terms) cumulative term distributions, each ending at 1."""
    ranks = np.arange(n_terms, dtype=np.float64)
    background = (ranks + ZIPF_SHIFT) ** -ZIPF_EXPONENT
    background /= background.sum()
    specific = rng.gamma(TOPIC_CONCENTRATION, size=(n_topics, n_terms)) * background
    specific /= specific.sum(axis=1, keepdims=True)
    topics = BACKGROUND_SHARE * background + (1.0 - BACKGROUND_SHARE) * specific
    cdfs = np.cumsum(topics, axis=1)
    cdfs /= cdfs[:, -1:]
    return cdfs


def _document_lengths(n_docs, mean_doc_tokens, rng):
    """Lognormal lengths with the given mean, at least MIN_DOC_TOKENS."""
    mu = np.log(mean_doc_tokens) - 0.5 * LENGTH_SIGMA**2
    lengths = np.rint(rng.lognormal(mu, LENGTH_SIGMA, size=n_docs)).astype(np.int64)
    return np.maximum(lengths, min(MIN_DOC_TOKENS, int(mean_doc_tokens)))


def corpus(size, *, seed=0, dtype=np.float64):
    """The synthetic corpus named ``size`` in :data:`SIZES` ("0.5M", "3M",
    "15M", or "tiny" and "small" for tests).

    Returns
    -------
    scipy.sparse.csr_array
        Counts of shape ``(SIZES[size].n_docs, SIZES[size].n_terms)``.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {list(SIZES)}; got {size!r}.")
    spec = SIZES[size]
    return document_term_matrix(spec.n_docs, spec.n_terms, mean_doc_tokens=spec.mean_doc_tokens, seed=seed, dtype=dtype)


def statistics(X):
    """Summary statistics of a document-term matrix that matter for sparse
    kernels: row and column nonzero distributions and value distribution.

    Returns
    -------
    dict
        Name -> value (floats and ints).
    """
    X = sp.csr_array(X)
    m, n = X.shape
    row_nnz = np.diff(X.indptr)
    col_nnz = np.bincount(X.indices, minlength=n)
    descending = np.sort(col_nnz)[::-1]
    ascending_share = np.cumsum(descending[::-1]) / max(X.nnz, 1)
    return {
        "shape": f"{m} x {n}",
        "nnz": int(X.nnz),
        "tokens/nnz": float(X.data.sum() / X.nnz),
        "share of ones": float(np.mean(X.data == 1)),
        "doc nnz mean": float(row_nnz.mean()),
        "doc nnz median": float(np.median(row_nnz)),
        "doc nnz p5": float(np.percentile(row_nnz, 5)),
        "doc nnz p95": float(np.percentile(row_nnz, 95)),
        "doc nnz max/mean": float(row_nnz.max() / row_nnz.mean()),
        "doc nnz cv": float(row_nnz.std() / row_nnz.mean()),
        "max col nnz (% of nnz)": float(100 * descending[0] / X.nnz),
        "max col nnz (% of docs)": float(100 * descending[0] / m),
        "max col nnz / median": float(descending[0] / max(np.median(col_nnz), 1)),
        "top 1% cols (% of nnz)": float(100 * descending[: max(n // 100, 1)].sum() / X.nnz),
        "top 10% cols (% of nnz)": float(100 * descending[: max(n // 10, 1)].sum() / X.nnz),
        "col nnz gini": float(1 - 2 * ascending_share.mean() + 1 / n),
        "empty cols (%)": float(100 * np.mean(col_nnz == 0)),
    }


def default_data_dir():
    """``$FASTNMF_DATA``, else ``../shared/data`` relative to the repository."""
    here = pathlib.Path(__file__).resolve().parent.parent
    return pathlib.Path(os.environ.get("FASTNMF_DATA", here.parent / "shared" / "data"))


def load_kos(data_dir=None):
    """The KOS blog corpus of the UCI bag-of-words collection as a 3430 x 6906
    CSR count matrix, from ``<data_dir>/uci_bow/docword.kos.txt.gz``."""
    path = pathlib.Path(data_dir or default_data_dir()) / "uci_bow" / "docword.kos.txt.gz"
    with gzip.open(path, "rt") as handle:
        n_docs, n_terms, _ = (int(handle.readline()) for _ in range(3))
        triples = np.loadtxt(handle, dtype=np.int64, ndmin=2)
    X = sp.csr_array(
        (triples[:, 2].astype(np.float64), (triples[:, 0] - 1, triples[:, 1] - 1)), shape=(n_docs, n_terms)
    )
    X.sum_duplicates()
    return X


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["0.5M", "3M"], choices=list(SIZES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="data directory holding uci_bow/ (default $FASTNMF_DATA)")
    args = parser.parse_args(argv)

    columns = {}
    try:
        columns["KOS"] = statistics(load_kos(args.data))
    except FileNotFoundError as error:
        print(f"(KOS corpus not found: {error}; showing synthetic matrices only)")
    for size in args.sizes:
        started = time.perf_counter()
        X = corpus(size, seed=args.seed)
        elapsed = time.perf_counter() - started
        columns[f"synthetic {size}"] = {**statistics(X), "seconds to generate": elapsed}
    names = list(next(iter(columns.values())).keys()) + ["seconds to generate"]
    width = max(map(len, names))
    print(f"{'':{width}}" + "".join(f"{label:>18}" for label in columns))
    for name in dict.fromkeys(names):
        cells = []
        for stats in columns.values():
            value = stats.get(name, "")
            cells.append(f"{value:>18.3g}" if isinstance(value, float) else f"{value!s:>18}")
        print(f"{name:{width}}" + "".join(cells))


if __name__ == "__main__":
    main()
