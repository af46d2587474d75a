"""``fastnmf topics``: the top terms of each topic and each document's main topic,
from a folder of text files, a UCI corpus, or a count matrix and a vocabulary."""

import os
import sys

from ._arguments import (
    FORMATS,
    add_fit_options,
    encoding_type,
    fraction,
    loss_type,
    non_negative_int,
    pattern_type,
    positive_int,
)
from ._errors import CommandError
from ._fitting import check_threads, fit, load_matrix


def _read_vocabulary(path):
    from ..io._common import TEXT_ERRORS, existing_file, open_text, text_error

    path = existing_file(path)
    try:
        with open_text(path) as file:
            words = [line.rstrip("\r\n") for line in file]
    except TEXT_ERRORS as error:
        raise text_error(path, error) from None
    while words and not words[-1].strip():
        words.pop()
    return words


def _text_corpus(folder, args):
    """Documents x terms from the text files of a folder, with scikit-learn."""
    from pathlib import Path

    try:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    except ImportError:
        raise CommandError(
            "reading a folder of text needs scikit-learn's vectorizers: pip install 'fastnmf[sklearn]'"
        ) from None
    try:
        files = sorted(path for path in Path(folder).rglob(args.pattern) if path.is_file())
    except (ValueError, NotImplementedError) as error:  # a pattern pathlib refuses (the parser checks most)
        raise CommandError(f"--pattern {args.pattern!r} cannot be used: {error}") from None
    if not files:
        raise CommandError(f"{folder}: no files match {args.pattern!r} (change it with --pattern).")
    settings = {
        "input": "filename",
        "encoding": args.encoding,
        "decode_error": "replace",
        "stop_words": None if args.stop_words == "none" else args.stop_words,
        "min_df": args.min_df if len(files) > args.min_df else 1,
        "max_df": args.max_df if len(files) > 2 else 1.0,
        "max_features": args.max_features,
    }
    weighting = args.weighting or "tfidf"
    vectorizer = TfidfVectorizer(**settings) if weighting == "tfidf" else CountVectorizer(**settings)
    try:
        matrix = vectorizer.fit_transform([str(path) for path in files])
    except ValueError as error:  # e.g. "empty vocabulary; perhaps the documents only contain stop words"
        raise CommandError(f"{folder}: {error}") from None
    names = [str(path.relative_to(folder)) for path in files]
    return matrix, [str(term) for term in vectorizer.get_feature_names_out()], names, weighting, None


def _matrix_corpus(path, args):
    """Documents x terms from a UCI corpus or any matrix file."""
    from ..io import guess_format
    from ..io.uci import default_vocab_path

    options = {}
    is_uci = (args.format or _safe_guess(path, guess_format)) == "uci"
    if is_uci and args.vocab:
        options["vocab"] = args.vocab
    data = load_matrix(path, args, **options)
    matrix = data.matrix
    terms = data.column_labels
    if args.vocab and not is_uci:
        terms = _read_vocabulary(args.vocab)
    if terms is not None and len(terms) != matrix.shape[1]:
        raise CommandError(
            f"{args.vocab or path}: holds {len(terms)} terms, but the matrix has {matrix.shape[1]} columns."
        )
    note = None
    if terms is None:
        hint = default_vocab_path(path) if is_uci else None
        note = (
            f"no vocabulary{f' ({hint} not found)' if hint else ''}; terms are shown by column number "
            "(pass --vocab FILE)."
        )
        terms = [f"term{j + 1}" for j in range(matrix.shape[1])]
    names = [str(label) for label in data.row_labels] if data.row_labels is not None else None
    if names is None:
        names = [f"document {i + 1}" for i in range(matrix.shape[0])]
    weighting = args.weighting or "counts"
    if weighting == "tfidf":
        try:
            from sklearn.feature_extraction.text import TfidfTransformer
        except ImportError:
            raise CommandError("--weighting tfidf needs scikit-learn: pip install 'fastnmf[sklearn]'") from None
        matrix = TfidfTransformer().fit_transform(matrix)
    return matrix, [str(term) for term in terms], names, weighting, note


def _safe_guess(path, guess_format):
    try:
        return guess_format(path)
    except ValueError:
        return None


def run_topics(args):
    import numpy as np

    check_threads(args)
    if not os.path.exists(args.source):
        raise CommandError(f"{args.source}: no such file or folder.")
    if os.path.isdir(args.source):
        matrix, terms, names, weighting, note = _text_corpus(args.source, args)
    else:
        matrix, terms, names, weighting, note = _matrix_corpus(args.source, args)
    loss = args.loss or ("frobenius" if weighting == "tfidf" else "kullback-leibler")
    m, n = matrix.shape
    if args.rank > min(m, n):
        raise CommandError(f"-r/--rank must be at most min(documents, terms) = {min(m, n)} here; got {args.rank}.")
    if note:
        print(f"fastnmf: note: {note}", file=sys.stderr)
    result, seconds = fit(matrix, args.rank, args, loss=loss, what=args.source)
    W, H = result.W, result.H
    print(
        f"{args.source}: {m} documents x {n} terms ({weighting}), {args.rank} topics, {loss} loss, "
        f"{result.n_iter} iterations in {seconds:.2f} s"
    )
    print()
    main_topic = np.argmax(W, axis=1)
    totals = W.sum(axis=1)
    width = len(str(args.rank))
    for k in range(args.rank):
        top = np.argsort(-H[k], kind="stable")[: args.terms]
        count = int(np.sum((main_topic == k) & (totals > 0)))
        print(f"Topic {k + 1:>{width}} ({count} documents): {' '.join(terms[j] for j in top)}")
    if args.documents == 0:
        return 0
    print()
    print("document\tmain topic\tshare")
    shown = m if args.documents is None else min(args.documents, m)
    for i in range(shown):
        if totals[i] > 0:
            print(f"{names[i]}\t{main_topic[i] + 1}\t{W[i, main_topic[i]] / totals[i]:.2f}")
        else:
            print(f"{names[i]}\t-\t0.00")
    if shown < m:
        print(f"... {m - shown} more (--documents N to show more)")
    return 0


def add_topics_command(commands):
    """Add the ``topics`` subcommand to ``commands`` (argparse subparsers)."""
    topics = commands.add_parser(
        "topics",
        help="topics of a corpus: top terms and each document's main topic",
        description="Topic modeling: the top terms of each topic and each document's main topic. SOURCE is a "
        "folder of text files (tokenized by scikit-learn), a UCI docword.*.txt[.gz] file (its vocab.*.txt "
        "beside it), or a documents x terms count matrix with --vocab.",
    )
    topics.add_argument("source", metavar="SOURCE", help="folder of text files, UCI docword file, or matrix file")
    topics.add_argument("-r", "--rank", type=positive_int, default=10, help="number of topics (default 10)")
    topics.add_argument("--terms", type=positive_int, default=10, help="terms shown per topic (default 10)")
    topics.add_argument(
        "--documents", type=non_negative_int, default=None, help="documents listed (default all; 0 for none)"
    )
    topics.add_argument("--vocab", default=None, help="vocabulary file, one term per line (for a matrix SOURCE)")
    topics.add_argument(
        "--weighting",
        choices=["counts", "tfidf"],
        default=None,
        help="term weights (default tfidf for text, counts for matrices)",
    )
    topics.add_argument(
        "--loss", type=loss_type, default=None, help="default: frobenius for tfidf, kullback-leibler for counts"
    )
    topics.add_argument("--format", choices=FORMATS, default=None, help="the matrix format if its name does not tell")
    topics.add_argument("--variable", default=None, help="the variable to read from a .mat or .npz file")
    text = topics.add_argument_group("text folders (scikit-learn's vectorizer)")
    text.add_argument(
        "--pattern",
        type=pattern_type,
        default="*.txt",
        help="file names to read, searched recursively inside SOURCE (default *.txt)",
    )
    text.add_argument(
        "--encoding",
        type=encoding_type,
        default="utf-8",
        help="text encoding (default utf-8; undecodable bytes are replaced)",
    )
    text.add_argument(
        "--stop-words", choices=["english", "none"], default="english", help="stop words (default english)"
    )
    text.add_argument("--min-df", type=positive_int, default=2, help="ignore terms in fewer documents (default 2)")
    text.add_argument(
        "--max-df", type=fraction, default=0.95, help="ignore terms in a larger share of documents (default 0.95)"
    )
    text.add_argument("--max-features", type=positive_int, default=None, help="keep only the most frequent terms")
    add_fit_options(topics)
    topics.set_defaults(run=run_topics)
