"""``fastnmf demo``: topics of the Python language reference, which ships with
every Python (``pydoc_data.topics``, the text behind ``help("topics")``), so the
demo needs no download.

Each section of each help topic is a document (about 150 of them, e.g. "The
"try" statement", "Mapping Types — dict"). The document-term matrix is TF-IDF
(scikit-learn's ``TfidfVectorizer`` when it is installed; otherwise
:class:`MinimalTfidf`, a short exact re-implementation of the same settings,
so that ``pip install fastnmf`` alone runs the demo), and the topics are an
NMF of it with the Frobenius loss.
"""

import math
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# Words of two or more letters or underscores (so "__init__" is one word,
# numbers are none).
TOKEN_PATTERN = r"(?u)\b[a-zA-Z_][a-zA-Z_]+\b"

# English function words, plus words every section of a language reference
# uses ("example", "following", "see", "section", ...).
STOP_WORDS = frozenset(
    """
    a about above after again against all almost along already also although always am among an and
    another any anyone anything are aren around as at be became because become been before being
    below between both but by can cannot could did do does doing done down during each either else
    enough etc even ever every few for from further had has have having he her here hers herself him
    himself his how however i if in instead into is it its itself just least less like likewise many
    may me might more most much must my myself neither never nevertheless no nor not nothing now of
    off often on once one only onto or other others otherwise our ours ourselves out over own per
    perhaps quite rather really same several shall she should since so some something sometimes
    still such than that the their theirs them themselves then there therefore these they this those
    though through thus to together too toward towards under unless until up upon us usually very via
    was we were what whatever when whenever where whereas wherever whether which while who whom whose
    why will with within without would yet you your yours yourself yourselves
    eg ie etc
    also already always example examples following follows given gives including just like make makes
    mean means need needed new note noted one ones particular possible provided refer refers rather
    see seen section sections shown similar simply thing things two three true false use used uses
    using usually way ways want well
    """.split()
)

# Document frequency limits: keep words in at least MIN_DF sections and in at
# most MAX_DF of them (words in more than half say nothing about topics).
MIN_DF = 3
MAX_DF = 0.5

# Sections shorter than this many words are headings with no text of their own.
MIN_SECTION_WORDS = 40

HEADING = re.compile(r"^(\S[^\n]*)\n([*=\-~^\"]{3,})$", re.MULTILINE)

QUERIES = (
    "How do I catch an error and clean up with finally?",
    "Add two numbers and round the float result",
)


@dataclass(frozen=True)
class Corpus:
    """The demo's documents: one per section of the language reference."""

    titles: list
    texts: list
    source: str


def python_reference_corpus():
    """The sections of Python's own language reference (``pydoc_data.topics``).

    Returns
    -------
    Corpus
        Section titles (e.g. 'The "while" statement') and texts, in a fixed
        order; sections that appear under several help topics are kept once.

    Raises
    ------
    RuntimeError
        If this Python was installed without ``pydoc_data`` (some minimal
        distributions strip it).
    """
    try:
        from pydoc_data.topics import topics
    except ImportError as error:
        raise RuntimeError(
            "this Python has no pydoc_data module (the help texts the demo reads); "
            "try `fastnmf topics FOLDER` on a folder of text files instead."
        ) from error
    sections = {}
    for key in sorted(topics):
        parts = HEADING.split("\n" + topics[key].strip() + "\n")
        # parts: [text before the first heading, title, underline, text, title, underline, text, ...]
        candidates = [(key, parts[0])] + [(parts[i].strip(), parts[i + 2]) for i in range(1, len(parts), 3)]
        for title, text in candidates:
            text = text.strip()
            if len(text.split()) >= MIN_SECTION_WORDS and text not in sections:
                sections[text] = title
    texts = list(sections)
    return Corpus([sections[text] for text in texts], texts, f"pydoc_data (Python {sys.version.split()[0]})")


def _tokens(text):
    return [word for word in re.findall(TOKEN_PATTERN, text.lower()) if word not in STOP_WORDS]


class MinimalTfidf:
    """TF-IDF exactly as scikit-learn's ``TfidfVectorizer(token_pattern=
    TOKEN_PATTERN, stop_words=STOP_WORDS, min_df=MIN_DF, max_df=MAX_DF,
    sublinear_tf=True)``, for the demo when scikit-learn is not installed.

    Weights: (1 + log tf) * (1 + log((1 + n) / (1 + df))), rows scaled to unit
    Euclidean norm (the formulas of scikit-learn's user guide).
    """

    def fit_transform(self, texts):
        counts = [Counter(_tokens(text)) for text in texts]
        df = Counter(word for document in counts for word in document)
        n = len(texts)
        max_count = MAX_DF * n
        self.vocabulary_ = {
            word: j for j, word in enumerate(sorted(w for w, d in df.items() if MIN_DF <= d <= max_count))
        }
        self.idf_ = np.array([1.0 + math.log((1 + n) / (1 + df[word])) for word in self.get_feature_names_out()])
        return self._weights(counts)

    def transform(self, texts):
        return self._weights([Counter(_tokens(text)) for text in texts])

    def get_feature_names_out(self):
        return np.array(sorted(self.vocabulary_, key=self.vocabulary_.get), dtype=object)

    def _weights(self, counts):
        rows, cols, values = [], [], []
        for i, document in enumerate(counts):
            for word, count in document.items():
                j = self.vocabulary_.get(word)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
                    values.append((1.0 + math.log(count)) * self.idf_[j])
        X = sp.csr_array((values, (rows, cols)), shape=(len(counts), len(self.vocabulary_)), dtype=np.float64)
        X.sort_indices()
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1))).ravel()
        norms[norms == 0] = 1.0
        return sp.csr_array(sp.diags_array(1.0 / norms) @ X)


def vectorizer(use_sklearn=None):
    """The TF-IDF vectorizer and a short description of it.

    ``use_sklearn``: None uses scikit-learn if it is installed; True requires
    it; False uses :class:`MinimalTfidf`.
    """
    if use_sklearn is not False:
        try:
            import sklearn
            from sklearn.feature_extraction.text import TfidfVectorizer
        except ImportError:
            if use_sklearn:
                raise
        else:
            vec = TfidfVectorizer(
                token_pattern=TOKEN_PATTERN,
                stop_words=sorted(STOP_WORDS),
                min_df=MIN_DF,
                max_df=MAX_DF,
                sublinear_tf=True,
            )
            return vec, f"scikit-learn {sklearn.__version__} TfidfVectorizer"
    return MinimalTfidf(), "fastnmf's built-in TF-IDF, as scikit-learn's; scikit-learn is not installed"


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run` computed, for tests and notebooks."""

    corpus: Corpus
    terms: np.ndarray
    result: object  # NMFResult
    top_terms: list  # per topic, its top terms
    top_documents: list  # per topic, its top document titles
    seconds: float


def run(rank=10, n_terms=8, n_documents=3, random_state=0, use_sklearn=None, out=None):
    """Find and print topics of Python's language reference.

    Parameters
    ----------
    rank : int, default 10
        Number of topics.
    n_terms : int, default 8
        Terms printed per topic.
    n_documents : int, default 3
        Sections printed per topic.
    random_state : int, default 0
        Seed of the fit (NNDSVDa initialization is deterministic anyway).
    use_sklearn : bool or None
        Use scikit-learn's TfidfVectorizer (None: if installed).
    out : file or None
        Where to print (default ``sys.stdout``).

    Returns
    -------
    DemoResult
    """
    from . import nmf, transform

    out = sys.stdout if out is None else out
    started = time.perf_counter()
    corpus = python_reference_corpus()
    vec, how = vectorizer(use_sklearn)
    X = vec.fit_transform(corpus.texts)
    terms = np.asarray(vec.get_feature_names_out())
    built = time.perf_counter()
    result = nmf(X, rank, loss="frobenius", init="nndsvda", random_state=random_state, max_iter=500, tol=1e-4)
    fitted = time.perf_counter()

    m, n = X.shape
    print(f"fastnmf demo: {rank} topics in the Python language reference that ships with Python", file=out)
    print(f"  documents  {m} sections of {corpus.source}, e.g. help('try')", file=out)
    print(f"  matrix     {m} x {n} TF-IDF, {X.nnz:,} nonzeros ({how}), built in {built - started:.2f} s", file=out)
    print(
        f"  NMF        rank {rank}, Frobenius loss, {result.n_iter} iterations in {fitted - built:.2f} s "
        f"({'converged' if result.converged else 'max_iter reached'})",
        file=out,
    )
    print(file=out)
    W, H = result.W, result.H
    top_terms, top_documents = [], []
    # Topics in order of their share of the corpus, largest first.
    order = np.argsort(-(W.sum(axis=0) * H.sum(axis=1)), kind="stable")
    width = len(str(rank))
    for number, k in enumerate(order, start=1):
        words = [str(terms[j]) for j in np.argsort(-H[k], kind="stable")[:n_terms]]
        titles = [corpus.titles[i] for i in np.argsort(-W[:, k], kind="stable")[:n_documents]]
        top_terms.append(words)
        top_documents.append(titles)
        print(f"Topic {number:>{width}}  {', '.join(words)}", file=out)
        print(f"{'':>{width + 8}}{' | '.join(titles)}", file=out)
    print(file=out)
    new_W = transform(vec.transform(list(QUERIES)), H, loss="frobenius")
    topic_number = {int(k): number for number, k in enumerate(order, start=1)}
    for query, weights in zip(QUERIES, new_W):
        if weights.max() > 0:
            k = int(np.argmax(weights))
            print(
                f"New text {query!r} -> topic {topic_number[k]} ({', '.join(top_terms[topic_number[k] - 1][:3])})",
                file=out,
            )
    total = time.perf_counter() - started
    print(file=out)
    print(f"Done in {total:.2f} s. Your own texts: fastnmf topics FOLDER -r 10", file=out)
    return DemoResult(corpus, terms, result, top_terms, top_documents, total)


def main(argv=None):
    """Run the demo with default settings; returns the exit status."""
    run()
    return 0
