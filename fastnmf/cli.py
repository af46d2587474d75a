"""The ``fastnmf`` command (also ``python -m fastnmf``).

Subcommands:

- ``factorize INPUT -r R -o OUT``: W, H (.npy) and a JSON summary;
- ``topics SOURCE``: the top terms of each topic and each document's main
  topic, from a UCI corpus, a count matrix and a vocabulary, or a folder of
  text files;
- ``recommend RATINGS --user U``: the top-k unrated items of given users;
- ``demo``: topics of Python's own language reference (no download).

A user mistake (a missing file, a bad rank, negative data, a malformed file)
prints one line, ``fastnmf: error: ...``, on stderr and exits with status 1
(2 for a bad command line), without a traceback.
"""

import argparse
import inspect
import json
import os
import sys
import time
import warnings

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
PROGRESS_INTERVAL = 0.1  # seconds between progress-bar redraws
FORMATS = ("mtx", "npz", "npy", "csv", "uci", "mat", "ratings")  # as fastnmf.io.FORMATS
LOSS_ALIASES = {"fro": "frobenius", "kl": "kullback-leibler", "is": "itakura-saito"}


class CommandError(Exception):
    """A user mistake the command reports in one line."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, reporting a bad command line in one line (plus a hint)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# --------------------------------------------------------------------------
# Argument types
# --------------------------------------------------------------------------


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {value}")
    return value


def non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer; got {value}")
    return value


def non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative number; got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite non-negative number; got {text}")
    return value


def fraction(text):
    value = non_negative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1; got {text}")
    return value


def loss_type(text):
    """A loss name, a short alias (fro, kl, is) or a beta."""
    name = LOSS_ALIASES.get(text, text)
    if name in ("frobenius", "kullback-leibler", "itakura-saito"):
        return name
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected frobenius, kullback-leibler, itakura-saito (or fro, kl, is) or a number; got {text!r}"
        ) from None


# --------------------------------------------------------------------------
# Progress and warnings
# --------------------------------------------------------------------------


def _format_seconds(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class ProgressBar:
    """An ``nmf`` callback that draws ``iteration, loss, relative change, ETA``
    on one line of a terminal, at most every :data:`PROGRESS_INTERVAL` s.

    Parameters
    ----------
    max_iter : int
        The iteration budget (the ETA assumes all of it; ``tol`` may stop sooner).
    stream : file
        Where to draw (stderr).
    enabled : bool
        False makes every call a no-op.
    """

    WIDTH = 20

    def __init__(self, max_iter, stream, enabled):
        self.max_iter = max(max_iter, 1)
        self.stream = stream
        self.enabled = enabled
        self.first_done = None
        self.last_drawn = -float("inf")
        self.previous_loss = None
        self.line_length = 0

    def __call__(self, iteration, W, H, loss):
        change = None
        if self.previous_loss:
            change = (self.previous_loss - loss) / abs(self.previous_loss)
        self.previous_loss = loss
        now = time.perf_counter()
        if iteration == 1:
            self.first_done = now  # the first iteration may include compiling: the ETA starts after it
        if not self.enabled or (now - self.last_drawn < PROGRESS_INTERVAL and iteration < self.max_iter):
            return False
        self.last_drawn = now
        filled = int(round(min(iteration / self.max_iter, 1.0) * self.WIDTH))
        eta = "--"
        if iteration > 1 and self.first_done is not None:
            eta = _format_seconds((now - self.first_done) / (iteration - 1) * (self.max_iter - iteration))
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] iteration {iteration}/{self.max_iter}  "
            f"loss {loss:.6g}  rel. change {'--' if change is None else f'{change:.2e}'}  ETA {eta}"
        )
        self.stream.write("\r" + line.ljust(self.line_length))
        self.stream.flush()
        self.line_length = len(line)
        return False

    def close(self):
        """Erase the bar."""
        if self.enabled and self.line_length:
            self.stream.write("\r" + " " * self.line_length + "\r")
            self.stream.flush()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"fastnmf: warning: {message}", file=sys.stderr)


def _on_terminal(quiet):
    return not quiet and sys.stderr.isatty() and sys.stdout.isatty()


# --------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------


def _load(path, args, **options):
    from .io import load

    if getattr(args, "variable", None):
        options["variable"] = args.variable
    try:
        return load(path, format=getattr(args, "format", None), **options)
    except TypeError as error:  # an option the format does not take, e.g. --variable on a CSV
        raise CommandError(f"{path}: {error}") from None


def _fit(matrix, rank, args, *, loss, mask=None, regularization_scale="shape", what=""):
    """nmf with the command's settings and a progress bar."""
    from . import nmf

    bar = ProgressBar(args.max_iter, sys.stderr, _on_terminal(args.quiet))
    options = {}
    if getattr(args, "solver", None) is not None:
        if "solver" in inspect.signature(nmf).parameters:
            options["solver"] = args.solver
        elif args.solver not in ("auto", "mu"):
            raise CommandError(f"--solver {args.solver} is not available in this version of fastnmf (only mu).")
    started = time.perf_counter()
    try:
        result = nmf(
            matrix,
            rank,
            loss=loss,
            mask=mask,
            init=getattr(args, "init", None),
            max_iter=args.max_iter,
            tol=args.tol,
            random_state=args.seed,
            alpha_W=getattr(args, "alpha_W", 0.0),
            alpha_H="same" if getattr(args, "alpha_H", None) is None else args.alpha_H,
            l1_ratio=getattr(args, "l1_ratio", 0.0),
            regularization_scale=regularization_scale,
            n_threads=args.threads,
            callback=bar if bar.enabled else None,  # a callback makes nmf evaluate the loss every iteration
            **options,
        )
    except (ValueError, TypeError) as error:
        raise CommandError(f"{what}: {error}" if what else str(error)) from None
    finally:
        bar.close()
    return result, time.perf_counter() - started


def _add_fit_options(parser, *, max_iter=200, tol=1e-4):
    group = parser.add_argument_group("fit")
    group.add_argument(
        "--max-iter", type=non_negative_int, default=max_iter, help=f"iteration limit (default {max_iter})"
    )
    group.add_argument(
        "--tol", type=non_negative_float, default=tol, help=f"stopping tolerance (default {tol:g}; 0: run --max-iter)"
    )
    group.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    group.add_argument("--threads", type=positive_int, default=None, help="Numba threads (default: all cores)")
    group.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _check_threads(args):
    import numba

    if args.threads is not None and args.threads > numba.config.NUMBA_NUM_THREADS:
        raise CommandError(
            f"--threads must be at most {numba.config.NUMBA_NUM_THREADS} on this machine; got {args.threads}."
        )


# --------------------------------------------------------------------------
# factorize
# --------------------------------------------------------------------------


def run_factorize(args):
    import numpy as np
    import scipy.sparse as sp

    from . import __version__
    from ._losses import beta_from_loss

    _check_threads(args)
    data = _load(args.input, args)
    matrix = data.matrix.astype(np.float32) if args.float32 else data.matrix
    if args.mask == "observed" and not sp.issparse(matrix):
        raise CommandError(
            f"{args.input}: --mask observed needs a sparse input (stored entries are the observed ones)."
        )
    mask = "observed" if args.mask == "observed" else None
    if mask is None and not sp.issparse(matrix) and np.isnan(matrix).any():
        mask = ~np.isnan(matrix)  # missing values in a dense file are left out of the fit
    result, seconds = _fit(matrix, args.rank, args, loss=args.loss, mask=mask, what=args.input)

    os.makedirs(args.output, exist_ok=True)
    np.save(os.path.join(args.output, "W.npy"), result.W)
    np.save(os.path.join(args.output, "H.npy"), result.H)
    for name, labels in (("row_labels.txt", data.row_labels), ("column_labels.txt", data.column_labels)):
        if labels is not None:
            with open(os.path.join(args.output, name), "w", encoding="utf-8") as file:
                file.writelines(f"{label}\n" for label in labels)
    m, n = matrix.shape
    summary = {
        "input": os.fspath(args.input),
        "shape": [m, n],
        "nnz": int(matrix.nnz) if sp.issparse(matrix) else int(np.count_nonzero(matrix)),
        "dtype": str(result.W.dtype),
        "rank": args.rank,
        "loss": args.loss,
        "beta": beta_from_loss(args.loss),
        "objective": result.loss,
        "data_loss": result.data_loss,
        "reconstruction_err": result.reconstruction_err,
        "n_iter": result.n_iter,
        "converged": bool(result.converged),
        "seconds": round(seconds, 6),
        "settings": {
            "solver": args.solver,
            "mask": "observed" if args.mask == "observed" else ("non-NaN" if mask is not None else None),
            "init": args.init,
            "max_iter": args.max_iter,
            "tol": args.tol,
            "seed": args.seed,
            "threads": args.threads,
            "alpha_W": args.alpha_W,
            "alpha_H": args.alpha_H if args.alpha_H is not None else "same",
            "l1_ratio": args.l1_ratio,
        },
        "outputs": {"W": "W.npy", "H": "H.npy"},
        "fastnmf_version": __version__,
    }
    with open(os.path.join(args.output, "summary.json"), "w", encoding="utf-8") as file:
        json.dump(summary, file, indent=2)
        file.write("\n")
    print(
        f"{args.input}: {m} x {n} -> W {m} x {args.rank}, H {args.rank} x {n}; loss {result.loss:.6g} "
        f"after {result.n_iter} iterations ({'converged' if result.converged else 'max_iter reached'}) "
        f"in {seconds:.2f} s; wrote {os.path.join(args.output, '')}{{W.npy,H.npy,summary.json}}"
    )
    return 0


# --------------------------------------------------------------------------
# topics
# --------------------------------------------------------------------------


def _read_vocabulary(path):
    from .io import FileFormatError
    from .io._common import existing_file, open_text

    path = existing_file(path)
    try:
        with open_text(path) as file:
            words = [line.rstrip("\r\n") for line in file]
    except (UnicodeDecodeError, EOFError, OSError) as error:
        raise FileFormatError(path, f"cannot be read as a vocabulary (one term per line): {error}") from None
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
    files = sorted(path for path in Path(folder).rglob(args.pattern) if path.is_file())
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
    from .io import guess_format
    from .io.uci import default_vocab_path

    options = {}
    is_uci = (args.format or _safe_guess(path, guess_format)) == "uci"
    if is_uci and args.vocab:
        options["vocab"] = args.vocab
    data = _load(path, args, **options)
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

    _check_threads(args)
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
    result, seconds = _fit(matrix, args.rank, args, loss=loss, what=args.source)
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


# --------------------------------------------------------------------------
# recommend
# --------------------------------------------------------------------------


def _item_names(path):
    """{item id: title} from a MovieLens-style items file (id first, title second)."""
    import csv

    from .io._common import existing_file

    path = existing_file(path)
    names = {}
    with open(path, encoding="latin-1", newline="") as file:
        for line in file:
            line = line.rstrip("\r\n")
            if not line:
                continue
            for separator in ("::", "|", "\t"):
                if separator in line:
                    fields = line.split(separator)
                    break
            else:
                fields = next(csv.reader([line]))
            if len(fields) >= 2:
                names[fields[0].strip()] = fields[1].strip()
    return names


def run_recommend(args):
    import numpy as np

    from .io import read_ratings
    from .recommend import top_k

    _check_threads(args)
    data = read_ratings(args.ratings, layout=args.layout)
    ratings, user_ids, item_ids = data.matrix, data.row_labels, data.column_labels
    wanted = [user.strip() for group in args.user for user in group.split(",") if user.strip()]
    index = {str(user): i for i, user in enumerate(user_ids)}
    missing = [user for user in wanted if user not in index]
    if missing:
        known = f"{len(user_ids)} users, ids {user_ids[0]} to {user_ids[-1]}"
        raise CommandError(f"{args.ratings}: no user {missing[0]!r} (it has {known}).")
    rows = np.array([index[user] for user in wanted], dtype=np.int64)
    m, n = ratings.shape
    if args.rank > min(m, n):
        raise CommandError(f"-r/--rank must be at most min(users, items) = {min(m, n)} here; got {args.rank}.")
    result, seconds = _fit(
        ratings, args.rank, args, loss="frobenius", mask="observed", regularization_scale="observed", what=args.ratings
    )
    items, scores = top_k(result.W, result.H, args.k, exclude=ratings, users=rows, n_threads=args.threads)
    names = _item_names(args.item_names) if args.item_names else {}
    print(
        f"{args.ratings}: {m} users x {n} items, {ratings.nnz:,} ratings; rank {args.rank}, "
        f"{result.n_iter} iterations in {seconds:.2f} s"
    )
    for user, row, user_items, user_scores in zip(wanted, rows, items, scores):
        print()
        print(f"user {user} ({int(np.diff(ratings.indptr)[row])} ratings): top {args.k} unrated items")
        for rank, (item, score) in enumerate(zip(user_items, user_scores), start=1):
            if item < 0:
                break
            item_id = str(item_ids[item])
            title = f"  {names[item_id]}" if item_id in names else ""
            print(f"  {rank:>3}. item {item_id}{title}  (predicted {score:.2f})")
    return 0


# --------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------


def run_demo(args):
    from ._demo import run

    try:
        run(rank=args.rank, n_terms=args.terms, random_state=args.seed)
    except RuntimeError as error:
        raise CommandError(str(error)) from None
    return 0


# --------------------------------------------------------------------------
# The parser and main
# --------------------------------------------------------------------------


def build_parser():
    from . import __version__

    parser = OneLineParser(
        prog="fastnmf",
        description="Fast non-negative matrix factorization from the command line.",
        epilog="Start with: fastnmf demo",
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=24),
    )
    parser.add_argument("--version", action="version", version=f"fastnmf {__version__}")
    commands = parser.add_subparsers(dest="command", title="commands", parser_class=OneLineParser)

    factorize = commands.add_parser(
        "factorize",
        help="factorize a matrix file into W and H",
        description="Factorize a matrix file (.mtx[.gz], .npz, .npy, .csv/.tsv, docword.*.txt[.gz], .mat, "
        "ratings) into W (m x r) and H (r x n), written as OUT/W.npy and OUT/H.npy with OUT/summary.json.",
    )
    factorize.add_argument("input", metavar="INPUT", help="the matrix file")
    factorize.add_argument("-r", "--rank", type=positive_int, required=True, help="the rank r")
    factorize.add_argument("-o", "--output", metavar="OUT", required=True, help="output folder (created if needed)")
    factorize.add_argument(
        "--loss",
        type=loss_type,
        default="frobenius",
        help="frobenius (default), kullback-leibler, itakura-saito, or a beta",
    )
    factorize.add_argument(
        "--mask",
        choices=["observed"],
        default=None,
        help="observed: fit only the stored entries of a sparse input (ratings)",
    )
    factorize.add_argument(
        "--solver",
        choices=["auto", "mu", "hals"],
        default="auto",
        help="auto (default: hals for the unmasked Frobenius loss, else mu), mu or hals",
    )
    factorize.add_argument(
        "--init",
        choices=["random", "nndsvd", "nndsvda", "nndsvdar"],
        default=None,
        help="initialization (default nndsvda, or random when r > min(m, n))",
    )
    factorize.add_argument(
        "--alpha-W", dest="alpha_W", type=non_negative_float, default=0.0, help="regularization of W (default 0)"
    )
    factorize.add_argument(
        "--alpha-H",
        dest="alpha_H",
        type=non_negative_float,
        default=None,
        help="regularization of H (default: --alpha-W)",
    )
    factorize.add_argument("--l1-ratio", type=fraction, default=0.0, help="L1 share of the regularization (default 0)")
    factorize.add_argument(
        "--format", choices=FORMATS, default=None, help="the input's format if its name does not tell"
    )
    factorize.add_argument("--variable", default=None, help="the variable to read from a .mat or .npz file")
    factorize.add_argument("--float32", action="store_true", help="compute in float32 (half the memory)")
    _add_fit_options(factorize)
    factorize.set_defaults(run=run_factorize)

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
    text.add_argument("--pattern", default="*.txt", help="file names to read, searched recursively (default *.txt)")
    text.add_argument(
        "--encoding", default="utf-8", help="text encoding (default utf-8; undecodable bytes are replaced)"
    )
    text.add_argument(
        "--stop-words", choices=["english", "none"], default="english", help="stop words (default english)"
    )
    text.add_argument("--min-df", type=positive_int, default=2, help="ignore terms in fewer documents (default 2)")
    text.add_argument(
        "--max-df", type=fraction, default=0.95, help="ignore terms in a larger share of documents (default 0.95)"
    )
    text.add_argument("--max-features", type=positive_int, default=None, help="keep only the most frequent terms")
    _add_fit_options(topics)
    topics.set_defaults(run=run_topics)

    recommend = commands.add_parser(
        "recommend",
        help="top-k items for given users from a ratings file",
        description="Fit a masked NMF of a (user, item, rating) file (MovieLens u.data, ratings.dat, ratings.csv) "
        "and print each given user's top-k unrated items.",
    )
    recommend.add_argument("ratings", metavar="RATINGS", help="ratings file")
    recommend.add_argument("--user", "-u", action="append", required=True, help="user id (repeat, or comma-separate)")
    recommend.add_argument("-k", type=positive_int, default=10, help="items per user (default 10)")
    recommend.add_argument("-r", "--rank", type=positive_int, default=10, help="rank (default 10)")
    recommend.add_argument(
        "--layout",
        choices=["auto", "movielens-100k", "movielens-1m", "csv"],
        default="auto",
        help="ratings file layout (default: from the first line)",
    )
    recommend.add_argument(
        "--item-names", default=None, help="items file with id and title (MovieLens u.item, movies.dat, movies.csv)"
    )
    recommend.add_argument(
        "--alpha-W", dest="alpha_W", type=non_negative_float, default=0.0, help="regularization (default 0)"
    )
    recommend.set_defaults(alpha_H=None, l1_ratio=0.0)
    _add_fit_options(recommend)
    recommend.set_defaults(run=run_recommend)

    demo = commands.add_parser(
        "demo",
        help="topics of Python's own documentation (no download)",
        description="Topic modeling on the Python language reference that ships with Python (pydoc_data).",
    )
    demo.add_argument("-r", "--rank", type=positive_int, default=10, help="number of topics (default 10)")
    demo.add_argument("--terms", type=positive_int, default=8, help="terms per topic (default 8)")
    demo.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    demo.set_defaults(run=run_demo)
    return parser


def _describe(error):
    """One line for an OSError or a user mistake."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def main(argv=None):
    """Run the ``fastnmf`` command; returns the exit status."""
    from .io import FileFormatError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            return args.run(args)
    except (CommandError, FileFormatError, OSError) as error:
        if isinstance(error, BrokenPipeError):
            _silence_stdout()
            return EXIT_USER_ERROR
        print(f"fastnmf: error: {_describe(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except ValueError as error:  # from the readers and nmf's checks: bad data rather than a bug
        print(f"fastnmf: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("fastnmf: interrupted", file=sys.stderr)
        return 130


def _silence_stdout():
    """After a closed pipe (``fastnmf topics ... | head``), send what is left
    of stdout to /dev/null so Python's exit flush does not complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
