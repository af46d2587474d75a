"""Topic modeling: the UCI KOS blog corpus and the TDT2 news corpus.

A documents x terms count matrix V factorizes as V ~ W H with the
Kullback-Leibler loss: each row of H is a topic (its weight on each term),
each row of W says how much of each topic a document holds. The script

- reads KOS (3,430 blog posts from dailykos.com, 2004, 6,906 words), fits
  10 topics and prints each topic's top terms, its size and its coherence;
- assigns each document its main topic;
- fits 5, 10 and 20 topics and shows how topics split as r grows;
- reads TDT2 (9,394 news stories, 36,773 terms, no vocabulary in this copy)
  and fits 30 topics: topic sizes and coherence instead of words;
- writes the figures ``kos_topics.png``, ``kos_loss.png`` and
  ``tdt2_topics.png`` to the output folder.

Run it as ``python examples/topic_modeling.py [DATA_DIR] [--out OUT] [--quick]``.
DATA_DIR holds ``uci_bow/docword.kos.txt.gz``, ``uci_bow/vocab.kos.txt`` and
``text/TDT2.mat``; it defaults to ``$FASTNMF_DATA``, else ``../shared/data``
beside the repository.
"""

import argparse
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from fastnmf import nmf
from fastnmf.io import read_mat, read_uci
from fastnmf.plotting import plot_factor_bars, plot_loss, plot_top_terms

TOP_TERMS = 10
COHERENCE_TERMS = 10


def default_data_dir():
    """``$FASTNMF_DATA``, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("FASTNMF_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")


def umass_coherence(top_terms, doc_freq, co_doc_freq):
    """UMass coherence (Mimno et al. 2011) of one topic's top terms, ordered
    by weight: sum over pairs m > l of log((D(t_m, t_l) + 1) / D(t_l)).
    Closer to 0 is more coherent: the top terms appear in the same documents."""
    score = 0.0
    for later in range(1, len(top_terms)):
        for earlier in range(later):
            pair = co_doc_freq[top_terms[later], top_terms[earlier]]
            score += np.log((pair + 1.0) / doc_freq[top_terms[earlier]])
    return score


def topic_coherences(V, H, n_terms=COHERENCE_TERMS):
    """UMass coherence of each topic (row of H) over the documents of V."""
    tops = [np.argsort(row, kind="stable")[::-1][:n_terms] for row in H]
    terms = np.unique(np.concatenate(tops))
    present = sp.csc_array(V[:, terms] > 0, dtype=np.float64)
    co = (present.T @ present).toarray()
    position = {term: i for i, term in enumerate(terms)}
    return np.array([umass_coherence([position[t] for t in top], np.diag(co), co) for top in tops])


def document_topic_shares(result):
    """Each document's expected share of tokens from each topic: W[i, k] times
    the topic's total weight, normalized per document (rows sum to 1)."""
    tokens = result.W * result.H.sum(axis=1)
    totals = tokens.sum(axis=1, keepdims=True)
    return np.divide(tokens, totals, out=np.zeros_like(tokens), where=totals > 0)


def top_words(H_row, vocabulary, count):
    return " ".join(vocabulary[j] for j in np.argsort(H_row, kind="stable")[::-1][:count])


def kos_topics(data_dir, out_dir, quick):
    corpus = read_uci(data_dir / "uci_bow" / "docword.kos.txt.gz", data_dir / "uci_bow" / "vocab.kos.txt")
    V, vocabulary = corpus.matrix, list(corpus.column_labels)
    if quick:
        V = V[:600]
    settings = dict(loss="kullback-leibler", random_state=0, max_iter=20 if quick else 500)
    settings["tol"] = 0.0 if quick else 1e-4
    r_main = 5 if quick else 10
    print(f"KOS: {V.shape[0]} documents x {V.shape[1]} words, {V.nnz} nonzeros, {int(V.sum())} tokens")

    fits = {r: nmf(V, r, **settings) for r in ((3, 5) if quick else (5, 10, 20))}
    result = fits[r_main]
    shares = document_topic_shares(result)
    main_topic = shares.argmax(axis=1)
    token_share = (result.W.sum(axis=0) * result.H.sum(axis=1)) / (result.W @ result.H).sum()
    coherence = topic_coherences(V, result.H)
    print(
        f"\nr = {r_main}: {result.n_iter} iterations, converged: {result.converged}, "
        f"KL divergence {result.data_loss:.4g}"
    )
    print("topic  docs  tokens  coherence  top terms")
    for k in range(r_main):
        print(
            f"{k:5d} {np.sum(main_topic == k):5d} {token_share[k]:6.1%} {coherence[k]:10.1f}  "
            f"{top_words(result.H[k], vocabulary, TOP_TERMS)}"
        )

    print("\nEach document's main topic (first five documents; UCI withholds their titles):")
    lengths = np.asarray(V.sum(axis=1)).ravel()
    for doc in range(5):
        row = V[[doc]]
        frequent = row.indices[np.argsort(row.data, kind="stable")[::-1][:6]]
        print(
            f"  document {doc + 1}: {int(lengths[doc])} tokens, {shares[doc, main_topic[doc]]:.0%} topic "
            f"{main_topic[doc]}; its most frequent words: {' '.join(vocabulary[j] for j in frequent)}"
        )
    sharp = np.mean(shares.max(axis=1) >= 0.5)
    print(f"  {sharp:.0%} of the documents draw at least half of their tokens from one topic.")

    print("\nHow topics change with r (KL divergence; each topic's closest topic at the smaller r):")
    ranks = sorted(fits)
    for r in ranks:
        fit = fits[r]
        print(f"  r = {r:2d}: KL {fit.data_loss:.4g}, mean coherence {np.mean(topic_coherences(V, fit.H)):.1f}")
    for smaller, larger in zip(ranks, ranks[1:]):
        parent = closest_topics(fits[larger].H, fits[smaller].H)
        print(f"\n  r = {smaller} -> r = {larger}:")
        for k in range(smaller):
            print(f"    [{k}] {top_words(fits[smaller].H[k], vocabulary, 6)}")
            for child in np.flatnonzero(parent == k):
                print(f"        -> {top_words(fits[larger].H[child], vocabulary, 6)}")

    names = [f"{k}: {distinctive_term(result.H, k, vocabulary)}" for k in range(r_main)]
    fig = plot_top_terms(
        result.H,
        vocabulary,
        TOP_TERMS,
        topic_names=names,
        title=f"KOS: the top terms of {r_main} topics (share of each topic's weight)",
    )
    fig.savefig(out_dir / "kos_topics.png", dpi=90)
    fig = plot_loss(
        [fits[r] for r in ranks],
        labels=[f"r = {r}" for r in ranks],
        title="KOS, Kullback-Leibler: objective per iteration",
    )
    fig.savefig(out_dir / "kos_loss.png", dpi=90)
    return {"fits": fits, "main_topic": main_topic, "vocabulary": vocabulary}


def distinctive_term(H, k, vocabulary, among=TOP_TERMS):
    """A name for topic k: among its ``among`` heaviest terms, the one whose
    share in topic k is largest relative to its share in all topics."""
    shares = H / H.sum(axis=1, keepdims=True)
    top = np.argsort(shares[k], kind="stable")[::-1][:among]
    lift = shares[k, top] / shares[:, top].mean(axis=0)
    return vocabulary[int(top[np.argmax(lift)])]


def closest_topics(H_larger, H_smaller):
    """For each row of H_larger, the index of the row of H_smaller with the
    highest cosine similarity."""
    a = H_larger / np.linalg.norm(H_larger, axis=1, keepdims=True).clip(min=1e-300)
    b = H_smaller / np.linalg.norm(H_smaller, axis=1, keepdims=True).clip(min=1e-300)
    return np.argmax(a @ b.T, axis=1)


def tdt2_topics(data_dir, out_dir, quick):
    V = sp.csr_array(read_mat(data_dir / "text" / "TDT2.mat", "fea").matrix)
    if quick:
        V = V[:800]
    r = 5 if quick else 30
    print(
        f"\nTDT2: {V.shape[0]} documents x {V.shape[1]} terms, {V.nnz} nonzeros "
        f"({np.sum(np.diff(V.tocsc().indptr) == 0)} terms occur in no document)"
    )
    settings = dict(loss="kullback-leibler", random_state=0, max_iter=10 if quick else 200, tol=0.0)
    result = nmf(V, r, init="random", **settings)
    svd_start = nmf(V, r, **settings)  # the default init, NNDSVDa, for comparison
    largest = np.bincount(document_topic_shares(svd_start).argmax(axis=1), minlength=r).max()
    shares = document_topic_shares(result)
    main_topic = shares.argmax(axis=1)
    sizes = np.bincount(main_topic, minlength=r)
    coherence = topic_coherences(V, result.H)
    rng = np.random.default_rng(0)
    frequent_terms = np.argsort(np.asarray((V > 0).sum(axis=0)).ravel(), kind="stable")[::-1][:2000]
    random_topics = np.zeros((r, V.shape[1]))
    for k in range(r):
        random_topics[k, rng.choice(frequent_terms, COHERENCE_TERMS, replace=False)] = 1.0 + rng.random(COHERENCE_TERMS)
    baseline = topic_coherences(V, random_topics)
    print(f"r = {r}, init='random': {result.n_iter} iterations")
    order = np.argsort(sizes, kind="stable")[::-1]
    print("topic  docs  coherence  (largest first)")
    for k in order:
        print(f"{k:5d} {sizes[k]:5d} {coherence[k]:10.1f}")
    print(
        f"mean coherence {coherence.mean():.1f}; ten random terms among the 2,000 most frequent: {baseline.mean():.1f}"
    )
    print(
        f"{np.mean(shares.max(axis=1) >= 0.5):.0%} of the documents draw at least half of their tokens from one topic."
    )
    print(
        f"With the default init (NNDSVDa) and the same iterations, the largest topic is the main topic "
        f"of {largest} documents instead of {sizes.max()}."
    )
    fig = plot_factor_bars(
        np.vstack([sizes[order], coherence[order]]),
        [str(k) for k in order],
        factor_names=["documents per topic (main topic)", "UMass coherence (higher is better)"],
        ncols=1,
        value_label="",
        title=f"TDT2: {r} topics, largest first",
    )
    fig.axes[1].axhline(baseline.mean(), color="gray", linestyle="--", label="ten random frequent terms")
    fig.axes[1].legend(frameon=False, loc="lower right", fontsize="small")
    fig.axes[1].set_xlabel("topic")
    fig.savefig(out_dir / "tdt2_topics.png", dpi=90)
    return {"result": result, "sizes": sizes, "coherence": coherence}


def main(data_dir, out_dir, *, quick=False):
    """Run both corpora; ``quick`` uses subsets and few iterations (tests).

    Returns a dict with the KOS and TDT2 results.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kos = kos_topics(data_dir, out_dir, quick)
    tdt2 = tdt2_topics(data_dir, out_dir, quick)
    return {"kos": kos, "tdt2": tdt2}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, default=Path("topic_modeling_output"))
    parser.add_argument("--quick", action="store_true", help="subsets and few iterations")
    args = parser.parse_args()
    main(args.data_dir, args.out, quick=args.quick)
