"""The ``fastnmf`` command: each subcommand run as a subprocess
(``python -m fastnmf ...``: exit status, output, files written, and one bad
input each), plus in-process checks of the details."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from fastnmf.cli import ProgressBar, main
from fastnmf.io import write_csv, write_mtx, write_ratings, write_uci

VOCAB = ["apple", "banana", "cherry", "kiwi", "goal", "match", "team", "score"]


def fruit_and_sport_counts():
    """8 documents x 8 words: four about fruit, four about sport."""
    rng = np.random.default_rng(0)
    counts = np.zeros((8, 8))
    counts[:4, :4] = rng.integers(2, 6, (4, 4))
    counts[4:, 4:] = rng.integers(2, 6, (4, 4))
    return sp.csr_array(counts)


def make_inputs(folder):
    write_mtx(folder / "tiny.mtx", sp.csr_array(np.arange(1.0, 21.0).reshape(5, 4)))
    write_csv(folder / "negative.csv", np.array([[1.0, 2.0], [-1.0, 3.0]]))
    write_uci(folder / "docword.tiny.txt", fruit_and_sport_counts(), vocab=VOCAB)
    ratings = sp.csr_array(np.array([[5.0, 3, 0, 1], [4, 0, 0, 1], [1, 1, 0, 5], [1, 0, 0, 4], [0, 1, 5, 4]]))
    write_ratings(folder / "ratings.csv", ratings, user_ids=[1, 2, 3, 4, 5], item_ids=[11, 12, 13, 14])
    texts = folder / "texts"
    texts.mkdir()
    for i in range(3):
        (texts / f"fruit{i}.txt").write_text("apple banana cherry apple fruit salad banana kiwi")
        (texts / f"sport{i}.txt").write_text("team goal match score team players goal football")


# Each subcommand once with good input and once with a mistake; started
# together (they spend most of their time importing), checked one by one.
COMMANDS = {
    "factorize": ["factorize", "tiny.mtx", "-r", "2", "-o", "out", "--loss", "kl", "--seed", "3"],
    "factorize-missing": ["factorize", "missing.mtx", "-r", "2", "-o", "out2"],
    "factorize-bad-rank": ["factorize", "tiny.mtx", "-r", "0", "-o", "out3"],
    "factorize-negative": ["factorize", "negative.csv", "-r", "1", "-o", "out4"],
    "topics": ["topics", "docword.tiny.txt", "-r", "2", "--terms", "3", "--max-iter", "500"],
    "topics-folder": ["topics", "texts", "-r", "2", "--terms", "3", "--min-df", "1"],
    "topics-bad-folder": ["topics", "out_of_nowhere", "-r", "2"],
    "recommend": ["recommend", "ratings.csv", "--user", "3", "-k", "2", "-r", "2", "--max-iter", "500"],
    "recommend-unknown-user": ["recommend", "ratings.csv", "--user", "42", "-r", "2"],
    "demo-bad-rank": ["demo", "-r", "zero"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    make_inputs(folder)
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "fastnmf", *arguments],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, arguments in COMMANDS.items()
    }
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=600)
        results[name] = (process.returncode, stdout, stderr)
    return folder, results


def one_error_line(stderr):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_factorize_writes_w_h_and_summary(runs):
    folder, results = runs
    status, stdout, stderr = results["factorize"]
    assert status == 0, stderr
    assert "tiny.mtx: 5 x 4 -> W 5 x 2, H 2 x 4" in stdout
    assert "\r" not in stderr  # no progress bar when not on a terminal
    W, H = np.load(folder / "out" / "W.npy"), np.load(folder / "out" / "H.npy")
    assert W.shape == (5, 2) and H.shape == (2, 4)
    summary = json.loads((folder / "out" / "summary.json").read_text())
    assert summary["shape"] == [5, 4] and summary["rank"] == 2
    assert summary["loss"] == "kullback-leibler" and summary["beta"] == 1.0
    assert summary["n_iter"] >= 1 and summary["seconds"] > 0
    assert summary["settings"]["seed"] == 3 and summary["settings"]["max_iter"] == 200
    assert summary["objective"] == pytest.approx(summary["data_loss"])


@pytest.mark.parametrize(
    "name, status, message",
    [
        ("factorize-missing", 1, "fastnmf: error: missing.mtx: no such file."),
        ("factorize-bad-rank", 2, "fastnmf factorize: error: argument -r/--rank: expected a positive integer; got 0"),
        ("factorize-negative", 1, "fastnmf: error: negative.csv: V must be non-negative"),
        ("topics-bad-folder", 1, "fastnmf: error: out_of_nowhere: no such file or folder."),
        ("recommend-unknown-user", 1, "fastnmf: error: ratings.csv: no user '42' (it has 5 users, ids 1 to 5)."),
        ("demo-bad-rank", 2, "fastnmf demo: error: argument -r/--rank: expected a positive integer; got 'zero'"),
    ],
)
def test_user_mistakes_print_one_line(runs, name, status, message):
    _, results = runs
    returned, stdout, stderr = results[name]
    assert returned == status
    assert one_error_line(stderr).startswith(message)
    assert stdout == ""


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    stderr = capsys.readouterr().err
    assert "factorize" in stderr and "demo" in stderr


def test_topics_from_a_uci_corpus(runs):
    status, stdout, stderr = runs[1]["topics"]
    assert status == 0, stderr
    topic_lines = [line for line in stdout.splitlines() if line.startswith("Topic")]
    assert len(topic_lines) == 2
    fruit = {"apple", "banana", "cherry", "kiwi"}
    words = [set(line.split(": ")[1].split()) for line in topic_lines]
    assert any(w <= fruit for w in words) and any(not (w & fruit) for w in words)
    table = stdout.split("document\tmain topic\tshare\n")[1].splitlines()
    assert len(table) == 8
    main_topics = [row.split("\t")[1] for row in table]
    assert len(set(main_topics[:4])) == 1 and len(set(main_topics[4:])) == 1 and main_topics[0] != main_topics[4]


def test_topics_from_a_folder_of_text(runs):
    pytest.importorskip("sklearn")  # text is tokenized by scikit-learn's vectorizers
    status, stdout, stderr = runs[1]["topics-folder"]
    assert status == 0, stderr
    assert "texts: 6 documents" in stdout and "(tfidf)" in stdout
    rows = dict(line.split("\t")[:2] for line in stdout.splitlines() if line.endswith(".txt") or ".txt\t" in line)
    assert rows["fruit0.txt"] == rows["fruit1.txt"] != rows["sport0.txt"]


def test_recommend_prints_top_k(runs):
    status, stdout, stderr = runs[1]["recommend"]
    assert status == 0, stderr
    assert "ratings.csv: 5 users x 4 items, 13 ratings" in stdout
    assert "user 3 (3 ratings): top 2 unrated items" in stdout
    assert "1. item 13" in stdout  # user 3 rated 11, 12 and 14: only 13 is left
    assert "2. item" not in stdout


# --------------------------------------------------------------------------
# In-process
# --------------------------------------------------------------------------


def test_console_script_entry_point():
    from fastnmf.__main__ import main as entry_point

    assert entry_point is main
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0


def test_progress_bar_draws_and_erases():
    stream = io.StringIO()
    bar = ProgressBar(100, stream, enabled=True)
    bar(1, None, None, 10.0)
    bar(100, None, None, 8.0)
    bar.close()
    text = stream.getvalue()
    assert "iteration 1/100" in text and "ETA --" in text
    assert "iteration 100/100" in text and "rel. change 2.00e-01" in text and "[####################]" in text
    assert text.endswith("\r")
    quiet = io.StringIO()
    silent = ProgressBar(100, quiet, enabled=False)
    assert silent(1, None, None, 1.0) is False
    silent.close()
    assert quiet.getvalue() == ""


def test_convergence_warning_is_one_line(tmp_path, capsys):
    write_mtx(tmp_path / "m.mtx", sp.csr_array(np.arange(1.0, 21.0).reshape(5, 4)))
    status = main(
        [
            "factorize",
            str(tmp_path / "m.mtx"),
            "-r",
            "3",
            "--solver",
            "mu",
            "--max-iter",
            "2",
            "-o",
            str(tmp_path / "o"),
        ]
    )
    assert status == 0
    err = capsys.readouterr().err
    assert err.startswith("fastnmf: warning: nmf stopped at max_iter=2") and err.count("\n") == 1


def test_factorize_options_and_labels(tmp_path, capsys):
    matrix = np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0], [6.0, 0.5, 1.0]])
    write_csv(tmp_path / "m.csv", matrix, row_labels=["a", "b", "c"], column_labels=["x", "y", "z"])
    out = tmp_path / "o"
    status = main(["factorize", str(tmp_path / "m.csv"), "-r", "2", "-o", str(out), "--float32", "--threads", "1",
                   "--alpha-W", "0.01", "--l1-ratio", "0.5", "--max-iter", "1000", "--tol", "1e-6"])  # fmt: skip
    assert status == 0, capsys.readouterr().err
    assert np.load(out / "W.npy").dtype == np.float32
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["mask"] == "non-NaN"  # the missing value was left out of the fit
    assert summary["settings"]["alpha_W"] == 0.01 and summary["settings"]["threads"] == 1
    assert (out / "row_labels.txt").read_text().split() == ["a", "b", "c"]
    assert (out / "column_labels.txt").read_text().split() == ["x", "y", "z"]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            ["factorize", "{dir}/m.mtx", "-r", "2", "-o", "{dir}/o", "--format", "csv"],
            "m.mtx, line 1: the header has 5 fields, but the first data line (line 2) has 1",
        ),
        (
            ["factorize", "{dir}/m.csv", "-r", "2", "-o", "{dir}/o", "--mask", "observed"],
            "--mask observed needs a sparse input",
        ),
        (
            ["factorize", "{dir}/m.csv", "-r", "2", "-o", "{dir}/o", "--init", "nndsvd", "-r", "9"],
            "init='nndsvd' needs r <= min(m, n)",
        ),
        (
            ["factorize", "{dir}/m.csv", "-r", "2", "-o", "{dir}/o", "--variable", "X"],
            "--variable applies to .mat and .npz files only; got --variable 'X' for ",
        ),
        (
            ["factorize", "{dir}/m.npy", "-r", "2", "-o", "{dir}/o", "--variable", "v"],
            "--variable applies to .mat and .npz files only; got --variable 'v' for ",
        ),
        (
            ["factorize", "{dir}/m.npy", "-r", "2", "-o", "{dir}/o", "--loss", "1e10"],
            "m.npy: the objective became nan",
        ),
        (
            ["factorize", "{dir}/bad.csv", "-r", "2", "-o", "{dir}/o"],
            "bad.csv, line 3, column 2: 'oops' is not a number.",
        ),
        (["topics", "{dir}/m.csv", "-r", "5"], "-r/--rank must be at most min(documents, terms) = 2"),
        (
            ["topics", "{dir}/m.csv", "-r", "1", "--vocab", "{dir}/vocab.txt"],
            "holds 3 terms, but the matrix has 2 columns",
        ),
        (["topics", "{dir}/empty_folder", "-r", "2"], "no files match '*.txt'"),
        (["factorize", "{dir}/m.csv", "-r", "1", "-o", "{dir}/o", "--threads", "999"], "--threads must be at most"),
    ],
    ids=[
        "csv-reader-on-mtx",
        "observed-dense",
        "nndsvd-rank",
        "variable-on-csv",
        "variable-on-npy",
        "loss-overflow",
        "bad-field",
        "topics-rank",
        "vocab-length",
        "empty-folder",
        "threads",
    ],
)
def test_more_mistakes_in_process(tmp_path, capsys, arguments, message):
    write_csv(tmp_path / "m.csv", np.array([[1.0, 2.0], [3.0, 4.0]]))
    (tmp_path / "bad.csv").write_text("1,2\n3,4\n5,oops\n")
    write_mtx(tmp_path / "m.mtx", sp.csr_array(np.eye(2)))
    np.save(tmp_path / "m.npy", np.array([[1.0, 2.0], [3.0, 4.0]]))
    (tmp_path / "vocab.txt").write_text("a\nb\nc\n")
    (tmp_path / "empty_folder").mkdir()
    status = main([argument.format(dir=tmp_path) for argument in arguments])
    assert status == 1
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("fastnmf: error: ") and message in line


@pytest.mark.parametrize(
    "error, rank, expected",
    [
        (FloatingPointError("the objective became inf after 3 iterations"), "1",
         "fastnmf: error: {m}: the objective became inf after 3 iterations"),
        (MemoryError("Unable to allocate 7.28 TiB for an array with shape (2, 1000000000000)"), "1000000000000",
         "fastnmf: error: 'factorize {m} -r 1000000000000' does not fit in this machine's memory: "
         "Unable to allocate 7.28 TiB for an array with shape (2, 1000000000000). "
         "Ask for less (a smaller rank, fewer items, a smaller input)."),
    ],
    ids=["overflowing-fit", "out-of-memory"],
)  # fmt: skip
def test_errors_of_a_fit_are_one_line(tmp_path, capsys, monkeypatch, error, rank, expected):
    """Regression: a FloatingPointError raised by nmf, and the MemoryError of
    factorize -r 1000000000000, printed tracebacks."""
    import fastnmf

    def failing_nmf(*args, **kwargs):
        raise error

    monkeypatch.setattr(fastnmf, "nmf", failing_nmf)
    np.save(tmp_path / "m.npy", np.array([[1.0, 2.0], [3.0, 4.0]]))
    status = main(["factorize", str(tmp_path / "m.npy"), "-r", rank, "-o", str(tmp_path / "o")])
    assert status == 1
    assert one_error_line(capsys.readouterr().err) == expected.format(m=tmp_path / "m.npy")


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--encoding", "bogus", "argument --encoding: expected a text encoding, such as utf-8, latin-1 or cp1252; got"),
        ("--encoding", "rot13", "argument --encoding: expected a text encoding"),
        ("--pattern", "/abs/*.txt", "argument --pattern: expected a file-name pattern inside the folder, such as"),
        ("--pattern", "../*.txt", "argument --pattern: expected a file-name pattern inside the folder"),
        ("--pattern", "", "argument --pattern: expected a file-name pattern inside the folder"),
    ],
    ids=["unknown-encoding", "not-a-text-encoding", "absolute-pattern", "pattern-outside", "empty-pattern"],
)
def test_topics_text_options_are_checked(tmp_path, capsys, option, value, message):
    """Regression: --encoding bogus and --pattern /abs/*.txt ended in LookupError and NotImplementedError
    tracebacks."""
    (tmp_path / "texts").mkdir()
    with pytest.raises(SystemExit) as exit:
        main(["topics", str(tmp_path / "texts"), option, value])
    assert exit.value.code == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"fastnmf topics: error: {message}") and f"got {value!r}" in line


def test_recommend_k_beyond_the_items_shows_them_all(tmp_path, capsys):
    """Regression: -k 1000000000000 allocated that many scores per user (MemoryError)."""
    write_ratings(tmp_path / "u.data", sp.csr_array(np.array([[5.0, 3, 0], [4, 0, 1], [0, 2, 5]])),
                  user_ids=[1, 2, 3], item_ids=[1, 2, 3], layout="movielens-100k")  # fmt: skip
    status = main(["recommend", str(tmp_path / "u.data"), "-u", "2", "-k", "1000000000000", "-r", "1",
                   "--max-iter", "50"])  # fmt: skip
    assert status == 0
    out = capsys.readouterr().out
    assert "user 2 (2 ratings): top 3 unrated items" in out and "1. item 2" in out and "2. item" not in out


@pytest.mark.parametrize("user", ["", " , "])
def test_recommend_without_a_user_id_is_a_usage_error(tmp_path, capsys, user):
    """Regression: --user "" exited 0 and printed nothing."""
    write_ratings(tmp_path / "u.data", sp.csr_array(np.array([[5.0, 3, 0], [4, 0, 1], [0, 2, 5]])),
                  user_ids=[1, 2, 3], item_ids=[1, 2, 3], layout="movielens-100k")  # fmt: skip
    with pytest.raises(SystemExit) as exit:
        main(["recommend", str(tmp_path / "u.data"), "-u", "1", "--user", user, "-r", "1"])
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    line = one_error_line(captured.err)
    assert line.startswith("fastnmf recommend: error: argument --user/-u: expected a user id of the ratings file")
    assert f"got {user!r}" in line


def test_run_recommend_without_a_user_id(tmp_path):
    import argparse

    from fastnmf.cli import CommandError, run_recommend

    write_ratings(tmp_path / "u.data", sp.csr_array(np.array([[5.0, 3], [4, 1]])), user_ids=[1, 2], item_ids=[1, 2],
                  layout="movielens-100k")  # fmt: skip
    args = argparse.Namespace(ratings=str(tmp_path / "u.data"), layout="auto", threads=None, user=[" , "])
    message = r"--user must name at least one user id of .*u\.data \(it has 2 users, ids 1 to 2\); got none"
    with pytest.raises(CommandError, match=message):
        run_recommend(args)


def test_topics_matrix_without_vocabulary_numbers_the_terms(tmp_path, capsys):
    write_mtx(tmp_path / "c.mtx", fruit_and_sport_counts())
    assert (
        main(["topics", str(tmp_path / "c.mtx"), "-r", "2", "--terms", "2", "--documents", "3", "--max-iter", "300"])
        == 0
    )
    captured = capsys.readouterr()
    assert "no vocabulary" in captured.err
    assert "term" in captured.out and "... 5 more" in captured.out


def test_recommend_with_item_names(tmp_path, capsys):
    write_ratings(tmp_path / "u.data", sp.csr_array(np.array([[5.0, 3, 0], [4, 0, 1], [0, 2, 5]])),
                  user_ids=[1, 2, 3], item_ids=[1, 2, 3], layout="movielens-100k")  # fmt: skip
    (tmp_path / "u.item").write_text("1|Toy Story (1995)|01-Jan-1995\n2|GoldenEye (1995)|x\n3|Four Rooms (1995)|x\n")
    status = main(["recommend", str(tmp_path / "u.data"), "-u", "1,2", "-k", "1", "-r", "1",
                   "--item-names", str(tmp_path / "u.item"), "--max-iter", "300"])  # fmt: skip
    assert status == 0
    out = capsys.readouterr().out
    assert "item 3  Four Rooms (1995)" in out and "item 2  GoldenEye (1995)" in out
